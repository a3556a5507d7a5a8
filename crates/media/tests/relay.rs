//! The media core alone: latching and its relatch policy, demultiplexing by identifier,
//! unknown and forged identifiers, keep-alives before first media, idle timeouts, and the
//! port pool. Time is simulated.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exp_media::{
    Action, DropReason, Event, LegKind, LegSide, LegSpec, PortPool, Relay, RelayConfig,
    MAX_DATAGRAM,
};

const DEMUX: (u16, u16) = (36000, 36001);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 160]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xd5; 160]);
    p
}

fn rtcp(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 201, 0, 1];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

fn muxed(id: u32, packet: &[u8]) -> Vec<u8> {
    let mut d = id.to_be_bytes().to_vec();
    d.extend_from_slice(packet);
    d
}

fn plain(port: u16) -> LegSpec {
    LegSpec {
        kind: LegKind::Plain,
        rtp_port: port,
        rtcp_port: port + 1,
    }
}

fn demux_leg() -> LegSpec {
    LegSpec {
        kind: LegKind::Demux,
        rtp_port: 0,
        rtcp_port: 0,
    }
}

fn cfg() -> RelayConfig {
    RelayConfig {
        idle_timeout: Duration::from_secs(30),
        keepalive_interval: Duration::from_secs(5),
        relatch_after: Duration::from_secs(2),
    }
}

/// exp-e's stream for an incoming call: leg A toward the outside endpoint whose SDP says
/// 198.51.100.7:5004, leg B demultiplexed toward exp-c.
fn exp_e_stream(t0: Instant) -> (Relay, u32, u32) {
    let mut relay = Relay::new(cfg(), &[DEMUX], 42);
    let s = relay.add_stream(7, plain(40000), demux_leg(), t0).unwrap();
    relay.set_remote(
        s,
        LegSide::A,
        Some(addr("198.51.100.7:5004")),
        Some(addr("198.51.100.7:5005")),
        None,
        t0,
    );
    let (mux, ports) = relay.demux_of(s).unwrap();
    assert_eq!(ports, [36000, 36001]);
    (relay, s, mux)
}

#[test]
fn exp_e_never_sends_to_exp_c_before_its_first_packet() {
    let t0 = Instant::now();
    let (mut relay, s, mux) = exp_e_stream(t0);
    let outside = addr("198.51.100.7:5004");
    let expc = addr("10.0.0.2:50000");
    // Early media from the far end before exp-c's first packet is held, not sent.
    assert_eq!(
        relay.handle_datagram(t0, 40000, outside, &rtp(1, 1)),
        Action::Consumed
    );
    assert_eq!(relay.poll_transmit(), None);
    // exp-c's keep-alive opens the way without being relayed, and releases what was held.
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &mux.to_be_bytes()),
        Action::Consumed
    );
    let held = relay.poll_transmit().expect("the held packet");
    assert_eq!((held.from_port, held.to), (36000, expc));
    assert_eq!(held.payload, rtp(1, 1));
    assert_eq!(relay.poll_transmit(), None);
    assert_eq!(
        relay.handle_datagram(t0, 40000, outside, &rtp(1, 2)),
        Action::Forward {
            from_port: 36000,
            to: expc,
            strip: 0,
            prefix: None
        }
    );
    // exp-c's media goes to the outside endpoint's SDP address, prefix stripped.
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &muxed(mux, &rtp(9, 1))),
        Action::Forward {
            from_port: 40000,
            to: outside,
            strip: 4,
            prefix: None
        }
    );
    // RTCP goes RTCP port to RTCP port.
    assert_eq!(
        relay.handle_datagram(t0, 36001, addr("10.0.0.2:50001"), &muxed(mux, &rtcp(9))),
        Action::Forward {
            from_port: 40001,
            to: addr("198.51.100.7:5005"),
            strip: 4,
            prefix: None
        }
    );
    let [a, b] = relay.status(s).unwrap();
    // Outside leg: the held packet and one more in, two out; demux leg the other way round.
    assert_eq!(a.counters.rx_packets, 2);
    assert_eq!(a.counters.tx_packets, 2);
    assert_eq!(b.counters.rx_packets, 2);
    assert_eq!(b.counters.tx_packets, 2);
    assert_eq!(b.counters.keepalives_rx, 1);
    assert_eq!(b.remote, Some(expc));
    assert_eq!(relay.counters().held_sent, 1);
    assert_eq!(relay.counters().dropped_no_destination, 0);
}

