//! Our TPKT (RFC 1006) and Q.931 framing checked against Wireshark's TPKT, Q.931 and H.225.0
//! dissectors: every message type we build, on the standard call-signalling port 1720 and on
//! the H.460.18 signalling port of exp-e (2777) with a decode-as rule, must decode without a
//! malformed-packet or error-level expert entry, with the message type and call reference we
//! sent. Skipped, saying so, where `tshark` is missing.
//!
//! The User-user IE of each message holds a minimal H323-UserInformation for its message type,
//! derived by hand below (aligned PER, ITU-T X.691, of the H323-MESSAGES module of H.225.0),
//! so the H.225.0 dissector decodes it in full instead of flagging it.
//!
//! Set `EXP_TSHARK_DUMP=1` to print the decodes.

#[path = "support/tshark.rs"]
mod tshark;

use exp_h460::q931::{
    cause_value, location, CallRef, Cause, Ie, Message, MessageType, PartyNumber, Progress,
    BEARER_H323,
};
use exp_h460::tpkt;
use tshark::Packet;

/// Minimal H323-UserInformation values, one per h323-message-body alternative we use.
///
/// Common parts, with bits written most significant first:
/// - `H323-UserInformation ::= SEQUENCE { h323-uu-pdu, user-data OPTIONAL, ... }`: extension
///   bit 0, presence bit of user-data 0.
/// - `H323-UU-PDU ::= SEQUENCE { h323-message-body, nonStandardData OPTIONAL, ..., ... }`:
///   extension bit 0 (no h245Tunneling etc.), presence bit of nonStandardData 0.
/// - `h323-message-body CHOICE { setup, callProceeding, connect, alerting, information,
///   releaseComplete, facility, ..., progress, empty, status, statusInquiry,
///   setupAcknowledge, notify }`: extension bit, then for the 7 root alternatives a 3-bit
///   index (X.691 §23.6); for the extension alternatives a normally small whole number
///   (`0` + 6 bits, §11.6) and the value as an open type (octet-aligned length, §11.2).
/// - `protocolIdentifier` is the OBJECT IDENTIFIER 0.0.8.2250.0.4 (H.225.0 version 4): an
///   octet-aligned length 6 and the X.690 contents `00 08 91 4A 00 04` (arcs 0.0 → 0x00, 8,
///   2250 = 17·128 + 74 → 0x91 0x4A, 0, 4) (X.691 §24).
/// - `EndpointType ::= SEQUENCE { nonStandardData, vendor, gatekeeper, gateway, mcu,
///   terminal (all OPTIONAL), mc BOOLEAN, undefinedNode BOOLEAN, ... }`: extension bit 0, six
///   presence bits 0, mc 0, undefinedNode 0: 9 zero bits.
/// - A `ConferenceIdentifier` or a `CallIdentifier`'s `guid` is an OCTET STRING (SIZE(16)):
///   16 octets, octet-aligned, no length (X.691 §17.8); `CallIdentifier ::= SEQUENCE { guid,
///   ... }` adds an extension bit 0 in front.
mod uuie {
    const OID: [u8; 7] = [0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04];
    const GUID: [u8; 16] = [
        0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD,
        0xEF,
    ];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// `Setup-UUIE ::= SEQUENCE { protocolIdentifier, h245Address OPT, sourceAddress OPT,
    /// sourceInfo EndpointType, destinationAddress OPT, destCallSignalAddress OPT,
    /// destExtraCallInfo OPT, destExtraCRV OPT, activeMC BOOLEAN, conferenceID,
    /// conferenceGoal CHOICE { create, join, invite, ... }, callServices OPT, callType
    /// CHOICE { pointToPoint, oneToN, nToOne, nToN, ... }, ... }`.
    ///
    /// `0 0 0 0 0 000` (setup, index 0) = 0x00; extension bit 0 and 7 presence bits 0 = 0x00;
    /// the OID; EndpointType (9 bits) and activeMC 0, padded = 0x00 0x00; conferenceID;
    /// conferenceGoal `0 00` (create) and callType `0 00` (pointToPoint), padded = 0x00.
    pub fn setup() -> Vec<u8> {
        cat(&[&[0x00, 0x00], &OID, &[0x00, 0x00], &GUID, &[0x00]])
    }

    /// `CallProceeding-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo EndpointType,
    /// h245Address OPT, ... }`: `0 0 0 0 0 001` = 0x01; extension 0, presence 0, padded =
    /// 0x00; the OID; EndpointType, padded = 0x00 0x00.
    pub fn call_proceeding() -> Vec<u8> {
        cat(&[&[0x01, 0x00], &OID, &[0x00, 0x00]])
    }

