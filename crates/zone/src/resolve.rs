//! From the operator's [`Config`] to the validated model the runtime runs on.
//!
//! Everything that can be wrong with a configuration is found here, all at once, each problem
//! naming its key: the runtime never has to second-guess a [`Resolved`] value. Server zone
//! ports that the operator left out are allocated here, as the product has always done: SIP
//! 7001, 7002, … and H.323 6001, 6002, …, skipping ports other zones already use.
//!
//! Configurations that would make a request loop are refused here too: a client zone whose
//! peer is this system's own server zone (a chain pointing back at itself), a routing rule
//! whose static target is this system's own SIP listener, and zone hop counts outside 1–70,
//! the bound that stops a request looping through a chain of systems.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{
    ClientTlsConfig, Config, CredentialConfig, ProbeConfig, Role, RouteProtocol, Secret,
    TargetTransport, Transport,
};
use crate::credentials::{is_valid_ha1, CredentialDb, HashAlgorithm, StoredCredential};
use crate::problem::{ConfigError, Problem};
use crate::routing::{Route, RouteTarget, Router};

/// First SIP port of automatically numbered server zones.
pub const FIRST_SIP_ZONE_PORT: u16 = 7001;
/// First H.323 port of automatically numbered server zones.
pub const FIRST_H323_ZONE_PORT: u16 = 6001;
/// Most peer addresses a client zone may list.
pub const MAX_PEERS: usize = 6;
/// Largest zone hop count: SIP's initial Max-Forwards (RFC 3261 §8.1.1.6). A larger one would
/// never limit anything.
pub const MAX_HOP_COUNT: u8 = 70;
/// Port of a routing rule's static target when the rule gives none.
const DEFAULT_TARGET_PORT: u16 = 5060;
/// Port of an H.323 routing target given without one (H.225.0 call signalling).
const DEFAULT_H323_TARGET_PORT: u16 = 1720;

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Which program this is for.
    pub role: Role,
    /// System name (the program name when none was configured).
    pub system_name: String,
    /// Digest realm.
    pub realm: String,
    /// Admin API listen address; `None` disables the API.
    pub admin_listen: Option<SocketAddr>,
    /// Address zone listeners bind to.
    pub listen_address: IpAddr,
    /// Static NAT address in front of this system.
    pub nat_address: Option<IpAddr>,
    /// Own certificate and key, when configured.
    pub tls_identity: Option<TlsIdentity>,
    /// Connection limits.
    pub limits: Limits,
    /// Credential database.
    pub credentials: CredentialDb,
    /// Traversal server zones with their concrete ports.
    pub server_zones: Vec<ServerZone>,
    /// Traversal client zones.
    pub client_zones: Vec<ClientZone>,
    /// Routing rules.
    pub router: Router,
    /// Call listeners.
    pub sip: SipListeners,
    /// Media relay plan.
    pub media: MediaPlan,
    /// H.323 listeners and timers, when a zone has H.323 mode on.
    pub h323: Option<H323Plan>,
    /// TURN server (exp-e), when enabled.
    pub turn: Option<crate::turn::TurnPlan>,
    /// Things that work but are probably not what the operator wants.
    pub warnings: Vec<Problem>,
}

/// H.323, resolved: present when some zone has H.323 mode on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H323Plan {
    /// exp-e: the H.460.18 call-signalling port (TCP), when a server zone has H.323 on.
    pub call_signalling_port: Option<u16>,
    /// Plain H.225.0 call-signalling port (TCP) toward this system's own side.
    pub listen_port: Option<u16>,
    /// exp-e: RAS port for direct H.460.18 registrations (UDP).
    pub ras_port: Option<u16>,
    /// Direct registrations without credentials are accepted.
    pub open_registration: bool,
    /// Time to live granted (exp-e), seconds.
    pub time_to_live: u32,
    /// H.235.1 timestamp tolerance, seconds.
    pub clock_tolerance: u64,
    /// H.460.19 keep-alive payload type.
    pub keepalive_payload_type: u8,
    /// Wait for the client's connection after an incoming-call indication.
    pub incoming_call_timeout: Duration,
}

/// SIP listeners for calls, with concrete ports (`None` = off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipListeners {
    /// UDP port.
    pub udp: Option<u16>,
    /// TCP port.
    pub tcp: Option<u16>,
    /// TLS port (only with a TLS identity).
    pub tls: Option<u16>,
    /// Address for Via/Contact/Record-Route.
    pub advertised: IpAddr,
    /// CA file to verify SIP targets reached over TLS; `Some` when a routing rule has one.
    pub tls_trust: Option<PathBuf>,
}

/// Media relay ports and timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPlan {
    /// Inclusive port range; starts even.
    pub range: (u16, u16),
    /// Demultiplexing (RTP, RTCP) pairs (exp-e only).
    pub demux: Vec<(u16, u16)>,
    /// Address written into SDP.
    pub address: IpAddr,
    /// exp-e with two interfaces: the address written into SDP toward traversal clients
    /// (`network.internal_address`); `None` = `address` everywhere.
    pub internal_address: Option<IpAddr>,
    /// No media this long ends a stream.
    pub idle_timeout: Duration,
    /// Keep-alive interval toward exp-e (exp-c).
    pub keepalive_interval: Duration,
    /// Re-latch policy silence.
    pub relatch_after: Duration,
}

/// Own certificate chain and key files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsIdentity {
    /// PEM certificate chain.
    pub certificate: PathBuf,
    /// PEM private key.
    pub private_key: PathBuf,
}

