//! The configuration file as the operator writes it.
//!
//! These are the raw, serde-facing types: every field has a default so that a program runs with
//! no configuration file at all, and unknown keys are refused so that a typo never silently
//! falls back to a default. Checking the values against each other (unique ports, known zones,
//! passwords present, …) happens in [`crate::resolve`], which turns a [`Config`] into the
//! validated [`crate::Resolved`] model the runtime uses.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which program a configuration is for. The two programs share one file format; some sections
/// only make sense on one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// exp-e: the traversal server in the DMZ.
    Server,
    /// exp-c: the traversal client on the LAN.
    Client,
}

impl Role {
    /// Program name, as used in logs, the handshake and the environment prefix.
    pub fn program(self) -> &'static str {
        match self {
            Role::Server => "exp-e",
            Role::Client => "exp-c",
        }
    }

    /// Prefix of environment variables that override configuration keys
    /// (`EXP_E_ADMIN__LISTEN=127.0.0.1:9999` sets `admin.listen`).
    pub fn env_prefix(self) -> &'static str {
        match self {
            Role::Server => "EXP_E_",
            Role::Client => "EXP_C_",
        }
    }

    /// Default admin API listen address.
    pub fn default_admin_listen(self) -> &'static str {
        match self {
            Role::Server => "127.0.0.1:9080",
            Role::Client => "127.0.0.1:9081",
        }
    }
}

/// Signaling transport of a traversal zone's SIP connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Plain TCP (RFC 3261 §18.3 framing).
    #[default]
    Tcp,
    /// TLS over TCP (rustls).
    Tls,
}

impl Transport {
    /// Lower-case name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport toward a static SIP target of a routing rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetTransport {
    /// UDP (the default: what most SIP servers and phones listen on).
    #[default]
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
}

/// A secret string (a password) that never shows up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The whole configuration of one program.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Identity of this system.
    pub system: SystemConfig,
    /// The local admin HTTP API.
    pub admin: AdminConfig,
    /// Addresses and NAT.
    pub network: NetworkConfig,
    /// This system's own TLS certificate (exp-e, for TLS server zones).
    pub tls: TlsIdentityConfig,
    /// Timeouts and size limits of zone connections.
    pub limits: LimitsConfig,
    /// Default probe/keep-alive settings of traversal client zones.
    pub probe: ProbeConfig,
    /// SIP listeners for calls (exp-e: toward the outside; exp-c: toward the LAN).
    pub sip: SipConfig,
    /// Media relay ports and timers.
    pub media: MediaConfig,
    /// H.323: call-signalling listeners, RAS for direct registrations, H.460.18/19 timers.
    pub h323: H323Config,
    /// TURN server (exp-e).
    pub turn: crate::turn::TurnConfig,
    /// Local credential database (exp-e): traversal clients authenticate against it.
    pub credentials: Vec<CredentialConfig>,
    /// Traversal server zones (exp-e): one per traversal client system.
    pub server_zones: Vec<ServerZoneConfig>,
    /// Traversal client zones (exp-c; exp-e when chaining): one per server.
    pub client_zones: Vec<ClientZoneConfig>,
    /// Ordered routing rules.
    pub routes: Vec<RouteConfig>,
}

impl Config {
    /// The embedded defaults of a program: what it runs on with no configuration file.
    ///
    /// exp-e gets one traversal server zone named `traversal` for the client username `exp-c`
    /// (SIP TCP 7001, H.323 6001); it accepts no client until a credential for `exp-c` is
    /// added. exp-c gets no zones: a traversal client needs the server's address and a password,
    /// which no default can supply.
    pub fn defaults(role: Role) -> Config {
        let mut c = Config {
            system: SystemConfig::default(),
            admin: AdminConfig::default(),
            network: NetworkConfig::default(),
            tls: TlsIdentityConfig::default(),
            limits: LimitsConfig::default(),
            probe: ProbeConfig::default(),
            sip: SipConfig::default(),
            media: MediaConfig::default(),
            h323: H323Config::default(),
            turn: crate::turn::TurnConfig::default(),
            credentials: Vec::new(),
            server_zones: Vec::new(),
            client_zones: Vec::new(),
            routes: Vec::new(),
        };
        c.admin.listen = role.default_admin_listen().to_string();
        if role == Role::Server {
            c.server_zones.push(ServerZoneConfig {
                name: "traversal".into(),
                username: "exp-c".into(),
                ..ServerZoneConfig::default()
            });
        }
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::defaults(Role::Server)
    }
}

/// Identity of this system.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// System name, shown in status and sent in the handshake.
    pub name: String,
    /// Authentication realm of SIP digest challenges. Stored credential hashes are bound to it.
    pub realm: String,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            name: String::new(),
            realm: "exp".into(),
        }
    }
}

