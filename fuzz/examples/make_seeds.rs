//! Writes the seed inputs of the four fuzz targets to `fuzz/seeds/<target>/`: the RFC 5769
//! vectors and messages built with the codec (every attribute, both integrity kinds,
//! FINGERPRINT, ChannelData, a TCP stream), `turn_server` scripts that allocate, permit,
//! bind channels, relay both ways, use IPv6, EVEN-PORT, delegated and time-limited
//! credentials, and provoke the error responses, and for `tpkt_q931` Q.931 messages of every
//! type H.225.0 uses and TPKT streams of them with keep-alives and framing errors. Every seed is run through its target's
//! checks first, so this doubles as a stable-toolchain smoke test of the harness:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```

use std::fs;
use std::net::SocketAddr;
use std::path::Path;

use exp_fuzz::script::{flags, method, Attr, Script};
use exp_fuzz::{channel, per_h323, server, stun, tpkt_q931, vectors};
use exp_h460::q931::{
    self, cause_value, location, CallRef, Cause, Ie, MessageType, PartyNumber, Presentation,
    Progress,
};
use exp_h460::tpkt;
use exp_turn::{
    long_term_key_md5, AddressFamily, Attribute, ChannelData, Class, MessageBuilder, Method,
    PasswordAlgorithm, TransactionId,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address literal")
}

fn txid(n: u8) -> TransactionId {
    TransactionId([n; 12])
}

/// One of each attribute the codec knows (values in range).
fn every_attribute() -> Vec<Attribute> {
    vec![
        Attribute::MappedAddress(sa("192.0.2.1:3478")),
        Attribute::XorMappedAddress(sa("[2001:db8::1]:3478")),
        Attribute::XorPeerAddress(sa("192.0.2.50:7000")),
        Attribute::XorRelayedAddress(sa("203.0.113.1:50000")),
        Attribute::Username("alice".into()),
        Attribute::UserHash([3; 32]),
        Attribute::Realm("exp".into()),
        Attribute::Nonce("obMatJos2gAAA00000000abcdefgh".into()),
        Attribute::Software("exp-e".into()),
        Attribute::ErrorCode {
            code: 438,
            reason: "Stale Nonce".into(),
        },
        Attribute::UnknownAttributes(vec![0x7777, 0x0024]),
        Attribute::AlternateServer(sa("192.0.2.200:3478")),
        Attribute::AlternateDomain("turn.example".into()),
        Attribute::PasswordAlgorithms(vec![
            PasswordAlgorithm::sha256(),
            PasswordAlgorithm {
                id: 9,
                params: vec![1, 2, 3],
            },
        ]),
        Attribute::PasswordAlgorithm(PasswordAlgorithm::md5()),
        Attribute::ChannelNumber(0x4001),
        Attribute::Lifetime(600),
        Attribute::Data(vec![1, 2, 3, 4, 5]),
        Attribute::EvenPort(true),
        Attribute::RequestedTransport(17),
        Attribute::DontFragment,
        Attribute::ReservationToken([9; 8]),
        Attribute::RequestedAddressFamily(AddressFamily::Ipv6),
        Attribute::AdditionalAddressFamily(AddressFamily::Ipv6),
        Attribute::AddressErrorCode {
            family: AddressFamily::Ipv6,
            code: 440,
            reason: "Address Family not Supported".into(),
        },
        Attribute::Icmp {
            icmp_type: 3,
            icmp_code: 4,
            error_data: 1400,
        },
        Attribute::Unknown {
            typ: 0xC001,
            value: vec![0xAA; 3],
        },
    ]
}

