//! The TURN server's I/O: one thread with a mio poll that owns the request listeners (UDP and
//! TCP), the TCP client connections and every relay socket, and drives the sans-IO core
//! (`exp_turn::server::Server`). The core is owned by the thread, so the relay paths take no
//! lock; datagrams are received in batches (`recvmmsg`) and the datagrams one turn of the loop
//! produces leave together (send_queue.rs: io_uring or `sendmmsg`). Status is copied out on
//! request.
//!
//! Kept apart from media_io.rs: the media relay and the TURN relay share the batching code
//! (batch_io.rs) but nothing else — different sockets, different state, different limits.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use exp_turn::server::{
    BindError, Cidr, ClientKey, ClientVerdict, CredentialSource, Event, KeyLookup, LongTermKeys,
    PeerVerdict, RelayAddr, RelayBinder, RelayId, Server, ServerConfig, Stats, Transport,
};
use exp_zone::credentials::{CredentialDb, HashAlgorithm};
use exp_zone::turn::{TurnPlan, TurnTransport};
use mio::net::{TcpListener, UdpSocket};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use serde::Serialize;
use tracing::{debug, info, warn};

use crate::batch_io::{RecvBatch, BATCH};
use crate::recv_ring::{Completion, RecvRing};
use crate::send_queue::SendQueue;
use crate::turn_conn::{Closed, Conn};

const WAKER: Token = Token(0);
/// Listener tokens: 1 + index.
const LISTENER_BASE: usize = 1;
/// TCP client connection tokens: CONN_BASE + connection id.
const CONN_BASE: usize = 1 << 20;
/// Relay socket tokens: RELAY_BASE + relay id.
const RELAY_BASE: usize = 1 << 32;

/// With the io_uring receive path (recv_ring.rs), what a completion belongs to: the mio
/// poll's own descriptor (TCP, the waker), a UDP listener by its serial number, or a relay by
/// its id. Serial numbers and relay ids are never reused while a receive may be in flight.
const RING_POLL: u64 = 0;
const RING_LISTENER: u64 = 1 << 62;
const RING_RELAY: u64 = 1 << 61;

/// Serial numbers of bound listeners.
static LISTENER_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The credential database as the TURN core sees it: long-term keys are the digest HA1s exp-e
/// stores for SIP (RFC 8489 §9.2.2 and RFC 7616 hash the same `username:realm:password`).
/// With delegated checking, users the database does not know are asked of a traversal client
/// (the core parks their requests meanwhile) and the answers are kept for a while.
pub struct DbCredentials {
    db: Arc<CredentialDb>,
    delegation: Delegation,
    cache: HashMap<String, (Option<LongTermKeys>, Instant)>,
}

/// Delegated credential checking settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delegation {
    /// Ask elsewhere about unknown users.
    pub enabled: bool,
    /// How long an answer is reused.
    pub cache_for: Duration,
}

impl Delegation {
    fn of(plan: &TurnPlan) -> Delegation {
        Delegation {
            enabled: plan.credential_zone.is_some(),
            cache_for: plan.credential_cache,
        }
    }
}

/// Most cached delegated answers.
const CACHE_MAX: usize = 10_000;

impl DbCredentials {
    /// Keys from `db` only.
    pub fn new(db: Arc<CredentialDb>) -> DbCredentials {
        DbCredentials {
            db,
            delegation: Delegation::default(),
            cache: HashMap::new(),
        }
    }

    /// Remembers a delegated answer.
    fn remember(&mut self, username: &str, keys: Option<LongTermKeys>, now: Instant) {
        if self.cache.len() >= CACHE_MAX {
            self.cache.retain(|_, (_, until)| *until > now);
            if self.cache.len() >= CACHE_MAX {
                self.cache.clear();
            }
        }
        self.cache.insert(
            username.to_string(),
            (keys, now + self.delegation.cache_for),
        );
    }
}