/// The local admin HTTP API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Listen address; empty string disables the API.
    pub listen: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: Role::Server.default_admin_listen().into(),
        }
    }
}

/// Addresses and NAT.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Address the zone listeners bind to (exp-e).
    pub listen_address: IpAddr,
    /// Static NAT address in front of this system, if any. exp-c and exp-e must never share
    /// one: the firewall could not tell them apart.
    pub nat_address: Option<IpAddr>,
    /// exp-e with two interfaces: the address of the internal one, which traversal clients
    /// reach. Media toward traversal clients is announced with it; media toward the outside
    /// keeps `media.address`.
    pub internal_address: Option<IpAddr>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen_address: IpAddr::from([0, 0, 0, 0]),
            nat_address: None,
            internal_address: None,
        }
    }
}

/// SIP listeners that carry calls: on exp-e the ones outside endpoints and proxies reach, on
/// exp-c the ones LAN endpoints and call controls reach. Port 0 switches a listener off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// UDP port.
    pub udp_port: u16,
    /// TCP port.
    pub tcp_port: u16,
    /// TLS port; used only when `tls.certificate` is configured.
    pub tls_port: u16,
    /// Address written into Via, Contact and Record-Route of requests this system sends
    /// toward these listeners' side; by default the NAT address, else the listen address
    /// when it is a specific one.
    pub advertised_address: Option<IpAddr>,
    /// CA certificates (PEM) that SIP targets reached over TLS must chain to; the system's
    /// bundle when not given.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            udp_port: 5060,
            tcp_port: 5060,
            tls_port: 5061,
            advertised_address: None,
            tls_ca_file: None,
        }
    }
}

/// H.323 settings. The listeners run only when a zone has `h323_mode` on (or, on exp-e,
/// `ras_port` takes direct registrations). Port 0 switches a listener off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct H323Config {
    /// exp-e: TCP port of H.460.18 call signalling; traversal clients connect to it.
    pub call_signalling_port: u16,
    /// TCP port of plain H.225.0 call signalling: on exp-e for outside endpoints and
    /// gateways, on exp-c for LAN endpoints.
    pub listen_port: u16,
    /// exp-e: UDP RAS port for H.460.18 endpoints that register directly (0 = off).
    pub ras_port: u16,
    /// exp-e: accept direct registrations without H.235.1 credentials.
    pub open_registration: bool,
    /// exp-e: registration time to live granted, seconds; clients refresh before it lapses.
    pub time_to_live: u32,
    /// Allowed difference between the other system's H.235.1 timestamps and this clock,
    /// seconds.
    pub clock_tolerance: u32,
    /// RTP payload type of H.460.19 keep-alives.
    pub keepalive_payload_type: u8,
    /// Seconds to wait for a traversal client's connection after an incoming-call indication.
    pub incoming_call_timeout: f64,
}

impl Default for H323Config {
    fn default() -> Self {
        H323Config {
            call_signalling_port: 2777,
            listen_port: 1720,
            ras_port: 1719,
            open_registration: false,
            time_to_live: 30,
            clock_tolerance: 30,
            keepalive_payload_type: 116,
            incoming_call_timeout: 10.0,
        }
    }
}

/// Media relay: the port range, exp-e's demultiplexing ports and the timers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// First port of the media range (RTP on even ports, RTCP on the next odd one).
    pub port_range_start: u16,
    /// Last port of the media range.
    pub port_range_end: u16,
    /// exp-e: the demultiplexing RTP port, when an explicit pair is wanted (small/medium
    /// systems); by default the first pair of the range.
    pub demux_rtp_port: Option<u16>,
    /// exp-e: the demultiplexing RTCP port of the explicit pair.
    pub demux_rtcp_port: Option<u16>,
    /// exp-e: large system: the first 6 pairs of the range are demultiplexing pairs.
    pub large: bool,
    /// Address written into SDP for this system's media; defaults as `sip.advertised_address`.
    pub address: Option<IpAddr>,
    /// Seconds without media on a stream before the stream (and its call) is ended.
    pub idle_timeout: f64,
    /// exp-c: seconds between keep-alive packets toward exp-e while a stream is silent.
    pub keepalive_interval: f64,
    /// Seconds a latched source must have been silent before another source carrying the
    /// same SSRC may take the stream over.
    pub relatch_after: f64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            port_range_start: 36000,
            port_range_end: 59999,
            demux_rtp_port: None,
            demux_rtcp_port: None,
            large: false,
            address: None,
            idle_timeout: 60.0,
            keepalive_interval: 5.0,
            relatch_after: 2.0,
        }
    }
}

/// This system's own certificate and key (PEM files), used by TLS server zones.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsIdentityConfig {
    /// PEM certificate chain, leaf first.
    pub certificate: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Option<PathBuf>,
}

