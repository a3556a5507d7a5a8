//! A running program: every listener, zone driver and the admin API, started from one
//! resolved configuration.
//!
//! Everything binds before anything is spawned, so a port that cannot be had fails the start
//! with a message instead of leaving half a system running. Dropping a [`Node`] stops all its
//! tasks and closes all its sockets, as a killed process would; tests use that to restart.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use exp_zone::{Resolved, Transport};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::status::{Shared, ZoneStatus};
use exp_sip::b2bua::{Engine, EngineConfig};
use exp_sip::framer::Limits as FrameLimits;
use exp_sip::txn::TimerConfig;

use crate::anchor::Anchor;
use crate::calls::{self, CallBus, RuntimeEnv};
use crate::media_io::MediaRelay;
use crate::sip_transport::SipTransport;
use crate::{admin, client_zone, server_zone, tls};

/// What [`Node::reload`] did.
#[derive(Clone, Debug, Default)]
pub struct ReloadReport {
    /// Changes now in force.
    pub applied: Vec<String>,
    /// Sections whose changes take effect at the next restart.
    pub restart_needed: Vec<&'static str>,
}

/// The parts of a configuration only a restart applies, where `new` differs from `old`.
fn restart_needed(old: &Resolved, new: &Resolved) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("system", old.system_name == new.system_name);
    check("admin", old.admin_listen == new.admin_listen);
    check(
        "network",
        old.listen_address == new.listen_address && old.nat_address == new.nat_address,
    );
    check("tls", old.tls_identity == new.tls_identity);
    check("limits", old.limits == new.limits);
    check("server_zones", old.server_zones == new.server_zones);
    check("client_zones", old.client_zones == new.client_zones);
    check("routes", old.router == new.router);
    check("sip", old.sip == new.sip);
    check("media", old.media == new.media);
    // Zones check the credentials they were started with.
    check(
        "credentials (traversal zones)",
        old.credentials == new.credentials || old.server_zones.is_empty(),
    );
    out
}

