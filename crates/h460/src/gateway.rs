//! Routed H.225.0 call signalling between two legs, sans-IO: the H.323 counterpart of the
//! SIP B2BUA. Each call has a leg toward the caller (A) and one toward the callee (B), each
//! its own call-signalling channel (a TCP connection carrying TPKT/Q.931) with its own call
//! reference. A message from one leg is passed to the other with that leg's call reference;
//! its H323-UserInformation is rebuilt on the way:
//! - H.245 stays tunnelled in the call-signalling channel (`h245Tunnelling` on, no
//!   `h245Address`: no separate H.245 connection ever has to cross the firewall), and each
//!   tunnelled H.245 message goes through [`Env::h245`], which anchors the media (the
//!   logical channels' addresses are rewritten, H.460.19 traversal parameters added or
//!   removed);
//! - Fast Connect proposals (`fastStart`) are removed, so media is always opened by H.245
//!   OpenLogicalChannel, which the anchor rewrites; endpoints fall back to it (H.323 §8.1.7);
//! - Setup loses the caller's and callee's signalling addresses (they name hosts on the
//!   other side of the firewall) and carries the endpoint identifier the route asks for.
//!
//! The H.460.18 parts (H.460.18 §8): on exp-e a call for a traversal zone is *parked* while
//! the zone's client is asked (through the RAS incoming-call indication) to open a channel;
//! the client's first message on that channel is a Facility with the call identifier, which
//! binds the channel to the call, and the Setup goes down it. On exp-c the indication makes
//! the gateway open a channel to exp-e and send that Facility; exp-e's Setup then arrives on
//! it as a new call. Calls from the LAN go up a channel exp-c opens, Setup first.
//!
//! The runtime owns the sockets: it reports accepted and connected channels and received
//! Q.931 messages (TPKT already removed), and carries out [`Output`]s.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::cs::{
    self, FacilityReason, FacilityUuie, H323UserInformation, MessageBody, ReleaseCompleteReason,
    ReleaseCompleteUuie,
};
use crate::h225::{AliasAddress, CallIdentifier};
use crate::q931::{self, CallRef, Cause, Ie, MessageType};
use crate::tpkt;

/// A call-signalling channel (one TCP connection), numbered by the gateway.
pub type ChannelId = u64;

/// A call, numbered by the gateway.
pub type CallKey = u64;

/// The side of a call: A toward the caller, B toward the callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Toward the caller.
    A,
    /// Toward the callee.
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// What is at the far end of a leg.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// An endpoint, gateway or gatekeeper-routed peer reached directly.
    Net(SocketAddr),
    /// The traversal client of our server zone `0` (exp-e side).
    ServerZone(String),
    /// The traversal server of our client zone `0` (exp-c side).
    ClientZone(String),
}

impl Peer {
    /// The zone name, for zone peers.
    pub fn zone(&self) -> Option<&str> {
        match self {
            Peer::ServerZone(z) | Peer::ClientZone(z) => Some(z),
            Peer::Net(_) => None,
        }
    }
}

/// How a channel came to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// On the plain H.225.0 port (1720) from `0`.
    Net(SocketAddr),
    /// On the H.460.18 call-signalling port (2777) from `0` (a traversal client).
    Traversal(SocketAddr),
}

/// Where a routed call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Open a channel to `to` and send the Setup there.
    Connect {
        /// Address to connect to.
        to: SocketAddr,
        /// What is there.
        peer: Peer,
        /// `endpointIdentifier` to put in the Setup (exp-c toward exp-e: its registration's).
        endpoint_id: Option<String>,
    },
    /// Ask the registered traversal client of server zone `zone` (or a directly registered
    /// H.460.18 endpoint) to open a channel for the call: the runtime sends the RAS
    /// incoming-call indication ([`Output::Indicate`]).
    Indicate {
        /// Who is at the end of that channel.
        peer: Peer,
        /// Key the runtime uses to find the registration.
        target: String,
    },
    /// No route: release with this reason.
    Refuse(ReleaseCompleteReason, String),
}

