//! H.225.0 RAS codec: round trips of every message type, a hand-derived encoding, H.235.1
//! sealing, and hostile input (truncations, bit flips, random bytes, absurd lengths).

#[path = "support/ras_samples.rs"]
mod samples;

use std::sync::mpsc;
use std::time::Duration;

use exp_h460::features::IncomingCallIndication;
use exp_h460::h225::*;
use exp_h460::per::{self, Error, Writer};
use exp_h460::ras::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_message_type_round_trips_with_optional_fields_present_and_absent() {
    for (name, msg) in samples::all() {
        let bytes = msg
            .encode_checked()
            .unwrap_or_else(|e| panic!("{name}: does not encode cleanly: {e}"));
        let back = RasMessage::decode(&bytes)
            .unwrap_or_else(|e| panic!("{name}: does not decode: {e} ({})", hex(&bytes)));
        assert_eq!(back, msg, "{name}");
        // Re-encoding the decoded message gives the same octets.
        assert_eq!(back.encode(), bytes, "{name}");
    }
}

#[test]
fn message_accessors() {
    let m: RasMessage = samples::rrq_keep_alive().into();
    assert_eq!(m.name(), "registrationRequest");
    assert_eq!(m.request_seq_num(), 11);
    assert_eq!(m.crypto_tokens().len(), 1);
    let sci: RasMessage = samples::sci_incoming_call().into();
    assert_eq!(sci.name(), "serviceControlIndication");
    let RasMessage::ServiceControlIndication(s) = RasMessage::decode(&sci.encode()).unwrap() else {
        panic!("not an SCI");
    };
    let ind = s.incoming_call_indication().unwrap().unwrap();
    assert_eq!(ind, samples::indication());
    assert_eq!(
        ind.call_signalling_address.ipv4().unwrap().to_string(),
        "192.0.2.10:2777"
    );
    assert!(samples::rrq_full().feature_set.unwrap().has(18));
    assert_eq!(
        IncomingCallIndication::find(&[GenericData::standard(19)]),
        Ok(None)
    );
}

/// GRQ with only the mandatory components, derived bit by bit from X.691 and H.225.0:
///
/// ```text
/// RasMessage CHOICE      0 (extension bit) 00000 (index 0 of 25: 5 bits)
/// GatekeeperRequest      1 (extension additions present: supportsAssignedGK is mandatory)
///                        0000 (nonStandardData, gatekeeperIdentifier, callServices,
///                              endpointAlias absent)                       -> 02 (+3 bits)
/// requestSeqNum 1        1..65535: pad, two octets of 1 - 1                -> 00 | 00 00
/// protocolIdentifier     length 6, 0.0.8.2250.0.7 = 00 08 91 4a 00 07      -> 06 00 08 91 4a 00 07
/// rasAddress             CHOICE 0 (ext bit) 000 (ipAddress, 3 bits of 7),
///                        ip SIZE(4): pad, 4 octets                         -> 00 | 0a 00 00 01
///                        port 0..65535: two octets 1719                    -> 06 b7
/// endpointType           0 (no additions) 000001 (only terminal present)
///   terminal             0 (ext) 0 (nonStandardData absent)
///   mc, undefinedNode    0 0
/// extension additions    0 001011 (normally small length: the 12 additions of
///                        GatekeeperRequest), bitmap 000000000010 (supportsAssignedGK)
///                        = 0000 0010 | 0000 0010 | 1100 0000 | 0000 10(pad 00)
///                                                                          -> 02 02 c0 08
/// supportsAssignedGK     open type: length 1, BOOLEAN false padded         -> 01 00
/// ```
#[test]
fn minimal_grq_matches_the_hand_derived_encoding() {
    let grq = GatekeeperRequest {
        request_seq_num: 1,
        ras_address: TransportAddress::Ip {
            ip: [10, 0, 0, 1],
            port: 1719,
        },
        endpoint_type: EndpointType::terminal(),
        ..Default::default()
    };
    let bytes = RasMessage::from(grq).encode();
    assert_eq!(
        hex(&bytes),
        "020000000600089 14a0007000a00000106b70202c0080100".replace(' ', "")
    );
}

