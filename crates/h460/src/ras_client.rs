//! The endpoint side of H.460.18 RAS, sans-IO: what exp-c (or an exp-e chained behind
//! another) runs toward a traversal server zone's H.323 port.
//!
//! It discovers the gatekeeper (GRQ/GCF), registers with an H.235.1-sealed RRQ announcing
//! H.460.18/19, keeps the registration — and the firewall's UDP pinhole — alive with
//! lightweight keep-alive RRQs before the granted `timeToLive` lapses (H.460.18 §7.3), and
//! answers the server's incoming-call indication (SCI, H.460.18 §7.4) with an SCR, handing
//! the runtime the address to open the call-signalling connection to.
//!
//! Connection supervision — attempts, peer rotation, back-off, keep-alive re-sends, the
//! reported state — is the same [`ZoneProbe`] as the SIP zones': a UDP "connection" is up at
//! once, the handshake is GRQ…RCF, a probe is a keep-alive RRQ and its answer the RCF. The
//! keep-alive interval is the zone's probe interval, shortened when the server grants a
//! `timeToLive` that would lapse before a keep-alive and all its re-sends.
//!
//! The server must authenticate too: RCF and SCI are accepted only with a valid H.235.1 token
//! under the zone key, so nobody else can make exp-c open connections.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exp_probe::{Action, ProbeConfig, ZoneProbe, ZoneState};

use crate::features::{h460_18_feature, h460_19_feature};
use crate::h225::{
    AliasAddress, CallIdentifier, EndpointType, FeatureSet, ProtocolIdentifier, TransportAddress,
    VendorIdentifier,
};
use crate::h235::Checker;
use crate::per::Oid;
use crate::ras::{
    GatekeeperRequest, RasMessage, RegistrationRejectReason, RegistrationRequest,
    ServiceControlResponse,
};
use crate::ras_auth::{self, describe_security_error, Key};
use crate::ras_server::{random_u32, v4};
use crate::tokens::AuthenticationMechanism;

/// Settings of one client zone's RAS side.
#[derive(Clone, Debug)]
pub struct RasClientConfig {
    /// The zone username (`h323-ID` alias and H.235.1 `sendersID`).
    pub username: String,
    /// SHA-1 of the zone password.
    pub key: Key,
    /// The zone's probe settings (CRLF settings are not used).
    pub probe: ProbeConfig,
    /// Number of configured peers (1 to 6).
    pub peers: usize,
    /// Our RAS address as we know it (the server answers to the datagrams' source).
    pub local_ras: SocketAddr,
    /// Our call-signalling address as we know it (informative: H.460.18 calls come over
    /// connections we open).
    pub local_call_signal: SocketAddr,
    /// Ask for H.460.19 multiplexed media (the zone's demux mode).
    pub multiplex_media: bool,
    /// Allowed difference between the server's timestamps and our clock, seconds.
    pub clock_tolerance: u64,
}

/// A datagram for the current peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Index of the peer (the one of the latest [`ClientEvent::Connect`]).
    pub peer: usize,
    /// The RAS message.
    pub payload: Vec<u8>,
}

/// What happened, for the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Datagrams now go to peer `peer`; accept RAS only from it.
    Connect {
        /// Peer index.
        peer: usize,
    },
    /// Registered: the zone is active.
    Up {
        /// The server's gatekeeper identifier.
        gatekeeper_id: String,
        /// Our endpoint identifier.
        endpoint_id: String,
        /// Granted time to live, seconds.
        time_to_live: u32,
        /// Keep-alive interval in use.
        keepalive: Duration,
        /// The server's H.460.18 call-signalling address, from the RCF.
        call_signal_address: Option<SocketAddr>,
    },
    /// The zone left `Active` (probe timeout, refused keep-alive, …).
    Down {
        /// Why.
        reason: String,
    },
    /// The server refused our registration.
    Refused {
        /// Why, as the server said it (`wrong password`, `clock skew …`).
        reason: String,
    },
    /// The server has a call for us: open a call-signalling connection to
    /// `call_signal_address` and bind it to `call_id` with a Facility.
    IncomingCall {
        /// Where to connect.
        call_signal_address: SocketAddr,
        /// The call.
        call_id: CallIdentifier,
    },
    /// A message from the server was dropped.
    Dropped {
        /// Short reason.
        reason: &'static str,
        /// Details for the log.
        detail: String,
    },
}

