//! Where long-term keys come from (RFC 8489 §9.2). The core never sees passwords of
//! configured users, only their keys — MD5(username:realm:password) is exactly the SIP digest
//! HA1 the product already stores — through a trait the runtime implements, possibly by asking
//! another system (delegated checking, answered later). Time-limited credentials derived from a
//! shared secret (the "TURN REST API" convention) are computed here, since they need no store.

use std::collections::HashMap;

use crate::auth::{long_term_key_md5, long_term_key_sha256};

use super::base64;

/// The long-term keys of one user: one per password algorithm (RFC 8489 §18.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongTermKeys {
    /// MD5(username ":" realm ":" password) (RFC 8489 §9.2.2), the SIP digest HA1.
    pub md5: Option<[u8; 16]>,
    /// SHA-256(username ":" realm ":" password) (RFC 8489 §9.2.2).
    pub sha256: Option<[u8; 32]>,
}

impl LongTermKeys {
    /// Both keys from a clear-text password.
    pub fn from_password(username: &str, realm: &str, password: &str) -> LongTermKeys {
        LongTermKeys {
            md5: Some(long_term_key_md5(username, realm, password)),
            sha256: Some(long_term_key_sha256(username, realm, password)),
        }
    }

    /// Only the MD5 key (an HA1 digest).
    pub fn from_md5(ha1: [u8; 16]) -> LongTermKeys {
        LongTermKeys {
            md5: Some(ha1),
            sha256: None,
        }
    }
}

/// Answer of a [`CredentialSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// The user's keys.
    Found(LongTermKeys),
    /// No such user (401).
    Unknown,
    /// Asked elsewhere; the runtime calls [`crate::server::Server::credential_ready`] later.
    Pending,
}

/// The runtime's credential store.
pub trait CredentialSource {
    /// Keys of `username` in `realm`.
    fn lookup(&mut self, username: &str, realm: &str) -> KeyLookup;
}

impl<F: FnMut(&str, &str) -> KeyLookup> CredentialSource for F {
    fn lookup(&mut self, username: &str, realm: &str) -> KeyLookup {
        self(username, realm)
    }
}

/// A fixed table of users, for simple deployments and tests.
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials {
    realm: String,
    users: HashMap<String, LongTermKeys>,
}

impl StaticCredentials {
    /// An empty table for `realm`.
    pub fn new(realm: &str) -> StaticCredentials {
        StaticCredentials {
            realm: realm.to_string(),
            users: HashMap::new(),
        }
    }

    /// Adds (or replaces) a user with a clear-text password.
    pub fn add_password(&mut self, username: &str, password: &str) {
        let keys = LongTermKeys::from_password(username, &self.realm, password);
        self.users.insert(username.to_string(), keys);
    }

    /// Adds (or replaces) a user with precomputed keys.
    pub fn add_keys(&mut self, username: &str, keys: LongTermKeys) {
        self.users.insert(username.to_string(), keys);
    }

    /// Removes a user.
    pub fn remove(&mut self, username: &str) {
        self.users.remove(username);
    }
}

impl CredentialSource for StaticCredentials {
    fn lookup(&mut self, username: &str, realm: &str) -> KeyLookup {
        if realm != self.realm {
            return KeyLookup::Unknown;
        }
        match self.users.get(username) {
            Some(k) => KeyLookup::Found(*k),
            None => KeyLookup::Unknown,
        }
    }
}

/// The password of a time-limited credential: base64(HMAC-SHA1(secret, username)).
pub fn rest_password(secret: &str, username: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    base64::encode(ring::hmac::sign(&key, username.as_bytes()).as_ref())
}

/// Outcome of checking a username against the time-limited credential scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestCheck {
    /// Not of the form "expiry[:user]": look it up in the credential source.
    NotRest,
    /// Its expiry time has passed (401).
    Expired,
    /// Valid until its expiry; these are its keys.
    Valid(LongTermKeys),
}

/// Checks a time-limited username: "expiry_unix_secs" or "expiry_unix_secs:user".
pub(crate) fn rest_check(secret: &str, username: &str, realm: &str, unix_now: u64) -> RestCheck {
    let expiry = username.split(':').next().unwrap_or("");
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return RestCheck::NotRest;
    }
    // More digits than a u64 holds: not a time this server can compare; refuse.
    let Ok(expiry) = expiry.parse::<u64>() else {
        return RestCheck::Expired;
    };
    if expiry <= unix_now {
        return RestCheck::Expired;
    }
    let password = rest_password(secret, username);
    RestCheck::Valid(LongTermKeys::from_password(username, realm, &password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_usernames() {
        assert_eq!(rest_check("s", "alice", "r", 100), RestCheck::NotRest);
        assert_eq!(rest_check("s", ":alice", "r", 100), RestCheck::NotRest);
        assert_eq!(rest_check("s", "99:alice", "r", 100), RestCheck::Expired);
        assert_eq!(
            rest_check("s", "99999999999999999999999:alice", "r", 100),
            RestCheck::Expired
        );
        let pw = rest_password("s", "200:alice");
        assert_eq!(
            rest_check("s", "200:alice", "r", 100),
            RestCheck::Valid(LongTermKeys::from_password("200:alice", "r", &pw))
        );
        assert!(matches!(
            rest_check("s", "200", "r", 100),
            RestCheck::Valid(_)
        ));
    }
}