/// Connection limits as durations and sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time to authenticate after accept.
    pub handshake_timeout: Duration,
    /// Longest silence on an authenticated zone connection.
    pub idle_timeout: Duration,
    /// Largest header block.
    pub max_header_bytes: usize,
    /// Largest body.
    pub max_body_bytes: usize,
    /// Most unauthenticated connections per server zone.
    pub max_pending_connections: usize,
}

/// A traversal server zone with concrete ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerZone {
    /// Zone name.
    pub name: String,
    /// The only username allowed on this zone.
    pub username: String,
    /// Hop count, 1–[`MAX_HOP_COUNT`]: a request sent into the zone carries Max-Forwards =
    /// min(incoming Max-Forwards − 1, hop count); it is never raised (RFC 7332 §3).
    pub hop_count: u8,
    /// SIP mode.
    pub sip_mode: bool,
    /// SIP port.
    pub sip_port: u16,
    /// SIP transport.
    pub sip_transport: Transport,
    /// H.323 mode.
    pub h323_mode: bool,
    /// H.323 port.
    pub h323_port: u16,
    /// H.460.19 demultiplexing mode for the zone's H.323 media.
    pub h460_19_demux: bool,
}

/// One server address of a client zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Host name or IP address (no brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Peer {
    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Probe timings as durations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTimings {
    /// Between an answered probe and the next.
    pub keepalive_interval: Duration,
    /// Wait for an answer before re-sending.
    pub retry_interval: Duration,
    /// Re-sends before the zone is down.
    pub retry_count: u32,
    /// Connect + authenticate deadline per peer.
    pub connect_timeout: Duration,
    /// First back-off.
    pub backoff_initial: Duration,
    /// Largest back-off.
    pub backoff_max: Duration,
    /// CRLF ping interval, if enabled.
    pub crlf_interval: Option<Duration>,
    /// Wait for a pong.
    pub pong_timeout: Duration,
}

/// How the client checks the server certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    /// CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Accepted leaf certificate SHA-256 fingerprints.
    pub pinned_sha256: Vec<[u8; 32]>,
    /// Name to verify; the peer host when `None`.
    pub server_name: Option<String>,
    /// Accept anything (labs only).
    pub insecure: bool,
}

/// A traversal client zone, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientZone {
    /// Zone name.
    pub name: String,
    /// Server addresses in the order they are tried.
    pub peers: Vec<Peer>,
    /// Username.
    pub username: String,
    /// Password (from the file when `password_file` was given).
    pub password: Secret,
    /// Hop count, 1–[`MAX_HOP_COUNT`]: a request sent into the zone carries Max-Forwards =
    /// min(incoming Max-Forwards − 1, hop count); it is never raised (RFC 7332 §3).
    pub hop_count: u8,
    /// SIP mode.
    pub sip_mode: bool,
    /// SIP port of the server zone.
    pub sip_port: u16,
    /// SIP transport.
    pub sip_transport: Transport,
    /// H.323 mode.
    pub h323_mode: bool,
    /// H.323 port of the server zone.
    pub h323_port: u16,
    /// The server's demultiplexing ports (inclusive range), for the port plan.
    pub demux_ports: (u16, u16),
    /// Certificate checks.
    pub tls: ClientTls,
    /// Probe timings.
    pub probe: ProbeTimings,
    /// Answers the server's delegated TURN credential checks.
    pub turn_credentials: bool,
}

/// Collects problems while resolving.
#[derive(Default)]
struct Findings {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Findings {
    fn error(&mut self, key: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(Problem::new(key, msg));
    }
    fn warn(&mut self, key: impl Into<String>, msg: impl Into<String>) {
        self.warnings.push(Problem::new(key, msg));
    }
    fn seconds(&mut self, key: &str, v: f64) -> Duration {
        if v.is_finite() && v > 0.0 && v <= 86_400.0 {
            Duration::from_secs_f64(v)
        } else {
            self.error(
                key,
                format!("must be a number of seconds above 0 and at most 86400 (got {v})"),
            );
            Duration::from_secs(1)
        }
    }
}

impl Config {
    /// Validate this configuration for `role` and build the runtime model.
    ///
    /// Every problem is reported, each with its key; warnings ride along in
    /// [`Resolved::warnings`].
    pub fn resolve(&self, role: Role) -> Result<Resolved, ConfigError> {
        let mut f = Findings::default();

        if self.system.realm.trim().is_empty() {
            f.error("system.realm", "must not be empty");
        }
        let system_name = if self.system.name.trim().is_empty() {
            role.program().to_string()
        } else {
            self.system.name.clone()
        };

        let admin_listen = if self.admin.listen.trim().is_empty() {
            None
        } else {
            match self.admin.listen.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    f.error(
                        "admin.listen",
                        format!("`{}` is not an address:port", self.admin.listen),
                    );
                    None
                }
            }
        };

        let limits = Limits {
            handshake_timeout: f.seconds("limits.handshake_timeout", self.limits.handshake_timeout),
            idle_timeout: f.seconds("limits.idle_timeout", self.limits.idle_timeout),
            max_header_bytes: self.limits.max_header_bytes,
            max_body_bytes: self.limits.max_body_bytes,
            max_pending_connections: self.limits.max_pending_connections,
        };
        if self.limits.max_pending_connections == 0 {
            f.error("limits.max_pending_connections", "must be at least 1");
        }
        if self.limits.max_header_bytes < 1024 {
            f.error("limits.max_header_bytes", "must be at least 1024");
        }
        if self.limits.max_body_bytes > 16 * 1024 * 1024 {
            f.error("limits.max_body_bytes", "must be at most 16 MiB");
        }

