//! The call task: one B2BUA [`Engine`] per program, fed by the SIP listeners and the zone
//! connections, its output sent back out through them.
//!
//! [`CallBus`] is how the zone tasks and the call task meet: zone connections register while
//! they are up (so calls can be sent into the zone) and push what the other side sends; the
//! call task learns when a zone goes down and ends the calls that used it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use exp_sip::b2bua::{CallEnv, CallId, Engine, LegRole, NetTransport, Output, Peer, RouteDecision};
use exp_sip::message::{uri_of, Message, Request};
use exp_zone::config::TargetTransport;
use exp_zone::routing::{RouteTarget, Router};
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::anchor::{Anchor, MediaLegStatus};
use crate::media_io::MediaRelay;

use crate::server_zone::ConnCommand;
use crate::sip_transport::SipTransport;
use crate::status::unix_now;
use crate::target_names::TargetNames;

/// How to write into a zone's current connection.
#[derive(Clone)]
pub enum ZoneTx {
    /// exp-e's side: the server connection task.
    Server(mpsc::Sender<ConnCommand>),
    /// exp-c's side: the client connection task.
    Client(mpsc::Sender<Vec<u8>>),
}

/// Input of the call task.
#[derive(Debug)]
pub enum CallInput {
    /// A message from a peer.
    Message(Peer, Message),
    /// A zone's connection is gone.
    ZoneDown(String),
}

/// Meeting point of zone tasks and the call task.
pub struct CallBus {
    inbox: mpsc::Sender<CallInput>,
    links: Mutex<HashMap<String, ZoneTx>>,
}

impl CallBus {
    /// A bus delivering into `inbox`.
    pub fn new(inbox: mpsc::Sender<CallInput>) -> Arc<Self> {
        Arc::new(CallBus {
            inbox,
            links: Mutex::new(HashMap::new()),
        })
    }

    /// The zone is up on this connection.
    pub fn zone_up(&self, zone: &str, tx: ZoneTx) {
        if let Ok(mut l) = self.links.lock() {
            l.insert(zone.to_string(), tx);
        }
    }

    /// The zone is down: calls through it end.
    pub fn zone_down(&self, zone: &str) {
        let was = self
            .links
            .lock()
            .ok()
            .and_then(|mut l| l.remove(zone))
            .is_some();
        if was {
            let _ = self.inbox.try_send(CallInput::ZoneDown(zone.to_string()));
        }
    }

    /// True while the zone has a connection.
    pub fn is_up(&self, zone: &str) -> bool {
        self.links
            .lock()
            .map(|l| l.contains_key(zone))
            .unwrap_or(false)
    }

    /// A message arrived over a zone.
    pub fn from_zone(&self, zone: &str, msg: Message) {
        if self
            .inbox
            .try_send(CallInput::Message(Peer::Zone(zone.to_string()), msg))
            .is_err()
        {
            warn!(
                zone,
                "call task busy or gone: message from the zone dropped"
            );
        }
    }

    fn send_to_zone(&self, zone: &str, bytes: Vec<u8>) -> Result<(), &'static str> {
        let tx = self.links.lock().ok().and_then(|l| l.get(zone).cloned());
        let full = "the zone connection's send queue is full (overload)";
        match tx {
            Some(ZoneTx::Server(tx)) => tx.try_send(ConnCommand::Send(bytes)).map_err(|_| full),
            Some(ZoneTx::Client(tx)) => tx.try_send(bytes).map_err(|_| full),
            None => Err("zone not connected"),
        }
    }
}

/// A call as `/api/v1/calls` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CallStatus {
    /// Engine call number.
    pub id: CallId,
    /// The caller's Call-ID.
    pub call_id: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// Caller side (`udp:1.2.3.4:5060`, `zone:name`).
    pub caller: String,
    /// Callee side.
    pub callee: String,
    /// Zone the call uses, if any.
    pub zone: Option<String>,
    /// `proceeding`, `early`, `answered`, `confirmed`, `ending`.
    pub state: &'static str,
    /// Unix time the call started.
    pub start_unix: u64,
    /// Media legs, per stream and side.
    pub media: Vec<MediaLegStatus>,
    /// Relay streams of the call (media line index, stream), to fill `media` live.
    #[serde(skip)]
    pub streams: Vec<(usize, exp_media::StreamId)>,
}

