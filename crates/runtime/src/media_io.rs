//! The media relay's I/O: one dedicated thread that owns every media socket, reads datagrams in
//! batches (`recvmmsg`), asks the sans-IO [`Relay`] what to do with each, and sends them on in
//! batches per socket (`sendmmsg`).
//!
//! Media is the hot path — tens of thousands of small datagrams per second per call bundle — so
//! it does not go through tokio's per-datagram futures: a mio poll loop on one thread, with the
//! relay behind a mutex taken once per batch. The call task (tokio) creates and removes streams
//! through [`MediaRelay`]; it binds a stream's sockets itself, so a port that cannot be had is
//! known before the SDP naming it is sent, and hands them to the thread.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use exp_media::{Action, Counters, Event, PortPool, Relay, RelayConfig, StreamId};
use exp_zone::resolve::MediaPlan;
use mio::{Events, Interest, Poll, Token, Waker};
use tracing::{debug, warn};

use crate::batch_io::{send_batch, Outgoing, RecvBatch, UringSender};
use crate::status::Shared;

const WAKER: Token = Token(usize::MAX);
/// Batches read from one socket before the others get a turn.
const BATCHES_PER_TURN: usize = 8;
/// Socket buffer size asked for (the kernel may cap it at net.core.*mem_max).
const SOCKET_BUFFER: usize = 4 << 20;

enum Control {
    Add(Vec<(u16, UdpSocket)>),
    Remove(Vec<u16>),
}

/// Pairs kept bound and registered ahead of need, so a call's SDP does not wait for socket
/// system calls (a call takes one to two pairs per media line on each program).
const WARM_PAIRS: usize = 16;

struct Inner {
    relay: Mutex<Relay>,
    pool: Mutex<PortPool>,
    /// RTP ports of warm pairs: bound, registered with the thread, in no stream.
    warm: Mutex<Vec<u16>>,
    control: Mutex<Vec<Control>>,
    waker: Waker,
    /// Holders of [`MediaRelay::defer_wakes`]; while above zero, wakes wait for the last one.
    hold: AtomicUsize,
    /// A wake was asked for while held.
    wake_due: AtomicBool,
    stop: AtomicBool,
    bind_ip: IpAddr,
}

/// Guard of [`MediaRelay::defer_wakes`].
pub struct DeferredWake<'a> {
    relay: &'a MediaRelay,
}

impl Drop for DeferredWake<'_> {
    fn drop(&mut self) {
        let inner = &self.relay.inner;
        if inner.hold.fetch_sub(1, Ordering::SeqCst) == 1
            && inner.wake_due.swap(false, Ordering::SeqCst)
        {
            let _ = inner.waker.wake();
        }
    }
}

/// The running media relay of a program.
pub struct MediaRelay {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
    address: IpAddr,
    internal_address: Option<IpAddr>,
    demux: Vec<(u16, u16)>,
}