#[derive(Debug)]
enum Phase {
    /// No attempt running (backing off).
    Idle,
    /// GRQ sent.
    Discovering { seq: u16, resend: Instant },
    /// RRQ sent.
    Registering {
        seq: u16,
        gatekeeper_id: String,
        resend: Instant,
    },
    /// RCF received.
    Registered {
        gatekeeper_id: String,
        endpoint_id: String,
        time_to_live: u32,
        /// Keep-alive RRQs in flight: (RAS sequence number, probe sequence number).
        in_flight: VecDeque<(u16, u64)>,
    },
}

/// The client state machine; see the module documentation.
pub struct RasClient {
    config: RasClientConfig,
    probe: ZoneProbe,
    phase: Phase,
    checker: Checker,
    next_seq: u16,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    /// Calls already indicated (an SCI re-sent because our SCR was lost is answered again
    /// but not reported twice).
    recent_calls: VecDeque<CallIdentifier>,
    last_refusal: Option<String>,
}

fn vendor() -> VendorIdentifier {
    VendorIdentifier {
        product_id: Some(b"exp".to_vec()),
        version_id: Some(env!("CARGO_PKG_VERSION").as_bytes().to_vec()),
        ..Default::default()
    }
}

impl RasClient {
    /// A client that starts its first attempt at `now`.
    pub fn new(config: RasClientConfig, now: Instant, unix_now: u64) -> Self {
        let mut probe_config = config.probe;
        probe_config.crlf_interval = None;
        let mut c = RasClient {
            probe: ZoneProbe::new(probe_config, config.peers, now),
            checker: Checker::new(config.clock_tolerance),
            config,
            phase: Phase::Idle,
            next_seq: (random_u32() & 0x7fff) as u16 + 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            recent_calls: VecDeque::new(),
            last_refusal: None,
        };
        c.drive(now, unix_now);
        c
    }

    /// The zone state as the probe machine reports it.
    pub fn state(&self) -> ZoneState {
        self.probe.state()
    }

    /// The probe machine (reconnects, round trip, back-off) for status.
    pub fn probe(&self) -> &ZoneProbe {
        &self.probe
    }

    /// The current peer index.
    pub fn current_peer(&self) -> usize {
        self.probe.current_peer()
    }