#[test]
fn held_early_media_expires_and_is_bounded() {
    let t0 = Instant::now();
    let (mut relay, _, mux) = exp_e_stream(t0);
    let outside = addr("198.51.100.7:5004");
    for seq in 0..20 {
        relay.handle_datagram(t0, 40000, outside, &rtp(1, seq));
    }
    // At most HELD_MAX are held; the rest are dropped.
    assert_eq!(
        relay.counters().dropped_no_destination,
        20 - exp_media::relay::HELD_MAX as u64
    );
    // Held longer than HELD_FOR: gone by the time exp-c shows up.
    let late = t0 + exp_media::relay::HELD_FOR + Duration::from_millis(300);
    let mut t = t0;
    while t < late {
        t += Duration::from_millis(100);
        if relay.poll_timeout().is_some_and(|d| d <= t) {
            relay.handle_timeout(t);
        }
    }
    relay.handle_datagram(late, 36000, addr("10.0.0.2:50000"), &mux.to_be_bytes());
    assert_eq!(relay.poll_transmit(), None);
    assert_eq!(relay.counters().dropped_no_destination, 20);
}

#[test]
fn latching_follows_a_nated_endpoint_and_refuses_hijackers() {
    let t0 = Instant::now();
    let (mut relay, s, mux) = exp_e_stream(t0);
    let expc = addr("10.0.0.2:50000");
    relay.handle_datagram(t0, 36000, expc, &mux.to_be_bytes());
    // The endpoint is behind a NAT: its packets come from another address than its SDP's.
    let nated = addr("203.0.113.9:61000");
    assert!(matches!(
        relay.handle_datagram(t0, 40000, nated, &rtp(0xabc, 1)),
        Action::Forward { .. }
    ));
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &muxed(mux, &rtp(9, 1))),
        Action::Forward {
            from_port: 40000,
            to: nated,
            strip: 4,
            prefix: None
        }
    );
    // Another host sends to the port: dropped, counted, the stream stays.
    let attacker = addr("192.0.2.66:4000");
    let t1 = t0 + Duration::from_millis(500);
    assert_eq!(
        relay.handle_datagram(t1, 40000, attacker, &rtp(0xabc, 2)),
        Action::Drop(DropReason::ForeignSource)
    );
    // Even after the endpoint has gone silent, a different SSRC does not take over...
    let t2 = t0 + Duration::from_secs(3);
    assert_eq!(
        relay.handle_datagram(t2, 40000, attacker, &rtp(0xdead, 3)),
        Action::Drop(DropReason::ForeignSource)
    );
    // ...while within the silence window the right SSRC does not either.
    assert_eq!(
        relay.handle_datagram(t1, 40000, attacker, &rtp(0xabc, 3)),
        Action::Drop(DropReason::ForeignSource)
    );
    // The endpoint's NAT binding changed: silent past relatch_after, same SSRC: relatch.
    let rebound = addr("203.0.113.9:61002");
    assert!(matches!(
        relay.handle_datagram(t2, 40000, rebound, &rtp(0xabc, 4)),
        Action::Forward { .. }
    ));
    assert_eq!(
        relay.handle_datagram(t2, 36000, expc, &muxed(mux, &rtp(9, 2))),
        Action::Forward {
            from_port: 40000,
            to: rebound,
            strip: 4,
            prefix: None
        }
    );
    assert_eq!(relay.counters().relatched, 1);
    assert_eq!(relay.counters().dropped_foreign_source, 3);
    assert_eq!(relay.status(s).unwrap()[0].counters.dropped, 3);
}