impl Drop for MediaRelay {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let _ = self.inner.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind_udp(ip: IpAddr, port: u16) -> std::io::Result<UdpSocket> {
    // Larger buffers absorb bursts while the thread is busy.
    crate::batch_io::bind_udp(
        SocketAddr::new(ip, port),
        SOCKET_BUFFER,
        Some(SOCKET_BUFFER),
    )
}

impl MediaRelay {
    /// Binds the demultiplexing ports of `plan` (exp-e) on `bind_ip` and starts the thread.
    /// Idle streams are reported on `idle` as (stream, tag).
    pub fn start(
        plan: &MediaPlan,
        bind_ip: IpAddr,
        shared: Arc<Shared>,
        idle: tokio::sync::mpsc::UnboundedSender<(StreamId, u64)>,
    ) -> anyhow::Result<MediaRelay> {
        // Media must leave from the address the SDP names, or the far end's latching (and a
        // firewall's conntrack) sees another source. With a wildcard listen address, bind to
        // the media address when it is one of ours (on a host with several interfaces the
        // kernel would otherwise pick the source by route); a NAT address is not ours, and
        // then the wildcard stays.
        let bind_ip = if bind_ip.is_unspecified()
            && UdpSocket::bind(SocketAddr::new(plan.address, 0)).is_ok()
        {
            plan.address
        } else {
            bind_ip
        };
        // Traversal clients reach the demultiplexing ports, and only them, on the internal
        // address of a two-interface exp-e; the per-stream pairs face the outside.
        let demux_ip = plan.internal_address.unwrap_or(bind_ip);
        let mut demux_sockets = Vec::new();
        for (rtp, rtcp) in &plan.demux {
            for p in [*rtp, *rtcp] {
                let s = bind_udp(demux_ip, p).with_context(|| {
                    format!("media demultiplexing port {demux_ip}:{p} (media.demux_rtp_port / media.port_range_start)")
                })?;
                demux_sockets.push((p, s));
            }
        }
        let reserved: Vec<u16> = plan.demux.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let relay = Relay::new(
            RelayConfig {
                idle_timeout: plan.idle_timeout,
                keepalive_interval: plan.keepalive_interval,
                relatch_after: plan.relatch_after,
            },
            &plan.demux,
            u64::from_le_bytes(crate::seed()[..8].try_into().unwrap_or([7; 8])),
        );
        let poll = Poll::new().context("media poll")?;
        let waker = Waker::new(poll.registry(), WAKER).context("media waker")?;
        let inner = Arc::new(Inner {
            relay: Mutex::new(relay),
            pool: Mutex::new(PortPool::new(plan.range.0, plan.range.1, &reserved)),
            warm: Mutex::new(Vec::new()),
            control: Mutex::new(vec![Control::Add(demux_sockets)]),
            waker,
            hold: AtomicUsize::new(0),
            wake_due: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            bind_ip,
        });
        let thread_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name("exp-media".into())
            .spawn(move || run(thread_inner, poll, shared, idle))
            .context("media thread")?;
        Ok(MediaRelay {
            inner,
            thread: Some(thread),
            address: plan.address,
            internal_address: plan.internal_address,
            demux: plan.demux.clone(),
        })
    }

    /// Stops the thread, which closes every media socket. Streams stop being relayed.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let _ = self.inner.waker.wake();
    }

    /// The address written into SDP for our media.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The address written into SDP for our media on a leg of `kind`: the internal address
    /// (two-interface exp-e) toward traversal clients, else [`Self::address`].
    pub fn address_for(&self, kind: exp_media::LegKind) -> IpAddr {
        match (kind, self.internal_address) {
            (exp_media::LegKind::Demux, Some(internal)) => internal,
            _ => self.address,
        }
    }

    /// The demultiplexing pairs (exp-e).
    pub fn demux(&self) -> &[(u16, u16)] {
        &self.demux
    }

    /// Takes a free RTP/RTCP pair, bound and receiving; its RTP port. A warm pair when there
    /// is one, else one bound now. Ports that cannot be bound (held by another program) are
    /// skipped.
    pub fn alloc_pair(&self) -> anyhow::Result<u16> {
        let (warm, left) = {
            let mut w = lock(&self.inner.warm);
            (w.pop(), w.len())
        };
        if left < WARM_PAIRS / 2 {
            // Refill on the thread's next turn.
            self.wake();
        }
        if let Some(p) = warm {
            return Ok(p);
        }
        let (port, a, b) = self.inner.bind_pair()?;
        self.control(Control::Add(vec![(port, a), (port + 1, b)]), true);
        Ok(port)
    }

    /// Closes a pair's sockets and returns it to the pool. The relay already ignores the
    /// ports; the thread closes the sockets on its next turn (within half a second), without
    /// being woken for it.
    pub fn free_pair(&self, port: u16) {
        self.control(Control::Remove(vec![port, port.wrapping_add(1)]), false);
        self.lock_pool().release(port);
    }

    fn control(&self, c: Control, wake: bool) {
        if let Ok(mut q) = self.inner.control.lock() {
            q.push(c);
        }
        if wake {
            self.wake();
        }
    }

    /// Wakes the thread, or notes that it is to be woken when wakes are deferred.
    fn wake(&self) {
        if self.inner.hold.load(Ordering::SeqCst) > 0 {
            self.inner.wake_due.store(true, Ordering::SeqCst);
        } else {
            let _ = self.inner.waker.wake();
        }
    }

