//! H.235.1 password-based message integrity for the H.323 side of a traversal zone.
//!
//! exp-c authenticates its RAS messages to exp-e with the zone's credentials the way H.235.1
//! (the baseline security profile, "procedure I") specifies:
//! - the key is the SHA-1 hash of the password (20 bytes);
//! - the message carries a `CryptoH323Token` → `nestedcryptoToken` → `cryptoHashedToken`
//!   whose `hashedVals` is a ClearToken with a timestamp (seconds since 1970), a random value
//!   and the sender's and receiver's ids, and whose `token` holds a 96-bit hash;
//! - the hash is HMAC-SHA1-96 (RFC 2104, truncated to 12 bytes) over the whole encoded message
//!   with the hash field itself set to zero.
//!
//! The object identifiers below name those choices: [`OID_A`] (all fields hashed), [`OID_T`]
//! (ClearToken as hashedVals) and [`OID_U`] (HMAC-SHA1-96).
//!
//! This module does the cryptography and the checks that follow it, on bytes and numbers; the
//! RAS codec builds and reads the tokens. [`Checker`] tells apart the three ways a message can
//! fail, so exp-e can report them separately: a wrong password (the hash does not match), a
//! clock skew (the hash matches, the timestamp is outside the tolerance) and a replay (the
//! hash matches, but that timestamp and random value were already accepted from the sender).

use std::collections::{HashMap, VecDeque};

use ring::{digest, hmac};

/// `tokenOID` of the cryptoHashedToken: all fields of the message are hashed (0.0.8.235.0.2.1).
pub const OID_A: &[u32] = &[0, 0, 8, 235, 0, 2, 1];
/// `tokenOID` of the hashedVals ClearToken (0.0.8.235.0.2.5).
pub const OID_T: &[u32] = &[0, 0, 8, 235, 0, 2, 5];
/// `algorithmOID`: HMAC-SHA1-96 (0.0.8.235.0.2.6).
pub const OID_U: &[u32] = &[0, 0, 8, 235, 0, 2, 6];

/// Length of the truncated hash, in bytes (96 bits).
pub const HASH_LEN: usize = 12;

/// The HMAC key for `password`: its SHA-1 hash.
pub fn key(password: &str) -> [u8; 20] {
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let mut k = [0u8; 20];
    k.copy_from_slice(d.as_ref());
    k
}

/// HMAC-SHA1-96 of `message` under `key`.
pub fn integrity(key: &[u8], message: &[u8]) -> [u8; HASH_LEN] {
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&k, message);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(&tag.as_ref()[..HASH_LEN]);
    out
}

/// Fills the hash field of an encoded message: `message[at..at + 12]` holds zeros (the
/// encoder's placeholder) and gets the HMAC of the whole message. `false` when the range is
/// outside the message or not zero.
pub fn seal(message: &mut [u8], at: usize, key: &[u8]) -> bool {
    let Some(field) = message.get(at..at + HASH_LEN) else {
        return false;
    };
    if field.iter().any(|&b| b != 0) {
        return false;
    }
    let h = integrity(key, message);
    message[at..at + HASH_LEN].copy_from_slice(&h);
    true
}

/// Whether `raw` (a message as received) carries `hash` as its valid HMAC under `key`.
///
/// The hash field is found by its value: every place where the 12 bytes occur octet-aligned
/// is tried with those bytes zeroed (an encoder other than ours may lay the message out
/// differently, so the position is not computed from our own encoding).
pub fn verify(raw: &[u8], hash: &[u8; HASH_LEN], key: &[u8]) -> bool {
    if raw.len() < HASH_LEN {
        return false;
    }
    let mut work = raw.to_vec();
    for at in 0..=raw.len() - HASH_LEN {
        if &raw[at..at + HASH_LEN] != hash {
            continue;
        }
        work[at..at + HASH_LEN].fill(0);
        // Compared without an early exit, so the time taken does not tell how much matched.
        let diff = integrity(key, &work)
            .iter()
            .zip(hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        let ok = diff == 0;
        work[at..at + HASH_LEN].copy_from_slice(hash);
        if ok {
            return true;
        }
    }
    false
}

/// Why an authenticated message was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The message has no H.235.1 token (or not the procedure I kind).
    #[error("no H.235.1 password token")]
    Missing,
    /// The hash does not match: the sender does not know the password (or the message was
    /// changed on the way).
    #[error("wrong password (the integrity hash does not match)")]
    WrongPassword,
    /// The hash matches but the timestamp is too far from our clock.
    #[error("clock skew of {skew_seconds} s (tolerance {tolerance_seconds} s)")]
    ClockSkew {
        /// Our clock minus the sender's timestamp, in seconds.
        skew_seconds: i64,
        /// The configured tolerance.
        tolerance_seconds: u64,
    },
    /// A message with this timestamp and random value was already accepted from the sender.
    #[error("replayed message (timestamp and random value seen before)")]
    Replay,
}

impl Refusal {
    /// Short reason for metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "no-token",
            Refusal::WrongPassword => "wrong-password",
            Refusal::ClockSkew { .. } => "clock-skew",
            Refusal::Replay => "replay",
        }
    }
}

/// What was seen of one sender: (timestamp, random) pairs accepted, oldest first.
#[derive(Default)]
struct Seen {
    pairs: VecDeque<(u32, u32)>,
}

/// Most (timestamp, random) pairs remembered per sender. A client sends a few RAS messages per
/// keep-alive interval; within the tolerance window this is far more than an honest client
/// needs, and it bounds what a flood can make us keep.
const MAX_SEEN_PER_SENDER: usize = 256;

