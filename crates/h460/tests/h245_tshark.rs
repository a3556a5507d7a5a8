//! Our H.245 encodings checked against Wireshark's H.245 and H.460 dissectors: every H.245
//! message type exp sends must decode without a malformed-packet or error-level expert entry,
//! showing the values we sent, including the H.460.19 traversal parameters inside an OLC's
//! and an OLCAck's `genericInformation`. Skipped, saying so, where `tshark` is missing.
//!
//! Transport: standalone H.245, each message in its own TPKT (RFC 1006) on a TCP connection
//! to port 1503 (our choice), with `-d tcp.port==1503,h245`. In tshark 4.0 the dissector
//! registered as `h245` for decode-as is the TPKT-framed one (it takes the TPKT header and
//! hands the payload to MultimediaSystemControlMessage), so this works without a Q.931/H.225
//! layer; `tpkt` as a decode-as target would instead be the RDP heuristic TPKT dissector.
//! Tunnelling in H.225.0 `h245Control` would need a hand-built H323-UserInformation around
//! every message and adds nothing to what is checked here.
//!
//! Set `EXP_TSHARK_DUMP=1` to print the decodes.

#[path = "support/h245_samples.rs"]
mod samples;
#[path = "support/tshark.rs"]
mod tshark;

use exp_h460::tpkt;
use tshark::Packet;

const PORT: u16 = 1503;

/// Decodes the messages (alternating directions), returns the text split per frame.
fn decode(tag: &str) -> Option<(Vec<&'static str>, Vec<String>)> {
    let msgs = samples::all();
    let packets: Vec<Packet> = msgs
        .iter()
        .enumerate()
        .map(|(i, (_, m))| {
            let bytes = m.encode_checked().expect("encodes cleanly");
            let payload = tpkt::encode(&bytes).expect("fits TPKT");
            let (src_port, dst_port) = if i % 2 == 0 {
                (50_000, PORT)
            } else {
                (PORT, 50_000)
            };
            Packet::Tcp {
                src_port,
                dst_port,
                payload,
            }
        })
        .collect();
    let rule = format!("tcp.port=={PORT},h245");
    let text = tshark::decode(tag, &packets, &[&rule])?;
    if std::env::var_os("EXP_TSHARK_DUMP").is_some() {
        eprintln!("{text}");
    }
    let frames: Vec<String> = text
        .split("\nFrame ")
        .filter(|f| f.contains("MULTIMEDIA-SYSTEM-CONTROL") || f.contains("H.245"))
        .map(str::to_owned)
        .collect();
    Some((msgs.iter().map(|(n, _)| *n).collect(), frames))
}

/// Whether a line of `frame` shows `text` (tshark prefixes bit fields with the bits, and
/// names some values: `rfc-number: Unknown (2833)`).
fn has(frame: &str, text: &str) -> bool {
    frame.lines().any(|l| {
        let l = l.trim();
        l.starts_with(text) || l.ends_with(text) || l.contains(&format!(" {text}"))
    })
}

