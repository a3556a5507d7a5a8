//! TPKT (RFC 1006) and Q.931 framing of the H.225.0 call-signalling channel: exact encodings,
//! round trips of every message type and IE, the streaming deframer against every way TCP
//! can cut the stream, and bad input (truncations, bit flips, random bytes, huge lengths)
//! that must give errors, never panics. Random inputs come from a fixed-seed generator, so
//! every run tests the same cases.

use exp_h460::q931::{
    cause_value, ie_id, location, CallRef, Cause, Ie, Message, MessageType, PartyNumber,
    Presentation, Progress, Q931Error, BEARER_H323, UU_PROTOCOL_X208,
};
use exp_h460::tpkt::{self, Deframer, Event, TpktError, DEFAULT_MAX_LEN, KEEP_ALIVE};

/// xorshift64*: a small deterministic generator (no dependency needed).
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

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A ReleaseComplete H323-UserInformation with only protocolIdentifier (see
/// framing_tshark.rs for the derivation).
const UUIE_RELEASE_COMPLETE: [u8; 9] = [0x05, 0x00, 0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04];

fn every_ie() -> Vec<Ie> {
    vec![
        Ie::Single(ie_id::SENDING_COMPLETE),
        Ie::BearerCapability(BEARER_H323.to_vec()),
        Ie::Cause(Cause {
            coding_standard: 0,
            location: location::PUBLIC_REMOTE,
            recommendation: Some(0),
            value: cause_value::USER_BUSY,
            diagnostics: vec![0x01, 0x02],
        }),
        Ie::Facility(vec![0x91, 0xA1, 0x03, 0x02, 0x01, 0x07]),
        Ie::Progress(Progress {
            coding_standard: 0,
            location: location::USER,
            description: 1,
        }),
        Ie::Notification(0x71),
        Ie::Display("Alice".into()),
        Ie::Keypad("*21#".into()),
        Ie::Signal(0x3F),
        Ie::CallingNumber(PartyNumber {
            number_type: 4,
            plan: 9,
            presentation: Some(Presentation {
                indicator: 1,
                screening: 0,
            }),
            digits: "2001".into(),
        }),
        Ie::CalledNumber(PartyNumber::new("1000")),
        Ie::Other {
            id: 0x14,
            data: vec![0x0A],
        },
        Ie::UserUser {
            protocol: UU_PROTOCOL_X208,
            data: UUIE_RELEASE_COMPLETE.to_vec(),
        },
    ]
}

/// One message of each type (and an unnamed type), with varied IEs and call references.
fn sample_messages() -> Vec<Message> {
    let mut out: Vec<Message> = MessageType::ALL
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let mut m = Message::new(kind, CallRef::new(i as u16 * 0x0AAA, i % 2 == 0));
            m.ies = every_ie()
                .into_iter()
                .skip(i % 5)
                .step_by(1 + i % 3)
                .collect();
            m.with_user_user(UUIE_RELEASE_COMPLETE.to_vec())
        })
        .collect();
    out.push(Message {
        call_ref: None,
        kind: MessageType::Other(0x20),
        ies: every_ie(),
    });
    out.push(Message::new(
        MessageType::StatusEnquiry,
        CallRef::new(0x7FFF, true),
    ));
    out.push(Message::new(MessageType::Status, CallRef::new(0, false)));
    out
}

// ---------------------------------------------------------------------------------------
// TPKT

#[test]
fn tpkt_encode_layout() {
    assert_eq!(
        tpkt::encode(b"abc").unwrap(),
        [3, 0, 0, 7, b'a', b'b', b'c']
    );
    assert_eq!(KEEP_ALIVE, [3, 0, 0, 4]);
    assert_eq!(tpkt::encode(b""), Err(TpktError::EmptyPayload));
    let biggest = vec![0x5A; 0xFFFF - 4];
    let pkt = tpkt::encode(&biggest).unwrap();
    assert_eq!(&pkt[..4], &[3, 0, 0xFF, 0xFF]);
    assert_eq!(
        tpkt::encode(&[0; 0xFFFF - 3]),
        Err(TpktError::PayloadTooLong(0xFFFF - 3))
    );
    let mut out = vec![9];
    tpkt::encode_into(b"x", &mut out).unwrap();
    assert_eq!(out, [9, 3, 0, 0, 5, b'x']);
}

