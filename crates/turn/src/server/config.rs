//! The TURN server's settings as one plain struct with the product's defaults (SPEC "TURN
//! server": realm, relay range 24000–29999, capacity 1800, alternate servers). No file format
//! here: the runtime reads its configuration and fills this in, and can hand a new one to
//! [`crate::server::Server::set_config`] while allocations live on.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use thiserror::Error;

use super::cidr::Cidr;

/// An address relays are allocated on: the address the socket binds and the address told to
/// clients in XOR-RELAYED-ADDRESS (different behind a static NAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayAddr {
    /// Address the relay sockets bind.
    pub bind: IpAddr,
    /// Address clients and peers see (RFC 8656 §7.2: the relayed transport address).
    pub public: IpAddr,
}

impl RelayAddr {
    /// Bind and advertise the same address.
    pub fn new(ip: IpAddr) -> RelayAddr {
        RelayAddr {
            bind: ip,
            public: ip,
        }
    }

    /// Bind `bind`, advertise `public` (static NAT).
    pub fn behind_nat(bind: IpAddr, public: IpAddr) -> RelayAddr {
        RelayAddr { bind, public }
    }
}

/// Settings of the TURN server core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// REALM of the long-term credentials (RFC 8489 §9.2). Default "exp".
    pub realm: String,
    /// SOFTWARE put in responses (RFC 8489 §14.14); `None` for none.
    pub software: Option<String>,
    /// How long a NONCE stays valid before 438 Stale Nonce (RFC 8489 §9.2). Default 600 s.
    pub nonce_lifetime: Duration,
    /// Allocation lifetime when the client asks for less or nothing (RFC 8656 §7.2: 600 s).
    pub default_lifetime: Duration,
    /// Longest allocation lifetime granted (RFC 8656 §7.2: 3600 s recommended).
    pub max_lifetime: Duration,
    /// Permission lifetime (RFC 8656 §9: 300 s).
    pub permission_lifetime: Duration,
    /// Channel binding lifetime (RFC 8656 §12: 600 s).
    pub channel_lifetime: Duration,
    /// After a channel binding expires, neither its number nor its peer may be bound
    /// elsewhere for this long (RFC 8656 §12: 5 minutes). Zero disables the cool-down.
    pub channel_cooldown: Duration,
    /// Most allocations at once (SPEC: 1800; large systems 6000).
    pub capacity: usize,
    /// Most allocations per username; 0 = unlimited. Over quota: 486 (RFC 8656 §7.2).
    pub user_quota: usize,
    /// Answer Binding requests without credentials (SPEC: refused by default).
    pub allow_unauthenticated_binding: bool,
    /// Servers to redirect to with 300 Try Alternate when full (RFC 8489 §10), in turn.
    /// Empty: 486 Allocation Quota Reached.
    pub alternate_servers: Vec<SocketAddr>,
    /// Shared secret of time-limited ("REST API") credentials: username
    /// "expiry_unix_secs[:user]", password base64(HMAC-SHA1(secret, username)). While set,
    /// every username made of digits, or of digits and ':' then anything, is checked this way
    /// (and refused once expired, even for an existing allocation); others go to the
    /// credential source.
    pub rest_secret: Option<String>,
    /// Offer SHA-256 in PASSWORD-ALGORITHMS (RFC 8489 §9.2.1) ahead of MD5. Off by default
    /// because stored credentials are often MD5 digests only (SIP HA1).
    pub offer_sha256: bool,
    /// Peers refused (403) unless also in `allowed_peers`.
    pub denied_peers: Vec<Cidr>,
    /// Peers allowed even if denied or built-in refused (allow wins).
    pub allowed_peers: Vec<Cidr>,
    /// The server's own addresses, refused as peers unless allowed (relay addresses are
    /// refused too, without being listed).
    pub own_addresses: Vec<IpAddr>,
    /// IPv4 relay address, `None` if IPv4 relays are not offered (then 440, RFC 6156).
    pub relay_ipv4: Option<RelayAddr>,
    /// IPv6 relay address, `None` if IPv6 relays are not offered (then 440, RFC 6156 §4.2).
    pub relay_ipv6: Option<RelayAddr>,
    /// Lowest relay port (SPEC: 24000).
    pub relay_port_min: u16,
    /// Highest relay port (SPEC: 29999).
    pub relay_port_max: u16,
    /// How many ports to try when the runtime fails to bind one.
    pub bind_attempts: u32,
    /// Most permissions per allocation; beyond, 508 Insufficient Capacity.
    pub max_permissions: usize,
    /// Most channel bindings per allocation; beyond, 508 Insufficient Capacity.
    pub max_channels: usize,
    /// How long a port reserved by EVEN-PORT with the R bit is kept (RFC 8656 §7.2: 30 s).
    pub reservation_lifetime: Duration,
    /// Failed authentications from one IP tolerated within `auth_failure_window`.
    pub auth_failure_limit: u32,
    /// Window of the failure count.
    pub auth_failure_window: Duration,
    /// How long requests from an IP over the limit are dropped.
    pub auth_block_time: Duration,
    /// Most source IPs tracked by the failure counter (oldest forgotten first).
    pub auth_failure_table: usize,
    /// Most requests waiting for delegated credentials (oldest dropped first).
    pub pending_limit: usize,
    /// How long a request waits for a delegated credential before it is dropped.
    pub credential_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            realm: "exp".to_string(),
            software: Some(concat!("exp-e ", env!("CARGO_PKG_VERSION")).to_string()),
            nonce_lifetime: Duration::from_secs(600),
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
            channel_cooldown: Duration::from_secs(300),
            capacity: 1800,
            user_quota: 0,
            allow_unauthenticated_binding: false,
            alternate_servers: Vec::new(),
            rest_secret: None,
            offer_sha256: false,
            denied_peers: Vec::new(),
            allowed_peers: Vec::new(),
            own_addresses: Vec::new(),
            relay_ipv4: None,
            relay_ipv6: None,
            relay_port_min: 24000,
            relay_port_max: 29999,
            bind_attempts: 8,
            max_permissions: 128,
            max_channels: 128,
            reservation_lifetime: Duration::from_secs(30),
            auth_failure_limit: 20,
            auth_failure_window: Duration::from_secs(10),
            auth_block_time: Duration::from_secs(10),
            auth_failure_table: 4096,
            pending_limit: 256,
            credential_timeout: Duration::from_secs(10),
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// Empty realm.
    #[error("the TURN realm is empty")]
    EmptyRealm,
    /// Port range upside down or including port 0.
    #[error("relay port range {min}-{max} is empty or includes 0")]
    PortRange {
        /// Lowest port.
        min: u16,
        /// Highest port.
        max: u16,
    },
    /// A relay address of the wrong family in `relay_ipv4` / `relay_ipv6`, or unspecified.
    #[error("relay address {0} is unspecified or of the wrong family")]
    RelayAddress(IpAddr),
    /// Lifetimes inconsistent (default above maximum, or a zero lifetime).
    #[error("allocation, permission and channel lifetimes must be non-zero and default <= max")]
    Lifetimes,
}

