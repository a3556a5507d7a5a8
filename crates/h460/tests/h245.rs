//! H.245 codec: round trips of every typed message, encodings derived by hand from X.691,
//! the H.460.19 traversal parameters, relaying of untyped alternatives, and hostile input
//! (truncations, bit flips, random bytes, absurd lengths).

#[path = "support/h245_samples.rs"]
mod samples;

use exp_h460::h245::*;
use exp_h460::per::{self, Error};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn all() -> Vec<(&'static str, MultimediaSystemControlMessage)> {
    let mut v = samples::all();
    v.extend(samples::extra());
    v
}

#[test]
fn every_typed_message_round_trips_byte_identically() {
    for (name, msg) in all() {
        let bytes = msg
            .encode_checked()
            .unwrap_or_else(|e| panic!("{name}: does not encode cleanly: {e}"));
        let back = MultimediaSystemControlMessage::decode(&bytes)
            .unwrap_or_else(|e| panic!("{name}: does not decode: {e} ({})", hex(&bytes)));
        assert_eq!(back, msg, "{name} ({})", hex(&bytes));
        assert_eq!(back.encode(), bytes, "{name}");
    }
}

#[test]
fn names() {
    let names: Vec<&str> = samples::all().iter().map(|(_, m)| m.name()).collect();
    assert_eq!(
        names,
        [
            "masterSlaveDetermination",
            "terminalCapabilitySet",
            "terminalCapabilitySet",
            "openLogicalChannel",
            "openLogicalChannel",
            "closeLogicalChannel",
            "requestChannelClose",
            "roundTripDelayRequest",
            "masterSlaveDeterminationAck",
            "masterSlaveDeterminationReject",
            "terminalCapabilitySetAck",
            "terminalCapabilitySetReject",
            "openLogicalChannelAck",
            "openLogicalChannelReject",
            "openLogicalChannelReject",
            "closeLogicalChannelAck",
            "requestChannelCloseAck",
            "roundTripDelayResponse",
            "endSessionCommand",
            "userInput",
            "userInput",
        ]
    );
}

/// MasterSlaveDetermination { terminalType 60, statusDeterminationNumber 12345 }:
///
/// ```text
/// MultimediaSystemControlMessage  0 (ext) 00 (request, index 0 of 4)
/// RequestMessage                  0 (ext) 0001 (masterSlaveDetermination, 1 of 11: 4 bits)
/// MasterSlaveDetermination        0 (ext)
///                                 -> 0000 0001 | 0 + 7 padding bits = 01 00
/// terminalType (0..255)           range 256: one aligned octet (§11.5.7.2)    = 3c
/// statusDeterminationNumber       range 2^24: octet count 1..3 in 2 bits (§11.5.7.4):
///   (0..16777215)                 12345 = 0x3039, 2 octets -> 01, padded     = 40
///                                 then the octets, aligned                   = 30 39
/// ```
#[test]
fn msd_encoding_derived_by_hand() {
    let m: MultimediaSystemControlMessage = samples::msd().into();
    assert_eq!(hex(&m.encode()), "01003c403039");
}