    /// Defers waking the thread until the guard is dropped. The call task holds it while it
    /// handles messages and sends what they produce: the thread's work for a new stream (its
    /// first keep-alives, refilling warm pairs) then starts after the forwarded INVITE is on
    /// its way, instead of competing with it for the CPU.
    pub fn defer_wakes(&self) -> DeferredWake<'_> {
        self.inner.hold.fetch_add(1, Ordering::SeqCst);
        DeferredWake { relay: self }
    }

    /// Works on the relay; wakes the thread afterwards if keep-alives were queued.
    pub fn with_relay<R>(&self, f: impl FnOnce(&mut Relay) -> R) -> R {
        let (r, wake) = {
            let mut relay = lock(&self.inner.relay);
            let r = f(&mut relay);
            (r, relay.has_transmits())
        };
        if wake {
            self.wake();
        }
        r
    }

    /// Relay counters.
    pub fn counters(&self) -> Counters {
        *lock(&self.inner.relay).counters()
    }

    /// (free, total) port pairs; warm pairs count as free.
    pub fn pool(&self) -> (usize, usize) {
        let warm = lock(&self.inner.warm).len();
        let p = self.lock_pool();
        (p.free() + warm, p.total())
    }

    fn lock_pool(&self) -> MutexGuard<'_, PortPool> {
        lock(&self.inner.pool)
    }
}

impl Inner {
    /// Takes a pair from the pool and binds both sockets.
    fn bind_pair(&self) -> anyhow::Result<(u16, UdpSocket, UdpSocket)> {
        for _ in 0..64 {
            let port = lock(&self.pool)
                .allocate()
                .context("the media port range is exhausted")?;
            match (
                bind_udp(self.bind_ip, port),
                bind_udp(self.bind_ip, port.wrapping_add(1)),
            ) {
                (Ok(a), Ok(b)) => return Ok((port, a, b)),
                (a, b) => {
                    debug!(
                        port,
                        rtp = a.is_ok(),
                        rtcp = b.is_ok(),
                        "media port pair busy, skipped"
                    );
                    lock(&self.pool).release(port);
                }
            }
        }
        anyhow::bail!("no bindable media port pair found")
    }
}

/// Locks, recovering from a poisoned mutex (a panicked holder leaves consistent-enough state
/// for counters and port bookkeeping; stopping media for every call would be worse).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Pending {
    from_port: u16,
    index: usize,
    to: SocketAddr,
    strip: usize,
    prefix: Option<u32>,
}

