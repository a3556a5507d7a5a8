//! exp-e's side of the SIP traversal zones: one listener per server zone port, one task per
//! accepted connection.
//!
//! The port a client connected to picks the zone; [`exp_sip::zone::ServerSession`] checks its
//! credentials and that the username is this zone's. A connection that sends garbage, an
//! oversized header block, or stops halfway through a message is closed with a log line naming
//! the peer and a counted reason; nothing else is disturbed. The newest authenticated
//! connection of a zone is the zone; an older one is closed when a newer one authenticates (the
//! client reconnected before we noticed the old one was gone).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exp_sip::credential_check;
use exp_sip::digest::Algorithm;
use exp_sip::framer::{FrameError, Limits as FrameLimits, Role as FrameRole, StreamFramer};
use exp_sip::message::{Message, Response};
use exp_sip::zone::{CredentialLookup, ServerEvent, ServerParams, ServerSession};
use exp_zone::resolve::{Limits, ServerZone};
use exp_zone::{CredentialDb, HashAlgorithm};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::calls::{CallBus, ZoneTx};
use crate::seed;
use crate::status::{unix_now_ms, version_warning, Shared, VERSION};

/// Adapter from the zone crate's credential database to the SIP session's lookup.
pub struct DbLookup(pub Arc<CredentialDb>);

impl CredentialLookup for DbLookup {
    fn ha1(&self, username: &str, alg: Algorithm) -> Option<String> {
        let alg = match alg {
            Algorithm::Md5 => HashAlgorithm::Md5,
            Algorithm::Sha256 => HashAlgorithm::Sha256,
        };
        self.0.ha1(username, alg).map(str::to_string)
    }
}