#[test]
fn a_new_sdp_address_clears_the_latch() {
    let t0 = Instant::now();
    let (mut relay, s, mux) = exp_e_stream(t0);
    let expc = addr("10.0.0.2:50000");
    relay.handle_datagram(t0, 36000, expc, &mux.to_be_bytes());
    relay.handle_datagram(t0, 40000, addr("203.0.113.9:61000"), &rtp(1, 1));
    // re-INVITE moves the endpoint.
    relay.set_remote(
        s,
        LegSide::A,
        Some(addr("198.51.100.8:7000")),
        None,
        None,
        t0,
    );
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &muxed(mux, &rtp(9, 1))),
        Action::Forward {
            from_port: 40000,
            to: addr("198.51.100.8:7000"),
            strip: 4,
            prefix: None
        }
    );
    // The new address latches immediately, with any SSRC.
    assert!(matches!(
        relay.handle_datagram(t0, 40000, addr("198.51.100.8:7000"), &rtp(2, 1)),
        Action::Forward { .. }
    ));
}

#[test]
fn demultiplexing_by_identifier_and_forged_identifiers() {
    let t0 = Instant::now();
    let mut relay = Relay::new(cfg(), &[DEMUX], 1);
    let s1 = relay.add_stream(1, plain(40000), demux_leg(), t0).unwrap();
    let s2 = relay.add_stream(2, plain(40002), demux_leg(), t0).unwrap();
    let (m1, _) = relay.demux_of(s1).unwrap();
    let (m2, _) = relay.demux_of(s2).unwrap();
    assert_ne!(m1, m2);
    for (s, port) in [(s1, 5004), (s2, 6004)] {
        let a = addr(&format!("198.51.100.7:{port}"));
        relay.set_remote(s, LegSide::A, Some(a), None, None, t0);
    }
    let expc = addr("10.0.0.2:50000");
    let expc2 = addr("10.0.0.2:50002");
    // Same demux port, two streams, told apart by the identifier only.
    assert!(matches!(
        relay.handle_datagram(t0, 36000, expc, &muxed(m1, &rtp(1, 1))),
        Action::Forward { from_port: 40000, to, .. } if to == addr("198.51.100.7:5004")
    ));
    assert!(matches!(
        relay.handle_datagram(t0, 36000, expc2, &muxed(m2, &rtp(2, 1))),
        Action::Forward { from_port: 40002, to, .. } if to == addr("198.51.100.7:6004")
    ));
    // Unknown identifier.
    let unknown = m1.wrapping_add(m2).wrapping_add(1);
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &muxed(unknown, &rtp(1, 2))),
        Action::Drop(DropReason::UnknownMux)
    );
    // A forged (known) identifier from another source: dropped, the stream keeps its source.
    assert_eq!(
        relay.handle_datagram(t0, 36000, addr("192.0.2.66:4000"), &muxed(m1, &rtp(1, 3))),
        Action::Drop(DropReason::ForeignSource)
    );
    assert_eq!(
        relay.handle_datagram(t0, 36000, addr("192.0.2.66:4000"), &m1.to_be_bytes()),
        Action::Drop(DropReason::ForeignSource)
    );
    assert!(matches!(
        relay.handle_datagram(t0, 40000, addr("198.51.100.7:5004"), &rtp(5, 1)),
        Action::Forward { to, .. } if to == expc
    ));
    // Too short to hold an identifier; not RTP after the identifier; oversized.
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &[1, 2]),
        Action::Drop(DropReason::Malformed)
    );
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &muxed(m1, b"GET / HTTP/1.1\r\n")),
        Action::Drop(DropReason::Malformed)
    );
    assert_eq!(
        relay.handle_datagram(t0, 36000, expc, &vec![0x80; MAX_DATAGRAM + 1]),
        Action::Drop(DropReason::Oversize)
    );
    assert_eq!(
        relay.handle_datagram(t0, 41000, expc, &rtp(1, 1)),
        Action::Drop(DropReason::UnknownPort)
    );
    let c = relay.counters();
    assert_eq!(
        (
            c.dropped_unknown_mux,
            c.dropped_foreign_source,
            c.dropped_malformed,
            c.dropped_oversize,
            c.dropped_unknown_port
        ),
        (1, 2, 2, 1, 1)
    );
}