#[test]
fn tpkt_header_checks() {
    assert_eq!(tpkt::parse_header([3, 0, 0, 4], 100), Ok(4));
    assert_eq!(tpkt::parse_header([3, 0xFF, 0, 100], 100), Ok(100));
    assert_eq!(
        tpkt::parse_header([2, 0, 0, 10], 100),
        Err(TpktError::BadVersion(2))
    );
    assert_eq!(
        tpkt::parse_header([3, 0, 0, 3], 100),
        Err(TpktError::LengthTooShort(3))
    );
    assert_eq!(
        tpkt::parse_header([3, 0, 0, 101], 100),
        Err(TpktError::TooLong {
            length: 101,
            max: 100
        })
    );
}

fn stream_of(messages: &[Message]) -> (Vec<u8>, Vec<Event>) {
    let mut stream = Vec::new();
    let mut events = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let payload = m.encode().unwrap();
        tpkt::encode_into(&payload, &mut stream).unwrap();
        events.push(Event::Packet(payload));
        if i % 3 == 0 {
            stream.extend_from_slice(&KEEP_ALIVE);
            events.push(Event::KeepAlive);
        }
    }
    (stream, events)
}

#[test]
fn tpkt_deframer_whole_stream() {
    let (stream, expected) = stream_of(&sample_messages());
    let mut d = Deframer::new();
    assert_eq!(d.feed_vec(&stream).unwrap(), expected);
    assert_eq!(d.pending(), 0);
    assert_eq!(d.finish(), Ok(()));
}

#[test]
fn tpkt_deframer_one_byte_at_a_time() {
    let (stream, expected) = stream_of(&sample_messages());
    let mut d = Deframer::new();
    let mut got = Vec::new();
    for b in &stream {
        d.feed(std::slice::from_ref(b), &mut got).unwrap();
    }
    assert_eq!(got, expected);
    assert_eq!(d.finish(), Ok(()));
}

#[test]
fn tpkt_deframer_random_splits() {
    let (stream, expected) = stream_of(&sample_messages());
    let mut rng = Rng(0x7070_1006);
    for _ in 0..500 {
        let mut d = Deframer::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            // Mostly small cuts, sometimes large ones, sometimes empty chunks.
            let n = match rng.below(4) {
                0 => rng.below(4),
                1 => rng.below(16),
                2 => rng.below(64),
                _ => rng.below(400),
            }
            .min(rest.len());
            d.feed(&rest[..n], &mut got).unwrap();
            rest = &rest[n..];
            assert!(d.pending() < DEFAULT_MAX_LEN);
        }
        assert_eq!(got, expected);
        assert_eq!(d.finish(), Ok(()));
    }
}

#[test]
fn tpkt_keep_alive_is_its_own_event() {
    let mut d = Deframer::new();
    let mut stream = KEEP_ALIVE.to_vec();
    stream.extend_from_slice(&KEEP_ALIVE);
    stream.extend_from_slice(&tpkt::encode(&[0x08]).unwrap());
    stream.extend_from_slice(&KEEP_ALIVE[..3]);
    assert_eq!(
        d.feed_vec(&stream).unwrap(),
        [
            Event::KeepAlive,
            Event::KeepAlive,
            Event::Packet(vec![0x08])
        ]
    );
    assert_eq!(d.feed_vec(&KEEP_ALIVE[3..]).unwrap(), [Event::KeepAlive]);
    // A keep-alive is accepted whatever the maximum.
    let mut small = Deframer::with_max_len(0);
    assert_eq!(small.max_len(), 5);
    assert_eq!(small.feed_vec(&KEEP_ALIVE).unwrap(), [Event::KeepAlive]);
}

