//! The back-to-back user agent at the heart of both programs, sans-IO.
//!
//! Every call that crosses exp-c or exp-e is two SIP dialogs: the *caller* leg, where we are
//! the UAS, and the *callee* leg, where we are the UAC (RFC 3261 §§12–17, RFC 7092 for the
//! B2BUA role). We chose a B2BUA over a record-routing proxy because both programs must own
//! the call: they rewrite every SDP for media anchoring, end calls on their own when a zone or
//! its media dies (a proxy cannot send BYE), keep the inside topology (addresses, Call-IDs,
//! tags) from leaking across the firewall, and answer for a zone that is down.
//!
//! The engine takes parsed messages with the [`Peer`] they came from and the current time, and
//! returns [`Output`]s: bytes for a peer, call events. Routing and media anchoring are
//! decisions of the embedding program, asked through [`CallEnv`]. Transactions (RFC 3261 §17
//! with the RFC 6026 fixes) come from [`crate::transaction`]; dialogs, offer/answer and the
//! mapping between the legs live here.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::message::{header_param, uri_of, Headers, Message, Request, Response};
use crate::path::{self, CallPath, PathError};
use crate::token::Tokens;
use crate::txn::{ClientTransaction, ServerTransaction, TimerConfig, TxEvent};

/// Engine-assigned call number.
pub type CallId = u64;

/// Transport toward a network peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
}

impl NetTransport {
    /// Upper-case name for Via.
    pub fn via_name(self) -> &'static str {
        match self {
            NetTransport::Udp => "UDP",
            NetTransport::Tcp => "TCP",
            NetTransport::Tls => "TLS",
        }
    }
}

/// Where a message comes from or goes to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Through a traversal zone's connection (reliable).
    Zone(String),
    /// A network peer on one of our listeners, or a static target.
    Net {
        /// Transport.
        transport: NetTransport,
        /// Address.
        addr: SocketAddr,
    },
}

impl Peer {
    /// True on stream transports (no retransmissions; RFC 3261 §17).
    pub fn reliable(&self) -> bool {
        !matches!(
            self,
            Peer::Net {
                transport: NetTransport::Udp,
                ..
            }
        )
    }

    /// Via transport token.
    pub fn via_transport(&self) -> &'static str {
        match self {
            Peer::Zone(_) => "TCP",
            Peer::Net { transport, .. } => transport.via_name(),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Zone(z) => write!(f, "zone:{z}"),
            Peer::Net { transport, addr } => {
                write!(f, "{}:{addr}", transport.via_name().to_ascii_lowercase())
            }
        }
    }
}

/// Which leg of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegRole {
    /// The leg toward whoever sent the initial INVITE (we are its UAS).
    Caller,
    /// The leg toward the destination (we are its UAC).
    Callee,
}

impl LegRole {
    fn other(self) -> LegRole {
        match self {
            LegRole::Caller => LegRole::Callee,
            LegRole::Callee => LegRole::Caller,
        }
    }
}

/// Where the embedding program sends a new call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteDecision {
    /// Send it to this peer.
    Forward(Peer),
    /// No rule matches: 404.
    NotFound,
    /// The rule names a zone that is down: 503 with Retry-After.
    ZoneDown(String),
    /// Refused (e.g. it would loop): 403 with this reason.
    Refused(String),
    /// The rule's target cannot be reached now (e.g. its host name does not resolve): 503
    /// with this reason and a Retry-After.
    Unavailable(String),
    /// This system is overloaded: 503 with a short Retry-After (RFC 3261 §21.5.4), so the
    /// caller tries again later or elsewhere instead of retransmitting into the backlog.
    Overloaded,
}

/// What the engine asks of the program that embeds it.
pub trait CallEnv {
    /// Where a new INVITE from `from` goes.
    fn route(&mut self, request: &Request, from: &Peer) -> RouteDecision;
    /// `host:port` for our Via toward `peer`.
    fn via_sent_by(&self, peer: &Peer) -> String;
    /// Our Contact URI toward `peer` (without angle brackets).
    fn contact(&self, peer: &Peer) -> String;
    /// Anchor the media of an SDP offer that arrived on `from`'s leg and goes out on the other
    /// leg; returns the SDP to send on.
    fn anchor_offer(
        &mut self,
        call: CallId,
        from: LegRole,
        from_peer: &Peer,
        to_peer: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String>;
    /// Anchor the media of an SDP answer likewise.
    fn anchor_answer(
        &mut self,
        call: CallId,
        from: LegRole,
        from_peer: &Peer,
        to_peer: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String>;
    /// The call is over: release its media.
    fn release_media(&mut self, call: CallId);
    /// The hop count of `peer` when it is a traversal zone: a request sent into it carries
    /// at most this Max-Forwards. `None`: no limit beyond the incoming Max-Forwards.
    fn hop_limit(&self, peer: &Peer) -> Option<u32> {
        let _ = peer;
        None
    }
}

/// What the engine wants done.
#[derive(Debug, PartialEq)]
pub enum Output {
    /// Send these bytes to `to`.
    Send {
        /// Destination.
        to: Peer,
        /// A whole SIP message.
        bytes: Vec<u8>,
    },
    /// A call was created.
    CallStarted(CallId),
    /// A call ended (media already released through [`CallEnv::release_media`]).
    CallEnded {
        /// Which.
        call: CallId,
        /// Why, for logs.
        reason: String,
    },
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Transaction timers.
    pub timers: TimerConfig,
    /// Most concurrent calls; more get 503.
    pub max_calls: usize,
    /// Longest time an INVITE may ring before we cancel it.
    pub invite_timeout: Duration,
    /// Our `User-Agent`/`Server` token.
    pub product: String,
    /// This system's name, as it appears in the `Exp-Path` of INVITEs sent into zones.
    pub system_name: String,
}

/// Call state, for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent on, no answer yet.
    Proceeding,
    /// Ringing / early media.
    Early,
    /// Answered, waiting for the caller's ACK.
    Answered,
    /// Confirmed dialog on both legs.
    Confirmed,
    /// Being torn down.
    Ending,
}

impl CallState {
    /// Name for status.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Proceeding => "proceeding",
            CallState::Early => "early",
            CallState::Answered => "answered",
            CallState::Confirmed => "confirmed",
            CallState::Ending => "ending",
        }
    }
}

/// A call as status shows it.
#[derive(Clone, Debug)]
pub struct CallInfo {
    /// Number.
    pub id: CallId,
    /// Caller's Call-ID.
    pub call_id: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// Caller side.
    pub caller: Peer,
    /// Callee side.
    pub callee: Peer,
    /// State.
    pub state: CallState,
    /// When the INVITE arrived.
    pub started: Instant,
}

/// One dialog of a call.
#[derive(Clone, Debug)]
struct Leg {
    peer: Peer,
    call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    /// Our address-of-record header value, without tag.
    local_uri: String,
    /// Theirs, without tag.
    remote_uri: String,
    local_cseq: u32,
    remote_target: String,
    route_set: Vec<String>,
}

/// Why a client transaction exists.
#[derive(Clone, Debug)]
enum Purpose {
    /// The callee leg's initial INVITE.
    Invite,
    /// A request forwarded from the other leg; answer on that server transaction.
    Forward { server: String, late_offer: bool },
    /// A request we originated (BYE, CANCEL) whose answer nobody waits for.
    Own,
}

