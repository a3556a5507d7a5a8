//! STUN requests from clients, from bytes to a queued response (RFC 8489 §6.3): decoding,
//! FINGERPRINT check, the source's rate limit, authentication, unknown
//! comprehension-required attributes (420), then the method — Binding here, the TURN methods
//! in `allocate` and `peers`. Also where requests parked for a delegated credential resume.

use std::time::Instant;

use crate::attribute::{types, Attribute};
use crate::message::{
    check_header, split_message_type, Class, Message, MessageBuilder, Method, TransactionId,
    HEADER_LEN,
};

use super::authenticate::{AuthOutcome, KeySource};
use super::credentials::{CredentialSource, LongTermKeys};
use super::engine::Server;
use super::io::{ClientKey, ClientVerdict, DropReason, Event, RelayBinder};
use super::pending::PendingRequest;
use super::respond::{self, Auth};
use super::timers::deadline;

impl<C: CredentialSource> Server<C> {
    /// A STUN message from a client that is not a Send indication.
    pub(super) fn stun_from_client(
        &mut self,
        now: Instant,
        client: &ClientKey,
        pkt: &[u8],
        relays: &mut dyn RelayBinder,
    ) -> ClientVerdict {
        let (Some(&t0), Some(&t1)) = (pkt.first(), pkt.get(1)) else {
            self.count_drop(DropReason::Malformed);
            return ClientVerdict::Dropped(DropReason::Malformed);
        };
        let (_, class) = split_message_type(u16::from_be_bytes([t0, t1]));
        if class != Class::Request {
            // Responses and indications from clients get no answer (RFC 8489 §6.3.2, §6.3.3).
            let reason = if check_header(pkt).is_ok() {
                DropReason::UnexpectedMessage
            } else {
                DropReason::Malformed
            };
            self.count_drop(reason);
            return ClientVerdict::Dropped(reason);
        }
        if self.limiter.is_blocked(client.remote.ip(), now) {
            self.counters.rate_limited += 1;
            self.count_drop(DropReason::RateLimited);
            return ClientVerdict::Dropped(DropReason::RateLimited);
        }
        let msg = match Message::decode(pkt) {
            Ok(m) => m,
            Err(_) => return self.undecodable_request(client, pkt),
        };
        if msg.has_fingerprint() && msg.verify_fingerprint().is_err() {
            // RFC 8489 §7: a wrong FINGERPRINT means "not STUN": discard.
            self.count_drop(DropReason::BadFingerprint);
            return ClientVerdict::Dropped(DropReason::BadFingerprint);
        }
        self.process_request(now, client, msg, KeySource::Lookup, relays)
    }

    /// A request whose header is sound but whose attributes do not decode: 400 (RFC 8489
    /// §6.3.1). Anything worse is dropped.
    fn undecodable_request(&mut self, client: &ClientKey, pkt: &[u8]) -> ClientVerdict {
        let header_ok =
            matches!(check_header(pkt), Ok(len) if usize::from(len) + HEADER_LEN == pkt.len());
        let parts = pkt
            .get(..2)
            .zip(pkt.get(8..HEADER_LEN))
            .and_then(|(t, x)| Some((<[u8; 2]>::try_from(t).ok()?, <[u8; 12]>::try_from(x).ok()?)));
        let (true, Some((typ, txid))) = (header_ok, parts) else {
            self.count_drop(DropReason::Malformed);
            return ClientVerdict::Dropped(DropReason::Malformed);
        };
        let (method, _) = split_message_type(u16::from_be_bytes(typ));
        let mut b = MessageBuilder::new(method, Class::Error, TransactionId(txid));
        b.add(&respond::error_code(400));
        if let Some(s) = &self.config.software {
            b.add(&Attribute::Software(s.clone()));
        }
        match b.finish() {
            Ok(bytes) => {
                self.transmit(client, bytes);
                ClientVerdict::Replied
            }
            Err(_) => {
                self.count_drop(DropReason::Malformed);
                ClientVerdict::Dropped(DropReason::Malformed)
            }
        }
    }

