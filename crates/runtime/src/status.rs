//! Live state shared by the zone tasks and the admin API: per-zone status and the metrics.
//!
//! Zone tasks write their state here as it changes; the admin API and tests read snapshots.
//! One mutex per program is plenty: writes happen on state changes and probes, not per packet.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use exp_zone::{Resolved, Role};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

/// This build's version, sent in the handshake.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One zone as the admin API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ZoneStatus {
    /// Zone name.
    pub name: String,
    /// `server` or `client`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The connected client (server zones) or the server being used (client zones).
    pub peer: Option<String>,
    /// `tcp` or `tls`.
    pub transport: &'static str,
    /// The zone's SIP port.
    pub port: u16,
    /// `active`, `connecting`, `auth-failed` or `down`.
    pub state: &'static str,
    /// Round trip of the last answered probe, in milliseconds (client zones).
    pub last_probe_rtt_ms: Option<f64>,
    /// Unix time (milliseconds) of the last probe answered (client) or received (server).
    pub last_probe_unix_ms: Option<u64>,
    /// Reconnections after the first connection.
    pub reconnect_count: u64,
    /// The other side's version, from the handshake.
    pub peer_version: Option<String>,
    /// True when the other side runs another version.
    pub version_mismatch: bool,
    /// Human-readable warning (version mismatch, last error).
    pub warning: Option<String>,
    /// Refused authentication attempts on this zone.
    pub auth_failures: u64,
    /// Unix time (seconds) of the last state change.
    pub since_unix: u64,
    /// Back-off currently waited before the next attempt, in milliseconds (client zones).
    pub backoff_ms: Option<u64>,
    /// The zone's H.323 side (H.460.18 over RAS), when H.323 mode is on.
    pub h323: Option<H323ZoneStatus>,
}

/// The H.323 (H.460.18) side of a zone.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct H323ZoneStatus {
    /// `active` (registered), `connecting`, `auth-failed` or `down`.
    pub state: &'static str,
    /// The zone's RAS port (UDP).
    pub port: u16,
    /// The registered client's RAS source (server zones) or the server used (client zones).
    pub peer: Option<String>,
    /// Endpoint identifier of the registration.
    pub endpoint_id: Option<String>,
    /// Granted time to live, seconds.
    pub time_to_live: Option<u32>,
    /// Unix time (milliseconds) of the last keep-alive answered (client) or received (server).
    pub last_keepalive_unix_ms: Option<u64>,
    /// Keep-alives so far.
    pub keepalives: u64,
    /// Messages refused, by reason (`wrong-password`, `clock-skew`, `replay`, ...).
    pub refusals: std::collections::BTreeMap<String, u64>,
    /// Last refusal or problem, readable.
    pub warning: Option<String>,
}

impl H323ZoneStatus {
    fn initial(port: u16, state: &'static str, peer: Option<String>) -> Self {
        H323ZoneStatus {
            state,
            port,
            peer,
            endpoint_id: None,
            time_to_live: None,
            last_keepalive_unix_ms: None,
            keepalives: 0,
            refusals: Default::default(),
            warning: None,
        }
    }
}

impl ZoneStatus {
    /// A zone's status before anything happened on it.
    fn initial(
        name: &str,
        kind: &'static str,
        peer: Option<String>,
        transport: exp_zone::Transport,
        port: u16,
        state: &'static str,
    ) -> Self {
        ZoneStatus {
            name: name.to_string(),
            kind,
            peer,
            transport: transport.as_str(),
            port,
            state,
            last_probe_rtt_ms: None,
            last_probe_unix_ms: None,
            reconnect_count: 0,
            peer_version: None,
            version_mismatch: false,
            warning: None,
            auth_failures: 0,
            since_unix: unix_now(),
            backoff_ms: None,
            h323: None,
        }
    }
}

/// Labels of per-zone metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZoneLabel {
    /// Zone name.
    pub zone: String,
}

/// Labels of per-zone metrics with a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZoneReason {
    /// Zone name.
    pub zone: String,
    /// Why.
    pub reason: String,
}