/// Keys from delegated hex hashes; `None` when neither parses.
fn keys_of(h: &exp_sip::credential_check::Ha1) -> Option<LongTermKeys> {
    let keys = LongTermKeys {
        md5: h.md5.as_deref().and_then(unhex::<16>),
        sha256: h.sha256.as_deref().and_then(unhex::<32>),
    };
    (keys.md5.is_some() || keys.sha256.is_some()).then_some(keys)
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

impl CredentialSource for DbCredentials {
    fn lookup(&mut self, username: &str, realm: &str) -> KeyLookup {
        if realm != self.db.realm() {
            return KeyLookup::Unknown;
        }
        if self.db.contains(username) {
            let keys = LongTermKeys {
                md5: self
                    .db
                    .ha1(username, HashAlgorithm::Md5)
                    .and_then(unhex::<16>),
                sha256: self
                    .db
                    .ha1(username, HashAlgorithm::Sha256)
                    .and_then(unhex::<32>),
            };
            if keys.md5.is_some() || keys.sha256.is_some() {
                return KeyLookup::Found(keys);
            }
        }
        if !self.delegation.enabled {
            return KeyLookup::Unknown;
        }
        match self.cache.get(username) {
            Some((keys, until)) if *until > Instant::now() => match keys {
                Some(k) => KeyLookup::Found(*k),
                None => KeyLookup::Unknown,
            },
            _ => KeyLookup::Pending,
        }
    }
}

/// The core's configuration from the validated plan.
pub fn server_config(plan: &TurnPlan, realm: &str) -> ServerConfig {
    let cidr = |(a, p): &(IpAddr, u8)| Cidr::new(*a, *p).ok();
    let relay = RelayAddr::new(plan.relay_address);
    ServerConfig {
        realm: realm.to_string(),
        nonce_lifetime: plan.nonce_lifetime,
        max_lifetime: plan.max_lifetime,
        capacity: plan.capacity,
        user_quota: plan.user_quota,
        allow_unauthenticated_binding: plan.allow_unauthenticated_binding,
        alternate_servers: plan.alternate_servers.clone(),
        rest_secret: plan.rest_secret.clone(),
        denied_peers: plan.denied_peers.iter().filter_map(cidr).collect(),
        allowed_peers: plan.allowed_peers.iter().filter_map(cidr).collect(),
        own_addresses: plan.own_addresses.clone(),
        relay_ipv4: plan.relay_address.is_ipv4().then_some(relay),
        relay_ipv6: plan.relay_address.is_ipv6().then_some(relay),
        relay_port_min: plan.relay_ports.0,
        relay_port_max: plan.relay_ports.1,
        ..ServerConfig::default()
    }
}

/// `/api/v1/turn`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TurnStatus {
    /// Allocations now.
    pub active_relays: usize,
    /// Distinct client IP addresses holding an allocation (each allocation is one client 5-tuple).
    pub active_clients: usize,
    /// Most allocations at once.
    pub capacity: usize,
    /// Allocations made since start.
    pub allocations_total: u64,
    /// Allocate requests refused for capacity or quota.
    pub allocations_refused: u64,
    /// Failed authentications.
    pub auth_failures: u64,
    /// Requests dropped because their source failed too often.
    pub rate_limited: u64,
    /// Permissions or channels refused by the peer policy.
    pub peer_refused: u64,
    /// Packets relayed client → peer.
    pub packets_to_peers: u64,
    /// Packets relayed peer → client.
    pub packets_to_clients: u64,
    /// Bytes relayed client → peer.
    pub bytes_to_peers: u64,
    /// Bytes relayed peer → client.
    pub bytes_to_clients: u64,
    /// Dropped packets by reason.
    pub dropped: HashMap<&'static str, u64>,
    /// Client TCP connections that carried a request, plain.
    pub tcp_connections: u64,
    /// Client connections that carried a request over TLS.
    pub tls_connections: u64,
}

