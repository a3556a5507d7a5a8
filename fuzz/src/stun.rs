//! `stun_decode`: any bytes through `Message::decode`, and for what decodes, every accessor,
//! the integrity and fingerprint checks, and two round trips: each attribute value re-encodes
//! to a value that decodes to the same attribute, and the message rebuilt with fresh
//! MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT decodes to the same attributes
//! and verifies. Also checks that the decoder and the TCP framer (`frame_len`) agree on the
//! header of the same bytes.

use exp_turn::{
    frame_len, message_type, short_term_key, split_message_type, types, Attribute, FrameKind,
    Message, MessageBuilder, StunError, HEADER_LEN,
};

use crate::vectors;

/// Key the rebuilt messages are signed with.
const KEY: &[u8] = b"fuzz key";

/// Runs every check on `data`.
pub fn check(data: &[u8]) {
    let decoded = Message::decode(data);
    check_framing_agrees(data, &decoded);
    if let Ok(msg) = decoded {
        check_message(data, &msg);
    }
}

/// `frame_len` and `Message::decode` read the same header: when the framer says the buffer is
/// exactly one STUN frame, the decoder must not reject the header.
fn check_framing_agrees(data: &[u8], decoded: &Result<Message, StunError>) {
    let framed = frame_len(data);
    if let Ok(Some((FrameKind::Stun, n))) = framed {
        assert!(n >= HEADER_LEN && n % 4 == 0, "STUN frame of {n} bytes");
        if n == data.len() {
            match decoded {
                Ok(_)
                | Err(StunError::AttributeOverflow { .. })
                | Err(StunError::MalformedAttribute { .. }) => {}
                Err(e) => panic!("framer accepts a {n}-byte frame, decoder says {e}"),
            }
        }
    }
    if decoded.is_ok() {
        assert_eq!(framed, Ok(Some((FrameKind::Stun, data.len()))));
    }
}

fn check_message(data: &[u8], msg: &Message) {
    assert_eq!(msg.as_bytes(), data);
    let typ = u16::from_be_bytes([data[0], data[1]]);
    assert_eq!(message_type(msg.method(), msg.class()), typ);
    assert_eq!(split_message_type(typ), (msg.method(), msg.class()));
    assert_eq!(&msg.transaction_id().0[..], &data[8..HEADER_LEN]);

    let _ = (msg.username(), msg.realm(), msg.nonce());
    for a in msg.attributes() {
        assert_eq!(msg.get(a.typ()).map(Attribute::typ), Some(a.typ()));
    }
    let unknown = msg.unknown_comprehension_required();
    for (i, t) in unknown.iter().enumerate() {
        assert!(types::is_comprehension_required(*t));
        assert!(
            !unknown[..i].contains(t),
            "UNKNOWN-ATTRIBUTES lists {t:#06x} twice"
        );
    }

    // The verification paths: any key, never a panic; a missing attribute is reported as such.
    let rfc_key = short_term_key(vectors::PASSWORD);
    for key in [&b""[..], KEY, &rfc_key] {
        let any = msg.verify_integrity(key);
        let sha1 = msg.verify_integrity_sha1(key);
        let sha256 = msg.verify_integrity_sha256(key);
        if !msg.has_integrity() {
            assert_eq!(any, Err(StunError::MissingIntegrity));
            assert_eq!(sha1, Err(StunError::MissingIntegrity));
            assert_eq!(sha256, Err(StunError::MissingIntegrity));
        }
    }
    let fp = msg.verify_fingerprint();
    if !msg.has_fingerprint() {
        assert_eq!(fp, Err(StunError::MissingFingerprint));
    }

    // Each attribute value round-trips through its encoder.
    let txid = msg.transaction_id();
    for a in msg.attributes() {
        let mut value = Vec::new();
        a.encode_value(&txid, &mut value)
            .unwrap_or_else(|e| panic!("decoded {a:?} does not encode: {e}"));
        assert_eq!(
            Attribute::decode(a.typ(), &value, &txid).as_ref(),
            Ok(a),
            "value {value:02x?}"
        );
    }

    // Rebuilt and signed afresh, the message verifies with every mechanism.
    let protected = [
        types::MESSAGE_INTEGRITY,
        types::MESSAGE_INTEGRITY_SHA256,
        types::FINGERPRINT,
    ];
    let kept: Vec<&Attribute> = msg
        .attributes()
        .iter()
        .filter(|a| !protected.contains(&a.typ()))
        .collect();
    let mut b = MessageBuilder::new(msg.method(), msg.class(), txid);
    for a in &kept {
        b.add(a);
    }
    b.add_message_integrity(KEY)
        .add_message_integrity_sha256(KEY)
        .add_fingerprint();
    let bytes = match b.finish() {
        Ok(bytes) => bytes,
        // The original was close to 64 KiB: no room for the three attributes.
        Err(StunError::MessageTooLong) => return,
        Err(e) => panic!("rebuilding a decoded message failed: {e}"),
    };
    let again = Message::decode(&bytes).expect("a rebuilt message decodes");
    let n = kept.len();
    assert_eq!(again.attributes().len(), n + 3);
    for (x, y) in again.attributes()[..n].iter().zip(&kept) {
        assert_eq!(x, *y);
    }
    again.verify_integrity_sha1(KEY).expect("MESSAGE-INTEGRITY");
    again
        .verify_integrity_sha256(KEY)
        .expect("MESSAGE-INTEGRITY-SHA256");
    again.verify_integrity(KEY).expect("integrity");
    again.verify_fingerprint().expect("FINGERPRINT");
    assert_eq!(
        again.verify_integrity(b"another key"),
        Err(StunError::IntegrityMismatch)
    );
}