    /// `Connect-UUIE ::= SEQUENCE { protocolIdentifier, h245Address OPT, destinationInfo,
    /// conferenceID, ... }`: `0 0 0 0 0 010` = 0x02; extension 0, presence 0 = 0x00; the
    /// OID; EndpointType, padded = 0x00 0x00; conferenceID.
    pub fn connect() -> Vec<u8> {
        cat(&[&[0x02, 0x00], &OID, &[0x00, 0x00], &GUID])
    }

    /// `Alerting-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo, h245Address OPT,
    /// ... }`: as CallProceeding with index 3 (`011`) = 0x03.
    pub fn alerting() -> Vec<u8> {
        cat(&[&[0x03, 0x00], &OID, &[0x00, 0x00]])
    }

    /// `Information-UUIE ::= SEQUENCE { protocolIdentifier, ... }`: `0 0 0 0 0 100` = 0x04;
    /// extension 0, padded = 0x00; the OID.
    pub fn information() -> Vec<u8> {
        cat(&[&[0x04, 0x00], &OID])
    }

    /// `ReleaseComplete-UUIE ::= SEQUENCE { protocolIdentifier, reason OPT, ... }`:
    /// `0 0 0 0 0 101` = 0x05; extension 0, presence 0, padded = 0x00; the OID.
    pub fn release_complete() -> Vec<u8> {
        cat(&[&[0x05, 0x00], &OID])
    }

    /// `Facility-UUIE ::= SEQUENCE { protocolIdentifier, alternativeAddress OPT,
    /// alternativeAliasAddress OPT, conferenceID OPT, reason FacilityReason, ... }` with
    /// `FacilityReason ::= CHOICE { routeCallToGatekeeper, callForwarded, routeCallToMC,
    /// undefinedReason, ... }`: `0 0 0 0 0 110` = 0x06; extension 0 and three presence bits
    /// 0, padded = 0x00; the OID; reason `0 11` (undefinedReason, NULL), padded = 0x60.
    pub fn facility() -> Vec<u8> {
        cat(&[&[0x06, 0x00], &OID, &[0x60]])
    }

    /// An extension alternative of h323-message-body: `0 0 0 0 1`, then `0` and the 6-bit
    /// index, then the open type's length (aligned) and contents.
    fn extension(index: u8, value: &[u8]) -> Vec<u8> {
        // 12 bits: 00001 0 iiiiii, then 4 padding bits.
        let bits: u16 = (0b00001 << 11) | (u16::from(index) << 4);
        let mut out = bits.to_be_bytes().to_vec();
        out.push(value.len() as u8);
        out.extend_from_slice(value);
        out
    }

    /// `Progress-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo, h245Address OPT,
    /// callIdentifier, h245SecurityMode OPT, tokens OPT, cryptoTokens OPT, fastStart OPT,
    /// ... }` (extension index 0): extension 0 and 5 presence bits 0, padded = 0x00; the
    /// OID; EndpointType (9 bits) and the CallIdentifier's extension bit, padded = 0x00 0x00;
    /// the guid.
    pub fn progress() -> Vec<u8> {
        extension(0, &cat(&[&[0x00], &OID, &[0x00, 0x00], &GUID]))
    }

    /// `Status-UUIE`, `StatusInquiry-UUIE` and `Notify-UUIE` are all `SEQUENCE {
    /// protocolIdentifier, callIdentifier, tokens OPT, cryptoTokens OPT, ... }`: extension 0
    /// and 2 presence bits 0, padded = 0x00; the OID; the CallIdentifier's extension bit,
    /// padded = 0x00; the guid. Extension indexes 2, 3 and 5.
    fn id_only(index: u8) -> Vec<u8> {
        extension(index, &cat(&[&[0x00], &OID, &[0x00], &GUID]))
    }

    /// Status (extension index 2).
    pub fn status() -> Vec<u8> {
        id_only(2)
    }

    /// StatusInquiry (extension index 3).
    pub fn status_inquiry() -> Vec<u8> {
        id_only(3)
    }

    /// `SetupAcknowledge-UUIE ::= SEQUENCE { protocolIdentifier, callIdentifier, ... }`
    /// (extension index 4): extension 0, padded = 0x00; the OID; 0x00; the guid.
    pub fn setup_ack() -> Vec<u8> {
        extension(4, &cat(&[&[0x00], &OID, &[0x00], &GUID]))
    }