#[test]
fn tpkt_nonzero_reserved_octet_is_accepted() {
    let mut d = Deframer::new();
    assert_eq!(
        d.feed_vec(&[3, 0x55, 0, 6, 1, 2]).unwrap(),
        [Event::Packet(vec![1, 2])]
    );
}

/// Feeds `stream` in two cuts at every position and checks the error, the events before it,
/// and that the deframer then stays failed.
fn assert_stream_error(stream: &[u8], before: &[Event], err: TpktError, max: usize) {
    for cut in 0..=stream.len() {
        let mut d = Deframer::with_max_len(max);
        let mut got = Vec::new();
        let first = d.feed(&stream[..cut], &mut got);
        let result = first.and_then(|()| d.feed(&stream[cut..], &mut got));
        assert_eq!(result, Err(err.clone()), "cut at {cut}");
        assert_eq!(got, before, "cut at {cut}");
        assert_eq!(d.error(), Some(&err));
        assert_eq!(d.pending(), 0);
        // Failure is final, even for good input.
        assert_eq!(d.feed_vec(&KEEP_ALIVE), Err(err.clone()));
        assert_eq!(d.finish(), Err(err.clone()));
    }
}

#[test]
fn tpkt_deframer_errors_are_distinct_and_final() {
    let good = tpkt::encode(b"ok").unwrap();
    let ok = [Event::Packet(b"ok".to_vec())];
    let with = |bad: &[u8]| [&good[..], bad].concat();
    assert_stream_error(
        &with(&[4, 0, 0, 9, 0, 0, 0, 0, 0]),
        &ok,
        TpktError::BadVersion(4),
        DEFAULT_MAX_LEN,
    );
    assert_stream_error(
        &with(&[3, 0, 0, 2]),
        &ok,
        TpktError::LengthTooShort(2),
        DEFAULT_MAX_LEN,
    );
    assert_stream_error(
        &with(&[3, 0, 0, 0]),
        &ok,
        TpktError::LengthTooShort(0),
        DEFAULT_MAX_LEN,
    );
    assert_stream_error(
        &with(&[3, 0, 0x40, 0x01]),
        &ok,
        TpktError::TooLong {
            length: 0x4001,
            max: DEFAULT_MAX_LEN,
        },
        DEFAULT_MAX_LEN,
    );
    assert_stream_error(
        &with(&[3, 0, 0xFF, 0xFF, 1, 2, 3]),
        &ok,
        TpktError::TooLong {
            length: 0xFFFF,
            max: 100,
        },
        100,
    );
}

#[test]
fn tpkt_deframer_limits() {
    // The default maximum itself is accepted.
    let payload = vec![0x08; DEFAULT_MAX_LEN - 4];
    let mut d = Deframer::new();
    assert_eq!(
        d.feed_vec(&tpkt::encode(&payload).unwrap()).unwrap(),
        [Event::Packet(payload)]
    );
    // The largest TPKT, where configured.
    let payload = vec![0x08; 0xFFFF - 4];
    let mut d = Deframer::with_max_len(usize::MAX);
    assert_eq!(d.max_len(), 0xFFFF);
    let pkt = tpkt::encode(&payload).unwrap();
    let mut got = Vec::new();
    for chunk in pkt.chunks(1000) {
        d.feed(chunk, &mut got).unwrap();
    }
    assert_eq!(got, [Event::Packet(payload)]);
}

#[test]
fn tpkt_finish_reports_truncation() {
    let pkt = tpkt::encode(b"hello").unwrap();
    for cut in 1..pkt.len() {
        let mut d = Deframer::new();
        assert_eq!(d.feed_vec(&pkt[..cut]).unwrap(), []);
        assert_eq!(d.pending(), cut);
        let need = if cut < 4 { 4 } else { pkt.len() };
        assert_eq!(d.finish(), Err(TpktError::Truncated { have: cut, need }));
        // More data completes the packet.
        assert_eq!(
            d.feed_vec(&pkt[cut..]).unwrap(),
            [Event::Packet(b"hello".to_vec())]
        );
        assert_eq!(d.finish(), Ok(()));
    }
}

// ---------------------------------------------------------------------------------------
// Q.931

