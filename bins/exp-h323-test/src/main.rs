//! An H.323 test endpoint for exp's end-to-end tests (no open H.323 endpoint ships in
//! Debian). It places or answers exactly one call:
//! - call signalling: Setup / CallProceeding / Alerting / Connect / ReleaseComplete over
//!   TPKT/Q.931 ([`exp_h460::cs`]), H.245 tunnelled (`h245Tunnelling`, `h245Control`);
//! - H.245: TerminalCapabilitySet (G.711 µ-law), MasterSlaveDetermination, and one
//!   OpenLogicalChannel per direction, acknowledged with the address it receives RTP on;
//! - media: `--packets` G.711 RTP packets every 20 ms from one socket (symmetric RTP), to the
//!   address the far end's OpenLogicalChannelAck gave; it counts what arrives.
//!
//! At the end it prints one JSON line: `{"sent":N,"received":M,"lost":L,...}` (lost = gaps
//! in the received sequence numbers), and exits 0 when the call connected.
//!
//! Usage:
//!   exp-h323-test answer --listen IP:PORT --rtp IP:PORT [--packets N] [--alias A]
//!   exp-h323-test call --to IP:PORT --dest ALIAS --rtp IP:PORT [--packets N] [--alias A]

mod h245_use;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use exp_h460::cs::{
    self, AlertingUuie, CallProceedingUuie, ConnectUuie, H323UserInformation, MessageBody,
    ReleaseCompleteReason, ReleaseCompleteUuie, SetupUuie,
};
use exp_h460::h225::{AliasAddress, CallIdentifier};
use exp_h460::q931::{self, CallRef, MessageType};
use exp_h460::tpkt::{self, Deframer, Event};

use h245_use::{H245In, Link};

struct Args {
    mode: String,
    listen: Option<SocketAddr>,
    to: Option<SocketAddr>,
    dest: String,
    alias: String,
    rtp: SocketAddr,
    packets: u32,
    timeout: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let mode = it
        .next()
        .ok_or_else(|| anyhow!("usage: exp-h323-test answer|call ..."))?;
    let mut a = Args {
        mode,
        listen: None,
        to: None,
        dest: String::new(),
        alias: "exp-h323-test".into(),
        rtp: "0.0.0.0:0".parse()?,
        packets: 250,
        timeout: Duration::from_secs(60),
    };
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| anyhow!("{k} needs a value"))?;
        match k.as_str() {
            "--listen" => a.listen = Some(v.parse().context("--listen")?),
            "--to" => a.to = Some(v.parse().context("--to")?),
            "--dest" => a.dest = v,
            "--alias" => a.alias = v,
            "--rtp" => a.rtp = v.parse().context("--rtp")?,
            "--packets" => a.packets = v.parse().context("--packets")?,
            "--timeout" => a.timeout = Duration::from_secs(v.parse().context("--timeout")?),
            _ => bail!("unknown option {k}"),
        }
    }
    Ok(a)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    // Good enough for a test endpoint: time and process id mixed through SipHash.
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; N];
    for (i, c) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let v = h.finish().to_be_bytes();
        c.copy_from_slice(&v[..c.len()]);
    }
    out
}

/// Received-media bookkeeping.
#[derive(Default)]
struct Rx {
    received: u64,
    first_seq: Option<u16>,
    highest: Option<u32>,
    source: Option<SocketAddr>,
}

struct Call {
    stream: TcpStream,
    call_ref: CallRef,
    call_id: CallIdentifier,
    link: Link,
}

impl Call {
    fn send(
        &mut self,
        kind: MessageType,
        body: MessageBody,
        h245: Vec<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let mut info = H323UserInformation::new(body);
        info.h323_uu_pdu.h245_tunnelling = true;
        if !h245.is_empty() {
            info.set_h245_control(h245);
        }
        let msg = cs::message(kind, self.call_ref, &info);
        let bytes =
            tpkt::encode(&msg.encode().map_err(|e| anyhow!("{e}"))?).map_err(|e| anyhow!("{e}"))?;
        self.stream.write_all(&bytes)?;
        Ok(())
    }