        let tls_identity = match (&self.tls.certificate, &self.tls.private_key) {
            (Some(c), Some(k)) => {
                for (key, p) in [("tls.certificate", c), ("tls.private_key", k)] {
                    if !p.is_file() {
                        f.error(key, format!("file {} does not exist", p.display()));
                    }
                }
                Some(TlsIdentity {
                    certificate: c.clone(),
                    private_key: k.clone(),
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                f.error("tls.private_key", "missing: tls.certificate needs its key");
                None
            }
            (None, Some(_)) => {
                f.error(
                    "tls.certificate",
                    "missing: tls.private_key needs its certificate",
                );
                None
            }
        };

        let answers_checks = self.client_zones.iter().any(|z| z.turn_credentials);
        let credentials = resolve_credentials(
            role,
            &self.credentials,
            &self.system.realm,
            answers_checks,
            &mut f,
        );

        // Zone names are unique across server and client zones: rules and status name them.
        let mut names: HashMap<String, String> = HashMap::new();
        let mut check_name = |f: &mut Findings, key: String, name: &str| {
            if name.trim().is_empty() {
                f.error(key, "must not be empty");
            } else if let Some(prev) = names.get(name) {
                f.error(key, format!("zone name `{name}` is already used by {prev}"));
            } else {
                names.insert(name.to_string(), key.replace(".name", ""));
            }
        };

        if role == Role::Client && !self.server_zones.is_empty() {
            f.error(
                "server_zones",
                "exp-c is a traversal client and serves no zones; traversal server zones belong on exp-e",
            );
        }
        for (i, z) in self.server_zones.iter().enumerate() {
            check_name(&mut f, format!("server_zones[{i}].name"), &z.name);
        }
        for (i, z) in self.client_zones.iter().enumerate() {
            check_name(&mut f, format!("client_zones[{i}].name"), &z.name);
        }

        let server_zones = if role == Role::Server {
            resolve_server_zones(self, &credentials, tls_identity.is_some(), &mut f)
        } else {
            Vec::new()
        };

        let client_zones: Vec<ClientZone> = self
            .client_zones
            .iter()
            .enumerate()
            .filter_map(|(i, z)| resolve_client_zone(i, z, &self.probe, &mut f))
            .collect();

        // Checked on the raw peers, so it is reported even when the zone has other problems.
        if let Some(nat) = self.network.nat_address {
            for z in &self.client_zones {
                for p in z
                    .peers
                    .iter()
                    .filter_map(|p| parse_peer(p, z.sip_port).ok())
                {
                    if p.ip() == Some(nat) {
                        f.error(
                            "network.nat_address",
                            format!(
                                "{nat} is also the address of zone `{}`'s server {p}: exp-c and exp-e must never share a NAT address, the firewall could not tell them apart",
                                z.name
                            ),
                        );
                    }
                }
            }
        }

        let own = OwnAddresses::of(self);
        if role == Role::Server {
            check_zone_loops(self, &server_zones, &own, &mut f);
        }

        if let Some(internal) = self.network.internal_address {
            if role == Role::Client {
                f.error(
                    "network.internal_address",
                    "exp-c has no internal interface toward traversal clients: the key is for a two-interface exp-e",
                );
            } else if internal.is_unspecified() || internal.is_multicast() {
                f.error(
                    "network.internal_address",
                    format!("{internal} is not an interface address"),
                );
            }
        }

        // Ports this program listens on must not collide (admin vs zone SIP ports, TCP).
        if let Some(admin) = admin_listen {
            for (i, z) in server_zones.iter().enumerate() {
                if z.sip_mode && z.sip_port == admin.port() {
                    f.error(
                        format!("server_zones[{i}].sip_port"),
                        format!("port {} is also admin.listen's port", z.sip_port),
                    );
                }
            }
        }

        let router = resolve_routes(self, &names, &mut f);
        let sip = resolve_sip(
            self,
            role,
            tls_identity.is_some(),
            admin_listen,
            &server_zones,
            &mut f,
        );
        check_route_loops(self, &sip, &own, &mut f);
        let media = resolve_media(self, role, sip.advertised, &mut f);
        let h323 = resolve_h323(self, role, &server_zones, &client_zones, &mut f);
        let turn = if role == Role::Client && self.turn.enabled {
            f.error("turn.enabled", "the TURN server runs on exp-e only");
            None
        } else {
            let mut own = vec![media.address, sip.advertised, self.network.listen_address];
            own.extend(self.network.internal_address);
            own.extend(self.network.nat_address);
            own.retain(|a| !a.is_unspecified());
            own.dedup();
            let mut problems = Vec::new();
            let mut seconds = |k: &str, v: f64| {
                if v.is_finite() && v > 0.0 && v <= 86_400.0 {
                    Duration::from_secs_f64(v)
                } else {
                    problems.push((
                        k.to_string(),
                        format!("must be a number of seconds above 0 and at most 86400 (got {v})"),
                    ));
                    Duration::from_secs(1)
                }
            };
            let r = crate::turn::resolve_turn(
                &self.turn,
                tls_identity.is_some(),
                self.network.listen_address,
                media.address,
                own,
                &mut seconds,
            );
            for (k, m) in problems {
                f.error(k, m);
            }
            match r {
                Ok(t) => t,
                Err(ps) => {
                    for (k, m) in ps {
                        f.error(k, m);
                    }
                    None
                }
            }
        };
        if let Some(zone) = turn.as_ref().and_then(|t| t.credential_zone.as_ref()) {
            if !server_zones.iter().any(|z| &z.name == zone && z.sip_mode) {
                f.error(
                    "turn.credential_zone",
                    format!("`{zone}` is not a server zone with SIP mode on: delegated TURN credential checks go over a server zone's connection"),
                );
            }
        }

        if f.errors.is_empty() {
            Ok(Resolved {
                role,
                system_name,
                realm: self.system.realm.clone(),
                admin_listen,
                listen_address: self.network.listen_address,
                nat_address: self.network.nat_address,
                tls_identity,
                limits,
                credentials,
                server_zones,
                client_zones,
                router,
                sip,
                media,
                h323,
                turn,
                warnings: f.warnings,
            })
        } else {
            Err(ConfigError { problems: f.errors })
        }
    }
}

/// The address other systems should use to reach this one, when it can be known from the
/// configuration.
fn default_advertised(cfg: &Config) -> Option<IpAddr> {
    cfg.network
        .nat_address
        .or_else(|| Some(cfg.network.listen_address).filter(|a| !a.is_unspecified()))
}

/// This system's own addresses as far as the configuration tells them, for the loop checks: a
/// peer or routing target at one of these, on one of this system's own ports, is this system.
struct OwnAddresses {
    /// `network.listen_address` (when a specific one), `network.nat_address`,
    /// `network.internal_address` and `sip.advertised_address`.
    listed: Vec<IpAddr>,
    /// `network.listen_address` is unspecified (every interface): then the unspecified address
    /// itself reaches this system too.
    every_interface: bool,
}

impl OwnAddresses {
    fn of(cfg: &Config) -> Self {
        let n = &cfg.network;
        let mut listed: Vec<IpAddr> = [
            Some(n.listen_address).filter(|a| !a.is_unspecified()),
            n.nat_address,
            n.internal_address,
            cfg.sip.advertised_address,
        ]
        .into_iter()
        .flatten()
        .map(|a| a.to_canonical())
        .collect();
        listed.dedup();
        OwnAddresses {
            listed,
            every_interface: n.listen_address.is_unspecified(),
        }
    }