/// Connects the TURN server's delegated credential checks to the traversal client of
/// `plan.credential_zone`: each username it asks about becomes a check on that zone's
/// connection, answered back to the TURN thread.
fn delegate_checks(
    turn: &Arc<crate::turn_io::TurnService>,
    plan: &exp_zone::turn::TurnPlan,
    zones: &[Arc<server_zone::ServerZoneCtx>],
    realm: &str,
) {
    let Some(name) = &plan.credential_zone else {
        return;
    };
    let Some(ctx) = zones.iter().find(|z| z.name() == name).cloned() else {
        warn!(zone = %name, "turn.credential_zone names no running server zone; delegated checks are off");
        return;
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    turn.set_credential_asker(tx);
    let turn = Arc::downgrade(turn);
    let realm = realm.to_string();
    tokio::spawn(async move {
        while let Some(user) = rx.recv().await {
            let (ctx, turn, realm) = (ctx.clone(), turn.clone(), realm.clone());
            tokio::spawn(async move {
                let r = ctx
                    .check_credential(&user, &realm, std::time::Duration::from_secs(2))
                    .await;
                match &r {
                    Ok(found) => {
                        info!(zone = %ctx.name(), %user, known = found.is_some(), "delegated TURN credential check answered")
                    }
                    Err(why) => {
                        warn!(zone = %ctx.name(), %user, "delegated TURN credential check failed: {why}")
                    }
                }
                if let Some(t) = turn.upgrade() {
                    t.credential_answer(user, r.map_err(|_| ()));
                }
            });
        }
    });
}

/// H.323's sockets, bound, and what its tasks need; [`H323Start::spawn`] starts them.
struct H323Start {
    registrars: Vec<(
        tokio::net::UdpSocket,
        crate::h323_ras::RegistrarKind,
        std::net::IpAddr,
    )>,
    listeners: Vec<(tokio::net::TcpListener, bool)>,
    clients: Vec<exp_zone::ClientZone>,
    task: crate::h323_calls::H323Task,
    system_name: String,
    listen: std::net::IpAddr,
    creds: Arc<exp_zone::CredentialDb>,
    news_rx: tokio::sync::mpsc::Receiver<crate::h323_ras::RasNews>,
}

impl H323Start {
    async fn bind(
        cfg: &Resolved,
        plan: &exp_zone::H323Plan,
        media: Arc<MediaRelay>,
        creds: &Arc<exp_zone::CredentialDb>,
        shared: &Arc<Shared>,
    ) -> anyhow::Result<Self> {
        use crate::h323_ras::{self, RegistrarKind};
        let (news_tx, news_rx) = tokio::sync::mpsc::channel(1024);
        let bus = h323_ras::H323Bus::new(news_tx);
        // Traversal clients reach us on the internal address of a two-interface exp-e.
        let inside = cfg.media.internal_address.unwrap_or(cfg.sip.advertised);
        // RAS answers must leave from the address the client sent to, or its firewall's
        // conntrack (and the client) sees a stranger: with a wildcard listen address, bind to
        // the address clients use when it is one of ours (as the media relay does).
        let ras_ip = |want: std::net::IpAddr| {
            if cfg.listen_address.is_unspecified()
                && std::net::UdpSocket::bind(SocketAddr::new(want, 0)).is_ok()
            {
                want
            } else {
                cfg.listen_address
            }
        };
        let mut registrars = Vec::new();
        for z in cfg.server_zones.iter().filter(|z| z.h323_mode) {
            let addr = SocketAddr::new(ras_ip(inside), z.h323_port);
            let s = h323_ras::bind(addr, &format!("zone `{}`", z.name)).await?;
            registrars.push((s, RegistrarKind::Zone(z.clone()), inside));
        }
        if let Some(p) = plan.ras_port {
            let s = h323_ras::bind(
                SocketAddr::new(cfg.listen_address, p),
                "direct-registration",
            )
            .await?;
            registrars.push((s, RegistrarKind::Direct, cfg.sip.advertised));
        }
        let mut listeners = Vec::new();
        if let Some(p) = plan.call_signalling_port {
            let l = crate::h323_calls::bind(
                SocketAddr::new(cfg.listen_address, p),
                "H.460.18 call-signalling",
            )
            .await?;
            listeners.push((l, true));
        }
        if let Some(p) = plan.listen_port {
            let l =
                crate::h323_calls::bind(SocketAddr::new(cfg.listen_address, p), "H.225.0").await?;
            listeners.push((l, false));
        }
        let task = crate::h323_calls::H323Task {
            role: cfg.role,
            plan: plan.clone(),
            router: cfg.router.clone(),
            server_zones: cfg
                .server_zones
                .iter()
                .filter(|z| z.h323_mode)
                .map(|z| (z.name.clone(), true))
                .collect(),
            client_zones: cfg
                .client_zones
                .iter()
                .filter(|z| z.h323_mode)
                .map(|z| (z.name.clone(), true))
                .collect(),
            bus,
            media: crate::h323_media::H323Media::new(
                media,
                plan.keepalive_payload_type,
                cfg.media.keepalive_interval.as_secs().clamp(1, 3600) as u32,
                cfg.server_zones
                    .iter()
                    .filter(|z| z.h323_mode && !z.h460_19_demux)
                    .map(|z| z.name.clone())
                    .collect(),
            ),
            shared: shared.clone(),
        };
        Ok(H323Start {
            registrars,
            listeners,
            clients: cfg
                .client_zones
                .iter()
                .filter(|z| z.h323_mode)
                .cloned()
                .collect(),
            task,
            system_name: cfg.system_name.clone(),
            listen: cfg.listen_address,
            creds: creds.clone(),
            news_rx,
        })
    }

    fn spawn(self) -> Vec<JoinHandle<()>> {
        let mut out = Vec::new();
        let bus = self.task.bus.clone();
        let shared = self.task.shared.clone();
        let plan = self.task.plan.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        for (socket, kind, advertised) in self.registrars {
            out.push(tokio::spawn(crate::h323_ras::serve_registrar(
                socket,
                kind,
                plan.clone(),
                self.system_name.clone(),
                advertised,
                self.creds.clone(),
                shared.clone(),
                bus.clone(),
            )));
        }
        for (l, traversal) in self.listeners {
            if let Ok(a) = l.local_addr() {
                info!(addr = %a, traversal, "H.323 call signalling listening");
            }
            out.push(tokio::spawn(crate::h323_calls::accept_loop(
                l,
                traversal,
                tx.clone(),
            )));
        }
        for z in self.clients {
            out.push(tokio::spawn(crate::h323_ras::drive_client(
                z,
                plan.clone(),
                self.listen,
                shared.clone(),
                bus.clone(),
            )));
        }
        out.push(tokio::spawn(crate::h323_calls::run(
            self.task,
            rx,
            tx,
            self.news_rx,
        )));
        out
    }
}

/// exp-e's certificate for TURN over TLS, when TURN runs and a certificate is configured.
fn turn_tls(cfg: &Resolved) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    match (&cfg.turn, &cfg.tls_identity) {
        (Some(_), Some(id)) => Ok(Some(tls::server_config(id).context("TLS identity")?)),
        _ => Ok(None),
    }
}

