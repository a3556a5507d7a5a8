//! The per-server secret and the independent keys derived from it (nonce MACs, reservation
//! tokens, the seeds of the pseudo-random generator and of the table hasher). One secret is
//! given by the runtime; deriving the rest with HMAC keeps each use from leaking another's key.

use ring::hmac;

/// A fresh random secret from the operating system, for runtimes that do not keep one.
/// `None` if the system generator fails.
pub fn random_secret() -> Option<[u8; 32]> {
    use ring::rand::SecureRandom;
    let mut s = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut s).ok()?;
    Some(s)
}

/// HMAC-SHA256(secret, label): a key for one purpose.
pub(crate) fn derive(secret: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, label);
    let mut out = [0u8; 32];
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

/// The first 8 bytes of a derived key as a number (seeds).
pub(crate) fn derive_u64(secret: &[u8; 32], label: &[u8]) -> u64 {
    let k = derive(secret, label);
    u64::from_le_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]])
}