#[test]
fn q931_exact_encoding() {
    let m = Message::new(MessageType::ReleaseComplete, CallRef::new(0x1234, true))
        .with_ie(Ie::Cause(Cause::new(
            location::USER,
            cause_value::NORMAL_CALL_CLEARING,
        )))
        .with_user_user(UUIE_RELEASE_COMPLETE.to_vec());
    let bytes = m.encode().unwrap();
    let expected: Vec<u8> = [
        &[0x08, 0x02, 0x92, 0x34, 0x5A][..], // discriminator, CR length, flag + value, type
        &[0x08, 0x02, 0x80, 0x90],           // Cause: ITU-T, user; normal call clearing
        &[0x7E, 0x00, 0x0A, 0x05],           // User-user: 2-octet length, X.208/X.209
        &UUIE_RELEASE_COMPLETE,
    ]
    .concat();
    assert_eq!(bytes, expected);
    let d = Message::decode(&bytes).unwrap();
    assert_eq!(d, m);
    assert_eq!(d.user_user(), Some(&UUIE_RELEASE_COMPLETE[..]));
    let cause = d.cause().unwrap();
    assert_eq!((cause.location, cause.value), (location::USER, 16));
    assert_eq!(d.call_ref, Some(CallRef::new(0x1234, true)));
    assert_eq!(d.call_ref.unwrap().reply(), CallRef::new(0x1234, false));
}

#[test]
fn q931_setup_with_party_numbers() {
    let m = Message::new(MessageType::Setup, CallRef::new(1, false))
        .with_ie(Ie::BearerCapability(BEARER_H323.to_vec()))
        .with_ie(Ie::Display("exp".into()))
        .with_ie(Ie::CallingNumber(PartyNumber {
            number_type: 2,
            plan: 1,
            presentation: Some(Presentation {
                indicator: 1,
                screening: 3,
            }),
            digits: "123".into(),
        }))
        .with_ie(Ie::CalledNumber(PartyNumber {
            number_type: 1,
            plan: 1,
            presentation: None,
            digits: "456".into(),
        }));
    let bytes = m.encode().unwrap();
    assert_eq!(
        bytes,
        [
            0x08, 0x02, 0x00, 0x01, 0x05, // header
            0x04, 0x03, 0x88, 0x90, 0xA5, // bearer capability
            0x28, 0x03, b'e', b'x', b'p', // display
            0x6C, 0x05, 0x21, 0xA3, b'1', b'2', b'3', // calling: national, E.164; restricted
            0x70, 0x04, 0x91, b'4', b'5', b'6', // called: international, E.164
        ]
    );
    let d = Message::decode(&bytes).unwrap();
    assert_eq!(d, m);
    assert_eq!(d.display(), Some("exp"));
    assert_eq!(d.calling_number().unwrap().digits, "123");
    assert_eq!(d.called_number().unwrap().digits, "456");
    assert_eq!(d.user_user(), None);
}

#[test]
fn q931_every_message_type_round_trips() {
    for kind in MessageType::ALL {
        assert_eq!(MessageType::from_code(kind.code()), kind);
    }
    let codes: Vec<u8> = MessageType::ALL.iter().map(|t| t.code()).collect();
    assert_eq!(
        codes,
        [0x01, 0x02, 0x03, 0x05, 0x07, 0x0D, 0x5A, 0x62, 0x6E, 0x75, 0x7B, 0x7D]
    );
    assert_eq!(MessageType::from_code(0x45), MessageType::Other(0x45));
    for m in sample_messages() {
        let bytes = m.encode().unwrap();
        let d = Message::decode(&bytes).unwrap();
        assert_eq!(d, m, "{:?}", m.kind);
        assert_eq!(d.encode().unwrap(), bytes);
        // And through TPKT.
        let mut deframer = Deframer::new();
        let events = deframer.feed_vec(&tpkt::encode(&bytes).unwrap()).unwrap();
        assert_eq!(events, [Event::Packet(bytes)]);
    }
}