fn stun_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = vectors::all()
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    let key = long_term_key_md5("alice", "exp", "wonderland");
    let build = |method, class, attrs: &[Attribute], n| {
        let mut b = MessageBuilder::new(method, class, txid(n));
        for a in attrs {
            b.add(a);
        }
        b
    };
    let mut b = build(Method::ALLOCATE, Class::Request, &every_attribute(), 1);
    b.add_message_integrity(&key)
        .add_message_integrity_sha256(&key)
        .add_fingerprint();
    seeds.push(("every-attribute".into(), b.finish().unwrap()));
    let auth = [
        Attribute::RequestedTransport(17),
        Attribute::Username("alice".into()),
        Attribute::Realm("exp".into()),
        Attribute::Nonce("obMatJos2gAAA00000000abcdefgh".into()),
    ];
    let mut b = build(Method::ALLOCATE, Class::Request, &auth, 2);
    b.add_message_integrity(&key);
    seeds.push(("allocate-md5".into(), b.finish().unwrap()));
    let mut b = build(Method::ALLOCATE, Class::Request, &auth, 3);
    b.add_message_integrity_sha256(&key).add_fingerprint();
    seeds.push(("allocate-sha256-fingerprint".into(), b.finish().unwrap()));
    let challenge = [
        Attribute::ErrorCode {
            code: 401,
            reason: "Unauthorized".into(),
        },
        Attribute::Realm("exp".into()),
        Attribute::Nonce("obMatJos2gAAA00000000abcdefgh".into()),
        Attribute::PasswordAlgorithms(vec![PasswordAlgorithm::md5()]),
    ];
    let b = build(Method::ALLOCATE, Class::Error, &challenge, 4);
    seeds.push(("challenge-401".into(), b.finish().unwrap()));
    let send = [
        Attribute::XorPeerAddress(sa("[2001:db8::50]:7000")),
        Attribute::Data(b"payload".to_vec()),
    ];
    let b = build(Method::SEND, Class::Indication, &send, 5);
    seeds.push(("send-indication".into(), b.finish().unwrap()));
    seeds
}

fn channel_seeds() -> Vec<(String, Vec<u8>)> {
    let cd = |channel, data: &[u8], pad| ChannelData { channel, data }.to_vec(pad).unwrap();
    let mut stream = cd(0x4000, b"hello", true);
    stream.extend(vectors::hex(vectors::SAMPLE_REQUEST));
    stream.extend(cd(0x7FFF, &[0xEE; 70], true));
    vec![
        ("channel-udp".into(), cd(0x4001, b"abcde", false)),
        ("channel-padded".into(), cd(0x4FFF, b"abcde", true)),
        ("channel-empty".into(), cd(0x4000, b"", false)),
        ("tcp-stream".into(), stream),
    ]
}