/// The SCI with the H.460.18 IncomingCallIndication, derived by hand:
///
/// ```text
/// RasMessage CHOICE      1 (extension alternative) 0 000101 (serviceControlIndication is
///                        extension alternative 5, normally small number) -> 85
/// open type              length 40, then the complete encoding of the SCI -> 28
/// SCI                    0 (no additions) 0000000 1 (only genericData)    -> 00 | 80
/// requestSeqNum 30       1..65535: pad, two octets 30 - 1                 -> 00 1d
/// serviceControl         SEQUENCE OF, length 0                            -> 00
/// genericData            length 1                                         -> 01
/// GenericData            0 (ext) 1 (parameters present)
///   id                   CHOICE 0 00 (standard of 3), INTEGER (0..16383, ...) 0 (in
///                        the root), pad, two octets 18                    -> 40 | 00 12
///   parameters           SIZE (1..512): pad, two octets 1 - 1             -> 00 00
///   EnumeratedParameter  0 (ext) 1 (content present)
///     id                 0 00 0, pad, two octets 1                        -> 40 | 00 01
///     content            CHOICE 0 0000 (raw, first of 12: 4 bits), pad, length 24
///                                                                         -> 00 | 18
///     raw                IncomingCallIndication: 0 (ext) 0 000 (ipAddress), pad,
///                        c0 00 02 0a, port 0a d9 (2777), CallIdentifier 0 (ext), pad,
///                        the 16 GUID octets
/// ```
#[test]
fn incoming_call_indication_sci_matches_the_hand_derived_encoding() {
    let sci = ServiceControlIndication::incoming_call(30, &samples::indication());
    let bytes = RasMessage::from(sci).encode();
    let ici = "00c000020a0ad900112233445566778899aabbccddeef001";
    let sci = format!("0080001d0001400012000040000100{:02x}{ici}", ici.len() / 2);
    assert_eq!(sci.len() / 2, 40);
    let expected = format!("85{:02x}{sci}", sci.len() / 2);
    assert_eq!(hex(&bytes), expected);
}

#[test]
fn h235_1_hash_placeholder_is_found_sealed_and_verified() {
    let rrq: RasMessage = samples::rrq_keep_alive().into();
    let (mut bytes, marks) = rrq.encode_for_sealing();
    assert_eq!(marks.len(), 1, "one HASHED.hash in the keep-alive RRQ");
    let at = marks[0];
    assert_eq!(&bytes[at..at + 12], &[0u8; 12]);
    // The length octet before the hash says 96 bits.
    assert_eq!(bytes[at - 1], 96);
    let key = exp_h460::h235::key("zone password");
    assert!(exp_h460::h235::seal(&mut bytes, at, &key));
    // The sealed message decodes and its token holds the HMAC that verifies.
    let back = RasMessage::decode(&bytes).unwrap();
    let token = back.crypto_tokens()[0].hashed().unwrap();
    assert_eq!(token.hashed_vals.time_stamp, Some(1_800_000_000));
    assert_eq!(token.hashed_vals.random, Some(0x1234_5678));
    assert_eq!(
        token.hashed_vals.general_id.as_deref(),
        Some(samples::GK_ID)
    );
    assert_eq!(
        token.hashed_vals.senders_id.as_deref(),
        Some(samples::ZONE_ALIAS)
    );
    let mut hash = [0u8; 12];
    hash.copy_from_slice(&token.token.hash.bytes);
    assert!(exp_h460::h235::verify(&bytes, &hash, &key));
    assert!(!exp_h460::h235::verify(
        &bytes,
        &hash,
        &exp_h460::h235::key("wrong")
    ));
    // Inside an extension alternative (SCI is an open type) the offset is still right.
    let sci: RasMessage = samples::sci_incoming_call().into();
    let (mut bytes, marks) = sci.encode_for_sealing();
    assert_eq!(marks.len(), 1);
    assert_eq!(bytes[marks[0] - 1], 96);
    assert!(exp_h460::h235::seal(&mut bytes, marks[0], &key));
}