#[test]
fn q931_every_typed_ie_round_trips_as_itself() {
    for ie in every_ie() {
        let m = Message::new(MessageType::Facility, CallRef::new(7, false)).with_ie(ie.clone());
        let d = Message::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(d.ies, [ie]);
    }
}

#[test]
fn q931_dummy_and_global_call_references() {
    let dummy = Message {
        call_ref: None,
        kind: MessageType::Facility,
        ies: vec![],
    };
    assert_eq!(dummy.encode().unwrap(), [0x08, 0x00, 0x62]);
    assert_eq!(Message::decode(&[0x08, 0x00, 0x62]).unwrap(), dummy);
    let global = Message::new(MessageType::Status, CallRef::new(0, true));
    assert!(global.call_ref.unwrap().is_global());
    assert_eq!(global.encode().unwrap(), [0x08, 0x02, 0x80, 0x00, 0x7D]);
}

#[test]
fn q931_header_errors() {
    use Q931Error::*;
    let cases: &[(&[u8], Q931Error)] = &[
        (&[], TruncatedHeader { len: 0 }),
        (&[0x08], TruncatedHeader { len: 1 }),
        (&[0x08, 0x02, 0x00], TruncatedHeader { len: 3 }),
        (&[0x08, 0x02, 0x00, 0x01], TruncatedHeader { len: 4 }),
        (&[0x08, 0x00], TruncatedHeader { len: 2 }),
        (
            &[0x09, 0x02, 0x00, 0x01, 0x05],
            BadProtocolDiscriminator(0x09),
        ),
        (
            &[0x03, 0x02, 0x00, 0x01, 0x05],
            BadProtocolDiscriminator(0x03),
        ),
        (&[0x08, 0x01, 0x01, 0x05], BadCallRefLength(0x01)),
        (&[0x08, 0x03, 0, 0, 1, 0x05], BadCallRefLength(0x03)),
        (&[0x08, 0x12, 0x00, 0x01, 0x05], BadCallRefLength(0x12)),
        (&[0x08, 0x0F, 0x00, 0x01, 0x05], BadCallRefLength(0x0F)),
    ];
    for (bytes, err) in cases {
        assert_eq!(Message::decode(bytes), Err(err.clone()), "{bytes:02x?}");
    }
}

#[test]
fn q931_truncated_ies() {
    use Q931Error::TruncatedIe;
    let head = [0x08, 0x02, 0x00, 0x01, 0x05];
    let with = |ies: &[u8]| [&head[..], ies].concat();
    // A length octet missing, contents short by one, the User-user length cut in half.
    assert_eq!(
        Message::decode(&with(&[0x28])),
        Err(TruncatedIe {
            id: 0x28,
            offset: 5
        })
    );
    assert_eq!(
        Message::decode(&with(&[0xA1, 0x28, 0x03, b'a', b'b'])),
        Err(TruncatedIe {
            id: 0x28,
            offset: 6
        })
    );
    assert_eq!(
        Message::decode(&with(&[0x7E, 0x00])),
        Err(TruncatedIe {
            id: 0x7E,
            offset: 5
        })
    );
    // A User-user length beyond the message, even when it fits in one octet...
    assert_eq!(
        Message::decode(&with(&[0x7E, 0x00, 0x02, 0x05])),
        Err(TruncatedIe {
            id: 0x7E,
            offset: 5
        })
    );
    // ...and the biggest one.
    assert_eq!(
        Message::decode(&with(&[0x7E, 0xFF, 0xFF, 0x05, 0x00])),
        Err(TruncatedIe {
            id: 0x7E,
            offset: 5
        })
    );
    // Every truncation of every sample: an error inside an IE, a shorter message at an IE
    // boundary, never a panic.
    for m in sample_messages() {
        let bytes = m.encode().unwrap();
        let mut at = if m.call_ref.is_some() { 5 } else { 3 };
        let mut boundaries = vec![at];
        for ie in &m.ies {
            let one = Message {
                call_ref: None,
                kind: m.kind,
                ies: vec![ie.clone()],
            };
            at += one.encode().unwrap().len() - 3;
            boundaries.push(at);
        }
        for cut in 0..bytes.len() {
            match Message::decode(&bytes[..cut]) {
                Ok(d) => {
                    let k = boundaries.iter().position(|&b| b == cut).expect("boundary");
                    assert_eq!(d.ies, m.ies[..k], "cut at {cut}");
                }
                Err(TruncatedIe { offset, .. }) => {
                    assert!(boundaries.contains(&offset) && offset < cut, "cut at {cut}");
                }
                Err(Q931Error::TruncatedHeader { len }) => assert_eq!(len, cut),
                Err(e) => panic!("cut at {cut}: {e}"),
            }
        }
    }
}

