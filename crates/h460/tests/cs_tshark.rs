//! Our H323-UserInformation encodings checked against Wireshark's H.225.0 dissector (and,
//! for the tunnelled h245Control and fastStart entries, its H.245 dissector): a Q.931
//! message of every type we send, each carrying a rich UUIE, inside TPKT on TCP to the
//! call-signalling port 1720 and to exp-e's H.460.18 port 2777. Every packet must decode
//! without a malformed-packet or error-level expert entry, and the values we sent must show
//! in the decode. Skipped, saying so, where `tshark` is missing.
//!
//! Set `EXP_TSHARK_DUMP=1` to print the decodes.

#[path = "support/cs_samples.rs"]
mod samples;
#[path = "support/tshark.rs"]
mod tshark;

use exp_h460::cs::{message, H323UserInformation, ReleaseCompleteReason};
use exp_h460::q931::{CallRef, Ie, Message, MessageType, BEARER_H323};
use exp_h460::tpkt;
use tshark::Packet;

/// The messages, in call order, with the body name Wireshark shows for each.
fn messages() -> Vec<(&'static str, Message)> {
    let call_ref = CallRef::new(0x2345, false);
    let list: Vec<(&str, MessageType, H323UserInformation)> = vec![
        ("setup", MessageType::Setup, samples::setup(true)),
        (
            "callProceeding",
            MessageType::CallProceeding,
            samples::call_proceeding(),
        ),
        ("progress", MessageType::Progress, samples::progress()),
        ("alerting", MessageType::Alerting, samples::alerting()),
        (
            "facility",
            MessageType::Facility,
            samples::facility_h460_18(),
        ),
        ("connect", MessageType::Connect, samples::connect()),
        ("facility", MessageType::Facility, samples::facility_full()),
        (
            "information",
            MessageType::Information,
            samples::information(),
        ),
        (
            "statusInquiry",
            MessageType::StatusEnquiry,
            samples::status_inquiry(),
        ),
        ("status", MessageType::Status, samples::status()),
        (
            "setupAcknowledge",
            MessageType::SetupAck,
            samples::setup_ack(),
        ),
        ("notify", MessageType::Notify, samples::notify()),
        (
            "releaseComplete",
            MessageType::ReleaseComplete,
            samples::release_complete(ReleaseCompleteReason::InConf),
        ),
    ];
    list.into_iter()
        .enumerate()
        .map(|(i, (name, kind, info))| {
            // Odd messages go from the called side back.
            let cr = if i % 2 == 1 {
                call_ref.reply()
            } else {
                call_ref
            };
            let mut m = message(kind, cr, &info);
            if kind == MessageType::Setup {
                m.ies.insert(0, Ie::BearerCapability(BEARER_H323.to_vec()));
            }
            (name, m)
        })
        .collect()
}

fn segments(port: u16, messages: &[(&str, Message)]) -> Vec<Packet> {
    let peer = 50_001;
    messages
        .iter()
        .enumerate()
        .map(|(i, (_, m))| {
            let payload = tpkt::encode(&m.encode().expect("encodes")).expect("fits TPKT");
            let (src_port, dst_port) = if i % 2 == 0 {
                (peer, port)
            } else {
                (port, peer)
            };
            Packet::Tcp {
                src_port,
                dst_port,
                payload,
            }
        })
        .collect()
}

fn lines(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::to_owned)
        .collect()
}

fn check(tag: &str, text: &str, messages: &[(&str, Message)]) {
    if std::env::var_os("EXP_TSHARK_DUMP").is_some() {
        eprintln!("{text}");
    }
    // Every message decodes with the body that goes with its type.
    let bodies = lines(text, "h323-message-body: ");
    assert_eq!(bodies.len(), messages.len(), "{tag}: bodies {bodies:?}");
    for ((name, _), body) in messages.iter().zip(&bodies) {
        assert!(
            body.starts_with(&format!("{name} (")),
            "{tag}: {name} decodes as {body:?}"
        );
    }
    // A field line is the needle, possibly after a bit-field picture ("1... .... ") and
    // before an explanation ("standard: 18 - Signalling Traversal").
    let field = |l: &str, needle: &str| {
        let l = l.trim();
        l == needle || l.ends_with(&format!(" {needle}")) || l.starts_with(&format!("{needle} "))
    };
    let has = |needle: &str| text.lines().any(|l| field(l, needle));
    let count = |needle: &str| text.lines().filter(|l| field(l, needle)).count();
    // The callIdentifier guid of every message (the Facility of H.460.18 included).
    let guid = "guid: 5a112233-4455-6677-8899-aabbccddee01";
    assert_eq!(count(guid), messages.len(), "{tag}: {guid:?}");
    // Tunnelling in the 8 messages that tunnel, and the tunnelled H.245 decoded as what
    // it is.
    assert_eq!(
        count("h245Tunnelling: True"),
        8,
        "{tag}: h245Tunnelling: True"
    );
    assert_eq!(
        count("h245Tunnelling: False"),
        5,
        "{tag}: h245Tunnelling: False"
    );
    let msd = count("request: masterSlaveDetermination (1)");
    assert_eq!(
        msd,
        3 + 1 + 1 + 2 + 3 + 2 + 1 + 1,
        "{tag}: tunnelled H.245 messages"
    );
    for needle in [
        "terminalType: 60",
        "statusDeterminationNumber: 12345",
        "reason: undefinedReason (3)",
        "reason: startH245 (5)",
        "reason: inConf (10)",
        "h323-ID: alice-zone-a",
        "h323-ID: bob-zone-b",
        "dialledDigits: 4930123",
        "url-ID: h323:alice@zone-a.example.net",
        "email-ID: bob@zone-b.example.net",
        "conferenceID: c04f0102-0304-0506-0708-090a0b0c0d0e",
        "h245Address: ipAddress (0)",
        "ip: 192.0.2.20",
        "port: 30000",
        "hopCount: 31",
        "canOverlapSend: True",
        "multipleCalls: True",
        "maintainConnection: True",
        "endpointIdentifier: ep-0001",
        "conferenceGoal: create (0)",
        "callType: pointToPoint (0)",
        "standard: 18",
        "standard: 19",
        "dataType: nullData (1)",
        "fastStart: 2 items",
        "name: Alice",
        "protocolIdentifier: 0.0.8.2250.0.7 (itu-t.0.8.2250.0.7)",
    ] {
        assert!(has(needle), "{tag}: no {needle:?} in the decode");
    }
}

#[test]
fn tshark_decodes_call_signalling_on_1720() {
    let messages = messages();
    let Some(text) = tshark::decode("cs-1720", &segments(1720, &messages), &[]) else {
        return;
    };
    check("cs-1720", &text, &messages);
}

#[test]
fn tshark_decodes_call_signalling_on_2777() {
    let messages = messages();
    let Some(text) = tshark::decode("cs-2777", &segments(2777, &messages), &[]) else {
        return;
    };
    check("cs-2777", &text, &messages);
}
