//! The long-term credential mechanism on the server side (RFC 8489 §9.2.4, RFC 5389 §10.2.2):
//! challenge requests without integrity (401 with REALM, NONCE and PASSWORD-ALGORITHMS),
//! check the nonce (438), the password-algorithm negotiation (§9.2.4 bid-down protection), find
//! the user's key (allocation, time-limited credential or the runtime's credential source,
//! possibly answered later) and verify MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 (401).
//! Failures feed the per-IP rate limiter.

use std::time::Instant;

use crate::attribute::{types, Attribute, PasswordAlgorithm};
use crate::message::Message;

use super::credentials::{rest_check, CredentialSource, KeyLookup, LongTermKeys, RestCheck};
use super::engine::Server;
use super::io::{ClientKey, Event};
use super::nonce::NonceCheck;
use super::respond::Auth;

/// Where the keys of a request come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeySource {
    /// Ask the credential source.
    Lookup,
    /// The runtime answered a delegated check: these keys, or none (unknown user).
    Provided(Option<LongTermKeys>),
}

/// Outcome of authenticating a request.
pub(crate) enum AuthOutcome {
    /// Integrity verified.
    Ok(Auth),
    /// An error response is queued (401, 400, 438).
    Answered,
    /// The credential source answered `Pending` for this username.
    Pending(String),
}

impl<C: CredentialSource> Server<C> {
    /// PASSWORD-ALGORITHMS as offered in challenges (RFC 8489 §9.2.1: preferred first).
    pub(super) fn offered_algorithms(&self) -> Vec<PasswordAlgorithm> {
        if self.config.offer_sha256 {
            vec![PasswordAlgorithm::sha256(), PasswordAlgorithm::md5()]
        } else {
            vec![PasswordAlgorithm::md5()]
        }
    }

    /// Queues a 401 or 438 with REALM, a fresh NONCE and PASSWORD-ALGORITHMS (RFC 8489
    /// §9.2.4). Neither carries MESSAGE-INTEGRITY: there is no verified key.
    pub(super) fn challenge(&mut self, now: Instant, client: &ClientKey, req: &Message, code: u16) {
        let lifetime = self.config.nonce_lifetime.as_secs();
        let expiry = self
            .server_secs(now)
            .saturating_add(lifetime)
            .saturating_add(1);
        let expiry = u32::try_from(expiry).unwrap_or(u32::MAX);
        let nonce = self.nonces.issue(expiry, client.remote.ip());
        let attrs = [
            Attribute::Realm(self.config.realm.clone()),
            Attribute::Nonce(nonce),
            Attribute::PasswordAlgorithms(self.offered_algorithms()),
        ];
        self.respond_error(client, req, code, &attrs, None);
    }

    /// Counts a failed authentication, maybe blocks the source, and answers 401.
    fn auth_failure(&mut self, now: Instant, client: &ClientKey, req: &Message) -> AuthOutcome {
        self.counters.auth_failures += 1;
        let ip = client.remote.ip();
        let limits = self.limits();
        if self.limiter.failure(ip, now, limits) {
            self.events.push_back(Event::SourceBlocked { ip });
        }
        self.challenge(now, client, req, 401);
        AuthOutcome::Answered
    }

    pub(super) fn authenticate(
        &mut self,
        now: Instant,
        client: &ClientKey,
        req: &Message,
        source: KeySource,
    ) -> AuthOutcome {
        // RFC 8489 §9.2.4: no integrity at all → 401 with the challenge.
        if !req.has_integrity() {
            self.challenge(now, client, req, 401);
            return AuthOutcome::Answered;
        }
        // Integrity without USERNAME, REALM or NONCE → 400. (USERHASH is not offered: the
        // nonce's feature bits do not announce username anonymity.)
        let (Some(username), Some(realm), Some(nonce)) = (req.username(), req.realm(), req.nonce())
        else {
            self.respond_error(client, req, 400, &[], None);
            return AuthOutcome::Answered;
        };
        // Nonce first (RFC 5389 §10.2.2 order), so a stale or forged nonce costs no key lookup.
        match self
            .nonces
            .check(nonce, self.server_secs(now), client.remote.ip())
        {
            NonceCheck::Valid => {}
            NonceCheck::Expired | NonceCheck::Invalid => {
                self.counters.stale_nonces += 1;
                self.challenge(now, client, req, 438);
                return AuthOutcome::Answered;
            }
        }
        // Password algorithm negotiation (RFC 8489 §9.2.4): our nonces carry the cookie, so
        // both attributes or neither; PASSWORD-ALGORITHMS must be what was offered, and the
        // chosen algorithm one of them. Neither means MD5.
        let algorithm = match (
            req.get(types::PASSWORD_ALGORITHMS),
            req.get(types::PASSWORD_ALGORITHM),
        ) {
            (None, None) => PasswordAlgorithm::MD5,
            (Some(Attribute::PasswordAlgorithms(list)), Some(Attribute::PasswordAlgorithm(a))) => {
                let offered = self.offered_algorithms();
                if *list != offered || !offered.contains(a) {
                    self.respond_error(client, req, 400, &[], None);
                    return AuthOutcome::Answered;
                }
                a.id
            }
            _ => {
                self.respond_error(client, req, 400, &[], None);
                return AuthOutcome::Answered;
            }
        };
        if realm != self.config.realm {
            return self.auth_failure(now, client, req);
        }
        let keys = match self.find_keys(now, client, username, source) {
            KeyLookup::Found(k) => k,
            KeyLookup::Unknown => return self.auth_failure(now, client, req),
            KeyLookup::Pending => return AuthOutcome::Pending(username.to_string()),
        };
        let key: &[u8] = match algorithm {
            PasswordAlgorithm::SHA256 => match &keys.sha256 {
                Some(k) => k,
                None => return self.auth_failure(now, client, req),
            },
            _ => match &keys.md5 {
                Some(k) => k,
                None => return self.auth_failure(now, client, req),
            },
        };
        if req.verify_integrity(key).is_err() {
            return self.auth_failure(now, client, req);
        }
        let sha256_mi = req.get(types::MESSAGE_INTEGRITY_SHA256).is_some();
        AuthOutcome::Ok(Auth::new(username, keys, key, sha256_mi))
    }

    /// The keys of `username`: a time-limited credential (checked every time, so an expired
    /// one cannot keep refreshing an allocation), those of the client's allocation if it is the
    /// same user (RFC 8656 §5, §6: the server keeps the key), an answer the runtime provided,
    /// or the credential source.
    fn find_keys(
        &mut self,
        now: Instant,
        client: &ClientKey,
        username: &str,
        source: KeySource,
    ) -> KeyLookup {
        if let Some(secret) = &self.config.rest_secret {
            match rest_check(secret, username, &self.config.realm, self.unix_time(now)) {
                RestCheck::NotRest => {}
                RestCheck::Expired => return KeyLookup::Unknown,
                RestCheck::Valid(k) => return KeyLookup::Found(k),
            }
        }
        if let Some(a) = self
            .table
            .slot_of_client(client)
            .and_then(|s| self.table.get(s))
        {
            if &*a.username == username {
                return KeyLookup::Found(a.keys);
            }
        }
        match source {
            KeySource::Provided(Some(k)) => KeyLookup::Found(k),
            KeySource::Provided(None) => KeyLookup::Unknown,
            KeySource::Lookup => self.credentials.lookup(username, &self.config.realm),
        }
    }
}
