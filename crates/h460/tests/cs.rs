//! H.225.0 call-signalling codec: round trips of every message body, hand-derived
//! encodings, the hand-built minimal UUIEs of the framing tests, an older peer's encoding,
//! the Q.931 glue, and hostile input (truncations, bit flips, random bytes, absurd lengths).

#[path = "support/cs_samples.rs"]
mod samples;

use exp_h460::cs::*;
use exp_h460::h225::*;
use exp_h460::per::{self, Error};
use exp_h460::q931::{CallRef, Message, MessageType};

use samples::{call_id, CALL_GUID, CONF_GUID, H245_MSD};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_message_body_round_trips() {
    for (name, kind, info) in samples::all() {
        let bytes = info
            .encode_checked()
            .unwrap_or_else(|e| panic!("{name}: does not encode cleanly: {e}"));
        let back = H323UserInformation::decode(&bytes)
            .unwrap_or_else(|e| panic!("{name}: does not decode: {e} ({})", hex(&bytes)));
        assert_eq!(back, info, "{name}");
        assert_eq!(back.encode(), bytes, "{name}: re-encoding differs");
        assert!(body_matches(kind, back.body()), "{name}");
        assert_eq!(back.body().message_type(), Some(kind), "{name}");
    }
}

#[test]
fn every_release_complete_reason_round_trips() {
    for reason in samples::release_reasons() {
        let info = samples::release_complete(reason.clone());
        let bytes = info.encode_checked().expect("encodes");
        let back = H323UserInformation::decode(&bytes).expect("decodes");
        assert_eq!(back, info, "{reason:?}");
        assert_eq!(back.encode(), bytes, "{reason:?}");
    }
}

#[test]
fn every_facility_reason_round_trips() {
    use FacilityReason::*;
    for reason in [
        RouteCallToGatekeeper,
        CallForwarded,
        RouteCallToMc,
        UndefinedReason,
        ConferenceListChoice,
        StartH245,
        NoH245,
        NewTokens,
        FeatureSetUpdate,
        ForwardedElements,
        TransportedInformation,
    ] {
        let info = H323UserInformation::new(FacilityUuie::new(call_id(), reason.clone()).into());
        let bytes = info.encode();
        assert_eq!(H323UserInformation::decode(&bytes), Ok(info), "{reason:?}");
    }
}

#[test]
fn accessors() {
    let setup = samples::setup(true);
    assert_eq!(setup.call_identifier(), Some(&call_id()));
    assert_eq!(setup.h245_control(), vec![H245_MSD.to_vec(); 3].as_slice());
    assert_eq!(setup.fast_start().map(<[_]>::len), Some(2));
    assert_eq!(
        setup.h245_address().and_then(TransportAddress::ipv4),
        Some("192.0.2.20:30000".parse().unwrap())
    );
    let mut rc = samples::release_complete(ReleaseCompleteReason::InConf);
    assert!(rc.h245_control().is_empty());
    assert_eq!(rc.fast_start(), None);
    assert_eq!(rc.h245_address(), None);
    rc.set_h245_control(vec![H245_MSD.to_vec()]);
    assert_eq!(rc.h245_control().len(), 1);
    rc.set_h245_control(Vec::new());
    assert_eq!(rc.h323_uu_pdu.h245_control, None);
    for (name, _, info) in samples::all() {
        let want = (name != "empty").then_some(CALL_GUID);
        assert_eq!(info.call_identifier().map(|c| c.guid), want, "{name}");
    }
    let status = H323UserInformation::new(MessageBody::Status(CallStatusUuie::new(
        CallIdentifier::default(),
    )));
    assert_eq!(
        status.call_identifier(),
        None,
        "all-zero guid is no identifier"
    );
}