#[test]
fn large_mode_spreads_streams_over_pairs_and_checks_the_pair() {
    let t0 = Instant::now();
    let pairs: Vec<(u16, u16)> = (0..6).map(|i| (36000 + 2 * i, 36001 + 2 * i)).collect();
    let mut relay = Relay::new(cfg(), &pairs, 3);
    let streams: Vec<u32> = (0..12)
        .map(|i| {
            relay
                .add_stream(i, plain(40000 + 2 * i as u16), demux_leg(), t0)
                .unwrap()
        })
        .collect();
    let used: Vec<u16> = streams
        .iter()
        .map(|s| relay.demux_of(*s).unwrap().1[0])
        .collect();
    for p in &pairs {
        assert_eq!(used.iter().filter(|u| **u == p.0).count(), 2);
    }
    let (m, [rtp_port, _]) = relay.demux_of(streams[0]).unwrap();
    let wrong = if rtp_port == 36000 { 36002 } else { 36000 };
    assert_eq!(
        relay.handle_datagram(t0, wrong, addr("10.0.0.2:1"), &m.to_be_bytes()),
        Action::Drop(DropReason::UnknownMux)
    );
    assert_eq!(
        relay.handle_datagram(t0, rtp_port, addr("10.0.0.2:1"), &m.to_be_bytes()),
        Action::Consumed
    );
}

#[test]
fn exp_c_sends_keepalives_from_setup_and_during_silence_only() {
    let t0 = Instant::now();
    let mut relay = Relay::new(cfg(), &[], 9);
    let mux_out = LegSpec {
        kind: LegKind::MuxOut,
        rtp_port: 50000,
        rtcp_port: 50001,
    };
    let s = relay.add_stream(5, plain(52000), mux_out, t0).unwrap();
    let lan = addr("192.168.1.20:4000");
    let demux = addr("10.0.0.1:36000");
    relay.set_remote(s, LegSide::A, Some(lan), None, None, t0);
    // Before exp-e's answer names the demux address and identifier: nothing to send to.
    assert_eq!(
        relay.handle_datagram(t0, 52000, lan, &rtp(1, 1)),
        Action::Drop(DropReason::NoDestination)
    );
    assert_eq!(relay.poll_transmit(), None);
    relay.set_remote(
        s,
        LegSide::B,
        Some(demux),
        Some(addr("10.0.0.1:36001")),
        Some(0x1234_5678),
        t0,
    );
    // Keep-alives at once, on RTP and RTCP, from our ports, before any media.
    let k1 = relay.poll_transmit().unwrap();
    let k2 = relay.poll_transmit().unwrap();
    assert_eq!(relay.poll_transmit(), None);
    assert_eq!((k1.from_port, k1.to), (50000, demux));
    assert_eq!((k2.from_port, k2.to), (50001, addr("10.0.0.1:36001")));
    assert_eq!(k1.payload, vec![0x12, 0x34, 0x56, 0x78]);
    // LAN media goes up with the identifier in front.
    assert_eq!(
        relay.handle_datagram(t0, 52000, lan, &rtp(1, 2)),
        Action::Forward {
            from_port: 50000,
            to: demux,
            strip: 0,
            prefix: Some(0x1234_5678)
        }
    );
    // exp-e's media comes back without prefix, from the demux address only.
    assert_eq!(
        relay.handle_datagram(t0, 50000, demux, &rtp(2, 1)),
        Action::Forward {
            from_port: 52000,
            to: lan,
            strip: 0,
            prefix: None
        }
    );
    assert_eq!(
        relay.handle_datagram(t0, 50000, addr("10.0.0.99:36000"), &rtp(2, 2)),
        Action::Drop(DropReason::ForeignSource)
    );
    // RTP flowed at t0, RTCP did not: after the interval only RTCP needs a keep-alive...
    let mut t = t0;
    let step = Duration::from_millis(250);
    while t < t0 + Duration::from_secs(5) + step {
        t += step;
        // keep RTP busy every 250 ms
        relay.handle_datagram(t, 52000, lan, &rtp(1, 3));
        if relay.poll_timeout().is_some_and(|d| d <= t) {
            relay.handle_timeout(t);
        }
    }
    let sent: Vec<_> = std::iter::from_fn(|| relay.poll_transmit()).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].from_port, 50001);
    // ...and once the call is silent both get them.
    let mut t2 = t;
    while t2 < t + Duration::from_secs(6) {
        t2 += step;
        if relay.poll_timeout().is_some_and(|d| d <= t2) {
            relay.handle_timeout(t2);
        }
    }
    let ports: Vec<u16> = std::iter::from_fn(|| relay.poll_transmit())
        .map(|k| k.from_port)
        .collect();
    assert!(
        ports.contains(&50000) && ports.contains(&50001),
        "{ports:?}"
    );
    let [_, b] = relay.status(s).unwrap();
    assert!(b.counters.keepalives_tx >= 5);
}