impl TurnStatus {
    fn from_stats(s: &Stats) -> TurnStatus {
        let c = &s.counters;
        TurnStatus {
            active_relays: s.active_allocations,
            active_clients: s.distinct_clients,
            capacity: s.capacity,
            allocations_total: c.allocations_total,
            allocations_refused: c.allocations_refused,
            auth_failures: c.auth_failures,
            rate_limited: c.rate_limited,
            peer_refused: c.peer_refused,
            packets_to_peers: c.traffic.packets_to_peer,
            packets_to_clients: c.traffic.packets_to_client,
            bytes_to_peers: c.traffic.bytes_to_peer,
            bytes_to_clients: c.traffic.bytes_to_client,
            dropped: exp_turn::server::DropReason::ALL
                .iter()
                .map(|r| (r.name(), c.dropped(*r)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            tcp_connections: 0,
            tls_connections: 0,
        }
    }
}

/// One relay of `/api/v1/turn/relays`.
#[derive(Clone, Debug, Serialize)]
pub struct RelayStatus {
    /// Client transport.
    pub transport: &'static str,
    /// Client address.
    pub client: String,
    /// Our address the client talks to.
    pub server: String,
    /// Relayed transport address.
    pub relayed: String,
    /// Authenticated username.
    pub username: String,
    /// Seconds until the allocation expires.
    pub lifetime_left: u64,
    /// Peer addresses with a permission, and seconds left.
    pub permissions: Vec<(String, u64)>,
    /// Channel number, peer, seconds left.
    pub channels: Vec<(u16, String, u64)>,
    /// Packets client → peer.
    pub packets_to_peer: u64,
    /// Bytes client → peer.
    pub bytes_to_peer: u64,
    /// Packets peer → client.
    pub packets_to_client: u64,
    /// Bytes peer → client.
    pub bytes_to_client: u64,
}

enum Control {
    Config(Box<ServerConfig>, Delegation),
    /// Where to send delegated credential checks (usernames).
    Asker(tokio::sync::mpsc::UnboundedSender<String>),
    /// A delegated check's answer; `None` hashes: unknown user; `cache` false for a failed
    /// check (zone down, no answer), which is not remembered.
    CredentialAnswer {
        username: String,
        hashes: Option<exp_sip::credential_check::Ha1>,
        cache: bool,
    },
    Credentials(Arc<CredentialDb>),
    /// Keep the listeners planned as `keep`, close the rest, add `added`.
    Listeners {
        keep: Vec<(TurnTransport, SocketAddr)>,
        added: Vec<Bound>,
    },
}

#[derive(Default)]
struct Published {
    status: TurnStatus,
    relays: Vec<RelayStatus>,
    relays_version: u64,
}

struct Inner {
    control: Mutex<Vec<Control>>,
    waker: Waker,
    stop: AtomicBool,
    relays_wanted: AtomicBool,
    published: Mutex<Published>,
    published_cv: Condvar,
    /// Bound listener addresses (with their real ports).
    bound: Mutex<Vec<(TurnTransport, SocketAddr)>>,
}

/// The running TURN server; stops its thread when dropped.
pub struct TurnService {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
    /// The listeners of the plan in force.
    planned: Mutex<Vec<(TurnTransport, SocketAddr)>>,
}

impl Drop for TurnService {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let _ = self.inner.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request listener: the socket and its bound address, plus the address the plan asked for
/// (what a reload compares; a port 0 in the plan binds a different real port).
struct Bound {
    planned: (TurnTransport, SocketAddr),
    socket: Listener,
    /// Names the listener's receive on the io_uring path.
    serial: u64,
}

impl Bound {
    fn new(planned: (TurnTransport, SocketAddr), socket: Listener) -> Bound {
        Bound {
            planned,
            socket,
            serial: LISTENER_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }
}

enum Listener {
    Udp(UdpSocket, SocketAddr),
    /// TCP; `true` when it takes TLS only.
    Tcp(TcpListener, SocketAddr, bool),
}

impl Listener {
    fn local(&self) -> (TurnTransport, SocketAddr) {
        match self {
            Listener::Udp(_, a) => (TurnTransport::Udp, *a),
            Listener::Tcp(_, a, false) => (TurnTransport::Tcp, *a),
            Listener::Tcp(_, a, true) => (TurnTransport::Tls, *a),
        }
    }
}

/// Binds one planned listener (not yet registered with a poll).
fn bind_listener(transport: TurnTransport, addr: SocketAddr) -> anyhow::Result<Listener> {
    Ok(match transport {
        TurnTransport::Udp => {
            let std = crate::batch_io::bind_udp(addr, LISTENER_BUFFER, None)
                .with_context(|| format!("TURN cannot listen on udp {addr}"))?;
            let local = std.local_addr()?;
            Listener::Udp(UdpSocket::from_std(std), local)
        }
        TurnTransport::Tcp | TurnTransport::Tls => {
            let l = TcpListener::bind(addr)
                .with_context(|| format!("TURN cannot listen on tcp {addr}"))?;
            let local = l.local_addr()?;
            Listener::Tcp(l, local, transport == TurnTransport::Tls)
        }
    })
}

/// Receive buffer of a UDP request listener: every UDP client's packets arrive on it, so it
/// must absorb the bursts of many clients while the thread is busy (the kernel caps it at
/// net.core.rmem_max).
const LISTENER_BUFFER: usize = 4 << 20;
/// Receive buffer of a relay socket (one allocation's peers). A limit, not an allocation:
/// memory is only taken by datagrams actually queued.
const RELAY_BUFFER: usize = 1 << 20;

/// Registers listener `index` with the poll (or moves it to that token).
fn register_listener(
    registry: &Registry,
    l: &mut Listener,
    index: usize,
    again: bool,
) -> std::io::Result<()> {
    let token = Token(LISTENER_BASE + index);
    match (l, again) {
        (Listener::Udp(s, _), false) => registry.register(s, token, Interest::READABLE),
        (Listener::Udp(s, _), true) => registry.reregister(s, token, Interest::READABLE),
        (Listener::Tcp(s, ..), false) => registry.register(s, token, Interest::READABLE),
        (Listener::Tcp(s, ..), true) => registry.reregister(s, token, Interest::READABLE),
    }
}

impl TurnService {
    /// Binds the listeners of `plan` and starts the thread; `tls` is exp-e's certificate for
    /// TLS clients (the plan has TLS listeners only when there is one).
    pub fn start(
        plan: &TurnPlan,
        realm: &str,
        creds: Arc<CredentialDb>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<Self> {
        raise_fd_limit();
        let poll = Poll::new().context("TURN poll")?;
        let waker = Waker::new(poll.registry(), WAKER).context("TURN waker")?;
        let mut listeners = Vec::new();
        for (transport, addr) in &plan.listeners {
            let socket = bind_listener(*transport, *addr)?;
            listeners.push(Bound::new((*transport, *addr), socket));
        }
        let bound: Vec<_> = listeners.iter().map(|l| l.socket.local()).collect();
        let secret = exp_turn::server::random_secret().context("random secret")?;
        let now = Instant::now();
        let server = Server::new(
            server_config(plan, realm),
            DbCredentials {
                delegation: Delegation::of(plan),
                ..DbCredentials::new(creds)
            },
            secret,
            now,
            unix_now(),
        );
        let inner = Arc::new(Inner {
            control: Mutex::new(Vec::new()),
            waker,
            stop: AtomicBool::new(false),
            relays_wanted: AtomicBool::new(false),
            published: Mutex::new(Published::default()),
            published_cv: Condvar::new(),
            bound: Mutex::new(bound.clone()),
        });
        let thread_inner = inner.clone();
        let want_ring = plan.io_uring;
        let thread = std::thread::Builder::new()
            .name("exp-turn".into())
            .spawn(move || {
                let mut io = Io {
                    inner: thread_inner,
                    poll,
                    server,
                    listeners,
                    conns: HashMap::new(),
                    next_conn: 0,
                    relays: Relays {
                        sockets: HashMap::new(),
                        next: 0,
                        closing: Vec::new(),
                        ring_ops: None,
                    },
                    scratch: Vec::with_capacity(2048),
                    out: SendQueue::default(),
                    tls,
                    tcp_connections: 0,
                    tls_connections: 0,
                    asker: None,
                    ring: None,
                    ring_ended: Vec::new(),
                };
                io.set_up(want_ring);
                io.run();
            })
            .context("TURN thread")?;
        for (t, a) in &bound {
            info!(transport = ?t, address = %a, "TURN server listening");
        }
        Ok(TurnService {
            inner,
            thread: Some(thread),
            planned: Mutex::new(plan.listeners.clone()),
        })
    }

    /// Bound listener addresses (with their real ports).
    pub fn listeners(&self) -> Vec<(TurnTransport, SocketAddr)> {
        self.inner
            .bound
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Applies a new plan without a restart: listeners the plan adds are bound (an error
    /// changes nothing), listeners it drops are closed (their TCP connections stay until the
    /// client closes them), and every other setting applies to new requests. Existing
    /// allocations keep running.
    pub fn reconfigure(
        &self,
        plan: &TurnPlan,
        realm: &str,
        creds: Arc<CredentialDb>,
    ) -> anyhow::Result<()> {
        let Ok(mut planned) = self.planned.lock() else {
            anyhow::bail!("TURN listener state poisoned");
        };
        if *planned != plan.listeners {
            let mut added = Vec::new();
            for (t, a) in &plan.listeners {
                if !planned.contains(&(*t, *a)) {
                    added.push(Bound::new((*t, *a), bind_listener(*t, *a)?));
                }
            }
            for b in &added {
                let (t, a) = b.socket.local();
                info!(transport = ?t, address = %a, "TURN server listening");
            }
            self.push(Control::Listeners {
                keep: plan.listeners.clone(),
                added,
            });
            planned.clone_from(&plan.listeners);
        }
        self.set_config(plan, realm);
        self.set_credentials(creds);
        Ok(())
    }

    /// Applies new settings; existing allocations stay.
    pub fn set_config(&self, plan: &TurnPlan, realm: &str) {
        self.push(Control::Config(
            Box::new(server_config(plan, realm)),
            Delegation::of(plan),
        ));
    }

    /// Sends delegated credential checks (usernames) to `tx`; answers come back through
    /// [`TurnService::credential_answer`].
    pub fn set_credential_asker(&self, tx: tokio::sync::mpsc::UnboundedSender<String>) {
        self.push(Control::Asker(tx));
    }

    /// The answer to a delegated check of `username`: `Ok(hashes)` from the traversal client
    /// (`None`: unknown there), remembered for `turn.credential_cache`; `Err` when the check
    /// failed (zone down, no answer), which refuses the waiting requests without remembering.
    pub fn credential_answer(
        &self,
        username: String,
        answer: Result<Option<exp_sip::credential_check::Ha1>, ()>,
    ) {
        let cache = answer.is_ok();
        self.push(Control::CredentialAnswer {
            username,
            hashes: answer.ok().flatten(),
            cache,
        });
    }

    /// Replaces the credential database.
    pub fn set_credentials(&self, creds: Arc<CredentialDb>) {
        self.push(Control::Credentials(creds));
    }

    fn push(&self, c: Control) {
        if let Ok(mut q) = self.inner.control.lock() {
            q.push(c);
        }
        let _ = self.inner.waker.wake();
    }

    /// Counters and capacity as of the last publication (at most 250 ms old).
    pub fn status(&self) -> TurnStatus {
        self.inner
            .published
            .lock()
            .map(|p| p.status.clone())
            .unwrap_or_default()
    }

    /// Every relay with its permissions, channels and counters, fresh from the thread.
    pub fn relays(&self) -> Vec<RelayStatus> {
        let Ok(mut p) = self.inner.published.lock() else {
            return Vec::new();
        };
        let version = p.relays_version;
        self.inner.relays_wanted.store(true, Ordering::SeqCst);
        let _ = self.inner.waker.wake();
        let deadline = Instant::now() + Duration::from_secs(1);
        while p.relays_version == version {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.inner.published_cv.wait_timeout(p, left) {
                Ok((g, _)) => p = g,
                Err(_) => return Vec::new(),
            }
        }
        p.relays.clone()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 50,000 relays need 50,000 descriptors: raise the soft limit to the hard one.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid, owned struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

struct Relays {
    sockets: HashMap<u32, UdpSocket>,
    next: u32,
    /// Sockets of ended relays, kept open until the send queue has been flushed (it holds
    /// raw descriptors).
    closing: Vec<UdpSocket>,
    /// On the io_uring path: receives to start or stop, applied before the next wait.
    ring_ops: Option<Vec<RingOp>>,
}

/// A change to the io_uring receives of relay sockets.
enum RingOp {
    Arm(u32),
    Cancel(u32),
}

/// The binder the core calls while the thread holds the registry.
struct Binder<'a> {
    relays: &'a mut Relays,
    registry: &'a Registry,
}

impl RelayBinder for Binder<'_> {
    fn bind(&mut self, addr: SocketAddr) -> Result<RelayId, BindError> {
        let std = crate::batch_io::bind_udp(addr, RELAY_BUFFER, None).map_err(|_| BindError)?;
        let mut s = UdpSocket::from_std(std);
        let id = self.relays.next;
        self.relays.next = self.relays.next.wrapping_add(1);
        match &mut self.relays.ring_ops {
            Some(ops) => ops.push(RingOp::Arm(id)),
            None => self
                .registry
                .register(&mut s, Token(RELAY_BASE + id as usize), Interest::READABLE)
                .map_err(|_| BindError)?,
        }
        self.relays.sockets.insert(id, s);
        Ok(RelayId(id))
    }

    fn close(&mut self, relay: RelayId) {
        if let Some(mut s) = self.relays.sockets.remove(&relay.0) {
            match &mut self.relays.ring_ops {
                Some(ops) => ops.push(RingOp::Cancel(relay.0)),
                None => {
                    let _ = self.registry.deregister(&mut s);
                }
            }
            self.relays.closing.push(s);
        }
    }
}

struct Io {
    inner: Arc<Inner>,
    poll: Poll,
    server: Server<DbCredentials>,
    listeners: Vec<Bound>,
    conns: HashMap<u32, Conn>,
    next_conn: u32,
    relays: Relays,
    scratch: Vec<u8>,
    out: SendQueue,
    /// exp-e's certificate, for TLS clients.
    tls: Option<Arc<rustls::ServerConfig>>,
    tcp_connections: u64,
    tls_connections: u64,
    /// Where delegated credential checks go.
    asker: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// The io_uring receive path, where the kernel offers it and the plan wants it; else
    /// every UDP socket is polled by mio.
    ring: Option<RecvRing>,
    /// Receives that ended during a reap, to arm again.
    ring_ended: Vec<(u64, i32)>,
}

impl Io {
    /// Picks the receive path and registers the listeners with it.
    fn set_up(&mut self, want_ring: bool) {
        if want_ring {
            self.ring = RecvRing::new();
            if self.ring.is_none() {
                info!("TURN: io_uring multishot receive unavailable here; using readiness polling");
            }
        }
        if let Some(ring) = &mut self.ring {
            if let Err(e) = ring.poll(self.poll.as_raw_fd(), RING_POLL) {
                warn!(error = %e, "TURN: io_uring cannot poll; using readiness polling");
                self.ring = None;
            }
        }
        if self.ring.is_some() {
            self.relays.ring_ops = Some(Vec::new());
            debug!("TURN: datagrams received through io_uring");
        }
        self.register_listeners(0);
    }

    /// Registers the listeners from index `kept` on (those before it are registered already
    /// but may have moved to a new index).
    fn register_listeners(&mut self, kept: usize) {
        let registry = self.poll.registry();
        for (i, b) in self.listeners.iter_mut().enumerate() {
            let result = match (&mut self.ring, &b.socket) {
                (Some(ring), Listener::Udp(s, _)) if i >= kept => {
                    ring.arm(s.as_raw_fd(), RING_LISTENER | b.serial)
                }
                (Some(_), Listener::Udp(..)) => Ok(()),
                _ => register_listener(registry, &mut b.socket, i, i < kept),
            };
            if let Err(e) = result {
                warn!(error = %e, "TURN listener cannot be polled");
            }
        }
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let mut batch = RecvBatch::default();
        let mut last_publish = Instant::now() - Duration::from_secs(1);
        loop {
            if self.inner.stop.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            let publish_in = Duration::from_millis(250).saturating_sub(now - last_publish);
            let timeout = self
                .server
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(publish_in)
                .min(publish_in);
            if self.ring.is_some() {
                if let Err(e) = self.ring_turn(timeout, &mut events, &mut batch) {
                    warn!(error = %e, "TURN io_uring wait failed; the TURN server stops");
                    return;
                }
            } else {
                if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                    if e.kind() != ErrorKind::Interrupted {
                        warn!(error = %e, "TURN poll failed; the TURN server stops");
                        return;
                    }
                }
                self.poll_events(&events, &mut batch);
            }
            let now = Instant::now();
            if self.server.poll_timeout().is_some_and(|t| t <= now) {
                let mut binder = Binder {
                    relays: &mut self.relays,
                    registry: self.poll.registry(),
                };
                self.server.handle_timeout(now, &mut binder);
            }
            self.drain();
            self.out.flush();
            self.relays.closing.clear();
            if now - last_publish >= Duration::from_millis(250)
                || self.inner.relays_wanted.load(Ordering::SeqCst)
            {
                self.publish(now);
                last_publish = now;
            }
        }
    }

    /// One wait on the io_uring path: starts and stops relay receives, waits for completions
    /// (or `timeout`), handles every datagram, arms again what ended, and reads the mio poll
    /// when it is ready.
    fn ring_turn(
        &mut self,
        timeout: Duration,
        events: &mut Events,
        batch: &mut RecvBatch,
    ) -> std::io::Result<()> {
        let Some(mut ring) = self.ring.take() else {
            return Ok(());
        };
        for op in self
            .relays
            .ring_ops
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            let r = match op {
                RingOp::Arm(id) => match self.relays.sockets.get(&id) {
                    Some(s) => ring.arm(s.as_raw_fd(), RING_RELAY | u64::from(id)),
                    None => Ok(()),
                },
                RingOp::Cancel(id) => ring.cancel(RING_RELAY | u64::from(id)),
            };
            if let Err(e) = r {
                warn!(error = %e, "TURN relay receive cannot be queued");
            }
        }
        let waited = ring.wait(Some(timeout));
        let now = Instant::now();
        let mut poll_ready = false;
        let mut ended = std::mem::take(&mut self.ring_ended);
        ring.reap(|c| match c {
            Completion::Datagram { token, from, data } => {
                if token & RING_RELAY != 0 {
                    self.relay_datagram((token & !RING_RELAY) as u32, now, from, data);
                } else if token & RING_LISTENER != 0 {
                    let serial = token & !RING_LISTENER;
                    if let Some(local) = self.listeners.iter().find_map(|b| match &b.socket {
                        Listener::Udp(_, local) if b.serial == serial => Some(*local),
                        _ => None,
                    }) {
                        self.client_data(&ClientKey::udp(from, local), data);
                    }
                }
            }
            Completion::Ready { token } => poll_ready |= token == RING_POLL,
            Completion::Truncated { .. } => {}
            Completion::Ended { token, error } => ended.push((token, error)),
        });
        for (token, error) in ended.drain(..) {
            self.rearm(&mut ring, token, error);
        }
        self.ring_ended = ended;
        self.ring = Some(ring);
        if poll_ready {
            self.poll.poll(events, Some(Duration::ZERO))?;
            self.poll_events(events, batch);
        }
        waited
    }

    /// Arms again a receive (or the poll) that ended, if its socket is still there. A receive
    /// ends when the buffers ran out for a moment (ENOBUFS), when it was cancelled, or on an
    /// error; only the first and the poll are expected, the rest is logged.
    fn rearm(&mut self, ring: &mut RecvRing, token: u64, error: i32) {
        let fd = if token == RING_POLL {
            Some(self.poll.as_raw_fd())
        } else if token & RING_RELAY != 0 {
            let id = (token & !RING_RELAY) as u32;
            self.relays.sockets.get(&id).map(|s| s.as_raw_fd())
        } else {
            let serial = token & !RING_LISTENER;
            self.listeners.iter().find_map(|b| match &b.socket {
                Listener::Udp(s, _) if b.serial == serial => Some(s.as_raw_fd()),
                _ => None,
            })
        };
        let Some(fd) = fd else {
            return;
        };
        if error != 0 && error != libc::ENOBUFS {
            debug!(error, token, "TURN receive ended; armed again");
        }
        let r = if token == RING_POLL {
            ring.poll(fd, token)
        } else {
            ring.arm(fd, token)
        };
        if let Err(e) = r {
            warn!(error = %e, "TURN receive cannot be armed again");
        }
    }

    /// Handles the readiness events of one mio poll.
    fn poll_events(&mut self, events: &Events, batch: &mut RecvBatch) {
        for ev in events.iter() {
            let t = ev.token().0;
            if t == WAKER.0 {
                self.controls();
            } else if t >= RELAY_BASE {
                self.relay_readable((t - RELAY_BASE) as u32, batch);
            } else if t >= CONN_BASE {
                let id = (t - CONN_BASE) as u32;
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.conn_readable(id);
                }
                if ev.is_writable() {
                    self.flush(id);
                }
            } else if t >= LISTENER_BASE {
                self.listener_ready(t - LISTENER_BASE, batch);
            }
        }
    }

    fn controls(&mut self) {
        let controls = self
            .inner
            .control
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        for c in controls {
            match c {
                Control::Config(cfg, delegation) => {
                    info!("TURN settings applied; existing allocations keep running");
                    self.server.set_config(*cfg);
                    let c = self.server.credentials_mut();
                    c.delegation = delegation;
                    if !delegation.enabled {
                        c.cache.clear();
                    }
                }
                Control::Credentials(db) => {
                    let c = self.server.credentials_mut();
                    c.db = db;
                }
                Control::Asker(tx) => self.asker = Some(tx),
                Control::CredentialAnswer {
                    username,
                    hashes,
                    cache,
                } => {
                    let now = Instant::now();
                    let keys = hashes.as_ref().and_then(keys_of);
                    if cache {
                        self.server.credentials_mut().remember(&username, keys, now);
                    }
                    let mut binder = Binder {
                        relays: &mut self.relays,
                        registry: self.poll.registry(),
                    };
                    self.server
                        .credential_ready(now, &username, keys, &mut binder);
                }
                Control::Listeners { keep, added } => self.set_listeners(&keep, added),
            }
        }
    }

    /// Replaces the listener set; tokens follow the new order.
    fn set_listeners(&mut self, keep: &[(TurnTransport, SocketAddr)], added: Vec<Bound>) {
        // Queued datagrams name listener descriptors that may close here.
        self.out.flush();
        let registry = self.poll.registry();
        let old = std::mem::take(&mut self.listeners);
        for mut b in old {
            if keep.contains(&b.planned) {
                self.listeners.push(b);
            } else {
                let (t, a) = b.socket.local();
                let _ = match (&mut self.ring, &mut b.socket) {
                    // The kernel holds the socket until the receive is cancelled.
                    (Some(ring), Listener::Udp(..)) => ring.cancel(RING_LISTENER | b.serial),
                    (None, Listener::Udp(s, _)) => registry.deregister(s),
                    (_, Listener::Tcp(s, ..)) => registry.deregister(s),
                };
                info!(transport = ?t, address = %a, "TURN listener closed");
            }
        }
        let kept = self.listeners.len();
        self.listeners.extend(added);
        self.register_listeners(kept);
        let bound: Vec<_> = self.listeners.iter().map(|b| b.socket.local()).collect();
        if let Ok(mut l) = self.inner.bound.lock() {
            *l = bound;
        }
    }

    fn publish(&mut self, now: Instant) {
        let status = TurnStatus {
            tcp_connections: self.tcp_connections,
            tls_connections: self.tls_connections,
            ..TurnStatus::from_stats(&self.server.stats())
        };
        let want = self.inner.relays_wanted.swap(false, Ordering::SeqCst);
        let relays = want.then(|| {
            self.server
                .allocations(now)
                .into_iter()
                .map(|a| RelayStatus {
                    transport: match a.client.transport {
                        Transport::Udp => "udp",
                        Transport::Tcp => "tcp",
                        Transport::Tls => "tls",
                    },
                    client: a.client.remote.to_string(),
                    server: a.client.local.to_string(),
                    relayed: a.relayed.to_string(),
                    username: a.username,
                    lifetime_left: a.time_left.as_secs(),
                    permissions: a
                        .permissions
                        .iter()
                        .map(|p| (p.peer.to_string(), p.time_left.as_secs()))
                        .collect(),
                    channels: a
                        .channels
                        .iter()
                        .map(|c| (c.number, c.peer.to_string(), c.time_left.as_secs()))
                        .collect(),
                    packets_to_peer: a.traffic.packets_to_peer,
                    bytes_to_peer: a.traffic.bytes_to_peer,
                    packets_to_client: a.traffic.packets_to_client,
                    bytes_to_client: a.traffic.bytes_to_client,
                })
                .collect::<Vec<_>>()
        });
        if let Ok(mut p) = self.inner.published.lock() {
            p.status = status;
            if let Some(r) = relays {
                p.relays = r;
                p.relays_version += 1;
                self.inner.published_cv.notify_all();
            }
        }
    }

    fn listener_ready(&mut self, index: usize, batch: &mut RecvBatch) {
        match self.listeners.get(index).map(|b| &b.socket) {
            Some(Listener::Udp(s, local)) => {
                let (fd, local) = (s.as_raw_fd(), *local);
                loop {
                    let n = match batch.recv(fd) {
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => {
                            debug!(error = %e, "TURN UDP receive");
                            return;
                        }
                    };
                    for i in 0..n {
                        if batch.truncated(i) {
                            continue;
                        }
                        if let Some((from, data)) = batch.get(i) {
                            let key = ClientKey::udp(from, local);
                            self.client_data(&key, data);
                        }
                    }
                    self.drain();
                    // Edge-triggered: a later datagram raises a new event, so a batch that
                    // was not full means the socket is empty; skip the EAGAIN call.
                    if n < BATCH {
                        return;
                    }
                }
            }
            Some(Listener::Tcp(..)) => self.accept(index),
            None => {}
        }
    }

    fn accept(&mut self, index: usize) {
        loop {
            let Some(Listener::Tcp(l, local, tls_only)) =
                self.listeners.get(index).map(|b| &b.socket)
            else {
                return;
            };
            let (local, tls_only) = (*local, *tls_only);
            match l.accept() {
                Ok((mut stream, remote)) => {
                    let id = self.next_conn;
                    self.next_conn = self.next_conn.wrapping_add(1) % (1 << 30);
                    let _ = stream.set_nodelay(true);
                    if self
                        .poll
                        .registry()
                        .register(
                            &mut stream,
                            Token(CONN_BASE + id as usize),
                            Interest::READABLE,
                        )
                        .is_err()
                    {
                        continue;
                    }
                    let local = stream.local_addr().unwrap_or(local);
                    let key = ClientKey::tcp(remote, local, id);
                    match Conn::new(stream, key, tls_only, self.tls.as_ref()) {
                        Ok(c) => {
                            self.conns.insert(id, c);
                        }
                        Err(e) => debug!(peer = %remote, error = ?e, "TURN connection refused"),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    debug!(error = %e, "TURN TCP accept");
                    return;
                }
            }
        }
    }

    fn conn_readable(&mut self, id: u32) {
        let mut frames = Vec::new();
        let result = match self.conns.get_mut(&id) {
            Some(c) => c.read(self.tls.as_ref(), &mut frames),
            None => return,
        };
        if let Some(c) = self
            .conns
            .get_mut(&id)
            .filter(|c| !c.counted && !frames.is_empty())
        {
            c.counted = true;
            match c.key.transport {
                Transport::Tls => self.tls_connections += 1,
                _ => self.tcp_connections += 1,
            }
        }
        if let Some(key) = self.conns.get(&id).map(|c| c.key) {
            for f in &frames {
                self.client_data(&key, f);
            }
        }
        match result {
            Ok(()) => self.arm(id),
            Err(e) => {
                if let (Closed::Malformed(why), Some(c)) = (&e, self.conns.get(&id)) {
                    debug!(peer = %c.key.remote, error = %why, "TURN connection closed");
                }
                self.close_conn(id);
            }
        }
        self.drain();
    }

    /// Registers for WRITABLE while output waits, and only then.
    fn arm(&mut self, id: u32) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let want = c.pending();
        if want != c.writable_armed {
            c.writable_armed = want;
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self.poll.registry().reregister(
                &mut c.stream,
                Token(CONN_BASE + id as usize),
                interest,
            );
        }
    }

    fn close_conn(&mut self, id: u32) {
        if let Some(mut c) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            let mut binder = Binder {
                relays: &mut self.relays,
                registry: self.poll.registry(),
            };
            self.server.client_closed(&c.key, &mut binder);
        }
    }

    /// A datagram or frame from a client.
    fn client_data(&mut self, key: &ClientKey, data: &[u8]) {
        let now = Instant::now();
        let mut binder = Binder {
            relays: &mut self.relays,
            registry: self.poll.registry(),
        };
        if let ClientVerdict::Relay {
            relay,
            peer,
            payload,
        } = self.server.client_packet(now, key, data, &mut binder)
        {
            if let (Some(s), Some(p)) = (self.relays.sockets.get(&relay.0), data.get(payload)) {
                self.out.push(s.as_raw_fd(), peer, &[p]);
            }
        }
    }

    fn relay_readable(&mut self, id: u32, batch: &mut RecvBatch) {
        loop {
            let Some(s) = self.relays.sockets.get(&id) else {
                return;
            };
            let n = match batch.recv(s.as_raw_fd()) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let now = Instant::now();
            for i in 0..n {
                if batch.truncated(i) {
                    continue;
                }
                if let Some((peer, data)) = batch.get(i) {
                    self.relay_datagram(id, now, peer, data);
                }
            }
            if n < BATCH {
                return;
            }
        }
    }

    /// A datagram from `peer` on relay `id`: to its client, if the core lets it through.
    fn relay_datagram(&mut self, id: u32, now: Instant, peer: SocketAddr, data: &[u8]) {
        if !self.relays.sockets.contains_key(&id) {
            // Received before the relay's receive was cancelled.
            return;
        }
        match self.server.peer_packet(now, RelayId(id), peer, data.len()) {
            PeerVerdict::Channel {
                client,
                channel,
                pad,
            } => match (client.transport, self.udp_listener_fd(&client)) {
                (Transport::Udp, Some(fd)) => {
                    self.out
                        .push_channel_data(fd, client.remote, channel, data, pad)
                }
                (Transport::Udp, None) => {}
                _ => {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(&channel.to_be_bytes());
                    self.scratch
                        .extend_from_slice(&(data.len() as u16).to_be_bytes());
                    self.scratch.extend_from_slice(data);
                    if pad {
                        while self.scratch.len() % 4 != 0 {
                            self.scratch.push(0);
                        }
                    }
                    let bytes = std::mem::take(&mut self.scratch);
                    self.send_to_client(&client, &bytes);
                    self.scratch = bytes;
                }
            },
            PeerVerdict::Indication { client } => {
                let mut out = Vec::new();
                if self.server.data_indication(peer, data, &mut out).is_ok() {
                    self.send_to_client(&client, &out);
                }
            }
            PeerVerdict::Dropped(_) => {}
        }
    }

    /// The UDP listener socket a UDP client talks to.
    fn udp_listener_fd(&self, client: &ClientKey) -> Option<std::os::fd::RawFd> {
        self.listeners.iter().find_map(|l| match &l.socket {
            Listener::Udp(s, local) if *local == client.local => Some(s.as_raw_fd()),
            _ => None,
        })
    }

    /// Sends `bytes` to a client on the socket or connection it uses.
    fn send_to_client(&mut self, client: &ClientKey, bytes: &[u8]) {
        match client.transport {
            Transport::Udp => {
                if let Some(fd) = self.udp_listener_fd(client) {
                    self.out.push(fd, client.remote, &[bytes]);
                }
            }
            Transport::Tcp | Transport::Tls => {
                let id = client.conn;
                let Some(c) = self.conns.get_mut(&id) else {
                    return;
                };
                match c.send(bytes) {
                    Ok(()) => self.arm(id),
                    Err(_) => {
                        debug!(peer = %client.remote, "TURN client does not read; closing");
                        self.close_conn(id);
                    }
                }
            }
        }
    }

    fn flush(&mut self, id: u32) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        match c.flush() {
            Ok(()) => self.arm(id),
            Err(_) => self.close_conn(id),
        }
    }

    /// Sends queued responses and handles events.
    fn drain(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            self.send_to_client(&t.client, &t.bytes);
        }
        while let Some(ev) = self.server.poll_event() {
            match ev {
                Event::AllocationCreated {
                    client,
                    relayed,
                    username,
                    ..
                } => {
                    debug!(client = %client.remote, %relayed, %username, "TURN allocation")
                }
                Event::AllocationDeleted { client, reason, .. } => {
                    debug!(client = %client.remote, ?reason, "TURN allocation ended")
                }
                Event::NeedCredential { username } => {
                    debug!(%username, "TURN credential asked of the traversal client");
                    let sent = self
                        .asker
                        .as_ref()
                        .is_some_and(|a| a.send(username.clone()).is_ok());
                    if !sent {
                        let mut binder = Binder {
                            relays: &mut self.relays,
                            registry: self.poll.registry(),
                        };
                        self.server
                            .credential_ready(Instant::now(), &username, None, &mut binder);
                    }
                }
                Event::SourceBlocked { ip } => {
                    warn!(source = %ip, "TURN: too many failed authentications; source blocked for a while")
                }
            }
        }
    }
}
