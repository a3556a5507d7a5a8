//! The three processes of `cargo xtask bench media`, built into exp-e (hidden subcommand
//! `bench-media`) so all three run from the same optimized binary:
//!
//! - `relay`: exp-e's media relay (the same [`MediaRelay`] thread, sockets and relay core a
//!   running exp-e uses) with N streams created directly instead of by N SIP calls, each a
//!   demultiplexed leg toward the load generator and an endpoint leg toward a sink;
//! - `floor`: the minimal batched UDP forwarder the relay is compared with: `recvmmsg` on one
//!   socket, `sendmmsg` of the same datagrams to one destination, nothing else;
//! - `load`: the generator, sending 172-byte RTP packets behind each stream's mux identifier,
//!   round-robin over the streams, as fast as `sendmmsg` goes.
//!
//! `relay` and `floor` print a JSON line when ready and then answer `stats` on stdin with
//! a JSON line of counters, so the bench reads packet counts and CPU time for the same window.

use std::io::BufRead;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use exp_media::{LegKind, LegSide, LegSpec};
use exp_zone::{Config, Role};

use crate::batch_io::{send_batch, Outgoing, RecvBatch};
use crate::media_io::MediaRelay;
use crate::status::Shared;

/// RTP packet size of the bench: 12-byte header and 160 bytes of G.711 (20 ms).
pub const RTP_BYTES: usize = 172;

/// Runs the relay with `streams` streams on demultiplexing pair `demux_port`/`+1`, endpoint
/// legs from `range`, every endpoint leg sending to `sink`.
pub fn relay(
    streams: usize,
    demux_port: u16,
    range: (u16, u16),
    sink: SocketAddr,
) -> anyhow::Result<()> {
    let mut cfg = Config::defaults(Role::Server);
    cfg.network.listen_address = sink.ip();
    cfg.media.port_range_start = range.0;
    cfg.media.port_range_end = range.1;
    cfg.media.demux_rtp_port = Some(demux_port);
    cfg.media.demux_rtcp_port = Some(demux_port + 1);
    cfg.media.idle_timeout = 3600.0;
    let resolved = cfg
        .resolve(Role::Server)
        .map_err(|e| anyhow::anyhow!("bench configuration: {e}"))?;
    let shared = Shared::new(&resolved);
    let (idle_tx, _idle_rx) = tokio::sync::mpsc::unbounded_channel();
    let media = Arc::new(MediaRelay::start(
        &resolved.media,
        sink.ip(),
        shared,
        idle_tx,
    )?);
    let now = Instant::now();
    let mut ids = Vec::with_capacity(streams);
    for i in 0..streams {
        let port = media.alloc_pair()?;
        let mux = media.with_relay(|r| {
            let id = r.add_stream(
                i as u64,
                LegSpec {
                    kind: LegKind::Plain,
                    rtp_port: port,
                    rtcp_port: port + 1,
                },
                LegSpec {
                    kind: LegKind::Demux,
                    rtp_port: 0,
                    rtcp_port: 0,
                },
                now,
            )?;
            r.set_remote(id, LegSide::A, Some(sink), None, None, now);
            Ok::<_, anyhow::Error>(r.demux_of(id).map(|(m, _)| m).unwrap_or(0))
        })?;
        ids.push(mux);
    }
    println!("{}", serde_json::json!({ "ready": true, "mux_ids": ids }));
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim() == "stats" {
            let c = media.counters();
            println!(
                "{}",
                serde_json::json!({
                    "relayed": c.relayed_packets,
                    "dropped": c.dropped_unknown_mux + c.dropped_foreign_source + c.dropped_malformed + c.dropped_no_destination,
                })
            );
        }
    }
    Ok(())
}

/// The floor: forwards every datagram arriving on `listen` to `to`, in batches.
pub fn floor(listen: SocketAddr, to: SocketAddr) -> anyhow::Result<()> {
    let sock = UdpSocket::bind(listen).with_context(|| format!("bind {listen}"))?;
    let s2 = socket2::SockRef::from(&sock);
    let _ = s2.set_recv_buffer_size(4 << 20);
    let _ = s2.set_send_buffer_size(4 << 20);
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c2 = counter.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "stats" {
                let n = c2.load(std::sync::atomic::Ordering::Relaxed);
                println!("{}", serde_json::json!({ "relayed": n, "dropped": 0 }));
            }
        }
        std::process::exit(0);
    });
    println!("{}", serde_json::json!({ "ready": true }));
    let fd = sock.as_raw_fd();
    let mut batch = RecvBatch::default();
    loop {
        // Blocking wait for the first datagram, then batches without blocking.
        let mut probe = [0u8; 1];
        match sock.peek_from(&mut probe) {
            Ok(_) => {}
            Err(_) => continue,
        }
        while let Ok(n) = batch.recv(fd) {
            let mut out: Vec<Outgoing<'_>> = Vec::with_capacity(n);
            for i in 0..n {
                if let Some((_, data)) = batch.get(i) {
                    out.push(Outgoing {
                        to,
                        prefix: None,
                        data,
                    });
                }
            }
            send_batch(fd, &out);
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The generator: for `seconds`, sends RTP behind each of `mux_ids` to `to`, round-robin.
/// With no identifiers it sends bare RTP (for the floor). Prints packets sent.
pub fn load(to: SocketAddr, mux_ids: &[u32], seconds: f64) -> anyhow::Result<()> {
    let sock = UdpSocket::bind(SocketAddr::new(to.ip(), 0))?;
    let _ = socket2::SockRef::from(&sock).set_send_buffer_size(4 << 20);
    let fd = sock.as_raw_fd();
    let streams = mux_ids.len().max(1);
    let packets: Vec<Vec<u8>> = (0..streams)
        .map(|i| {
            let mut p = vec![0x80, 0x00, 0, 0, 0, 0, 0, 0];
            p.extend_from_slice(&(i as u32).to_be_bytes());
            p.resize(RTP_BYTES, 0xd5);
            p
        })
        .collect();
    let prefixes: Vec<Option<[u8; 4]>> = if mux_ids.is_empty() {
        vec![None]
    } else {
        mux_ids.iter().map(|m| Some(m.to_be_bytes())).collect()
    };
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut sent = 0u64;
    let mut next = 0usize;
    let mut out: Vec<Outgoing<'_>> = Vec::with_capacity(crate::batch_io::BATCH);
    while Instant::now() < end {
        for _ in 0..64 {
            out.clear();
            for _ in 0..crate::batch_io::BATCH {
                out.push(Outgoing {
                    to,
                    prefix: prefixes[next],
                    data: &packets[next],
                });
                next = (next + 1) % streams;
            }
            sent += send_batch(fd, &out) as u64;
        }
    }
    println!("{}", serde_json::json!({ "sent": sent }));
    Ok(())
}