/// OpenLogicalChannelAck { forwardLogicalChannelNumber 1, forwardMultiplexAckParameters
/// h2250LogicalChannelAckParameters { sessionID 1, mediaChannel 192.0.2.20:5004,
/// flowControlToZero FALSE } }:
///
/// ```text
/// MultimediaSystemControlMessage  0 01 (response)
/// ResponseMessage                 0 00101 (openLogicalChannelAck, 5 of 19: 5 bits)
/// OpenLogicalChannelAck           1 (ext: additions present) 0 (no reverse parameters)
///                                 -> 0010 0010 | 110 + padding              = 22 c0
/// forwardLogicalChannelNumber     1..65535: two aligned octets of 1 - 1     = 00 00
/// additions: bitmap length 5      0 000100 (normally small length, §11.9.3.4)
///   bitmap                        01000 (only forwardMultiplexAckParameters)
///                                 -> 0000 1000 | 1000 + padding             = 08 80
///   open type length (§11.2)                                                = 0d
///   forwardMultiplexAckParameters 0 (ext; one root alternative: no index)
///   H2250LogicalChannelAckParams  1 (ext: flowControlToZero is always sent)
///                                 01100 (sessionID, mediaChannel present)
///   sessionID (1..255)            range 255 < 256: 8-bit field, unaligned: 00000000
///   TransportAddress              0 (ext) 0 (unicastAddress, 1 bit)
///   UnicastAddress                0 (ext) 000 (iPAddress, 0 of 5)
///   iPAddress                     0 (ext)
///                                 -> 0101 1000 | 0000 0000 | 0 + padding    = 58 00 00
///   network SIZE(4)               fixed size > 2 octets: aligned, no length = c0 00 02 14
///   tsapIdentifier (0..65535)     two aligned octets                       = 13 8c
///   additions: bitmap length 3    0 000010, bitmap 100 (flowControlToZero)
///                                 -> 0000 0101 | 00 + padding               = 05 00
///   open type: length 1, FALSE padded to an octet                           = 01 00
/// ```
#[test]
fn olc_ack_encoding_derived_by_hand() {
    let mut ack = OpenLogicalChannelAck::new(1, samples::addr([0; 4], 0), samples::addr([0; 4], 0));
    ack.set_media_control_channel(None);
    ack.set_media_channel(Some(samples::addr([192, 0, 2, 20], 5004)));
    if let Some(p) = ack.h2250_mut() {
        p.session_id = Some(1);
    }
    let m: MultimediaSystemControlMessage = ack.clone().into();
    let bytes = m.encode();
    assert_eq!(
        hex(&bytes),
        "22c0000008800d580000c000021413 8c05000100".replace(' ', "")
    );
    let MultimediaSystemControlMessage::Response(ResponseMessage::OpenLogicalChannelAck(back)) =
        MultimediaSystemControlMessage::decode(&bytes).unwrap()
    else {
        panic!("not an OLCAck");
    };
    assert_eq!(back, ack);
    assert_eq!(
        back.media_channel().and_then(TransportAddress::ipv4),
        Some("192.0.2.20:5004".parse().unwrap())
    );
}

/// TraversalParameters { keepAliveChannel 10.0.0.1:5000, keepAlivePayloadType 127,
/// keepAliveInterval 19 }:
///
/// ```text
/// preamble            0 (ext) 000111 (the last three components present)
/// keepAliveChannel    0 (ext) 0 (unicastAddress) 0 000 (iPAddress) 0 (ext)
///                     -> 0000 1110 | 0000 0 + padding                    = 0e 00
///   network           aligned                                            = 0a 00 00 01
///   tsapIdentifier    two aligned octets                                 = 13 88
/// keepAlivePayloadType (0..127): 7 bits 1111111
/// keepAliveInterval (1..2^32-1): octet count 1..4 in 2 bits: 00 (one octet)
///                     -> 1111 1110 | 0 + padding                          = fe 00
///                     then 19 - 1, aligned                               = 12
/// ```
#[test]
fn traversal_parameters_encoding_derived_by_hand() {
    let tp = TraversalParameters {
        keep_alive_channel: Some(samples::addr([10, 0, 0, 1], 5000)),
        keep_alive_payload_type: Some(127),
        keep_alive_interval: Some(19),
        ..Default::default()
    };
    let bytes = per::encode_checked(&tp).unwrap();
    assert_eq!(hex(&bytes), "0e000a0000011388fe0012");
    assert_eq!(per::decode::<TraversalParameters>(&bytes), Ok(tp));
}

