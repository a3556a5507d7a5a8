//! exp-c's side of a SIP traversal zone: keep one authenticated connection to exp-e open.
//!
//! One driver task per client zone runs the sans-IO [`ZoneProbe`] (when to connect, probe,
//! ping, give up, back off, which peer) and [`ClientSession`] (what to send, what answers
//! mean). A connection task per attempt owns the socket: it connects (TCP, then TLS with the
//! zone's verification rules), frames what it reads, and writes what the driver tells it.
//! Attempt numbers keep events of an abandoned connection from confusing the driver.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use exp_probe::{Action, ProbeConfig, ZoneProbe};
use exp_sip::framer::{Frame, Limits as FrameLimits, Role as FrameRole, StreamFramer};
use exp_sip::message::{Message, Response};
use exp_sip::zone::{ClientEvent, ClientParams, ClientSession};
use exp_zone::resolve::{ClientZone, Limits};
use exp_zone::{CredentialDb, HashAlgorithm, Role, Transport};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tracing::{debug, info, warn};

use crate::calls::{CallBus, ZoneTx};
use crate::seed;
use crate::status::{unix_now_ms, version_warning, Shared, VERSION};

/// Events from a connection task to its driver.
#[derive(Debug)]
enum ConnEvent {
    Connected { local: SocketAddr },
    ConnectFailed(String),
    Frame(Frame),
    Lost(String),
}

struct Conn {
    attempt: u64,
    tx: mpsc::Sender<Vec<u8>>,
    task: JoinHandle<()>,
    peer: usize,
    fast: Option<Arc<FastPath>>,
}

/// Lets a connection's reader hand call messages straight to the call layer once the zone is
/// active, without the hop through the driver task: every call message from exp-e takes one
/// task switch fewer, and the driver's bookkeeping is not in its way.
///
/// Order is kept: the reader takes the fast path only when the driver has finished every
/// frame the reader gave it before (`done` equals the reader's count), so no call message
/// can overtake one still queued at the driver. The zone's own dialog (REGISTER, probes,
/// OPTIONS from exp-e), CRLF keep-alives and TURN credential checks always go to the driver.
struct FastPath {
    bus: Arc<CallBus>,
    zone: String,
    /// The zone dialog's Call-ID, set when the session starts.
    zone_call_id: std::sync::OnceLock<String>,
    /// Set when the session is authenticated.
    active: AtomicBool,
    /// Frames the driver has finished with.
    done: AtomicU64,
}

impl FastPath {
    /// The message, back, when it is not for the fast path.
    fn take(&self, msg: Message, given_to_driver: u64) -> Option<Message> {
        if !self.active.load(Ordering::Acquire)
            || self.done.load(Ordering::Acquire) != given_to_driver
        {
            return Some(msg);
        }
        let own = self.zone_call_id.get().map(String::as_str);
        if own.is_none() || msg.call_id() == own {
            return Some(msg);
        }
        if let Message::Request(r) = &msg {
            if exp_sip::credential_check::is_check(r) {
                return Some(msg);
            }
        }
        self.bus.from_zone(&self.zone, msg);
        None
    }
}

/// Counts a frame as finished by the driver when dropped (on every way out of its handling).
struct FrameDone(Option<Arc<FastPath>>);