    /// Whether `host` (an IP address, or a host name as [`parse_peer`] gives it) is this
    /// system: one of its addresses, any loopback address, or `localhost`. Other host names
    /// are not looked up.
    fn contains(&self, host: &str) -> bool {
        let Ok(ip) = host.parse::<IpAddr>() else {
            return host == "localhost";
        };
        let ip = ip.to_canonical();
        ip.is_loopback()
            || (self.every_interface && ip.is_unspecified())
            || self.listed.contains(&ip)
    }
}

/// A client zone (exp-e chaining to a further exp-e) whose peer is this system's own server
/// zone would connect to itself: refused at `client_zones[N].peers[J]`.
fn check_zone_loops(cfg: &Config, zones: &[ServerZone], own: &OwnAddresses, f: &mut Findings) {
    for (i, z) in cfg.client_zones.iter().enumerate() {
        for (j, p) in z.peers.iter().enumerate() {
            // Unparsable peers are reported by resolve_client_zone.
            let Ok(peer) = parse_peer(p, z.sip_port) else {
                continue;
            };
            if peer.port == 0 || !own.contains(&peer.host) {
                continue;
            }
            if let Some(sz) = zones
                .iter()
                .find(|sz| sz.sip_mode && sz.sip_port == peer.port)
            {
                f.error(
                    format!("client_zones[{i}].peers[{j}]"),
                    format!(
                        "`{peer}` is this system's own server zone `{}`: the chain would point back at itself (a zone loop); a client zone connects to the next exp-e outward",
                        sz.name
                    ),
                );
            }
        }
    }
}

/// A routing rule whose static target is one of this system's own SIP listeners (same port
/// for the rule's transport, an own address) would send requests straight back to this
/// system: refused at `routes[N].target`.
fn check_route_loops(cfg: &Config, sip: &SipListeners, own: &OwnAddresses, f: &mut Findings) {
    for (i, r) in cfg.routes.iter().enumerate() {
        let (None, Some(t)) = (&r.zone, &r.target) else {
            continue;
        };
        // Unparsable targets are reported by resolve_routes.
        let Ok(target) = parse_peer(t, DEFAULT_TARGET_PORT) else {
            continue;
        };
        let (name, key, listener) = match r.transport.unwrap_or_default() {
            TargetTransport::Udp => ("udp", "sip.udp_port", sip.udp),
            TargetTransport::Tcp => ("tcp", "sip.tcp_port", sip.tcp),
            TargetTransport::Tls => ("tls", "sip.tls_port", sip.tls),
        };
        if listener == Some(target.port) && own.contains(&target.host) {
            f.error(
                format!("routes[{i}].target"),
                format!(
                    "`{target}` over {name} is this system's own SIP listener ({key}): a request routed there would come straight back to this system, which would route it again (a loop); give the address of the next SIP server"
                ),
            );
        }
    }
}

/// A zone hop count must be 1–[`MAX_HOP_COUNT`].
fn check_hop_count(key: String, hop_count: u8, f: &mut Findings) {
    if hop_count == 0 {
        f.error(
            key,
            format!("0 means no request could ever enter the zone; use 1–{MAX_HOP_COUNT}"),
        );
    } else if hop_count > MAX_HOP_COUNT {
        f.error(
            key,
            format!(
                "{hop_count} is above SIP's initial Max-Forwards of {MAX_HOP_COUNT} (RFC 3261 §8.1.1.6): the zone's hop count never limits anything, so a request looping through a chain would only be stopped after {MAX_HOP_COUNT} systems; use 1–{MAX_HOP_COUNT}"
            ),
        );
    }
}

/// Where Debian and its derivatives keep the system's CA bundle.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn resolve_sip(
    cfg: &Config,
    role: Role,
    have_identity: bool,
    admin: Option<SocketAddr>,
    zones: &[ServerZone],
    f: &mut Findings,
) -> SipListeners {
    let s = &cfg.sip;
    let on = |p: u16| (p != 0).then_some(p);
    let tls = if have_identity && role == Role::Server {
        on(s.tls_port)
    } else {
        None
    };
    // Without a configured or derivable address, the runtime uses the local address of the
    // socket a message arrived on; loopback stands in here.
    let advertised = s
        .advertised_address
        .or_else(|| default_advertised(cfg))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    // TCP listeners on one address must not share a port.
    let mut tcp: Vec<(String, u16)> = Vec::new();
    if let Some(p) = on(s.tcp_port) {
        tcp.push(("sip.tcp_port".into(), p));
    }
    if let Some(p) = tls {
        tcp.push(("sip.tls_port".into(), p));
    }
    for (i, z) in zones.iter().enumerate().filter(|(_, z)| z.sip_mode) {
        tcp.push((format!("server_zones[{i}].sip_port"), z.sip_port));
    }
    if let Some(a) = admin {
        tcp.push(("admin.listen".into(), a.port()));
    }
    for (i, (key, port)) in tcp.iter().enumerate() {
        if let Some((other, _)) = tcp[..i].iter().find(|(_, p)| p == port) {
            if key.starts_with("sip.") || other.starts_with("sip.") {
                f.error(key.clone(), format!("port {port} is also {other}'s port"));
            }
        }
    }
    // Outbound TLS to static targets: their certificates are checked against a CA file.
    let tls_trust = cfg
        .routes
        .iter()
        .any(|r| r.target.is_some() && r.transport == Some(TargetTransport::Tls))
        .then(|| {
            let ca = s
                .tls_ca_file
                .clone()
                .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
            if !ca.is_file() {
                f.error(
                    "sip.tls_ca_file",
                    format!(
                        "a routing rule reaches its target over TLS, and the CA file {} to verify it does not exist",
                        ca.display()
                    ),
                );
            }
            ca
        });
    SipListeners {
        udp: on(s.udp_port),
        tcp: on(s.tcp_port),
        tls,
        advertised,
        tls_trust,
    }
}

