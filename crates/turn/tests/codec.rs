//! Round trips through the builder and the decoder for every attribute, integrity after
//! encoding, the rules about attributes after MESSAGE-INTEGRITY, malformed input, ChannelData
//! and TCP framing, and a deterministic mutation fuzz run asserting decode never panics.

use std::net::SocketAddr;

use exp_turn::channel::{is_valid_channel, CHANNEL_MAX, CHANNEL_MIN};
use exp_turn::{
    frame_len, long_term_key, long_term_key_sha256, message_type, split_message_type, types,
    userhash, AddressFamily, Attribute, ChannelData, ChannelError, Class, FrameKind, Message,
    MessageBuilder, Method, PasswordAlgorithm, StunError, TransactionId,
};

const TXID: TransactionId = TransactionId([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn every_attribute() -> Vec<Attribute> {
    vec![
        Attribute::MappedAddress(addr("192.0.2.1:3478")),
        Attribute::MappedAddress(addr("[2001:db8::1]:3478")),
        Attribute::XorMappedAddress(addr("203.0.113.9:54321")),
        Attribute::XorMappedAddress(addr("[2001:db8:1234:5678:11:2233:4455:6677]:32853")),
        Attribute::XorPeerAddress(addr("198.51.100.7:49152")),
        Attribute::XorPeerAddress(addr("[fe80::1]:1")),
        Attribute::XorRelayedAddress(addr("198.51.100.8:24000")),
        Attribute::XorRelayedAddress(addr("[2001:db8::ff]:29999")),
        Attribute::Username("anna".into()),
        Attribute::UserHash(userhash("anna", "example.org")),
        Attribute::Realm("example.org".into()),
        Attribute::Nonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA".into()),
        Attribute::Software("exp-e 0.1 — Flüsterpost".into()),
        Attribute::ErrorCode {
            code: 401,
            reason: "Unauthorized".into(),
        },
        Attribute::ErrorCode {
            code: 699,
            reason: String::new(),
        },
        Attribute::UnknownAttributes(vec![0x0024, 0x7777, 0x0001]),
        Attribute::AlternateServer(addr("192.0.2.200:3478")),
        Attribute::AlternateDomain("turn2.example.org".into()),
        Attribute::PasswordAlgorithms(vec![
            PasswordAlgorithm::sha256(),
            PasswordAlgorithm::md5(),
            PasswordAlgorithm {
                id: 0x1234,
                params: vec![1, 2, 3],
            },
        ]),
        Attribute::PasswordAlgorithm(PasswordAlgorithm::sha256()),
        Attribute::ChannelNumber(0x4001),
        Attribute::Lifetime(600),
        Attribute::Data(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
        Attribute::Data(Vec::new()),
        Attribute::EvenPort(true),
        Attribute::EvenPort(false),
        Attribute::RequestedTransport(17),
        Attribute::DontFragment,
        Attribute::ReservationToken([9, 8, 7, 6, 5, 4, 3, 2]),
        Attribute::RequestedAddressFamily(AddressFamily::Ipv6),
        Attribute::AdditionalAddressFamily(AddressFamily::Ipv6),
        Attribute::RequestedAddressFamily(AddressFamily::Other(0x07)),
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
            typ: 0x8029,
            value: vec![1, 2, 3, 4, 5, 6, 7, 8],
        },
        Attribute::Unknown {
            typ: 0x0024,
            value: vec![0x6e, 0, 1, 0xff],
        },
        Attribute::MessageIntegrity([7; 20]),
    ]
}

#[test]
fn message_type_bit_layout() {
    // RFC 8489 §5 and RFC 8656 examples.
    assert_eq!(message_type(Method::BINDING, Class::Request), 0x0001);
    assert_eq!(message_type(Method::BINDING, Class::Indication), 0x0011);
    assert_eq!(message_type(Method::BINDING, Class::Success), 0x0101);
    assert_eq!(message_type(Method::BINDING, Class::Error), 0x0111);
    assert_eq!(message_type(Method::ALLOCATE, Class::Error), 0x0113);
    assert_eq!(message_type(Method::SEND, Class::Indication), 0x0016);
    assert_eq!(message_type(Method::DATA, Class::Indication), 0x0017);
    assert_eq!(message_type(Method::CHANNEL_BIND, Class::Success), 0x0109);
    let all = Method::new(0xFFF).unwrap();
    assert_eq!(message_type(all, Class::Error), 0x3FFF);
    assert!(Method::new(0x1000).is_none());
    for m in [0u16, 1, 3, 4, 6, 7, 8, 9, 0x0F, 0x70, 0xF80, 0xABC, 0xFFF] {
        for c in [
            Class::Request,
            Class::Indication,
            Class::Success,
            Class::Error,
        ] {
            let method = Method::new(m).unwrap();
            assert_eq!(split_message_type(message_type(method, c)), (method, c));
        }
    }
}

#[test]
fn every_attribute_round_trips() {
    let attrs = every_attribute();
    for (method, class) in [
        (Method::ALLOCATE, Class::Success),
        (Method::REFRESH, Class::Request),
        (Method::SEND, Class::Indication),
        (Method::CREATE_PERMISSION, Class::Error),
    ] {
        let mut b = MessageBuilder::new(method, class, TXID);
        for a in &attrs {
            b.add(a);
        }
        let bytes = b.finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len() - 20
        );
        let msg = Message::decode(&bytes).unwrap();
        assert_eq!(msg.method(), method);
        assert_eq!(msg.class(), class);
        assert_eq!(msg.transaction_id(), TXID);
        assert_eq!(msg.attributes(), attrs.as_slice());
        assert_eq!(msg.unknown_comprehension_required(), vec![0x0024]);
        assert_eq!(msg.as_bytes(), bytes.as_slice());
    }
}

#[test]
fn integrity_variants_verify_after_encode() {
    let key = long_term_key_sha256("anna", "example.org", "geheim");
    let other = long_term_key_sha256("anna", "example.org", "falsch");

    let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Request, TXID);
    b.add(&Attribute::RequestedTransport(17))
        .add(&Attribute::Username("anna".into()))
        .add(&Attribute::Realm("example.org".into()))
        .add_message_integrity(&key);
    let msg = Message::decode(&b.finish().unwrap()).unwrap();
    msg.verify_integrity(&key).unwrap();
    msg.verify_integrity_sha1(&key).unwrap();
    assert_eq!(
        msg.verify_integrity(&other),
        Err(StunError::IntegrityMismatch)
    );

    let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Request, TXID);
    b.add(&Attribute::RequestedTransport(17))
        .add_message_integrity_sha256(&key)
        .add_fingerprint();
    let msg = Message::decode(&b.finish().unwrap()).unwrap();
    msg.verify_integrity(&key).unwrap();
    msg.verify_integrity_sha256(&key).unwrap();
    msg.verify_fingerprint().unwrap();
    assert_eq!(
        msg.verify_integrity(&other),
        Err(StunError::IntegrityMismatch)
    );
    assert_eq!(
        msg.verify_integrity_sha1(&key),
        Err(StunError::MissingIntegrity)
    );

    // Both, then FINGERPRINT (RFC 8489 §14.5 allows this order).
    let mut b = MessageBuilder::new(Method::REFRESH, Class::Success, TXID);
    b.add(&Attribute::Lifetime(0))
        .add_message_integrity(&key)
        .add_message_integrity_sha256(&key)
        .add_fingerprint();
    let msg = Message::decode(&b.finish().unwrap()).unwrap();
    msg.verify_integrity_sha1(&key).unwrap();
    msg.verify_integrity_sha256(&key).unwrap();
    msg.verify_fingerprint().unwrap();
    assert!(msg.has_integrity() && msg.has_fingerprint());
}