struct ClientEntry {
    tx: ClientTransaction,
    call: CallId,
    leg: LegRole,
    peer: Peer,
    purpose: Purpose,
}

struct ServerEntry {
    tx: ServerTransaction,
    call: Option<CallId>,
    peer: Peer,
    /// The final status we answered with, once we did.
    final_status: Option<u16>,
}

/// 2xx retransmission by the UAS core over unreliable transports (RFC 3261 §13.3.1.4).
struct Retransmit2xx {
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

struct Call {
    id: CallId,
    state: CallState,
    caller: Leg,
    callee: Leg,
    /// Server transaction key of the caller's INVITE.
    invite_server: String,
    /// Client transaction key of the callee INVITE.
    invite_client: Option<String>,
    cancel_pending: bool,
    /// The initial INVITE had no SDP: the offer comes in the 2xx, the answer in the ACK.
    late_offer: bool,
    /// ACK toward the callee waiting for the caller's ACK (late offer).
    callee_ack_pending: bool,
    /// An INVITE transaction (initial or re-) is in progress on the call (RFC 3261 §14.1).
    invite_in_progress: bool,
    /// Forwarded re-INVITE waiting for the ACK from its sender: (sender leg, needs answer).
    reinvite_ack: Option<(LegRole, bool)>,
    retransmit: Option<Retransmit2xx>,
    invite_deadline: Option<Instant>,
    started: Instant,
    from: String,
    to: String,
}

impl Call {
    fn leg(&self, r: LegRole) -> &Leg {
        match r {
            LegRole::Caller => &self.caller,
            LegRole::Callee => &self.callee,
        }
    }
    fn leg_mut(&mut self, r: LegRole) -> &mut Leg {
        match r {
            LegRole::Caller => &mut self.caller,
            LegRole::Callee => &mut self.callee,
        }
    }
}

/// Headers copied from a request on one leg to the request on the other.
const REQUEST_HEADERS: &[&str] = &[
    "Content-Type",
    "Content-Disposition",
    "Allow",
    "Accept",
    "Subject",
    "Priority",
    "Authorization",
    "Proxy-Authorization",
    "P-Asserted-Identity",
    "Privacy",
    "Event",
    "Subscription-State",
    "Info-Package",
    "Reason",
];

/// Headers copied from a response on one leg to the response on the other.
const RESPONSE_HEADERS: &[&str] = &[
    "Content-Type",
    "Content-Disposition",
    "Allow",
    "Accept",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Retry-After",
    "Warning",
    "Reason",
    "Unsupported",
];

/// The B2BUA engine of one program.
/// A map that remembers which entries were inserted or lent out mutably since the engine last
/// re-armed its timers, so only those are looked at again: the engine holds tens of thousands
/// of transactions under load (UDP server transactions wait up to 64·T1 after completing), and
/// scanning them all for every event made the cost per message grow with the load.
struct TimedMap<K, V> {
    map: HashMap<K, V>,
    touched: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone, V> TimedMap<K, V> {
    fn new() -> Self {
        TimedMap {
            map: HashMap::new(),
            touched: Vec::new(),
        }
    }
    fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.touched.push(k.clone());
        self.map.insert(k, v)
    }
    fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.map.contains_key(k) {
            self.touched.push(k.to_owned());
        }
        self.map.get_mut(k)
    }
    fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.map.get(k)
    }
    fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.map.remove(k)
    }
    fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.map.contains_key(k)
    }
    fn values(&self) -> std::collections::hash_map::Values<'_, K, V> {
        self.map.values()
    }
    fn len(&self) -> usize {
        self.map.len()
    }

    /// Of `keys` (taken from the timer heap), those whose entry's `deadline` has come. An
    /// entry whose deadline moved later (a stale heap entry) is re-armed instead; a gone one
    /// is dropped.
    fn due(
        &mut self,
        keys: Vec<K>,
        now: Instant,
        deadline: impl Fn(&V) -> Option<Instant>,
    ) -> Vec<K> {
        let mut due = Vec::new();
        for k in keys {
            match self.map.get(&k).and_then(&deadline) {
                Some(t) if t <= now => due.push(k),
                Some(_) => self.touched.push(k),
                None => {}
            }
        }
        due
    }
}

/// Whose timer an entry of [`Engine::timers`] is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Client(String),
    Server(String),
    Call(CallId),
}

pub struct Engine {
    cfg: EngineConfig,
    tokens: Tokens,
    /// This running program's id in `Exp-Path` (crate::path).
    path_id: String,
    next_call: CallId,
    calls: TimedMap<CallId, Call>,
    /// (Call-ID, our tag) → call and leg.
    dialogs: HashMap<(String, String), (CallId, LegRole)>,
    clients: TimedMap<String, ClientEntry>,
    servers: TimedMap<String, ServerEntry>,
    /// Deadlines of transactions and calls; an entry may be stale (the deadline moved or the
    /// owner is gone) and is then skipped when it comes due.
    timers: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, TimerKey)>>,
}

fn strip_tag(value: &str) -> String {
    // Remove a `;tag=...` parameter outside the angle brackets.
    let (head, params) = match value.rfind('>') {
        Some(i) => value.split_at(i + 1),
        None => (value, ""),
    };
    let (head, params) = if params.is_empty() && !value.contains('>') {
        match value.find(';') {
            Some(i) => value.split_at(i),
            None => (value, ""),
        }
    } else {
        (head, params)
    };
    let kept: Vec<&str> = params
        .split(';')
        .filter(|p| !p.is_empty() && !p.trim().to_ascii_lowercase().starts_with("tag="))
        .collect();
    let mut out = head.trim_end().to_string();
    for p in kept {
        out.push(';');
        out.push_str(p.trim());
    }
    out
}

fn cseq_of(h: &Headers) -> Option<(u32, String)> {
    let v = h.get("CSeq")?;
    let mut it = v.split_whitespace();
    let n = it.next()?.parse().ok()?;
    let m = it.next()?.to_string();
    Some((n, m))
}

fn top_via_branch(h: &Headers) -> Option<String> {
    let via = h.get("Via")?;
    let first = crate::message::split_values(via).next()?;
    header_param(first, "branch").map(str::to_string)
}

fn top_via_sent_by(h: &Headers) -> Option<String> {
    let via = h.get("Via")?;
    let first = crate::message::split_values(via).next()?;
    let after = first.split_whitespace().nth(1)?;
    Some(after.split(';').next()?.to_string())
}

/// Server transaction key: branch, sent-by and method, with ACK folded onto INVITE
/// (RFC 3261 §17.2.3).
fn server_key(req: &Request) -> Option<String> {
    let branch = top_via_branch(&req.headers)?;
    let sent_by = top_via_sent_by(&req.headers).unwrap_or_default();
    let method = match req.method.as_str() {
        "ACK" => "INVITE",
        m => m,
    };
    Some(format!("{branch}|{sent_by}|{method}"))
}

fn client_key(branch: &str, method: &str) -> String {
    let method = if method == "ACK" { "INVITE" } else { method };
    format!("{branch}|{method}")
}

fn is_sdp(h: &Headers, body: &[u8]) -> bool {
    !body.is_empty()
        && h.get("Content-Type")
            .map(|c| c.trim().to_ascii_lowercase().starts_with("application/sdp"))
            .unwrap_or(false)
}

fn copy_headers(from: &Headers, to: &mut Headers, names: &[&str]) {
    for n in names {
        for v in from.get_all(n) {
            to.push(*n, v);
        }
    }
}