#[test]
fn q931_noncanonical_ies_stay_raw() {
    let head = [0x08, 0x02, 0x00, 0x01, 0x62];
    let raw = |id: u8, data: &[u8]| Ie::Other {
        id,
        data: data.to_vec(),
    };
    let cases: Vec<(Vec<u8>, Ie)> = vec![
        // Cause: spare bit set; octet 4 without its extension bit; no octet 4.
        (vec![0x08, 0x02, 0x90, 0x90], raw(0x08, &[0x90, 0x90])),
        (vec![0x08, 0x02, 0x80, 0x10], raw(0x08, &[0x80, 0x10])),
        (vec![0x08, 0x01, 0x80], raw(0x08, &[0x80])),
        (vec![0x08, 0x00], raw(0x08, &[])),
        // Called party number with an octet 3a (calling numbers only).
        (
            vec![0x70, 0x03, 0x01, 0x80, b'1'],
            raw(0x70, &[0x01, 0x80, b'1']),
        ),
        // Calling party number: spare bits in octet 3a; digits outside IA5.
        (vec![0x6C, 0x02, 0x01, 0x84], raw(0x6C, &[0x01, 0x84])),
        (vec![0x6C, 0x02, 0x81, 0xB1], raw(0x6C, &[0x81, 0xB1])),
        // Display in UTF-8, not IA5.
        (vec![0x28, 0x02, 0xC3, 0xA9], raw(0x28, &[0xC3, 0xA9])),
        // Progress indicator of the wrong length; Notification without extension bit.
        (vec![0x1E, 0x01, 0x80], raw(0x1E, &[0x80])),
        (vec![0x27, 0x01, 0x01], raw(0x27, &[0x01])),
        // Signal of two octets.
        (vec![0x34, 0x02, 0x01, 0x02], raw(0x34, &[0x01, 0x02])),
        // An empty User-user IE (no protocol discriminator): still a 2-octet length.
        (vec![0x7E, 0x00, 0x00], raw(0x7E, &[])),
    ];
    for (ie_bytes, ie) in cases {
        let bytes = [&head[..], &ie_bytes].concat();
        let d = Message::decode(&bytes).unwrap();
        assert_eq!(d.ies, [ie], "{ie_bytes:02x?}");
        assert_eq!(d.encode().unwrap(), bytes, "{ie_bytes:02x?}");
    }
    // A User-user IE with another protocol discriminator is typed but not H.225.0's.
    let bytes = [&head[..], &[0x7E, 0x00, 0x02, 0x04, 0xAA]].concat();
    let d = Message::decode(&bytes).unwrap();
    assert_eq!(
        d.ies,
        [Ie::UserUser {
            protocol: 4,
            data: vec![0xAA]
        }]
    );
    assert_eq!(d.user_user(), None);
    // with_user_user replaces it.
    let d = d.with_user_user(vec![1, 2]);
    assert_eq!(d.user_user(), Some(&[1u8, 2][..]));
    assert_eq!(d.ies.len(), 1);
}

