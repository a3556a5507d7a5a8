//! What the operator sees of the TURN server (SPEC "TURN server", Status: active clients and
//! relays, and per relay its permissions, channel bindings and counters). Plain values copied
//! out of the core on demand; the counters themselves are cheap additions on the relay paths.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::io::{ClientKey, DropReason, RelayId};

/// Packets and bytes relayed, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Packets from the client relayed to peers.
    pub packets_to_peer: u64,
    /// Payload bytes from the client relayed to peers.
    pub bytes_to_peer: u64,
    /// Packets from peers relayed to the client.
    pub packets_to_client: u64,
    /// Payload bytes from peers relayed to the client.
    pub bytes_to_client: u64,
}

impl Traffic {
    #[inline]
    pub(crate) fn count_to_peer(&mut self, bytes: usize) {
        self.packets_to_peer += 1;
        self.bytes_to_peer += bytes as u64;
    }

    #[inline]
    pub(crate) fn count_to_client(&mut self, bytes: usize) {
        self.packets_to_client += 1;
        self.bytes_to_client += bytes as u64;
    }
}

/// Server-wide counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Allocations created.
    pub allocations_total: u64,
    /// Allocations refused for capacity or quota (300 or 486).
    pub allocations_refused: u64,
    /// Requests that failed authentication (unknown user, wrong key, expired credential).
    pub auth_failures: u64,
    /// Requests dropped because their source was rate limited.
    pub rate_limited: u64,
    /// 438 Stale Nonce responses.
    pub stale_nonces: u64,
    /// Peers refused by the peer policy (403).
    pub peer_refused: u64,
    /// Packets dropped, by [`DropReason::index`].
    pub dropped: [u64; DropReason::ALL.len()],
    /// Relayed traffic of all allocations, ended ones included.
    pub traffic: Traffic,
}

impl Counters {
    /// Packets dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(reason.index()).copied().unwrap_or(0)
    }
}

/// A snapshot of the server's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Allocations in place (relays).
    pub active_allocations: usize,
    /// Distinct client IP addresses with an allocation.
    pub distinct_clients: usize,
    /// Configured capacity.
    pub capacity: usize,
    /// Ports held by EVEN-PORT reservations.
    pub reservations: usize,
    /// Relay ports in use (allocations and reservations).
    pub ports_in_use: usize,
    /// Requests waiting for delegated credentials.
    pub pending_requests: usize,
    /// Source IPs currently tracked by the authentication-failure limiter.
    pub tracked_sources: usize,
    /// Counters since start.
    pub counters: Counters,
}

/// A permission of an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionInfo {
    /// Peer IP (RFC 8656 §9: permissions are per IP address).
    pub peer: IpAddr,
    /// Time until it expires.
    pub time_left: Duration,
}

/// A channel binding of an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Channel number.
    pub number: u16,
    /// Peer transport address.
    pub peer: SocketAddr,
    /// Time until it expires.
    pub time_left: Duration,
}

/// One allocation, for the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationInfo {
    /// Client 5-tuple.
    pub client: ClientKey,
    /// Relay socket.
    pub relay: RelayId,
    /// Relayed transport address as told to the client.
    pub relayed: SocketAddr,
    /// Username.
    pub username: String,
    /// Time until it expires unless refreshed.
    pub time_left: Duration,
    /// Permissions in force.
    pub permissions: Vec<PermissionInfo>,
    /// Channel bindings in force.
    pub channels: Vec<ChannelInfo>,
    /// Traffic relayed.
    pub traffic: Traffic,
}
