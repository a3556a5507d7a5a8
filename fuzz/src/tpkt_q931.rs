//! `tpkt_q931`: any bytes as the H.225.0 call-signalling TCP stream of exp-h460, cut into TPKT
//! packets by `tpkt::Deframer` and each packet decoded as Q.931 (`q931::Message::decode`), and
//! the same bytes as one Q.931 message. Checks that:
//! - the deframer gives the same events and the same error whether it gets the stream at once,
//!   a byte at a time or in cuts taken from the data (a TCP read can stop anywhere);
//! - its events account for the stream: re-encoded, they are the consumed bytes (but for the
//!   reserved octet, which is accepted as anything and sent as 0), what is left is held back,
//!   and an error is what the header at that point deserves;
//! - a Q.931 message that decodes re-encodes to exactly its bytes and decodes again to itself,
//!   and each decoding error matches the bytes (an IE that runs past the end leaves a message
//!   that decodes up to it).

use exp_h460::q931::{Message, Q931Error, PROTOCOL_DISCRIMINATOR};
use exp_h460::tpkt::{self, Deframer, Event, TpktError, HEADER_LEN, KEEP_ALIVE};

/// Runs every check on `data`.
pub fn check(data: &[u8]) {
    check_message(data);
    check_stream(data);
}

fn check_message(bytes: &[u8]) {
    match Message::decode(bytes) {
        Ok(m) => {
            let encoded = m.encode().expect("a decoded message re-encodes");
            assert_eq!(encoded, bytes, "re-encoding differs");
            assert_eq!(Message::decode(&encoded).as_ref(), Ok(&m));
            if let Some(c) = m.cause() {
                assert!(c.location < 16 && c.value < 128 && c.coding_standard < 4);
            }
            let _ = (
                m.user_user(),
                m.display(),
                m.called_number(),
                m.calling_number(),
            );
        }
        Err(Q931Error::TruncatedHeader { len }) => {
            assert_eq!(len, bytes.len());
            let header = match bytes.get(1) {
                Some(0) => 3,
                _ => 5,
            };
            assert!(len < header);
        }
        Err(Q931Error::BadProtocolDiscriminator(pd)) => {
            assert_eq!(Some(&pd), bytes.first());
            assert_ne!(pd, PROTOCOL_DISCRIMINATOR);
        }
        Err(Q931Error::BadCallRefLength(l)) => {
            assert_eq!(Some(&l), bytes.get(1));
            assert!(l != 0 && l != 2);
        }
        Err(Q931Error::TruncatedIe { id, offset }) => {
            assert_eq!(bytes.get(offset), Some(&id));
            assert!(
                id & 0x80 == 0,
                "single-octet IE {id:#x} cannot be truncated"
            );
            // Everything before the cut-off IE is a whole message.
            let head = Message::decode(&bytes[..offset]).expect("the prefix decodes");
            assert_eq!(head.encode().as_deref(), Ok(&bytes[..offset]));
        }
        Err(e) => panic!("decoding fails with an encoding error: {e}"),
    }
}

/// Feeds `data` to a fresh deframer, chunk `k` being `size(k)` octets (at least 1).
fn deframe(
    data: &[u8],
    mut size: impl FnMut(usize) -> usize,
) -> (Vec<Event>, Option<TpktError>, Deframer) {
    let mut d = Deframer::new();
    let mut events = Vec::new();
    let mut rest = data;
    let mut k = 0;
    while !rest.is_empty() {
        let n = size(k).clamp(1, rest.len());
        k += 1;
        if let Err(e) = d.feed(&rest[..n], &mut events) {
            return (events, Some(e), d);
        }
        rest = &rest[n..];
    }
    (events, None, d)
}

fn check_stream(data: &[u8]) {
    let (events, error, d) = deframe(data, |_| usize::MAX);
    let (bytewise, bytewise_error, _) = deframe(data, |_| 1);
    assert_eq!(bytewise, events, "byte-at-a-time events");
    assert_eq!(bytewise_error, error, "byte-at-a-time error");
    let (cut, cut_error, _) = deframe(data, |k| usize::from(data[k % data.len()] % 23));
    assert_eq!(cut, events, "cut events");
    assert_eq!(cut_error, error, "cut error");

    // Re-encode the events: the consumed prefix, reserved octets aside.
    let mut again = Vec::new();
    for e in &events {
        match e {
            Event::Packet(p) => {
                assert!(!p.is_empty() && p.len() + HEADER_LEN <= d.max_len());
                tpkt::encode_into(p, &mut again).expect("a received packet re-encodes");
                check_message(p);
            }
            Event::KeepAlive => again.extend_from_slice(&KEEP_ALIVE),
        }
    }
    let consumed = again.len();
    assert!(consumed <= data.len());
    let mut start = 0;
    while start < consumed {
        let len = usize::from(u16::from_be_bytes([again[start + 2], again[start + 3]]));
        assert_eq!(again[start], data[start]);
        assert_eq!(again[start + 2..start + len], data[start + 2..start + len]);
        start += len;
    }
    let rest = &data[consumed..];
    match error {
        None => {
            assert_eq!(d.pending(), rest.len());
            assert_eq!(d.finish().is_ok(), rest.is_empty());
            // What is held back is a prefix of an acceptable packet.
            if let Some(h) = rest.get(..HEADER_LEN) {
                let n = tpkt::parse_header([h[0], h[1], h[2], h[3]], d.max_len())
                    .expect("a held-back header is valid");
                assert!(rest.len() < n);
            }
        }
        Some(e) => {
            let h = rest
                .get(..HEADER_LEN)
                .expect("an error needs a whole header");
            let header = tpkt::parse_header([h[0], h[1], h[2], h[3]], d.max_len());
            assert_eq!(header, Err(e.clone()));
            assert_eq!(d.error(), Some(&e));
            assert_eq!(d.pending(), 0);
        }
    }
}