/// Timeouts and size limits of zone connections (exp-e side).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a new connection has to finish authenticating before it is closed.
    pub handshake_timeout: f64,
    /// Seconds an authenticated zone connection may stay silent (no probe, no ping, no
    /// message) before exp-e closes it.
    pub idle_timeout: f64,
    /// Largest SIP header block accepted, in bytes.
    pub max_header_bytes: usize,
    /// Largest SIP body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most connections per server zone that may be waiting to authenticate at once; more
    /// are closed on accept, so a flood of idle connections cannot exhaust exp-e.
    pub max_pending_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            handshake_timeout: 10.0,
            idle_timeout: 90.0,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_pending_connections: 64,
        }
    }
}

/// Keep-alive and probe settings of a traversal client zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Seconds between an answered probe (SIP OPTIONS) and the next one.
    pub keepalive_interval: f64,
    /// Seconds to wait for a probe's answer before sending it again.
    pub retry_interval: f64,
    /// Re-sends of an unanswered probe before the zone is declared down.
    pub retry_count: u32,
    /// Seconds to open the connection and authenticate before trying the next peer.
    pub connect_timeout: f64,
    /// First reconnect back-off in seconds; doubles after each failed round of peers.
    pub backoff_initial: f64,
    /// Largest reconnect back-off in seconds.
    pub backoff_max: f64,
    /// Seconds between RFC 5626 CRLF keep-alive pings; 0 disables them.
    pub crlf_interval: f64,
    /// Seconds to wait for a CRLF pong.
    pub pong_timeout: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            keepalive_interval: 20.0,
            retry_interval: 2.0,
            retry_count: 5,
            connect_timeout: 5.0,
            backoff_initial: 0.5,
            backoff_max: 15.0,
            crlf_interval: 10.0,
            pong_timeout: 2.0,
        }
    }
}

/// One entry of the local credential database. Passwords are never stored: only the digest
/// HA1 values (RFC 7616 §3.4.2), bound to `system.realm`. `exp-e hash-password` makes them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialConfig {
    /// The username a client authenticates with.
    pub username: String,
    /// Realm the hashes were made for; must equal `system.realm` when given.
    pub realm: Option<String>,
    /// Hex SHA-256 of `username:realm:password` (RFC 8760).
    pub ha1_sha256: Option<String>,
    /// Hex MD5 of `username:realm:password`, for older peers that only do MD5.
    pub ha1_md5: Option<String>,
    /// Hex SHA-1 of the password alone: the H.235.1 key of H.323 zones and registrations
    /// (H.235.1 hashes with the password itself, so the digest HA1 values cannot serve).
    pub h235_sha1: Option<String>,
    /// Refused: plaintext passwords are not kept in exp-e's configuration.
    pub password: Option<Secret>,
}

/// A traversal server zone (exp-e): where one traversal client connects.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerZoneConfig {
    /// Zone name, unique among all zones.
    pub name: String,
    /// The client's authentication username; only this user may connect to this zone.
    pub username: String,
    /// Hop count of requests sent into the zone.
    pub hop_count: u8,
    /// SIP mode on/off.
    pub sip_mode: bool,
    /// SIP port (TCP or TLS); allocated from 7001 upwards when not given.
    pub sip_port: Option<u16>,
    /// SIP transport.
    pub sip_transport: Transport,
    /// H.323 mode on/off (H.460.18 signalling, H.460.19 media).
    pub h323_mode: bool,
    /// H.323 port (UDP); allocated from 6001 upwards when not given.
    pub h323_port: Option<u16>,
    /// H.460.19 demultiplexing mode: H.323 media from the client arrives on the
    /// demultiplexing ports with a multiplexID (on), or on a port pair per call (off).
    pub h460_19_demux: bool,
}

impl Default for ServerZoneConfig {
    fn default() -> Self {
        ServerZoneConfig {
            name: String::new(),
            username: String::new(),
            hop_count: 15,
            sip_mode: true,
            sip_port: None,
            sip_transport: Transport::Tcp,
            h323_mode: false,
            h323_port: None,
            h460_19_demux: true,
        }
    }
}

/// How a traversal client verifies the server's certificate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsConfig {
    /// PEM file of CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// SHA-256 fingerprints (hex, colons allowed) of accepted server certificates.
    pub pinned_sha256: Vec<String>,
    /// Name to verify in the server certificate; defaults to the peer host.
    pub server_name: Option<String>,
    /// Accept any certificate. For labs only; logged as a warning at every connect.
    pub insecure: bool,
}

