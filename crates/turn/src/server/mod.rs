//! The sans-IO TURN server core (RFC 8656, with RFC 8489 STUN, RFC 6156 IPv6 relays and the
//! RFC 5766 clients that are still about). It owns the allocations, the relay port pool, the
//! nonces and the peer policy; the runtime owns sockets and time, and drives the core with
//! packets, timeouts and closed connections (see [`Server`]). Nothing here does I/O, sleeps or
//! reads a clock: every function that needs the time is given an `Instant`.
//!
//! The two relay paths ([`Server::client_packet`] for ChannelData and Send indications,
//! [`Server::peer_packet`]) are hash lookups that neither allocate nor copy; requests go
//! through the codec of this crate and queue their responses ([`Server::poll_transmit`]).
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use exp_turn::server::*;
//!
//! struct Sockets(u32);
//! impl RelayBinder for Sockets {
//!     fn bind(&mut self, _addr: SocketAddr) -> Result<RelayId, BindError> {
//!         self.0 += 1; // a real runtime binds a UDP socket on exactly `_addr`
//!         Ok(RelayId(self.0))
//!     }
//!     fn close(&mut self, _relay: RelayId) {}
//! }
//!
//! let mut users = StaticCredentials::new("exp");
//! users.add_password("alice", "wonderland");
//! let config = ServerConfig {
//!     relay_ipv4: Some(RelayAddr::new("203.0.113.1".parse().unwrap())),
//!     ..ServerConfig::default()
//! };
//! let now = Instant::now();
//! let mut server = Server::new(config, users, random_secret().unwrap(), now, 1_700_000_000);
//! let mut sockets = Sockets(0);
//! let (remote, local) = ("198.51.100.7:40000".parse().unwrap(), "192.0.2.1:3478".parse().unwrap());
//! let client = ClientKey::udp(remote, local);
//! // A datagram from the client (ChannelData before any allocation) ...
//! match server.client_packet(now, &client, &[0x40, 0x00, 0x00, 0x01, 0xff], &mut sockets) {
//!     ClientVerdict::Relay { .. } => { /* send pkt[payload] from socket `relay` to `peer` */ }
//!     ClientVerdict::Replied | ClientVerdict::Queued => {}
//!     ClientVerdict::Dropped(reason) => assert_eq!(reason, DropReason::NoAllocation),
//! }
//! // ... then whatever the core has to say, and when to call it again.
//! while let Some(t) = server.poll_transmit() { /* send t.bytes to t.client */ }
//! while let Some(e) = server.poll_event() { /* log, count, answer NeedCredential */ }
//! if let Some(_at) = server.poll_timeout() { /* at `_at`: server.handle_timeout(_at, &mut sockets) */ }
//! ```

mod allocate;
mod allocation;
mod authenticate;
mod base64;
mod cidr;
mod config;
mod credentials;
mod dispatch;
mod engine;
mod hashing;
mod io;
mod nonce;
mod peers;
mod pending;
mod policy;
mod ports;
mod rate_limit;
mod relay;
mod respond;
mod rng;
mod secret;
mod stats;
mod table;
mod timers;

pub use cidr::{Cidr, CidrError};
pub use config::{ConfigError, RelayAddr, ServerConfig};
pub use credentials::{
    rest_password, CredentialSource, KeyLookup, LongTermKeys, StaticCredentials,
};
pub use engine::Server;
pub use io::{
    BindError, ClientKey, ClientVerdict, DeleteReason, DropReason, Event, PeerVerdict, RelayBinder,
    RelayId, Transmit, Transport,
};
pub use secret::random_secret;
pub use stats::{AllocationInfo, ChannelInfo, Counters, PermissionInfo, Stats, Traffic};
