//! The local credential database of exp-e.
//!
//! Traversal clients authenticate with SIP digest (RFC 8760: SHA-256, MD5 for older peers).
//! Digest verification needs H(username:realm:password) — HA1 — not the password itself, so
//! HA1 is what we store (RFC 7616 §3.4.2), per algorithm. The database hands out HA1 values by
//! username; it never holds or prints a password.

use std::collections::BTreeMap;

/// Digest algorithms the database can hold a hash for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashAlgorithm {
    /// MD5 (RFC 2617/3261), 32 hex characters.
    Md5,
    /// SHA-256 (RFC 7616/8760), 64 hex characters.
    Sha256,
}

impl HashAlgorithm {
    /// Length of the lower-case hex HA1 of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha256 => 64,
        }
    }
}

/// Stored hashes of one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCredential {
    /// HA1 for SHA-256, lower-case hex.
    pub ha1_sha256: Option<String>,
    /// HA1 for MD5, lower-case hex.
    pub ha1_md5: Option<String>,
    /// SHA-1 of the password (the H.235.1 key of H.323), lower-case hex.
    pub h235_sha1: Option<String>,
}

/// Username → stored hashes, for one realm.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialDb {
    realm: String,
    users: BTreeMap<String, StoredCredential>,
}

impl CredentialDb {
    /// An empty database for `realm`.
    pub fn new(realm: impl Into<String>) -> Self {
        CredentialDb {
            realm: realm.into(),
            users: BTreeMap::new(),
        }
    }

    /// Add or replace a user.
    pub fn insert(&mut self, username: impl Into<String>, cred: StoredCredential) {
        self.users.insert(username.into(), cred);
    }

    /// The realm the hashes belong to.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// True when the user exists.
    pub fn contains(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// The stored HA1 of `username` for `alg`, if the user exists and has one.
    pub fn ha1(&self, username: &str, alg: HashAlgorithm) -> Option<&str> {
        let c = self.users.get(username)?;
        match alg {
            HashAlgorithm::Md5 => c.ha1_md5.as_deref(),
            HashAlgorithm::Sha256 => c.ha1_sha256.as_deref(),
        }
    }

    /// The H.235.1 key of `username` (SHA-1 of the password), if stored.
    pub fn h235_key(&self, username: &str) -> Option<[u8; 20]> {
        let hex = self.users.get(username)?.h235_sha1.as_deref()?;
        let mut k = [0u8; 20];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(k)
    }

    /// Usernames with an H.235.1 key, and the keys.
    pub fn h235_keys(&self) -> impl Iterator<Item = (&str, [u8; 20])> + '_ {
        self.users
            .keys()
            .filter_map(|u| Some((u.as_str(), self.h235_key(u)?)))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no user exists.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// True when `s` is a lower- or upper-case hex string of `alg`'s HA1 length.
pub fn is_valid_ha1(s: &str, alg: HashAlgorithm) -> bool {
    s.len() == alg.hex_len() && s.bytes().all(|b| b.is_ascii_hexdigit())
}
