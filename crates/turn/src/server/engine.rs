//! The server's state and the entry points the runtime drives: construction, configuration,
//! the output queues (transmits, events, the next deadline), timers, client disconnects and the
//! status snapshot. The packet paths live in `relay` (hot) and `dispatch` (requests); this file
//! holds what they share.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ring::hmac;

use crate::attribute::Attribute;
use crate::message::{Class, Message};

use super::config::ServerConfig;
use super::credentials::CredentialSource;
use super::hashing::FastState;
use super::io::{ClientKey, DeleteReason, DropReason, Event, RelayBinder, Transmit};
use super::nonce::Nonces;
use super::pending::Pending;
use super::policy::PeerPolicy;
use super::ports::PortPool;
use super::rate_limit::{AuthLimiter, Limits};
use super::respond::{self, Auth};
use super::rng::Rng;
use super::secret;
use super::stats::{AllocationInfo, Counters, Stats};
use super::table::Table;
use super::timers::{TimerTarget, Timers};

/// A port held by EVEN-PORT with the R bit until an Allocate claims it with its
/// RESERVATION-TOKEN (RFC 8656 §7.2).
pub(crate) struct Reservation {
    pub(crate) bind: IpAddr,
    pub(crate) public: IpAddr,
    pub(crate) port: u16,
    pub(crate) expires: Instant,
}

/// Maps the caller's `Instant`s to the seconds nonces carry and to Unix time (for
/// time-limited credentials), from one reading of both clocks given by the runtime.
struct Clock {
    epoch: Instant,
    unix_at_epoch: u64,
}

impl Clock {
    fn secs(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs()
    }

    fn unix(&self, now: Instant) -> u64 {
        self.unix_at_epoch.saturating_add(self.secs(now))
    }
}

/// The sans-IO TURN server (RFC 8656) with its STUN (RFC 8489) request handling.
///
/// The runtime feeds it client packets ([`Server::client_packet`]), peer datagrams
/// ([`Server::peer_packet`]), timeouts and closed connections, and drains
/// [`Server::poll_transmit`] and [`Server::poll_event`] afterwards.
pub struct Server<C> {
    pub(super) config: ServerConfig,
    pub(super) policy: PeerPolicy,
    pub(super) credentials: C,
    pub(super) nonces: Nonces,
    clock: Clock,
    pub(super) hasher: FastState,
    pub(super) table: Table,
    pub(super) pools: HashMap<IpAddr, PortPool>,
    pub(super) reservations: HashMap<u64, Reservation>,
    pub(super) token_key: hmac::Key,
    pub(super) token_counter: u64,
    pub(super) timers: Timers,
    pub(super) limiter: AuthLimiter,
    pub(super) pending: Pending,
    pub(super) rng: Rng,
    pub(super) alternate_cursor: usize,
    transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<Event>,
    pub(super) counters: Counters,
}