/// The H.460.18 Facility (reason undefinedReason, the callIdentifier, h245Tunnelling TRUE),
/// derived bit by bit from X.691 and H.225.0 v7:
///
/// ```text
/// H323-UserInformation   0 (no additions) 0 (user-data absent)
/// H323-UU-PDU            1 (additions present: h245Tunnelling is mandatory)
///                        0 (nonStandardData absent)
/// h323-message-body      0 (root) 110 (facility: index 6 of 7, 3 bits)
///                        = 0010 0110                                        -> 26
/// Facility-UUIE          1 (additions present: callIdentifier is mandatory)
///                        000 (alternativeAddress, alternativeAliasAddress,
///                        conferenceID absent), pad                          -> 80
/// protocolIdentifier     length 6, 0.0.8.2250.0.7                           -> 06 00 08 91 4a 00 07
/// reason                 0 (root) 11 (undefinedReason: index 3 of 4)
/// additions              0 001111 (bitmap of 16: the additions of Facility-UUIE v7)
///                        1 (callIdentifier) 0000000 1 1 (multipleCalls,
///                        maintainConnection: mandatory) 000000
///                        = 0110 0011 | 1110 0000 | 0011 0000 | 00 (pad)    -> 63 e0 30 00
/// callIdentifier         open type of 17: 0 (extension bit, pad), the guid  -> 11 00 <guid>
/// multipleCalls          open type of 1: BOOLEAN false, padded              -> 01 00
/// maintainConnection     the same                                           -> 01 00
/// H323-UU-PDU additions  0 001000 (bitmap of 9) 0 1 0000000 (h245Tunnelling)
///                        = 0001 0000 | 1000 0000                            -> 10 80
/// h245Tunnelling         open type of 1: TRUE, padded                       -> 01 80
/// ```
#[test]
fn h460_18_facility_matches_the_hand_derived_encoding() {
    let mut info = samples::facility_h460_18();
    info.h323_uu_pdu.h245_tunnelling = true;
    let mut want = vec![
        0x26, 0x80, 0x06, 0x00, 0x08, 0x91, 0x4a, 0x00, 0x07, 0x63, 0xe0, 0x30, 0x00, 0x11, 0x00,
    ];
    want.extend_from_slice(&CALL_GUID);
    want.extend_from_slice(&[0x01, 0x00, 0x01, 0x00, 0x10, 0x80, 0x01, 0x80]);
    assert_eq!(hex(&info.encode_checked().unwrap()), hex(&want));
    assert_eq!(H323UserInformation::decode(&want), Ok(info));
}

/// A Release Complete (reason inConf) tunnelling one H.245 message:
///
/// ```text
/// H323-UserInformation   0 0
/// H323-UU-PDU            1 0
/// h323-message-body      0 101 (releaseComplete: index 5 of 7)
///                        = 0010 0101                                       -> 25
/// ReleaseComplete-UUIE   1 (additions present: callIdentifier is mandatory)
///                        1 (reason present), pad                           -> c0
/// protocolIdentifier                                                       -> 06 00 08 91 4a 00 07
/// reason                 0 (root) 1010 (inConf: index 10 of 12, 4 bits)
/// additions              0 001010 (bitmap of 11) 1 (callIdentifier) 0000000000
///                        = 0101 0000 | 1010 1000 | 0000 000 (pad)          -> 50 a8 00
/// callIdentifier                                                           -> 11 00 <guid>
/// H323-UU-PDU additions  0 001000 0 1 1 000000 (h245Tunnelling, h245Control)
///                        = 0001 0000 | 1100 0000                           -> 10 c0
/// h245Tunnelling         TRUE                                              -> 01 80
/// h245Control            open type of 8: SEQUENCE OF count 1, OCTET STRING
///                        length 6, the MasterSlaveDetermination            -> 08 01 06 <msd>
/// ```
#[test]
fn tunnelling_release_complete_matches_the_hand_derived_encoding() {
    let mut info = H323UserInformation::new(
        ReleaseCompleteUuie::new(call_id(), Some(ReleaseCompleteReason::InConf)).into(),
    );
    info.h323_uu_pdu.h245_tunnelling = true;
    info.set_h245_control(vec![H245_MSD.to_vec()]);
    let mut want = vec![
        0x25, 0xc0, 0x06, 0x00, 0x08, 0x91, 0x4a, 0x00, 0x07, 0x50, 0xa8, 0x00, 0x11, 0x00,
    ];
    want.extend_from_slice(&CALL_GUID);
    want.extend_from_slice(&[0x10, 0xc0, 0x01, 0x80, 0x08, 0x01, 0x06]);
    want.extend_from_slice(&H245_MSD);
    assert_eq!(hex(&info.encode_checked().unwrap()), hex(&want));
    assert_eq!(H323UserInformation::decode(&want), Ok(info));
}

/// The hand-built minimal UUIEs of `framing_tshark.rs` (H.225.0 version 4, no extension
/// additions at all: what an older peer sends).
#[path = "support/uuie_v4.rs"]
mod framing_uuie;