/// Commands to a connection task.
#[derive(Debug)]
pub enum ConnCommand {
    /// Write bytes (a request pushed down the zone).
    Send(Vec<u8>),
    /// Close the connection (replaced by a newer one).
    Close(&'static str),
}

struct Active {
    id: u64,
    tx: mpsc::Sender<ConnCommand>,
}

/// Everything the tasks of one server zone share.
pub struct ServerZoneCtx {
    zone: ServerZone,
    limits: Limits,
    realm: String,
    creds: DbLookup,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    bus: Option<Arc<CallBus>>,
    active: Mutex<Option<Active>>,
    sessions: AtomicU64,
    next_id: AtomicU64,
    pending: AtomicUsize,
    /// Delegated TURN credential checks waiting for the client's answer, by Call-ID.
    checks: Mutex<HashMap<String, oneshot::Sender<Response>>>,
    next_check: AtomicU64,
}

impl ServerZoneCtx {
    /// Context of one zone.
    pub fn new(
        zone: ServerZone,
        limits: Limits,
        realm: String,
        creds: Arc<CredentialDb>,
        tls: Option<TlsAcceptor>,
        shared: Arc<Shared>,
        bus: Option<Arc<CallBus>>,
    ) -> Arc<Self> {
        Arc::new(ServerZoneCtx {
            zone,
            limits,
            realm,
            creds: DbLookup(creds),
            tls,
            shared,
            bus,
            active: Mutex::new(None),
            sessions: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            pending: AtomicUsize::new(0),
            checks: Mutex::new(HashMap::new()),
            next_check: AtomicU64::new(1),
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.zone.name
    }

    /// Asks the zone's traversal client for `username`'s TURN key hashes in `realm`
    /// (exp_sip::credential_check). `Ok(None)`: the client does not know the user (or does
    /// not answer checks); `Err`: the zone is down or the client did not answer in `wait`.
    pub async fn check_credential(
        &self,
        username: &str,
        realm: &str,
        wait: Duration,
    ) -> Result<Option<credential_check::Ha1>, &'static str> {
        let tx = self.active_sender().ok_or("zone down")?;
        let n = self.next_check.fetch_add(1, Ordering::Relaxed);
        let call_id = format!("cred-{n}-{:x}", u128::from_le_bytes(seed()));
        let (done_tx, done_rx) = oneshot::channel();
        if let Ok(mut c) = self.checks.lock() {
            c.insert(call_id.clone(), done_tx);
        }
        let req = credential_check::request(username, realm, &call_id, n as u32);
        let sent = tx
            .send(ConnCommand::Send(Message::Request(req).to_bytes()))
            .await
            .is_ok();
        let answer = if sent {
            tokio::time::timeout(wait, done_rx)
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        if let Ok(mut c) = self.checks.lock() {
            c.remove(&call_id);
        }
        match answer {
            Some(resp) => Ok(credential_check::read_answer(&resp)),
            None if sent => Err("no answer"),
            None => Err("zone down"),
        }
    }

    /// Hands a credential check's answer to its waiter; false if it is not one.
    fn check_answered(&self, resp: &Response) -> bool {
        if !credential_check::is_answer(resp) {
            return false;
        }
        let call_id = Message::Response(resp.clone())
            .call_id()
            .map(str::to_string)
            .unwrap_or_default();
        if let Some(tx) = self.checks.lock().ok().and_then(|mut c| c.remove(&call_id)) {
            let _ = tx.send(resp.clone());
        }
        true
    }

    /// The channel to the zone's current connection, when the zone is up.
    pub fn active_sender(&self) -> Option<mpsc::Sender<ConnCommand>> {
        self.active.lock().ok()?.as_ref().map(|a| a.tx.clone())
    }
}

/// Bind the zone's SIP port.
pub async fn bind(addr: SocketAddr, zone: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("zone `{zone}` cannot listen on {addr}: {e}"))
}

/// Accept connections until the task is dropped; dropping it closes every connection.
pub async fn serve(listener: TcpListener, ctx: Arc<ServerZoneCtx>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    Shared::count_zone(&ctx.shared.metrics.connections_accepted, &ctx.zone.name);
                    let Some(guard) = Pending::take(&ctx) else {
                        Shared::count(&ctx.shared.metrics.connection_errors, &ctx.zone.name, "too-many-pending");
                        warn!(zone = %ctx.zone.name, %peer, limit = ctx.limits.max_pending_connections, "closing connection: too many connections waiting to authenticate");
                        drop(tcp);
                        continue;
                    };
                    let ctx = ctx.clone();
                    conns.spawn(async move { accept(ctx, tcp, peer, guard).await });
                }
                Err(e) => {
                    warn!(zone = %ctx.zone.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// One slot of the zone's unauthenticated-connection budget, released on drop or on
/// authentication.
struct Pending(Option<Arc<ServerZoneCtx>>);

impl Pending {
    fn take(ctx: &Arc<ServerZoneCtx>) -> Option<Pending> {
        let limit = ctx.limits.max_pending_connections;
        ctx.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Pending(Some(ctx.clone())))
    }

    fn release(&mut self) {
        if let Some(ctx) = self.0.take() {
            ctx.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.release();
    }
}

async fn accept(ctx: Arc<ServerZoneCtx>, tcp: TcpStream, peer: SocketAddr, pending: Pending) {
    let _ = tcp.set_nodelay(true);
    let deadline = tokio::time::Instant::now() + ctx.limits.handshake_timeout;
    match &ctx.tls {
        None => connection(ctx, tcp, peer, pending).await,
        Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => connection(ctx, tls, peer, pending).await,
            Ok(Err(e)) => {
                warn!(zone = %ctx.zone.name, %peer, error = %e, "TLS handshake failed; connection closed");
                Shared::count(&ctx.shared.metrics.connection_errors, &ctx.zone.name, "tls");
            }
            Err(_) => {
                warn!(zone = %ctx.zone.name, %peer, "TLS handshake timed out; connection closed");
                Shared::count(
                    &ctx.shared.metrics.connection_errors,
                    &ctx.zone.name,
                    "handshake-timeout",
                );
            }
        },
    }
}

fn frame_error_reason(e: &FrameError) -> &'static str {
    match e {
        FrameError::HeaderTooLarge { .. } => "header-too-large",
        FrameError::BodyTooLarge { .. } => "body-too-large",
        FrameError::MissingContentLength => "missing-content-length",
        FrameError::Parse(_) => "malformed",
    }
}

/// Queued messages are joined into one write up to this many bytes.
const COALESCE_BYTES: usize = 64 * 1024;

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    ctx: Arc<ServerZoneCtx>,
    mut stream: S,
    peer: SocketAddr,
    mut pending: Pending,
) {
    let zone = ctx.zone.name.clone();
    let id = ctx.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<ConnCommand>(4096);
    let mut session = ServerSession::new(
        ServerParams {
            zone: zone.clone(),
            username: ctx.zone.username.clone(),
            realm: ctx.realm.clone(),
            program: "exp-e".into(),
            version: VERSION.into(),
            offer_md5: true,
        },
        seed(),
    );
    let mut framer = StreamFramer::new(
        FrameRole::Server,
        FrameLimits {
            max_header_bytes: ctx.limits.max_header_bytes,
            max_body_bytes: ctx.limits.max_body_bytes,
        },
    );
    let mut buf = vec![0u8; 16 * 1024];
    let mut deadline = tokio::time::Instant::now() + ctx.limits.handshake_timeout;
    let mut authenticated = false;
    let end: String = 'conn: loop {
        let n = tokio::select! {
            r = tokio::time::timeout_at(deadline, stream.read(&mut buf)) => match r {
                Ok(Ok(0)) => break 'conn "closed by peer".into(),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    Shared::count(&ctx.shared.metrics.connection_errors, &zone, "io");
                    break 'conn format!("read error: {e}");
                }
                Err(_) => {
                    let (reason, what) = if authenticated {
                        ("idle-timeout", "no probe within the idle timeout")
                    } else {
                        ("handshake-timeout", "not authenticated within the handshake timeout")
                    };
                    Shared::count(&ctx.shared.metrics.connection_errors, &zone, reason);
                    warn!(zone = %zone, %peer, buffered = framer.buffered(), "closing connection: {what}");
                    break 'conn what.into();
                }
            },
            cmd = rx.recv() => match cmd {
                Some(ConnCommand::Send(mut bytes)) => {
                    // What else is queued goes in the same write; a Close behind it is kept
                    // for after the write.
                    let mut close = None;
                    while bytes.len() < COALESCE_BYTES {
                        match rx.try_recv() {
                            Ok(ConnCommand::Send(more)) => bytes.extend_from_slice(&more),
                            Ok(ConnCommand::Close(why)) => {
                                close = Some(why);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = stream.write_all(&bytes).await {
                        break 'conn format!("write error: {e}");
                    }
                    if let Some(why) = close {
                        info!(zone = %zone, %peer, "closing connection: {why}");
                        break 'conn why.into();
                    }
                    continue;
                }
                Some(ConnCommand::Close(why)) => {
                    info!(zone = %zone, %peer, "closing connection: {why}");
                    break 'conn why.into();
                }
                None => continue,
            },
        };
        framer.push(&buf[..n]);
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    let reason = frame_error_reason(&e);
                    Shared::count(&ctx.shared.metrics.connection_errors, &zone, reason);
                    warn!(zone = %zone, %peer, error = %e, "closing connection: bad input");
                    // Where SIP has an answer for it, give one before closing (RFC 3261 §21.4.1,
                    // §21.5.x); the framer cannot always tell which request it was.
                    let status = if matches!(
                        e,
                        FrameError::HeaderTooLarge { .. } | FrameError::BodyTooLarge { .. }
                    ) {
                        513
                    } else {
                        400
                    };
                    let resp = Response::new(status, exp_sip::message::reason_phrase(status));
                    let _ = stream.write_all(&Message::Response(resp).to_bytes()).await;
                    break 'conn format!("bad input: {e}");
                }
            };
            let now = Instant::now();
            for ev in session.handle_frame(frame, now, &ctx.creds) {
                match ev {
                    ServerEvent::Send(bytes) => {
                        if let Err(e) = stream.write_all(&bytes).await {
                            break 'conn format!("write error: {e}");
                        }
                    }
                    ServerEvent::Authenticated {
                        username,
                        client_version,
                    } => {
                        authenticated = true;
                        pending.release();
                        let warning = version_warning("exp-c", client_version.as_deref());
                        if let Some(w) = &warning {
                            warn!(zone = %zone, %peer, "{w}");
                        }
                        info!(zone = %zone, %peer, user = %username, version = ?client_version, "traversal client authenticated; zone active");
                        let previous = ctx
                            .active
                            .lock()
                            .ok()
                            .and_then(|mut a| a.replace(Active { id, tx: tx.clone() }));
                        if let Some(bus) = &ctx.bus {
                            bus.zone_up(&zone, ZoneTx::Server(tx.clone()));
                        }
                        if let Some(prev) = previous {
                            let _ = prev.tx.try_send(ConnCommand::Close(
                                "replaced by a newer connection of the same client",
                            ));
                        }
                        let n = ctx.sessions.fetch_add(1, Ordering::Relaxed);
                        ctx.shared.update(&zone, |z| {
                            z.state = "active";
                            z.peer = Some(peer.to_string());
                            z.peer_version = client_version.clone();
                            z.version_mismatch =
                                client_version.as_deref().is_some_and(|v| v != VERSION);
                            z.warning = warning.clone();
                            z.reconnect_count = n;
                        });
                    }
                    ServerEvent::Rejected { username, reason } => {
                        Shared::count(&ctx.shared.metrics.auth_rejections, &zone, reason.as_str());
                        warn!(zone = %zone, %peer, user = ?username, reason = reason.as_str(), "traversal client authentication refused");
                        let has_active = ctx.active.lock().map(|a| a.is_some()).unwrap_or(false);
                        ctx.shared.update(&zone, |z| {
                            z.auth_failures += 1;
                            if !has_active {
                                z.state = "auth-failed";
                                z.warning = Some(format!(
                                    "last client {peer} refused: {}",
                                    reason.as_str()
                                ));
                            }
                        });
                        let _ = stream.flush().await;
                        break 'conn format!("authentication refused ({})", reason.as_str());
                    }
                    ServerEvent::ProbeAnswered | ServerEvent::Ping => {
                        if matches!(ev, ServerEvent::ProbeAnswered) {
                            Shared::count_zone(&ctx.shared.metrics.probes, &zone);
                        }
                        ctx.shared
                            .update(&zone, |z| z.last_probe_unix_ms = Some(unix_now_ms()));
                    }
                    ServerEvent::Request(req) => match &ctx.bus {
                        Some(bus) => bus.from_zone(&zone, Message::Request(req)),
                        None => {
                            let resp =
                                Response::for_request(&req, 501, "Not Implemented", Some(&zone));
                            if let Err(e) =
                                stream.write_all(&Message::Response(resp).to_bytes()).await
                            {
                                break 'conn format!("write error: {e}");
                            }
                        }
                    },
                    ServerEvent::Response(resp) => {
                        if ctx.check_answered(&resp) {
                            continue;
                        }
                        if let Some(bus) = &ctx.bus {
                            bus.from_zone(&zone, Message::Response(resp));
                        }
                    }
                }
            }
        }
        // The handshake deadline does not move with activity, so a client that trickles bytes
        // cannot hold a connection open unauthenticated; an authenticated one may stay silent
        // for the idle timeout.
        if authenticated {
            deadline = tokio::time::Instant::now() + ctx.limits.idle_timeout;
        }
    };
    let _ = stream.shutdown().await;
    let was_active = ctx
        .active
        .lock()
        .map(|mut a| {
            if a.as_ref().is_some_and(|a| a.id == id) {
                *a = None;
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if was_active {
        if let Some(bus) = &ctx.bus {
            bus.zone_down(&zone);
        }
        warn!(zone = %zone, %peer, "zone down: {end}");
        ctx.shared.update(&zone, |z| {
            z.state = "down";
            z.peer = None;
        });
    } else {
        info!(zone = %zone, %peer, "connection ended: {end}");
    }
}