impl Engine {
    /// A new engine; `seed` must be random.
    pub fn new(cfg: EngineConfig, seed: [u8; 16]) -> Self {
        Engine {
            cfg,
            path_id: Tokens::new(seed).next(12),
            tokens: Tokens::new(seed.map(|b| b ^ 0x5a)),
            next_call: 1,
            calls: TimedMap::new(),
            dialogs: HashMap::new(),
            clients: TimedMap::new(),
            servers: TimedMap::new(),
            timers: std::collections::BinaryHeap::new(),
        }
    }

    /// This running program's id in the `Exp-Path` of INVITEs it sends into zones.
    pub fn path_id(&self) -> &str {
        &self.path_id
    }

    fn call_deadline(c: &Call) -> Option<Instant> {
        let r = c.retransmit.as_ref().map(|r| r.next.min(r.give_up));
        match (r, c.invite_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Pushes the current deadline of every entry changed since the last call.
    fn rearm(&mut self) {
        for k in std::mem::take(&mut self.clients.touched) {
            if let Some(t) = self.clients.get(&k).and_then(|e| e.tx.poll_timeout()) {
                self.timers
                    .push(std::cmp::Reverse((t, TimerKey::Client(k))));
            }
        }
        for k in std::mem::take(&mut self.servers.touched) {
            if let Some(t) = self.servers.get(&k).and_then(|e| e.tx.poll_timeout()) {
                self.timers
                    .push(std::cmp::Reverse((t, TimerKey::Server(k))));
            }
        }
        for k in std::mem::take(&mut self.calls.touched) {
            if let Some(t) = self.calls.get(&k).and_then(Self::call_deadline) {
                self.timers.push(std::cmp::Reverse((t, TimerKey::Call(k))));
            }
        }
    }

    /// Number of live calls.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Status of every call.
    pub fn calls(&self) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = self
            .calls
            .values()
            .map(|c| CallInfo {
                id: c.id,
                call_id: c.caller.call_id.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
                caller: c.caller.peer.clone(),
                callee: c.callee.peer.clone(),
                state: c.state,
                started: c.started,
            })
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// Open transactions (for leak checks in tests).
    pub fn transaction_count(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// Take a message that arrived from `from`.
    pub fn handle_message(
        &mut self,
        from: Peer,
        msg: Message,
        now: Instant,
        env: &mut dyn CallEnv,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        match msg {
            Message::Request(req) => self.handle_request(from, req, now, env, &mut out),
            Message::Response(resp) => self.handle_response(resp, now, env, &mut out),
        }
        self.rearm();
        out
    }

    /// A traversal zone went down: every call using it ends.
    pub fn zone_lost(&mut self, zone: &str, now: Instant, env: &mut dyn CallEnv) -> Vec<Output> {
        let mut out = Vec::new();
        let ids: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| {
                c.caller.peer == Peer::Zone(zone.into()) || c.callee.peer == Peer::Zone(zone.into())
            })
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.end_call(
                id,
                &format!("zone `{zone}` lost"),
                Some(Peer::Zone(zone.into())),
                now,
                env,
                &mut out,
            );
        }
        self.rearm();
        out
    }

    /// End a call from our side (media idle, operator), hanging up both legs.
    pub fn hang_up(
        &mut self,
        call: CallId,
        reason: &str,
        now: Instant,
        env: &mut dyn CallEnv,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        self.end_call(call, reason, None, now, env, &mut out);
        self.rearm();
        out
    }

    /// The earliest time [`Engine::handle_timeout`] must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|std::cmp::Reverse((t, _))| *t)
    }