#[test]
fn the_framing_tests_minimal_uuies_decode_as_an_older_peers_messages() {
    use framing_uuie as f;
    let v4 = ProtocolIdentifier::h225(4);
    let conf = f::GUID;
    let id = CallIdentifier { guid: f::GUID };
    let none = CallIdentifier::default();

    let mut setup = SetupUuie::new(conf, none);
    setup.protocol_identifier = v4.clone();
    setup.source_info = EndpointType::default();
    let cp = CallProceedingUuie {
        protocol_identifier: v4.clone(),
        ..Default::default()
    };
    let connect = ConnectUuie {
        protocol_identifier: v4.clone(),
        conference_id: conf,
        ..Default::default()
    };
    let alerting = AlertingUuie {
        protocol_identifier: v4.clone(),
        ..Default::default()
    };
    let information = InformationUuie {
        protocol_identifier: v4.clone(),
        ..Default::default()
    };
    let rc = ReleaseCompleteUuie {
        protocol_identifier: v4.clone(),
        ..Default::default()
    };
    let mut facility = FacilityUuie::new(none, FacilityReason::UndefinedReason);
    facility.protocol_identifier = v4.clone();
    let progress = ProgressUuie {
        protocol_identifier: v4.clone(),
        call_identifier: id,
        ..Default::default()
    };
    let status = CallStatusUuie {
        protocol_identifier: v4.clone(),
        call_identifier: id,
        ..Default::default()
    };
    let notify = NotifyUuie {
        protocol_identifier: v4.clone(),
        call_identifier: id,
        ..Default::default()
    };
    let cases: Vec<(&str, Vec<u8>, MessageBody)> = vec![
        ("setup", f::setup(), setup.into()),
        ("callProceeding", f::call_proceeding(), cp.into()),
        ("connect", f::connect(), connect.into()),
        ("alerting", f::alerting(), alerting.into()),
        ("information", f::information(), information.into()),
        ("releaseComplete", f::release_complete(), rc.into()),
        ("facility", f::facility(), facility.into()),
        ("progress", f::progress(), progress.into()),
        ("status", f::status(), MessageBody::Status(status.clone())),
        (
            "statusInquiry",
            f::status_inquiry(),
            MessageBody::StatusInquiry(status.clone()),
        ),
        (
            "setupAcknowledge",
            f::setup_ack(),
            MessageBody::SetupAcknowledge(status),
        ),
        ("notify", f::notify(), notify.into()),
    ];
    for (name, bytes, body) in cases {
        let info = H323UserInformation::decode(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e} ({})", hex(&bytes)));
        assert_eq!(info, H323UserInformation::new(body), "{name}");
        assert_eq!(info.body().name(), name);
        // The mandatory additions (h245Tunnelling, callIdentifier...) read as false/zero;
        // only the messages that have callIdentifier in their root report one.
        assert!(!info.h323_uu_pdu.h245_tunnelling, "{name}");
        let has_root_id = [
            "progress",
            "status",
            "statusInquiry",
            "setupAcknowledge",
            "notify",
        ]
        .contains(&name);
        assert_eq!(info.call_identifier().is_some(), has_root_id, "{name}");
        // What we encode for it decodes to the same value (now with the additions sent).
        assert_eq!(
            H323UserInformation::decode(&info.encode()),
            Ok(info),
            "{name}"
        );
    }
}

#[test]
fn additions_of_a_newer_peer_are_skipped() {
    // CallStatusUuie (Status-UUIE) has no additions in v7; a newer peer's one addition
    // (bitmap of 1, one open type) is skipped.
    let mut w = per::Writer::new();
    w.preamble(Some(true), &[false, false]);
    ProtocolIdentifier::default().encode_to(&mut w);
    call_id().encode_to(&mut w);
    w.normally_small_length(1);
    w.bit(true);
    w.open_bytes(&[0xab, 0xcd], &[]);
    let (status, _) = w.into_complete();
    let mut outer = per::Writer::new();
    outer.preamble(Some(false), &[false]);
    outer.preamble(Some(false), &[false]);
    outer.choice_ext(2, |w| w.octets(&status));
    let (bytes, _) = outer.into_complete();
    let info = H323UserInformation::decode(&bytes).expect("decodes");
    assert_eq!(
        info,
        H323UserInformation::new(MessageBody::Status(CallStatusUuie::new(call_id())))
    );
}

use exp_h460::per::Per;