#[test]
fn q931_codeset_shifts() {
    let head = [0x08, 0x02, 0x00, 0x01, 0x05];
    // Locking shift to codeset 6: 0x28 (an Avaya display there) and 0x7E stay raw, and 0x7E
    // has a one-octet length.
    let ies = [0x96, 0x28, 0x01, 0xFF, 0x7E, 0x01, 0x05];
    let bytes = [&head[..], &ies].concat();
    let d = Message::decode(&bytes).unwrap();
    assert_eq!(
        d.ies,
        [
            Ie::Single(0x96),
            Ie::Other {
                id: 0x28,
                data: vec![0xFF]
            },
            Ie::Other {
                id: 0x7E,
                data: vec![0x05]
            },
        ]
    );
    assert_eq!(d.encode().unwrap(), bytes);
    // Non-locking shift to codeset 5: only the next IE; the User-user after it is codeset 0.
    let ies = [0x9D, 0x28, 0x01, b'a', 0x7E, 0x00, 0x02, 0x05, 0x00];
    let bytes = [&head[..], &ies].concat();
    let d = Message::decode(&bytes).unwrap();
    assert_eq!(
        d.ies,
        [
            Ie::Single(0x9D),
            Ie::Other {
                id: 0x28,
                data: vec![b'a']
            },
            Ie::UserUser {
                protocol: 5,
                data: vec![0]
            },
        ]
    );
    assert_eq!(d.encode().unwrap(), bytes);
    // A typed IE after a shift is refused on encoding.
    let m = Message::new(MessageType::Setup, CallRef::new(1, false))
        .with_ie(Ie::Single(0x95))
        .with_ie(Ie::Display("x".into()));
    assert_eq!(m.encode(), Err(Q931Error::TypedIeInShiftedCodeset(0x28)));
}