    /// Run timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, env: &mut dyn CallEnv) -> Vec<Output> {
        let mut out = Vec::new();
        // Everything due, each owner once.
        let mut due_keys = Vec::new();
        while let Some(std::cmp::Reverse((t, _))) = self.timers.peek() {
            if *t > now {
                break;
            }
            if let Some(std::cmp::Reverse((_, k))) = self.timers.pop() {
                due_keys.push(k);
            }
        }
        due_keys.sort();
        due_keys.dedup();
        let mut due_clients = Vec::new();
        let mut due_servers = Vec::new();
        let mut due_calls = Vec::new();
        for k in due_keys {
            match k {
                TimerKey::Client(k) => due_clients.push(k),
                TimerKey::Server(k) => due_servers.push(k),
                TimerKey::Call(c) => due_calls.push(c),
            }
        }
        let due = self.clients.due(due_clients, now, |c| c.tx.poll_timeout());
        for k in due {
            let Some(mut e) = self.clients.remove(&k) else {
                continue;
            };
            let events = e.tx.handle_timeout(now);
            self.client_events(&k, &mut e, events, now, env, &mut out);
            if !e.tx.is_terminated() {
                self.clients.insert(k, e);
            }
        }
        let due = self.servers.due(due_servers, now, |e| e.tx.poll_timeout());
        for k in due {
            let Some(mut e) = self.servers.remove(&k) else {
                continue;
            };
            for ev in e.tx.handle_timeout(now) {
                if let TxEvent::Retransmit(bytes) = ev {
                    out.push(Output::Send {
                        to: e.peer.clone(),
                        bytes,
                    });
                }
            }
            if !e.tx.is_terminated() {
                self.servers.insert(k, e);
            }
        }
        // Call timers: 2xx retransmission and ring timeout.
        for id in self.calls.due(due_calls, now, Self::call_deadline) {
            let mut give_up = false;
            let mut ring_timeout = false;
            if let Some(c) = self.calls.get_mut(&id) {
                if let Some(r) = c.retransmit.as_mut() {
                    if now >= r.give_up {
                        give_up = true;
                    } else if now >= r.next {
                        out.push(Output::Send {
                            to: c.caller.peer.clone(),
                            bytes: r.bytes.clone(),
                        });
                        r.interval = (r.interval * 2).min(self.cfg.timers.t2);
                        r.next = now + r.interval;
                    }
                }
                if c.invite_deadline.is_some_and(|d| now >= d) {
                    c.invite_deadline = None;
                    ring_timeout = true;
                }
            }
            if give_up {
                self.end_call(id, "no ACK for the 2xx", None, now, env, &mut out);
            } else if ring_timeout {
                self.end_call(id, "no answer", None, now, env, &mut out);
            }
        }
        self.rearm();
        out
    }

    // -----------------------------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------------------------

    fn send_stateless(
        &mut self,
        to: &Peer,
        req: &Request,
        status: u16,
        reason: &str,
        out: &mut Vec<Output>,
    ) {
        let mut resp = Response::for_request(req, status, reason, Some(&self.tokens.next(10)));
        resp.headers.push("Server", self.cfg.product.clone());
        out.push(Output::Send {
            to: to.clone(),
            bytes: Message::Response(resp).to_bytes(),
        });
    }

    fn handle_request(
        &mut self,
        from: Peer,
        req: Request,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(key) = server_key(&req) else {
            // No usable Via: we cannot even answer it reliably.
            return;
        };
        if cseq_of(&req.headers).is_none() || req.headers.get("Call-ID").is_none() {
            if req.method != "ACK" {
                self.send_stateless(&from, &req, 400, "Bad Request", out);
            }
            return;
        }
        if req.method == "CANCEL" {
            return self.handle_cancel(from, req, now, env, out);
        }
        // Retransmission, or ACK for a non-2xx final: the transaction absorbs it.
        if let Some(e) = self.servers.get_mut(&key) {
            let is_2xx_ack = req.method == "ACK" && e.tx_final_was_2xx();
            if !is_2xx_ack {
                for ev in e.tx.handle_retransmission(&req, now) {
                    if let TxEvent::Retransmit(bytes) = ev {
                        out.push(Output::Send {
                            to: e.peer.clone(),
                            bytes,
                        });
                    }
                }
                return;
            }
        }
        let to_tag = req
            .headers
            .get("To")
            .and_then(|t| header_param(t, "tag"))
            .map(str::to_string);
        match to_tag {
            Some(tag) => self.in_dialog(from, req, tag, now, env, out),
            None => match req.method.as_str() {
                "INVITE" => self.new_call(from, key, req, now, env, out),
                "ACK" => {}
                "OPTIONS" => {
                    let mut resp =
                        Response::for_request(&req, 200, "OK", Some(&self.tokens.next(10)));
                    resp.headers
                        .push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO");
                    resp.headers.push("Server", self.cfg.product.clone());
                    out.push(Output::Send {
                        to: from,
                        bytes: Message::Response(resp).to_bytes(),
                    });
                }
                "BYE" | "UPDATE" | "INFO" | "PRACK" => {
                    self.send_stateless(&from, &req, 481, "Call/Transaction Does Not Exist", out)
                }
                _ => self.send_stateless(&from, &req, 501, "Not Implemented", out),
            },
        }
    }

    fn respond_on(&mut self, key: &str, resp: Response, now: Instant, out: &mut Vec<Output>) {
        let Some(e) = self.servers.get_mut(key) else {
            return;
        };
        if resp.status >= 200 {
            e.final_status.get_or_insert(resp.status);
        }
        for ev in e.tx.respond(resp, now) {
            if let TxEvent::Retransmit(bytes) = ev {
                out.push(Output::Send {
                    to: e.peer.clone(),
                    bytes,
                });
            }
        }
        if e.tx.is_terminated() {
            self.servers.remove(key);
        }
    }

    fn new_call(
        &mut self,
        from: Peer,
        key: String,
        req: Request,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let tx = ServerTransaction::new(req.clone(), from.reliable(), self.cfg.timers.clone(), now);
        self.servers.insert(
            key.clone(),
            ServerEntry {
                tx,
                call: None,
                peer: from.clone(),
                final_status: None,
            },
        );
        let caller_tag = self.tokens.next(12);
        let reply = |eng: &mut Engine,
                     status: u16,
                     reason: &str,
                     extra: Option<(&str, &str)>,
                     out: &mut Vec<Output>| {
            let mut resp = Response::for_request(&req, status, reason, Some(&caller_tag));
            resp.headers.push("Server", eng.cfg.product.clone());
            if let Some((n, v)) = extra {
                resp.headers.push(n, v);
            }
            eng.respond_on(&key, resp, now, out);
        };
        // The 100 Trying goes out after the forwarded INVITE (inserted before it below): the
        // INVITE is what the call waits for, and on loopback or a busy host every send before
        // it adds its cost to the hop.
        let trying_at = out.len();
        reply(self, 100, "Trying", None, out);

        let max_forwards = match req
            .headers
            .get("Max-Forwards")
            .map(|v| v.trim().parse::<u32>())
        {
            None => 70,
            Some(Ok(n)) => n,
            Some(Err(_)) => return reply(self, 400, "Bad Max-Forwards", None, out),
        };
        if max_forwards == 0 {
            return reply(self, 483, "Too Many Hops", None, out);
        }
        // The systems the call crossed: read from zones only (crate::path).
        let path = match from {
            Peer::Zone(_) => match CallPath::parse(req.headers.get_all(path::HEADER)) {
                Ok(p) => p,
                Err(PathError::TooLong) => return reply(self, 483, "Too Many Hops", None, out),
                Err(e) => return reply(self, 400, &format!("Bad Request ({e})"), None, out),
            },
            Peer::Net { .. } => CallPath::default(),
        };
        if let Some(me) = path.find(&self.path_id) {
            let why = format!("Loop Detected (the call already crossed {})", me.name);
            return reply(self, 482, &why, None, out);
        }
        if self.calls.len() >= self.cfg.max_calls {
            return reply(
                self,
                503,
                "Service Unavailable",
                Some(("Retry-After", "5")),
                out,
            );
        }
        let target = match env.route(&req, &from) {
            RouteDecision::Forward(p) => p,
            RouteDecision::NotFound => return reply(self, 404, "Not Found", None, out),
            RouteDecision::ZoneDown(z) => {
                let _ = z;
                return reply(self, 503, "Zone Down", Some(("Retry-After", "30")), out);
            }
            RouteDecision::Refused(why) => {
                return reply(self, 403, &format!("Forbidden ({why})"), None, out);
            }
            RouteDecision::Unavailable(why) => {
                return reply(
                    self,
                    503,
                    &format!("Service Unavailable ({why})"),
                    Some(("Retry-After", "30")),
                    out,
                );
            }
            RouteDecision::Overloaded => {
                return reply(self, 503, "Overloaded", Some(("Retry-After", "5")), out);
            }
        };
        if target == from {
            return reply(self, 482, "Loop Detected", None, out);
        }
        let id = self.next_call;
        self.next_call += 1;

        let Some(from_value) = req.headers.get("From").map(str::to_string) else {
            return reply(self, 400, "Missing From", None, out);
        };
        let Some(to_value) = req.headers.get("To").map(str::to_string) else {
            return reply(self, 400, "Missing To", None, out);
        };
        let Some(caller_tag_remote) = header_param(&from_value, "tag").map(str::to_string) else {
            return reply(self, 400, "Missing From tag", None, out);
        };
        let caller_contact = req
            .headers
            .get("Contact")
            .and_then(uri_of)
            .map(str::to_string)
            .unwrap_or_else(|| req.uri.clone());

        // The body on: anchored offer, or late offer.
        let mut body = Vec::new();
        let late_offer = !is_sdp(&req.headers, &req.body);
        if !late_offer {
            match env.anchor_offer(id, LegRole::Caller, &from, &target, &req.body) {
                Ok(b) => body = b,
                Err(e) => {
                    env.release_media(id);
                    return reply(self, 488, &format!("Not Acceptable Here ({e})"), None, out);
                }
            }
        } else if !req.body.is_empty() {
            body = req.body.clone();
        }

        let callee = Leg {
            peer: target.clone(),
            call_id: format!("{}@exp", self.tokens.next(24)),
            local_tag: self.tokens.next(12),
            remote_tag: None,
            local_uri: strip_tag(&from_value),
            remote_uri: strip_tag(&to_value),
            local_cseq: 1,
            remote_target: req.uri.clone(),
            route_set: Vec::new(),
        };
        let caller = Leg {
            peer: from.clone(),
            call_id: req.headers.get("Call-ID").unwrap_or_default().to_string(),
            local_tag: caller_tag.clone(),
            remote_tag: Some(caller_tag_remote),
            local_uri: strip_tag(&to_value),
            remote_uri: strip_tag(&from_value),
            local_cseq: 1,
            remote_target: caller_contact,
            route_set: Vec::new(),
        };
        // One less than it arrived with, and never above the hop count of the zone it enters;
        // a B2BUA must never raise it (RFC 7332 §3).
        let forwards = (max_forwards - 1).min(env.hop_limit(&target).unwrap_or(u32::MAX));
        let mut invite = self.build_request(&callee, "INVITE", &req.uri, 1, forwards, env);
        copy_headers(&req.headers, &mut invite.headers, REQUEST_HEADERS);
        if let Peer::Zone(_) = &target {
            let ours = path.with(&self.cfg.system_name, &self.path_id);
            invite.headers.push(path::HEADER, ours.to_string());
        }
        if let Some(sup) = req.headers.get("Supported") {
            // We do not do reliable provisionals (RFC 3262) across the B2BUA.
            let kept: Vec<&str> = crate::message::split_values(sup)
                .filter(|t| !t.trim().eq_ignore_ascii_case("100rel"))
                .collect();
            if !kept.is_empty() {
                invite.headers.push("Supported", kept.join(", "));
            }
        }
        invite.body = body;

        let branch = top_via_branch(&invite.headers).unwrap_or_default();
        let ckey = client_key(&branch, "INVITE");
        let (ctx, first) =
            ClientTransaction::new(invite, target.reliable(), self.cfg.timers.clone(), now);
        out.insert(
            trying_at.min(out.len()),
            Output::Send {
                to: target.clone(),
                bytes: first,
            },
        );
        self.clients.insert(
            ckey.clone(),
            ClientEntry {
                tx: ctx,
                call: id,
                leg: LegRole::Callee,
                peer: target,
                purpose: Purpose::Invite,
            },
        );
        if let Some(e) = self.servers.get_mut(&key) {
            e.call = Some(id);
        }
        self.dialogs.insert(
            (caller.call_id.clone(), caller.local_tag.clone()),
            (id, LegRole::Caller),
        );
        self.dialogs.insert(
            (callee.call_id.clone(), callee.local_tag.clone()),
            (id, LegRole::Callee),
        );
        self.calls.insert(
            id,
            Call {
                id,
                state: CallState::Proceeding,
                from: uri_of(&from_value).unwrap_or(&from_value).to_string(),
                to: uri_of(&to_value).unwrap_or(&to_value).to_string(),
                caller,
                callee,
                invite_server: key,
                invite_client: Some(ckey),
                cancel_pending: false,
                late_offer,
                callee_ack_pending: false,
                invite_in_progress: true,
                reinvite_ack: None,
                retransmit: None,
                invite_deadline: Some(now + self.cfg.invite_timeout),
                started: now,
            },
        );
        out.push(Output::CallStarted(id));
    }

    /// A request within a dialog of ours, from `leg`'s side.
    fn build_request(
        &mut self,
        leg: &Leg,
        method: &str,
        uri: &str,
        cseq: u32,
        max_forwards: u32,
        env: &dyn CallEnv,
    ) -> Request {
        let mut r = Request::new(method, uri);
        let branch = format!("z9hG4bK{}", self.tokens.next(16));
        let h = &mut r.headers;
        h.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                leg.peer.via_transport(),
                env.via_sent_by(&leg.peer)
            ),
        );
        for route in &leg.route_set {
            h.push("Route", route.clone());
        }
        h.push("Max-Forwards", max_forwards.to_string());
        h.push("From", format!("{};tag={}", leg.local_uri, leg.local_tag));
        match &leg.remote_tag {
            Some(t) => h.push("To", format!("{};tag={t}", leg.remote_uri)),
            None => h.push("To", leg.remote_uri.clone()),
        }
        h.push("Call-ID", leg.call_id.clone());
        h.push("CSeq", format!("{cseq} {method}"));
        if method == "INVITE" || method == "UPDATE" {
            h.push("Contact", format!("<{}>", env.contact(&leg.peer)));
        }
        h.push("User-Agent", self.cfg.product.clone());
        r
    }

    /// Send a new in-dialog request on `role`'s leg of `call`.
    #[allow(clippy::too_many_arguments)]
    fn send_in_dialog(
        &mut self,
        call: CallId,
        role: LegRole,
        method: &str,
        body: Option<(&Headers, Vec<u8>)>,
        purpose: Purpose,
        now: Instant,
        env: &dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let leg = c.leg_mut(role);
        leg.local_cseq += 1;
        let leg = leg.clone();
        let mut req = self.build_request(
            &leg,
            method,
            &leg.remote_target.clone(),
            leg.local_cseq,
            70,
            env,
        );
        if let Some((src, b)) = body {
            copy_headers(src, &mut req.headers, REQUEST_HEADERS);
            req.body = b;
        }
        let branch = top_via_branch(&req.headers).unwrap_or_default();
        let ckey = client_key(&branch, method);
        let (tx, first) =
            ClientTransaction::new(req, leg.peer.reliable(), self.cfg.timers.clone(), now);
        out.push(Output::Send {
            to: leg.peer.clone(),
            bytes: first,
        });
        self.clients.insert(
            ckey,
            ClientEntry {
                tx,
                call,
                leg: role,
                peer: leg.peer,
                purpose,
            },
        );
    }

    /// ACK for a 2xx on the callee leg (RFC 3261 §13.2.2.4: a new transaction, same CSeq).
    fn send_ack(
        &mut self,
        call: CallId,
        role: LegRole,
        cseq: u32,
        sdp: Vec<u8>,
        env: &dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let leg = c.leg(role).clone();
        let mut ack = self.build_request(&leg, "ACK", &leg.remote_target, cseq, 70, env);
        if !sdp.is_empty() {
            ack.headers.push("Content-Type", "application/sdp");
        }
        ack.body = sdp;
        out.push(Output::Send {
            to: leg.peer,
            bytes: Message::Request(ack).to_bytes(),
        });
    }

    fn handle_cancel(
        &mut self,
        from: Peer,
        req: Request,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(branch) = top_via_branch(&req.headers) else {
            return;
        };
        let sent_by = top_via_sent_by(&req.headers).unwrap_or_default();
        let invite_key = format!("{branch}|{sent_by}|INVITE");
        let Some(call) = self.servers.get(&invite_key).and_then(|e| e.call) else {
            return self.send_stateless(&from, &req, 481, "Call/Transaction Does Not Exist", out);
        };
        // 200 for the CANCEL itself (RFC 3261 §9.2).
        let resp = Response::for_request(&req, 200, "OK", None);
        out.push(Output::Send {
            to: from,
            bytes: Message::Response(resp).to_bytes(),
        });
        let answered = self
            .calls
            .get(&call)
            .is_some_and(|c| !matches!(c.state, CallState::Proceeding | CallState::Early));
        if answered {
            return;
        }
        // 487 for the INVITE now; the callee leg is cancelled and its answer absorbed.
        if let Some(inv) = self
            .servers
            .get(&invite_key)
            .map(|e| e.tx.request().clone())
        {
            let tag = self.calls.get(&call).map(|c| c.caller.local_tag.clone());
            let mut resp = Response::for_request(&inv, 487, "Request Terminated", tag.as_deref());
            resp.headers.push("Server", self.cfg.product.clone());
            self.respond_on(&invite_key, resp, now, out);
        }
        self.cancel_callee(call, now, out);
        self.finish(call, "cancelled by the caller", env, out);
    }

    /// CANCEL the callee INVITE if a provisional came, else remember to when one does.
    fn cancel_callee(&mut self, call: CallId, now: Instant, out: &mut Vec<Output>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(ckey) = c.invite_client.clone() else {
            return;
        };
        let Some(e) = self.clients.get(&ckey) else {
            return;
        };
        if !e.tx.provisional_received() {
            c.cancel_pending = true;
            return;
        }
        if let Some(cancel) = e.tx.cancel_request() {
            let peer = e.peer.clone();
            let branch = top_via_branch(&cancel.headers).unwrap_or_default();
            let (tx, first) =
                ClientTransaction::new(cancel, peer.reliable(), self.cfg.timers.clone(), now);
            out.push(Output::Send {
                to: peer.clone(),
                bytes: first,
            });
            self.clients.insert(
                client_key(&branch, "CANCEL"),
                ClientEntry {
                    tx,
                    call,
                    leg: LegRole::Callee,
                    peer,
                    purpose: Purpose::Own,
                },
            );
        }
    }

    fn in_dialog(
        &mut self,
        from: Peer,
        req: Request,
        tag: String,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let call_id = req.headers.get("Call-ID").unwrap_or_default().to_string();
        let Some(&(call, role)) = self.dialogs.get(&(call_id, tag)) else {
            if req.method != "ACK" {
                self.send_stateless(&from, &req, 481, "Call/Transaction Does Not Exist", out);
            }
            return;
        };
        match req.method.as_str() {
            "ACK" => self.handle_ack(call, role, req, env, out),
            "BYE" => self.handle_bye(call, role, from, req, now, env, out),
            _ => self.forward_in_dialog(call, role, from, req, now, env, out),
        }
    }

    fn handle_ack(
        &mut self,
        call: CallId,
        role: LegRole,
        req: Request,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let cseq = cseq_of(&req.headers).map(|(n, _)| n).unwrap_or(0);
        if role == LegRole::Caller && c.state == CallState::Answered {
            c.retransmit = None;
            c.state = CallState::Confirmed;
            c.invite_in_progress = false;
            if c.callee_ack_pending {
                c.callee_ack_pending = false;
                let callee_cseq = 1;
                let (from_peer, to_peer) = (c.caller.peer.clone(), c.callee.peer.clone());
                let body = if c.late_offer && is_sdp(&req.headers, &req.body) {
                    env.anchor_answer(call, LegRole::Caller, &from_peer, &to_peer, &req.body)
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                self.send_ack(call, LegRole::Callee, callee_cseq, body, env, out);
            }
            return;
        }
        // ACK of a forwarded re-INVITE's 2xx.
        if let Some((sender, needs_answer)) = c.reinvite_ack {
            if sender == role {
                c.reinvite_ack = None;
                c.retransmit = None;
                c.invite_in_progress = false;
                let other = role.other();
                let cseq_other = c.leg(other).local_cseq;
                let (fp, tp) = (c.leg(role).peer.clone(), c.leg(other).peer.clone());
                let body = if needs_answer && is_sdp(&req.headers, &req.body) {
                    env.anchor_answer(call, role, &fp, &tp, &req.body)
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                if needs_answer {
                    self.send_ack(call, other, cseq_other, body, env, out);
                }
            }
        }
        let _ = cseq;
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_bye(
        &mut self,
        call: CallId,
        role: LegRole,
        from: Peer,
        req: Request,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let resp = Response::for_request(&req, 200, "OK", None);
        // BYE is answered at once; a retransmitted BYE gets the same answer from the
        // transaction.
        if let Some(key) = server_key(&req) {
            let tx =
                ServerTransaction::new(req.clone(), from.reliable(), self.cfg.timers.clone(), now);
            self.servers.insert(
                key.clone(),
                ServerEntry {
                    tx,
                    call: Some(call),
                    peer: from,
                    final_status: None,
                },
            );
            self.respond_on(&key, resp, now, out);
        }
        let other = role.other();
        let state = self.calls.get(&call).map(|c| c.state);
        match state {
            Some(CallState::Proceeding | CallState::Early) if role == LegRole::Caller => {
                // Not possible per RFC 3261 before a 2xx; treat like CANCEL.
                self.cancel_callee(call, now, out);
            }
            Some(_) => {
                let reason = req.headers.get("Reason").map(str::to_string);
                self.send_in_dialog(call, other, "BYE", None, Purpose::Own, now, env, out);
                let _ = reason;
            }
            None => {}
        }
        let who = match role {
            LegRole::Caller => "caller",
            LegRole::Callee => "callee",
        };
        self.finish(call, &format!("BYE from the {who}"), env, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_in_dialog(
        &mut self,
        call: CallId,
        role: LegRole,
        from: Peer,
        req: Request,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(key) = server_key(&req) else { return };
        let tx = ServerTransaction::new(req.clone(), from.reliable(), self.cfg.timers.clone(), now);
        self.servers.insert(
            key.clone(),
            ServerEntry {
                tx,
                call: Some(call),
                peer: from.clone(),
                final_status: None,
            },
        );
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let is_invite = req.method == "INVITE";
        if is_invite {
            if c.invite_in_progress {
                let tag = c.leg(role).local_tag.clone();
                let resp = Response::for_request(&req, 491, "Request Pending", Some(&tag));
                return self.respond_on(&key, resp, now, out);
            }
            c.invite_in_progress = true;
            if let Some(contact) = req.headers.get("Contact").and_then(uri_of) {
                c.leg_mut(role).remote_target = contact.to_string();
            }
        }
        let other = role.other();
        let (fp, tp) = (c.leg(role).peer.clone(), c.leg(other).peer.clone());
        let has_sdp = is_sdp(&req.headers, &req.body);
        let body = if has_sdp {
            match env.anchor_offer(call, role, &fp, &tp, &req.body) {
                Ok(b) => b,
                Err(e) => {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.invite_in_progress = false;
                    }
                    let resp = Response::for_request(
                        &req,
                        488,
                        &format!("Not Acceptable Here ({e})"),
                        None,
                    );
                    return self.respond_on(&key, resp, now, out);
                }
            }
        } else {
            req.body.clone()
        };
        let purpose = Purpose::Forward {
            server: key,
            late_offer: is_invite && !has_sdp,
        };
        self.send_in_dialog(
            call,
            other,
            &req.method,
            Some((&req.headers, body)),
            purpose,
            now,
            env,
            out,
        );
    }

    // -----------------------------------------------------------------------------------
    // Responses
    // -----------------------------------------------------------------------------------

    fn handle_response(
        &mut self,
        resp: Response,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(branch) = top_via_branch(&resp.headers) else {
            return;
        };
        let Some((_, method)) = cseq_of(&resp.headers) else {
            return;
        };
        let key = client_key(&branch, &method);
        let Some(mut e) = self.clients.remove(&key) else {
            // A 2xx retransmission for an INVITE whose transaction ended: re-ACK it.
            if method == "INVITE" && (200..300).contains(&resp.status) {
                self.reack(resp, env, out);
            }
            return;
        };
        let events = e.tx.handle_response(resp, now);
        self.client_events(&key, &mut e, events, now, env, out);
        if !e.tx.is_terminated() {
            self.clients.insert(key, e);
        }
    }

    fn reack(&mut self, resp: Response, env: &dyn CallEnv, out: &mut Vec<Output>) {
        let call_id = resp.headers.get("Call-ID").unwrap_or_default().to_string();
        let tag = resp
            .headers
            .get("From")
            .and_then(|f| header_param(f, "tag"))
            .unwrap_or_default()
            .to_string();
        let Some(&(call, role)) = self.dialogs.get(&(call_id, tag)) else {
            return;
        };
        let Some((cseq, _)) = cseq_of(&resp.headers) else {
            return;
        };
        let pending = self.calls.get(&call).is_some_and(|c| c.callee_ack_pending);
        if !pending {
            self.send_ack(call, role, cseq, Vec::new(), env, out);
        }
    }

    fn client_events(
        &mut self,
        _key: &str,
        e: &mut ClientEntry,
        events: Vec<TxEvent>,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        for ev in events {
            match ev {
                TxEvent::Retransmit(bytes) => out.push(Output::Send {
                    to: e.peer.clone(),
                    bytes,
                }),
                TxEvent::Response(resp) => match e.purpose.clone() {
                    Purpose::Invite => {
                        if !self.calls.contains_key(&e.call) && (200..300).contains(&resp.status) {
                            self.ack_and_bye_stray(&resp, &e.peer, env, out);
                        } else {
                            self.invite_response(e.call, resp, now, env, out)
                        }
                    }
                    Purpose::Forward { server, late_offer } => self.forwarded_response(
                        e.call, e.leg, &server, late_offer, resp, now, env, out,
                    ),
                    Purpose::Own => {}
                },
                TxEvent::Timeout | TxEvent::TransportError => {
                    let status = if matches!(ev, TxEvent::Timeout) {
                        408
                    } else {
                        503
                    };
                    let mut synthetic =
                        Response::new(status, crate::message::reason_phrase(status));
                    synthetic.headers = Headers::new();
                    match e.purpose.clone() {
                        Purpose::Invite => self.invite_failed(e.call, status, now, env, out),
                        Purpose::Forward { server, .. } => {
                            if let Some(req) =
                                self.servers.get(&server).map(|s| s.tx.request().clone())
                            {
                                let r = Response::for_request(
                                    &req,
                                    status,
                                    crate::message::reason_phrase(status),
                                    None,
                                );
                                self.respond_on(&server, r, now, out);
                            }
                            if let Some(c) = self.calls.get_mut(&e.call) {
                                c.invite_in_progress = false;
                            }
                            if status == 408 {
                                // RFC 3261 §12.2.1.2: a timeout in a dialog ends it.
                                self.end_call(
                                    e.call,
                                    "in-dialog request timed out",
                                    None,
                                    now,
                                    env,
                                    out,
                                );
                            }
                        }
                        Purpose::Own => {}
                    }
                }
                _ => {}
            }
        }
    }

    /// A 2xx for a call we already gave up (cancelled, caller gone): ACK it and hang it up
    /// (RFC 3261 §15: a B2BUA must not leave the callee in a call).
    fn ack_and_bye_stray(
        &mut self,
        resp: &Response,
        peer: &Peer,
        env: &dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let h = &resp.headers;
        let (Some(from), Some(to), Some(call_id)) = (h.get("From"), h.get("To"), h.get("Call-ID"))
        else {
            return;
        };
        let cseq = cseq_of(h).map(|(n, _)| n).unwrap_or(1);
        let leg = Leg {
            peer: peer.clone(),
            call_id: call_id.to_string(),
            local_tag: header_param(from, "tag").unwrap_or_default().to_string(),
            remote_tag: header_param(to, "tag").map(str::to_string),
            local_uri: strip_tag(from),
            remote_uri: strip_tag(to),
            local_cseq: cseq,
            remote_target: h
                .get("Contact")
                .and_then(uri_of)
                .or_else(|| uri_of(to))
                .unwrap_or_default()
                .to_string(),
            route_set: {
                let mut r: Vec<String> = h.get_all("Record-Route").map(str::to_string).collect();
                r.reverse();
                r
            },
        };
        let ack = self.build_request(&leg, "ACK", &leg.remote_target, cseq, 70, env);
        out.push(Output::Send {
            to: peer.clone(),
            bytes: Message::Request(ack).to_bytes(),
        });
        let bye = self.build_request(&leg, "BYE", &leg.remote_target, cseq + 1, 70, env);
        out.push(Output::Send {
            to: peer.clone(),
            bytes: Message::Request(bye).to_bytes(),
        });
    }

    fn invite_failed(
        &mut self,
        call: CallId,
        status: u16,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let key = c.invite_server.clone();
        let tag = c.caller.local_tag.clone();
        if let Some(req) = self.servers.get(&key).map(|s| s.tx.request().clone()) {
            let mut r = Response::for_request(
                &req,
                status,
                crate::message::reason_phrase(status),
                Some(&tag),
            );
            r.headers.push("Server", self.cfg.product.clone());
            self.respond_on(&key, r, now, out);
        }
        self.finish(call, &format!("callee leg failed ({status})"), env, out);
    }

    fn invite_response(
        &mut self,
        call: CallId,
        resp: Response,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            // The call is gone (cancelled); a late 2xx must still be ACKed and hung up.
            return;
        };
        let status = resp.status;
        if status < 200 {
            if status == 100 {
                return;
            }
            if c.state == CallState::Proceeding {
                c.state = CallState::Early;
            }
            if let Some(t) = resp.headers.get("To").and_then(|t| header_param(t, "tag")) {
                c.callee.remote_tag.get_or_insert_with(|| t.to_string());
            }
            let cancel = c.cancel_pending;
            if cancel {
                c.cancel_pending = false;
                self.cancel_callee(call, now, out);
                return;
            }
            self.relay_invite_response(call, resp, false, now, env, out);
            return;
        }
        if (200..300).contains(&status) {
            if !matches!(c.state, CallState::Proceeding | CallState::Early) {
                // A retransmission or another fork's answer.
                let tag = resp
                    .headers
                    .get("To")
                    .and_then(|t| header_param(t, "tag"))
                    .map(str::to_string);
                let cseq = cseq_of(&resp.headers).map(|(n, _)| n).unwrap_or(1);
                if tag.is_some() && tag != c.callee.remote_tag {
                    // Another fork answered: ACK and hang it up (RFC 3261 §13.2.2.4).
                    let mut fork = c.callee.clone();
                    fork.remote_tag = tag;
                    if let Some(ct) = resp.headers.get("Contact").and_then(uri_of) {
                        fork.remote_target = ct.to_string();
                    }
                    let ack = self.build_request(&fork, "ACK", &fork.remote_target, cseq, 70, env);
                    out.push(Output::Send {
                        to: fork.peer.clone(),
                        bytes: Message::Request(ack).to_bytes(),
                    });
                    let bye =
                        self.build_request(&fork, "BYE", &fork.remote_target, cseq + 1, 70, env);
                    out.push(Output::Send {
                        to: fork.peer.clone(),
                        bytes: Message::Request(bye).to_bytes(),
                    });
                } else if !c.callee_ack_pending {
                    self.send_ack(call, LegRole::Callee, cseq, Vec::new(), env, out);
                }
                return;
            }
            c.invite_deadline = None;
            if let Some(t) = resp.headers.get("To").and_then(|t| header_param(t, "tag")) {
                c.callee.remote_tag = Some(t.to_string());
            }
            if let Some(ct) = resp.headers.get("Contact").and_then(uri_of) {
                c.callee.remote_target = ct.to_string();
            }
            c.callee.route_set = resp
                .headers
                .get_all("Record-Route")
                .map(str::to_string)
                .collect();
            c.callee.route_set.reverse();
            c.state = CallState::Answered;
            let late = c.late_offer;
            c.callee_ack_pending = late;
            if c.cancel_pending {
                // Answered before we could cancel: ACK and BYE it.
                c.cancel_pending = false;
                self.send_ack(call, LegRole::Callee, 1, Vec::new(), env, out);
                self.end_call(call, "answered after cancel", None, now, env, out);
                return;
            }
            self.relay_invite_response(call, resp, true, now, env, out);
            if !late {
                self.send_ack(call, LegRole::Callee, 1, Vec::new(), env, out);
            }
            return;
        }
        // Failure: relay and end.
        self.relay_invite_response(call, resp, false, now, env, out);
        self.finish(call, &format!("callee answered {status}"), env, out);
    }

    /// Relay a callee INVITE response to the caller, anchoring SDP.
    fn relay_invite_response(
        &mut self,
        call: CallId,
        resp: Response,
        is_2xx: bool,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let key = c.invite_server.clone();
        let tag = c.caller.local_tag.clone();
        let late = c.late_offer;
        let (fp, tp) = (c.callee.peer.clone(), c.caller.peer.clone());
        let Some(req) = self.servers.get(&key).map(|s| s.tx.request().clone()) else {
            return;
        };
        let mut r = Response::for_request(&req, resp.status, &resp.reason, Some(&tag));
        copy_headers(&resp.headers, &mut r.headers, RESPONSE_HEADERS);
        r.headers.push("Server", self.cfg.product.clone());
        if resp.status < 300 {
            r.headers.push("Contact", format!("<{}>", env.contact(&tp)));
        }
        if is_sdp(&resp.headers, &resp.body) {
            let anchored = if late && is_2xx {
                env.anchor_offer(call, LegRole::Callee, &fp, &tp, &resp.body)
            } else {
                env.anchor_answer(call, LegRole::Callee, &fp, &tp, &resp.body)
            };
            match anchored {
                Ok(b) => r.body = b,
                Err(_) => {
                    r.headers.remove("Content-Type");
                }
            }
        } else {
            r.headers.remove("Content-Type");
        }
        if is_2xx && !tp.reliable() {
            let bytes = Message::Response(r.clone()).to_bytes();
            if let Some(c) = self.calls.get_mut(&call) {
                c.retransmit = Some(Retransmit2xx {
                    bytes,
                    next: now + self.cfg.timers.t1,
                    interval: self.cfg.timers.t1,
                    give_up: now + self.cfg.timers.t1 * 64,
                });
            }
        }
        self.respond_on(&key, r, now, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn forwarded_response(
        &mut self,
        call: CallId,
        leg: LegRole,
        server: &str,
        late_offer: bool,
        resp: Response,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(req) = self.servers.get(server).map(|s| s.tx.request().clone()) else {
            return;
        };
        let sender = leg.other();
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (fp, tp) = (c.leg(leg).peer.clone(), c.leg(sender).peer.clone());
        let tag = c.leg(sender).local_tag.clone();
        let is_invite = req.method == "INVITE";
        if resp.status == 100 {
            return;
        }
        let mut r = Response::for_request(&req, resp.status, &resp.reason, Some(&tag));
        copy_headers(&resp.headers, &mut r.headers, RESPONSE_HEADERS);
        r.headers.push("Server", self.cfg.product.clone());
        if is_invite && resp.status < 300 {
            r.headers.push("Contact", format!("<{}>", env.contact(&tp)));
        }
        if is_sdp(&resp.headers, &resp.body) {
            let anchored = if late_offer {
                env.anchor_offer(call, leg, &fp, &tp, &resp.body)
            } else {
                env.anchor_answer(call, leg, &fp, &tp, &resp.body)
            };
            match anchored {
                Ok(b) => r.body = b,
                Err(_) => r.headers.remove("Content-Type"),
            }
        } else {
            r.headers.remove("Content-Type");
        }
        let status = resp.status;
        if is_invite && (200..300).contains(&status) {
            let cseq = cseq_of(&resp.headers).map(|(n, _)| n).unwrap_or(1);
            if let Some(c) = self.calls.get_mut(&call) {
                if let Some(ct) = resp.headers.get("Contact").and_then(uri_of) {
                    c.leg_mut(leg).remote_target = ct.to_string();
                }
                c.reinvite_ack = Some((sender, late_offer));
                if !tp.reliable() {
                    c.retransmit = Some(Retransmit2xx {
                        bytes: Message::Response(r.clone()).to_bytes(),
                        next: now + self.cfg.timers.t1,
                        interval: self.cfg.timers.t1,
                        give_up: now + self.cfg.timers.t1 * 64,
                    });
                }
            }
            if !late_offer {
                self.send_ack(call, leg, cseq, Vec::new(), env, out);
            }
        } else if is_invite && status >= 300 {
            if let Some(c) = self.calls.get_mut(&call) {
                c.invite_in_progress = false;
            }
        }
        self.respond_on(server, r, now, out);
        if status == 481 || status == 408 {
            self.end_call(
                call,
                &format!("in-dialog request answered {status}"),
                None,
                now,
                env,
                out,
            );
        }
    }

    // -----------------------------------------------------------------------------------
    // Ending calls
    // -----------------------------------------------------------------------------------

    /// Hang up both legs (skipping `gone`, whose transport is lost) and finish the call.
    fn end_call(
        &mut self,
        call: CallId,
        reason: &str,
        gone: Option<Peer>,
        now: Instant,
        env: &mut dyn CallEnv,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let state = c.state;
        let caller_peer = c.caller.peer.clone();
        let callee_peer = c.callee.peer.clone();
        let invite_server = c.invite_server.clone();
        let tag = c.caller.local_tag.clone();
        match state {
            CallState::Proceeding | CallState::Early => {
                if Some(&caller_peer) != gone.as_ref() {
                    if let Some(req) = self
                        .servers
                        .get(&invite_server)
                        .map(|s| s.tx.request().clone())
                    {
                        let (status, phrase) = if reason == "no answer" {
                            (408, "Request Timeout")
                        } else {
                            (503, "Service Unavailable")
                        };
                        let mut r = Response::for_request(&req, status, phrase, Some(&tag));
                        r.headers
                            .push("Reason", format!("SIP;cause={status};text=\"{reason}\""));
                        self.respond_on(&invite_server, r, now, out);
                    }
                }
                if Some(&callee_peer) != gone.as_ref() {
                    self.cancel_callee(call, now, out);
                }
            }
            CallState::Answered | CallState::Confirmed => {
                for (role, peer) in [
                    (LegRole::Caller, caller_peer),
                    (LegRole::Callee, callee_peer),
                ] {
                    if Some(&peer) != gone.as_ref() {
                        self.send_in_dialog(call, role, "BYE", None, Purpose::Own, now, env, out);
                    }
                }
            }
            CallState::Ending => {}
        }
        self.finish(call, reason, env, out);
    }

    /// Forget the call: release media, drop the dialogs; transactions finish on their own.
    fn finish(&mut self, call: CallId, reason: &str, env: &mut dyn CallEnv, out: &mut Vec<Output>) {
        let Some(c) = self.calls.remove(&call) else {
            return;
        };
        self.dialogs
            .remove(&(c.caller.call_id.clone(), c.caller.local_tag.clone()));
        self.dialogs
            .remove(&(c.callee.call_id.clone(), c.callee.local_tag.clone()));
        env.release_media(call);
        out.push(Output::CallEnded {
            call,
            reason: reason.to_string(),
        });
    }
}

impl ServerEntry {
    /// True when this INVITE server transaction answered with a 2xx (its ACK belongs to the
    /// dialog, not the transaction).
    fn tx_final_was_2xx(&self) -> bool {
        self.final_status.is_some_and(|s| (200..300).contains(&s))
    }
}
