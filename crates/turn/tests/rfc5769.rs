//! The test vectors of RFC 5769 ("Test Vectors for STUN"), typed from the RFC: decoding,
//! MESSAGE-INTEGRITY with short- and long-term keys, FINGERPRINT and XOR-MAPPED-ADDRESS.

use std::net::SocketAddr;

use exp_turn::{
    frame_len, long_term_key_md5, short_term_key, types, Attribute, ChannelData, Class, Message,
    MessageBuilder, Method, PasswordAlgorithm, StunError, TransactionId,
};

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

/// RFC 5769 §2.1 "Sample Request".
const SAMPLE_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, // Request type and message length
    0x21, 0x12, 0xa4, 0x42, // Magic cookie
    0xb7, 0xe7, 0xa7, 0x01, // Transaction ID
    0xbc, 0x34, 0xd6, 0x86, //
    0xfa, 0x87, 0xdf, 0xae, //
    0x80, 0x22, 0x00, 0x10, // SOFTWARE attribute header
    0x53, 0x54, 0x55, 0x4e, // "STUN test client"
    0x20, 0x74, 0x65, 0x73, //
    0x74, 0x20, 0x63, 0x6c, //
    0x69, 0x65, 0x6e, 0x74, //
    0x00, 0x24, 0x00, 0x04, // PRIORITY attribute header
    0x6e, 0x00, 0x01, 0xff, // ICE priority value
    0x80, 0x29, 0x00, 0x08, // ICE-CONTROLLED attribute header
    0x93, 0x2f, 0xf9, 0xb1, // Pseudo-random tie breaker
    0x51, 0x26, 0x3b, 0x36, //
    0x00, 0x06, 0x00, 0x09, // USERNAME attribute header
    0x65, 0x76, 0x74, 0x6a, // "evtj:h6vY" and padding (3 spaces)
    0x3a, 0x68, 0x36, 0x76, //
    0x59, 0x20, 0x20, 0x20, //
    0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
    0x9a, 0xea, 0xa7, 0x0c, // HMAC-SHA1
    0xbf, 0xd8, 0xcb, 0x56, //
    0x78, 0x1e, 0xf2, 0xb5, //
    0xb2, 0xd3, 0xf2, 0x49, //
    0xc1, 0xb5, 0x71, 0xa2, //
    0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
    0xe5, 0x7a, 0x3b, 0xcf, // CRC32
];

/// RFC 5769 §2.2 "Sample IPv4 Response".
const IPV4_RESPONSE: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, // Response type and message length
    0x21, 0x12, 0xa4, 0x42, // Magic cookie
    0xb7, 0xe7, 0xa7, 0x01, // Transaction ID
    0xbc, 0x34, 0xd6, 0x86, //
    0xfa, 0x87, 0xdf, 0xae, //
    0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
    0x74, 0x65, 0x73, 0x74, // "test vector" and padding
    0x20, 0x76, 0x65, 0x63, //
    0x74, 0x6f, 0x72, 0x20, //
    0x00, 0x20, 0x00, 0x08, // XOR-MAPPED-ADDRESS attribute header
    0x00, 0x01, 0xa1, 0x47, // Family (IPv4) and xor'd port
    0xe1, 0x12, 0xa6, 0x43, // Xor'd IPv4 address
    0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
    0x2b, 0x91, 0xf5, 0x99, // HMAC-SHA1
    0xfd, 0x9e, 0x90, 0xc3, //
    0x8c, 0x74, 0x89, 0xf9, //
    0x2a, 0xf9, 0xba, 0x53, //
    0xf0, 0x6b, 0xe7, 0xd7, //
    0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
    0xc0, 0x7d, 0x4c, 0x96, // CRC32
];