    /// A decoded request: authenticate, check attributes, run the method.
    pub(super) fn process_request(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: Message,
        source: KeySource,
        relays: &mut dyn RelayBinder,
    ) -> ClientVerdict {
        let method = msg.method();
        let known = [
            Method::BINDING,
            Method::ALLOCATE,
            Method::REFRESH,
            Method::CREATE_PERMISSION,
            Method::CHANNEL_BIND,
        ];
        if !known.contains(&method) {
            self.respond_error(client, &msg, 400, &[], None);
            return ClientVerdict::Replied;
        }
        if method == Method::BINDING && self.config.allow_unauthenticated_binding {
            if !self.unknown_attributes(client, &msg, None) {
                self.binding(client, &msg, None);
            }
            return ClientVerdict::Replied;
        }
        let auth = match self.authenticate(now, client, &msg, source) {
            AuthOutcome::Ok(a) => a,
            AuthOutcome::Answered => return ClientVerdict::Replied,
            AuthOutcome::Pending(username) => return self.park(now, client, msg, username),
        };
        if self.unknown_attributes(client, &msg, Some(&auth)) {
            return ClientVerdict::Replied;
        }
        match method {
            Method::BINDING => self.binding(client, &msg, Some(&auth)),
            Method::ALLOCATE => self.allocate(now, client, &msg, &auth, relays),
            Method::REFRESH => self.refresh(now, client, &msg, &auth, relays),
            Method::CREATE_PERMISSION => self.create_permission(now, client, &msg, &auth),
            _ => self.channel_bind(now, client, &msg, &auth),
        }
        ClientVerdict::Replied
    }

    /// 420 with UNKNOWN-ATTRIBUTES if the request has comprehension-required attributes this
    /// server does not know (RFC 8489 §6.3.1.1). True if answered.
    fn unknown_attributes(
        &mut self,
        client: &ClientKey,
        msg: &Message,
        auth: Option<&Auth>,
    ) -> bool {
        let unknown = msg.unknown_comprehension_required();
        if unknown.is_empty() {
            return false;
        }
        self.respond_error(
            client,
            msg,
            420,
            &[Attribute::UnknownAttributes(unknown)],
            auth,
        );
        true
    }

    /// Binding (RFC 8489 §6.3.1.1): the client's reflexive address.
    fn binding(&mut self, client: &ClientKey, msg: &Message, auth: Option<&Auth>) {
        self.respond(
            client,
            msg,
            Class::Success,
            &[Attribute::XorMappedAddress(client.remote)],
            auth,
        );
    }

    /// Parks a request until the runtime answers the credential check.
    fn park(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: Message,
        username: String,
    ) -> ClientVerdict {
        let req = PendingRequest {
            client: *client,
            msg,
            username: username.clone(),
            deadline: deadline(now, self.config.credential_timeout),
        };
        let queued = self.pending.push(req, self.config.pending_limit);
        for _ in 0..queued.evicted {
            self.count_drop(DropReason::QueueFull);
        }
        if queued.ask {
            self.events.push_back(Event::NeedCredential { username });
        }
        ClientVerdict::Queued
    }

    /// The runtime's answer to [`Event::NeedCredential`]: the keys of `username`, or `None`
    /// if the user is unknown or the password wrong. Every request waiting for this username
    /// is processed now; their responses are queued.
    pub fn credential_ready(
        &mut self,
        now: Instant,
        username: &str,
        keys: Option<LongTermKeys>,
        relays: &mut dyn RelayBinder,
    ) {
        for p in self.pending.take_user(username) {
            self.process_request(now, &p.client, p.msg, KeySource::Provided(keys), relays);
        }
    }
}

/// Whether an attribute type is one this server understands in requests and indications
/// (anything else below 0x8000 is unknown comprehension-required, RFC 8489 §14).
pub(super) fn is_known(typ: u16) -> bool {
    use types::*;
    matches!(
        typ,
        MAPPED_ADDRESS
            | USERNAME
            | MESSAGE_INTEGRITY
            | ERROR_CODE
            | UNKNOWN_ATTRIBUTES
            | CHANNEL_NUMBER
            | LIFETIME
            | XOR_PEER_ADDRESS
            | DATA
            | REALM
            | NONCE
            | XOR_RELAYED_ADDRESS
            | REQUESTED_ADDRESS_FAMILY
            | EVEN_PORT
            | REQUESTED_TRANSPORT
            | DONT_FRAGMENT
            | MESSAGE_INTEGRITY_SHA256
            | PASSWORD_ALGORITHM
            | USERHASH
            | XOR_MAPPED_ADDRESS
            | RESERVATION_TOKEN
    ) || !types::is_comprehension_required(typ)
}
