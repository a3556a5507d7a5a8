//! The `[turn]` section of exp-e's configuration and its validated form.
//!
//! exp-e's TURN server (SPEC "TURN server") takes requests on UDP/TCP 3478 (3478–3483 on a
//! large system, optionally TCP 443), relays on 24000–29999 of the external interface, and
//! authenticates with the long-term credentials of exp-e's credential database. Kept apart
//! from the zone configuration because it shares nothing with the zones but the credentials.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// TURN server settings (exp-e).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// Serve TURN at all.
    pub enabled: bool,
    /// UDP port for requests; 0 = none.
    pub udp_port: u16,
    /// TCP port for requests; 0 = none.
    pub tcp_port: u16,
    /// TLS port for requests (`turns:`), served when exp-e has a certificate (`[tls]`); 0 =
    /// none. TCP listeners also take TLS when a certificate is configured.
    pub tls_port: u16,
    /// Also take requests on TCP 443 (clients behind web-only firewalls; TLS or plain).
    pub tcp_443: bool,
    /// Large system: requests on 3478–3483 (six ports, UDP and TCP), capacity 6000.
    pub large: bool,
    /// Large system with port multiplexing: every request on the first port (3478) instead of
    /// six; capacity stays 6000.
    pub port_multiplexing: bool,
    /// Address relays are allocated on (the external interface); by default `media.address`.
    pub relay_address: Option<IpAddr>,
    /// First relay port.
    pub relay_port_range_start: u16,
    /// Last relay port.
    pub relay_port_range_end: u16,
    /// Most allocations at once; by default 1800 (large: 6000).
    pub capacity: Option<usize>,
    /// Most allocations one username may hold; 0 = no limit.
    pub user_quota: usize,
    /// Answer Binding requests without credentials (a plain STUN server).
    pub allow_unauthenticated_binding: bool,
    /// TURN servers to send clients to (300 Try Alternate) when full, as `ip:port`.
    pub alternate_servers: Vec<String>,
    /// Shared secret of time-limited REST-style credentials (`expiry:username`), if used.
    pub rest_secret: Option<Secret>,
    /// Peer networks relaying is refused to (CIDR), on top of the built-in refusals.
    pub denied_peers: Vec<String>,
    /// Peer networks relaying is allowed to even when built-in or denied_peers refuse them.
    pub allowed_peers: Vec<String>,
    /// Seconds a nonce stays valid.
    pub nonce_lifetime: f64,
    /// Longest allocation lifetime a client may ask for, in seconds.
    pub max_lifetime: f64,
    /// Server zone whose traversal client checks TURN users this system does not know
    /// (delegated credential checking); none by default.
    pub credential_zone: Option<String>,
    /// Seconds a delegated check's answer is reused.
    pub credential_cache: f64,
    /// Receive relayed datagrams through io_uring where the kernel offers it (Linux 6.1+),
    /// else by readiness polling; false keeps to readiness polling (for a security policy that
    /// forbids io_uring). Read when the TURN server starts.
    pub io_uring: bool,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            enabled: false,
            udp_port: 3478,
            tcp_port: 3478,
            tls_port: 5349,
            tcp_443: false,
            large: false,
            port_multiplexing: false,
            relay_address: None,
            relay_port_range_start: 24000,
            relay_port_range_end: 29999,
            capacity: None,
            user_quota: 0,
            allow_unauthenticated_binding: false,
            alternate_servers: Vec::new(),
            rest_secret: None,
            denied_peers: Vec::new(),
            allowed_peers: Vec::new(),
            nonce_lifetime: 600.0,
            max_lifetime: 3600.0,
            credential_zone: None,
            credential_cache: 60.0,
            io_uring: true,
        }
    }
}

/// Transport of a TURN listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnTransport {
    /// UDP.
    Udp,
    /// TCP (plain, or TLS when the first byte is a TLS handshake and a certificate is set).
    Tcp,
    /// TLS over TCP only.
    Tls,
}

/// The TURN server, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnPlan {
    /// Request listeners.
    pub listeners: Vec<(TurnTransport, SocketAddr)>,
    /// Address relays bind to and announce.
    pub relay_address: IpAddr,
    /// Inclusive relay port range.
    pub relay_ports: (u16, u16),
    /// Most allocations at once.
    pub capacity: usize,
    /// Most allocations per username (0 = no limit).
    pub user_quota: usize,
    /// Answer unauthenticated Binding.
    pub allow_unauthenticated_binding: bool,
    /// Receive through io_uring where available.
    pub io_uring: bool,
    /// Alternate servers for 300 Try Alternate.
    pub alternate_servers: Vec<SocketAddr>,
    /// REST-style shared secret.
    pub rest_secret: Option<String>,
    /// Refused peer networks (address, prefix length).
    pub denied_peers: Vec<(IpAddr, u8)>,
    /// Allowed peer networks (address, prefix length); allow wins.
    pub allowed_peers: Vec<(IpAddr, u8)>,
    /// This system's own addresses (relaying to them is refused).
    pub own_addresses: Vec<IpAddr>,
    /// Nonce validity.
    pub nonce_lifetime: Duration,
    /// Longest allocation lifetime.
    pub max_lifetime: Duration,
    /// Server zone asked about unknown users.
    pub credential_zone: Option<String>,
    /// How long a delegated answer is reused.
    pub credential_cache: Duration,
}