#[test]
fn idle_streams_are_reported_once_and_media_defers_it() {
    let t0 = Instant::now();
    let (mut relay, s, mux) = exp_e_stream(t0);
    let expc = addr("10.0.0.2:50000");
    let mut t = t0;
    let mut events = Vec::new();
    // Media at 10 s keeps the stream alive past 30 s; keep-alives do not count as media.
    while t < t0 + Duration::from_secs(45) {
        t += Duration::from_millis(500);
        if t == t0 + Duration::from_secs(10) {
            relay.handle_datagram(t, 36000, expc, &muxed(mux, &rtp(9, 1)));
        } else {
            relay.handle_datagram(t, 36000, expc, &mux.to_be_bytes());
        }
        if relay.poll_timeout().is_some_and(|d| d <= t) {
            relay.handle_timeout(t);
        }
        while let Some(e) = relay.poll_event() {
            events.push((t, e));
        }
    }
    assert_eq!(events.len(), 1, "{events:?}");
    let (when, event) = &events[0];
    assert_eq!(event, &Event::Idle { stream: s, tag: 7 });
    assert!(*when >= t0 + Duration::from_secs(40) && *when <= t0 + Duration::from_secs(42));
    assert_eq!(relay.counters().idle_streams, 1);
}

#[test]
fn removed_streams_release_ports_and_identifiers() {
    let t0 = Instant::now();
    let (mut relay, s, mux) = exp_e_stream(t0);
    assert_eq!(
        relay.add_stream(8, plain(40000), demux_leg(), t0),
        Err(exp_media::RelayError::PortInUse(40000))
    );
    assert_eq!(
        relay.add_stream(8, plain(36000), plain(40010), t0),
        Err(exp_media::RelayError::PortInUse(36000))
    );
    let final_status = relay.remove_stream(s).unwrap();
    assert_eq!(final_status[0].local_ports, [40000, 40001]);
    assert_eq!(relay.stream_count(), 0);
    assert_eq!(
        relay.handle_datagram(t0, 40000, addr("198.51.100.7:5004"), &rtp(1, 1)),
        Action::Drop(DropReason::UnknownPort)
    );
    assert_eq!(
        relay.handle_datagram(t0, 36000, addr("10.0.0.2:1"), &mux.to_be_bytes()),
        Action::Drop(DropReason::UnknownMux)
    );
    assert!(relay.add_stream(9, plain(40000), demux_leg(), t0).is_ok());
    assert_eq!(relay.remove_stream(s + 100), None);
}