impl ServerConfig {
    /// Checks settings that would make the server useless; the server runs with any value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.realm.is_empty() {
            return Err(ConfigError::EmptyRealm);
        }
        if self.relay_port_min == 0 || self.relay_port_min > self.relay_port_max {
            return Err(ConfigError::PortRange {
                min: self.relay_port_min,
                max: self.relay_port_max,
            });
        }
        if let Some(r) = self.relay_ipv4 {
            if !r.bind.is_ipv4() || !r.public.is_ipv4() || r.public.is_unspecified() {
                return Err(ConfigError::RelayAddress(r.public));
            }
        }
        if let Some(r) = self.relay_ipv6 {
            if !r.bind.is_ipv6() || !r.public.is_ipv6() || r.public.is_unspecified() {
                return Err(ConfigError::RelayAddress(r.public));
            }
        }
        let zero = Duration::ZERO;
        if self.default_lifetime == zero
            || self.default_lifetime > self.max_lifetime
            || self.permission_lifetime == zero
            || self.channel_lifetime == zero
        {
            return Err(ConfigError::Lifetimes);
        }
        Ok(())
    }

    /// Relay address of the family of `ipv6`.
    pub(crate) fn relay_for(&self, ipv6: bool) -> Option<RelayAddr> {
        if ipv6 {
            self.relay_ipv6
        } else {
            self.relay_ipv4
        }
    }
}
