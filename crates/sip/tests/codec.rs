//! Message codec and stream framer through the public API, plus a no-panic fuzz pass over
//! random and mutated input.

use exp_sip::framer::{Frame, FrameError, Limits, Role, StreamFramer};
use exp_sip::message::{header_param, uri_of, Message, ParseError, Request, Response};

const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS bobspc.biloxi.example.com:5061;branch=z9hG4bKnashds7\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4>\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\
\r\n";

const INVITE_WITH_BODY: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
v: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
t: Bob <sip:bob@biloxi.example.com>\r\n\
f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@pc33.atlanta.example.com>\r\n\
c: application/sdp\r\n\
l: 14\r\n\
\r\n\
v=0\r\no=- 0 0\r\n";

#[test]
fn register_answered_through_the_framer() {
    let mut server = StreamFramer::new(Role::Server, Limits::default());
    server.push(b"\r\n\r\n");
    server.push(REGISTER);
    server.push(INVITE_WITH_BODY);
    assert_eq!(server.next_frame(), Ok(Some(Frame::Ping)));
    let Some(Frame::Message(Message::Request(req))) = server.next_frame().unwrap() else {
        panic!("expected a request");
    };
    assert_eq!(req.method, "REGISTER");
    let Some(Frame::Message(invite)) = server.next_frame().unwrap() else {
        panic!("expected the INVITE");
    };
    assert_eq!(
        invite.call_id(),
        Some("a84b4c76e66710@pc33.atlanta.example.com")
    );
    assert_eq!(invite.cseq(), Some((314159, "INVITE")));
    assert_eq!(
        invite
            .headers()
            .get("From")
            .and_then(|f| header_param(f, "tag")),
        Some("1928301774")
    );
    assert_eq!(
        invite.headers().get("Contact").and_then(uri_of),
        Some("sip:alice@pc33.atlanta.example.com")
    );
    assert_eq!(server.next_frame(), Ok(None));
    assert_eq!(server.buffered(), 0);

    let resp = Response::for_request(&req, 200, "OK", Some("reg-1"));
    let bytes = Message::Response(resp).to_bytes();
    let mut client = StreamFramer::new(Role::Client, Limits::default());
    client.push(b"\r\n");
    client.push(&bytes);
    assert_eq!(client.next_frame(), Ok(Some(Frame::Pong)));
    let Some(Frame::Message(Message::Response(resp))) = client.next_frame().unwrap() else {
        panic!("expected a response");
    };
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers.get("To"),
        Some("Bob <sip:bob@biloxi.example.com>;tag=reg-1")
    );
    assert_eq!(resp.headers.get("CSeq"), Some("1826 REGISTER"));
    assert_eq!(resp.headers.get("Content-Length"), Some("0"));
}

#[test]
fn serialized_messages_frame_back_identically() {
    let mut r = Request::new("MESSAGE", "sip:x@y");
    r.headers.push("Call-ID", "m1");
    r.headers.push("CSeq", "1 MESSAGE");
    r.body = "héllo\r\n\r\nworld".as_bytes().to_vec();
    let m = Message::Request(r);
    let bytes = m.to_bytes();
    let mut f = StreamFramer::new(Role::Client, Limits::default());
    for chunk in bytes.chunks(3) {
        f.push(chunk);
    }
    let Some(Frame::Message(back)) = f.next_frame().unwrap() else {
        panic!("expected a message");
    };
    // Only difference: the parsed copy carries the Content-Length header.
    assert_eq!(back.headers().get("Content-Length"), Some("15"));
    let mut back = back;
    back.headers_mut().remove("Content-Length");
    assert_eq!(back, m);
}

#[test]
fn framer_error_poisons() {
    let mut f = StreamFramer::new(Role::Server, Limits::default());
    f.push(b"SIP/2.0 999 Nope\r\nContent-Length: 0\r\n\r\n");
    f.push(REGISTER);
    let err = FrameError::Parse(ParseError::StatusOutOfRange(999));
    assert_eq!(f.next_frame(), Err(err.clone()));
    assert_eq!(f.next_frame(), Err(err));
    assert!(!FrameError::MissingContentLength.to_string().is_empty());
}