/// What the gateway asks of its runtime while it handles a message.
pub trait Env {
    /// Routes a call from `from` to `destination` (the first alias of the Setup, or the
    /// called party number).
    fn route(&mut self, from: &Peer, destination: &str) -> Route;
    /// The zone of a traversal channel whose Setup carries `endpoint_id` (exp-e: the
    /// registration of that zone, from `from`'s address).
    fn traversal_zone(&mut self, endpoint_id: Option<&str>, from: IpAddr) -> Option<String>;
    /// Whether a traversal channel from `from` may be the channel of a parked call to
    /// `peer` (exp-e: the registration the indication went to sends from that address).
    fn channel_from_ok(&mut self, peer: &Peer, from: IpAddr) -> bool;
    /// Rewrites one tunnelled H.245 message of `call` going from side `from` (`from_peer`)
    /// to the other side (`to_peer`). `Err` drops the message (logged by the caller).
    fn h245(
        &mut self,
        call: CallKey,
        from: Side,
        from_peer: &Peer,
        to_peer: &Peer,
        message: &[u8],
    ) -> Result<Vec<u8>, String>;
}

/// An effect for the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes (a TPKT packet) on the channel.
    Send {
        /// Channel.
        channel: ChannelId,
        /// TPKT-framed Q.931 message.
        bytes: Vec<u8>,
    },
    /// Open a TCP connection for `channel` to `to`; report it with
    /// [`Gateway::handle_connected`] or [`Gateway::handle_closed`].
    Connect {
        /// The new channel.
        channel: ChannelId,
        /// Where.
        to: SocketAddr,
    },
    /// Close the channel (after writing what was queued for it).
    Close {
        /// Channel.
        channel: ChannelId,
    },
    /// The call ended (released, failed or refused after routing): free its media.
    CallEnded {
        /// The call.
        call: CallKey,
        /// Why, for the log.
        reason: String,
    },
    /// Send the RAS incoming-call indication for `call_id` to `target` (see
    /// [`Route::Indicate`]).
    Indicate {
        /// Registration key.
        target: String,
        /// The call.
        call_id: CallIdentifier,
    },
}

/// One call as status shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    /// Gateway's key.
    pub key: CallKey,
    /// The H.225.0 call identifier.
    pub call_id: CallIdentifier,
    /// Caller side.
    pub a: Peer,
    /// Callee side, once known.
    pub b: Option<Peer>,
    /// Routed destination.
    pub destination: String,
    /// `routing`, `waiting-for-client`, `connecting`, `proceeding`, `alerting`, `connected`.
    pub state: &'static str,
    /// When it started.
    pub since: Instant,
}

/// Settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// How long a parked call waits for the traversal client's channel.
    pub indication_timeout: Duration,
    /// How long a call may take from Setup to Connect.
    pub setup_timeout: Duration,
    /// Most calls at once.
    pub max_calls: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            indication_timeout: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(180),
            max_calls: 10_000,
        }
    }
}

/// Counters by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls that reached Connect.
    pub connected: u64,
    /// Calls refused or failed before Connect.
    pub failed: u64,
    /// Messages that did not decode (the channel was closed).
    pub malformed: u64,
    /// Tunnelled H.245 messages dropped by the anchor.
    pub h245_dropped: u64,
}

#[derive(Debug)]
struct Leg {
    channel: Option<ChannelId>,
    /// The call reference as *we* send it on this leg.
    call_ref: CallRef,
    peer: Peer,
}

#[derive(Debug)]
struct Call {
    call_id: CallIdentifier,
    destination: String,
    legs: [Option<Leg>; 2],
    state: &'static str,
    since: Instant,
    deadline: Instant,
    /// The Setup for leg B, waiting for its channel.
    pending_setup: Option<(H323UserInformation, q931::Message)>,
    connected: bool,
}

#[derive(Debug)]
enum ChannelUse {
    /// Accepted, no message yet.
    Fresh(Accepted),
    /// exp-c: opened toward exp-e after an indication; sends the binding Facility once up.
    Binding {
        zone: String,
        call_id: CallIdentifier,
        up: bool,
    },
    /// exp-c: bound; exp-e's Setup will arrive on it.
    Bound { zone: String },
    /// A leg of a call.
    Leg { call: CallKey, side: Side },
}