impl<C: CredentialSource> Server<C> {
    /// A server with `config`, keys from `credentials`, and `secret` (random, per server: it
    /// keys the nonces; see [`crate::server::random_secret`]). `now` and `unix_time` (seconds
    /// since 1970) are one reading of both clocks, for time-limited credentials.
    pub fn new(
        config: ServerConfig,
        credentials: C,
        secret: [u8; 32],
        now: Instant,
        unix_time: u64,
    ) -> Server<C> {
        let hasher = FastState::new(secret::derive_u64(&secret, b"hash"));
        Server {
            policy: PeerPolicy::new(&config),
            config,
            credentials,
            nonces: Nonces::new(&secret),
            clock: Clock {
                epoch: now,
                unix_at_epoch: unix_time,
            },
            hasher,
            table: Table::new(hasher),
            pools: HashMap::new(),
            reservations: HashMap::new(),
            token_key: hmac::Key::new(hmac::HMAC_SHA256, &secret::derive(&secret, b"token")),
            token_counter: 0,
            timers: Timers::default(),
            limiter: AuthLimiter::default(),
            pending: Pending::default(),
            rng: Rng::new(secret::derive_u64(&secret, b"rng")),
            alternate_cursor: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Applies new settings. Existing allocations stay, with their relay ports, lifetimes,
    /// permissions and channels; the new limits and policies apply to requests from now on.
    pub fn set_config(&mut self, config: ServerConfig) {
        self.policy = PeerPolicy::new(&config);
        self.config = config;
    }

    /// Re-reads the wall clock (for time-limited credentials), e.g. after an NTP step.
    pub fn set_unix_time(&mut self, now: Instant, unix_time: u64) {
        let since = now.saturating_duration_since(self.clock.epoch).as_secs();
        self.clock.unix_at_epoch = unix_time.saturating_sub(since);
    }

    /// The credential source.
    pub fn credentials(&self) -> &C {
        &self.credentials
    }

    /// The credential source, to change users.
    pub fn credentials_mut(&mut self) -> &mut C {
        &mut self.credentials
    }

    /// The next STUN message to send to a client.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Server::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.timers.next(), self.pending.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expires allocations (RFC 8656 §6), permissions (§9), channel bindings (§12),
    /// reservations (§7.2) and requests waiting too long for a credential.
    pub fn handle_timeout(&mut self, now: Instant, relays: &mut dyn RelayBinder) {
        while let Some((at, target)) = self.timers.pop_due(now) {
            match target {
                TimerTarget::Allocation { slot, generation } => {
                    let Some(a) = self.table.get_current_mut(slot, generation) else {
                        continue;
                    };
                    if a.timer_at != Some(at) {
                        continue; // superseded by an earlier deadline
                    }
                    a.timer_at = None;
                    if a.expires <= now {
                        self.delete_allocation(slot, DeleteReason::Expired, relays);
                        continue;
                    }
                    a.sweep(now);
                    self.schedule(slot);
                }
                TimerTarget::Reservation(token) => {
                    if matches!(self.reservations.get(&token), Some(r) if r.expires <= now) {
                        if let Some(r) = self.reservations.remove(&token) {
                            if let Some(pool) = self.pools.get_mut(&r.bind) {
                                pool.release(r.port);
                            }
                        }
                    }
                }
            }
        }
        let expired = self.pending.expire(now);
        self.count_drop_n(DropReason::CredentialTimeout, expired);
    }

    /// A TCP or TLS client connection closed: its allocation goes with it (RFC 8656 §3.2:
    /// an allocation belongs to its 5-tuple, which a closed connection never uses again), and
    /// so do its waiting requests.
    pub fn client_closed(&mut self, client: &ClientKey, relays: &mut dyn RelayBinder) {
        if let Some(slot) = self.table.slot_of_client(client) {
            self.delete_allocation(slot, DeleteReason::ClientClosed, relays);
        }
        self.pending.remove_client(client);
    }

    /// A snapshot of the counters and gauges.
    pub fn stats(&self) -> Stats {
        let clients: HashSet<IpAddr> = self.table.iter().map(|a| a.client.remote.ip()).collect();
        Stats {
            active_allocations: self.table.len(),
            distinct_clients: clients.len(),
            capacity: self.config.capacity,
            reservations: self.reservations.len(),
            ports_in_use: self.pools.values().map(PortPool::in_use).sum(),
            pending_requests: self.pending.len(),
            tracked_sources: self.limiter.len(),
            counters: self.counters,
        }
    }

    /// Every allocation with its permissions, channels and counters, for the status page.
    pub fn allocations(&self, now: Instant) -> Vec<AllocationInfo> {
        self.table.iter().map(|a| self.info(a, now)).collect()
    }

    /// The allocation of one client.
    pub fn allocation(&self, client: &ClientKey, now: Instant) -> Option<AllocationInfo> {
        let slot = self.table.slot_of_client(client)?;
        self.table.get(slot).map(|a| self.info(a, now))
    }

    fn info(&self, a: &super::allocation::Allocation, now: Instant) -> AllocationInfo {
        AllocationInfo {
            client: a.client,
            relay: a.relay,
            relayed: a.relayed,
            username: a.username.to_string(),
            time_left: a.expires.saturating_duration_since(now),
            permissions: a.permission_info(now),
            channels: a.channel_info(now),
            traffic: a.traffic,
        }
    }

    /// Entries in the timer heap (for tests of the heap's growth).
    #[doc(hidden)]
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    // ---- shared by the request and relay paths ----

    pub(super) fn server_secs(&self, now: Instant) -> u64 {
        self.clock.secs(now)
    }

    pub(super) fn unix_time(&self, now: Instant) -> u64 {
        self.clock.unix(now)
    }

    pub(super) fn limits(&self) -> Limits {
        Limits {
            max_failures: self.config.auth_failure_limit,
            window: self.config.auth_failure_window,
            block: self.config.auth_block_time,
            table: self.config.auth_failure_table,
        }
    }

    #[inline]
    pub(super) fn count_drop(&mut self, reason: DropReason) {
        self.count_drop_n(reason, 1);
    }

    fn count_drop_n(&mut self, reason: DropReason, n: u64) {
        if let Some(c) = self.counters.dropped.get_mut(reason.index()) {
            *c += n;
        }
    }

    /// Queues a response to `req`.
    pub(super) fn respond(
        &mut self,
        client: &ClientKey,
        req: &Message,
        class: Class,
        attrs: &[Attribute],
        auth: Option<&Auth>,
    ) {
        if let Some(bytes) =
            respond::build(req, class, attrs, self.config.software.as_deref(), auth)
        {
            self.transmits.push_back(Transmit {
                client: *client,
                bytes,
            });
        }
    }

    /// Queues an error response with `code` and `extra` attributes.
    pub(super) fn respond_error(
        &mut self,
        client: &ClientKey,
        req: &Message,
        code: u16,
        extra: &[Attribute],
        auth: Option<&Auth>,
    ) {
        let mut attrs = Vec::with_capacity(extra.len() + 1);
        attrs.push(respond::error_code(code));
        attrs.extend_from_slice(extra);
        self.respond(client, req, Class::Error, &attrs, auth);
    }

    /// Queues raw bytes (a response built without a decoded request).
    pub(super) fn transmit(&mut self, client: &ClientKey, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            client: *client,
            bytes,
        });
    }

