//! The gatekeeper side of H.460.18 RAS, sans-IO: what exp-e runs on a traversal server
//! zone's H.323 port (one traversal client, identified by the port and its credentials) and
//! on RAS port 1719 for H.460.18 endpoints registered directly.
//!
//! It answers GRQ with GCF, checks every RRQ/URQ/SCR with H.235.1 ([`crate::ras_auth`]),
//! grants a `timeToLive` that the client refreshes with lightweight keep-alive RRQs
//! (H.460.18 §7.3 / H.225.0 §7.9.1), expires registrations that are not refreshed, and sends
//! the H.460.18 incoming-call indication (an SCI, H.460.18 §7.4) for a call to a registered
//! client, re-sending it until the SCR arrives.
//!
//! The caller feeds datagrams with their source address and the current time (monotonic and
//! wall clock, the latter for the H.235.1 timestamps) and drains [`Transmit`]s, [`Event`]s and
//! [`Registrar::poll_timeout`]. Every refusal is counted by reason ([`Registrar::refusals`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::features::{h460_18_feature, h460_19_feature, IncomingCallIndication, H460_18};
use crate::h225::{AliasAddress, CallIdentifier, FeatureSet, ProtocolIdentifier, TransportAddress};
use crate::h235::{Checker, OID_U};
use crate::per::Oid;
use crate::ras::{
    GatekeeperConfirm, GatekeeperReject, GatekeeperRejectReason, RasMessage, RegistrationConfirm,
    RegistrationReject, RegistrationRejectReason, RegistrationRequest, ServiceControlIndication,
    UnregRejectReason, UnregistrationConfirm, UnregistrationReject, UnregistrationRequest,
};
use crate::ras_auth::{self, AuthError, Key};
use crate::tokens::AuthenticationMechanism;

/// Who may register.
#[derive(Clone, Debug)]
pub enum Access {
    /// A traversal server zone: exactly one user, with its key.
    Zone {
        /// The zone's username (the client's `sendersID` and `h323-ID` alias).
        username: String,
        /// Its key.
        key: Key,
    },
    /// RAS port 1719: any endpoint whose token names a user of `keys`; with `open`, also
    /// endpoints that send no token at all.
    Directory {
        /// Keys by username.
        keys: HashMap<String, Key>,
        /// Accept endpoints without a token.
        open: bool,
    },
}

impl Access {
    /// The key of token sender `sender`, if this policy knows it.
    fn key_of(&self, sender: &str) -> Option<Key> {
        match self {
            Access::Zone { username, key } => (sender == username).then_some(*key),
            Access::Directory { keys, .. } => keys.get(sender).copied(),
        }
    }
}

/// Settings of one registrar.
#[derive(Clone, Debug)]
pub struct RegistrarConfig {
    /// Our `gatekeeperIdentifier` (the system name).
    pub gatekeeper_id: String,
    /// Our RAS address as clients reach it (the zone's H.323 port, or 1719).
    pub ras_address: SocketAddr,
    /// Our H.460.18 call-signalling address (TCP 2777) for incoming-call indications.
    pub call_signal_address: SocketAddr,
    /// `timeToLive` granted, seconds.
    pub time_to_live: u32,
    /// Allowed difference between the client's H.235.1 timestamp and our clock, seconds.
    pub clock_tolerance: u64,
    /// Re-send interval of an unanswered SCI.
    pub retry_interval: Duration,
    /// Re-sends of an SCI before the call is given up.
    pub retry_count: u32,
    /// Offer H.460.19 multiplexed media (the zone's demux mode).
    pub multiplex_media: bool,
    /// Who may register.
    pub access: Access,
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// The RAS message.
    pub payload: Vec<u8>,
}

/// Why a registration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Not refreshed within its time to live.
    Expired,
    /// The endpoint unregistered (URQ).
    Unregistered,
    /// The same user registered again (a restarted client).
    Replaced,
}