/// A started exp-e or exp-c.
pub struct Node {
    shared: Arc<Shared>,
    admin_addr: Option<SocketAddr>,
    zone_addrs: Vec<(String, SocketAddr)>,
    tasks: Vec<JoinHandle<()>>,
    media: Option<Arc<MediaRelay>>,
    /// The configuration in force, as reloads compare it.
    current: Resolved,
    /// Server zone contexts, for delegated TURN credential checks.
    zone_ctxs: Vec<Arc<server_zone::ServerZoneCtx>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(m) = &self.media {
            m.stop();
        }
        if let Ok(mut m) = self.shared.media.lock() {
            *m = None;
        }
        if let Ok(mut t) = self.shared.turn.lock() {
            *t = None;
        }
    }
}

impl Node {
    /// Bind and start everything `cfg` describes.
    pub async fn start(cfg: Resolved) -> anyhow::Result<Node> {
        for w in &cfg.warnings {
            warn!(key = %w.key, "configuration: {}", w.message);
        }
        let shared = Shared::new(&cfg);
        let mut tasks = Vec::new();
        let mut zone_addrs = Vec::new();

        let server_tls = match &cfg.tls_identity {
            Some(id)
                if cfg.sip.tls.is_some()
                    || cfg
                        .server_zones
                        .iter()
                        .any(|z| z.sip_transport == Transport::Tls) =>
            {
                Some(TlsAcceptor::from(
                    tls::server_config(id).context("TLS identity")?,
                ))
            }
            _ => None,
        };
        let creds = Arc::new(cfg.credentials.clone());
        // The call layer: a B2BUA engine fed by the SIP listeners and the zones.
        let (call_tx, call_rx) = tokio::sync::mpsc::channel(4096);
        let bus = CallBus::new(call_tx.clone());
        let (sip_transport, sip_loops) = {
            let udp = cfg.sip.udp.map(|p| SocketAddr::new(cfg.listen_address, p));
            let tcp = cfg.sip.tcp.map(|p| SocketAddr::new(cfg.listen_address, p));
            let tls = match (cfg.sip.tls, &server_tls) {
                (Some(p), Some(acceptor)) => {
                    Some((SocketAddr::new(cfg.listen_address, p), acceptor.clone()))
                }
                _ => None,
            };
            if udp.is_some() || tcp.is_some() || tls.is_some() {
                let connector = match &cfg.sip.tls_trust {
                    Some(ca) => Some(tokio_rustls::TlsConnector::from(
                        tls::client_config(&exp_zone::resolve::ClientTls {
                            ca_file: Some(ca.clone()),
                            pinned_sha256: Vec::new(),
                            server_name: None,
                            insecure: false,
                        })
                        .context("sip.tls_ca_file")?,
                    )),
                    None => None,
                };
                let (t, loops) = SipTransport::bind(
                    udp,
                    tcp,
                    tls,
                    connector,
                    FrameLimits {
                        max_header_bytes: cfg.limits.max_header_bytes,
                        max_body_bytes: cfg.limits.max_body_bytes,
                    },
                    call_tx.clone(),
                )
                .await?;
                (Some(t), loops)
            } else {
                (None, Vec::new())
            }
        };
        // The media relay, whenever this program carries SIP calls.
        let (idle_tx, idle_rx) = tokio::sync::mpsc::unbounded_channel();
        let carries_calls = sip_transport.is_some()
            || cfg.server_zones.iter().any(|z| z.sip_mode)
            || cfg.client_zones.iter().any(|z| z.sip_mode)
            || cfg.h323.is_some();
        let media = if carries_calls {
            Some(Arc::new(MediaRelay::start(
                &cfg.media,
                cfg.listen_address,
                shared.clone(),
                idle_tx,
            )?))
        } else {
            None
        };
        if let Ok(mut m) = shared.media.lock() {
            m.clone_from(&media);
        }
        // The TURN server (exp-e, when enabled), on its own thread.
        let turn = match &cfg.turn {
            Some(plan) => Some(Arc::new(crate::turn_io::TurnService::start(
                plan,
                &cfg.realm,
                Arc::new(cfg.credentials.clone()),
                turn_tls(&cfg)?,
            )?)),
            None => None,
        };
        if let Ok(mut t) = shared.turn.lock() {
            t.clone_from(&turn);
        }
        let mut listeners = Vec::new();
        for z in cfg.server_zones.iter().filter(|z| z.sip_mode) {
            let addr = SocketAddr::new(cfg.listen_address, z.sip_port);
            let l = server_zone::bind(addr, &z.name).await?;
            let local = l.local_addr()?;
            zone_addrs.push((z.name.clone(), local));
            let acceptor = match z.sip_transport {
                Transport::Tls => server_tls.clone(),
                Transport::Tcp => None,
            };
            let ctx = server_zone::ServerZoneCtx::new(
                z.clone(),
                cfg.limits.clone(),
                cfg.realm.clone(),
                creds.clone(),
                acceptor,
                shared.clone(),
                Some(bus.clone()),
            );
            listeners.push((l, ctx));
        }

        let admin = match cfg.admin_listen {
            Some(addr) => Some(admin::bind(addr, shared.clone()).await?),
            None => None,
        };

        let mut client_tls = Vec::new();
        for z in cfg.client_zones.iter().filter(|z| z.sip_mode) {
            let t = match z.sip_transport {
                Transport::Tls => Some(
                    tls::client_config(&z.tls).with_context(|| format!("zone `{}` TLS", z.name))?,
                ),
                Transport::Tcp => None,
            };
            client_tls.push((z.clone(), t));
        }

        let h323 = match (&cfg.h323, &media) {
            (Some(plan), Some(m)) => {
                Some(H323Start::bind(&cfg, plan, m.clone(), &creds, &shared).await?)
            }
            _ => None,
        };
        let zone_ctxs: Vec<_> = listeners.iter().map(|(_, c)| c.clone()).collect();
        if let (Some(t), Some(plan)) = (&turn, &cfg.turn) {
            delegate_checks(t, plan, &zone_ctxs, &cfg.realm);
        }
        // Everything is bound: start.
        for (l, ctx) in listeners {
            tasks.push(tokio::spawn(server_zone::serve(l, ctx)));
        }
        let admin_addr = match admin {
            Some((addr, fut)) => {
                tasks.push(tokio::spawn(fut));
                info!(%addr, "admin API listening");
                Some(addr)
            }
            None => None,
        };
        for (name, addr) in &zone_addrs {
            info!(zone = %name, %addr, "traversal server zone listening");
        }
        for (z, t) in client_tls {
            let answers = z.turn_credentials.then(|| creds.clone());
            info!(zone = %z.name, peers = ?z.peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(), "traversal client zone starting");
            tasks.push(tokio::spawn(client_zone::drive(
                z,
                cfg.role,
                cfg.limits.clone(),
                t,
                shared.clone(),
                Some(bus.clone()),
                answers,
            )));
        }
        if let Some(t) = &sip_transport {
            if let Some(a) = t.udp_addr() {
                info!(addr = %a, "SIP listening (udp)");
            }
        }
        for l in sip_loops {
            tasks.push(tokio::spawn(l));
        }
        if let Some(h) = h323 {
            tasks.extend(h.spawn());
        }
        let engine = Engine::new(
            EngineConfig {
                timers: TimerConfig::default(),
                max_calls: 10_000,
                invite_timeout: std::time::Duration::from_secs(180),
                product: format!("{}/{}", cfg.role.program(), crate::status::VERSION),
                system_name: cfg.system_name.clone(),
            },
            crate::seed(),
        );
        // Host-name targets are resolved in the background (never on a call's path).
        let names = Arc::new(crate::target_names::TargetNames::default());
        let named = crate::target_names::named_targets(&cfg.router);
        if !named.is_empty() {
            tasks.push(tokio::spawn(
                names.clone().keep_fresh(named, sip_transport.clone()),
            ));
        }
        let env = RuntimeEnv::new(
            cfg.router.clone(),
            bus.clone(),
            cfg.sip.advertised,
            cfg.sip.udp.unwrap_or(0),
            cfg.sip.tcp.unwrap_or(0),
            media
                .clone()
                .map(|m| Anchor::new(m, cfg.server_zones.iter().map(|z| z.name.clone()).collect())),
            names,
        )
        .with_hop_counts(
            cfg.server_zones
                .iter()
                .map(|z| (z.name.clone(), z.hop_count))
                .chain(
                    cfg.client_zones
                        .iter()
                        .map(|z| (z.name.clone(), z.hop_count)),
                ),
        );
        tasks.push(tokio::spawn(calls::run(
            engine,
            env,
            bus,
            sip_transport,
            shared.clone(),
            call_rx,
            idle_rx,
        )));
        drop(turn);
        Ok(Node {
            shared,
            admin_addr,
            zone_addrs,
            tasks,
            media,
            current: cfg,
            zone_ctxs,
        })
    }