    /// Our endpoint identifier while registered.
    pub fn endpoint_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Registered { endpoint_id, .. } => Some(endpoint_id),
            _ => None,
        }
    }

    /// The server's last refusal, as it said it.
    pub fn last_refusal(&self) -> Option<&str> {
        self.last_refusal.as_deref()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`RasClient::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let resend = match &self.phase {
            Phase::Discovering { resend, .. } | Phase::Registering { resend, .. } => Some(*resend),
            _ => None,
        };
        match (self.probe.poll_timeout(), resend) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn seq(&mut self) -> u16 {
        let s = self.next_seq;
        self.next_seq = if s >= 65534 { 1 } else { s + 1 };
        s
    }

    fn send(&mut self, msg: RasMessage, sealed: bool) {
        let payload = if sealed {
            ras_auth::seal(&msg, &self.config.key)
        } else {
            msg.encode()
        };
        self.transmits.push_back(Transmit {
            peer: self.probe.current_peer(),
            payload,
        });
    }

    fn features(&self) -> FeatureSet {
        FeatureSet {
            replacement_feature_set: false,
            needed_features: None,
            desired_features: None,
            supported_features: Some(vec![
                h460_18_feature(),
                h460_19_feature(self.config.multiplex_media, false),
            ]),
        }
    }

    fn resend_interval(&self) -> Duration {
        // Several tries within one connect timeout, as RAS over UDP may lose a datagram.
        (self.config.probe.connect_timeout / 4)
            .min(self.config.probe.retry_interval)
            .max(Duration::from_millis(50))
    }

    fn send_grq(&mut self, seq: u16) {
        let grq = GatekeeperRequest {
            request_seq_num: seq,
            protocol_identifier: ProtocolIdentifier::default(),
            ras_address: TransportAddress::from(v4(self.config.local_ras)),
            endpoint_type: EndpointType::terminal(),
            endpoint_alias: Some(vec![AliasAddress::H323Id(self.config.username.clone())]),
            authentication_capability: Some(vec![AuthenticationMechanism::PwdHash]),
            algorithm_oids: Some(vec![Oid::new(crate::h235::OID_U)]),
            feature_set: Some(self.features()),
            ..Default::default()
        };
        self.send(RasMessage::GatekeeperRequest(grq), false);
    }

    fn rrq(&self, seq: u16, gatekeeper_id: &str, unix_now: u64) -> RegistrationRequest {
        RegistrationRequest {
            request_seq_num: seq,
            protocol_identifier: ProtocolIdentifier::default(),
            discovery_complete: true,
            call_signal_address: vec![TransportAddress::from(v4(self.config.local_call_signal))],
            ras_address: vec![TransportAddress::from(v4(self.config.local_ras))],
            terminal_type: EndpointType::terminal(),
            gatekeeper_identifier: Some(gatekeeper_id.to_string()),
            endpoint_vendor: vendor(),
            // The sendersID stays the username after registration too, so the server finds
            // the key the same way for every message.
            crypto_tokens: Some(vec![ras_auth::token(
                gatekeeper_id,
                &self.config.username,
                unix_now,
                random_u32(),
            )]),
            ..Default::default()
        }
    }

    fn send_rrq(&mut self, seq: u16, gatekeeper_id: &str, unix_now: u64) {
        let mut rrq = self.rrq(seq, gatekeeper_id, unix_now);
        rrq.terminal_alias = Some(vec![AliasAddress::H323Id(self.config.username.clone())]);
        rrq.feature_set = Some(self.features());
        rrq.keep_alive = false;
        self.send(RasMessage::RegistrationRequest(rrq), true);
    }

    /// Carries out what the probe machine asks for.
    fn drive(&mut self, now: Instant, unix_now: u64) {
        while let Some(a) = self.probe.poll_action() {
            match a {
                Action::Connect { peer } => {
                    self.events.push_back(ClientEvent::Connect { peer });
                    // UDP: nothing to connect; the handshake starts at once.
                    self.probe.handle_connected(now);
                    let seq = self.seq();
                    self.send_grq(seq);
                    self.phase = Phase::Discovering {
                        seq,
                        resend: now + self.resend_interval(),
                    };
                }
                Action::SendProbe { seq: probe_seq } => {
                    let Phase::Registered {
                        gatekeeper_id,
                        endpoint_id,
                        time_to_live,
                        ..
                    } = &self.phase
                    else {
                        continue;
                    };
                    let (gk, ep, ttl) = (gatekeeper_id.clone(), endpoint_id.clone(), *time_to_live);
                    let ras_seq = self.seq();
                    let mut rrq = self.rrq(ras_seq, &gk, unix_now);
                    rrq.keep_alive = true;
                    rrq.endpoint_identifier = Some(ep);
                    rrq.time_to_live = Some(ttl);
                    self.send(RasMessage::RegistrationRequest(rrq), true);
                    if let Phase::Registered { in_flight, .. } = &mut self.phase {
                        if in_flight.len() >= 16 {
                            in_flight.pop_front();
                        }
                        in_flight.push_back((ras_seq, probe_seq));
                    }
                }
                Action::SendPing => {}
                Action::Close { reason } => {
                    if matches!(self.phase, Phase::Registered { .. }) {
                        self.events.push_back(ClientEvent::Down {
                            reason: reason.as_str().to_string(),
                        });
                    }
                    self.phase = Phase::Idle;
                }
            }
        }
    }

    fn lost(&mut self, reason: String, now: Instant, unix_now: u64) {
        if matches!(self.phase, Phase::Registered { .. }) {
            self.events.push_back(ClientEvent::Down { reason });
        }
        self.phase = Phase::Idle;
        self.probe.handle_connection_lost(now);
        self.drive(now, unix_now);
    }

    fn refused(&mut self, reason: String, now: Instant, unix_now: u64) {
        self.last_refusal = Some(reason.clone());
        self.events.push_back(ClientEvent::Refused { reason });
        let was_registered = matches!(self.phase, Phase::Registered { .. });
        self.phase = Phase::Idle;
        if was_registered {
            self.probe.handle_connection_lost(now);
        } else {
            self.probe.handle_auth_failed(now);
        }
        self.drive(now, unix_now);
    }

    /// Checks the server's token; `false` (with a `Dropped` event) when it fails.
    fn server_authentic(&mut self, bytes: &[u8], msg: &RasMessage, unix_now: u64) -> bool {
        let key = self.config.key;
        match ras_auth::check(bytes, msg, |_| Some(key), &mut self.checker, unix_now) {
            Ok(_) => true,
            Err(e) => {
                self.events.push_back(ClientEvent::Dropped {
                    reason: e.reason(),
                    detail: format!("{} from the server: {e}", msg.name()),
                });
                false
            }
        }
    }

    /// A datagram from the current peer.
    pub fn handle_datagram(&mut self, bytes: &[u8], now: Instant, unix_now: u64) {
        let msg = match RasMessage::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.events.push_back(ClientEvent::Dropped {
                    reason: "malformed",
                    detail: format!("undecodable RAS message: {e}"),
                });
                return;
            }
        };
        match (&msg, &self.phase) {
            (RasMessage::GatekeeperConfirm(gcf), Phase::Discovering { seq, .. })
                if gcf.request_seq_num == *seq =>
            {
                let gk = gcf.gatekeeper_identifier.clone().unwrap_or_default();
                let seq = self.seq();
                self.send_rrq(seq, &gk, unix_now);
                self.phase = Phase::Registering {
                    seq,
                    gatekeeper_id: gk,
                    resend: now + self.resend_interval(),
                };
            }
            (RasMessage::GatekeeperReject(grj), Phase::Discovering { seq, .. })
                if grj.request_seq_num == *seq =>
            {
                let reason = format!("gatekeeper refused discovery: {:?}", grj.reject_reason);
                self.refused(reason, now, unix_now);
            }
            (RasMessage::RegistrationConfirm(rcf), Phase::Registering { seq, .. })
                if rcf.request_seq_num == *seq =>
            {
                if !self.server_authentic(bytes, &msg, unix_now) {
                    return;
                }
                let Phase::Registering { gatekeeper_id, .. } =
                    std::mem::replace(&mut self.phase, Phase::Idle)
                else {
                    return;
                };
                let ttl = rcf.time_to_live.unwrap_or(60).max(1);
                let keepalive = self.keepalive_for(ttl);
                self.probe.set_keepalive_interval(keepalive);
                self.phase = Phase::Registered {
                    gatekeeper_id: gatekeeper_id.clone(),
                    endpoint_id: rcf.endpoint_identifier.clone(),
                    time_to_live: ttl,
                    in_flight: VecDeque::new(),
                };
                self.last_refusal = None;
                self.probe.handle_authenticated(now);
                self.events.push_back(ClientEvent::Up {
                    gatekeeper_id,
                    endpoint_id: rcf.endpoint_identifier.clone(),
                    time_to_live: ttl,
                    keepalive,
                    call_signal_address: rcf
                        .call_signal_address
                        .iter()
                        .find_map(|a| a.ipv4())
                        .map(SocketAddr::V4),
                });
                self.drive(now, unix_now);
            }
            (RasMessage::RegistrationConfirm(rcf), Phase::Registered { in_flight, .. }) => {
                let Some(&(_, probe_seq)) =
                    in_flight.iter().find(|(s, _)| *s == rcf.request_seq_num)
                else {
                    return;
                };
                if !self.server_authentic(bytes, &msg, unix_now) {
                    return;
                }
                self.probe.handle_probe_answer(probe_seq, now);
                self.drive(now, unix_now);
            }
            (RasMessage::RegistrationReject(rrj), phase) => {
                let ours = match phase {
                    Phase::Registering { seq, .. } => rrj.request_seq_num == *seq,
                    Phase::Registered { in_flight, .. } => {
                        in_flight.iter().any(|(s, _)| *s == rrj.request_seq_num)
                    }
                    _ => false,
                };
                if !ours {
                    return;
                }
                match &rrj.reject_reason {
                    RegistrationRejectReason::FullRegistrationRequired => {
                        self.lost(
                            "the server requires a full registration".into(),
                            now,
                            unix_now,
                        );
                    }
                    RegistrationRejectReason::SecurityError(e) => {
                        self.refused(describe_security_error(e).to_string(), now, unix_now);
                    }
                    RegistrationRejectReason::SecurityDenial => {
                        self.refused("security denial".into(), now, unix_now);
                    }
                    other => {
                        self.refused(format!("registration rejected: {other:?}"), now, unix_now);
                    }
                }
            }
            (RasMessage::ServiceControlIndication(sci), Phase::Registered { .. }) => {
                let indication = match sci.incoming_call_indication() {
                    Ok(Some(i)) => i,
                    Ok(None) => return,
                    Err(e) => {
                        self.events.push_back(ClientEvent::Dropped {
                            reason: "malformed",
                            detail: format!("SCI with a bad incoming-call indication: {e}"),
                        });
                        return;
                    }
                };
                if !self.server_authentic(bytes, &msg, unix_now) {
                    return;
                }
                let Some(addr) = indication.call_signalling_address.ipv4() else {
                    self.events.push_back(ClientEvent::Dropped {
                        reason: "unsupported",
                        detail: "incoming-call indication without an IPv4 address".into(),
                    });
                    return;
                };
                let gk = match &self.phase {
                    Phase::Registered { gatekeeper_id, .. } => gatekeeper_id.clone(),
                    _ => String::new(),
                };
                let scr = ServiceControlResponse {
                    request_seq_num: sci.request_seq_num,
                    crypto_tokens: Some(vec![ras_auth::token(
                        &gk,
                        &self.config.username,
                        unix_now,
                        random_u32(),
                    )]),
                    ..Default::default()
                };
                self.send(RasMessage::ServiceControlResponse(scr), true);
                if !self.recent_calls.contains(&indication.call_id) {
                    if self.recent_calls.len() >= 64 {
                        self.recent_calls.pop_front();
                    }
                    self.recent_calls.push_back(indication.call_id);
                    self.events.push_back(ClientEvent::IncomingCall {
                        call_signal_address: SocketAddr::V4(addr),
                        call_id: indication.call_id,
                    });
                }
            }
            _ => {
                // Late answers of earlier attempts, or messages for another phase.
            }
        }
    }

    /// The keep-alive interval for a granted time to live: the configured one, shortened so
    /// that a keep-alive and all its re-sends fit in `ttl` (never below half of it).
    fn keepalive_for(&self, ttl: u32) -> Duration {
        let ttl = Duration::from_secs(u64::from(ttl));
        let window = self.config.probe.retry_interval * (self.config.probe.retry_count + 1);
        let fit = ttl.saturating_sub(window).max(ttl / 2);
        self.config.probe.keepalive_interval.min(fit)
    }

    /// Fires expired timers.
    pub fn handle_timeout(&mut self, now: Instant, unix_now: u64) {
        let resend_due = match &self.phase {
            Phase::Discovering { resend, .. } | Phase::Registering { resend, .. } => *resend <= now,
            _ => false,
        };
        if resend_due {
            let next = now + self.resend_interval();
            match &mut self.phase {
                Phase::Discovering { seq, resend } => {
                    *resend = next;
                    let s = *seq;
                    self.send_grq(s);
                }
                Phase::Registering {
                    seq,
                    gatekeeper_id,
                    resend,
                } => {
                    *resend = next;
                    let (s, gk) = (*seq, gatekeeper_id.clone());
                    // A fresh token (timestamp, random): the server refuses a replay.
                    self.send_rrq(s, &gk, unix_now);
                }
                _ => {}
            }
        }
        self.probe.handle_timeout(now);
        self.drive(now, unix_now);
    }
}