#[test]
fn q931_encode_errors() {
    let m = |ie: Ie| Message::new(MessageType::Setup, CallRef::new(1, false)).with_ie(ie);
    assert_eq!(
        Message::new(MessageType::Setup, CallRef::new(0x8000, false)).encode(),
        Err(Q931Error::CallRefRange(0x8000))
    );
    assert_eq!(
        m(Ie::Facility(vec![0; 256])).encode(),
        Err(Q931Error::IeTooLong { id: 0x1C, len: 256 })
    );
    assert!(m(Ie::Facility(vec![0; 255])).encode().is_ok());
    // User-user: 65535 octets of contents, the discriminator included, fit; one more does
    // not.
    let fits = m(Ie::Single(0xA1)).with_user_user(vec![0; 0xFFFE]);
    let bytes = fits.encode().unwrap();
    assert_eq!(Message::decode(&bytes).unwrap(), fits);
    assert_eq!(
        m(Ie::Single(0xA1)).with_user_user(vec![0; 0xFFFF]).encode(),
        Err(Q931Error::IeTooLong {
            id: 0x7E,
            len: 0x10000
        })
    );
    assert_eq!(
        m(Ie::Cause(Cause::new(16, 16))).encode(),
        Err(Q931Error::FieldRange {
            id: 0x08,
            field: "location",
            value: 16
        })
    );
    assert_eq!(
        m(Ie::Cause(Cause::new(0, 128))).encode(),
        Err(Q931Error::FieldRange {
            id: 0x08,
            field: "value",
            value: 128
        })
    );
    let mut called = PartyNumber::new("1");
    called.presentation = Some(Presentation {
        indicator: 0,
        screening: 0,
    });
    assert!(matches!(
        m(Ie::CalledNumber(called)).encode(),
        Err(Q931Error::FieldRange { id: 0x70, .. })
    ));
    let mut calling = PartyNumber::new("1");
    calling.number_type = 8;
    assert!(matches!(
        m(Ie::CallingNumber(calling)).encode(),
        Err(Q931Error::FieldRange { id: 0x6C, .. })
    ));
    assert_eq!(
        m(Ie::Display("é".into())).encode(),
        Err(Q931Error::NotIa5(0x28))
    );
    assert_eq!(
        m(Ie::CalledNumber(PartyNumber::new("½"))).encode(),
        Err(Q931Error::NotIa5(0x70))
    );
    assert_eq!(m(Ie::Single(0x21)).encode(), Err(Q931Error::BadIeId(0x21)));
    assert_eq!(
        m(Ie::Other {
            id: 0xA1,
            data: vec![]
        })
        .encode(),
        Err(Q931Error::BadIeId(0xA1))
    );
    assert!(matches!(
        m(Ie::Notification(0x80)).encode(),
        Err(Q931Error::FieldRange { id: 0x27, .. })
    ));
    assert!(matches!(
        m(Ie::Progress(Progress {
            coding_standard: 4,
            location: 0,
            description: 0
        }))
        .encode(),
        Err(Q931Error::FieldRange { id: 0x1E, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Bad input

/// What a decoded message must satisfy: it re-encodes to exactly the input.
fn check_q931(bytes: &[u8]) {
    if let Ok(m) = Message::decode(bytes) {
        assert_eq!(m.encode().as_deref(), Ok(bytes), "{bytes:02x?}");
    }
}

/// Deframes `stream` whole and in random cuts; both must agree, and every packet is checked
/// as Q.931.
fn check_stream(stream: &[u8], rng: &mut Rng) {
    let mut whole = Deframer::new();
    let mut expected = Vec::new();
    let expected_err = whole.feed(stream, &mut expected).err();
    let mut cut = Deframer::new();
    let mut got = Vec::new();
    let mut rest = stream;
    let mut err = None;
    while !rest.is_empty() {
        let n = rng.below(rest.len() + 1);
        if let Err(e) = cut.feed(&rest[..n], &mut got) {
            err = Some(e);
            break;
        }
        rest = &rest[n..];
    }
    assert_eq!(got, expected);
    assert_eq!(err, expected_err);
    for e in &expected {
        if let Event::Packet(p) = e {
            check_q931(p);
        }
    }
}

#[test]
fn bad_input_bit_flips() {
    let mut rng = Rng(0xB17F_11B5);
    let (stream, _) = stream_of(&sample_messages());
    let messages: Vec<Vec<u8>> = sample_messages()
        .iter()
        .map(|m| m.encode().unwrap())
        .collect();
    for _ in 0..3000 {
        let mut m = messages[rng.below(messages.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(m.len());
            m[i] ^= 1 << rng.below(8);
        }
        check_q931(&m);
        let mut s = stream.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(s.len());
            s[i] ^= 1 << rng.below(8);
        }
        check_stream(&s, &mut rng);
    }
}

#[test]
fn bad_input_random_bytes() {
    let mut rng = Rng(0x0DD_BA11);
    for _ in 0..5000 {
        let n = rng.below(80);
        let mut b = rng.bytes(n);
        // Often a plausible start, so the decoders get past the first checks.
        match rng.below(3) {
            0 if n >= 5 => b[..2].copy_from_slice(&[0x08, 0x02]),
            1 if n >= 4 => b[..4].copy_from_slice(&[3, 0, 0, (n as u8).max(4)]),
            _ => {}
        }
        check_q931(&b);
        check_stream(&b, &mut rng);
    }
}

#[test]
fn bad_input_huge_lengths() {
    // A header announcing 64 KiB is refused at once, before any of it is buffered.
    let mut d = Deframer::new();
    assert_eq!(
        d.feed_vec(&[3, 0, 0xFF, 0xFF]),
        Err(TpktError::TooLong {
            length: 0xFFFF,
            max: DEFAULT_MAX_LEN
        })
    );
    assert_eq!(d.pending(), 0);
    // Announced but never sent: only what arrived is held.
    let mut d = Deframer::with_max_len(0xFFFF);
    assert_eq!(d.feed_vec(&[3, 0, 0xFF, 0xFF, 0x08]).unwrap(), []);
    assert_eq!(d.pending(), 5);
    assert_eq!(
        d.finish(),
        Err(TpktError::Truncated {
            have: 5,
            need: 0xFFFF
        })
    );
    // Q.931: the biggest one-octet and two-octet lengths with nothing behind them.
    let head = [0x08, 0x02, 0x00, 0x01, 0x05];
    for ies in [&[0x28, 0xFF][..], &[0x7E, 0xFF, 0xFF]] {
        assert!(matches!(
            Message::decode(&[&head[..], ies].concat()),
            Err(Q931Error::TruncatedIe { .. })
        ));
    }
}
