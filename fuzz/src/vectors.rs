//! The RFC 5769 test vectors ("Test Vectors for STUN"), the same bytes as in
//! crates/turn/tests/rfc5769.rs, here as hex so the seed generator can write them as the first
//! seeds of the STUN targets: valid messages with MESSAGE-INTEGRITY and FINGERPRINT give the
//! fuzzer a start deep inside the decoder and the verification paths.

/// Short-term password of §2.1–§2.3.
pub const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

/// RFC 5769 §2.1 "Sample Request".
pub const SAMPLE_REQUEST: &str =
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e2074657374\
20636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836765920202000080014\
9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";

/// RFC 5769 §2.2 "Sample IPv4 Response".
pub const IPV4_RESPONSE: &str = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563\
746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";

/// RFC 5769 §2.3 "Sample IPv6 Response".
pub const IPV6_RESPONSE: &str = "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563\
746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c2\
75bfe3ed4180280004c8fb0b4c";

/// RFC 5769 §2.4 "Sample Request with Long-Term Authentication".
pub const LONG_TERM_REQUEST: &str =
    "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e3\
83aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014\
000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";

/// The four vectors as bytes.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("rfc5769-request", hex(SAMPLE_REQUEST)),
        ("rfc5769-ipv4-response", hex(IPV4_RESPONSE)),
        ("rfc5769-ipv6-response", hex(IPV6_RESPONSE)),
        ("rfc5769-long-term-request", hex(LONG_TERM_REQUEST)),
    ]
}

/// Bytes from a hex string (the constants above; panics on anything else).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lower-case hex digit: {c}"),
        })
        .collect();
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}
