//! Building responses (RFC 8489 §6.3.1): same method and transaction id as the request,
//! SOFTWARE, then MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 with the request's key when the
//! request was authenticated (RFC 8489 §9.2.4: the same kind of integrity attribute as the
//! request), then FINGERPRINT when the request had one (RFC 8489 §7). One place for these
//! rules, so every success and error response follows them.

use crate::attribute::Attribute;
use crate::message::{Class, Message, MessageBuilder};

use super::credentials::LongTermKeys;

/// A request whose integrity checked out, and what answering it needs.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) username: String,
    /// All keys of the user (kept by a new allocation).
    pub(crate) keys: LongTermKeys,
    key: [u8; 32],
    key_len: usize,
    /// The request carried MESSAGE-INTEGRITY-SHA256: answer with it too.
    pub(crate) sha256_mi: bool,
}

impl Auth {
    pub(crate) fn new(username: &str, keys: LongTermKeys, key: &[u8], sha256_mi: bool) -> Auth {
        let mut k = [0u8; 32];
        let mut key_len = 0;
        for (d, s) in k.iter_mut().zip(key) {
            *d = *s;
            key_len += 1;
        }
        Auth {
            username: username.to_string(),
            keys,
            key: k,
            key_len,
            sha256_mi,
        }
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.key.get(..self.key_len).unwrap_or(&[])
    }
}

/// Reason phrases (RFC 8489 §14.8, RFC 8656 §19).
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        300 => "Try Alternate",
        400 => "Bad Request",
        401 => "Unauthenticated",
        403 => "Forbidden",
        420 => "Unknown Attribute",
        437 => "Allocation Mismatch",
        438 => "Stale Nonce",
        440 => "Address Family not Supported",
        441 => "Wrong Credentials",
        442 => "Unsupported Transport Protocol",
        443 => "Peer Address Family Mismatch",
        486 => "Allocation Quota Reached",
        508 => "Insufficient Capacity",
        _ => "Server Error",
    }
}

/// Encodes a response to `req`. `None` only if an attribute could not be encoded, which the
/// server's own values never cause.
pub(crate) fn build(
    req: &Message,
    class: Class,
    attrs: &[Attribute],
    software: Option<&str>,
    auth: Option<&Auth>,
) -> Option<Vec<u8>> {
    let mut b = MessageBuilder::response_to(req, class);
    for a in attrs {
        b.add(a);
    }
    if let Some(s) = software {
        b.add(&Attribute::Software(s.to_string()));
    }
    if let Some(auth) = auth {
        if auth.sha256_mi {
            b.add_message_integrity_sha256(auth.key());
        } else {
            b.add_message_integrity(auth.key());
        }
    }
    if req.has_fingerprint() {
        b.add_fingerprint();
    }
    b.finish().ok()
}

/// The ERROR-CODE attribute for `code`.
pub(crate) fn error_code(code: u16) -> Attribute {
    Attribute::ErrorCode {
        code,
        reason: reason(code).to_string(),
    }
}