#[test]
fn truncated_sha256_integrity_verifies() {
    // RFC 8489 §14.6: the HMAC may be truncated to 16..32 bytes (multiple of 4). Compute the
    // full message with the builder, then cut the MAC to 16 bytes and recompute by hand.
    let key = b"key";
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add(&Attribute::Software("x".into()));
    let mut bytes = b.finish().unwrap();
    let len = bytes.len() - 20 + 4 + 16;
    bytes[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), &bytes);
    bytes.extend_from_slice(&[0x00, 0x1C, 0x00, 0x10]);
    bytes.extend_from_slice(&mac.as_ref()[..16]);
    let msg = Message::decode(&bytes).unwrap();
    msg.verify_integrity(key).unwrap();
    assert_eq!(
        msg.verify_integrity(b"other"),
        Err(StunError::IntegrityMismatch)
    );
}

#[test]
fn attributes_after_integrity_are_ignored() {
    let key = b"k";
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add(&Attribute::Username("u".into()))
        .add_message_integrity(key)
        .add(&Attribute::Realm("ignored".into()))
        .add(&Attribute::Unknown {
            typ: 0x0030,
            value: vec![],
        })
        .add_fingerprint();
    let bytes = b.finish().unwrap();
    let msg = Message::decode(&bytes).unwrap();
    let order: Vec<u16> = msg.attributes().iter().map(Attribute::typ).collect();
    assert_eq!(
        order,
        [
            types::USERNAME,
            types::MESSAGE_INTEGRITY,
            types::FINGERPRINT
        ]
    );
    assert!(msg.realm().is_none());
    assert!(msg.unknown_comprehension_required().is_empty());
    msg.verify_integrity(key).unwrap();
    msg.verify_fingerprint().unwrap();

    // After MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts; after FINGERPRINT nothing.
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add_message_integrity_sha256(key)
        .add_message_integrity(key)
        .add_fingerprint()
        .add(&Attribute::Lifetime(1));
    let msg = Message::decode(&b.finish().unwrap()).unwrap();
    let order: Vec<u16> = msg.attributes().iter().map(Attribute::typ).collect();
    assert_eq!(order, [types::MESSAGE_INTEGRITY_SHA256, types::FINGERPRINT]);
}