fn resolve_media(cfg: &Config, role: Role, sip_advertised: IpAddr, f: &mut Findings) -> MediaPlan {
    let m = &cfg.media;
    let start = m.port_range_start.saturating_add(m.port_range_start % 2);
    let end = m.port_range_end;
    if m.port_range_start == 0 || end <= start {
        f.error(
            "media.port_range_end",
            format!(
                "the media range {}–{end} holds no RTP/RTCP pair",
                m.port_range_start
            ),
        );
    }
    let mut demux = Vec::new();
    if role == Role::Server {
        match (m.demux_rtp_port, m.demux_rtcp_port, m.large) {
            (Some(_), _, true) | (_, Some(_), true) => f.error(
                "media.demux_rtp_port",
                "a large system always uses the first 6 pairs of the range; an explicit pair is for small/medium systems",
            ),
            (Some(r), Some(c), false) => {
                if r == c || r == 0 || c == 0 {
                    f.error("media.demux_rtcp_port", "the demultiplexing RTP and RTCP ports must be two different ports");
                }
                demux.push((r, c));
            }
            (Some(_), None, false) => f.error("media.demux_rtcp_port", "missing: an explicit demultiplexing pair needs both ports"),
            (None, Some(_), false) => f.error("media.demux_rtp_port", "missing: an explicit demultiplexing pair needs both ports"),
            (None, None, large) => {
                let pairs = if large { 6 } else { 1 };
                for k in 0..pairs {
                    let rtp = start.saturating_add(2 * k);
                    demux.push((rtp, rtp.saturating_add(1)));
                }
            }
        }
        let pairs_in_range = u32::from(end).saturating_sub(u32::from(start)).div_ceil(2);
        let demux_in_range = demux
            .iter()
            .filter(|(r, _)| (start..=end).contains(r))
            .count() as u32;
        if pairs_in_range <= demux_in_range {
            f.error(
                "media.port_range_end",
                "the media range has no pair left besides the demultiplexing ports",
            );
        }
    } else if m.demux_rtp_port.is_some() || m.demux_rtcp_port.is_some() || m.large {
        f.error(
            "media.demux_rtp_port",
            "exp-c has no demultiplexing ports: exp-c sends to exp-e's",
        );
    }
    MediaPlan {
        range: (start, end),
        demux,
        address: m.address.unwrap_or(sip_advertised),
        internal_address: cfg.network.internal_address,
        idle_timeout: f.seconds("media.idle_timeout", m.idle_timeout),
        keepalive_interval: f.seconds("media.keepalive_interval", m.keepalive_interval),
        relatch_after: f.seconds("media.relatch_after", m.relatch_after),
    }
}