impl Drop for FrameDone {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            f.done.fetch_add(1, Ordering::Release);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Probe settings of the zone as the state machine wants them.
pub fn probe_config(z: &ClientZone) -> ProbeConfig {
    let p = &z.probe;
    ProbeConfig {
        keepalive_interval: p.keepalive_interval,
        retry_interval: p.retry_interval,
        retry_count: p.retry_count,
        connect_timeout: p.connect_timeout,
        backoff_initial: p.backoff_initial,
        backoff_max: p.backoff_max,
        crlf_interval: p.crlf_interval,
        pong_timeout: p.pong_timeout,
    }
}

/// Answers the server's delegated TURN credential check from `db` (the zone answers checks
/// only when `turn_credentials` is set; otherwise 403).
fn answer_check(
    zone: &str,
    req: &exp_sip::message::Request,
    db: Option<&CredentialDb>,
) -> Response {
    use exp_sip::credential_check::{answer, asked, refuse, Ha1};
    let Some(db) = db else {
        warn!(zone = %zone, "exp-e asked for a TURN credential check; this zone does not answer them (turn_credentials = false)");
        return refuse(req);
    };
    let found = asked(req).and_then(|(user, realm)| {
        if realm != db.realm() {
            warn!(zone = %zone, %user, asked = %realm, ours = %db.realm(), "TURN credential check for another realm; answered unknown");
            return None;
        }
        let h = Ha1 {
            md5: db.ha1(user, HashAlgorithm::Md5).map(str::to_string),
            sha256: db.ha1(user, HashAlgorithm::Sha256).map(str::to_string),
        };
        info!(zone = %zone, %user, known = h.md5.is_some() || h.sha256.is_some(), "TURN credential check answered");
        Some(h)
    });
    answer(req, found)
}

/// Run one client zone until the task is dropped.
pub async fn drive(
    zone: ClientZone,
    role: Role,
    limits: Limits,
    tls: Option<Arc<ClientConfig>>,
    shared: Arc<Shared>,
    bus: Option<Arc<CallBus>>,
    turn_credentials: Option<Arc<CredentialDb>>,
) {
    let mut up = false;
    let name = zone.name.clone();
    let (ev_tx, mut ev_rx) = mpsc::channel::<(u64, ConnEvent)>(256);
    let mut probe = ZoneProbe::new(probe_config(&zone), zone.peers.len(), Instant::now());
    let mut conn: Option<Conn> = None;
    let mut session: Option<ClientSession> = None;
    let mut attempt: u64 = 0;
    // Whether exp-c or a chaining exp-e is the client, the server is always an exp-e.
    let peer_program = "exp-e";
    if zone.sip_transport == Transport::Tls && zone.tls.insecure {
        warn!(zone = %name, "TLS certificate verification is switched off for this zone (insecure = true)");
    }
    loop {
        while let Some(action) = probe.poll_action() {
            match action {
                Action::Connect { peer } => {
                    attempt += 1;
                    conn = None;
                    session = None;
                    let Some(p) = zone.peers.get(peer).cloned() else {
                        continue;
                    };
                    if probe.reconnect_count() > 0 {
                        Shared::count_zone(&shared.metrics.reconnects, &name);
                    }
                    debug!(zone = %name, peer = %p, attempt, "connecting");
                    let (tx, rx) = mpsc::channel::<Vec<u8>>(4096);
                    let fast = bus.as_ref().map(|bus| {
                        Arc::new(FastPath {
                            bus: bus.clone(),
                            zone: name.clone(),
                            zone_call_id: std::sync::OnceLock::new(),
                            active: AtomicBool::new(false),
                            done: AtomicU64::new(0),
                        })
                    });
                    let task = tokio::spawn(connection(
                        attempt,
                        p.host.clone(),
                        p.port,
                        zone.sip_transport,
                        tls.clone(),
                        zone.tls.clone(),
                        limits.clone(),
                        ev_tx.clone(),
                        rx,
                        fast.clone(),
                    ));
                    conn = Some(Conn {
                        attempt,
                        tx,
                        task,
                        peer,
                        fast,
                    });
                }
                Action::SendProbe { seq } => {
                    if let (Some(s), Some(c)) = (session.as_mut(), conn.as_ref()) {
                        Shared::count_zone(&shared.metrics.probes, &name);
                        let _ = c.tx.try_send(s.probe(seq));
                    }
                }
                Action::SendPing => {
                    if let (Some(s), Some(c)) = (session.as_ref(), conn.as_ref()) {
                        let _ = c.tx.try_send(s.ping().to_vec());
                    }
                }
                Action::Close { reason } => {
                    let peer = conn.as_ref().map(|c| c.peer).unwrap_or(0);
                    let addr = zone
                        .peers
                        .get(peer)
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                    match reason {
                        exp_probe::CloseReason::ProbeTimeout => {
                            Shared::count_zone(&shared.metrics.probe_timeouts, &name);
                            warn!(zone = %name, peer = %addr, "probe not answered after the retries; zone down, reconnecting");
                        }
                        exp_probe::CloseReason::PongTimeout => {
                            warn!(zone = %name, peer = %addr, "CRLF keep-alive not answered; zone down, reconnecting");
                        }
                        exp_probe::CloseReason::ConnectTimeout => {
                            warn!(zone = %name, peer = %addr, "connect/authenticate timed out; trying the next peer");
                        }
                        exp_probe::CloseReason::AuthFailed => {}
                    }
                    conn = None;
                    session = None;
                }
            }
        }
        let state = probe.state();
        // Tell the call layer when the zone comes up on a connection or goes away.
        let active = state == exp_probe::ZoneState::Active && conn.is_some();
        if let Some(bus) = &bus {
            if active && !up {
                if let Some(c) = conn.as_ref() {
                    bus.zone_up(&name, ZoneTx::Client(c.tx.clone()));
                }
            } else if !active && up {
                bus.zone_down(&name);
            }
        }
        up = active;
        let peer_idx = conn
            .as_ref()
            .map(|c| c.peer)
            .unwrap_or_else(|| probe.current_peer());
        let rtt = probe.last_rtt();
        let reconnects = probe.reconnect_count();
        let backoff = probe.next_backoff();
        shared.update(&name, |z| {
            z.state = state.as_str();
            z.peer = zone.peers.get(peer_idx).map(|p| p.to_string());
            z.last_probe_rtt_ms = rtt.map(|d| d.as_secs_f64() * 1000.0);
            z.reconnect_count = reconnects;
            z.backoff_ms = backoff.map(|d| d.as_millis() as u64);
        });
        if let Some(rtt) = rtt {
            shared
                .metrics
                .probe_rtt_us
                .get_or_create(&crate::status::ZoneLabel { zone: name.clone() })
                .set(rtt.as_micros() as i64);
        }

        let sleep = async {
            match probe.poll_timeout() {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => probe.handle_timeout(Instant::now()),
            Some((at, ev)) = ev_rx.recv() => {
                if conn.as_ref().map(|c| c.attempt) != Some(at) {
                    continue; // an abandoned attempt
                }
                let now = Instant::now();
                match ev {
                    ConnEvent::Connected { local } => {
                        probe.handle_connected(now);
                        let peer = conn.as_ref().and_then(|c| zone.peers.get(c.peer)).map(|p| p.to_string()).unwrap_or_default();
                        let mut s = ClientSession::new(
                            ClientParams {
                                zone: name.clone(),
                                username: zone.username.clone(),
                                password: zone.password.expose().to_string(),
                                program: role.program().into(),
                                version: VERSION.into(),
                                server: peer,
                                transport: zone.sip_transport.as_str().to_ascii_uppercase(),
                                local: local.to_string(),
                            },
                            seed(),
                        );
                        let first = s.start();
                        if let Some(c) = conn.as_ref() {
                            if let Some(f) = &c.fast {
                                let _ = f.zone_call_id.set(s.call_id().to_string());
                            }
                            let _ = c.tx.try_send(first);
                        }
                        session = Some(s);
                    }
                    ConnEvent::ConnectFailed(e) => {
                        let addr = conn.as_ref().and_then(|c| zone.peers.get(c.peer)).map(|p| p.to_string()).unwrap_or_default();
                        warn!(zone = %name, peer = %addr, error = %e, "cannot connect");
                        conn = None;
                        probe.handle_connect_failed(now);
                    }
                    ConnEvent::Lost(e) => {
                        let addr = conn.as_ref().and_then(|c| zone.peers.get(c.peer)).map(|p| p.to_string()).unwrap_or_default();
                        if probe.state() == exp_probe::ZoneState::Active {
                            warn!(zone = %name, peer = %addr, error = %e, "zone connection lost; reconnecting");
                        } else {
                            warn!(zone = %name, peer = %addr, error = %e, "connection closed before the zone came up");
                        }
                        conn = None;
                        session = None;
                        probe.handle_connection_lost(now);
                    }
                    ConnEvent::Frame(frame) => {
                        let _done = FrameDone(conn.as_ref().and_then(|c| c.fast.clone()));
                        let Some(s) = session.as_mut() else { continue };
                        for ev in s.handle_frame(frame) {
                            match ev {
                                ClientEvent::Send(bytes) => {
                                    if let Some(c) = conn.as_ref() {
                                        let _ = c.tx.try_send(bytes);
                                    }
                                }
                                ClientEvent::Authenticated { server_version } => {
                                    let warning = version_warning(peer_program, server_version.as_deref());
                                    if let Some(w) = &warning {
                                        warn!(zone = %name, "{w}");
                                    }
                                    let addr = conn.as_ref().and_then(|c| zone.peers.get(c.peer)).map(|p| p.to_string()).unwrap_or_default();
                                    info!(zone = %name, peer = %addr, version = ?server_version, "zone active");
                                    probe.handle_authenticated(now);
                                    // Registered at once, so an INVITE arriving right behind
                                    // the 200 can be answered.
                                    if let (Some(bus), Some(c)) = (&bus, conn.as_ref()) {
                                        bus.zone_up(&name, ZoneTx::Client(c.tx.clone()));
                                        if let Some(f) = &c.fast {
                                            f.active.store(true, Ordering::Release);
                                        }
                                    }
                                    shared.update(&name, |z| {
                                        z.version_mismatch = server_version.as_deref().is_some_and(|v| v != VERSION);
                                        z.peer_version = server_version.clone();
                                        z.warning = warning.clone();
                                    });
                                }
                                ClientEvent::AuthFailed { status, reason } => {
                                    warn!(zone = %name, status, %reason, "exp-e refused this zone's credentials; check username and password on both sides (backing off)");
                                    shared.update(&name, |z| {
                                        z.auth_failures += 1;
                                        z.warning = Some(format!("authentication refused: {reason}"));
                                    });
                                    probe.handle_auth_failed(now);
                                }
                                ClientEvent::ProbeAnswered { seq } => {
                                    probe.handle_probe_answer(seq, now);
                                    shared.update(&name, |z| z.last_probe_unix_ms = Some(unix_now_ms()));
                                }
                                ClientEvent::Pong => probe.handle_pong(now),
                                ClientEvent::Response(resp) => {
                                    if let Some(bus) = &bus {
                                        bus.from_zone(&name, Message::Response(resp));
                                    }
                                }
                                ClientEvent::Request(req) if exp_sip::credential_check::is_check(&req) => {
                                    let resp = answer_check(&name, &req, turn_credentials.as_deref());
                                    if let Some(c) = conn.as_ref() {
                                        let _ = c.tx.try_send(Message::Response(resp).to_bytes());
                                    }
                                }
                                ClientEvent::Request(req) => match &bus {
                                    Some(bus) => bus.from_zone(&name, Message::Request(req)),
                                    None => {
                                        let resp = Response::for_request(&req, 501, "Not Implemented", None);
                                        if let Some(c) = conn.as_ref() {
                                            let _ = c.tx.try_send(Message::Response(resp).to_bytes());
                                        }
                                    }
                                },
                                ClientEvent::ProtocolError(e) => {
                                    warn!(zone = %name, error = %e, "protocol error from exp-e; reconnecting");
                                    conn = None;
                                    session = None;
                                    probe.handle_connection_lost(now);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    attempt: u64,
    host: String,
    port: u16,
    transport: Transport,
    tls: Option<Arc<ClientConfig>>,
    tls_rules: exp_zone::resolve::ClientTls,
    limits: Limits,
    events: mpsc::Sender<(u64, ConnEvent)>,
    rx: mpsc::Receiver<Vec<u8>>,
    fast: Option<Arc<FastPath>>,
) {
    let send = |ev: ConnEvent| {
        let events = events.clone();
        async move {
            let _ = events.send((attempt, ev)).await;
        }
    };
    let tcp = match TcpStream::connect((host.as_str(), port)).await {
        Ok(t) => t,
        Err(e) => return send(ConnEvent::ConnectFailed(e.to_string())).await,
    };
    let _ = tcp.set_nodelay(true);
    let local = match tcp.local_addr() {
        Ok(a) => a,
        Err(e) => return send(ConnEvent::ConnectFailed(e.to_string())).await,
    };
    match (transport, tls) {
        (Transport::Tls, Some(cfg)) => {
            let name = match crate::tls::server_name(&tls_rules, &host) {
                Ok(n) => n,
                Err(e) => return send(ConnEvent::ConnectFailed(e.to_string())).await,
            };
            match TlsConnector::from(cfg).connect(name, tcp).await {
                Ok(stream) => {
                    send(ConnEvent::Connected { local }).await;
                    pump(stream, limits, &events, attempt, rx, fast).await
                }
                Err(e) => send(ConnEvent::ConnectFailed(format!("TLS: {e}"))).await,
            }
        }
        (Transport::Tls, None) => {
            send(ConnEvent::ConnectFailed("no TLS configuration".into())).await
        }
        (Transport::Tcp, _) => {
            send(ConnEvent::Connected { local }).await;
            pump(tcp, limits, &events, attempt, rx, fast).await
        }
    }
}

/// Queued messages are joined into one write up to this many bytes.
const COALESCE_BYTES: usize = 64 * 1024;

/// Move bytes: socket → framer → driver, driver → socket. Ends on close, error or bad input.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    limits: Limits,
    events: &mpsc::Sender<(u64, ConnEvent)>,
    attempt: u64,
    mut rx: mpsc::Receiver<Vec<u8>>,
    fast: Option<Arc<FastPath>>,
) {
    // Frames given to the driver (see FastPath).
    let mut given: u64 = 0;
    let mut framer = StreamFramer::new(
        FrameRole::Client,
        FrameLimits {
            max_header_bytes: limits.max_header_bytes,
            max_body_bytes: limits.max_body_bytes,
        },
    );
    let mut buf = vec![0u8; 16 * 1024];
    let why = loop {
        tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) => break "closed by exp-e".to_string(),
                Ok(n) => {
                    framer.push(&buf[..n]);
                    loop {
                        match framer.next_frame() {
                            Ok(Some(f)) => {
                                let f = match (f, &fast) {
                                    (Frame::Message(m), Some(fp)) => match fp.take(m, given) {
                                        None => continue,
                                        Some(m) => Frame::Message(m),
                                    },
                                    (f, _) => f,
                                };
                                given += 1;
                                if events.send((attempt, ConnEvent::Frame(f))).await.is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let _ = events.send((attempt, ConnEvent::Lost(format!("bad input from exp-e: {e}")))).await;
                                return;
                            }
                        }
                    }
                }
                Err(e) => break format!("read error: {e}"),
            },
            out = rx.recv() => match out {
                Some(mut bytes) => {
                    // What else is queued goes in the same write.
                    while bytes.len() < COALESCE_BYTES {
                        match rx.try_recv() {
                            Ok(more) => bytes.extend_from_slice(&more),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = stream.write_all(&bytes).await {
                        break format!("write error: {e}");
                    }
                }
                None => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
        }
    };
    let _ = events.send((attempt, ConnEvent::Lost(why))).await;
}