#[test]
fn traversal_parameters_round_trip_and_live_in_generic_information() {
    let tp = samples::traversal();
    let bytes = per::encode_checked(&tp).unwrap();
    assert_eq!(per::decode::<TraversalParameters>(&bytes), Ok(tp.clone()));
    assert_eq!(
        per::decode::<TraversalParameters>(&per::encode(&TraversalParameters::default())),
        Ok(TraversalParameters::default())
    );

    let g = tp.to_generic_information();
    assert_eq!(
        g.message_identifier,
        CapabilityIdentifier::Standard(exp_h460::per::Oid::new(&[0, 0, 8, 460, 19, 0, 1]))
    );
    assert_eq!(
        g.standard_parameter(1),
        Some(&ParameterValue::OctetString(bytes))
    );
    let other = GenericMessage {
        message_identifier: CapabilityIdentifier::Uuid([0; 16]),
        sub_message_identifier: None,
        message_content: None,
    };
    assert_eq!(
        TraversalParameters::from_generic_information(&[other.clone(), g]),
        Some(Ok(tp.clone()))
    );
    assert_eq!(
        TraversalParameters::from_generic_information(std::slice::from_ref(&other)),
        None
    );
    // The H.460.19 identifier without parameters: support signalled, nothing set.
    let bare = GenericMessage {
        message_identifier: CapabilityIdentifier::Standard(exp_h460::per::Oid::new(&TRAVERSAL_OID)),
        sub_message_identifier: None,
        message_content: None,
    };
    assert_eq!(
        TraversalParameters::from_generic_information(std::slice::from_ref(&bare)),
        Some(Ok(TraversalParameters::default()))
    );
    // A parameter that is not an octet string, or does not decode.
    let mut bad = bare.clone();
    bad.message_content = Some(vec![GenericParameter::standard(1, ParameterValue::Logical)]);
    assert!(matches!(
        TraversalParameters::from_generic_information(std::slice::from_ref(&bad)),
        Some(Err(_))
    ));
    bad.message_content = Some(vec![GenericParameter::standard(
        1,
        ParameterValue::OctetString(vec![0x7e]),
    )]);
    assert!(matches!(
        TraversalParameters::from_generic_information(&[bad]),
        Some(Err(_))
    ));

    // On an OLC: set replaces the entry, and other entries stay.
    let mut olc = samples::olc();
    olc.generic_information
        .get_or_insert_with(Vec::new)
        .insert(0, other);
    assert_eq!(olc.traversal_parameters(), Some(Ok(tp)));
    let tp2 = TraversalParameters {
        multiplex_id: Some(9),
        ..Default::default()
    };
    olc.set_traversal_parameters(&tp2);
    assert_eq!(olc.generic_information.as_ref().map(Vec::len), Some(2));
    let m: MultimediaSystemControlMessage = olc.into();
    let MultimediaSystemControlMessage::Request(RequestMessage::OpenLogicalChannel(back)) =
        MultimediaSystemControlMessage::decode(&m.encode()).unwrap()
    else {
        panic!("not an OLC");
    };
    assert_eq!(back.traversal_parameters(), Some(Ok(tp2)));
}