/// What happened, for the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A registration was accepted (a new one, not a keep-alive).
    Registered {
        /// Our endpoint identifier for it.
        endpoint_id: String,
        /// The authenticated username (empty for an open registration).
        username: String,
        /// Its aliases.
        aliases: Vec<String>,
        /// Where its RAS messages come from (after any NAT).
        from: SocketAddr,
        /// It supports H.460.18.
        traversal: bool,
    },
    /// A keep-alive refreshed a registration.
    Refreshed {
        /// Endpoint identifier.
        endpoint_id: String,
    },
    /// A registration ended.
    Ended {
        /// Endpoint identifier.
        endpoint_id: String,
        /// Why.
        reason: EndReason,
    },
    /// A message was refused or dropped.
    Refused {
        /// Its source.
        from: SocketAddr,
        /// Short reason (the key of [`Registrar::refusals`]).
        reason: &'static str,
        /// Details for the log.
        detail: String,
    },
    /// The endpoint answered an incoming-call indication (SCR).
    IncomingCallAcknowledged {
        /// The call.
        call_id: CallIdentifier,
    },
    /// An incoming-call indication went unanswered.
    IncomingCallFailed {
        /// The call.
        call_id: CallIdentifier,
    },
}

/// One live registration.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Our endpoint identifier.
    pub endpoint_id: String,
    /// Authenticated username ("" when open).
    pub username: String,
    /// Aliases (`h323-ID`, `dialedDigits`, ... as text).
    pub aliases: Vec<String>,
    /// Source of its RAS messages.
    pub ras_from: SocketAddr,
    /// The call-signalling addresses it declared.
    pub call_signal_address: Vec<SocketAddr>,
    /// H.460.18 announced.
    pub traversal: bool,
    /// When it must be refreshed by.
    pub expires: Instant,
    /// When it registered.
    pub since: Instant,
    /// Keep-alives received.
    pub refreshes: u64,
    key: Option<Key>,
}

struct PendingSci {
    endpoint_id: String,
    to: SocketAddr,
    seq: u16,
    call_id: CallIdentifier,
    sends: u32,
    next: Instant,
}

/// The gatekeeper state machine; see the module documentation.
pub struct Registrar {
    config: RegistrarConfig,
    checker: Checker,
    registrations: BTreeMap<String, Registration>,
    pending: Vec<PendingSci>,
    next_seq: u16,
    next_endpoint: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    refusals: BTreeMap<&'static str, u64>,
}

fn alias_text(a: &AliasAddress) -> Option<String> {
    match a {
        AliasAddress::H323Id(s) | AliasAddress::DialledDigits(s) | AliasAddress::UrlId(s) => {
            Some(s.clone())
        }
        AliasAddress::EmailId(s) => Some(s.clone()),
        _ => None,
    }
}

pub(crate) fn random_u32() -> u32 {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 4];
    // An exhausted system RNG is not something a RAS message can fix; 0 still works as a
    // random value (the timestamp differs per second) and the next call tries again.
    let _ = SystemRandom::new().fill(&mut b);
    u32::from_be_bytes(b)
}

/// A fresh call identifier (random GUID, H.225.0 §7.6).
pub fn new_call_identifier() -> CallIdentifier {
    let mut guid = [0u8; 16];
    for c in guid.chunks_mut(4) {
        c.copy_from_slice(&random_u32().to_be_bytes());
    }
    CallIdentifier { guid }
}

