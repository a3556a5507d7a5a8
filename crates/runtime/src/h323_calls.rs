//! The H.323 call task: one [`Gateway`] per program, fed by the H.225.0 listeners (1720
//! toward this system's own side, 2777 for traversal clients on exp-e), the connections it
//! opens itself, and the RAS tasks' news; its outputs are written back to those
//! connections. Each TCP connection has a small task that deframes TPKT and writes what the
//! call task queues; the call task alone owns the calls.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exp_h460::cs::ReleaseCompleteReason;
use exp_h460::gateway::{
    Accepted, ChannelId, Env, Gateway, GatewayConfig, Output, Peer, Route, Side,
};
use exp_h460::tpkt::{self, Deframer};
use exp_zone::routing::{RouteTarget, Router};
use exp_zone::{H323Plan, Role};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::h323_media::H323Media;
use crate::h323_ras::{sleep_until, H323Bus, RasCommand, RasNews};
use crate::status::Shared;

/// Input of the call task.
pub enum CallIn {
    /// A listener accepted a connection.
    Accepted(Accepted, TcpStream),
    /// An outgoing connection is up.
    Connected(ChannelId, TcpStream),
    /// A Q.931 message (TPKT removed) arrived on a channel.
    Message(ChannelId, Vec<u8>),
    /// A channel's connection ended (or never came up).
    Closed(ChannelId),
}

/// An H.323 call as `/api/v1/h323/calls` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct H323CallStatus {
    /// Gateway call number.
    pub id: u64,
    /// H.225.0 call identifier (hex).
    pub call_id: String,
    /// Routed destination alias.
    pub destination: String,
    /// Caller side (`net:addr`, `zone:name`).
    pub caller: String,
    /// Callee side.
    pub callee: String,
    /// Call state.
    pub state: &'static str,
    /// Seconds since the Setup.
    pub age_s: f64,
    /// Media legs.
    pub media: Vec<crate::anchor::MediaLegStatus>,
}

fn peer_text(p: &Peer) -> String {
    match p {
        Peer::Net(a) => format!("net:{a}"),
        Peer::ServerZone(z) | Peer::ClientZone(z) => format!("zone:{z}"),
    }
}

/// Binds a call-signalling listener.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind the {what} port {addr}: {e}"))
}