#[test]
fn other_ras_messages_are_refused_as_unsupported() {
    // admissionRequest: root index 9 = 0 01001 0...
    assert_eq!(
        RasMessage::decode(&[0x24, 0, 0, 0]),
        Err(Error::UnsupportedMessage("admissionRequest"))
    );
    // unknownMessageResponse: root index 24.
    assert_eq!(
        RasMessage::decode(&[0x60, 0]),
        Err(Error::UnsupportedMessage("unknownMessageResponse"))
    );
    // requestInProgress: extension alternative 0 with a one-octet open type.
    assert_eq!(
        RasMessage::decode(&[0x80, 0x01, 0x00]),
        Err(Error::UnsupportedMessage("requestInProgress"))
    );
    // An extension alternative newer than H.225.0 version 7.
    assert_eq!(
        RasMessage::decode(&[0x90, 0x01, 0x00]),
        Err(Error::UnsupportedMessage("a later extension"))
    );
    // Index 25..31 of the 5-bit root index does not exist.
    assert!(matches!(
        RasMessage::decode(&[0x7c, 0]),
        Err(Error::OutOfRange(_))
    ));
    assert!(RasMessage::decode(&[]).is_err());
}

#[test]
fn constraint_violations_are_reported_by_encode_checked() {
    let bad = GatekeeperRequest {
        request_seq_num: 0,
        ..samples::grq_minimal()
    };
    assert_eq!(
        RasMessage::from(bad.clone()).encode_checked(),
        Err(Error::OutOfRange("requestSeqNum"))
    );
    // encode() still gives a valid message (the number adjusted to 1).
    let back = RasMessage::decode(&RasMessage::from(bad).encode()).unwrap();
    assert_eq!(back.request_seq_num(), 1);
    let bad_digits = GatekeeperRequest {
        endpoint_alias: Some(vec![AliasAddress::DialledDigits("12a".into())]),
        ..samples::grq_minimal()
    };
    assert!(RasMessage::from(bad_digits).encode_checked().is_err());
    let empty_id = RegistrationConfirm {
        endpoint_identifier: String::new(),
        ..samples::rcf_minimal()
    };
    assert!(RasMessage::from(empty_id).encode_checked().is_err());
}

/// Deterministic xorshift64 generator: reproducible hostile input without extra crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs `f` on another thread and fails if it takes longer than `secs` (a hang) or panics.
fn within(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().expect("decoder panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            h.join().expect("decoder panicked");
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("decoding took over {secs} s: a hang"),
    }
}

#[test]
fn truncations_bit_flips_and_random_bytes_never_panic_or_hang() {
    within(120, || {
        let encoded: Vec<(String, Vec<u8>)> = samples::all()
            .into_iter()
            .map(|(n, m)| (n, m.encode()))
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0usize;
        for (name, bytes) in &encoded {
            // Every truncation stops with an error: the last octet always holds bits the
            // decoder needs (a complete encoding has no padding-only octet).
            for n in 0..bytes.len() {
                let r = RasMessage::decode(&bytes[..n]);
                assert!(r.is_err(), "{name}: truncated to {n} octets yet decoded");
            }
            // Bit flips: one to four bits per try.
            for _ in 0..2000 {
                let mut b = bytes.clone();
                for _ in 0..(1 + rng.next() % 4) {
                    let bit = (rng.next() as usize) % (b.len() * 8);
                    b[bit / 8] ^= 0x80 >> (bit % 8);
                }
                if let Ok(m) = RasMessage::decode(&b) {
                    accepted += 1;
                    // Whatever decodes re-encodes without panicking.
                    let _ = m.encode();
                }
            }
        }
        // Random bytes of random lengths, with plausible first octets too.
        for i in 0..50_000 {
            let len = (rng.next() % 96) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let Some(first) = b.first_mut() {
                if i % 2 == 0 {
                    *first &= 0x07; // GRQ/GCF/GRJ/RRQ... root alternatives
                }
            }
            if RasMessage::decode(&b).is_ok() {
                accepted += 1;
            }
        }
        eprintln!("mutants accepted as valid messages: {accepted}");
    });
}