fn server_seeds() -> Vec<(String, Vec<u8>)> {
    use method::*;
    let rt = Attr::RequestedTransport(17);
    let mut seeds = Vec::new();
    let mut add = |name: &str, s: &mut Script| seeds.push((name.to_string(), s.0.clone()));

    add(
        "relay-udp",
        Script::default()
            .signed(0, ALLOCATE, 0, &[rt])
            .signed(0, CREATE_PERMISSION, 0, &[Attr::Peer(0)])
            .send(0, 0, b"hello")
            .peer(0, 0, 100)
            .signed(
                0,
                CHANNEL_BIND,
                0,
                &[Attr::ChannelNumber(0x4000), Attr::Peer(1)],
            )
            .channel(0, 0, b"chan", false)
            .peer(0, 1, 100)
            .signed(0, REFRESH, 0, &[Attr::Lifetime(0)]),
    );
    let frame = ChannelData {
        channel: 0x4000,
        data: b"over tcp",
    }
    .to_vec(true)
    .unwrap();
    let mut two = frame.clone();
    two.extend_from_slice(&frame);
    add(
        "relay-tcp",
        Script::default()
            .signed(1, ALLOCATE, flags::FINGERPRINT, &[rt, Attr::DontFragment])
            .signed(
                1,
                CHANNEL_BIND,
                flags::FINGERPRINT,
                &[Attr::ChannelNumber(0x4000), Attr::Peer(0)],
            )
            .stream(&two[..5])
            .stream(&two[5..])
            .peer(0, 0, 1200)
            .close(1),
    );
    add(
        "ipv6",
        Script::default()
            .signed(
                2,
                ALLOCATE,
                flags::SHA256_MI,
                &[rt, Attr::RequestedFamily(2)],
            )
            .signed(2, CREATE_PERMISSION, 0, &[Attr::Peer(2), Attr::Peer(5)])
            .signed(2, CREATE_PERMISSION, 0, &[Attr::Peer(2)])
            .send(2, 2, b"v6")
            .peer(0, 2, 65_000)
            .time(301, true)
            .peer(0, 2, 10),
    );
    add(
        "delegated",
        Script::default()
            .signed(3, ALLOCATE, 0, &[rt])
            .signed(3, ALLOCATE, flags::RETRANSMIT, &[rt])
            .credential(0)
            .signed(3, REFRESH, 0, &[Attr::Lifetime(60)])
            .signed(3, BINDING, 0, &[])
            .credential(2)
            .time(11, false),
    );
    add(
        "even-port-rest",
        Script::default()
            .signed(4, ALLOCATE, 0, &[rt, Attr::EvenPort(true)])
            .signed(0, ALLOCATE, 0, &[rt, Attr::Token(0)])
            .signed(2, ALLOCATE, 0, &[rt, Attr::EvenPort(false)])
            .time(40, true),
    );
    add(
        "sha256-algorithms",
        Script::default()
            .config(0x01, 4)
            .signed(0, BINDING, flags::UNSIGNED, &[])
            .signed(
                0,
                ALLOCATE,
                flags::ALGORITHMS | flags::SHA256_KEY | flags::SHA256_MI,
                &[rt, Attr::Lifetime(3600)],
            )
            .signed(0, BINDING, flags::ALGORITHMS, &[]),
    );
    add(
        "errors",
        Script::default()
            .signed(0, ALLOCATE, flags::WRONG_KEY, &[rt])
            .signed(0, ALLOCATE, 0, &[rt, Attr::Raw(0x7777, b"x")])
            .signed(0, CREATE_PERMISSION, 0, &[Attr::Peer(0)])
            .signed(0, ALLOCATE, 0, &[Attr::RequestedTransport(6)])
            .signed(0, ALLOCATE, 0, &[rt, Attr::AdditionalFamily(2)])
            .signed(0, CREATE_PERMISSION, 0, &[Attr::Peer(3)])
            .signed(
                0,
                CHANNEL_BIND,
                0,
                &[Attr::ChannelNumber(0x3FFF), Attr::Peer(0)],
            )
            .signed(0, ALLOCATE, flags::CORRUPT, &[rt])
            .corrupt_at(21, 3)
            .time(700, false)
            .signed(0, REFRESH, 0, &[])
            .signed(0, REFRESH, 0, &[]),
    );
    add(
        "capacity",
        Script::default()
            .config(0x04, 1)
            .signed(0, ALLOCATE, 0, &[rt])
            .signed(4, ALLOCATE, 0, &[rt])
            .signed(2, ALLOCATE, 0, &[rt])
            .config(0x48, 5)
            .signed(1, ALLOCATE, 0, &[rt]),
    );
    add(
        "raw-vectors",
        Script::default()
            .raw(0, &vectors::hex(vectors::SAMPLE_REQUEST))
            .raw(1, &vectors::hex(vectors::LONG_TERM_REQUEST))
            .stream(&vectors::hex(vectors::SAMPLE_REQUEST)),
    );
    seeds
}

/// A minimal ReleaseComplete H323-UserInformation (protocolIdentifier only; derived in
/// crates/h460/tests/framing_tshark.rs).
const UUIE_RELEASE_COMPLETE: [u8; 9] = [0x05, 0x00, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04];