#[test]
fn response_to_copies_method_and_transaction() {
    let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Request, TXID);
    b.add(&Attribute::RequestedTransport(17));
    let req = Message::decode(&b.finish().unwrap()).unwrap();
    let mut r = MessageBuilder::response_to(&req, Class::Error);
    r.add(&Attribute::ErrorCode {
        code: 420,
        reason: "Unknown Attribute".into(),
    })
    .add(&Attribute::UnknownAttributes(vec![0x0024]));
    let resp = Message::decode(&r.finish().unwrap()).unwrap();
    assert_eq!(resp.method(), Method::ALLOCATE);
    assert_eq!(resp.class(), Class::Error);
    assert_eq!(resp.transaction_id(), TXID);
}

#[test]
fn long_term_key_algorithms() {
    let md5 = long_term_key(&PasswordAlgorithm::md5(), "user", "realm", "pass").unwrap();
    assert_eq!(md5.len(), 16);
    // MD5("user:realm:pass")
    assert_eq!(
        md5,
        [
            0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb, 0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc,
            0x40, 0xeb
        ]
    );
    let sha = long_term_key(&PasswordAlgorithm::sha256(), "user", "realm", "pass").unwrap();
    assert_eq!(sha.len(), 32);
    assert!(long_term_key(
        &PasswordAlgorithm {
            id: 9,
            params: vec![]
        },
        "u",
        "r",
        "p"
    )
    .is_none());
}

#[test]
fn builder_rejects_unencodable_values() {
    let mut b = MessageBuilder::new(Method::BINDING, Class::Error, TXID);
    b.add(&Attribute::ErrorCode {
        code: 200,
        reason: String::new(),
    });
    assert!(matches!(b.finish(), Err(StunError::InvalidValue { .. })));

    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add(&Attribute::Username("x".repeat(600)));
    assert!(matches!(b.finish(), Err(StunError::InvalidValue { .. })));

    let mut b = MessageBuilder::new(Method::SEND, Class::Indication, TXID);
    b.add(&Attribute::Data(vec![0; 40_000]))
        .add(&Attribute::Data(vec![0; 40_000]));
    assert_eq!(b.finish(), Err(StunError::MessageTooLong));
}

#[test]
fn malformed_messages_are_errors() {
    assert_eq!(Message::decode(&[]), Err(StunError::TooShort { len: 0 }));
    assert_eq!(
        Message::decode(&[0; 19]),
        Err(StunError::TooShort { len: 19 })
    );
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add(&Attribute::Lifetime(5));
    let good = b.finish().unwrap();

    let mut x = good.clone();
    x[0] |= 0x40;
    assert_eq!(Message::decode(&x), Err(StunError::NotStun));
    let mut x = good.clone();
    x[4] = 0;
    assert!(matches!(
        Message::decode(&x),
        Err(StunError::BadMagicCookie(_))
    ));
    let mut x = good.clone();
    x[3] = 9;
    assert_eq!(Message::decode(&x), Err(StunError::LengthNotAligned(9)));
    assert!(matches!(
        Message::decode(&good[..good.len() - 4]),
        Err(StunError::LengthMismatch { .. })
    ));
    // Attribute length running past the end.
    let mut x = good.clone();
    x[23] = 0x20;
    assert!(matches!(
        Message::decode(&x),
        Err(StunError::AttributeOverflow { .. })
    ));
    // LIFETIME with 2 bytes.
    let mut x = good.clone();
    x[23] = 2;
    assert!(matches!(
        Message::decode(&x),
        Err(StunError::MalformedAttribute { typ: 0x000D, .. })
    ));
    // Bad address family and bad error class.
    let mut b = MessageBuilder::new(Method::BINDING, Class::Success, TXID);
    b.add_raw(types::XOR_MAPPED_ADDRESS, &[0, 3, 0, 0, 1, 2, 3, 4]);
    assert!(Message::decode(&b.finish().unwrap()).is_err());
    let mut b = MessageBuilder::new(Method::BINDING, Class::Error, TXID);
    b.add_raw(types::ERROR_CODE, &[0, 0, 7, 0]);
    assert!(Message::decode(&b.finish().unwrap()).is_err());
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TXID);
    b.add_raw(types::USERNAME, &[0xff, 0xfe]);
    assert!(Message::decode(&b.finish().unwrap()).is_err());
}