/// Most senders remembered: one per zone in practice.
const MAX_SENDERS: usize = 4096;

/// The checks after the hash: timestamp against our clock, and replay.
pub struct Checker {
    tolerance: u64,
    seen: HashMap<String, Seen>,
}

impl Checker {
    /// A checker allowing `tolerance_seconds` between the sender's clock and ours.
    pub fn new(tolerance_seconds: u64) -> Self {
        Checker {
            tolerance: tolerance_seconds,
            seen: HashMap::new(),
        }
    }

    /// Checks a message from `sender` whose hash check gave `hash_ok`, stamped `timestamp`
    /// with `random`, at our time `now_unix` (seconds). On success the pair is remembered
    /// so that the same message is refused as a replay when it comes again.
    pub fn check(
        &mut self,
        sender: &str,
        timestamp: u32,
        random: u32,
        hash_ok: bool,
        now_unix: u64,
    ) -> Result<(), Refusal> {
        // A message whose hash fails tells us nothing trustworthy, timestamp included.
        if !hash_ok {
            return Err(Refusal::WrongPassword);
        }
        let skew = now_unix as i64 - i64::from(timestamp);
        if skew.unsigned_abs() > self.tolerance {
            return Err(Refusal::ClockSkew {
                skew_seconds: skew,
                tolerance_seconds: self.tolerance,
            });
        }
        if !self.seen.contains_key(sender) && self.seen.len() >= MAX_SENDERS {
            // Forget the sender with the oldest newest message.
            if let Some(oldest) = self
                .seen
                .iter()
                .min_by_key(|(_, s)| s.pairs.back().map(|p| p.0).unwrap_or(0))
                .map(|(k, _)| k.clone())
            {
                self.seen.remove(&oldest);
            }
        }
        let seen = self.seen.entry(sender.to_string()).or_default();
        // Pairs older than the tolerance window can never pass the timestamp check again.
        let floor = now_unix.saturating_sub(self.tolerance);
        seen.pairs.retain(|&(t, _)| u64::from(t) >= floor);
        if seen.pairs.contains(&(timestamp, random)) {
            return Err(Refusal::Replay);
        }
        if seen.pairs.len() == MAX_SEEN_PER_SENDER {
            seen.pairs.pop_front();
        }
        seen.pairs.push_back((timestamp, random));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha1_and_hmac_sha1_96_match_published_vectors() {
        // FIPS 180-2 appendix A.1.
        assert_eq!(hex(&key("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        // RFC 2202 §3, test cases 1 and 2, truncated to 96 bits.
        assert_eq!(
            hex(&integrity(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6"
        );
        assert_eq!(
            hex(&integrity(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5"
        );
    }

    #[test]
    fn sealed_message_verifies_and_any_change_fails() {
        let k = key("zone password");
        let mut msg = b"\x26\x90\x01\x02header".to_vec();
        let at = msg.len();
        msg.extend_from_slice(&[0; HASH_LEN]);
        msg.extend_from_slice(b"trailer");
        assert!(seal(&mut msg, at, &k));
        let mut hash = [0u8; HASH_LEN];
        hash.copy_from_slice(&msg[at..at + HASH_LEN]);
        assert!(verify(&msg, &hash, &k));
        assert!(!verify(&msg, &hash, &key("other password")));
        let mut changed = msg.clone();
        changed[1] ^= 1;
        assert!(!verify(&changed, &hash, &k));
        // Sealing needs the zero placeholder inside the message.
        assert!(!seal(&mut msg, at, &k));
        let near_end = msg.len() - 4;
        assert!(!seal(&mut msg, near_end, &k));
        assert!(!verify(b"short", &hash, &k));
    }

    #[test]
    fn checker_tells_wrong_password_clock_skew_and_replay_apart() {
        let mut c = Checker::new(30);
        let now = 1_800_000_000u64;
        let t = now as u32;
        assert_eq!(
            c.check("exp-c", t, 1, false, now),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            c.check("exp-c", t - 31, 1, true, now),
            Err(Refusal::ClockSkew {
                skew_seconds: 31,
                tolerance_seconds: 30
            })
        );
        assert!(matches!(
            c.check("exp-c", t + 40, 1, true, now),
            Err(Refusal::ClockSkew {
                skew_seconds: -40,
                ..
            })
        ));
        assert_eq!(c.check("exp-c", t, 1, true, now), Ok(()));
        assert_eq!(c.check("exp-c", t, 1, true, now + 1), Err(Refusal::Replay));
        assert_eq!(c.check("exp-c", t, 2, true, now + 1), Ok(()));
        // Another sender's pairs are its own.
        assert_eq!(c.check("other", t, 1, true, now), Ok(()));
        // Once outside the window the old message fails on its timestamp, not as a replay.
        assert!(matches!(
            c.check("exp-c", t, 1, true, now + 31),
            Err(Refusal::ClockSkew { .. })
        ));
        assert_eq!(Refusal::Replay.reason(), "replay");
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = Checker::new(3600);
        let now = 1_800_000_000u64;
        for r in 0..10_000u32 {
            assert_eq!(c.check("flood", now as u32, r, true, now), Ok(()));
        }
        assert!(c.seen["flood"].pairs.len() <= MAX_SEEN_PER_SENDER);
        for s in 0..(MAX_SENDERS + 10) {
            let _ = c.check(&format!("s{s}"), now as u32, 0, true, now);
        }
        assert!(c.seen.len() <= MAX_SENDERS);
    }
}