#[test]
fn absurd_lengths_and_nesting_are_refused_without_allocating() {
    // An RRQ whose callSignalAddress claims 16383 addresses in a few octets.
    let mut w = Writer::new();
    w.bit(false);
    w.bits(3, 5); // registrationRequest
    w.bit(false); // no extensions
    w.bits(0, 3); // no optionals
    w.constrained(1, 1, 65535, "seq");
    w.oid(&ProtocolIdentifier::default().0);
    w.bit(false); // discoveryComplete
    w.align();
    w.octets(&[0xbf, 0xff]); // length 16383
    w.octets(&[0; 8]);
    let (bytes, _) = w.into_complete();
    assert!(matches!(
        RasMessage::decode(&bytes),
        Err(Error::TooLong { .. })
    ));
    // The same with a fragmented length (64K items).
    let mut b2 = bytes.clone();
    let at = bytes.len() - 10;
    b2[at] = 0xc4;
    assert_eq!(RasMessage::decode(&b2), Err(Error::Fragmented));

    // An octet string claiming 16000 octets with 3 present.
    let mut w = Writer::new();
    w.length(16000, 0, None, "x");
    w.octets(&[1, 2, 3]);
    let (b, _) = w.into_complete();
    assert!(matches!(
        per::Reader::new(&b).octet_string(0, None, "raw"),
        Err(Error::TooLong { .. })
    ));
    // A BMPString of 256 characters (SIZE 1..256) with 4 octets behind it.
    assert!(matches!(
        per::Reader::new(&[0xff, 0, 0x41, 0, 0x42]).bmp(1, Some(256), "h323-ID"),
        Err(Error::TooLong { .. })
    ));
    // An extension bitmap announcing 2^14 additions.
    let mut r = per::Reader::new(&[0x80, 0xbf, 0xff, 0xff]);
    assert!(r.additions(true).is_err());

    // GenericData nested 40 deep (Content.nested): refused as too deep, not a stack
    // overflow.
    let mut g = GenericData::standard(1);
    for _ in 0..40 {
        g = GenericData {
            id: GenericIdentifier::Standard(1),
            parameters: Some(vec![EnumeratedParameter::standard(
                1,
                Some(Content::Nested(vec![g])),
            )]),
        };
    }
    let sci = ServiceControlIndication {
        request_seq_num: 1,
        generic_data: Some(vec![g]),
        ..Default::default()
    };
    let bytes = RasMessage::from(sci).encode();
    assert_eq!(RasMessage::decode(&bytes), Err(Error::TooDeep));
    // Within the bound it decodes.
    let mut g = GenericData::standard(1);
    for _ in 0..5 {
        g = GenericData {
            id: GenericIdentifier::Standard(1),
            parameters: Some(vec![EnumeratedParameter::standard(
                1,
                Some(Content::Compound(vec![EnumeratedParameter::standard(
                    2,
                    Some(Content::Nested(vec![g])),
                )])),
            )]),
        };
    }
    let sci = RasMessage::from(ServiceControlIndication {
        request_seq_num: 1,
        generic_data: Some(vec![g]),
        ..Default::default()
    });
    assert_eq!(RasMessage::decode(&sci.encode()), Ok(sci));
}

#[test]
fn older_peer_without_mandatory_additions_decodes_with_defaults() {
    // A version 1 GRQ: no extension bit at all, so supportsAssignedGK is absent.
    let mut bytes = RasMessage::from(samples::grq_minimal()).encode();
    // Clear the GRQ extension bit (bit 6) and cut the additions: the encoding ends
    // `02 | 02 c0 08 | 01 00` (endpointType's first octet, the 3 bits left of it with the
    // bitmap, the open type); keep endpointType's bits, all zero in the second octet.
    bytes[0] &= !0x02;
    let n = bytes.len();
    bytes.truncate(n - 4);
    bytes[n - 5] = 0;
    let RasMessage::GatekeeperRequest(grq) = RasMessage::decode(&bytes).unwrap() else {
        panic!("not a GRQ");
    };
    assert!(!grq.supports_assigned_gk);
    assert_eq!(grq.ras_address, samples::ip([10, 0, 0, 1], 1719));
}
