//! RAS messages encoded by another H.323 implementation, decoded with our codec.
//!
//! The octets are the test vectors published with TrueConf Server's H.323 library
//! (`common/tests/UnitTestH323Lib/UnitTestH323Lib.cpp` in its public repository), with the
//! values that project's tests expect from them. They come from an H.225.0 version 4
//! encoder, so they also check the handling of an older peer's extension additions.

use exp_h460::h225::*;
use exp_h460::ras::*;
use exp_h460::tokens::CryptoH323Token;

fn bytes(parts: &[&str]) -> Vec<u8> {
    let h: String = parts.concat();
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

const REGISTRATION_REQUEST: &[&str] = &[
    "0e803e0a060008914a00040001000a8201b706b801000a8201b706b722c0b800",
    "00000f54727565436f6e66204761746577617902342e33000240050073006400",
    "6600730064006601004446b80000000f54727565436f6e662047617465776179",
    "02342e332eab000a0340012b54020405007300640066007300640066c05b1a98",
    "9e082a864886f70d02050080801b97e8cd68419800faf731fbfddc0423001044",
    "4c5b1a989e082a864886f70d02050080800f52c8221fc01d5cd1b2e43f1d3188",
    "1a01000100010001000100",
];

const REGISTRATION_REJECT: &[&str] = &[
    "14803e0a060008914a00048101001c00540072007500650043006f006e006600",
    "20005300650072007600650072",
];

const REGISTRATION_CONFIRM: &[&str] = &[
    "12c0c231060008914a000401000a8201b206b801400000311c00540072007500",
    "650043006f006e006600200053006500720076006500723e0038004100310045",
    "0044003500440036004200390035003300440032004100430033003500320043",
    "003000300030004500390038004100410045003500330035208a800340012b01",
    "0001000100",
];

const UNREGISTRATION_REQUEST: &[&str] = &[
    "1a40c23a01000a82012906b83e00380041003100450044003500440036004200",
    "3900350033004400320041004300330035003200430030003000300045003900",
    "380041004100450035003300351480001f1c00540072007500650043006f006e",
    "00660020005300650072007600650072",
];

const UNREGISTRATION_CONFIRM: &[&str] = &["1cc23a"];

const UNREGISTRATION_REJECT: &[&str] = &["20090800"];

fn v4() -> ProtocolIdentifier {
    ProtocolIdentifier::h225(4)
}

/// Decodes `parts`, and checks that our encoder gives the same octets back. The other
/// encoder's RRQ and RCF know fewer extension additions than version 7 (their bitmaps have
/// 24 and 17 bits, ours 27 and 20), so for those our encoding differs in the bitmap: it
/// must decode to the same value.
fn decode(parts: &[&str]) -> RasMessage {
    let b = bytes(parts);
    let m = RasMessage::decode(&b).unwrap_or_else(|e| panic!("does not decode: {e}"));
    let ours = m.encode();
    if !matches!(
        m,
        RasMessage::RegistrationConfirm(_) | RasMessage::RegistrationRequest(_)
    ) {
        assert_eq!(ours, b, "re-encoding differs");
    }
    assert_eq!(RasMessage::decode(&ours).as_ref(), Ok(&m));
    m
}

#[test]
fn registration_request_from_another_encoder() {
    let RasMessage::RegistrationRequest(rrq) = decode(REGISTRATION_REQUEST) else {
        panic!("not an RRQ");
    };
    assert_eq!(rrq.request_seq_num, 15883);
    assert_eq!(rrq.protocol_identifier, v4());
    assert_eq!(rrq.protocol_identifier.version(), Some(4));
    assert!(!rrq.discovery_complete);
    assert_eq!(
        rrq.call_signal_address,
        [TransportAddress::Ip {
            ip: [10, 130, 1, 183],
            port: 1720
        }]
    );
    assert_eq!(
        rrq.ras_address,
        [TransportAddress::Ip {
            ip: [10, 130, 1, 183],
            port: 1719
        }]
    );
    let vendor = rrq.terminal_type.vendor.as_ref().unwrap();
    assert_eq!(vendor.product_id.as_deref(), Some(&b"TrueConf Gateway"[..]));
    assert_eq!(vendor.version_id.as_deref(), Some(&b"4.3"[..]));
    assert_eq!(
        vendor.vendor,
        H221NonStandard {
            t35_country_code: 184,
            t35_extension: 0,
            manufacturer_code: 0
        }
    );
    assert!(!rrq.terminal_type.mc && !rrq.terminal_type.undefined_node);
    let aliases = [
        AliasAddress::H323Id("sdfsdf".into()),
        AliasAddress::DialledDigits("111".into()),
    ];
    assert_eq!(rrq.terminal_alias.as_deref(), Some(&aliases[..]));
    assert_eq!(rrq.time_to_live, Some(300));
    assert!(!rrq.keep_alive && !rrq.will_supply_uuies && !rrq.maintain_connection);
    assert!(rrq.restart);
    let hashes = [
        "1b97e8cd68419800faf731fbfddc0423",
        "0f52c8221fc01d5cd1b2e43f1d31881a",
    ];
    let tokens = rrq.crypto_tokens.as_ref().unwrap();
    assert_eq!(tokens.len(), 2);
    for (i, t) in tokens.iter().enumerate() {
        let CryptoH323Token::EpPwdHash {
            alias,
            time_stamp,
            token,
        } = t
        else {
            panic!("token {i} is not cryptoEPPwdHash");
        };
        assert_eq!(alias, &aliases[i]);
        assert_eq!(*time_stamp, 1_528_469_663);
        assert_eq!(token.algorithm_oid.to_string(), "1.2.840.113549.2.5");
        assert_eq!(token.hash.bytes, bytes(&[hashes[i]]));
        assert_eq!(token.hash.len, 128);
    }
}

#[test]
fn registration_reject_from_another_encoder() {
    let RasMessage::RegistrationReject(rrj) = decode(REGISTRATION_REJECT) else {
        panic!("not an RRJ");
    };
    assert_eq!(rrj.request_seq_num, 15883);
    assert_eq!(rrj.protocol_identifier, v4());
    assert_eq!(
        rrj.reject_reason,
        RegistrationRejectReason::ResourceUnavailable
    );
    assert_eq!(
        rrj.gatekeeper_identifier.as_deref(),
        Some("TrueConf Server")
    );
}

#[test]
fn registration_confirm_from_another_encoder() {
    let RasMessage::RegistrationConfirm(rcf) = decode(REGISTRATION_CONFIRM) else {
        panic!("not an RCF");
    };
    assert_eq!(rcf.request_seq_num, 49714);
    assert_eq!(rcf.protocol_identifier, v4());
    assert_eq!(
        rcf.call_signal_address,
        [TransportAddress::Ip {
            ip: [10, 130, 1, 178],
            port: 1720
        }]
    );
    assert_eq!(
        rcf.terminal_alias.as_deref(),
        Some(&[AliasAddress::H323Id("1".into())][..])
    );
    assert_eq!(
        rcf.gatekeeper_identifier.as_deref(),
        Some("TrueConf Server")
    );
    assert_eq!(rcf.endpoint_identifier, "8A1ED5D6B953D2AC352C000E98AAE535");
    assert_eq!(rcf.time_to_live, Some(300));
    assert!(!rcf.will_respond_to_irr && !rcf.maintain_connection);
}

#[test]
fn unregistration_messages_from_another_encoder() {
    let RasMessage::UnregistrationRequest(urq) = decode(UNREGISTRATION_REQUEST) else {
        panic!("not a URQ");
    };
    assert_eq!(urq.request_seq_num, 49723);
    assert_eq!(
        urq.call_signal_address,
        [TransportAddress::Ip {
            ip: [10, 130, 1, 41],
            port: 1720
        }]
    );
    assert_eq!(
        urq.gatekeeper_identifier.as_deref(),
        Some("TrueConf Server")
    );
    assert_eq!(
        urq.endpoint_identifier.as_deref(),
        Some("8A1ED5D6B953D2AC352C000E98AAE535")
    );
    let RasMessage::UnregistrationConfirm(ucf) = decode(UNREGISTRATION_CONFIRM) else {
        panic!("not a UCF");
    };
    assert_eq!(ucf.request_seq_num, 49723);
    let RasMessage::UnregistrationReject(urj) = decode(UNREGISTRATION_REJECT) else {
        panic!("not a URJ");
    };
    assert_eq!(urj.request_seq_num, 2313);
    assert_eq!(urj.reject_reason, UnregRejectReason::NotCurrentlyRegistered);
}