#[test]
fn tshark_decodes_every_h245_message_we_send() {
    let Some((names, frames)) = decode("h245") else {
        return;
    };
    assert_eq!(frames.len(), names.len(), "one decoded frame per message");
    let expect: Vec<(&str, Vec<&str>)> = vec![
        (
            "msd",
            vec![
                "masterSlaveDetermination",
                "terminalType: 60",
                "statusDeterminationNumber: 12345",
            ],
        ),
        (
            "tcs",
            vec![
                "terminalCapabilitySet",
                "sequenceNumber: 1",
                "h2250Capability",
                "maximumAudioDelayJitter: 250",
                "g711Ulaw64k: 20",
                "g711Alaw64k: 20",
                "g729: 2",
                "g7231",
                "g722-64k: 20",
                "rfc-number: Unknown (2833)",
            ],
        ),
        (
            "tcs-minimal",
            vec!["terminalCapabilitySet", "sequenceNumber: 0"],
        ),
        (
            "olc",
            vec![
                "openLogicalChannel",
                "forwardLogicalChannelNumber: 1",
                "g711Ulaw64k: 20",
                "h2250LogicalChannelParameters",
                "sessionID: 1",
                "dynamicRTPPayloadType: 101",
                "replacementFor: 7",
                "multiplexID: 16909060",
                "keepAlivePayloadType: 127",
                "keepAliveInterval: 19",
            ],
        ),
        (
            "olc-bidirectional",
            vec![
                "openLogicalChannel",
                "forwardLogicalChannelNumber: 2",
                "reverseLogicalChannelParameters",
                "portNumber: 5000",
                "g729: 2",
                "replacementFor: 3",
                "tsapIdentifier: 49156",
            ],
        ),
        ("clc", vec!["closeLogicalChannel", "lcse", "reopen"]),
        (
            "rcc",
            vec![
                "requestChannelClose",
                "forwardLogicalChannelNumber: 2",
                "normal",
            ],
        ),
        (
            "rtd-request",
            vec!["roundTripDelayRequest", "sequenceNumber: 7"],
        ),
        ("msd-ack", vec!["masterSlaveDeterminationAck", "slave"]),
        (
            "msd-reject",
            vec!["masterSlaveDeterminationReject", "identicalNumbers"],
        ),
        (
            "tcs-ack",
            vec!["terminalCapabilitySetAck", "sequenceNumber: 1"],
        ),
        (
            "tcs-reject",
            vec![
                "terminalCapabilitySetReject",
                "highestEntryNumberProcessed: 4",
            ],
        ),
        (
            "olc-ack",
            vec![
                "openLogicalChannelAck",
                "forwardLogicalChannelNumber: 1",
                "reverseLogicalChannelNumber: 9",
                "h2250LogicalChannelAckParameters",
                "dynamicRTPPayloadType: 96",
                "portNumber: 3000",
                "flowControlToZero: False",
                "keepAlivePayloadType: 127",
                "keepAliveInterval: 19",
            ],
        ),
        (
            "olc-reject",
            vec!["openLogicalChannelReject", "dataTypeNotSupported"],
        ),
        (
            "olc-reject-ext",
            vec!["openLogicalChannelReject", "invalidSessionID"],
        ),
        (
            "clc-ack",
            vec!["closeLogicalChannelAck", "forwardLogicalChannelNumber: 1"],
        ),
        (
            "rcc-ack",
            vec!["requestChannelCloseAck", "forwardLogicalChannelNumber: 2"],
        ),
        (
            "rtd-response",
            vec!["roundTripDelayResponse", "sequenceNumber: 7"],
        ),
        ("end-session", vec!["endSessionCommand", "disconnect"]),
        (
            "user-input-alphanumeric",
            vec!["userInput", "alphanumeric: 12#"],
        ),
        (
            "user-input-signal",
            vec![
                "userInput",
                "signalType: 5",
                "duration: 250",
                "timestamp: 160",
            ],
        ),
    ];
    assert_eq!(expect.len(), names.len());
    for ((name, lines), (frame, sent)) in expect.iter().zip(frames.iter().zip(&names)) {
        assert_eq!(name, sent, "sample order");
        for l in lines {
            assert!(has(frame, l), "{name}: no {l:?} in\n{frame}");
        }
    }
    // nominalAudioLevel (the fourth addition of H2250LogicalChannelParameters, H.245 v17)
    // is newer than Wireshark 4.0's H.245 module: it shows it as an unknown extension (a
    // note, not an error) and decodes the rest.
    let bidi = &frames[4];
    assert!(
        has(bidi, "nominalAudioLevel: 20") || has(bidi, "[unknown sequence extension]"),
        "olc-bidirectional:\n{bidi}"
    );
    // Addresses: the OLC's mediaControlChannel, the OLCAck's channels and the H.460.19
    // keep-alive and multiplexed channels, as tshark shows them.
    let olc = &frames[3];
    for l in [
        "network: 192.0.2.10",
        "tsapIdentifier: 49153",
        "network: 203.0.113.5",
        "tsapIdentifier: 40000",
        "tsapIdentifier: 2776",
        "tsapIdentifier: 2777",
    ] {
        assert!(has(olc, l), "olc: no {l:?} in\n{olc}");
    }
    let ack = &frames[12];
    for l in [
        "network: 198.51.100.7",
        "tsapIdentifier: 30000",
        "tsapIdentifier: 30001",
        "tsapIdentifier: 30003",
        "tsapIdentifier: 40002",
    ] {
        assert!(has(ack, l), "olc-ack: no {l:?} in\n{ack}");
    }
}