fn resolve_credentials(
    role: Role,
    creds: &[CredentialConfig],
    realm: &str,
    answers_checks: bool,
    f: &mut Findings,
) -> CredentialDb {
    let mut db = CredentialDb::new(realm);
    if role == Role::Client && !creds.is_empty() && !answers_checks {
        f.error(
            "credentials",
            "exp-c authenticates to exp-e with its zone's username and password; the credential database belongs on exp-e (on exp-c it only answers delegated TURN credential checks: set turn_credentials = true on the client zone)",
        );
        return db;
    }
    let mut seen = BTreeSet::new();
    for (i, c) in creds.iter().enumerate() {
        let key = |k: &str| format!("credentials[{i}].{k}");
        if c.username.trim().is_empty() {
            f.error(key("username"), "must not be empty");
            continue;
        }
        if !seen.insert(c.username.clone()) {
            f.error(
                key("username"),
                format!("user `{}` is listed twice", c.username),
            );
            continue;
        }
        if c.password.is_some() {
            f.error(
                key("password"),
                "plaintext passwords are not stored in exp-e's configuration; put the output of `exp-e hash-password` here instead",
            );
        }
        if let Some(r) = &c.realm {
            if r != realm {
                f.error(
                    key("realm"),
                    format!("hashes were made for realm `{r}` but system.realm is `{realm}`; make them again with `exp-e hash-password`"),
                );
            }
        }
        let mut stored = StoredCredential::default();
        for (k, alg, v, slot) in [
            (
                "ha1_sha256",
                HashAlgorithm::Sha256,
                &c.ha1_sha256,
                &mut stored.ha1_sha256,
            ),
            (
                "ha1_md5",
                HashAlgorithm::Md5,
                &c.ha1_md5,
                &mut stored.ha1_md5,
            ),
        ] {
            if let Some(v) = v {
                if is_valid_ha1(v, alg) {
                    *slot = Some(v.to_ascii_lowercase());
                } else {
                    f.error(key(k), format!("must be {} hex characters", alg.hex_len()));
                }
            }
        }
        if let Some(v) = &c.h235_sha1 {
            if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                stored.h235_sha1 = Some(v.to_ascii_lowercase());
            } else {
                f.error(key("h235_sha1"), "must be 40 hex characters");
            }
        }
        if c.ha1_sha256.is_none() && c.ha1_md5.is_none() && c.h235_sha1.is_none() {
            f.error(
                key("ha1_sha256"),
                "missing: a credential needs ha1_sha256 (and ha1_md5 for MD5-only peers, h235_sha1 for H.323)",
            );
        }
        db.insert(c.username.clone(), stored);
    }
    db
}

fn resolve_server_zones(
    cfg: &Config,
    creds: &CredentialDb,
    have_identity: bool,
    f: &mut Findings,
) -> Vec<ServerZone> {
    let zones = &cfg.server_zones;
    let mut used_sip: HashMap<u16, usize> = HashMap::new();
    let mut used_h323: HashMap<u16, usize> = HashMap::new();
    // Explicit ports first, so automatic numbering skips them.
    for (i, z) in zones.iter().enumerate() {
        for (key, port, used) in [
            ("sip_port", z.sip_port, &mut used_sip),
            ("h323_port", z.h323_port, &mut used_h323),
        ] {
            let Some(p) = port else { continue };
            if p == 0 {
                f.error(format!("server_zones[{i}].{key}"), "port 0 is not a port");
            } else if let Some(prev) = used.get(&p) {
                f.error(
                    format!("server_zones[{i}].{key}"),
                    format!("port {p} is already used by server_zones[{prev}] (`{}`); every zone needs its own", zones[*prev].name),
                );
            } else {
                used.insert(p, i);
            }
        }
    }
    let mut next_sip = FIRST_SIP_ZONE_PORT;
    let mut next_h323 = FIRST_H323_ZONE_PORT;
    let allocate = |next: &mut u16, used: &mut HashMap<u16, usize>, i: usize| -> Option<u16> {
        while used.contains_key(next) {
            *next = next.checked_add(1)?;
        }
        let p = *next;
        used.insert(p, i);
        Some(p)
    };
    let mut usernames: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, z) in zones.iter().enumerate() {
        let key = |k: &str| format!("server_zones[{i}].{k}");
        let sip_port = z
            .sip_port
            .or_else(|| allocate(&mut next_sip, &mut used_sip, i))
            .unwrap_or(0);
        let h323_port = z
            .h323_port
            .or_else(|| allocate(&mut next_h323, &mut used_h323, i))
            .unwrap_or(0);
        if z.username.trim().is_empty() {
            f.error(
                key("username"),
                "missing: the zone names the username its client authenticates with",
            );
        } else {
            if !creds.contains(&z.username) {
                f.warn(
                    key("username"),
                    format!("no credential for `{}` in [[credentials]]: this zone refuses every client until one is added", z.username),
                );
            }
            if let Some(prev) = usernames.insert(&z.username, i) {
                f.warn(
                    key("username"),
                    format!("server_zones[{prev}] names the same username; each client system should have its own"),
                );
            }
        }
        if z.sip_mode && z.sip_transport == Transport::Tls && !have_identity {
            f.error(
                key("sip_transport"),
                "tls needs this system's certificate: set tls.certificate and tls.private_key",
            );
        }
        check_hop_count(key("hop_count"), z.hop_count, f);
        if z.h323_mode && creds.contains(&z.username) && creds.h235_key(&z.username).is_none() {
            f.warn(
                key("h323_mode"),
                format!("the credential of `{}` has no h235_sha1: this zone refuses H.323 registrations until `exp-e hash-password` output with h235_sha1 is added", z.username),
            );
        }
        out.push(ServerZone {
            name: z.name.clone(),
            username: z.username.clone(),
            hop_count: z.hop_count,
            sip_mode: z.sip_mode,
            sip_port,
            sip_transport: z.sip_transport,
            h323_mode: z.h323_mode,
            h323_port,
            h460_19_demux: z.h460_19_demux,
        });
    }
    out
}