    /// Notify (extension index 5).
    pub fn notify() -> Vec<u8> {
        id_only(5)
    }
}

/// One message of each type, with the IEs H.225.0 puts in it, and its call reference.
fn messages() -> Vec<Message> {
    let mut out = Vec::new();
    for (i, kind) in MessageType::ALL.into_iter().enumerate() {
        let call_ref = CallRef::new(0x1234 + i as u16, i % 2 == 1);
        let mut m = Message::new(kind, call_ref);
        let uu = match kind {
            MessageType::Setup => {
                m = m
                    .with_ie(Ie::BearerCapability(BEARER_H323.to_vec()))
                    .with_ie(Ie::Display("exp-c zone".into()))
                    .with_ie(Ie::CallingNumber(PartyNumber {
                        number_type: 2,
                        plan: 1,
                        presentation: Some(exp_h460::q931::Presentation {
                            indicator: 0,
                            screening: 3,
                        }),
                        digits: "4930123".into(),
                    }))
                    .with_ie(Ie::CalledNumber(PartyNumber {
                        number_type: 1,
                        plan: 1,
                        presentation: None,
                        digits: "4989555".into(),
                    }));
                uuie::setup()
            }
            MessageType::CallProceeding => uuie::call_proceeding(),
            MessageType::Alerting => {
                m = m.with_ie(Ie::Signal(0x01));
                uuie::alerting()
            }
            MessageType::Connect => {
                m = m.with_ie(Ie::Display("callee".into()));
                uuie::connect()
            }
            MessageType::Progress => {
                m = m.with_ie(Ie::Progress(Progress {
                    coding_standard: 0,
                    location: location::PRIVATE_LOCAL,
                    description: 8,
                }));
                uuie::progress()
            }
            MessageType::ReleaseComplete => {
                m = m.with_ie(Ie::Cause(Cause::new(
                    location::USER,
                    cause_value::NORMAL_CALL_CLEARING,
                )));
                uuie::release_complete()
            }
            MessageType::Facility => uuie::facility(),
            MessageType::Information => {
                m = m.with_ie(Ie::Keypad("12#".into()));
                uuie::information()
            }
            MessageType::Notify => {
                m = m.with_ie(Ie::Notification(0x00));
                uuie::notify()
            }
            MessageType::Status => {
                m = m
                    .with_ie(Ie::Cause(Cause::new(location::USER, 30)))
                    // Call state (0x14): 10 = active.
                    .with_ie(Ie::Other {
                        id: 0x14,
                        data: vec![0x0A],
                    });
                uuie::status()
            }
            MessageType::StatusEnquiry => uuie::status_inquiry(),
            MessageType::SetupAck => uuie::setup_ack(),
            MessageType::Other(_) => unreachable!("ALL lists named types"),
        };
        out.push(m.with_user_user(uu));
    }
    out
}

/// The TCP segments of a call-signalling connection between `port` (exp's side) and an
/// ephemeral port: the messages alternate direction; one is split across three segments, and
/// two share a segment.
///
/// No keep-alive (empty TPKT) is in the capture: Wireshark 4.0's Q.931-over-TPKT heuristic
/// takes a 4-octet TPKT, hands its empty payload to the Q.931 dissector, and that reports a
/// malformed Q.931 message, although H.460.18 sends exactly this. The deframer tests cover
/// keep-alives.
fn segments(port: u16, messages: &[Message]) -> Vec<Packet> {
    let peer = 50_000;
    let mut out = Vec::new();
    let mut batch: Vec<u8> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let pkt = tpkt::encode(&m.encode().expect("encodes")).expect("fits TPKT");
        // Message 5 goes the way of message 4, in the same segment.
        let (src_port, dst_port) = if i % 2 == 0 || i == 5 {
            (peer, port)
        } else {
            (port, peer)
        };
        let seg = |payload: Vec<u8>| Packet::Tcp {
            src_port,
            dst_port,
            payload,
        };
        match i {
            1 => {
                // Split twice inside the message, but not before octet 7: Wireshark finds
                // Q.931 on TCP heuristically, from a segment that starts with the TPKT header
                // and at least 3 octets of Q.931, so it cannot reassemble a packet cut earlier
                // (the deframer tests cover any cut).
                out.push(seg(pkt[..7].to_vec()));
                out.push(seg(pkt[7..12].to_vec()));
                out.push(seg(pkt[12..].to_vec()));
            }
            4 => batch = pkt,
            5 => {
                batch.extend_from_slice(&pkt);
                out.push(seg(std::mem::take(&mut batch)));
            }
            _ => out.push(seg(pkt)),
        }
    }
    out
}