/// A traversal client zone: the connection to one traversal server (or cluster).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientZoneConfig {
    /// Zone name, unique among all zones.
    pub name: String,
    /// Server addresses, tried in order (1 to 6): `host`, `host:port`, `[v6]:port`.
    /// Without a port, `sip_port` is used.
    pub peers: Vec<String>,
    /// Username to authenticate with.
    pub username: String,
    /// Password to authenticate with.
    pub password: Option<Secret>,
    /// File holding the password (first line), instead of `password`.
    pub password_file: Option<PathBuf>,
    /// Hop count of requests sent into the zone.
    pub hop_count: u8,
    /// SIP mode on/off; must match the server zone.
    pub sip_mode: bool,
    /// The server zone's SIP port.
    pub sip_port: u16,
    /// SIP transport; must match the server zone.
    pub sip_transport: Transport,
    /// H.323 mode on/off; must match the server zone.
    pub h323_mode: bool,
    /// The server zone's H.323 port.
    pub h323_port: u16,
    /// The server's first media demultiplexing port, for the port plan (a call always uses
    /// the address and port the server's SDP gives).
    pub demux_rtp_port: u16,
    /// Number of demultiplexing RTP/RTCP pairs the server has: 1, or 6 on a large exp-e.
    pub demux_pairs: u8,
    /// Certificate verification for TLS.
    pub tls: ClientTlsConfig,
    /// Probe settings for this zone; missing keys come from the global `[probe]` section.
    pub probe: Option<PartialProbeConfig>,
    /// Answer the server's delegated TURN credential checks from this system's
    /// `[[credentials]]` (exp-e's `turn.credential_zone`).
    pub turn_credentials: bool,
}

impl Default for ClientZoneConfig {
    fn default() -> Self {
        ClientZoneConfig {
            name: String::new(),
            peers: Vec::new(),
            username: String::new(),
            password: None,
            password_file: None,
            hop_count: 15,
            sip_mode: true,
            sip_port: 7001,
            sip_transport: Transport::Tcp,
            h323_mode: false,
            h323_port: 6001,
            demux_rtp_port: 36000,
            demux_pairs: 1,
            tls: ClientTlsConfig::default(),
            probe: None,
            turn_credentials: false,
        }
    }
}

/// Per-zone probe overrides; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartialProbeConfig {
    /// See [`ProbeConfig::keepalive_interval`].
    pub keepalive_interval: Option<f64>,
    /// See [`ProbeConfig::retry_interval`].
    pub retry_interval: Option<f64>,
    /// See [`ProbeConfig::retry_count`].
    pub retry_count: Option<u32>,
    /// See [`ProbeConfig::connect_timeout`].
    pub connect_timeout: Option<f64>,
    /// See [`ProbeConfig::backoff_initial`].
    pub backoff_initial: Option<f64>,
    /// See [`ProbeConfig::backoff_max`].
    pub backoff_max: Option<f64>,
    /// See [`ProbeConfig::crlf_interval`].
    pub crlf_interval: Option<f64>,
    /// See [`ProbeConfig::pong_timeout`].
    pub pong_timeout: Option<f64>,
}

impl PartialProbeConfig {
    /// Fill missing keys from `base`.
    pub fn over(&self, base: &ProbeConfig) -> ProbeConfig {
        ProbeConfig {
            keepalive_interval: self.keepalive_interval.unwrap_or(base.keepalive_interval),
            retry_interval: self.retry_interval.unwrap_or(base.retry_interval),
            retry_count: self.retry_count.unwrap_or(base.retry_count),
            connect_timeout: self.connect_timeout.unwrap_or(base.connect_timeout),
            backoff_initial: self.backoff_initial.unwrap_or(base.backoff_initial),
            backoff_max: self.backoff_max.unwrap_or(base.backoff_max),
            crlf_interval: self.crlf_interval.unwrap_or(base.crlf_interval),
            pong_timeout: self.pong_timeout.unwrap_or(base.pong_timeout),
        }
    }
}

/// Protocol of a static routing target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteProtocol {
    /// SIP.
    #[default]
    Sip,
    /// H.323 (H.225.0 call signalling).
    H323,
}

/// One routing rule: a destination matching `pattern` goes to a zone or a static SIP target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    /// Optional name for logs and status.
    pub name: Option<String>,
    /// Regular expression that must match the whole destination URI or alias.
    pub pattern: String,
    /// Lower numbers are tried first; rules with equal priority keep file order.
    pub priority: u32,
    /// Target zone name.
    pub zone: Option<String>,
    /// Or a static target `host:port` (SIP, or H.323 with `protocol = "h323"`).
    pub target: Option<String>,
    /// Protocol of a static target: `sip` (default) or `h323` (H.225.0 call signalling on
    /// TCP, port 1720 when none is given).
    pub protocol: Option<RouteProtocol>,
    /// Transport toward a static target (default udp).
    pub transport: Option<TargetTransport>,
}