#[test]
fn media_addresses_can_be_rewritten() {
    let mut olc = samples::olc();
    assert_eq!(
        olc.media_control_channel().and_then(TransportAddress::ipv4),
        Some("192.0.2.10:49153".parse().unwrap())
    );
    assert_eq!(olc.media_channel(), None);
    assert!(olc.set_media_control_channel(Some(samples::addr([203, 0, 113, 1], 20001))));
    assert!(olc.set_media_channel(Some(samples::addr([203, 0, 113, 1], 20000))));
    let m: MultimediaSystemControlMessage = olc.into();
    let MultimediaSystemControlMessage::Request(RequestMessage::OpenLogicalChannel(back)) =
        MultimediaSystemControlMessage::decode(&m.encode()).unwrap()
    else {
        panic!("not an OLC");
    };
    assert_eq!(
        back.media_control_channel()
            .and_then(TransportAddress::ipv4),
        Some("203.0.113.1:20001".parse().unwrap())
    );
    assert_eq!(
        back.media_channel().and_then(TransportAddress::ipv4),
        Some("203.0.113.1:20000".parse().unwrap())
    );
    let mut none = samples::olc();
    none.forward_logical_channel_parameters.multiplex_parameters = ForwardMultiplexParameters::None;
    assert!(!none.set_media_channel(None));

    let mut ack = samples::olc_ack();
    assert_eq!(
        ack.media_channel().and_then(TransportAddress::ipv4),
        Some("198.51.100.7:30000".parse().unwrap())
    );
    assert!(ack.set_media_channel(Some(samples::addr([203, 0, 113, 1], 20002))));
    assert!(ack.set_media_control_channel(Some(samples::addr([203, 0, 113, 1], 20003))));
    assert_eq!(
        ack.media_control_channel().and_then(TransportAddress::ipv4),
        Some("203.0.113.1:20003".parse().unwrap())
    );
    // An ack without forwardMultiplexAckParameters gets them.
    let mut bare = samples::olc_ack();
    bare.forward_multiplex_ack_parameters = None;
    assert!(bare.set_media_channel(Some(samples::addr([1, 2, 3, 4], 5))));
    assert_eq!(
        bare.media_channel().and_then(TransportAddress::ipv4),
        Some("1.2.3.4:5".parse().unwrap())
    );
}

/// Hand-built PDUs of alternatives that are not typed survive decode + encode unchanged.
#[test]
fn untyped_alternatives_are_relayed_unchanged() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // request, multiplexEntrySend (root 6 of 11): 0 00 0 0110 = 06, then octets we
        // cannot decode but keep (the value and its padding).
        (
            "root request",
            vec![0x06, 0x5a, 0xa5, 0xff],
            "multiplexEntrySend",
        ),
        // response, requestModeAck (root 14 of 19): 0 01 0 01110 + tail = 27 | 0...
        ("root response", vec![0x27, 0x12, 0x34], "requestModeAck"),
        // command, miscellaneousCommand (root 6 of 7): 0 10 0 110 + tail = 4c...
        (
            "root command",
            vec![0x4c, 0x01, 0x02],
            "miscellaneousCommand",
        ),
        // indication, h223SkewIndication (root 11 of 14): 0 11 0 1011 = 6b, + tail.
        (
            "root indication",
            vec![0x6b, 0x80, 0x00, 0x01],
            "h223SkewIndication",
        ),
        // request, genericRequest (extension 4): 0 00 1 0 000100 + padding = 10 80, then
        // the open type: length 2, contents.
        (
            "ext request",
            vec![0x10, 0x80, 0x02, 0xab, 0xcd],
            "genericRequest",
        ),
        // indication, genericIndication (extension 9): 0 11 1 0 001001 = 71 20, open type.
        (
            "ext indication",
            vec![0x71, 0x20, 0x01, 0x00],
            "genericIndication",
        ),
        // An extension alternative of MultimediaSystemControlMessage itself: 1 0 000011 =
        // 83, then the open type.
        ("ext message", vec![0x83, 0x01, 0x55], "unknown"),
    ];
    for (name, bytes, alt) in cases {
        let m = MultimediaSystemControlMessage::decode(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.encode(), bytes, "{name}: {m:?}");
        assert_eq!(m.name(), alt, "{name}");
    }
    // A TCS whose capability is a video one (receiveVideoCapability, root 1 of
    // Capability) cannot be typed: it comes back raw, unchanged. Built from a TCS with one
    // audio entry by turning the Capability index 4 (ext bit 0, then 0100) into 1 (0001).
    let mut tcs = TerminalCapabilitySet::new(3);
    tcs.capability_table = Some(vec![CapabilityTableEntry {
        capability_table_entry_number: 1,
        capability: Some(Capability::ReceiveAudio(AudioCapability::G711Ulaw64k(20))),
    }]);
    let bytes = MultimediaSystemControlMessage::from(tcs).encode();
    let get = |b: &[u8], j: usize| b[j / 8] & (0x80 >> (j % 8)) != 0;
    let mut patched = None;
    for i in 0..bytes.len() * 8 - 5 {
        let pat = [false, false, true, false, false];
        if (0..5).all(|k| get(&bytes, i + k) == pat[k]) {
            let mut b = bytes.clone();
            b[(i + 2) / 8] &= !(0x80 >> ((i + 2) % 8));
            b[(i + 4) / 8] |= 0x80 >> ((i + 4) % 8);
            // The first match in the capability (not in the header) gives a raw TCS.
            if matches!(
                MultimediaSystemControlMessage::decode(&b),
                Ok(MultimediaSystemControlMessage::Request(
                    RequestMessage::Raw(RawRoot { index: 2, .. })
                ))
            ) {
                patched = Some(b);
                break;
            }
        }
    }
    let patched = patched.expect("a video capability makes the TCS raw");
    let m = MultimediaSystemControlMessage::decode(&patched).unwrap();
    assert_eq!(m.name(), "terminalCapabilitySet");
    assert_eq!(m.encode(), patched);
}