#[test]
fn channel_data_udp_and_tcp() {
    assert!(is_valid_channel(CHANNEL_MIN) && is_valid_channel(CHANNEL_MAX));
    assert!(!is_valid_channel(0x3FFF) && !is_valid_channel(0x8000));

    let cd = ChannelData {
        channel: 0x4001,
        data: b"hello",
    };
    let udp = cd.to_vec(false).unwrap();
    assert_eq!(udp, [0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(ChannelData::decode(&udp).unwrap(), cd);
    let tcp = cd.to_vec(true).unwrap();
    assert_eq!(tcp.len(), 12);
    assert_eq!(cd.encoded_len(true), 12);
    // Padding is tolerated over UDP too.
    assert_eq!(ChannelData::decode(&tcp).unwrap(), cd);
    assert_eq!(ChannelData::decode_stream(&tcp).unwrap(), Some((cd, 12)));
    assert_eq!(ChannelData::decode_stream(&tcp[..11]).unwrap(), None);
    assert!(matches!(
        ChannelData::decode(&udp[..8]),
        Err(ChannelError::Truncated { .. })
    ));
    assert_eq!(
        ChannelData::decode(&[0x80, 0, 0, 0]),
        Err(ChannelError::BadChannel(0x8000))
    );
    assert_eq!(
        ChannelData::decode(&[0x40, 0]),
        Err(ChannelError::TooShort { len: 2 })
    );
    let empty = ChannelData {
        channel: 0x4FFF,
        data: &[],
    };
    assert_eq!(
        ChannelData::decode(&empty.to_vec(true).unwrap()).unwrap(),
        empty
    );
    assert!(ChannelData {
        channel: 0x3000,
        data: &[]
    }
    .to_vec(false)
    .is_err());
}

#[test]
fn tcp_stream_framing() {
    let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Request, TXID);
    b.add(&Attribute::RequestedTransport(17)).add_fingerprint();
    let stun = b.finish().unwrap();
    let cd = ChannelData {
        channel: 0x4002,
        data: &[1, 2, 3],
    }
    .to_vec(true)
    .unwrap();
    let mut stream = stun.clone();
    stream.extend_from_slice(&cd);
    stream.extend_from_slice(&stun);

    // Cut frames off the stream, with every possible partial prefix asking for more.
    let mut rest = stream.as_slice();
    let mut kinds = Vec::new();
    while !rest.is_empty() {
        let (kind, len) = frame_len(rest).unwrap().unwrap();
        for cut in 0..len.min(8) {
            if let Some((k, l)) = frame_len(&rest[..cut]).unwrap() {
                assert_eq!((k, l), (kind, len));
            }
        }
        match kind {
            FrameKind::Stun => Message::decode(&rest[..len])
                .unwrap()
                .verify_fingerprint()
                .unwrap(),
            FrameKind::ChannelData => {
                let (frame, used) = ChannelData::decode_stream(rest).unwrap().unwrap();
                assert_eq!(
                    (frame.channel, frame.data, used),
                    (0x4002, &[1u8, 2, 3][..], len)
                );
            }
        }
        kinds.push(kind);
        rest = &rest[len..];
    }
    assert_eq!(
        kinds,
        [FrameKind::Stun, FrameKind::ChannelData, FrameKind::Stun]
    );
    assert_eq!(frame_len(&[]).unwrap(), None);
    assert_eq!(frame_len(&[0x00, 0x01]).unwrap(), None);
    assert!(matches!(
        frame_len(&[0x80, 0, 0, 0]),
        Err(ChannelError::UnknownFrame(0x80))
    ));
    assert!(frame_len(&[0x00, 0x01, 0x00, 0x03]).is_err());
    assert!(frame_len(&[0x00, 0x01, 0x00, 0x04, 0, 0, 0, 0]).is_err());
    // 0x6000 is in the RFC 5766 channel range we accept: a frame of 8 bytes.
    assert_eq!(
        frame_len(&[0x60, 0x00, 0x00, 0x04]).unwrap(),
        Some((FrameKind::ChannelData, 8))
    );
}
