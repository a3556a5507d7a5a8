//! SDP model: verbatim round trip, the edits the media anchor makes, and refusal of malformed
//! or oversized descriptions without panicking.

use std::net::IpAddr;

use exp_sip::sdp::{Direction, SdpError, SessionDescription, MAX_SDP_BYTES};

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=rtcp:49171\r\n\
a=ice-ufrag:abcd\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\r\n\
a=sendrecv\r\n\
a=x-vendor:keep me\r\n\
m=video 0 RTP/AVP 96\r\n\
c=IN IP6 2001:db8::1\r\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn unmodified_description_round_trips_byte_for_byte() {
    let sdp = SessionDescription::parse(OFFER.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(sdp.to_bytes()).unwrap(), OFFER);
    // LF-only input is normalized to CRLF and otherwise kept.
    let lf = OFFER.replace("\r\n", "\n");
    let sdp = SessionDescription::parse(lf.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(sdp.to_bytes()).unwrap(), OFFER);
}

#[test]
fn accessors_read_media_sections() {
    let sdp = SessionDescription::parse(OFFER.as_bytes()).unwrap();
    assert_eq!(sdp.media_count(), 2);
    assert_eq!(sdp.media_kind(0), Some("audio"));
    assert_eq!(sdp.media_proto(0), Some("RTP/AVP"));
    assert_eq!(sdp.media_formats(0), vec!["0", "8", "101"]);
    assert_eq!(sdp.media_port(0), Some(49170));
    assert!(!sdp.media_disabled(0));
    assert!(sdp.media_disabled(1));
    assert_eq!(sdp.session_connection(), Some(ip("192.0.2.10")));
    assert_eq!(sdp.media_connection(0), Some(ip("192.0.2.10")));
    assert_eq!(sdp.media_connection(1), Some(ip("2001:db8::1")));
    assert_eq!(sdp.rtcp_attr(0), Some((49171, None)));
    assert_eq!(sdp.direction(0), Direction::SendRecv);
    assert!(sdp.has_ice(0));
    assert!(!sdp.rtcp_mux(0));
    assert_eq!(sdp.media_port(7), None);
}

#[test]
fn anchor_edits_touch_only_what_they_name() {
    let mut sdp = SessionDescription::parse(OFFER.as_bytes()).unwrap();
    sdp.set_media_port(0, 40000);
    sdp.set_connection(0, ip("203.0.113.5"));
    sdp.set_session_connection(ip("203.0.113.5"));
    sdp.set_origin_address(ip("203.0.113.5"));
    sdp.set_rtcp_attr(0, 40001, None);
    sdp.remove_ice();
    sdp.set_attribute(0, "x-exp-mux", Some("7"));
    sdp.bump_version();
    let text = String::from_utf8(sdp.to_bytes()).unwrap();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{text}");
    assert!(text.contains("a=rtcp:40001\r\n"), "{text}");
    assert!(text.contains("a=x-vendor:keep me\r\n"), "{text}");
    assert!(text.contains("a=x-exp-mux:7\r\n"), "{text}");
    assert!(
        text.contains("o=alice 2890844526 2890844527 IN IP4 203.0.113.5"),
        "{text}"
    );
    assert!(!text.contains("candidate"), "{text}");
    assert!(!text.contains("ice-ufrag"), "{text}");
    let again = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(again.media_connection(0), Some(ip("203.0.113.5")));
    assert_eq!(again.attribute(0, "x-exp-mux"), Some("7"));
    // The disabled video stream keeps port 0 and its own c= line.
    assert_eq!(again.media_port(1), Some(0));
}

#[test]
fn direction_and_rtcp_mux_edits() {
    let mut sdp = SessionDescription::parse(OFFER.as_bytes()).unwrap();
    sdp.set_direction(0, Direction::SendOnly);
    assert_eq!(sdp.direction(0), Direction::SendOnly);
    assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
    sdp.set_rtcp_mux(0, true);
    assert!(sdp.rtcp_mux(0));
    sdp.set_rtcp_mux(0, false);
    assert!(!sdp.rtcp_mux(0));
    sdp.remove_rtcp_attr(0);
    assert_eq!(sdp.rtcp_attr(0), None);
    // Out-of-range edits do nothing.
    let before = sdp.clone();
    sdp.set_media_port(9, 1);
    sdp.set_direction(9, Direction::Inactive);
    assert_eq!(sdp, before);
}

#[test]
fn malformed_descriptions_are_refused_with_reasons() {
    let cases: Vec<(Vec<u8>, SdpError)> = vec![
        (b"".to_vec(), SdpError::MissingVersion),
        (b"s=-\r\n".to_vec(), SdpError::MissingVersion),
        (b"v=1\r\n".to_vec(), SdpError::UnsupportedVersion),
        (
            b"v=0\r\nnonsense\r\n".to_vec(),
            SdpError::MalformedLine { line: 2 },
        ),
        (
            b"v=0\r\nv=0\r\n".to_vec(),
            SdpError::MalformedLine { line: 2 },
        ),
        (
            b"v=0\r\nc=IN IP4 example.com\r\n".to_vec(),
            SdpError::BadConnection { line: 2 },
        ),
        (
            b"v=0\r\nm=audio x RTP/AVP 0\r\n".to_vec(),
            SdpError::BadMedia { line: 2 },
        ),
        (
            b"v=0\r\nm=audio 99999 RTP/AVP 0\r\n".to_vec(),
            SdpError::BadMedia { line: 2 },
        ),
        (
            b"v=0\r\ns=a\0b\r\n".to_vec(),
            SdpError::ControlCharacter { line: 2 },
        ),
        (
            b"v=0\r\ns=\xff\r\n".to_vec(),
            SdpError::NotUtf8 { offset: 7 },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            SessionDescription::parse(&input),
            Err(want.clone()),
            "{:?}",
            String::from_utf8_lossy(&input)
        );
    }
    let big = vec![b'a'; MAX_SDP_BYTES + 1];
    assert!(matches!(
        SessionDescription::parse(&big),
        Err(SdpError::TooLarge { .. })
    ));
    let mut many = String::from("v=0\r\n");
    for _ in 0..65 {
        many.push_str("m=audio 1 RTP/AVP 0\r\n");
    }
    assert_eq!(
        SessionDescription::parse(many.as_bytes()),
        Err(SdpError::TooManyMedia)
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small deterministic fuzz: mutate the offer byte by byte.
    let base = OFFER.as_bytes();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..5000 {
        let mut input = base.to_vec();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let at = (x as usize) % input.len();
            input[at] = (x >> 8) as u8;
        }
        if let Ok(sdp) = SessionDescription::parse(&input) {
            for i in 0..sdp.media_count() + 1 {
                let _ = (sdp.media_port(i), sdp.media_connection(i), sdp.rtcp_attr(i));
                let _ = sdp.direction(i);
            }
            let _ = sdp.to_bytes();
        }
    }
}