fn resolve_h323(
    cfg: &Config,
    role: Role,
    server_zones: &[ServerZone],
    client_zones: &[ClientZone],
    f: &mut Findings,
) -> Option<H323Plan> {
    let h = &cfg.h323;
    let serving = role == Role::Server && server_zones.iter().any(|z| z.h323_mode);
    let any = serving || client_zones.iter().any(|z| z.h323_mode);
    if !any {
        return None;
    }
    if serving && h.call_signalling_port == 0 {
        f.error(
            "h323.call_signalling_port",
            "must not be 0: traversal clients of H.323 zones connect to it",
        );
    }
    if h.time_to_live < 5 {
        f.error("h323.time_to_live", "must be at least 5 seconds");
    }
    if h.keepalive_payload_type > 127 || (72..=76).contains(&h.keepalive_payload_type) {
        f.error(
            "h323.keepalive_payload_type",
            "must be an RTP payload type (0-127, not 72-76, which collide with RTCP)",
        );
    }
    if !(h.incoming_call_timeout > 0.0 && h.incoming_call_timeout <= 120.0) {
        f.error(
            "h323.incoming_call_timeout",
            "must be above 0 and at most 120 seconds",
        );
    }
    let mut used = vec![];
    for (k, p) in [
        ("h323.call_signalling_port", h.call_signalling_port),
        ("h323.listen_port", h.listen_port),
    ] {
        if p != 0 && used.contains(&p) {
            f.error(k, format!("port {p} is used twice"));
        }
        used.push(p);
    }
    for (i, z) in server_zones.iter().enumerate() {
        if z.h323_mode && role == Role::Server && z.h323_port == h.ras_port {
            f.error(
                format!("server_zones[{i}].h323_port"),
                format!("port {} is also h323.ras_port", z.h323_port),
            );
        }
    }
    let nz = |p: u16| (p != 0).then_some(p);
    Some(H323Plan {
        call_signalling_port: if serving {
            nz(h.call_signalling_port)
        } else {
            None
        },
        listen_port: nz(h.listen_port),
        ras_port: if role == Role::Server {
            nz(h.ras_port)
        } else {
            None
        },
        open_registration: h.open_registration,
        time_to_live: h.time_to_live,
        clock_tolerance: u64::from(h.clock_tolerance),
        keepalive_payload_type: h.keepalive_payload_type,
        incoming_call_timeout: Duration::from_secs_f64(h.incoming_call_timeout.clamp(0.001, 120.0)),
    })
}