#[test]
fn q931_glue() {
    for (name, kind, info) in samples::all() {
        let call_ref = CallRef::new(0x1234, false);
        let msg = message(kind, call_ref, &info);
        let wire = msg.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = Message::decode(&wire).expect("Q.931 decodes");
        assert_eq!(back.kind, kind);
        assert_eq!(back.user_user(), Some(info.encode().as_slice()));
        let got = user_information(&back).expect("UUIE decodes");
        assert_eq!(got, info, "{name}");
        assert!(body_matches(back.kind, got.body()), "{name}");
    }
    let bare = Message::new(MessageType::Status, CallRef::new(1, true));
    assert_eq!(user_information(&bare), Err(Error::MissingUserUser));
    // Bodies against message types.
    let setup = samples::setup(true);
    assert!(body_matches(MessageType::Setup, setup.body()));
    assert!(!body_matches(MessageType::Connect, setup.body()));
    assert!(!body_matches(MessageType::Facility, setup.body()));
    assert!(body_matches(MessageType::Facility, &MessageBody::Empty));
    assert!(!body_matches(MessageType::Setup, &MessageBody::Empty));
    assert!(body_matches(MessageType::Other(0x20), setup.body()));
    let unknown = MessageBody::Other(exp_h460::per::UnknownAlternative {
        index: 9,
        encoding: vec![0],
    });
    assert!(body_matches(MessageType::Setup, &unknown));
    // An unknown body alternative round trips.
    let info = H323UserInformation::new(unknown);
    assert_eq!(H323UserInformation::decode(&info.encode()), Ok(info));
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    for (name, _, info) in samples::all() {
        let bytes = info.encode();
        for n in 0..bytes.len() {
            // A cut encoding is refused or decodes to something; it never panics.
            let _ = H323UserInformation::decode(&bytes[..n]);
        }
        assert!(H323UserInformation::decode(&bytes[..1]).is_err(), "{name}");
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 0x80 >> (bit % 8);
            if let Ok(v) = H323UserInformation::decode(&b) {
                // Whatever decodes also encodes.
                let _ = v.encode();
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let samples: Vec<Vec<u8>> = samples::all().iter().map(|(_, _, i)| i.encode()).collect();
    for i in 0..20_000 {
        let len = (rng.next() % 300) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 {
            // Keep a valid prefix so the decoder gets deep into a message.
            let s = &samples[i / 2 % samples.len()];
            let keep = (rng.next() as usize) % s.len();
            b = [&s[..keep], &b[..]].concat();
        }
        if let Ok(v) = H323UserInformation::decode(&b) {
            let _ = v.encode();
        }
        let msg = Message::new(MessageType::Setup, CallRef::new(1, false)).with_user_user(b);
        let _ = user_information(&msg);
    }
}

/// An h245Control whose count says 16383 items in an open type of 2 octets, and other
/// lengths larger than the input, are refused before anything is allocated for them.
#[test]
fn absurd_lengths_are_refused() {
    let mut info = H323UserInformation::new(
        ReleaseCompleteUuie::new(call_id(), Some(ReleaseCompleteReason::InConf)).into(),
    );
    info.h323_uu_pdu.h245_tunnelling = true;
    info.set_h245_control(vec![H245_MSD.to_vec()]);
    let good = info.encode();
    // The h245Control open type is the last 9 octets: 08 01 06 <msd>.
    let at = good.len() - 9;
    assert_eq!(&good[at..at + 3], &[0x08, 0x01, 0x06]);

    // Count 16383 (two-octet length 0xbf 0xff) with nothing after it.
    let mut b = good[..at].to_vec();
    b.extend_from_slice(&[0x02, 0xbf, 0xff]);
    assert_eq!(
        H323UserInformation::decode(&b),
        Err(Error::TooLong {
            what: "h245Control",
            len: 16383
        })
    );
    // One item of 127 octets where 6 follow.
    let mut b = good.clone();
    b[at + 2] = 0x7f;
    assert!(matches!(
        H323UserInformation::decode(&b),
        Err(Error::TooLong { .. }) | Err(Error::Truncated { .. })
    ));
    // A fragmented (16K+) length.
    let mut b = good[..at].to_vec();
    b.extend_from_slice(&[0x02, 0xc1, 0x00]);
    assert_eq!(H323UserInformation::decode(&b), Err(Error::Fragmented));
    // The open type itself longer than the input.
    let mut b = good[..at].to_vec();
    b.extend_from_slice(&[0x80 | 0x3f, 0xff, 0x01]);
    assert!(H323UserInformation::decode(&b).is_err());
    // A root index of 7 (of 7 alternatives) is no message body: 0 0 0 0, 0 111.
    assert_eq!(
        H323UserInformation::decode(&[0x07, 0x00]),
        Err(Error::OutOfRange("choice index"))
    );
}

#[test]
fn constraint_violations_are_reported() {
    let mut s = SetupUuie::new(CONF_GUID, call_id());
    s.hop_count = Some(0);
    let info = H323UserInformation::new(s.into());
    assert_eq!(info.encode_checked(), Err(Error::OutOfRange("hopCount")));
    let mut info = H323UserInformation::new(MessageBody::Empty);
    info.user_data = Some(UserData {
        protocol_discriminator: 5,
        user_information: Vec::new(),
    });
    assert_eq!(
        info.encode_checked(),
        Err(Error::OutOfRange("user-information"))
    );
}