/// The gateway state machine; see the module documentation.
pub struct Gateway {
    config: GatewayConfig,
    channels: HashMap<ChannelId, ChannelUse>,
    calls: HashMap<CallKey, Call>,
    /// exp-e: parked calls by call identifier.
    parked: HashMap<CallIdentifier, CallKey>,
    next_channel: ChannelId,
    next_call: CallKey,
    next_crv: u16,
    outputs: VecDeque<Output>,
    counters: Counters,
}

fn cause(value: u8) -> Ie {
    Ie::Cause(Cause::new(0, value))
}

/// The Q.850 cause for a release reason (H.225.0 Table 5).
fn cause_for(reason: &ReleaseCompleteReason) -> u8 {
    match reason {
        ReleaseCompleteReason::UnreachableDestination => 3,
        ReleaseCompleteReason::DestinationRejection => 21,
        ReleaseCompleteReason::CalledPartyNotRegistered => 20,
        ReleaseCompleteReason::GatewayResources | ReleaseCompleteReason::GatekeeperResources => 47,
        ReleaseCompleteReason::HopCountExceeded => 25,
        ReleaseCompleteReason::SecurityDenied => 21,
        _ => 16,
    }
}

/// The first alias (or called number) of a Setup, as routing text.
pub fn destination_of(setup: &cs::SetupUuie, msg: &q931::Message) -> Option<String> {
    let from_alias = setup
        .destination_address
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|a| match a {
            AliasAddress::H323Id(s)
            | AliasAddress::DialledDigits(s)
            | AliasAddress::UrlId(s)
            | AliasAddress::EmailId(s) => Some(s.clone()),
            _ => None,
        });
    from_alias.or_else(|| msg.called_number().map(|n| n.digits.clone()))
}

/// Frames a Q.931 message in TPKT.
fn framed(msg: &q931::Message) -> Option<Vec<u8>> {
    let body = msg.encode().ok()?;
    tpkt::encode(&body).ok()
}

impl Gateway {
    /// A gateway with no calls.
    pub fn new(config: GatewayConfig) -> Self {
        Gateway {
            config,
            channels: HashMap::new(),
            calls: HashMap::new(),
            parked: HashMap::new(),
            next_channel: 1,
            next_call: 1,
            next_crv: (crate::ras_server::random_u32() % 0x7000) as u16 + 1,
            outputs: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Calls in progress.
    pub fn calls(&self) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = self
            .calls
            .iter()
            .map(|(k, c)| CallInfo {
                key: *k,
                call_id: c.call_id,
                a: c.legs[0]
                    .as_ref()
                    .map(|l| l.peer.clone())
                    .unwrap_or(Peer::Net(SocketAddr::from(([0, 0, 0, 0], 0)))),
                b: c.legs[1].as_ref().map(|l| l.peer.clone()),
                destination: c.destination.clone(),
                state: c.state,
                since: c.since,
            })
            .collect();
        v.sort_by_key(|c| c.key);
        v
    }

    /// The next effect.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Gateway::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls.values().map(|c| c.deadline).min()
    }

    fn new_channel(&mut self) -> ChannelId {
        let c = self.next_channel;
        self.next_channel += 1;
        c
    }

    fn new_crv(&mut self) -> u16 {
        let v = self.next_crv;
        self.next_crv = if v >= 0x7FFE { 1 } else { v + 1 };
        v
    }

    /// The runtime accepted a connection: returns its channel number.
    pub fn handle_accepted(&mut self, how: Accepted) -> ChannelId {
        let ch = self.new_channel();
        self.channels.insert(ch, ChannelUse::Fresh(how));
        ch
    }

    /// exp-c: exp-e indicated a call for client zone `zone`: open a channel to
    /// `call_signal` and bind it with a Facility.
    pub fn handle_indication(
        &mut self,
        zone: &str,
        call_signal: SocketAddr,
        call_id: CallIdentifier,
    ) {
        let ch = self.new_channel();
        self.channels.insert(
            ch,
            ChannelUse::Binding {
                zone: zone.to_string(),
                call_id,
                up: false,
            },
        );
        self.outputs.push_back(Output::Connect {
            channel: ch,
            to: call_signal,
        });
    }