/// Parse `host`, `host:port`, `[v6]` or `[v6]:port`.
pub fn parse_peer(s: &str, default_port: u16) -> Result<Peer, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty address".into());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Peer {
            host: ip.to_string(),
            port: default_port,
        });
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err("port 0 is not a port".into());
        }
        return Ok(Peer {
            host: sa.ip().to_string(),
            port: sa.port(),
        });
    }
    if let Some(rest) = s.strip_prefix('[') {
        let Some(inner) = rest.strip_suffix(']') else {
            return Err(format!("`{s}` is not an address"));
        };
        return inner
            .parse::<IpAddr>()
            .map(|ip| Peer {
                host: ip.to_string(),
                port: default_port,
            })
            .map_err(|_| format!("`{s}` is not an address"));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{p}` is not a port"))?,
        ),
        None => (s, default_port),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !host_ok {
        return Err(format!("`{host}` is not a host name or address"));
    }
    Ok(Peer {
        host: host.to_ascii_lowercase(),
        port,
    })
}

fn resolve_probe(key: &str, p: &ProbeConfig, f: &mut Findings) -> ProbeTimings {
    let k = |n: &str| format!("{key}.{n}");
    let t = ProbeTimings {
        keepalive_interval: f.seconds(&k("keepalive_interval"), p.keepalive_interval),
        retry_interval: f.seconds(&k("retry_interval"), p.retry_interval),
        retry_count: p.retry_count,
        connect_timeout: f.seconds(&k("connect_timeout"), p.connect_timeout),
        backoff_initial: f.seconds(&k("backoff_initial"), p.backoff_initial),
        backoff_max: f.seconds(&k("backoff_max"), p.backoff_max),
        crlf_interval: if p.crlf_interval == 0.0 {
            None
        } else {
            Some(f.seconds(&k("crlf_interval"), p.crlf_interval))
        },
        pong_timeout: f.seconds(&k("pong_timeout"), p.pong_timeout),
    };
    if p.retry_count > 100 {
        f.error(k("retry_count"), "must be at most 100");
    }
    if t.backoff_max < t.backoff_initial {
        f.error(k("backoff_max"), "must not be below backoff_initial");
    }
    t
}

fn resolve_client_zone(
    i: usize,
    z: &crate::config::ClientZoneConfig,
    global_probe: &ProbeConfig,
    f: &mut Findings,
) -> Option<ClientZone> {
    let key = |k: &str| format!("client_zones[{i}].{k}");
    let errors_before = f.errors.len();
    if z.peers.is_empty() {
        f.error(
            key("peers"),
            "missing: give the traversal server's address (1 to 6 peers)",
        );
    } else if z.peers.len() > MAX_PEERS {
        f.error(
            key("peers"),
            format!("{} peers given; at most {MAX_PEERS}", z.peers.len()),
        );
    }
    if z.sip_port == 0 {
        f.error(key("sip_port"), "port 0 is not a port");
    }
    let mut peers = Vec::new();
    for (j, p) in z.peers.iter().enumerate() {
        match parse_peer(p, z.sip_port) {
            Ok(peer) => peers.push(peer),
            Err(e) => f.error(format!("client_zones[{i}].peers[{j}]"), e),
        }
    }
    if z.username.trim().is_empty() {
        f.error(
            key("username"),
            "missing: the username of this client's credential on the server",
        );
    }
    let password = match (&z.password, &z.password_file) {
        (Some(p), None) => {
            if p.expose().is_empty() {
                f.error(key("password"), "must not be empty");
            }
            p.clone()
        }
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(s) => {
                let line = s
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('\r')
                    .to_string();
                if line.is_empty() {
                    f.error(key("password_file"), format!("{} is empty", path.display()));
                }
                Secret::new(line)
            }
            Err(e) => {
                f.error(
                    key("password_file"),
                    format!("cannot read {}: {e}", path.display()),
                );
                Secret::default()
            }
        },
        (Some(_), Some(_)) => {
            f.error(
                key("password"),
                "give either password or password_file, not both",
            );
            Secret::default()
        }
        (None, None) => {
            f.error(
                key("password"),
                "missing: a traversal client always authenticates",
            );
            Secret::default()
        }
    };
    let tls = resolve_client_tls(&key("tls"), &z.tls, z.sip_transport, f);
    let probe_cfg = match &z.probe {
        Some(p) => p.over(global_probe),
        None => global_probe.clone(),
    };
    let probe_key = if z.probe.is_some() {
        key("probe")
    } else {
        "probe".to_string()
    };
    let probe = resolve_probe(&probe_key, &probe_cfg, f);
    check_hop_count(key("hop_count"), z.hop_count, f);
    if f.errors.len() > errors_before {
        return None;
    }
    Some(ClientZone {
        name: z.name.clone(),
        peers,
        username: z.username.clone(),
        password,
        hop_count: z.hop_count,
        sip_mode: z.sip_mode,
        sip_port: z.sip_port,
        sip_transport: z.sip_transport,
        h323_mode: z.h323_mode,
        h323_port: z.h323_port,
        demux_ports: (
            z.demux_rtp_port,
            z.demux_rtp_port
                .saturating_add(u16::from(z.demux_pairs.clamp(1, 6)) * 2 - 1),
        ),
        tls,
        probe,
        turn_credentials: z.turn_credentials,
    })
}

/// Parse a SHA-256 fingerprint written as hex, with or without `:` separators.
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (k, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * k..2 * k + 2)?, 16).ok()?;
    }
    Some(out)
}

fn resolve_client_tls(
    key: &str,
    t: &ClientTlsConfig,
    transport: Transport,
    f: &mut Findings,
) -> ClientTls {
    let mut pins = Vec::new();
    for (j, p) in t.pinned_sha256.iter().enumerate() {
        match parse_fingerprint(p) {
            Some(fp) => pins.push(fp),
            None => f.error(
                format!("{key}.pinned_sha256[{j}]"),
                "must be a SHA-256 fingerprint: 64 hex characters, colons allowed",
            ),
        }
    }
    if let Some(ca) = &t.ca_file {
        if !ca.is_file() {
            f.error(
                format!("{key}.ca_file"),
                format!("file {} does not exist", ca.display()),
            );
        }
    }
    if transport == Transport::Tls {
        if t.insecure {
            f.warn(
                format!("{key}.insecure"),
                "the server certificate is not verified: anyone on the path can impersonate the server (labs only)",
            );
        } else if t.ca_file.is_none() && t.pinned_sha256.is_empty() {
            f.error(
                format!("{key}.ca_file"),
                "tls needs a way to verify the server: ca_file or pinned_sha256 (or insecure = true in a lab)",
            );
        }
    }
    ClientTls {
        ca_file: t.ca_file.clone(),
        pinned_sha256: pins,
        server_name: t.server_name.clone(),
        insecure: t.insecure,
    }
}

fn resolve_routes(cfg: &Config, zone_names: &HashMap<String, String>, f: &mut Findings) -> Router {
    let mut routes = Vec::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        let key = |k: &str| format!("routes[{i}].{k}");
        let pattern = match Router::compile(&r.pattern) {
            Ok(p) if !r.pattern.is_empty() => Some(p),
            Ok(_) => {
                f.error(key("pattern"), "must not be empty");
                None
            }
            Err(e) => {
                f.error(
                    key("pattern"),
                    format!("not a valid regular expression: {e}"),
                );
                None
            }
        };
        let target = match (&r.zone, &r.target) {
            (Some(z), None) => {
                if zone_names.contains_key(z) {
                    Some(RouteTarget::Zone(z.clone()))
                } else {
                    f.error(key("zone"), format!("unknown zone `{z}`"));
                    None
                }
            }
            (None, Some(t)) if r.protocol == Some(RouteProtocol::H323) => {
                if r.transport.is_some_and(|t| t != TargetTransport::Tcp) {
                    f.error(
                        key("transport"),
                        "H.323 targets use TCP (H.225.0 call signalling)",
                    );
                }
                match parse_peer(t, DEFAULT_H323_TARGET_PORT) {
                    Ok(p) => Some(RouteTarget::H323 {
                        address: p.to_string(),
                    }),
                    Err(e) => {
                        f.error(key("target"), e);
                        None
                    }
                }
            }
            (None, Some(t)) => match parse_peer(t, DEFAULT_TARGET_PORT) {
                Ok(p) => Some(RouteTarget::Sip {
                    address: p.to_string(),
                    transport: r.transport.unwrap_or_default(),
                }),
                Err(e) => {
                    f.error(key("target"), e);
                    None
                }
            },
            (Some(_), Some(_)) => {
                f.error(key("zone"), "give either zone or target, not both");
                None
            }
            (None, None) => {
                f.error(key("zone"), "missing: a rule needs a zone or a target");
                None
            }
        };
        if let (Some(pattern), Some(target)) = (pattern, target) {
            routes.push(Route {
                name: r.name.clone().unwrap_or_else(|| r.pattern.clone()),
                priority: r.priority,
                pattern,
                target,
            });
        }
    }
    Router::new(routes)
}
