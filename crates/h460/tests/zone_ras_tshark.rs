//! What the zone machines themselves put on the wire, decoded by Wireshark's RAS dissector:
//! a registration (GRQ, GCF, sealed RRQ and RCF), keep-alive RRQs and their RCFs, an
//! incoming-call indication and its answer, and the refusals (RRJ with securityError for a
//! wrong password, a clock skew and a replay; RRJ fullRegistrationRequired), on the zone's
//! port 6001 (decode-as `h225`) and on 1719. Zero malformed packets or error-level expert
//! entries, and the H.460.18/19 fields carry the values the machines sent.

#[path = "support/tshark.rs"]
mod tshark;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exp_h460::h225::CallIdentifier;
use exp_h460::h235;
use exp_h460::ras_client::{RasClient, RasClientConfig};
use exp_h460::ras_server::{Access, Registrar, RegistrarConfig};
use exp_probe::ProbeConfig;
use tshark::Packet;

const UNIX: u64 = 1_800_000_000;

fn registrar(port: u16) -> Registrar {
    Registrar::new(RegistrarConfig {
        gatekeeper_id: "exp-e".into(),
        ras_address: format!("192.0.2.10:{port}").parse().unwrap(),
        call_signal_address: "192.0.2.10:2777".parse().unwrap(),
        time_to_live: 30,
        clock_tolerance: 30,
        retry_interval: Duration::from_secs(2),
        retry_count: 3,
        multiplex_media: true,
        access: Access::Zone {
            username: "lab".into(),
            key: h235::key("secret"),
        },
    })
}

fn client(password: &str, t0: Instant, unix: u64) -> RasClient {
    RasClient::new(
        RasClientConfig {
            username: "lab".into(),
            key: h235::key(password),
            probe: ProbeConfig::default(),
            peers: 1,
            local_ras: "10.0.0.5:40001".parse().unwrap(),
            local_call_signal: "10.0.0.5:1720".parse().unwrap(),
            multiplex_media: true,
            clock_tolerance: 30,
        },
        t0,
        unix,
    )
}

/// Runs `c` against `s` for `secs` simulated seconds, recording every datagram.
#[allow(clippy::too_many_arguments)]
fn exchange(
    c: &mut RasClient,
    s: &mut Registrar,
    t0: Instant,
    start: Instant,
    secs: u64,
    skew: i64,
    port: u16,
    out: &mut Vec<Packet>,
) {
    let from: SocketAddr = "198.51.100.7:40001".parse().unwrap();
    let mut now = start;
    let end = start + Duration::from_secs(secs);
    loop {
        let unix = UNIX + (now - t0).as_secs();
        let cu = (unix as i64 + skew) as u64;
        loop {
            let mut moved = false;
            while let Some(t) = c.poll_transmit() {
                moved = true;
                out.push(Packet::Udp {
                    src_port: 40001,
                    dst_port: port,
                    payload: t.payload.clone(),
                });
                s.handle_datagram(from, &t.payload, now, unix);
            }
            while let Some(t) = s.poll_transmit() {
                moved = true;
                out.push(Packet::Udp {
                    src_port: port,
                    dst_port: 40001,
                    payload: t.payload.clone(),
                });
                c.handle_datagram(&t.payload, now, cu);
            }
            if !moved {
                break;
            }
        }
        while c.poll_event().is_some() {}
        while s.poll_event().is_some() {}
        let next = [c.poll_timeout(), s.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(at) if at <= end => {
                now = now.max(at);
                let unix = UNIX + (now - t0).as_secs();
                c.handle_timeout(now, (unix as i64 + skew) as u64);
                s.handle_timeout(now, unix);
            }
            _ => break,
        }
    }
}

#[test]
fn tshark_decodes_what_the_zone_machines_send() {
    let t0 = Instant::now();
    let mut packets = Vec::new();
    for port in [6001u16, 1719] {
        // Registration, two keep-alives, an incoming-call indication and its answer.
        let mut s = registrar(port);
        let mut c = client("secret", t0, UNIX);
        exchange(&mut c, &mut s, t0, t0, 40, 0, port, &mut packets);
        let ep = s.registration_of("lab").unwrap().endpoint_id.clone();
        s.incoming_call(
            &ep,
            CallIdentifier {
                guid: *b"\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xf0\x01",
            },
            t0 + Duration::from_secs(40),
            UNIX + 40,
        )
        .unwrap();
        exchange(
            &mut c,
            &mut s,
            t0,
            t0 + Duration::from_secs(40),
            1,
            0,
            port,
            &mut packets,
        );
        // A wrong password and a clock skew: RRJ with securityError.
        let mut bad = client("guess", t0, UNIX);
        exchange(
            &mut bad,
            &mut registrar(port),
            t0,
            t0,
            1,
            0,
            port,
            &mut packets,
        );
        let mut skewed = client("secret", t0, UNIX + 100);
        exchange(
            &mut skewed,
            &mut registrar(port),
            t0,
            t0,
            1,
            100,
            port,
            &mut packets,
        );
        // A keep-alive to a registrar that forgot the registration.
        let mut fresh = registrar(port);
        exchange(
            &mut c,
            &mut fresh,
            t0,
            t0 + Duration::from_secs(41),
            20,
            0,
            port,
            &mut packets,
        );
    }
    // A replay: the first sealed RRQ again.
    let rrq = packets
        .iter()
        .filter_map(|p| match p {
            Packet::Udp {
                dst_port: 6001,
                payload,
                ..
            } => Some(payload.clone()),
            _ => None,
        })
        .nth(1)
        .unwrap();
    let mut s = registrar(6001);
    let from: SocketAddr = "198.51.100.7:40001".parse().unwrap();
    s.handle_datagram(from, &rrq, t0, UNIX);
    s.handle_datagram(from, &rrq, t0, UNIX);
    while let Some(t) = s.poll_transmit() {
        packets.push(Packet::Udp {
            src_port: 6001,
            dst_port: 40001,
            payload: t.payload,
        });
    }
    let Some(text) = tshark::decode("zone-ras", &packets, &["udp.port==6001,h225"]) else {
        return;
    };
    assert_eq!(
        text.matches("\nH.225.0 RAS\n").count(),
        packets.len(),
        "{text}"
    );
    for kind in [
        "gatekeeperRequest",
        "gatekeeperConfirm",
        "registrationRequest",
        "registrationConfirm",
        "registrationReject",
        "serviceControlIndication",
        "serviceControlResponse",
    ] {
        assert!(text.contains(&format!("RasMessage: {kind} (")), "{kind}");
    }
    for want in [
        "keepAlive: True",
        "timeToLive: 30",
        "gatekeeperIdentifier: exp-e",
        "h323-ID: lab",
        "sendersID: lab",
        "generalID: exp-e",
        "algorithmOID: 0.0.8.235.0.2.6 (HMAC-SHA1-96)",
        "standard: 18 - Signalling Traversal",
        "standard: 19 - mediaNATFWTraversal",
        "standard: 1 - supportTransmitMultiplexedMedia",
        "standard: 2 - mediaTraversalServer",
        "standard: 1 - IncomingCallIndication",
        "ip: 192.0.2.10",
        "port: 2777",
        "guid: 11223344-5566-7788-99aa-bbccddeef001",
        "securityError: securityIntegrityFailed (4)",
        "securityError: securityWrongSyncTime (0)",
        "securityError: securityReplay (1)",
        "rejectReason: fullRegistrationRequired",
    ] {
        assert!(text.contains(want), "tshark output lacks {want:?}");
    }
    assert!(!text.contains("Expert Info (Warning"), "{text}");
}
