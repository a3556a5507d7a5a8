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

#[path = "support/uuie_v4.rs"]
mod uuie;

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