/// Parses `a.b.c.d/n` or `v6/n` (a bare address is a host route).
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match s.trim().split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = s.trim().parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

/// Problems found while resolving, as (key, message).
pub type TurnProblems = Vec<(String, String)>;

/// Validates `cfg` into a plan; `has_tls` says whether exp-e has a certificate,
/// `default_relay` is the media address, `own` this system's addresses.
pub fn resolve_turn(
    cfg: &TurnConfig,
    has_tls: bool,
    listen: IpAddr,
    default_relay: IpAddr,
    own: Vec<IpAddr>,
    seconds: &mut dyn FnMut(&str, f64) -> Duration,
) -> Result<Option<TurnPlan>, TurnProblems> {
    if !cfg.enabled {
        return Ok(None);
    }
    let mut problems: TurnProblems = Vec::new();
    let mut listeners = Vec::new();
    let ports: Vec<u16> = if cfg.large && cfg.port_multiplexing {
        vec![3478]
    } else if cfg.large {
        (0..6).map(|k| 3478 + k).collect()
    } else {
        Vec::new()
    };
    for (key, port, transport) in [
        ("turn.udp_port", cfg.udp_port, TurnTransport::Udp),
        ("turn.tcp_port", cfg.tcp_port, TurnTransport::Tcp),
    ] {
        let _ = key;
        if port == 0 {
            continue;
        }
        if ports.is_empty() {
            listeners.push((transport, SocketAddr::new(listen, port)));
        } else {
            for p in &ports {
                listeners.push((transport, SocketAddr::new(listen, *p)));
            }
        }
    }
    if cfg.tcp_443 {
        listeners.push((TurnTransport::Tcp, SocketAddr::new(listen, 443)));
    }
    if has_tls && cfg.tls_port != 0 {
        listeners.push((TurnTransport::Tls, SocketAddr::new(listen, cfg.tls_port)));
    }
    if listeners.is_empty() {
        problems.push((
            "turn.udp_port".into(),
            "TURN is enabled but listens on no port".into(),
        ));
    }
    let (start, end) = (cfg.relay_port_range_start, cfg.relay_port_range_end);
    if start == 0 || end < start {
        problems.push((
            "turn.relay_port_range_end".into(),
            format!("the relay range {start}–{end} is empty"),
        ));
    }
    let mut alternates = Vec::new();
    for (i, a) in cfg.alternate_servers.iter().enumerate() {
        match a.parse::<SocketAddr>() {
            Ok(a) => alternates.push(a),
            Err(_) => problems.push((
                format!("turn.alternate_servers[{i}]"),
                format!("`{a}` is not an ip:port"),
            )),
        }
    }
    let mut cidrs = |key: &str, list: &[String]| {
        let mut out = Vec::new();
        for (i, c) in list.iter().enumerate() {
            match parse_cidr(c) {
                Some(v) => out.push(v),
                None => problems.push((
                    format!("{key}[{i}]"),
                    format!("`{c}` is not an address or address/prefix"),
                )),
            }
        }
        out
    };
    let denied = cidrs("turn.denied_peers", &cfg.denied_peers);
    let allowed = cidrs("turn.allowed_peers", &cfg.allowed_peers);
    let relay_address = cfg.relay_address.unwrap_or(default_relay);
    if relay_address.is_unspecified() {
        problems.push((
            "turn.relay_address".into(),
            "relays need a concrete address (the external interface's)".into(),
        ));
    }
    let nonce_lifetime = seconds("turn.nonce_lifetime", cfg.nonce_lifetime);
    let max_lifetime = seconds("turn.max_lifetime", cfg.max_lifetime);
    let credential_cache = seconds("turn.credential_cache", cfg.credential_cache);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Some(TurnPlan {
        listeners,
        relay_address,
        relay_ports: (start, end),
        capacity: cfg.capacity.unwrap_or(if cfg.large { 6000 } else { 1800 }),
        user_quota: cfg.user_quota,
        allow_unauthenticated_binding: cfg.allow_unauthenticated_binding,
        io_uring: cfg.io_uring,
        alternate_servers: alternates,
        rest_secret: cfg.rest_secret.as_ref().map(|s| s.expose().to_string()),
        denied_peers: denied,
        allowed_peers: allowed,
        own_addresses: own,
        nonce_lifetime,
        max_lifetime,
        credential_zone: cfg.credential_zone.clone(),
        credential_cache,
    }))
}