#[test]
fn port_pool_skips_demux_ports_and_reuses_last() {
    let mut pool = PortPool::new(36000, 36011, &[36000, 36001]);
    assert_eq!(pool.total(), 5);
    let got: Vec<u16> = std::iter::from_fn(|| pool.allocate()).collect();
    assert_eq!(got, vec![36002, 36004, 36006, 36008, 36010]);
    assert_eq!(pool.free(), 0);
    pool.release(36004);
    pool.release(36004);
    pool.release(12345);
    pool.release(36002);
    assert_eq!(pool.free(), 2);
    assert_eq!(pool.allocate(), Some(36004));
    assert_eq!(pool.allocate(), Some(36002));
    // Odd start and end round inward.
    let pool = PortPool::new(36001, 36006, &[]);
    assert_eq!(pool.total(), 2);
}

#[test]
fn arbitrary_datagrams_never_panic() {
    let t0 = Instant::now();
    let (mut relay, _, mux) = exp_e_stream(t0);
    let mut x: u64 = 0x9e37_79b9;
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 200) as usize;
        let mut d: Vec<u8> = (0..len).map(|k| (x >> (k % 56)) as u8).collect();
        if i % 3 == 0 && d.len() >= 4 {
            d[..4].copy_from_slice(&mux.to_be_bytes());
        }
        let port = [36000, 36001, 40000, 40001, 1][(x % 5) as usize];
        let from = SocketAddr::from(([10, 0, 0, (x % 4) as u8], (x % 3) as u16 + 5000));
        let _ = relay.handle_datagram(t0, port, from, &d);
    }
}

/// H.323 calls: exp-c's MuxOut leg sends H.460.19 keep-alives (the mux identifier, then an
/// RTP header with the keep-alive payload type, or an empty RTCP receiver report), and
/// exp-e's Demux leg consumes them as keep-alives: they latch, and are never relayed.
#[test]
fn h460_19_keepalives_are_sent_by_exp_c_and_consumed_by_exp_e() {
    let t0 = Instant::now();
    // exp-c.
    let mut c = Relay::new(cfg(), &[], 3);
    let mux_out = LegSpec {
        kind: LegKind::MuxOut,
        rtp_port: 50000,
        rtcp_port: 50001,
    };
    let cs = c.add_stream(1, plain(52000), mux_out, t0).unwrap();
    c.set_h460_19_keepalive(cs, LegSide::B, 116, 0xCAFE_F00D);
    c.set_remote(
        cs,
        LegSide::B,
        Some(addr("10.0.0.1:36000")),
        Some(addr("10.0.0.1:36001")),
        Some(0x0102_0304),
        t0,
    );
    let k_rtp = c.poll_transmit().unwrap();
    let k_rtcp = c.poll_transmit().unwrap();
    assert_eq!(
        k_rtp.payload,
        [
            &[1, 2, 3, 4][..],
            &[0x80, 116, 0, 1, 0, 0, 0, 0],
            &0xCAFE_F00Du32.to_be_bytes()
        ]
        .concat()
    );
    assert_eq!(
        k_rtcp.payload,
        [
            &[1, 2, 3, 4][..],
            &[0x80, 201, 0, 1],
            &0xCAFE_F00Du32.to_be_bytes()
        ]
        .concat()
    );
    // Silence: the next ones come at the keep-alive interval, with increasing sequence
    // numbers on RTP.
    c.handle_timeout(t0 + Duration::from_secs(6));
    let k3 = c.poll_transmit().unwrap();
    assert_eq!(&k3.payload[4..8], &[0x80, 116, 0, 2]);

    // exp-e.
    let (mut e, es, mux) = exp_e_stream(t0);
    e.set_h460_19_keepalive(es, LegSide::B, 116, 0);
    let expc = addr("10.0.0.2:50000");
    let mut ka = mux.to_be_bytes().to_vec();
    ka.extend_from_slice(&k_rtp.payload[4..]);
    assert_eq!(e.handle_datagram(t0, 36000, expc, &ka), Action::Consumed);
    let mut ka_rtcp = mux.to_be_bytes().to_vec();
    ka_rtcp.extend_from_slice(&k_rtcp.payload[4..]);
    assert_eq!(
        e.handle_datagram(t0, 36001, addr("10.0.0.2:50001"), &ka_rtcp),
        Action::Consumed
    );
    let [_, b] = e.status(es).unwrap();
    assert_eq!(b.counters.keepalives_rx, 2);
    assert_eq!(
        b.remote,
        Some(expc),
        "the keep-alive latched exp-c's source"
    );
    assert_eq!(b.counters.rx_packets, 0, "keep-alives are not media");
    // Media of another payload type is relayed as usual.
    assert!(matches!(
        e.handle_datagram(t0, 36000, expc, &muxed(mux, &rtp(9, 1))),
        Action::Forward { strip: 4, .. }
    ));
    // Without the H.460.19 setting the same datagram would be media (a 12-byte RTP packet).
    let (mut plain_e, _, mux2) = exp_e_stream(t0);
    let mut ka2 = mux2.to_be_bytes().to_vec();
    ka2.extend_from_slice(&k_rtp.payload[4..]);
    assert_eq!(
        plain_e.handle_datagram(t0, 36000, expc, &ka2),
        Action::Forward {
            from_port: 40000,
            to: addr("198.51.100.7:5004"),
            strip: 4,
            prefix: None
        }
    );
}

