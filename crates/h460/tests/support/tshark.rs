//! Checks our wire format against Wireshark's dissectors: packets are written to a pcap file
//! (raw IPv4, UDP or TCP) and decoded by `tshark` with the H.225/H.245 dissectors pointed at
//! our ports. A decode with a malformed-packet or error-level expert entry fails the check.
//!
//! `tshark` comes from Debian's `tshark` package; where it is missing the check says so and
//! is skipped (it returns `None`).
#![allow(dead_code)] // each test binary uses a part

use std::io::Write;
use std::process::Command;

/// One captured packet.
pub enum Packet {
    /// A UDP datagram from `src_port` to `dst_port` (10.0.0.1 → 10.0.0.2).
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: Vec<u8>,
    },
    /// A TCP segment (ACK|PSH) of a stream from `src_port` to `dst_port`; segments of one
    /// direction get consecutive sequence numbers.
    Tcp {
        src_port: u16,
        dst_port: u16,
        payload: Vec<u8>,
    },
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn l4_checksum(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12 + l4.len());
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(l4);
    checksum(&pseudo)
}

/// The pcap file (link type 228, raw IPv4) holding `packets`.
pub fn pcap(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&228u32.to_le_bytes());
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut seq: std::collections::HashMap<(u16, u16), u32> = Default::default();
    for (i, p) in packets.iter().enumerate() {
        let frame = match p {
            Packet::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                let (src, dst) = if src_port < dst_port { (b, a) } else { (a, b) };
                let mut u = Vec::new();
                u.extend_from_slice(&src_port.to_be_bytes());
                u.extend_from_slice(&dst_port.to_be_bytes());
                u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                u.extend_from_slice(&[0, 0]);
                u.extend_from_slice(payload);
                let c = l4_checksum(17, src, dst, &u);
                u[6..8].copy_from_slice(&c.to_be_bytes());
                ipv4(17, src, dst, &u)
            }
            Packet::Tcp {
                src_port,
                dst_port,
                payload,
            } => {
                let (src, dst) = if src_port < dst_port { (b, a) } else { (a, b) };
                let s = *seq.entry((*src_port, *dst_port)).or_insert(1000);
                let ack = seq.get(&(*dst_port, *src_port)).copied().unwrap_or(1000);
                let mut t = Vec::new();
                t.extend_from_slice(&src_port.to_be_bytes());
                t.extend_from_slice(&dst_port.to_be_bytes());
                t.extend_from_slice(&s.to_be_bytes());
                t.extend_from_slice(&ack.to_be_bytes());
                t.extend_from_slice(&[0x50, 0x18]);
                t.extend_from_slice(&65535u16.to_be_bytes());
                t.extend_from_slice(&[0, 0, 0, 0]);
                t.extend_from_slice(payload);
                if let Some(s) = seq.get_mut(&(*src_port, *dst_port)) {
                    *s = s.wrapping_add(payload.len() as u32);
                }
                let c = l4_checksum(6, src, dst, &t);
                t[16..18].copy_from_slice(&c.to_be_bytes());
                ipv4(6, src, dst, &t)
            }
        };
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// Whether `tshark` can be run here.
pub fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Decodes `packets` with `tshark -V` and the given decode-as rules (`udp.port==6001,h225.ras`
/// style). Returns the verbose decode, or `None` (after saying why) where tshark is missing.
/// Panics, failing the test, on a malformed packet or an error-level expert entry.
pub fn decode(tag: &str, packets: &[Packet], decode_as: &[&str]) -> Option<String> {
    if !have_tshark() {
        eprintln!("SKIPPED {tag}: tshark is not installed (apt-get install tshark)");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("exp-h460-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{tag}.pcap"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&pcap(packets)))
        .expect("write pcap");
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(&path).arg("-V");
    // Reassemble TPKT across segments, and show expert entries in the tree.
    cmd.args([
        "-o",
        "tpkt.desegment:TRUE",
        "-o",
        "tcp.analyze_sequence_numbers:FALSE",
    ]);
    for d in decode_as {
        cmd.args(["-d", d]);
    }
    let out = cmd.output().expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{tag}: tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("Malformed Packet")
                || l.contains("[Severity level: Error]")
                || l.contains("Expert Info (Error")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{tag}: tshark reports problems: {bad:?}\n(pcap kept at {})\n{text}",
        path.display()
    );
    let _ = std::fs::remove_file(&path);
    Some(text)
}