fn run(
    inner: Arc<Inner>,
    mut poll: Poll,
    shared: Arc<Shared>,
    idle: tokio::sync::mpsc::UnboundedSender<(StreamId, u64)>,
) {
    let mut sockets: HashMap<u16, mio::net::UdpSocket> = HashMap::new();
    let mut events = Events::with_capacity(256);
    let mut ready: Vec<u16> = Vec::new();
    let mut batch = RecvBatch::default();
    let mut pending: Vec<Pending> = Vec::with_capacity(crate::batch_io::BATCH);
    let mut published = Counters::default();
    let mut uring = UringSender::new();
    if uring.is_none() {
        debug!("io_uring unavailable: media sends batch per socket only");
    }
    let mut last_publish = Instant::now();
    loop {
        let timeout = if ready.is_empty() {
            let next = lock(&inner.relay).poll_timeout();
            let cap = Duration::from_millis(500);
            Some(next.map_or(cap, |t| {
                t.saturating_duration_since(Instant::now()).min(cap)
            }))
        } else {
            Some(Duration::ZERO)
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                warn!(error = %e, "media poll failed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        for ev in events.iter() {
            if ev.token() == WAKER {
                continue;
            }
            let port = ev.token().0 as u16;
            if !ready.contains(&port) {
                ready.push(port);
            }
        }
        // Sockets to add or remove (the waker fired, or it raced with other events).
        apply_controls(&inner, &poll, &mut sockets, &mut ready);
        // Read what is ready, a bounded number of batches per socket per turn.
        let mut again = Vec::new();
        for port in std::mem::take(&mut ready) {
            let Some(sock) = sockets.get(&port) else {
                continue;
            };
            let fd = sock.as_raw_fd();
            let mut drained = false;
            for _ in 0..BATCHES_PER_TURN {
                let n = match batch.recv(fd) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        drained = true;
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // ICMP errors surface here (e.g. port unreachable); the socket stays.
                        debug!(port, error = %e, "media receive error");
                        continue;
                    }
                };
                let now = Instant::now();
                pending.clear();
                {
                    let mut relay = lock(&inner.relay);
                    for i in 0..n {
                        let Some((from, data)) = batch.get(i) else {
                            continue;
                        };
                        let action = if batch.truncated(i) {
                            // Longer than any buffer: certainly oversize.
                            relay.handle_datagram(now, port, from, &[0u8; crate::batch_io::BUF])
                        } else {
                            relay.handle_datagram(now, port, from, data)
                        };
                        if let Action::Forward {
                            from_port,
                            to,
                            strip,
                            prefix,
                        } = action
                        {
                            pending.push(Pending {
                                from_port,
                                index: i,
                                to,
                                strip,
                                prefix,
                            });
                        }
                    }
                }
                flush(&sockets, &batch, &mut pending, &mut uring);
                if n < crate::batch_io::BATCH {
                    drained = true;
                    break;
                }
            }
            if !drained {
                again.push(port);
            }
        }
        ready = again;
        // Keep warm pairs ready, a few per turn so relaying is not held up.
        for _ in 0..4 {
            if lock(&inner.warm).len() >= WARM_PAIRS {
                break;
            }
            let Ok((port, a, b)) = inner.bind_pair() else {
                break;
            };
            let rtp_ok = register(&poll, &mut sockets, port, a);
            let rtcp_ok = register(&poll, &mut sockets, port + 1, b);
            if rtp_ok && rtcp_ok {
                lock(&inner.warm).push(port);
            } else {
                sockets.remove(&port);
                sockets.remove(&(port + 1));
                lock(&inner.pool).release(port);
                break;
            }
        }
        // Timers, keep-alives, idle streams.
        let now = Instant::now();
        let (transmits, idle_events) = {
            let mut relay = lock(&inner.relay);
            relay.handle_timeout(now);
            let t: Vec<_> = std::iter::from_fn(|| relay.poll_transmit()).collect();
            let e: Vec<_> = std::iter::from_fn(|| relay.poll_event()).collect();
            (t, e)
        };
        // A stream's keep-alives can be queued just after its sockets were handed over:
        // register them first.
        if !transmits.is_empty() {
            apply_controls(&inner, &poll, &mut sockets, &mut ready);
        }
        for t in transmits {
            if let Some(s) = sockets.get(&t.from_port) {
                let _ = s.send_to(&t.payload, t.to);
            }
        }
        for Event::Idle { stream, tag } in idle_events {
            let _ = idle.send((stream, tag));
        }
        if now.duration_since(last_publish) >= Duration::from_millis(250) {
            last_publish = now;
            let c = *lock(&inner.relay).counters();
            publish(&shared, &published, &c, &inner);
            published = c;
        }
    }
}

/// Registers a socket with the poll (token = its port) and keeps it; false (logged) when the
/// poll refuses it.
fn register(
    poll: &Poll,
    sockets: &mut HashMap<u16, mio::net::UdpSocket>,
    port: u16,
    s: UdpSocket,
) -> bool {
    let mut s = mio::net::UdpSocket::from_std(s);
    match poll
        .registry()
        .register(&mut s, Token(usize::from(port)), Interest::READABLE)
    {
        Ok(()) => {
            sockets.insert(port, s);
            true
        }
        Err(e) => {
            warn!(port, error = %e, "media socket not registered");
            false
        }
    }
}

/// Registers the sockets the call task handed over and closes the ones it gave back.
fn apply_controls(
    inner: &Inner,
    poll: &Poll,
    sockets: &mut HashMap<u16, mio::net::UdpSocket>,
    ready: &mut Vec<u16>,
) {
    let controls = std::mem::take(&mut *lock(&inner.control));
    for c in controls {
        match c {
            Control::Add(list) => {
                for (port, s) in list {
                    let mut s = mio::net::UdpSocket::from_std(s);
                    match poll.registry().register(
                        &mut s,
                        Token(usize::from(port)),
                        Interest::READABLE,
                    ) {
                        Ok(()) => {
                            sockets.insert(port, s);
                            // Data may have arrived before registration.
                            if !ready.contains(&port) {
                                ready.push(port);
                            }
                        }
                        Err(e) => warn!(port, error = %e, "media socket not registered"),
                    }
                }
            }
            Control::Remove(ports) => {
                for p in ports {
                    if let Some(mut s) = sockets.remove(&p) {
                        let _ = poll.registry().deregister(&mut s);
                    }
                    ready.retain(|r| *r != p);
                }
            }
        }
    }
}