fn q931_messages() -> Vec<(String, q931::Message)> {
    let mut out = Vec::new();
    for (i, kind) in MessageType::ALL.into_iter().enumerate() {
        let m = q931::Message::new(kind, CallRef::new(0x100 + i as u16, i % 2 == 1))
            .with_user_user(UUIE_RELEASE_COMPLETE.to_vec());
        out.push((format!("q931-{kind:?}").to_lowercase(), m));
    }
    let every_ie = vec![
        Ie::Single(q931::ie_id::SENDING_COMPLETE),
        Ie::BearerCapability(q931::BEARER_H323.to_vec()),
        Ie::Cause(Cause {
            coding_standard: 0,
            location: location::PUBLIC_REMOTE,
            recommendation: Some(0),
            value: cause_value::USER_BUSY,
            diagnostics: vec![1, 2],
        }),
        Ie::Facility(vec![0x91, 0xA1, 0x03, 0x02, 0x01, 0x07]),
        Ie::Progress(Progress {
            coding_standard: 0,
            location: location::USER,
            description: 8,
        }),
        Ie::Notification(0),
        Ie::Display("exp".into()),
        Ie::Keypad("12#".into()),
        Ie::Signal(1),
        Ie::CallingNumber(PartyNumber {
            number_type: 2,
            plan: 1,
            presentation: Some(Presentation {
                indicator: 1,
                screening: 3,
            }),
            digits: "4930123".into(),
        }),
        Ie::CalledNumber(PartyNumber::new("1000")),
        Ie::Other {
            id: 0x14,
            data: vec![0x0A],
        },
    ];
    let mut m = q931::Message::new(MessageType::Setup, CallRef::new(0x7FFF, false));
    m.ies = every_ie;
    out.push((
        "q931-every-ie".into(),
        m.with_user_user(UUIE_RELEASE_COMPLETE.to_vec()),
    ));
    let dummy = q931::Message {
        call_ref: None,
        kind: MessageType::Facility,
        ies: vec![Ie::Facility(vec![0x91, 0xA1, 0x00])],
    };
    out.push(("q931-dummy-call-ref".into(), dummy));
    let shifted = q931::Message {
        call_ref: Some(CallRef::new(0, true)),
        kind: MessageType::Status,
        ies: vec![
            Ie::Single(0x96),
            Ie::Other {
                id: 0x28,
                data: b"avaya".to_vec(),
            },
            Ie::Single(0x9D),
            Ie::Other {
                id: 0x7E,
                data: vec![5],
            },
        ],
    };
    out.push(("q931-shifts".into(), shifted));
    out
}

fn tpkt_q931_seeds() -> Vec<(String, Vec<u8>)> {
    let messages = q931_messages();
    let mut seeds: Vec<(String, Vec<u8>)> = messages
        .iter()
        .map(|(n, m)| (n.clone(), m.encode().unwrap()))
        .collect();
    let mut stream = Vec::new();
    for (i, (_, m)) in messages.iter().enumerate() {
        tpkt::encode_into(&m.encode().unwrap(), &mut stream).unwrap();
        if i % 4 == 0 {
            stream.extend_from_slice(&tpkt::KEEP_ALIVE);
        }
    }
    seeds.push(("tpkt-stream".into(), stream.clone()));
    seeds.push(("tpkt-keep-alive".into(), tpkt::KEEP_ALIVE.to_vec()));
    let one = tpkt::encode(&messages[0].1.encode().unwrap()).unwrap();
    let mut cut = one.clone();
    cut.extend_from_slice(&one[..one.len() / 2]);
    seeds.push(("tpkt-unfinished".into(), cut));
    for (name, bad) in [
        ("tpkt-bad-version", [4, 0, 0, 8]),
        ("tpkt-length-too-short", [3, 0, 0, 3]),
        ("tpkt-too-long", [3, 0, 0xFF, 0xFF]),
    ] {
        let mut s = one.clone();
        s.extend_from_slice(&bad);
        s.extend_from_slice(&one);
        seeds.push((name.into(), s));
    }
    seeds
}