/// RFC 5769 §2.3 "Sample IPv6 Response".
const IPV6_RESPONSE: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, // Response type and message length
    0x21, 0x12, 0xa4, 0x42, // Magic cookie
    0xb7, 0xe7, 0xa7, 0x01, // Transaction ID
    0xbc, 0x34, 0xd6, 0x86, //
    0xfa, 0x87, 0xdf, 0xae, //
    0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
    0x74, 0x65, 0x73, 0x74, // "test vector" and padding
    0x20, 0x76, 0x65, 0x63, //
    0x74, 0x6f, 0x72, 0x20, //
    0x00, 0x20, 0x00, 0x14, // XOR-MAPPED-ADDRESS attribute header
    0x00, 0x02, 0xa1, 0x47, // Family (IPv6) and xor'd port
    0x01, 0x13, 0xa9, 0xfa, // Xor'd IPv6 address
    0xa5, 0xd3, 0xf1, 0x79, //
    0xbc, 0x25, 0xf4, 0xb5, //
    0xbe, 0xd2, 0xb9, 0xd9, //
    0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
    0xa3, 0x82, 0x95, 0x4e, // HMAC-SHA1
    0x4b, 0xe6, 0x7b, 0xf1, //
    0x17, 0x84, 0xc9, 0x7c, //
    0x82, 0x92, 0xc2, 0x75, //
    0xbf, 0xe3, 0xed, 0x41, //
    0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
    0xc8, 0xfb, 0x0b, 0x4c, // CRC32
];

/// RFC 5769 §2.4 "Sample Request with Long-Term Authentication".
const LONG_TERM_REQUEST: [u8; 116] = [
    0x00, 0x01, 0x00, 0x60, // Request type and message length
    0x21, 0x12, 0xa4, 0x42, // Magic cookie
    0x78, 0xad, 0x34, 0x33, // Transaction ID
    0xc6, 0xad, 0x72, 0xc0, //
    0x29, 0xda, 0x41, 0x2e, //
    0x00, 0x06, 0x00, 0x12, // USERNAME attribute header
    0xe3, 0x83, 0x9e, 0xe3, // Username (18 bytes) and padding (2 bytes)
    0x83, 0x88, 0xe3, 0x83, //
    0xaa, 0xe3, 0x83, 0x83, //
    0xe3, 0x82, 0xaf, 0xe3, //
    0x82, 0xb9, 0x00, 0x00, //
    0x00, 0x15, 0x00, 0x1c, // NONCE attribute header
    0x66, 0x2f, 0x2f, 0x34, // Nonce value
    0x39, 0x39, 0x6b, 0x39, //
    0x35, 0x34, 0x64, 0x36, //
    0x4f, 0x4c, 0x33, 0x34, //
    0x6f, 0x4c, 0x39, 0x46, //
    0x53, 0x54, 0x76, 0x79, //
    0x36, 0x34, 0x73, 0x41, //
    0x00, 0x14, 0x00, 0x0b, // REALM attribute header
    0x65, 0x78, 0x61, 0x6d, // "example.org" and padding (1 byte)
    0x70, 0x6c, 0x65, 0x2e, //
    0x6f, 0x72, 0x67, 0x00, //
    0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
    0xf6, 0x70, 0x24, 0x65, // HMAC-SHA1
    0x6d, 0xd6, 0x4a, 0x3e, //
    0x02, 0xb8, 0xe0, 0x71, //
    0x2e, 0x85, 0xc9, 0xa2, //
    0x8c, 0xa8, 0x96, 0x66, //
];

#[test]
fn sample_request_decodes() {
    let msg = Message::decode(&SAMPLE_REQUEST).unwrap();
    assert_eq!(msg.method(), Method::BINDING);
    assert_eq!(msg.class(), Class::Request);
    assert_eq!(
        msg.transaction_id().0,
        [0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae]
    );
    assert_eq!(
        msg.get(types::SOFTWARE),
        Some(&Attribute::Software("STUN test client".into()))
    );
    assert_eq!(msg.username(), Some("evtj:h6vY"));
    let order: Vec<u16> = msg.attributes().iter().map(Attribute::typ).collect();
    assert_eq!(
        order,
        [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028],
        "attributes in message order"
    );
    // PRIORITY (0x0024) is an ICE attribute this TURN codec does not know: comprehension-
    // required, so it must be reported for a 420 response. ICE-CONTROLLED is optional.
    assert_eq!(msg.unknown_comprehension_required(), vec![0x0024]);
}