impl Registrar {
    /// A registrar with nobody registered.
    pub fn new(config: RegistrarConfig) -> Self {
        Registrar {
            checker: Checker::new(config.clock_tolerance),
            config,
            registrations: BTreeMap::new(),
            pending: Vec::new(),
            next_seq: (random_u32() & 0x7fff) as u16 + 1,
            next_endpoint: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            refusals: BTreeMap::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Live registrations by endpoint identifier.
    pub fn registrations(&self) -> impl Iterator<Item = &Registration> {
        self.registrations.values()
    }

    /// The registration of `username` (a zone has at most one).
    pub fn registration_of(&self, username: &str) -> Option<&Registration> {
        self.registrations.values().find(|r| r.username == username)
    }

    /// The registration with alias `alias`.
    pub fn registration_by_alias(&self, alias: &str) -> Option<&Registration> {
        self.registrations
            .values()
            .find(|r| r.aliases.iter().any(|a| a == alias))
    }

    /// Refusals so far, by reason (`malformed`, `no-token`, `unknown-user`, `wrong-password`,
    /// `clock-skew`, `replay`, `unknown-endpoint`, `unsupported`).
    pub fn refusals(&self) -> &BTreeMap<&'static str, u64> {
        &self.refusals
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Registrar::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let exp = self.registrations.values().map(|r| r.expires).min();
        let sci = self.pending.iter().map(|p| p.next).min();
        match (exp, sci) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn refuse(&mut self, from: SocketAddr, reason: &'static str, detail: String) {
        *self.refusals.entry(reason).or_default() += 1;
        self.events.push_back(Event::Refused {
            from,
            reason,
            detail,
        });
    }

    fn seq(&mut self) -> u16 {
        let s = self.next_seq;
        self.next_seq = if s >= 65534 { 1 } else { s + 1 };
        s
    }

    fn send(&mut self, to: SocketAddr, msg: RasMessage, key: Option<&Key>) {
        let payload = match key {
            Some(k) => ras_auth::seal(&msg, k),
            None => msg.encode(),
        };
        self.transmits.push_back(Transmit { to, payload });
    }

    fn features(&self) -> FeatureSet {
        FeatureSet {
            replacement_feature_set: false,
            needed_features: None,
            desired_features: None,
            supported_features: Some(vec![
                h460_18_feature(),
                h460_19_feature(self.config.multiplex_media, true),
            ]),
        }
    }

    /// Our token toward an endpoint, if we have its key.
    fn our_tokens(
        &self,
        endpoint: &str,
        key: Option<&Key>,
        unix_now: u64,
    ) -> Option<Vec<crate::tokens::CryptoH323Token>> {
        key.map(|_| {
            vec![ras_auth::token(
                endpoint,
                &self.config.gatekeeper_id,
                unix_now,
                random_u32(),
            )]
        })
    }

    /// Looks up the key for a token's sender under our access policy.
    fn open(&self) -> bool {
        matches!(self.config.access, Access::Directory { open: true, .. })
    }

    /// Authenticates `msg`: `Ok(Some((user, key)))` when it carried a valid token, `Ok(None)`
    /// for an accepted open (token-less) registration.
    fn authenticate(
        &mut self,
        bytes: &[u8],
        msg: &RasMessage,
        unix_now: u64,
    ) -> Result<Option<(String, Key)>, AuthError> {
        if ras_auth::presented(msg).is_none() && self.open() {
            return Ok(None);
        }
        let access = &self.config.access;
        let p = ras_auth::check(
            bytes,
            msg,
            |s| access.key_of(s),
            &mut self.checker,
            unix_now,
        )?;
        Ok(access.key_of(&p.sender).map(|k| (p.sender, k)))
    }

    /// A datagram from `from` arrived on the RAS socket.
    pub fn handle_datagram(&mut self, from: SocketAddr, bytes: &[u8], now: Instant, unix_now: u64) {
        let msg = match RasMessage::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.refuse(from, "malformed", format!("undecodable RAS message: {e}"));
                return;
            }
        };
        match msg {
            RasMessage::GatekeeperRequest(ref grq) => self.on_grq(from, grq, unix_now),
            RasMessage::RegistrationRequest(ref rrq) => {
                self.on_rrq(from, bytes, &msg, rrq, now, unix_now)
            }
            RasMessage::UnregistrationRequest(ref urq) => {
                self.on_urq(from, bytes, &msg, urq, unix_now)
            }
            RasMessage::ServiceControlResponse(ref scr) => {
                let seq = scr.request_seq_num;
                let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.seq == seq && p.to == from)
                else {
                    // A late answer to an SCI already answered or given up.
                    return;
                };
                let ep = self.pending[i].endpoint_id.clone();
                if let Some(key) = self.registrations.get(&ep).and_then(|r| r.key) {
                    if let Err(e) =
                        ras_auth::check(bytes, &msg, |_| Some(key), &mut self.checker, unix_now)
                    {
                        self.refuse(from, e.reason(), format!("SCR: {e}"));
                        return;
                    }
                }
                let p = self.pending.remove(i);
                self.events
                    .push_back(Event::IncomingCallAcknowledged { call_id: p.call_id });
            }
            other => {
                self.refuse(
                    from,
                    "unsupported",
                    format!("{} is not handled here", other.name()),
                );
            }
        }
    }

    fn on_grq(&mut self, from: SocketAddr, grq: &crate::ras::GatekeeperRequest, _unix: u64) {
        if let Some(id) = &grq.gatekeeper_identifier {
            if id != &self.config.gatekeeper_id {
                let mut grj = GatekeeperReject::new(
                    grq.request_seq_num,
                    GatekeeperRejectReason::TerminalExcluded,
                );
                grj.gatekeeper_identifier = Some(self.config.gatekeeper_id.clone());
                self.send(from, RasMessage::GatekeeperReject(grj), None);
                return;
            }
        }
        let gcf = GatekeeperConfirm {
            request_seq_num: grq.request_seq_num,
            protocol_identifier: ProtocolIdentifier::default(),
            gatekeeper_identifier: Some(self.config.gatekeeper_id.clone()),
            ras_address: TransportAddress::from(v4(self.config.ras_address)),
            authentication_mode: Some(AuthenticationMechanism::PwdHash),
            algorithm_oid: Some(Oid::new(OID_U)),
            feature_set: Some(self.features()),
            ..Default::default()
        };
        self.send(from, RasMessage::GatekeeperConfirm(gcf), None);
    }

    fn reject_rrq(
        &mut self,
        from: SocketAddr,
        seq: u16,
        reason: RegistrationRejectReason,
        key: Option<&Key>,
    ) {
        let mut rrj = RegistrationReject::new(seq, reason);
        rrj.gatekeeper_identifier = Some(self.config.gatekeeper_id.clone());
        self.send(from, RasMessage::RegistrationReject(rrj), key);
    }

    fn on_rrq(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        msg: &RasMessage,
        rrq: &RegistrationRequest,
        now: Instant,
        unix_now: u64,
    ) {
        let seq = rrq.request_seq_num;
        let auth = match self.authenticate(bytes, msg, unix_now) {
            Ok(a) => a,
            Err(e) => {
                self.refuse(from, e.reason(), format!("RRQ: {e}"));
                self.reject_rrq(
                    from,
                    seq,
                    RegistrationRejectReason::SecurityError(e.security_error()),
                    None,
                );
                return;
            }
        };
        let key = auth.as_ref().map(|(_, k)| *k);
        let username = auth.map(|(u, _)| u).unwrap_or_default();
        let ttl = rrq
            .time_to_live
            .map(|t| t.min(self.config.time_to_live))
            .unwrap_or(self.config.time_to_live)
            .max(1);
        let lifetime = self.lifetime(ttl);
        if rrq.keep_alive {
            let known = rrq
                .endpoint_identifier
                .as_ref()
                .and_then(|id| self.registrations.get(id))
                .filter(|r| r.username == username)
                .map(|r| r.endpoint_id.clone());
            let Some(ep) = known else {
                self.refuse(
                    from,
                    "unknown-endpoint",
                    format!(
                        "keep-alive RRQ for {:?}, which is not registered",
                        rrq.endpoint_identifier
                    ),
                );
                self.reject_rrq(
                    from,
                    seq,
                    RegistrationRejectReason::FullRegistrationRequired,
                    key.as_ref(),
                );
                return;
            };
            if let Some(r) = self.registrations.get_mut(&ep) {
                r.expires = now + lifetime;
                r.ras_from = from;
                r.refreshes += 1;
            }
            let rcf = RegistrationConfirm {
                request_seq_num: seq,
                protocol_identifier: ProtocolIdentifier::default(),
                call_signal_address: vec![TransportAddress::from(v4(self
                    .config
                    .call_signal_address))],
                gatekeeper_identifier: Some(self.config.gatekeeper_id.clone()),
                endpoint_identifier: ep.clone(),
                time_to_live: Some(ttl),
                crypto_tokens: self.our_tokens(&ep, key.as_ref(), unix_now),
                ..Default::default()
            };
            self.send(from, RasMessage::RegistrationConfirm(rcf), key.as_ref());
            self.events.push_back(Event::Refreshed { endpoint_id: ep });
            return;
        }
        // A full registration.
        let aliases: Vec<String> = rrq
            .terminal_alias
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(alias_text)
            .collect();
        if matches!(self.config.access, Access::Zone { .. })
            && !aliases.is_empty()
            && !aliases.contains(&username)
        {
            // The zone client registers as its username; anything else is a misconfiguration.
            self.refuse(
                from,
                "invalid-alias",
                format!("RRQ aliases {aliases:?} do not include the zone user {username:?}"),
            );
            self.reject_rrq(
                from,
                seq,
                RegistrationRejectReason::InvalidAlias,
                key.as_ref(),
            );
            return;
        }
        let traversal = rrq
            .feature_set
            .as_ref()
            .map(|f| f.has(H460_18))
            .unwrap_or(false);
        // A new registration of the same user (a restarted client), or of the same aliases,
        // replaces the old one.
        let replaced: Vec<String> = self
            .registrations
            .values()
            .filter(|r| {
                (!username.is_empty() && r.username == username)
                    || (username.is_empty() && r.aliases.iter().any(|a| aliases.contains(a)))
            })
            .map(|r| r.endpoint_id.clone())
            .collect();
        for id in replaced {
            self.end(&id, EndReason::Replaced);
        }
        let endpoint_id = format!("{:x}-{}", random_u32(), self.next_endpoint);
        self.next_endpoint += 1;
        let call_signal_address = rrq
            .call_signal_address
            .iter()
            .filter_map(|a| a.ipv4().map(SocketAddr::V4))
            .collect();
        self.registrations.insert(
            endpoint_id.clone(),
            Registration {
                endpoint_id: endpoint_id.clone(),
                username: username.clone(),
                aliases: aliases.clone(),
                ras_from: from,
                call_signal_address,
                traversal,
                expires: now + lifetime,
                since: now,
                refreshes: 0,
                key,
            },
        );
        let rcf = RegistrationConfirm {
            request_seq_num: seq,
            protocol_identifier: ProtocolIdentifier::default(),
            call_signal_address: vec![TransportAddress::from(v4(self.config.call_signal_address))],
            terminal_alias: rrq.terminal_alias.clone(),
            gatekeeper_identifier: Some(self.config.gatekeeper_id.clone()),
            endpoint_identifier: endpoint_id.clone(),
            time_to_live: Some(ttl),
            crypto_tokens: self.our_tokens(&endpoint_id, key.as_ref(), unix_now),
            feature_set: traversal.then(|| self.features()),
            ..Default::default()
        };
        self.send(from, RasMessage::RegistrationConfirm(rcf), key.as_ref());
        self.events.push_back(Event::Registered {
            endpoint_id,
            username,
            aliases,
            from,
            traversal,
        });
    }

    fn on_urq(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        msg: &RasMessage,
        urq: &UnregistrationRequest,
        unix_now: u64,
    ) {
        let seq = urq.request_seq_num;
        let auth = match self.authenticate(bytes, msg, unix_now) {
            Ok(a) => a,
            Err(e) => {
                self.refuse(from, e.reason(), format!("URQ: {e}"));
                let urj = UnregistrationReject::new(
                    seq,
                    UnregRejectReason::SecurityError(e.security_error2()),
                );
                self.send(from, RasMessage::UnregistrationReject(urj), None);
                return;
            }
        };
        let username = auth.as_ref().map(|(u, _)| u.clone()).unwrap_or_default();
        let key = auth.map(|(_, k)| k);
        let ep = urq
            .endpoint_identifier
            .as_ref()
            .and_then(|id| self.registrations.get(id))
            .filter(|r| r.username == username)
            .map(|r| r.endpoint_id.clone());
        match ep {
            Some(ep) => {
                self.end(&ep, EndReason::Unregistered);
                let ucf = UnregistrationConfirm {
                    request_seq_num: seq,
                    ..Default::default()
                };
                self.send(from, RasMessage::UnregistrationConfirm(ucf), key.as_ref());
            }
            None => {
                self.refuse(
                    from,
                    "unknown-endpoint",
                    format!("URQ for {:?}, not registered", urq.endpoint_identifier),
                );
                let urj = UnregistrationReject::new(seq, UnregRejectReason::NotCurrentlyRegistered);
                self.send(from, RasMessage::UnregistrationReject(urj), key.as_ref());
            }
        }
    }

    /// Grace beyond the time to live: the client's keep-alive and its re-sends may be late
    /// by up to the re-send window before the registration lapses.
    fn lifetime(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl))
            + self.config.retry_interval * (self.config.retry_count + 1)
    }

    fn end(&mut self, endpoint_id: &str, reason: EndReason) {
        if self.registrations.remove(endpoint_id).is_some() {
            let mut failed = Vec::new();
            self.pending.retain(|p| {
                if p.endpoint_id == endpoint_id {
                    failed.push(p.call_id);
                    false
                } else {
                    true
                }
            });
            self.events.push_back(Event::Ended {
                endpoint_id: endpoint_id.to_string(),
                reason,
            });
            for call_id in failed {
                self.events.push_back(Event::IncomingCallFailed { call_id });
            }
        }
    }

    /// Sends the incoming-call indication for `call_id` to `endpoint_id`: "open a
    /// call-signalling connection to our H.460.18 port for this call". Fails when the
    /// endpoint is not registered.
    pub fn incoming_call(
        &mut self,
        endpoint_id: &str,
        call_id: CallIdentifier,
        now: Instant,
        unix_now: u64,
    ) -> Result<(), NotRegistered> {
        let Some(r) = self.registrations.get(endpoint_id) else {
            return Err(NotRegistered);
        };
        let to = r.ras_from;
        let seq = self.seq();
        let mut p = PendingSci {
            endpoint_id: endpoint_id.to_string(),
            to,
            seq,
            call_id,
            sends: 0,
            next: now,
        };
        self.send_sci(&mut p, now, unix_now);
        self.pending.push(p);
        Ok(())
    }

    fn send_sci(&mut self, p: &mut PendingSci, now: Instant, unix_now: u64) {
        let key = self.registrations.get(&p.endpoint_id).and_then(|r| r.key);
        let indication = IncomingCallIndication {
            call_signalling_address: TransportAddress::from(v4(self.config.call_signal_address)),
            call_id: p.call_id,
        };
        let mut sci = ServiceControlIndication::incoming_call(p.seq, &indication);
        sci.endpoint_identifier = Some(p.endpoint_id.clone());
        // Every send has a fresh token: a re-send must not look like a replay.
        sci.crypto_tokens = self.our_tokens(&p.endpoint_id, key.as_ref(), unix_now);
        self.send(
            p.to,
            RasMessage::ServiceControlIndication(sci),
            key.as_ref(),
        );
        p.sends += 1;
        p.next = now + self.config.retry_interval;
    }

    /// Fires expired timers: registration lifetimes and SCI re-sends.
    pub fn handle_timeout(&mut self, now: Instant, unix_now: u64) {
        let expired: Vec<String> = self
            .registrations
            .values()
            .filter(|r| r.expires <= now)
            .map(|r| r.endpoint_id.clone())
            .collect();
        for id in expired {
            self.end(&id, EndReason::Expired);
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.retain_mut(|p| {
            if p.next > now {
                return true;
            }
            if p.sends > self.config.retry_count {
                self.events
                    .push_back(Event::IncomingCallFailed { call_id: p.call_id });
                return false;
            }
            self.send_sci(p, now, unix_now);
            true
        });
        pending.append(&mut self.pending);
        self.pending = pending;
    }
}

/// The endpoint of an incoming-call indication is not registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("endpoint not registered")]
pub struct NotRegistered;

/// The IPv4 form of an address (H.225 transport addresses here are IPv4; an IPv6 address
/// maps to 0.0.0.0, which a runtime on IPv6 must not hand out).
pub(crate) fn v4(a: SocketAddr) -> std::net::SocketAddrV4 {
    match a {
        SocketAddr::V4(v) => v,
        SocketAddr::V6(v) => std::net::SocketAddrV4::new(
            v.ip()
                .to_ipv4_mapped()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            v.port(),
        ),
    }
}