/// Routing and addressing for the engine.
pub struct RuntimeEnv {
    router: Router,
    bus: Arc<CallBus>,
    advertised: IpAddr,
    udp_port: u16,
    tcp_port: u16,
    anchor: Option<Anchor>,
    /// Messages waiting in the call task's inbox when the current one was taken.
    backlog: usize,
    /// Addresses of host-name targets.
    names: Arc<TargetNames>,
    /// Hop count of each zone: the most Max-Forwards a request sent into it carries.
    hop_counts: HashMap<String, u32>,
}

/// Inbox backlog (messages) above which new calls are refused with 503: the call task is
/// behind, and taking more calls would only make every call's messages later.
const OVERLOAD_BACKLOG: usize = 1024;

impl RuntimeEnv {
    /// Environment with `router`, advertising `advertised` with the listener ports.
    pub fn new(
        router: Router,
        bus: Arc<CallBus>,
        advertised: IpAddr,
        udp_port: u16,
        tcp_port: u16,
        anchor: Option<Anchor>,
        names: Arc<TargetNames>,
    ) -> Self {
        RuntimeEnv {
            router,
            bus,
            advertised,
            udp_port,
            tcp_port,
            anchor,
            backlog: 0,
            names,
            hop_counts: HashMap::new(),
        }
    }

    /// The same, with each zone's hop count applied to requests sent into it.
    pub fn with_hop_counts(mut self, zones: impl IntoIterator<Item = (String, u8)>) -> Self {
        self.hop_counts = zones
            .into_iter()
            .map(|(name, hops)| (name, u32::from(hops)))
            .collect();
        self
    }
}

fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

impl CallEnv for RuntimeEnv {
    fn route(&mut self, request: &Request, from: &Peer) -> RouteDecision {
        if self.backlog > OVERLOAD_BACKLOG {
            warn!(
                backlog = self.backlog,
                "overloaded: new call refused with 503"
            );
            return RouteDecision::Overloaded;
        }
        let dest = uri_of(&request.uri).unwrap_or(&request.uri).to_string();
        // H.323 targets do not take SIP calls (no SIP/H.323 interworking).
        let Some(rule) = self
            .router
            .route_where(&dest, |t| !matches!(t, RouteTarget::H323 { .. }))
        else {
            return RouteDecision::NotFound;
        };
        match &rule.target {
            RouteTarget::Zone(z) => {
                if from == &Peer::Zone(z.clone()) {
                    return RouteDecision::Refused(
                        "the rule sends the call back into the zone it came from".into(),
                    );
                }
                if self.bus.is_up(z) {
                    RouteDecision::Forward(Peer::Zone(z.clone()))
                } else {
                    RouteDecision::ZoneDown(z.clone())
                }
            }
            RouteTarget::H323 { .. } => RouteDecision::NotFound,
            RouteTarget::Sip { address, transport } => {
                let addr = address
                    .parse::<SocketAddr>()
                    .ok()
                    .or_else(|| self.names.lookup(address));
                match addr {
                    Some(addr) => RouteDecision::Forward(Peer::Net {
                        transport: match transport {
                            TargetTransport::Udp => NetTransport::Udp,
                            TargetTransport::Tcp => NetTransport::Tcp,
                            TargetTransport::Tls => NetTransport::Tls,
                        },
                        addr,
                    }),
                    None => {
                        warn!(target = %address, "routing target has not resolved: call refused with 503");
                        RouteDecision::Unavailable(format!("target {address} does not resolve"))
                    }
                }
            }
        }
    }

    fn hop_limit(&self, peer: &Peer) -> Option<u32> {
        match peer {
            Peer::Zone(z) => self.hop_counts.get(z).copied(),
            Peer::Net { .. } => None,
        }
    }