#[test]
fn sample_request_integrity_and_fingerprint() {
    let msg = Message::decode(&SAMPLE_REQUEST).unwrap();
    msg.verify_fingerprint().unwrap();
    msg.verify_integrity(&short_term_key(PASSWORD)).unwrap();
    msg.verify_integrity_sha1(&short_term_key(PASSWORD))
        .unwrap();
    assert_eq!(
        msg.verify_integrity(b"wrong password"),
        Err(StunError::IntegrityMismatch)
    );
    assert_eq!(
        msg.verify_integrity_sha256(&short_term_key(PASSWORD)),
        Err(StunError::MissingIntegrity)
    );
}

#[test]
fn altered_sample_request_fails_checks() {
    let mut bytes = SAMPLE_REQUEST;
    bytes[30] ^= 0x01; // inside SOFTWARE
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(
        msg.verify_integrity(&short_term_key(PASSWORD)),
        Err(StunError::IntegrityMismatch)
    );
    assert_eq!(
        msg.verify_fingerprint(),
        Err(StunError::FingerprintMismatch)
    );
}

#[test]
fn ipv4_response() {
    let msg = Message::decode(&IPV4_RESPONSE).unwrap();
    assert_eq!(msg.method(), Method::BINDING);
    assert_eq!(msg.class(), Class::Success);
    assert_eq!(
        msg.get(types::SOFTWARE),
        Some(&Attribute::Software("test vector".into()))
    );
    let expected: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(
        msg.get(types::XOR_MAPPED_ADDRESS),
        Some(&Attribute::XorMappedAddress(expected))
    );
    msg.verify_integrity(&short_term_key(PASSWORD)).unwrap();
    msg.verify_fingerprint().unwrap();
}

#[test]
fn ipv6_response() {
    let msg = Message::decode(&IPV6_RESPONSE).unwrap();
    assert_eq!(msg.class(), Class::Success);
    let expected: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(
        msg.get(types::XOR_MAPPED_ADDRESS),
        Some(&Attribute::XorMappedAddress(expected))
    );
    msg.verify_integrity(&short_term_key(PASSWORD)).unwrap();
    msg.verify_fingerprint().unwrap();
}

#[test]
fn long_term_request() {
    let msg = Message::decode(&LONG_TERM_REQUEST).unwrap();
    assert_eq!(msg.method(), Method::BINDING);
    assert_eq!(msg.class(), Class::Request);
    // "マトリックス" after SASLprep; the password "The<U+00AD>M<U+00AA>tr<U+2168>" after
    // SASLprep is "TheMatrIX" (RFC 5769 §2.4).
    assert_eq!(msg.username(), Some("マトリックス"));
    assert_eq!(msg.realm(), Some("example.org"));
    assert_eq!(msg.nonce(), Some("f//499k954d6OL34oL9FSTvy64sA"));
    assert!(!msg.has_fingerprint());
    let key = long_term_key_md5("マトリックス", "example.org", "TheMatrIX");
    msg.verify_integrity(&key).unwrap();
    let wrong = long_term_key_md5("マトリックス", "example.org", "thematrix");
    assert_eq!(
        msg.verify_integrity(&wrong),
        Err(StunError::IntegrityMismatch)
    );
    assert_eq!(msg.verify_fingerprint(), Err(StunError::MissingFingerprint));
}

/// Re-encoding the decoded vectors attribute by attribute gives the same bytes (except the
/// padding bytes, which the RFC deliberately fills with spaces in §2.1–§2.3).
#[test]
fn vectors_reencode_identically() {
    let msg = Message::decode(&LONG_TERM_REQUEST).unwrap();
    let mut b = MessageBuilder::new(msg.method(), msg.class(), msg.transaction_id());
    for a in msg.attributes() {
        if a.typ() != types::MESSAGE_INTEGRITY {
            b.add(a);
        }
    }
    b.add_message_integrity(&long_term_key_md5(
        "マトリックス",
        "example.org",
        "TheMatrIX",
    ));
    assert_eq!(b.finish().unwrap(), LONG_TERM_REQUEST);

    let msg = Message::decode(&IPV6_RESPONSE).unwrap();
    let mut b = MessageBuilder::new(msg.method(), msg.class(), msg.transaction_id());
    for a in msg.attributes() {
        if let Attribute::XorMappedAddress(_) = a {
            b.add(a);
        }
    }
    let out = b.finish().unwrap();
    assert_eq!(&out[4..20], &IPV6_RESPONSE[4..20]);
    assert_eq!(
        &out[20..44],
        &IPV6_RESPONSE[36..60],
        "XOR-MAPPED-ADDRESS bytes"
    );
}

