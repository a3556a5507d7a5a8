//! Keys for MESSAGE-INTEGRITY (RFC 8489 §9): the short-term key is the password, the
//! long-term key a hash of username, realm and password. Kept separate from the codec because
//! the server computes (or stores) keys once per user, not once per message.

use md5::{Digest, Md5};

use crate::attribute::PasswordAlgorithm;

/// Short-term credential key (RFC 8489 §9.1.1): the password bytes. The caller is expected to
/// have applied the OpaqueString profile (RFC 8265) where needed.
pub fn short_term_key(password: &str) -> Vec<u8> {
    password.as_bytes().to_vec()
}

/// Long-term credential key with the MD5 password algorithm (RFC 8489 §9.2.2):
/// `MD5(username ":" realm ":" password)`.
pub fn long_term_key_md5(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finalize().into()
}

/// Long-term credential key with the SHA-256 password algorithm (RFC 8489 §9.2.2):
/// `SHA-256(username ":" realm ":" password)`.
pub fn long_term_key_sha256(username: &str, realm: &str, password: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(username.as_bytes());
    ctx.update(b":");
    ctx.update(realm.as_bytes());
    ctx.update(b":");
    ctx.update(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Long-term key for the algorithm named by PASSWORD-ALGORITHM; `None` for an algorithm this
/// crate does not know (RFC 8489 §18.5).
pub fn long_term_key(
    algorithm: &PasswordAlgorithm,
    username: &str,
    realm: &str,
    password: &str,
) -> Option<Vec<u8>> {
    match algorithm.id {
        PasswordAlgorithm::MD5 => Some(long_term_key_md5(username, realm, password).to_vec()),
        PasswordAlgorithm::SHA256 => Some(long_term_key_sha256(username, realm, password).to_vec()),
        _ => None,
    }
}

/// USERHASH value (RFC 8489 §14.4): `SHA-256(username ":" realm)`.
pub fn userhash(username: &str, realm: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(username.as_bytes());
    ctx.update(b":");
    ctx.update(realm.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}