    fn via_sent_by(&self, peer: &Peer) -> String {
        let port = match peer {
            Peer::Net {
                transport: NetTransport::Udp,
                ..
            } => self.udp_port,
            _ => self.tcp_port,
        };
        host_port(self.advertised, port)
    }

    fn contact(&self, peer: &Peer) -> String {
        let t = match peer {
            Peer::Net {
                transport: NetTransport::Udp,
                ..
            } => "",
            _ => ";transport=tcp",
        };
        format!("sip:exp@{}{t}", self.via_sent_by(peer))
    }

    // Without a media relay (SIP disabled in tests, benches) SDP passes unchanged.
    fn anchor_offer(
        &mut self,
        call: CallId,
        from: LegRole,
        fp: &Peer,
        tp: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String> {
        match &mut self.anchor {
            Some(a) => a.anchor(call, from, fp, tp, sdp),
            None => Ok(sdp.to_vec()),
        }
    }

    fn anchor_answer(
        &mut self,
        call: CallId,
        from: LegRole,
        fp: &Peer,
        tp: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.anchor_offer(call, from, fp, tp, sdp)
    }

    fn release_media(&mut self, call: CallId) {
        if let Some(a) = &mut self.anchor {
            a.release(call);
        }
    }
}

/// Run the call task until the inbox closes.
pub async fn run(
    mut engine: Engine,
    mut env: RuntimeEnv,
    bus: Arc<CallBus>,
    transport: Option<Arc<SipTransport>>,
    shared: Arc<crate::status::Shared>,
    mut rx: mpsc::Receiver<CallInput>,
    mut idle: mpsc::UnboundedReceiver<(exp_media::StreamId, u64)>,
) {
    let started_unix = |started: Instant| unix_now().saturating_sub(started.elapsed().as_secs());
    // The status snapshot is rebuilt when asked for (admin API, Node::calls), and at most every
    // second otherwise: rebuilding costs O(calls), and per message that turns overload into
    // collapse.
    const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
    let mut dirty = false;
    let mut last_snapshot = Instant::now();
    let wanted = shared.calls_wanted.clone();
    let media = env.anchor.as_ref().map(|a| a.media().clone());
    loop {
        let snapshot_due = async {
            if dirty {
                tokio::time::sleep_until(tokio::time::Instant::from_std(
                    last_snapshot + SNAPSHOT_EVERY,
                ))
                .await
            } else {
                std::future::pending().await
            }
        };
        let sleep = async {
            match engine.poll_timeout() {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        let mut hold = None;
        let outputs = tokio::select! {
            input = rx.recv() => {
                let Some(input) = input else { return };
                hold = media.as_deref().map(MediaRelay::defer_wakes);
                // Everything already waiting is handled before anything is sent: messages that
                // arrived together (a burst of INVITEs, a zone read carrying several) leave
                // together, and no send waits behind the next message's work.
                let mut outputs = Vec::new();
                let mut next = Some(input);
                let mut taken = 0;
                while let Some(input) = next.take() {
                    env.backlog = rx.len();
                    let now = Instant::now();
                    outputs.extend(match input {
                        CallInput::Message(peer, msg) => engine.handle_message(peer, msg, now, &mut env),
                        CallInput::ZoneDown(z) => engine.zone_lost(&z, now, &mut env),
                    });
                    taken += 1;
                    if taken < INPUT_BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                outputs
            }
            _ = sleep => engine.handle_timeout(Instant::now(), &mut env),
            _ = snapshot_due => {
                dirty = false;
                last_snapshot = Instant::now();
                publish_status(&engine, &env, &shared, started_unix);
                continue;
            }
            _ = wanted.notified() => {
                dirty = false;
                last_snapshot = Instant::now();
                publish_status(&engine, &env, &shared, started_unix);
                continue;
            }
            Some((stream, call)) = idle.recv() => {
                let owned = env.anchor.as_ref().is_some_and(|a| a.owns(call, stream));
                if owned {
                    info!(call, "no media for media.idle_timeout: ending the call");
                    engine.hang_up(call, "media idle", Instant::now(), &mut env)
                } else {
                    Vec::new()
                }
            }
        };
        send_outputs(outputs, &bus, transport.as_ref()).await;
        drop(hold.take());
        dirty = true;
    }
}

/// Inputs handled in one turn before their outputs are sent.
const INPUT_BATCH: usize = 64;

/// True for a `100 Trying` (or any 100) response: hop-by-hop, it only stops the previous
/// hop's retransmissions, so it goes after the batch's other messages.
fn is_100(bytes: &[u8]) -> bool {
    bytes.starts_with(b"SIP/2.0 100 ")
}

/// Sends one turn's outputs.
///
/// A zone send only queues the bytes for the zone's connection task; a send to the network
/// happens right here. So the order is: the zone sends (queued), then, when there were any,
/// one yield so the connection task writes them, then the network sends, and the `100`
/// responses last. The message a call waits for (the forwarded INVITE, a final response)
/// is on the wire before the informational ones. Order toward any one destination is kept,
/// except that a `100` may follow a later provisional response, which SIP allows (RFC 3261
/// §17.1.1.2: any 1xx moves the client transaction to Proceeding).
async fn send_outputs(outputs: Vec<Output>, bus: &CallBus, transport: Option<&Arc<SipTransport>>) {
    let mut net = Vec::new();
    let mut later = Vec::new();
    let mut zone_queued = false;
    for o in outputs {
        match o {
            Output::Send {
                to: Peer::Zone(z),
                bytes,
            } => {
                if is_100(&bytes) {
                    later.push((Peer::Zone(z), bytes));
                } else if let Err(why) = bus.send_to_zone(&z, bytes) {
                    warn!(zone = %z, "{why}: message dropped");
                } else {
                    zone_queued = true;
                }
            }
            Output::Send { to, bytes } => {
                if is_100(&bytes) {
                    later.push((to, bytes));
                } else {
                    net.push((to, bytes));
                }
            }
            Output::CallStarted(id) => debug!(call = id, "call started"),
            Output::CallEnded { call, reason } => debug!(call, %reason, "call ended"),
        }
    }
    if zone_queued && !(net.is_empty() && later.is_empty()) {
        tokio::task::yield_now().await;
    }
    for (to, bytes) in net.into_iter().chain(later) {
        match to {
            Peer::Zone(z) => {
                if let Err(why) = bus.send_to_zone(&z, bytes) {
                    warn!(zone = %z, "{why}: message dropped");
                }
            }
            Peer::Net { transport: t, addr } => match transport {
                Some(tr) => tr.send(t, addr, bytes).await,
                None => warn!(%addr, "no SIP listener configured: message dropped"),
            },
        }
    }
}
/// Publishes the calls for `/api/v1/calls`.
fn publish_status(
    engine: &Engine,
    env: &RuntimeEnv,
    shared: &crate::status::Shared,
    started_unix: impl Fn(Instant) -> u64,
) {
    let snapshot: Vec<CallStatus> = engine
        .calls()
        .into_iter()
        .map(|c| {
            let zone = [&c.caller, &c.callee].into_iter().find_map(|p| match p {
                Peer::Zone(z) => Some(z.clone()),
                _ => None,
            });
            CallStatus {
                id: c.id,
                call_id: c.call_id,
                from: c.from,
                to: c.to,
                caller: c.caller.to_string(),
                callee: c.callee.to_string(),
                zone,
                state: c.state.as_str(),
                start_unix: started_unix(c.started),
                media: Vec::new(),
                streams: env
                    .anchor
                    .as_ref()
                    .map(|a| a.streams(c.id))
                    .unwrap_or_default(),
            }
        })
        .collect();
    if let Ok(mut s) = shared.calls.lock() {
        *s = snapshot;
    }
    shared
        .calls_version
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}