    /// Tunnelled H.245 without anything else to say: a Facility with an empty body.
    fn send_h245(&mut self, h245: Vec<Vec<u8>>) -> anyhow::Result<()> {
        if h245.is_empty() {
            return Ok(());
        }
        self.send(MessageType::Facility, MessageBody::Empty, h245)
    }
}

fn read_messages(
    stream: &mut TcpStream,
    deframer: &mut Deframer,
) -> anyhow::Result<Vec<q931::Message>> {
    let mut buf = [0u8; 8192];
    let n = match stream.read(&mut buf) {
        Ok(0) => bail!("connection closed by the peer"),
        Ok(n) => n,
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for ev in deframer.feed_vec(&buf[..n]).map_err(|e| anyhow!("{e}"))? {
        if let Event::Packet(p) = ev {
            out.push(q931::Message::decode(&p).map_err(|e| anyhow!("bad Q.931: {e}"))?);
        }
    }
    Ok(out)
}

fn rtp_packet(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("exp-h323-test: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run() -> anyhow::Result<i32> {
    let args = parse_args()?;
    let rtp = UdpSocket::bind(args.rtp).context("binding the RTP socket")?;
    let rtcp = UdpSocket::bind(SocketAddr::new(args.rtp.ip(), rtp.local_addr()?.port() + 1))
        .context("binding the RTCP socket")?;
    let rtp_local = rtp.local_addr()?;
    let rtcp_local = rtcp.local_addr()?;
    rtp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let (stream, caller) = match args.mode.as_str() {
        "answer" => {
            let l = TcpListener::bind(
                args.listen
                    .ok_or_else(|| anyhow!("answer needs --listen"))?,
            )?;
            eprintln!("exp-h323-test: listening on {}", l.local_addr()?);
            let (s, from) = l.accept()?;
            eprintln!("exp-h323-test: call signalling from {from}");
            (s, false)
        }
        "call" => {
            let to = args.to.ok_or_else(|| anyhow!("call needs --to"))?;
            (
                TcpStream::connect_timeout(&to, Duration::from_secs(5))?,
                true,
            )
        }
        m => bail!("unknown mode {m}"),
    };
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut call = Call {
        stream,
        call_ref: CallRef::new(
            u16::from_be_bytes(random_bytes::<2>()) & 0x7fff | 1,
            !caller,
        ),
        call_id: CallIdentifier {
            guid: random_bytes::<16>(),
        },
        link: Link::new(rtp_local, rtcp_local),
    };
    let conference: [u8; 16] = random_bytes();
    if caller {
        let mut setup = SetupUuie::new(conference, call.call_id);
        setup.source_address = Some(vec![AliasAddress::H323Id(args.alias.clone())]);
        setup.destination_address = Some(vec![AliasAddress::H323Id(args.dest.clone())]);
        let h245 = call.link.start();
        call.send(MessageType::Setup, MessageBody::Setup(setup), h245)?;
    }
    let rx = Arc::new(Mutex::new(Rx::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    // Receiver.
    let rx_thread = {
        let (rx, stop, rtp) = (rx.clone(), stop.clone(), rtp.try_clone()?);
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = rtp.recv_from(&mut buf) else {
                    continue;
                };
                if n < 12 || buf[0] >> 6 != 2 || (buf[1] & 0x7f) != 0 {
                    continue;
                }
                let seq = u16::from_be_bytes([buf[2], buf[3]]);
                let mut r = rx.lock().unwrap_or_else(|e| e.into_inner());
                r.received += 1;
                r.source.get_or_insert(from);
                let first = *r.first_seq.get_or_insert(seq);
                let ext = u32::from(seq.wrapping_sub(first));
                r.highest = Some(r.highest.map_or(ext, |h| h.max(ext)));
            }
        })
    };
    let mut deframer = Deframer::new();
    let deadline = Instant::now() + args.timeout;
    let mut connected = false;
    let mut media_started: Option<std::thread::JoinHandle<()>> = None;
    let mut released = false;
    let mut media_done_at: Option<Instant> = None;
    while Instant::now() < deadline && !released {
        let msgs = match read_messages(&mut call.stream, &mut deframer) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("exp-h323-test: {e}");
                break;
            }
        };
        for m in msgs {
            let info = match cs::user_information(&m) {
                Ok(i) => i,
                Err(_) => continue,
            };
            let mut replies = Vec::new();
            for h in info.h245_control() {
                match call.link.handle(h) {
                    Ok(H245In::Reply(r)) => replies.extend(r),
                    Ok(H245In::Nothing) => {}
                    Err(e) => eprintln!("exp-h323-test: H.245: {e}"),
                }
            }
            match info.body() {
                MessageBody::Setup(s) if !caller => {
                    call.call_ref = m.call_ref.map(CallRef::reply).unwrap_or(call.call_ref);
                    call.call_id = s.call_identifier;
                    call.send(
                        MessageType::CallProceeding,
                        MessageBody::CallProceeding(CallProceedingUuie::new(call.call_id)),
                        Vec::new(),
                    )?;
                    call.send(
                        MessageType::Alerting,
                        MessageBody::Alerting(AlertingUuie::new(call.call_id)),
                        Vec::new(),
                    )?;
                    let mut h245 = call.link.start();
                    h245.append(&mut replies);
                    call.send(
                        MessageType::Connect,
                        MessageBody::Connect(ConnectUuie::new(s.conference_id, call.call_id)),
                        h245,
                    )?;
                    connected = true;
                }
                MessageBody::Connect(_) => {
                    connected = true;
                    call.send_h245(std::mem::take(&mut replies))?;
                }
                MessageBody::ReleaseComplete(_) => {
                    released = true;
                }
                _ => {
                    call.send_h245(std::mem::take(&mut replies))?;
                }
            }
            if !replies.is_empty() {
                call.send_h245(replies)?;
            }
        }
        // Media starts once the far end told us where to send.
        if media_started.is_none() {
            if let Some(to) = call.link.remote_rtp() {
                eprintln!("exp-h323-test: sending RTP from {rtp_local} to {to}");
                let (rtp, stop, sent) = (rtp.try_clone()?, stop.clone(), sent.clone());
                let packets = args.packets;
                let ssrc = u32::from_be_bytes(random_bytes::<4>());
                media_started = Some(std::thread::spawn(move || {
                    let start = Instant::now();
                    for i in 0..packets {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let due = start + Duration::from_millis(20) * i;
                        if let Some(d) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(d);
                        }
                        if rtp
                            .send_to(&rtp_packet(i as u16, i * 160, ssrc), to)
                            .is_ok()
                        {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
        }
        if let Some(h) = &media_started {
            if h.is_finished() && media_done_at.is_none() {
                media_done_at = Some(Instant::now());
            }
        }
        // The caller hangs up a second after its media ended (late packets still count).
        if caller {
            if let Some(t) = media_done_at {
                if t.elapsed() > Duration::from_secs(1) {
                    let h245 = call.link.finish();
                    call.send_h245(h245)?;
                    call.send(
                        MessageType::ReleaseComplete,
                        MessageBody::ReleaseComplete(ReleaseCompleteUuie::new(
                            call.call_id,
                            Some(ReleaseCompleteReason::UndefinedReason),
                        )),
                        Vec::new(),
                    )?;
                    released = true;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = media_started {
        let _ = h.join();
    }
    let _ = rx_thread.join();
    let r = rx.lock().unwrap_or_else(|e| e.into_inner());
    let expected = r.highest.map_or(0, |h| u64::from(h) + 1);
    let lost = expected.saturating_sub(r.received);
    println!(
        "{}",
        serde_json::json!({
            "connected": connected,
            "released": released,
            "sent": sent.load(Ordering::Relaxed),
            "received": r.received,
            "lost": lost,
            "media_from": r.source.map(|s| s.to_string()),
            "media_to": call.link.remote_rtp().map(|s| s.to_string()),
            "h245": call.link.summary(),
        })
    );
    Ok(if connected { 0 } else { 1 })
}