    /// exp-e: the incoming-call indication for `call_id` went unanswered.
    pub fn handle_indication_failed(&mut self, call_id: &CallIdentifier) {
        if let Some(key) = self.parked.remove(call_id) {
            self.fail(
                key,
                ReleaseCompleteReason::UnreachableDestination,
                "the traversal client did not answer the incoming-call indication",
            );
        }
    }

    /// A zone went down: its calls end.
    pub fn handle_zone_down(&mut self, zone: &str) {
        let keys: Vec<CallKey> = self
            .calls
            .iter()
            .filter(|(_, c)| c.legs.iter().flatten().any(|l| l.peer.zone() == Some(zone)))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.fail(
                k,
                ReleaseCompleteReason::UnreachableDestination,
                "zone down",
            );
        }
    }

    /// An outgoing connection for `channel` is up.
    pub fn handle_connected(&mut self, channel: ChannelId) {
        match self.channels.get_mut(&channel) {
            Some(ChannelUse::Binding { call_id, up, zone }) => {
                *up = true;
                let (call_id, zone) = (*call_id, zone.clone());
                // H.460.18 §8: the Facility that tells the server which call this channel is.
                let mut info = H323UserInformation::new(MessageBody::Facility(FacilityUuie::new(
                    call_id,
                    FacilityReason::UndefinedReason,
                )));
                info.h323_uu_pdu.h245_tunnelling = true;
                let msg = cs::message(MessageType::Facility, CallRef::new(0, false), &info);
                if let Some(bytes) = framed(&msg) {
                    self.outputs.push_back(Output::Send { channel, bytes });
                }
                self.channels.insert(channel, ChannelUse::Bound { zone });
            }
            Some(ChannelUse::Leg {
                call,
                side: Side::B,
            }) => {
                let key = *call;
                let Some(c) = self.calls.get_mut(&key) else {
                    return;
                };
                if let Some((_, msg)) = c.pending_setup.take() {
                    c.state = "proceeding";
                    if let Some(bytes) = framed(&msg) {
                        self.outputs.push_back(Output::Send { channel, bytes });
                    }
                }
            }
            _ => {}
        }
    }

    /// A channel closed (or its connection failed).
    pub fn handle_closed(&mut self, channel: ChannelId) {
        let Some(ChannelUse::Leg { call, side }) = self.channels.remove(&channel) else {
            return;
        };
        if let Some(l) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.legs[side_index(side)].as_mut())
        {
            l.channel = None;
        }
        let reason = if side == Side::B && self.calls.get(&call).is_some_and(|c| !c.connected) {
            ReleaseCompleteReason::UnreachableDestination
        } else {
            ReleaseCompleteReason::UndefinedReason
        };
        self.fail(call, reason, "call-signalling connection closed");
    }

    /// Fires expired timers: parked calls nobody picked up, calls that never connected.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<CallKey> = self
            .calls
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            let parked = self
                .calls
                .get(&k)
                .is_some_and(|c| c.state == "waiting-for-client");
            self.fail(
                k,
                ReleaseCompleteReason::UnreachableDestination,
                if parked {
                    "no call-signalling connection from the traversal client"
                } else {
                    "no answer"
                },
            );
        }
    }

    fn close_channel(&mut self, ch: ChannelId) {
        self.channels.remove(&ch);
        self.outputs.push_back(Output::Close { channel: ch });
    }

    fn send_on(&mut self, ch: ChannelId, msg: &q931::Message) {
        if let Some(bytes) = framed(msg) {
            self.outputs.push_back(Output::Send { channel: ch, bytes });
        }
    }

    /// Releases a call on every leg that is still there, and forgets it.
    fn fail(&mut self, key: CallKey, reason: ReleaseCompleteReason, why: &str) {
        let Some(mut c) = self.calls.remove(&key) else {
            return;
        };
        self.parked.retain(|_, k| *k != key);
        if !c.connected {
            self.counters.failed += 1;
        }
        for leg in c.legs.iter_mut().flatten() {
            if let Some(ch) = leg.channel.take() {
                let mut info = H323UserInformation::new(MessageBody::ReleaseComplete(
                    ReleaseCompleteUuie::new(c.call_id, Some(reason.clone())),
                ));
                info.h323_uu_pdu.h245_tunnelling = true;
                let msg = cs::message(MessageType::ReleaseComplete, leg.call_ref, &info)
                    .with_ie(cause(cause_for(&reason)));
                self.send_on(ch, &msg);
                self.close_channel(ch);
            }
        }
        self.outputs.push_back(Output::CallEnded {
            call: key,
            reason: why.to_string(),
        });
    }

    /// One Q.931 message (TPKT removed) arrived on `channel`.
    pub fn handle_message(
        &mut self,
        channel: ChannelId,
        bytes: &[u8],
        now: Instant,
        env: &mut dyn Env,
    ) {
        let parsed = q931::Message::decode(bytes)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                cs::user_information(&m)
                    .map(|u| (m, u))
                    .map_err(|e| e.to_string())
            });
        let (msg, info) = match parsed {
            Ok(p) => p,
            Err(_) => {
                // Status messages without a UUIE and other oddities: ignore the message on
                // a call leg, close a channel that starts with garbage.
                self.counters.malformed += 1;
                if !matches!(self.channels.get(&channel), Some(ChannelUse::Leg { .. })) {
                    self.close_channel(channel);
                }
                return;
            }
        };
        match self.channels.get(&channel) {
            None => {}
            Some(ChannelUse::Fresh(how)) => {
                let how = how.clone();
                self.on_first(channel, how, msg, info, now, env);
            }
            Some(ChannelUse::Bound { zone }) => {
                let zone = zone.clone();
                if matches!(info.body(), MessageBody::Setup(_)) {
                    self.on_setup(channel, Peer::ClientZone(zone), msg, info, now, env);
                }
            }
            Some(ChannelUse::Binding { .. }) => {}
            Some(ChannelUse::Leg { call, side }) => {
                let (call, side) = (*call, *side);
                self.on_leg_message(call, side, msg, info, now, env);
            }
        }
    }

    fn on_first(
        &mut self,
        channel: ChannelId,
        how: Accepted,
        msg: q931::Message,
        info: H323UserInformation,
        now: Instant,
        env: &mut dyn Env,
    ) {
        match (&how, info.body()) {
            (Accepted::Net(from), MessageBody::Setup(_)) => {
                self.on_setup(channel, Peer::Net(*from), msg, info, now, env);
            }
            (Accepted::Traversal(from), MessageBody::Setup(s)) => {
                // A call from the client's LAN: the Setup names the client's registration.
                match env.traversal_zone(s.endpoint_identifier.as_deref(), from.ip()) {
                    Some(zone) => {
                        self.on_setup(channel, Peer::ServerZone(zone), msg, info, now, env)
                    }
                    None => {
                        self.counters.failed += 1;
                        self.refuse_setup(
                            channel,
                            &msg,
                            &info,
                            ReleaseCompleteReason::SecurityDenied,
                        );
                    }
                }
            }
            (Accepted::Traversal(from), MessageBody::Facility(f)) => {
                // H.460.18 §8: the client's channel for a parked call.
                let Some(key) = self.parked.get(&f.call_identifier).copied() else {
                    self.close_channel(channel);
                    return;
                };
                let peer_ok = self
                    .calls
                    .get(&key)
                    .and_then(|c| c.legs[1].as_ref())
                    .is_some_and(|l| env.channel_from_ok(&l.peer, from.ip()));
                if !peer_ok {
                    self.close_channel(channel);
                    return;
                }
                self.parked.remove(&f.call_identifier);
                self.channels.insert(
                    channel,
                    ChannelUse::Leg {
                        call: key,
                        side: Side::B,
                    },
                );
                let Some(c) = self.calls.get_mut(&key) else {
                    return;
                };
                if let Some(l) = c.legs[1].as_mut() {
                    l.channel = Some(channel);
                }
                c.deadline = c.since + self.config.setup_timeout;
                if let Some((_, setup)) = c.pending_setup.take() {
                    c.state = "proceeding";
                    self.send_on(channel, &setup);
                }
            }
            _ => {
                self.counters.malformed += 1;
                self.close_channel(channel);
            }
        }
    }

    fn refuse_setup(
        &mut self,
        channel: ChannelId,
        msg: &q931::Message,
        info: &H323UserInformation,
        reason: ReleaseCompleteReason,
    ) {
        let call_id = info.call_identifier().copied().unwrap_or_default();
        let mut rc = H323UserInformation::new(MessageBody::ReleaseComplete(
            ReleaseCompleteUuie::new(call_id, Some(reason.clone())),
        ));
        rc.h323_uu_pdu.h245_tunnelling = true;
        let call_ref = msg
            .call_ref
            .map(CallRef::reply)
            .unwrap_or(CallRef::new(0, true));
        let out = cs::message(MessageType::ReleaseComplete, call_ref, &rc)
            .with_ie(cause(cause_for(&reason)));
        self.send_on(channel, &out);
        self.close_channel(channel);
    }

    fn on_setup(
        &mut self,
        channel: ChannelId,
        from: Peer,
        msg: q931::Message,
        info: H323UserInformation,
        now: Instant,
        env: &mut dyn Env,
    ) {
        let MessageBody::Setup(setup) = info.body() else {
            return;
        };
        if self.calls.len() >= self.config.max_calls {
            self.refuse_setup(
                channel,
                &msg,
                &info,
                ReleaseCompleteReason::GatewayResources,
            );
            return;
        }
        let Some(a_ref) = msg.call_ref else {
            self.close_channel(channel);
            return;
        };
        let destination = destination_of(setup, &msg).unwrap_or_default();
        // Hop count (H.225.0 §7.3.1 hopCount): refuse a call that ran out of hops.
        if setup.hop_count == Some(1) && from.zone().is_some() {
            self.refuse_setup(
                channel,
                &msg,
                &info,
                ReleaseCompleteReason::HopCountExceeded,
            );
            return;
        }
        let route = env.route(&from, &destination);
        let (b_peer, b_action, endpoint_id) = match route {
            Route::Refuse(reason, _why) => {
                self.counters.failed += 1;
                self.refuse_setup(channel, &msg, &info, reason);
                return;
            }
            Route::Connect {
                to,
                peer,
                endpoint_id,
            } => (peer, Some(to), endpoint_id),
            Route::Indicate { peer, target } => {
                self.outputs.push_back(Output::Indicate {
                    target,
                    call_id: setup.call_identifier,
                });
                (peer, None, None)
            }
        };
        let key = self.next_call;
        self.next_call += 1;
        let call_id = setup.call_identifier;
        let b_crv = self.new_crv();
        let mut out_info = info.clone();
        if let MessageBody::Setup(s) = &mut out_info.h323_uu_pdu.h323_message_body {
            s.h245_address = None;
            s.fast_start = None;
            s.source_call_signal_address = None;
            s.dest_call_signal_address = None;
            s.endpoint_identifier = endpoint_id;
            s.hop_count = Some(s.hop_count.unwrap_or(31).saturating_sub(1).max(1));
            s.tokens = None;
            s.crypto_tokens = None;
        }
        out_info.h323_uu_pdu.h245_tunnelling = true;
        let a_leg = Leg {
            channel: Some(channel),
            call_ref: a_ref.reply(),
            peer: from.clone(),
        };
        let b_leg = Leg {
            channel: None,
            call_ref: CallRef::new(b_crv, false),
            peer: b_peer.clone(),
        };
        let parked = b_action.is_none();
        let deadline = now
            + if parked {
                self.config.indication_timeout
            } else {
                self.config.setup_timeout
            };
        self.calls.insert(
            key,
            Call {
                call_id,
                destination,
                legs: [Some(a_leg), Some(b_leg)],
                state: if parked {
                    "waiting-for-client"
                } else {
                    "connecting"
                },
                since: now,
                deadline,
                pending_setup: None,
                connected: false,
            },
        );
        self.channels.insert(
            channel,
            ChannelUse::Leg {
                call: key,
                side: Side::A,
            },
        );
        // Tunnelled H.245 in the Setup goes through the anchor too.
        let Some(out_info) = self.tunnel(key, Side::A, out_info, env) else {
            return;
        };
        let out = rebuild(&msg, CallRef::new(b_crv, false), &out_info);
        if let Some(c) = self.calls.get_mut(&key) {
            c.pending_setup = Some((out_info, out));
        }
        if parked {
            self.parked.insert(call_id, key);
        } else if let Some(to) = b_action {
            let ch = self.new_channel();
            self.channels.insert(
                ch,
                ChannelUse::Leg {
                    call: key,
                    side: Side::B,
                },
            );
            if let Some(l) = self.calls.get_mut(&key).and_then(|c| c.legs[1].as_mut()) {
                l.channel = Some(ch);
            }
            self.outputs.push_back(Output::Connect { channel: ch, to });
        }
    }

    /// Passes the tunnelled H.245 of `info` (from `side` of `call`) through the anchor.
    fn tunnel(
        &mut self,
        call: CallKey,
        side: Side,
        mut info: H323UserInformation,
        env: &mut dyn Env,
    ) -> Option<H323UserInformation> {
        let c = self.calls.get(&call)?;
        let from_peer = c.legs[side_index(side)].as_ref()?.peer.clone();
        let to_peer = c.legs[side_index(side.other())].as_ref()?.peer.clone();
        let control = info.h245_control().to_vec();
        if !control.is_empty() {
            let mut out = Vec::with_capacity(control.len());
            for m in control {
                match env.h245(call, side, &from_peer, &to_peer, &m) {
                    Ok(r) => out.push(r),
                    Err(_) => self.counters.h245_dropped += 1,
                }
            }
            info.set_h245_control(out);
        }
        Some(info)
    }

    fn on_leg_message(
        &mut self,
        call: CallKey,
        side: Side,
        msg: q931::Message,
        mut info: H323UserInformation,
        _now: Instant,
        env: &mut dyn Env,
    ) {
        // What the message does to the call.
        let release = matches!(msg.kind, MessageType::ReleaseComplete)
            || matches!(info.body(), MessageBody::ReleaseComplete(_));
        match info.body() {
            MessageBody::Connect(_) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    if !c.connected {
                        c.connected = true;
                        c.state = "connected";
                        self.counters.connected += 1;
                    }
                    // A connected call has no setup deadline.
                    c.deadline = c.since + Duration::from_secs(365 * 24 * 3600);
                }
            }
            MessageBody::Alerting(_) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.state = "alerting";
                }
            }
            _ => {}
        }
        strip_addresses(&mut info.h323_uu_pdu.h323_message_body);
        info.h323_uu_pdu.h245_tunnelling = true;
        let Some(info) = self.tunnel(call, side, info, env) else {
            return;
        };
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let Some(to) = c.legs[side_index(side.other())].as_ref() else {
            return;
        };
        let out = rebuild(&msg, to.call_ref, &info);
        match to.channel {
            Some(ch) => self.send_on(ch, &out),
            None => {
                // Leg B not up yet (parked): only a release matters.
            }
        }
        if release {
            let Some(mut c) = self.calls.remove(&call) else {
                return;
            };
            self.parked.retain(|_, k| *k != call);
            if !c.connected {
                self.counters.failed += 1;
            }
            for leg in c.legs.iter_mut().flatten() {
                if let Some(ch) = leg.channel.take() {
                    self.close_channel(ch);
                }
            }
            self.outputs.push_back(Output::CallEnded {
                call,
                reason: format!("released by side {side:?}"),
            });
        }
    }
}

fn side_index(s: Side) -> usize {
    match s {
        Side::A => 0,
        Side::B => 1,
    }
}

/// Removes addresses and fast-start proposals from the UUIEs that carry them.
fn strip_addresses(body: &mut MessageBody) {
    match body {
        MessageBody::CallProceeding(b) => {
            b.h245_address = None;
            b.fast_start = None;
        }
        MessageBody::Alerting(b) => {
            b.h245_address = None;
            b.fast_start = None;
        }
        MessageBody::Connect(b) => {
            b.h245_address = None;
            b.fast_start = None;
        }
        MessageBody::Progress(b) => {
            b.h245_address = None;
            b.fast_start = None;
        }
        MessageBody::Facility(b) => {
            b.h245_address = None;
            b.fast_start = None;
            b.alternative_address = None;
        }
        MessageBody::Information(b) => {
            b.fast_start = None;
        }
        _ => {}
    }
}

/// `msg` with call reference `call_ref` and `info` as its User-user IE; other IEs stay.
fn rebuild(msg: &q931::Message, call_ref: CallRef, info: &H323UserInformation) -> q931::Message {
    let mut out = msg.clone();
    out.call_ref = Some(call_ref);
    out.with_user_user(info.encode())
}