/// Accepts connections on `listener`, each reported as `how(peer)`.
pub async fn accept_loop(listener: TcpListener, traversal: bool, tx: mpsc::Sender<CallIn>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                let how = if traversal {
                    Accepted::Traversal(from)
                } else {
                    Accepted::Net(from)
                };
                if tx.send(CallIn::Accepted(how, stream)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                warn!("H.323 accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads TPKT packets from a connection and writes what it is given, until either side ends.
async fn connection(
    channel: ChannelId,
    stream: TcpStream,
    mut out: mpsc::Receiver<Vec<u8>>,
    tx: mpsc::Sender<CallIn>,
) {
    let peer = stream.peer_addr().ok();
    let (mut rd, mut wr) = stream.into_split();
    let mut deframer = Deframer::new();
    let mut buf = vec![0u8; 16384];
    let mut events = Vec::new();
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                events.clear();
                if let Err(e) = deframer.feed(&buf[..n], &mut events) {
                    warn!(?peer, "H.225.0 connection closed: {e}");
                    break;
                }
                for ev in events.drain(..) {
                    if let tpkt::Event::Packet(p) = ev {
                        if tx.send(CallIn::Message(channel, p)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            m = out.recv() => match m {
                Some(bytes) => {
                    if wr.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            }
        }
    }
    let _ = wr.shutdown().await;
    let _ = tx.send(CallIn::Closed(channel)).await;
}

struct RuntimeEnv<'a> {
    role: Role,
    router: &'a Router,
    bus: &'a H323Bus,
    server_zones: &'a HashMap<String, bool>,
    client_zones: &'a HashMap<String, bool>,
    media: &'a mut H323Media,
}

impl Env for RuntimeEnv<'_> {
    fn route(&mut self, from: &Peer, destination: &str) -> Route {
        let (server_zones, client_zones) = (self.server_zones, self.client_zones);
        let usable = |t: &RouteTarget| match t {
            RouteTarget::Zone(z) => {
                server_zones.get(z).copied().unwrap_or(false)
                    || client_zones.get(z).copied().unwrap_or(false)
            }
            RouteTarget::H323 { .. } => true,
            RouteTarget::Sip { .. } => false,
        };
        match self
            .router
            .route_where(destination, usable)
            .map(|r| &r.target)
        {
            Some(RouteTarget::Zone(z)) => {
                if from.zone() == Some(z.as_str()) {
                    return Route::Refuse(
                        ReleaseCompleteReason::DestinationRejection,
                        "the rule sends the call back into its zone".into(),
                    );
                }
                if server_zones.contains_key(z) {
                    match self.bus.server_zone(z) {
                        Some(_) => Route::Indicate {
                            peer: Peer::ServerZone(z.clone()),
                            target: format!("zone:{z}"),
                        },
                        None => Route::Refuse(
                            ReleaseCompleteReason::UnreachableDestination,
                            format!("zone `{z}` has no registered client"),
                        ),
                    }
                } else {
                    match self.bus.client_zone(z) {
                        Some((cs, endpoint_id)) => Route::Connect {
                            to: cs,
                            peer: Peer::ClientZone(z.clone()),
                            endpoint_id: Some(endpoint_id),
                        },
                        None => Route::Refuse(
                            ReleaseCompleteReason::UnreachableDestination,
                            format!("zone `{z}` is not registered"),
                        ),
                    }
                }
            }
            Some(RouteTarget::H323 { address }) => match address.parse::<SocketAddr>() {
                Ok(to) => Route::Connect {
                    to,
                    peer: Peer::Net(to),
                    endpoint_id: None,
                },
                Err(_) => match std::net::ToSocketAddrs::to_socket_addrs(address.as_str())
                    .ok()
                    .and_then(|mut a| a.next())
                {
                    Some(to) => Route::Connect {
                        to,
                        peer: Peer::Net(to),
                        endpoint_id: None,
                    },
                    None => Route::Refuse(
                        ReleaseCompleteReason::UnreachableDestination,
                        format!("cannot resolve {address}"),
                    ),
                },
            },
            _ => {
                // exp-e: an endpoint registered directly under this alias.
                if self.role == Role::Server {
                    if let Some(r) = self.bus.endpoint(destination) {
                        if r.traversal {
                            return Route::Indicate {
                                peer: Peer::Net(r.ras_from),
                                target: format!("ep:{destination}"),
                            };
                        }
                        if let Some(cs) = r.call_signal.first() {
                            return Route::Connect {
                                to: *cs,
                                peer: Peer::Net(*cs),
                                endpoint_id: None,
                            };
                        }
                    }
                }
                Route::Refuse(
                    ReleaseCompleteReason::CalledPartyNotRegistered,
                    format!("no route for {destination:?}"),
                )
            }
        }
    }

    fn traversal_zone(&mut self, endpoint_id: Option<&str>, from: IpAddr) -> Option<String> {
        self.bus.server_zone_of(endpoint_id?, from)
    }

    fn channel_from_ok(&mut self, peer: &Peer, from: IpAddr) -> bool {
        match peer {
            Peer::ServerZone(z) => self
                .bus
                .server_zone(z)
                .is_some_and(|r| r.ras_from.ip() == from),
            Peer::Net(ras) => ras.ip() == from,
            Peer::ClientZone(_) => false,
        }
    }

    fn h245(
        &mut self,
        call: u64,
        from: Side,
        from_peer: &Peer,
        to_peer: &Peer,
        message: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.media.h245(call, from, from_peer, to_peer, message)
    }
}

/// Everything the call task needs.
pub struct H323Task {
    /// Which program.
    pub role: Role,
    /// Settings.
    pub plan: H323Plan,
    /// Routing rules.
    pub router: Router,
    /// Server zones with H.323 on (name → true).
    pub server_zones: HashMap<String, bool>,
    /// Client zones with H.323 on.
    pub client_zones: HashMap<String, bool>,
    /// RAS side.
    pub bus: Arc<H323Bus>,
    /// Media anchoring.
    pub media: H323Media,
    /// Status.
    pub shared: Arc<Shared>,
}

/// Runs the call task until both inputs close.
pub async fn run(
    mut task: H323Task,
    mut inbox: mpsc::Receiver<CallIn>,
    inbox_tx: mpsc::Sender<CallIn>,
    mut news: mpsc::Receiver<RasNews>,
) {
    let mut gw = Gateway::new(GatewayConfig {
        indication_timeout: task.plan.incoming_call_timeout,
        ..Default::default()
    });
    let mut writers: HashMap<ChannelId, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut pending_connect: HashMap<ChannelId, ()> = HashMap::new();
    let mut status_tick = tokio::time::interval(Duration::from_millis(250));
    status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = gw.poll_timeout();
        tokio::select! {
            // Status is published on a tick, not per message (that would cost O(calls) per
            // message), which also keeps the media counters it shows live.
            _ = status_tick.tick() => {
                publish(&gw, &task);
                continue;
            }
            m = inbox.recv() => {
                let Some(m) = m else { return };
                match m {
                    CallIn::Accepted(how, stream) => {
                        let ch = gw.handle_accepted(how);
                        let (wtx, wrx) = mpsc::channel(256);
                        writers.insert(ch, wtx);
                        tokio::spawn(connection(ch, stream, wrx, inbox_tx.clone()));
                    }
                    CallIn::Connected(ch, stream) => {
                        pending_connect.remove(&ch);
                        let (wtx, wrx) = mpsc::channel(256);
                        writers.insert(ch, wtx);
                        tokio::spawn(connection(ch, stream, wrx, inbox_tx.clone()));
                        gw.handle_connected(ch);
                    }
                    CallIn::Message(ch, bytes) => {
                        let mut env = RuntimeEnv {
                            role: task.role,
                            router: &task.router,
                            bus: &task.bus,
                            server_zones: &task.server_zones,
                            client_zones: &task.client_zones,
                            media: &mut task.media,
                        };
                        gw.handle_message(ch, &bytes, Instant::now(), &mut env);
                    }
                    CallIn::Closed(ch) => {
                        writers.remove(&ch);
                        pending_connect.remove(&ch);
                        gw.handle_closed(ch);
                    }
                }
            }
            n = news.recv() => {
                let Some(n) = n else { return };
                match n {
                    RasNews::IncomingCall { zone, call_signal, call_id } => {
                        // An exp-e listening on every interface names 0.0.0.0: use the
                        // address its RAS answers come from.
                        let to = if call_signal.ip().is_unspecified() {
                            task.bus
                                .client_zone(&zone)
                                .map(|(a, _)| SocketAddr::new(a.ip(), call_signal.port()))
                                .unwrap_or(call_signal)
                        } else {
                            call_signal
                        };
                        gw.handle_indication(&zone, to, call_id);
                    }
                    RasNews::IndicationFailed { call_id } => gw.handle_indication_failed(&call_id),
                    RasNews::ZoneDown { zone } => gw.handle_zone_down(&zone),
                }
            }
            _ = sleep_until(deadline) => gw.handle_timeout(Instant::now()),
        }
        while let Some(o) = gw.poll_output() {
            match o {
                Output::Send { channel, bytes } => {
                    if let Some(w) = writers.get(&channel) {
                        if w.try_send(bytes).is_err() {
                            warn!(
                                channel,
                                "H.225.0 connection's send queue is full; message dropped"
                            );
                        }
                    }
                }
                Output::Close { channel } => {
                    // Dropping the writer ends the connection task after what was queued.
                    writers.remove(&channel);
                }
                Output::Connect { channel, to } => {
                    pending_connect.insert(channel, ());
                    let tx = inbox_tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(to))
                            .await
                        {
                            Ok(Ok(s)) => {
                                let _ = s.set_nodelay(true);
                                let _ = tx.send(CallIn::Connected(channel, s)).await;
                            }
                            Ok(Err(e)) => {
                                warn!(%to, "H.225.0 connect failed: {e}");
                                let _ = tx.send(CallIn::Closed(channel)).await;
                            }
                            Err(_) => {
                                warn!(%to, "H.225.0 connect timed out");
                                let _ = tx.send(CallIn::Closed(channel)).await;
                            }
                        }
                    });
                }
                Output::Indicate { target, call_id } => {
                    let reg = if let Some(z) = target.strip_prefix("zone:") {
                        task.bus.server_zone(z)
                    } else if let Some(a) = target.strip_prefix("ep:") {
                        task.bus.endpoint(a)
                    } else {
                        None
                    };
                    let sent = reg.is_some_and(|r| {
                        r.commands
                            .try_send(RasCommand::IncomingCall {
                                endpoint_id: r.endpoint_id.clone(),
                                call_id,
                            })
                            .is_ok()
                    });
                    if !sent {
                        gw.handle_indication_failed(&call_id);
                    }
                }
                Output::CallEnded { call, reason } => {
                    info!(call, %reason, "H.323 call ended");
                    task.media.end(call);
                }
            }
        }
    }
}

fn publish(gw: &Gateway, task: &H323Task) {
    let now = Instant::now();
    let calls: Vec<H323CallStatus> = gw
        .calls()
        .into_iter()
        .map(|c| H323CallStatus {
            id: c.key,
            call_id: c.call_id.guid.iter().map(|b| format!("{b:02x}")).collect(),
            destination: c.destination.clone(),
            caller: peer_text(&c.a),
            callee: c.b.as_ref().map(peer_text).unwrap_or_default(),
            state: c.state,
            age_s: now.saturating_duration_since(c.since).as_secs_f64(),
            media: task.media.legs(c.key),
        })
        .collect();
    if let Ok(mut v) = task.shared.h323_calls.lock() {
        *v = calls;
    }
}