    /// The TURN server, when enabled.
    pub fn turn(&self) -> Option<Arc<crate::turn_io::TurnService>> {
        self.shared.turn.lock().ok().and_then(|t| t.clone())
    }

    /// Applies a new configuration to what can change while running, and says what it did:
    /// the TURN server (started, stopped, or reconfigured with its allocations kept) and the
    /// credentials it checks. Every other difference waits for a restart; it is listed in
    /// the report so the operator knows. On an error nothing has changed.
    pub fn reload(&mut self, cfg: Resolved) -> anyhow::Result<ReloadReport> {
        let mut report = ReloadReport::default();
        let creds = Arc::new(cfg.credentials.clone());
        let running = self.turn();
        match (&cfg.turn, running) {
            (Some(plan), Some(t)) => {
                if self.current.turn.as_ref() != Some(plan)
                    || self.current.credentials != cfg.credentials
                    || self.current.realm != cfg.realm
                {
                    t.reconfigure(plan, &cfg.realm, creds)?;
                    let was = self
                        .current
                        .turn
                        .as_ref()
                        .and_then(|p| p.credential_zone.as_ref());
                    if plan.credential_zone.as_ref() != was {
                        delegate_checks(&t, plan, &self.zone_ctxs, &cfg.realm);
                    }
                    report
                        .applied
                        .push("turn: settings applied, allocations kept".into());
                }
            }
            (Some(plan), None) => {
                let t = Arc::new(crate::turn_io::TurnService::start(
                    plan,
                    &cfg.realm,
                    creds,
                    turn_tls(&cfg)?,
                )?);
                delegate_checks(&t, plan, &self.zone_ctxs, &cfg.realm);
                if let Ok(mut slot) = self.shared.turn.lock() {
                    *slot = Some(t);
                }
                report.applied.push("turn: started".into());
            }
            (None, Some(_)) => {
                if let Ok(mut slot) = self.shared.turn.lock() {
                    *slot = None;
                }
                report.applied.push("turn: stopped".into());
            }
            (None, None) => {}
        }
        report.restart_needed = restart_needed(&self.current, &cfg);
        for w in &cfg.warnings {
            warn!(key = %w.key, "configuration: {}", w.message);
        }
        self.current = cfg;
        Ok(report)
    }

    /// Where the admin API listens.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Where each server zone listens.
    pub fn zone_addrs(&self) -> &[(String, SocketAddr)] {
        &self.zone_addrs
    }

    /// Status of every zone.
    pub fn zones(&self) -> Vec<ZoneStatus> {
        self.shared.zones()
    }

    /// Status of one zone.
    pub fn zone(&self, name: &str) -> Option<ZoneStatus> {
        self.shared.zone(name)
    }

    /// Calls in progress.
    pub fn calls(&self) -> Vec<calls::CallStatus> {
        self.shared.calls_now()
    }

    /// Media relay counters and (free, total) port pairs, when media is relayed.
    pub fn media(&self) -> Option<(exp_media::Counters, (usize, usize))> {
        self.media.as_ref().map(|m| (m.counters(), m.pool()))
    }

    /// exp-e's media demultiplexing pairs (empty without media or on exp-c).
    pub fn demux_ports(&self) -> Vec<(u16, u16)> {
        self.media
            .as_ref()
            .map(|m| m.demux().to_vec())
            .unwrap_or_default()
    }

    /// Prometheus text of the metrics.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics_text()
    }
}