/// Labels of metrics counted by reason only.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why.
    pub reason: String,
}

/// Prometheus metrics of one program.
#[derive(Default)]
pub struct Metrics {
    /// 1 when the zone is active.
    pub zone_up: Family<ZoneLabel, Gauge>,
    /// Connections accepted on a server zone port.
    pub connections_accepted: Family<ZoneLabel, Counter>,
    /// Authentications refused, by reason.
    pub auth_rejections: Family<ZoneReason, Counter>,
    /// Connections closed for a protocol/limit/timeout problem, by reason.
    pub connection_errors: Family<ZoneReason, Counter>,
    /// Client zone reconnects.
    pub reconnects: Family<ZoneLabel, Counter>,
    /// H.323 RAS messages refused, by reason (`wrong-password`, `clock-skew`, `replay`, ...);
    /// zone `ras` is the direct-registration port.
    pub h323_refusals: Family<ZoneReason, Counter>,
    /// Probes sent (client) or answered (server).
    pub probes: Family<ZoneLabel, Counter>,
    /// Probes that timed out (client).
    pub probe_timeouts: Family<ZoneLabel, Counter>,
    /// Last probe round trip in microseconds (client).
    pub probe_rtt_us: Family<ZoneLabel, Gauge>,
    /// Zones whose peer runs another version.
    pub version_mismatch: Family<ZoneLabel, Gauge>,
    /// Seconds since start.
    pub uptime_seconds: Gauge<u64, AtomicU64>,
    /// Media datagrams relayed.
    pub media_relayed_packets: Counter,
    /// Media bytes relayed (without mux prefixes).
    pub media_relayed_bytes: Counter,
    /// Media datagrams dropped, by reason.
    pub media_dropped: Family<ReasonLabel, Counter>,
    /// Media keep-alives received (exp-e).
    pub media_keepalives_received: Counter,
    /// Media keep-alives sent (exp-c).
    pub media_keepalives_sent: Counter,
    /// Media streams ended for lack of media.
    pub media_idle_streams: Counter,
    /// Media streams moved to a new source by the relatch policy.
    pub media_relatched: Counter,
    /// Media streams relayed now.
    pub media_streams: Gauge,
    /// Free media port pairs.
    pub media_port_pairs_free: Gauge,
}

/// State shared by every task of one program.
pub struct Shared {
    /// Which program.
    pub role: Role,
    /// System name.
    pub system_name: String,
    /// Start time.
    pub started: Instant,
    zones: Mutex<Vec<ZoneStatus>>,
    /// Calls in progress, as the call task last published them.
    pub calls: Arc<Mutex<Vec<crate::calls::CallStatus>>>,
    /// Asks the call task to publish a fresh `calls` snapshot (it does not after every
    /// message: that would cost O(calls) per message).
    pub calls_wanted: Arc<tokio::sync::Notify>,
    /// Bumped by the call task on every publication.
    pub calls_version: Arc<std::sync::atomic::AtomicU64>,
    /// The media relay, for live per-leg counters in the call status.
    pub media: Mutex<Option<Arc<crate::media_io::MediaRelay>>>,
    /// H.323 calls in progress, as the H.323 call task last published them.
    pub h323_calls: Mutex<Vec<crate::h323_calls::H323CallStatus>>,
    /// The TURN server, for `/api/v1/turn`.
    pub turn: Arc<Mutex<Option<Arc<crate::turn_io::TurnService>>>>,
    /// Metrics.
    pub metrics: Metrics,
    registry: Mutex<Registry>,
}

/// Unix time now, in seconds.
pub fn unix_now() -> u64 {
    unix_now_ms() / 1000
}