/// H.460.19 without multiplexing (a zone with demultiplexing off): exp-c's leg sends bare
/// RTP keep-alives and unprefixed media to exp-e's per-call pair; exp-e's plain leg consumes
/// the keep-alives, latches exp-c's source from them, and never sends before that.
#[test]
fn h460_19_without_multiplexing_uses_per_call_ports_and_bare_keepalives() {
    let t0 = Instant::now();
    let mut c = Relay::new(cfg(), &[], 5);
    let out = LegSpec {
        kind: LegKind::MuxOut,
        rtp_port: 50000,
        rtcp_port: 50001,
    };
    let cs = c.add_stream(1, plain(52000), out, t0).unwrap();
    c.set_h460_19_keepalive(cs, LegSide::B, 116, 7);
    c.set_remote(
        cs,
        LegSide::B,
        Some(addr("10.0.0.1:40002")),
        Some(addr("10.0.0.1:40003")),
        None,
        t0,
    );
    let k = c.poll_transmit().unwrap();
    assert_eq!(k.to, addr("10.0.0.1:40002"));
    assert_eq!(
        k.payload,
        [&[0x80, 116, 0, 1, 0, 0, 0, 0][..], &7u32.to_be_bytes()].concat()
    );
    let _ = c.poll_transmit();
    c.set_remote(
        cs,
        LegSide::A,
        Some(addr("192.168.1.20:4000")),
        None,
        None,
        t0,
    );
    // LAN media goes up unprefixed.
    assert!(matches!(
        c.handle_datagram(t0, 52000, addr("192.168.1.20:4000"), &rtp(3, 1)),
        Action::Forward {
            prefix: None,
            from_port: 50000,
            ..
        }
    ));

    // exp-e: the leg toward exp-c is a plain pair that only latches.
    let mut e = Relay::new(cfg(), &[DEMUX], 6);
    let es = e.add_stream(2, plain(40000), plain(40002), t0).unwrap();
    e.set_h460_19_keepalive(es, LegSide::B, 116, 0);
    e.set_remote(
        es,
        LegSide::A,
        Some(addr("198.51.100.7:5004")),
        None,
        None,
        t0,
    );
    // Outside media before exp-c's keep-alive has nowhere to go.
    assert_eq!(
        e.handle_datagram(t0, 40000, addr("198.51.100.7:5004"), &rtp(1, 1)),
        Action::Drop(DropReason::NoDestination)
    );
    let expc = addr("10.10.3.1:50000");
    assert_eq!(
        e.handle_datagram(t0, 40002, expc, &k.payload),
        Action::Consumed
    );
    assert_eq!(
        e.handle_datagram(t0, 40000, addr("198.51.100.7:5004"), &rtp(1, 2)),
        Action::Forward {
            from_port: 40002,
            to: expc,
            strip: 0,
            prefix: None
        }
    );
    let [_, b] = e.status(es).unwrap();
    assert_eq!(b.counters.keepalives_rx, 1);
    assert_eq!(b.counters.rx_packets, 0);
}