/// Sends the forwarded datagrams of one received batch: through io_uring in one system call
/// where available, else grouped by the socket they leave from, one `sendmmsg` per socket.
fn flush(
    sockets: &HashMap<u16, mio::net::UdpSocket>,
    batch: &RecvBatch,
    pending: &mut [Pending],
    uring: &mut Option<UringSender>,
) {
    if let Some(u) = uring.as_mut().filter(|u| u.usable()) {
        let items: Vec<(std::os::fd::RawFd, Outgoing<'_>)> = pending
            .iter()
            .filter_map(|p| {
                let fd = sockets.get(&p.from_port)?.as_raw_fd();
                let (_, data) = batch.get(p.index)?;
                Some((
                    fd,
                    Outgoing {
                        to: p.to,
                        prefix: p.prefix.map(u32::to_be_bytes),
                        data: data.get(p.strip..)?,
                    },
                ))
            })
            .collect();
        u.send(&items);
        if u.usable() {
            return;
        }
        warn!("io_uring failed: media sends fall back to sendmmsg");
        *uring = None;
        return;
    }
    pending.sort_by_key(|p| p.from_port);
    let mut start = 0;
    while start < pending.len() {
        let port = pending[start].from_port;
        let end = pending[start..]
            .iter()
            .position(|p| p.from_port != port)
            .map_or(pending.len(), |k| start + k);
        if let Some(sock) = sockets.get(&port) {
            let items: Vec<Outgoing<'_>> = pending[start..end]
                .iter()
                .filter_map(|p| {
                    let (_, data) = batch.get(p.index)?;
                    Some(Outgoing {
                        to: p.to,
                        prefix: p.prefix.map(u32::to_be_bytes),
                        data: data.get(p.strip..)?,
                    })
                })
                .collect();
            send_batch(sock.as_raw_fd(), &items);
        }
        start = end;
    }
}

fn publish(shared: &Shared, before: &Counters, now: &Counters, inner: &Inner) {
    let m = &shared.metrics;
    let d = |a: u64, b: u64| a.saturating_sub(b);
    m.media_relayed_packets
        .inc_by(d(now.relayed_packets, before.relayed_packets));
    m.media_relayed_bytes
        .inc_by(d(now.relayed_bytes, before.relayed_bytes));
    for (reason, a, b) in [
        ("oversize", now.dropped_oversize, before.dropped_oversize),
        ("malformed", now.dropped_malformed, before.dropped_malformed),
        (
            "unknown-port",
            now.dropped_unknown_port,
            before.dropped_unknown_port,
        ),
        (
            "unknown-mux",
            now.dropped_unknown_mux,
            before.dropped_unknown_mux,
        ),
        (
            "foreign-source",
            now.dropped_foreign_source,
            before.dropped_foreign_source,
        ),
        (
            "no-destination",
            now.dropped_no_destination,
            before.dropped_no_destination,
        ),
    ] {
        m.media_dropped
            .get_or_create(&crate::status::ReasonLabel {
                reason: reason.to_string(),
            })
            .inc_by(d(a, b));
    }
    m.media_keepalives_received
        .inc_by(d(now.keepalives_rx, before.keepalives_rx));
    m.media_keepalives_sent
        .inc_by(d(now.keepalives_tx, before.keepalives_tx));
    m.media_idle_streams
        .inc_by(d(now.idle_streams, before.idle_streams));
    m.media_relatched.inc_by(d(now.relatched, before.relatched));
    m.media_streams
        .set(now.streams_created.saturating_sub(now.streams_removed) as i64);
    let warm = lock(&inner.warm).len();
    m.media_port_pairs_free
        .set((lock(&inner.pool).free() + warm) as i64);
}