/// xorshift64*, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Deterministic mutation fuzzing over the RFC 5769 messages (mostly the §2.1 sample
/// request) plus a TURN message and a ChannelData frame: decoding and verification must
/// return, never panic.
#[test]
fn mutation_fuzz_never_panics() {
    let turn = {
        let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Success, msg_txid());
        b.add(&Attribute::XorRelayedAddress(
            "[2001:db8::1]:24000".parse().unwrap(),
        ))
        .add(&Attribute::XorMappedAddress(
            "192.0.2.1:32853".parse().unwrap(),
        ))
        .add(&Attribute::Lifetime(600))
        .add(&Attribute::ReservationToken([1; 8]))
        .add(&Attribute::PasswordAlgorithms(vec![
            PasswordAlgorithm::sha256(),
        ]))
        .add(&Attribute::ErrorCode {
            code: 401,
            reason: "Unauthorized".into(),
        })
        .add_message_integrity(b"key")
        .add_message_integrity_sha256(b"key")
        .add_fingerprint();
        b.finish().unwrap()
    };
    let channel = ChannelData {
        channel: 0x4000,
        data: &[1, 2, 3, 4, 5],
    }
    .to_vec(true)
    .unwrap();
    let seeds: [&[u8]; 8] = [
        &SAMPLE_REQUEST,
        &SAMPLE_REQUEST,
        &SAMPLE_REQUEST,
        &SAMPLE_REQUEST,
        &IPV4_RESPONSE,
        &IPV6_RESPONSE,
        &LONG_TERM_REQUEST,
        &turn,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut decoded = 0usize;
    for i in 0..20_000 {
        let mut buf = if i % 50 == 49 {
            channel.clone()
        } else {
            seeds[i % seeds.len()].to_vec()
        };
        for _ in 0..=rng.below(4) {
            match rng.below(6) {
                0 | 1 => {
                    // Flip bits of a random byte.
                    let at = rng.below(buf.len().max(1));
                    if let Some(b) = buf.get_mut(at) {
                        *b ^= (rng.next() as u8) | 1;
                    }
                }
                2 => {
                    // Overwrite a byte where a length field may sit (offset 2 or 3 mod 4).
                    let at = rng.below(buf.len() / 4 + 1) * 4 + 2 + rng.below(2);
                    if let Some(b) = buf.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
                3 => buf.truncate(rng.below(buf.len() + 1)),
                4 => {
                    let n = rng.below(9);
                    buf.extend((0..n).map(|_| rng.next() as u8));
                }
                _ => {
                    // Make the header length agree with the size, so attributes get parsed.
                    if buf.len() >= 4 {
                        let len = (buf.len().saturating_sub(20) & !3) as u16;
                        buf[2..4].copy_from_slice(&len.to_be_bytes());
                    }
                }
            }
        }
        if let Ok(msg) = Message::decode(&buf) {
            decoded += 1;
            let _ = msg.verify_integrity(b"key");
            let _ = msg.verify_integrity_sha1(b"key");
            let _ = msg.verify_integrity_sha256(b"key");
            let _ = msg.verify_fingerprint();
            let _ = msg.unknown_comprehension_required();
        }
        let _ = ChannelData::decode(&buf);
        let _ = ChannelData::decode_stream(&buf);
        let _ = frame_len(&buf);
    }
    assert!(
        decoded > 1000,
        "mutations should not all be rejected: {decoded}"
    );
}

fn msg_txid() -> TransactionId {
    TransactionId([
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ])
}