/// xorshift64 (Marsaglia 2003): deterministic pseudo-random numbers without a crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that matter to the grammar, so mutations hit interesting paths.
const INTERESTING: &[u8] = b"\r\n :;,<>\"\\\t=0123456789SIP/2.lLvV\xff\x00\xc3";

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let pos = rng.below(v.len() + 1);
        let byte = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(5) {
            0 if pos < v.len() => {
                v.remove(pos);
            }
            1 if pos < v.len() => v[pos] = byte,
            2 => {
                // duplicate a slice
                let end = (pos + rng.below(16)).min(v.len());
                let slice = v[pos.min(end)..end].to_vec();
                v.splice(pos..pos, slice);
            }
            3 => v.truncate(pos),
            _ => v.insert(pos, byte),
        }
    }
    v
}

fn frame_all(role: Role, data: &[u8], rng: &mut XorShift) -> usize {
    let limits = Limits {
        max_header_bytes: 64 + rng.below(512),
        max_body_bytes: rng.below(64),
    };
    let mut f = StreamFramer::new(role, limits);
    let mut frames = 0;
    let mut rest = data;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len());
        let (chunk, tail) = rest.split_at(n);
        f.push(chunk);
        rest = tail;
        loop {
            match f.next_frame() {
                Ok(Some(_)) => frames += 1,
                Ok(None) => break,
                Err(_) => {
                    assert!(f.next_frame().is_err(), "framer must stay poisoned");
                    return frames;
                }
            }
        }
        assert!(f.buffered() <= data.len());
    }
    frames
}

#[test]
fn fuzz_parse_and_frame_never_panic() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let seeds: [&[u8]; 4] = [
        REGISTER,
        INVITE_WITH_BODY,
        b"SIP/2.0 180 Ringing\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\n  ;rport\nl: 0\n\n",
        b"\r\n\r\nOPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n\r\n",
    ];
    let (mut parsed, mut framed) = (0, 0);
    for round in 0..30_000 {
        let data = match round % 3 {
            0 => {
                let len = rng.below(200);
                (0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>()
            }
            1 => {
                let len = rng.below(200);
                (0..len)
                    .map(|_| INTERESTING[rng.below(INTERESTING.len())])
                    .collect()
            }
            _ => {
                let seed = seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            }
        };
        if let Ok(m) = Message::parse(&data) {
            parsed += 1;
            // Whatever parses must serialize to something that parses again.
            let again = Message::parse(&m.to_bytes());
            assert!(
                again.is_ok(),
                "{:?} -> {again:?}",
                String::from_utf8_lossy(&data)
            );
            let _ = (m.call_id(), m.cseq());
            for (_, v) in m.headers().iter() {
                let _ = (header_param(v, "tag"), uri_of(v));
            }
        }
        let mut stream = data.clone();
        stream.extend_from_slice(&data);
        framed += frame_all(Role::Server, &stream, &mut rng);
        framed += frame_all(Role::Client, &stream, &mut rng);
    }
    eprintln!("parsed {parsed} messages, framed {framed} frames");
    // The mutations must leave enough valid input to exercise the success paths too.
    assert!(parsed > 1_000 && framed > 1_000, "{parsed} {framed}");
}

#[test]
fn framer_handles_streams_of_mutated_messages() {
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    for _ in 0..2_000 {
        let mut stream = Vec::new();
        for _ in 0..1 + rng.below(5) {
            match rng.below(4) {
                0 => stream.extend_from_slice(b"\r\n\r\n"),
                1 => stream.extend_from_slice(b"\r\n"),
                2 => stream.extend_from_slice(REGISTER),
                _ => stream.extend_from_slice(&mutate(&mut rng, INVITE_WITH_BODY)),
            }
        }
        frame_all(Role::Server, &stream, &mut rng);
        frame_all(Role::Client, &stream, &mut rng);
    }
}
