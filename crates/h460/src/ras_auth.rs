//! H.235.1 password integrity applied to RAS messages: sealing a message exp sends, and
//! checking one it receives, with the reason of a refusal kept apart (wrong password, clock
//! skew, replay, unknown sender, no token) so that both sides can count and report it.
//!
//! The token is the `nestedcryptoToken` → `cryptoHashedToken` of H.235.1 §6.1 (procedure I):
//! the ClearToken `hashedVals` carries `timeStamp`, `random`, `generalID` (the receiver) and
//! `sendersID`; the hash is HMAC-SHA1-96 under SHA-1(password) over the whole encoded message
//! with the 12 hash octets zeroed ([`crate::h235`]).

use crate::h225::{SecurityErrors, SecurityErrors2};
use crate::h235::{self, Checker, Refusal, HASH_LEN};
use crate::ras::RasMessage;
use crate::tokens::CryptoH323Token;

/// The key of a password: what exp-e stores (`h235_sha1`) and both sides hash with.
pub type Key = [u8; 20];

/// The H.235.1 token to put in a message before [`seal`]: `receiver` is the `generalID`,
/// `sender` the `sendersID`.
///
/// `random` is kept to 31 bits: it is an unconstrained INTEGER, and a value of 2^31 or more
/// takes five octets, which common decoders (Wireshark's among them) refuse as too long.
pub fn token(receiver: &str, sender: &str, unix_now: u64, random: u32) -> CryptoH323Token {
    CryptoH323Token::h235_1(receiver, sender, unix_now as u32, random & 0x7FFF_FFFF)
}

/// The encoding of `msg` with every H.235.1 hash placeholder filled in under `key`.
pub fn seal(msg: &RasMessage, key: &Key) -> Vec<u8> {
    let (mut bytes, marks) = msg.encode_for_sealing();
    for at in marks {
        // Only procedure I placeholders: a 96-bit BIT STRING of zeros after its length octet.
        let placeholder = at >= 1
            && bytes.get(at - 1) == Some(&96)
            && bytes.get(at..at + HASH_LEN) == Some(&[0u8; HASH_LEN][..]);
        if placeholder {
            h235::seal(&mut bytes, at, key);
        }
    }
    bytes
}

/// What the sender's H.235.1 token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// `sendersID`.
    pub sender: String,
    /// `generalID` (the receiver the sender meant).
    pub receiver: String,
    /// `timeStamp` (seconds since 1970).
    pub time_stamp: u32,
    /// `random`.
    pub random: u32,
    /// The integrity value.
    pub hash: [u8; HASH_LEN],
}

/// The first H.235.1 procedure I token of `msg`, if it has one.
pub fn presented(msg: &RasMessage) -> Option<Presented> {
    msg.crypto_tokens().iter().find_map(|t| {
        let h = match t {
            CryptoH323Token::Nested(_) => t.hashed()?,
            _ => return None,
        };
        if h.token.algorithm_oid.0 != h235::OID_U || h.token.hash.len != 96 {
            return None;
        }
        let hash: [u8; HASH_LEN] = h.token.hash.bytes.as_slice().try_into().ok()?;
        let v = &h.hashed_vals;
        Some(Presented {
            sender: v.senders_id.clone().unwrap_or_default(),
            receiver: v.general_id.clone().unwrap_or_default(),
            time_stamp: v.time_stamp?,
            random: u32::try_from(v.random?).ok()?,
            hash,
        })
    })
}

/// Why a RAS message failed authentication.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token names a sender with no key here (or not the zone's user).
    #[error("unknown sender {0:?}")]
    UnknownSender(String),
    /// The checks of [`h235::Checker`] (or no token at all).
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl AuthError {
    /// Short reason for metrics labels and logs: `no-token`, `unknown-user`,
    /// `wrong-password`, `clock-skew`, `replay`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::UnknownSender(_) => "unknown-user",
            AuthError::Refused(r) => r.reason(),
        }
    }

    /// The `SecurityErrors` value that tells the sender why (H.225.0 §7.8 RRJ reasons).
    pub fn security_error(&self) -> SecurityErrors {
        match self {
            AuthError::UnknownSender(_) => SecurityErrors::WrongSendersId,
            AuthError::Refused(Refusal::Missing) => SecurityErrors::WrongOid,
            AuthError::Refused(Refusal::WrongPassword) => SecurityErrors::IntegrityFailed,
            AuthError::Refused(Refusal::ClockSkew { .. }) => SecurityErrors::WrongSyncTime,
            AuthError::Refused(Refusal::Replay) => SecurityErrors::Replay,
        }
    }

    /// The same as a `SecurityErrors2` (URJ and others).
    pub fn security_error2(&self) -> SecurityErrors2 {
        match self.security_error() {
            SecurityErrors::WrongSyncTime => SecurityErrors2::WrongSyncTime,
            SecurityErrors::Replay => SecurityErrors2::Replay,
            SecurityErrors::WrongSendersId => SecurityErrors2::WrongSendersId,
            SecurityErrors::IntegrityFailed => SecurityErrors2::IntegrityFailed,
            _ => SecurityErrors2::WrongOid,
        }
    }
}

/// How a refusal reads when it comes back in an RRJ/GRJ/URJ `securityError`.
pub fn describe_security_error(e: &SecurityErrors) -> &'static str {
    match e {
        SecurityErrors::WrongSyncTime => "clock skew (check NTP on both systems)",
        SecurityErrors::Replay => "replayed message",
        SecurityErrors::WrongSendersId => "unknown username",
        SecurityErrors::IntegrityFailed => "wrong password",
        SecurityErrors::WrongGeneralId => "wrong gatekeeper identifier",
        SecurityErrors::WrongOid => "no supported authentication token",
        _ => "security error",
    }
}

/// Checks the token of `msg` (whose encoding is `bytes`): the key comes from `key_of` by the
/// token's `sendersID`; the hash, then timestamp and replay go through `checker`, which
/// remembers what each `sendersID` sent (wherever it came from: a replay from another address
/// is still a replay).
pub fn check(
    bytes: &[u8],
    msg: &RasMessage,
    key_of: impl FnOnce(&str) -> Option<Key>,
    checker: &mut Checker,
    unix_now: u64,
) -> Result<Presented, AuthError> {
    let p = presented(msg).ok_or(AuthError::Refused(Refusal::Missing))?;
    let key = key_of(&p.sender).ok_or_else(|| AuthError::UnknownSender(p.sender.clone()))?;
    let hash_ok = h235::verify(bytes, &p.hash, &key);
    checker.check(&p.sender, p.time_stamp, p.random, hash_ok, unix_now)?;
    Ok(p)
}

/// Parses the hex form of a key (40 hex digits, as `exp-e hash-password` prints it).
pub fn key_from_hex(hex: &str) -> Option<Key> {
    let hex = hex.trim();
    if hex.len() != 40 {
        return None;
    }
    let mut k = [0u8; 20];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}

/// The hex form of `key`.
pub fn key_to_hex(key: &Key) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}