/// Checks the decode: every message appears with its type and call reference.
fn check(tag: &str, text: &str, messages: &[Message]) {
    if std::env::var_os("EXP_TSHARK_DUMP").is_some() {
        eprintln!("{text}");
    }
    let types: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Message type: "))
        .collect();
    let refs: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Call reference value: "))
        .collect();
    let flags: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Call reference flag: "))
        .collect();
    assert_eq!(
        types.len(),
        messages.len(),
        "{tag}: message types {types:?}"
    );
    assert_eq!(
        refs.len(),
        messages.len(),
        "{tag}: call references {refs:?}"
    );
    for (i, m) in messages.iter().enumerate() {
        let cr = m.call_ref.expect("call reference");
        let code = format!("(0x{:02x})", m.kind.code());
        assert!(
            types[i].ends_with(&code),
            "{tag}: message {i} decodes as {:?}, sent {:?} {code}",
            types[i],
            m.kind
        );
        let value = format!("Call reference value: {:04x}", cr.value);
        assert!(
            refs[i].eq_ignore_ascii_case(&value),
            "{tag}: message {i} has {:?}, sent {value}",
            refs[i]
        );
        let side = if cr.from_destination {
            "Message sent to originating side"
        } else {
            "Message sent from originating side"
        };
        assert!(
            flags[i].ends_with(side),
            "{tag}: message {i} flag {:?}, sent {side}",
            flags[i]
        );
    }
    // The H.225.0 dissector decoded the user information of every message, as the body that
    // goes with its message type.
    let bodies: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("h323-message-body: "))
        .collect();
    assert_eq!(
        bodies.len(),
        messages.len(),
        "{tag}: H.225.0 bodies {bodies:?}"
    );
    for (m, body) in messages.iter().zip(&bodies) {
        let name = match m.kind {
            MessageType::Setup => "setup",
            MessageType::CallProceeding => "callProceeding",
            MessageType::Connect => "connect",
            MessageType::Alerting => "alerting",
            MessageType::Information => "information",
            MessageType::ReleaseComplete => "releaseComplete",
            MessageType::Facility => "facility",
            MessageType::Progress => "progress",
            MessageType::Status => "status",
            MessageType::StatusEnquiry => "statusInquiry",
            MessageType::SetupAck => "setupAcknowledge",
            MessageType::Notify => "notify",
            MessageType::Other(_) => unreachable!(),
        };
        assert!(
            body.starts_with(&format!("{name} (")),
            "{tag}: {:?} carries body {body:?}",
            m.kind
        );
    }
    // The typed IEs decode with the values sent.
    for line in [
        "Cause value: Normal call clearing (16)",
        "Cause value: Response to STATUS ENQUIRY (30)",
        "Calling party number digits: 4930123",
        "Screening indicator: Network-provided (0x3)",
        "Called party number digits: 4989555",
        "Number type: International number (0x1)",
        "Display information: exp-c zone",
        "Keypad facility: 12#",
        "Signal: Ring tone on (0x01)",
        "User information layer 1 protocol: Recommendation H.221 and H.242 (0x05)",
        "In-band information or an appropriate pattern is now available (0x08)",
        "Notification description: User suspended (0x00)",
        "Call state: Active (0x0a)",
    ] {
        assert!(
            text.lines().any(|l| l.trim().ends_with(line)),
            "{tag}: no {line:?} in the decode"
        );
    }
}

#[test]
fn tshark_decodes_q931_on_1720() {
    let messages = messages();
    let Some(text) = tshark::decode("q931-1720", &segments(1720, &messages), &[]) else {
        return;
    };
    check("q931-1720", &text, &messages);
}

/// Port 2777 needs no decode-as rule: Wireshark 4.0 has no dissector on it, and its Q.931
/// heuristic on TCP finds TPKT + Q.931 on any port. (`-d tcp.port==2777,tpkt` is worse: the
/// only TPKT dissector offered for decode-as is the RDP heuristic one, which passes the TPKT
/// payload to RDP or shows it as data, never to Q.931.)
#[test]
fn tshark_decodes_q931_on_2777() {
    let messages = messages();
    let Some(text) = tshark::decode("q931-2777", &segments(2777, &messages), &[]) else {
        return;
    };
    check("q931-2777", &text, &messages);
}