/// Unknown extension alternatives and additions in typed messages survive.
#[test]
fn unknown_extensions_inside_typed_messages_survive() {
    use exp_h460::per::UnknownAlternative;
    let u = |index| UnknownAlternative {
        index,
        encoding: vec![0x12, 0x34],
    };
    let mut tcs = samples::tcs();
    tcs.capability_table = Some(vec![
        CapabilityTableEntry {
            capability_table_entry_number: 1,
            capability: Some(Capability::Other(u(3))),
        },
        CapabilityTableEntry {
            capability_table_entry_number: 2,
            capability: Some(Capability::ReceiveAudio(AudioCapability::Other(u(6)))),
        },
    ]);
    tcs.multiplex_capability = Some(MultiplexCapability::Other(u(1)));
    let mut olc = samples::olc();
    olc.forward_logical_channel_parameters.data_type = DataType::Other(u(1));
    if let Some(p) = olc.h2250_mut() {
        p.media_channel = Some(TransportAddress::Other(u(0)));
        p.media_packetization = Some(MediaPacketization::Other(u(2)));
    }
    let mut ack = samples::olc_ack();
    ack.forward_multiplex_ack_parameters = Some(ForwardMultiplexAckParameters::Other(u(0)));
    ack.dtls_security_capability = Some(exp_h460::per::RawValue(vec![0x80]));
    let msgs: Vec<MultimediaSystemControlMessage> = vec![
        tcs.into(),
        olc.into(),
        ack.into(),
        UserInputIndication::Other(u(0)).into(),
        EndSessionCommand::Other(u(5)).into(),
        OpenLogicalChannelReject {
            forward_logical_channel_number: 1,
            cause: OlcRejectCause::Other(u(20)),
            generic_information: None,
        }
        .into(),
    ];
    for m in msgs {
        let b = m.encode_checked().unwrap();
        let back = MultimediaSystemControlMessage::decode(&b).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.encode(), b);
    }
}

#[test]
fn constraint_violations_are_reported() {
    let bad: Vec<MultimediaSystemControlMessage> = vec![
        MasterSlaveDetermination {
            terminal_type: 1,
            status_determination_number: 1 << 24,
        }
        .into(),
        CloseLogicalChannelAck {
            forward_logical_channel_number: 0,
        }
        .into(),
        UserInputIndication::Signal(Signal::digit(b'x', None)).into(),
        CloseLogicalChannel {
            forward_logical_channel_number: 1,
            source: ClcSource::User,
            reason: Some(CloseReason::Normal),
        }
        .into(),
        TerminalCapabilitySet {
            capability_table: Some(vec![]),
            ..TerminalCapabilitySet::new(0)
        }
        .into(),
    ];
    for m in bad {
        assert!(m.encode_checked().is_err(), "{m:?}");
        // The adjusted encoding is still produced, without panicking.
        let _ = MultimediaSystemControlMessage::decode(&m.encode());
    }
}