/// Seeds for `per_h323`: what the zone machines, the gateway and the test endpoint send,
/// each behind the selector byte of its decoder.
fn per_h323_seeds() -> Vec<(String, Vec<u8>)> {
    use exp_h460::cs::{self, H323UserInformation, MessageBody, SetupUuie};
    use exp_h460::h225::{AliasAddress, CallIdentifier};
    use exp_h460::h245::{
        AudioCapability, MultimediaSystemControlMessage, OpenLogicalChannel, OpenLogicalChannelAck,
        TransportAddress, TraversalParameters,
    };
    use exp_h460::ras_client::{RasClient, RasClientConfig};
    use exp_h460::ras_server::{Access, Registrar, RegistrarConfig};
    use std::time::{Duration, Instant};
    let mut out = Vec::new();
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig {
        gatekeeper_id: "exp-e".into(),
        ras_address: sa("192.0.2.10:6001"),
        call_signal_address: sa("192.0.2.10:2777"),
        time_to_live: 30,
        clock_tolerance: 30,
        retry_interval: Duration::from_secs(1),
        retry_count: 2,
        multiplex_media: true,
        access: Access::Zone {
            username: "lab".into(),
            key: exp_h460::h235::key("secret"),
        },
    });
    let mut c = RasClient::new(
        RasClientConfig {
            username: "lab".into(),
            key: exp_h460::h235::key("secret"),
            probe: exp_probe::ProbeConfig::default(),
            peers: 1,
            local_ras: sa("10.0.0.5:40001"),
            local_call_signal: sa("10.0.0.5:1720"),
            multiplex_media: true,
            clock_tolerance: 30,
        },
        t0,
        1_800_000_000,
    );
    for _ in 0..4 {
        while let Some(t) = c.poll_transmit() {
            out.push((
                format!("ras-up-{}", out.len()),
                [&[0u8][..], &t.payload].concat(),
            ));
            out.push((
                format!("registrar-{}", out.len()),
                [&[4u8][..], &t.payload].concat(),
            ));
            reg.handle_datagram(sa("198.51.100.7:40001"), &t.payload, t0, 1_800_000_000);
        }
        while let Some(t) = reg.poll_transmit() {
            out.push((
                format!("ras-down-{}", out.len()),
                [&[0u8][..], &t.payload].concat(),
            ));
            c.handle_datagram(&t.payload, t0, 1_800_000_000);
        }
    }
    let mut s = SetupUuie::new([5; 16], CallIdentifier { guid: [1; 16] });
    s.destination_address = Some(vec![AliasAddress::H323Id("bob".into())]);
    let mut info = H323UserInformation::new(MessageBody::Setup(s));
    info.h323_uu_pdu.h245_tunnelling = true;
    let tcs = MultimediaSystemControlMessage::from(exp_h460::h245::TerminalCapabilitySet::new(1));
    let mut olc = OpenLogicalChannel::audio(
        1,
        AudioCapability::G711Ulaw64k(20),
        1,
        TransportAddress::from(
            "10.0.0.5:40001"
                .parse::<std::net::SocketAddrV4>()
                .expect("v4"),
        ),
    );
    olc.set_traversal_parameters(&TraversalParameters {
        multiplex_id: Some(0x0102_0304),
        keep_alive_payload_type: Some(116),
        keep_alive_interval: Some(5),
        ..Default::default()
    });
    let olc = MultimediaSystemControlMessage::from(olc);
    let ack = MultimediaSystemControlMessage::from(OpenLogicalChannelAck::new(
        1,
        TransportAddress::from(
            "10.0.0.5:40000"
                .parse::<std::net::SocketAddrV4>()
                .expect("v4"),
        ),
        TransportAddress::from(
            "10.0.0.5:40001"
                .parse::<std::net::SocketAddrV4>()
                .expect("v4"),
        ),
    ));
    info.set_h245_control(vec![tcs.encode(), olc.encode()]);
    out.push(("uuie-setup".into(), [&[1u8][..], &info.encode()].concat()));
    let q = cs::message(q931::MessageType::Setup, CallRef::new(7, false), &info);
    out.push((
        "gateway-setup".into(),
        [&[5u8][..], &q.encode().expect("q931")].concat(),
    ));
    for (n, m) in [("tcs", tcs), ("olc", olc), ("olc-ack", ack)] {
        out.push((format!("h245-{n}"), [&[3u8][..], &m.encode()].concat()));
    }
    out
}

fn write(dir: &Path, seeds: &[(String, Vec<u8>)], check: fn(&[u8])) {
    fs::create_dir_all(dir).expect("seed directory");
    for (name, bytes) in seeds {
        check(bytes);
        fs::write(dir.join(name), bytes).expect("seed file");
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    write(&root.join("stun_decode"), &stun_seeds(), stun::check);
    let mut channel_inputs = channel_seeds();
    channel_inputs.extend(stun_seeds().into_iter().take(2));
    write(
        &root.join("channel_decode"),
        &channel_inputs,
        channel::check,
    );
    let scripts = server_seeds();
    for (name, bytes) in &scripts {
        println!("  {name}: {:?}", server::Harness::run_summary(bytes));
    }
    write(&root.join("turn_server"), &scripts, server::Harness::run);
    write(
        &root.join("tpkt_q931"),
        &tpkt_q931_seeds(),
        tpkt_q931::check,
    );
    write(&root.join("per_h323"), &per_h323_seeds(), per_h323::check);
}