/// Unix time now, in milliseconds.
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Shared {
    /// Shared state for `cfg`, with every zone listed in its initial state.
    pub fn new(cfg: &Resolved) -> Arc<Self> {
        let server = cfg
            .server_zones
            .iter()
            .filter(|z| z.sip_mode || z.h323_mode)
            .map(|z| {
                let mut s = ZoneStatus::initial(
                    &z.name,
                    "server",
                    None,
                    z.sip_transport,
                    z.sip_port,
                    "down",
                );
                if z.h323_mode {
                    s.h323 = Some(H323ZoneStatus::initial(z.h323_port, "down", None));
                }
                s
            });
        let client = cfg
            .client_zones
            .iter()
            .filter(|z| z.sip_mode || z.h323_mode)
            .map(|z| {
                let peer = z.peers.first().map(|p| p.to_string());
                let h323 = z.h323_mode.then(|| {
                    H323ZoneStatus::initial(
                        z.h323_port,
                        "connecting",
                        z.peers
                            .first()
                            .map(|p| format!("{}:{}", p.host, z.h323_port)),
                    )
                });
                let mut s = ZoneStatus::initial(
                    &z.name,
                    "client",
                    peer,
                    z.sip_transport,
                    z.sip_port,
                    "connecting",
                );
                s.h323 = h323;
                s
            });
        let zones: Vec<ZoneStatus> = server.chain(client).collect();
        let metrics = Metrics::default();
        let mut registry = Registry::with_prefix("exp");
        registry.register(
            "zone_up",
            "1 when the traversal zone is active",
            metrics.zone_up.clone(),
        );
        registry.register(
            "zone_connections_accepted",
            "Connections accepted on a traversal server zone port",
            metrics.connections_accepted.clone(),
        );
        registry.register(
            "zone_auth_rejections",
            "Traversal client authentications refused, by reason",
            metrics.auth_rejections.clone(),
        );
        registry.register(
            "zone_connection_errors",
            "Zone connections closed for malformed input, limits, timeouts or I/O errors",
            metrics.connection_errors.clone(),
        );
        registry.register(
            "h323_ras_refusals",
            "H.323 RAS messages refused, by reason",
            metrics.h323_refusals.clone(),
        );
        registry.register(
            "zone_reconnects",
            "Traversal client zone reconnects",
            metrics.reconnects.clone(),
        );
        registry.register(
            "zone_probes",
            "Zone probes sent (client) or answered (server)",
            metrics.probes.clone(),
        );
        registry.register(
            "zone_probe_timeouts",
            "Zone probes that got no answer in time",
            metrics.probe_timeouts.clone(),
        );
        registry.register(
            "zone_probe_rtt_microseconds",
            "Round trip of the last answered zone probe",
            metrics.probe_rtt_us.clone(),
        );
        registry.register(
            "zone_version_mismatch",
            "1 when the zone's peer runs another version",
            metrics.version_mismatch.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since the program started",
            metrics.uptime_seconds.clone(),
        );
        for (name, help, c) in [
            (
                "media_relayed_packets",
                "Media datagrams relayed",
                &metrics.media_relayed_packets,
            ),
            (
                "media_relayed_bytes",
                "Media bytes relayed, without mux prefixes",
                &metrics.media_relayed_bytes,
            ),
            (
                "media_keepalives_received",
                "Media keep-alives received from traversal clients",
                &metrics.media_keepalives_received,
            ),
            (
                "media_keepalives_sent",
                "Media keep-alives sent toward the traversal server",
                &metrics.media_keepalives_sent,
            ),
            (
                "media_idle_streams",
                "Media streams ended after media.idle_timeout without media",
                &metrics.media_idle_streams,
            ),
            (
                "media_relatched",
                "Media streams moved to a new source by the relatch policy",
                &metrics.media_relatched,
            ),
        ] {
            registry.register(name, help, c.clone());
        }
        registry.register(
            "media_dropped",
            "Media datagrams dropped, by reason",
            metrics.media_dropped.clone(),
        );
        registry.register(
            "media_streams",
            "Media streams relayed now",
            metrics.media_streams.clone(),
        );
        registry.register(
            "media_port_pairs_free",
            "Free RTP/RTCP port pairs of the media range",
            metrics.media_port_pairs_free.clone(),
        );
        let turn = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(crate::turn_metrics::TurnCollector(turn.clone())));
        for z in &zones {
            metrics
                .zone_up
                .get_or_create(&ZoneLabel {
                    zone: z.name.clone(),
                })
                .set(0);
        }
        Arc::new(Shared {
            role: cfg.role,
            system_name: cfg.system_name.clone(),
            started: Instant::now(),
            zones: Mutex::new(zones),
            calls: Arc::new(Mutex::new(Vec::new())),
            media: Mutex::new(None),
            h323_calls: Mutex::new(Vec::new()),
            turn,
            calls_wanted: Arc::new(tokio::sync::Notify::new()),
            calls_version: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            metrics,
            registry: Mutex::new(registry),
        })
    }

    /// Calls in progress as last published, with their media counters as of now; asks the
    /// call task for a fresh publication (seen by the next call).
    pub fn calls_now(&self) -> Vec<crate::calls::CallStatus> {
        self.calls_wanted.notify_one();
        let mut calls = self.calls.lock().map(|c| c.clone()).unwrap_or_default();
        let media = self.media.lock().ok().and_then(|m| m.clone());
        if let Some(m) = media {
            for c in &mut calls {
                c.media = crate::anchor::media_status(&m, &c.streams);
            }
        }
        calls
    }

    /// A fresh publication of the calls: waits (up to 200 ms) for the call task to publish.
    pub async fn calls_fresh(&self) -> Vec<crate::calls::CallStatus> {
        use std::sync::atomic::Ordering;
        let before = self.calls_version.load(Ordering::SeqCst);
        self.calls_wanted.notify_one();
        for _ in 0..40 {
            if self.calls_version.load(Ordering::SeqCst) != before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.calls_now()
    }

    /// Snapshot of every zone.
    pub fn zones(&self) -> Vec<ZoneStatus> {
        self.zones.lock().map(|z| z.clone()).unwrap_or_default()
    }

    /// Snapshot of one zone.
    pub fn zone(&self, name: &str) -> Option<ZoneStatus> {
        self.zones().into_iter().find(|z| z.name == name)
    }

    /// Change a zone's status; the state's `since` and the `zone_up` gauge follow.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut ZoneStatus)) {
        let Ok(mut zones) = self.zones.lock() else {
            return;
        };
        let Some(z) = zones.iter_mut().find(|z| z.name == name) else {
            return;
        };
        let before = z.state;
        f(z);
        if z.state != before {
            z.since_unix = unix_now();
        }
        let label = ZoneLabel {
            zone: name.to_string(),
        };
        self.metrics
            .zone_up
            .get_or_create(&label)
            .set(i64::from(z.state == "active"));
        self.metrics
            .version_mismatch
            .get_or_create(&label)
            .set(i64::from(z.version_mismatch));
    }

    /// Prometheus text exposition of every metric.
    pub fn metrics_text(&self) -> String {
        self.metrics
            .uptime_seconds
            .set(self.started.elapsed().as_secs());
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            if prometheus_client::encoding::text::encode(&mut out, &reg).is_err() {
                out.clear();
            }
        }
        out
    }

    /// Count one event in a per-zone-and-reason counter family.
    pub fn count(family: &Family<ZoneReason, Counter>, zone: &str, reason: &str) {
        family
            .get_or_create(&ZoneReason {
                zone: zone.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Count one event in a per-zone counter family.
    pub fn count_zone(family: &Family<ZoneLabel, Counter>, zone: &str) {
        family
            .get_or_create(&ZoneLabel {
                zone: zone.to_string(),
            })
            .inc();
    }
}

/// Version comparison result for status and logs.
pub fn version_warning(peer_program: &str, peer_version: Option<&str>) -> Option<String> {
    match peer_version {
        Some(v) if v == VERSION => None,
        Some(v) => Some(format!(
            "version mismatch: {peer_program} runs {v}, this system runs {VERSION}; run the same version on both sides"
        )),
        None => Some(format!("{peer_program} did not send its version")),
    }
}