#[test]
fn every_truncation_fails_cleanly() {
    for (name, msg) in all() {
        let bytes = msg.encode();
        for n in 0..bytes.len() {
            // Must not panic; a prefix may happen to decode (e.g. to a raw root), but then
            // it re-encodes to itself.
            if let Ok(m) = MultimediaSystemControlMessage::decode(&bytes[..n]) {
                let _ = m.encode();
                if n == 0 {
                    panic!("{name}: empty input decoded");
                }
            }
        }
    }
}

#[test]
fn bit_flips_never_panic_and_decodes_re_encode() {
    for (name, msg) in all() {
        let bytes = msg.encode();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 0x80 >> (i % 8);
            if let Ok(m) = MultimediaSystemControlMessage::decode(&b) {
                // Whatever decoded re-encodes, and that encoding is stable (an empty
                // addition kept raw re-encodes as one zero octet, so values may differ).
                let again = m.encode();
                let m2 = MultimediaSystemControlMessage::decode(&again)
                    .unwrap_or_else(|e| panic!("{name}: bit {i}: re-encoding fails: {e}"));
                assert_eq!(m2.encode(), again, "{name}: bit {i}");
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    // xorshift, fixed seed.
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut decoded = 0;
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Ok(m) = MultimediaSystemControlMessage::decode(&b) {
            decoded += 1;
            let _ = m.encode();
        }
        let _ = per::decode::<TraversalParameters>(&b);
    }
    assert!(decoded > 0);
}

#[test]
fn absurd_lengths_are_refused() {
    // A TCS whose genericInformation addition claims 16000 entries in a short input:
    // request, terminalCapabilitySet: 0 00 0 0010 = 02; TCS preamble 1 (ext) 000, padded =
    // 80; sequenceNumber 00; the OID 0.0.8.245.0.13 (length 6); the additions: bitmap
    // length 1 (0 000000) and bitmap 1 = 01; the open type: length 3, then a list count
    // of 0xbe80 & 0x3fff = 16000 (two-octet length) and one more octet.
    let b = [
        0x02, 0x80, 0x00, 0x06, 0x00, 0x08, 0x81, 0x75, 0x00, 0x0d, 0x01, 0x03, 0xbe, 0x80, 0x00,
    ];
    match MultimediaSystemControlMessage::decode(&b) {
        Err(Error::TooLong { .. }) | Err(Error::Truncated { .. }) => {}
        other => panic!("{other:?}"),
    }
    // An octet string (alphanumeric) of 10000 octets announced in 5.
    // indication, userInput: 0 11 0 1101; UserInputIndication: 0 1 (alphanumeric).
    // -> 0110 1101 | 01 pad = 6d 40; length 10000 = 0xa7 0x10.
    let b = [0x6d, 0x40, 0xa7, 0x10, 0x41];
    assert!(MultimediaSystemControlMessage::decode(&b).is_err());
    // A fragmented length (0xc1...) is refused.
    let b = [0x6d, 0x40, 0xc1, 0x00];
    assert_eq!(
        MultimediaSystemControlMessage::decode(&b),
        Err(Error::Fragmented)
    );
    // Deeply nested genericParameter values.
    let mut v = ParameterValue::Logical;
    for _ in 0..40 {
        v = ParameterValue::GenericParameter(vec![GenericParameter::standard(1, v)]);
    }
    let m: MultimediaSystemControlMessage =
        EndSessionCommand::GenericInformation(vec![GenericMessage {
            message_identifier: CapabilityIdentifier::Uuid([0; 16]),
            sub_message_identifier: None,
            message_content: Some(vec![GenericParameter::standard(0, v)]),
        }])
        .into();
    assert_eq!(
        MultimediaSystemControlMessage::decode(&m.encode()),
        Err(Error::TooDeep)
    );
}