    /// Puts the allocation's earliest deadline in the heap if it is earlier than the one there.
    pub(super) fn schedule(&mut self, slot: u32) {
        let generation = self.table.generation(slot);
        let Some(a) = self.table.get_mut(slot) else {
            return;
        };
        let next = a.next_deadline();
        if a.timer_at.is_none_or(|t| next < t) {
            a.timer_at = Some(next);
            self.timers
                .push(next, TimerTarget::Allocation { slot, generation });
        }
    }

    /// Removes an allocation, frees its port, closes its relay socket and reports it.
    pub(super) fn delete_allocation(
        &mut self,
        slot: u32,
        reason: DeleteReason,
        relays: &mut dyn RelayBinder,
    ) {
        let Some(a) = self.table.remove(slot) else {
            return;
        };
        if let Some(pool) = self.pools.get_mut(&a.bind.ip()) {
            pool.release(a.bind.port());
        }
        relays.close(a.relay);
        self.events.push_back(Event::AllocationDeleted {
            client: a.client,
            relay: a.relay,
            reason,
        });
    }

    /// Lifetime granted for a requested one (RFC 8656 §7.2, §8.2): the request capped at the
    /// maximum if above the default, else the default.
    pub(super) fn granted_lifetime(&self, requested: Option<u32>) -> Duration {
        let default = self.config.default_lifetime;
        let max = self.config.max_lifetime.max(default);
        match requested {
            None => default,
            Some(s) => {
                let r = Duration::from_secs(u64::from(s)).min(max);
                r.max(default)
            }
        }
    }

    /// The next alternate server of the client's family, in turn (RFC 8489 §10).
    pub(super) fn next_alternate(&mut self, client: &ClientKey) -> Option<SocketAddr> {
        let v6 = client.local.is_ipv6();
        let same: Vec<SocketAddr> = self
            .config
            .alternate_servers
            .iter()
            .filter(|a| a.is_ipv6() == v6)
            .copied()
            .collect();
        if same.is_empty() {
            return None;
        }
        let pick = same.get(self.alternate_cursor % same.len()).copied();
        self.alternate_cursor = self.alternate_cursor.wrapping_add(1);
        pick
    }
}
