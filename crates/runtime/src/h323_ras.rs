//! The RAS side of H.323 on UDP: one task per traversal server zone's H.323 port (exp-e), one
//! per traversal client zone with H.323 on (exp-c), and the registrar on RAS port 1719 for
//! H.460.18 endpoints that register to exp-e directly.
//!
//! The tasks only move datagrams and timers; [`Registrar`] and [`RasClient`] decide. What
//! the call layer needs from them (who is registered, where to connect for an incoming call)
//! goes through [`H323Bus`]; status and refusal counters go to [`Shared`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exp_h460::h225::CallIdentifier;
use exp_h460::ras_client::{ClientEvent, RasClient, RasClientConfig};
use exp_h460::ras_server::{Access, Event, Registrar, RegistrarConfig};
use exp_probe::ProbeConfig;
use exp_zone::resolve::{ClientZone, ServerZone};
use exp_zone::{CredentialDb, H323Plan};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::status::{unix_now, unix_now_ms, Shared};

/// What the RAS tasks tell the H.323 call task.
#[derive(Debug)]
pub enum RasNews {
    /// exp-c: the server has a call for zone `zone`; open a connection to `call_signal` and
    /// bind it with a Facility carrying `call_id`.
    IncomingCall {
        /// Client zone.
        zone: String,
        /// exp-e's H.460.18 call-signalling address.
        call_signal: SocketAddr,
        /// The call.
        call_id: CallIdentifier,
    },
    /// exp-e: an incoming-call indication went unanswered.
    IndicationFailed {
        /// The call.
        call_id: CallIdentifier,
    },
    /// A zone's registration ended (its calls end too).
    ZoneDown {
        /// Zone.
        zone: String,
    },
}

/// Commands to a registrar task.
#[derive(Debug)]
pub enum RasCommand {
    /// Send the incoming-call indication for `call_id` to `endpoint_id`.
    IncomingCall {
        /// Registered endpoint.
        endpoint_id: String,
        /// The call.
        call_id: CallIdentifier,
    },
}

/// One registration as the call layer sees it.
#[derive(Clone, Debug)]
pub struct Registered {
    /// Endpoint identifier.
    pub endpoint_id: String,
    /// Source address of its RAS messages (its NAT's public side).
    pub ras_from: SocketAddr,
    /// It does H.460.18: calls go through an incoming-call indication.
    pub traversal: bool,
    /// Its declared call-signalling addresses (for endpoints without H.460.18).
    pub call_signal: Vec<SocketAddr>,
    /// The registrar task to ask for incoming-call indications.
    pub commands: mpsc::Sender<RasCommand>,
}

/// Where the RAS tasks and the H.323 call task meet.
pub struct H323Bus {
    news: mpsc::Sender<RasNews>,
    /// exp-e: the registration of each H.323 server zone.
    server_zones: Mutex<HashMap<String, Registered>>,
    /// exp-c: each active client zone's exp-e call-signalling address and our endpoint
    /// identifier there.
    client_zones: Mutex<HashMap<String, (SocketAddr, String)>>,
    /// exp-e: directly registered endpoints by alias.
    endpoints: Mutex<HashMap<String, Registered>>,
}

impl H323Bus {
    /// A bus delivering news into `news`.
    pub fn new(news: mpsc::Sender<RasNews>) -> Arc<Self> {
        Arc::new(H323Bus {
            news,
            server_zones: Mutex::new(HashMap::new()),
            client_zones: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
        })
    }

    /// The registration of server zone `zone`, if its client is registered.
    pub fn server_zone(&self, zone: &str) -> Option<Registered> {
        self.server_zones.lock().ok()?.get(zone).cloned()
    }

    /// The server zone whose registered client has endpoint identifier `endpoint_id` and
    /// sends from `ip`.
    pub fn server_zone_of(&self, endpoint_id: &str, ip: IpAddr) -> Option<String> {
        let zones = self.server_zones.lock().ok()?;
        zones
            .iter()
            .find(|(_, r)| r.endpoint_id == endpoint_id && r.ras_from.ip() == ip)
            .map(|(z, _)| z.clone())
    }

    /// Zones whose registered client sends from `ip`.
    pub fn server_zones_from(&self, ip: IpAddr) -> Vec<String> {
        self.server_zones
            .lock()
            .map(|z| {
                z.iter()
                    .filter(|(_, r)| r.ras_from.ip() == ip)
                    .map(|(z, _)| z.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// exp-c: the call-signalling address of active client zone `zone`, and our endpoint
    /// identifier there.
    pub fn client_zone(&self, zone: &str) -> Option<(SocketAddr, String)> {
        self.client_zones.lock().ok()?.get(zone).cloned()
    }

    /// A directly registered endpoint by alias.
    pub fn endpoint(&self, alias: &str) -> Option<Registered> {
        self.endpoints.lock().ok()?.get(alias).cloned()
    }

    fn news(&self, n: RasNews) {
        if self.news.try_send(n).is_err() {
            warn!("H.323 call task is not keeping up; RAS news dropped");
        }
    }
}

/// Binds a RAS socket.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {what} RAS port {addr}: {e}"))
}

fn registrar_config(
    plan: &H323Plan,
    ras: SocketAddr,
    cs: SocketAddr,
    access: Access,
) -> RegistrarConfig {
    RegistrarConfig {
        gatekeeper_id: String::new(),
        ras_address: ras,
        call_signal_address: cs,
        time_to_live: plan.time_to_live,
        clock_tolerance: plan.clock_tolerance,
        retry_interval: Duration::from_secs(1),
        retry_count: 4,
        multiplex_media: true,
        access,
    }
}

/// What one registrar task serves.
pub enum RegistrarKind {
    /// A traversal server zone (its status is updated under its name).
    Zone(ServerZone),
    /// RAS port 1719: direct registrations.
    Direct,
}

/// Runs a registrar on `socket`. `advertised` is the address clients reach us on (for the
/// RAS and call-signalling addresses we hand out).
#[allow(clippy::too_many_arguments)]
pub async fn serve_registrar(
    socket: UdpSocket,
    kind: RegistrarKind,
    plan: H323Plan,
    system_name: String,
    advertised: IpAddr,
    creds: Arc<CredentialDb>,
    shared: Arc<Shared>,
    bus: Arc<H323Bus>,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let ras = SocketAddr::new(advertised, local.port());
    let cs = SocketAddr::new(advertised, plan.call_signalling_port.unwrap_or(2777));
    let (label, access) = match &kind {
        RegistrarKind::Zone(z) => {
            let key = creds.h235_key(&z.username).unwrap_or_else(|| {
                warn!(zone = %z.name, user = %z.username, "no h235_sha1 for the zone user: every H.323 registration will be refused");
                // A key nobody can know: SHA-1 of fresh randomness.
                exp_h460::h235::key(&format!("{:?}", crate::seed()))
            });
            (
                z.name.clone(),
                Access::Zone {
                    username: z.username.clone(),
                    key,
                },
            )
        }
        RegistrarKind::Direct => (
            "ras".to_string(),
            Access::Directory {
                keys: creds.h235_keys().map(|(u, k)| (u.to_string(), k)).collect(),
                open: plan.open_registration,
            },
        ),
    };
    let mut config = registrar_config(&plan, ras, cs, access);
    config.gatekeeper_id = system_name;
    let mut reg = Registrar::new(config);
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<RasCommand>(256);
    let zone_name = match &kind {
        RegistrarKind::Zone(z) => Some(z.name.clone()),
        RegistrarKind::Direct => None,
    };
    let sip_mode = matches!(&kind, RegistrarKind::Zone(z) if z.sip_mode);
    info!(zone = %label, addr = %local, "H.323 RAS listening");
    let mut buf = vec![0u8; 65536];
    loop {
        let deadline = reg.poll_timeout();
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                match r {
                    Ok((n, from)) => reg.handle_datagram(from, &buf[..n], Instant::now(), unix_now()),
                    Err(e) => {
                        debug!(zone = %label, "RAS receive error: {e}");
                        continue;
                    }
                }
            }
            Some(cmd) = cmd_rx.recv() => match cmd {
                RasCommand::IncomingCall { endpoint_id, call_id } => {
                    if reg.incoming_call(&endpoint_id, call_id, Instant::now(), unix_now()).is_err() {
                        bus.news(RasNews::IndicationFailed { call_id });
                    }
                }
            },
            _ = sleep_until(deadline) => reg.handle_timeout(Instant::now(), unix_now()),
        }
        while let Some(t) = reg.poll_transmit() {
            if let Err(e) = socket.send_to(&t.payload, t.to).await {
                debug!(zone = %label, to = %t.to, "RAS send failed: {e}");
            }
        }
        while let Some(ev) = reg.poll_event() {
            match ev {
                Event::Registered {
                    endpoint_id,
                    username,
                    aliases,
                    from,
                    traversal,
                } => {
                    info!(zone = %label, %from, endpoint = %endpoint_id, user = %username, ?aliases, traversal, "H.323 registration");
                    let call_signal = reg
                        .registrations()
                        .find(|r| r.endpoint_id == endpoint_id)
                        .map(|r| r.call_signal_address.clone())
                        .unwrap_or_default();
                    let r = Registered {
                        endpoint_id: endpoint_id.clone(),
                        ras_from: from,
                        traversal,
                        call_signal,
                        commands: cmd_tx.clone(),
                    };
                    match &zone_name {
                        Some(z) => {
                            if let Ok(mut m) = bus.server_zones.lock() {
                                m.insert(z.clone(), r);
                            }
                            shared.update(z, |s| {
                                if let Some(h) = &mut s.h323 {
                                    h.state = "active";
                                    h.peer = Some(from.to_string());
                                    h.endpoint_id = Some(endpoint_id.clone());
                                    h.time_to_live = Some(plan.time_to_live);
                                    h.last_keepalive_unix_ms = Some(unix_now_ms());
                                    h.warning = None;
                                }
                                if !sip_mode {
                                    s.state = "active";
                                    s.peer = Some(from.to_string());
                                }
                            });
                        }
                        None => {
                            if let Ok(mut m) = bus.endpoints.lock() {
                                m.retain(|_, v| v.endpoint_id != endpoint_id);
                                for a in &aliases {
                                    m.insert(a.clone(), r.clone());
                                }
                            }
                        }
                    }
                }
                Event::Refreshed { endpoint_id } => {
                    if let Some(z) = &zone_name {
                        shared.update(z, |s| {
                            if let Some(h) = &mut s.h323 {
                                h.keepalives += 1;
                                h.last_keepalive_unix_ms = Some(unix_now_ms());
                            }
                        });
                    } else if let Ok(mut m) = bus.endpoints.lock() {
                        // The NAT may have moved the endpoint's RAS port.
                        let from = reg
                            .registrations()
                            .find(|r| r.endpoint_id == endpoint_id)
                            .map(|r| r.ras_from);
                        for v in m.values_mut().filter(|v| v.endpoint_id == endpoint_id) {
                            if let Some(f) = from {
                                v.ras_from = f;
                            }
                        }
                    }
                }
                Event::Ended {
                    endpoint_id,
                    reason,
                } => {
                    info!(zone = %label, endpoint = %endpoint_id, ?reason, "H.323 registration ended");
                    match &zone_name {
                        Some(z) => {
                            let mine = bus
                                .server_zones
                                .lock()
                                .map(|mut m| {
                                    let mine =
                                        m.get(z).is_some_and(|r| r.endpoint_id == endpoint_id);
                                    if mine {
                                        m.remove(z);
                                    }
                                    mine
                                })
                                .unwrap_or(false);
                            if mine {
                                shared.update(z, |s| {
                                    if let Some(h) = &mut s.h323 {
                                        h.state = "down";
                                        h.endpoint_id = None;
                                    }
                                    if !sip_mode {
                                        s.state = "down";
                                    }
                                });
                                bus.news(RasNews::ZoneDown { zone: z.clone() });
                            }
                        }
                        None => {
                            if let Ok(mut m) = bus.endpoints.lock() {
                                m.retain(|_, v| v.endpoint_id != endpoint_id);
                            }
                        }
                    }
                }
                Event::Refused {
                    from,
                    reason,
                    detail,
                } => {
                    warn!(zone = %label, %from, reason, "H.323 RAS message refused: {detail}");
                    Shared::count(&shared.metrics.h323_refusals, &label, reason);
                    if let Some(z) = &zone_name {
                        shared.update(z, |s| {
                            if let Some(h) = &mut s.h323 {
                                *h.refusals.entry(reason.to_string()).or_default() += 1;
                                h.warning = Some(format!("{from}: {detail}"));
                            }
                            s.auth_failures += u64::from(matches!(
                                reason,
                                "wrong-password"
                                    | "clock-skew"
                                    | "replay"
                                    | "unknown-user"
                                    | "no-token"
                            ));
                        });
                    }
                }
                Event::IncomingCallAcknowledged { call_id } => {
                    debug!(zone = %label, call = ?call_id.guid, "incoming-call indication acknowledged");
                }
                Event::IncomingCallFailed { call_id } => {
                    warn!(zone = %label, "incoming-call indication unanswered");
                    bus.news(RasNews::IndicationFailed { call_id });
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one (a select branch for a machine's timer).
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

fn probe_config(z: &ClientZone) -> ProbeConfig {
    let p = &z.probe;
    ProbeConfig {
        keepalive_interval: p.keepalive_interval,
        retry_interval: p.retry_interval,
        retry_count: p.retry_count,
        connect_timeout: p.connect_timeout,
        backoff_initial: p.backoff_initial,
        backoff_max: p.backoff_max,
        crlf_interval: None,
        pong_timeout: p.pong_timeout,
    }
}

/// Runs the RAS side of client zone `zone` (H.323 mode on) until the program stops.
pub async fn drive_client(
    zone: ClientZone,
    plan: H323Plan,
    listen: IpAddr,
    shared: Arc<Shared>,
    bus: Arc<H323Bus>,
) {
    let name = zone.name.clone();
    let socket = match UdpSocket::bind(SocketAddr::new(listen, 0)).await {
        Ok(s) => s,
        Err(e) => {
            warn!(zone = %name, "cannot open the H.323 RAS socket: {e}");
            return;
        }
    };
    let local = socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::new(listen, 0));
    let config = RasClientConfig {
        username: zone.username.clone(),
        key: exp_h460::h235::key(zone.password.expose()),
        probe: probe_config(&zone),
        peers: zone.peers.len(),
        local_ras: local,
        local_call_signal: SocketAddr::new(local.ip(), plan.listen_port.unwrap_or(1720)),
        multiplex_media: true,
        clock_tolerance: plan.clock_tolerance,
    };
    let mut client = RasClient::new(config, Instant::now(), unix_now());
    let mut peer: Option<SocketAddr> = None;
    let sip_mode = zone.sip_mode;
    let mut buf = vec![0u8; 65536];
    loop {
        // Events first: the first Connect names the peer.
        while let Some(ev) = client.poll_event() {
            match ev {
                ClientEvent::Connect { peer: i } => {
                    peer = resolve_peer(&zone, i).await;
                    let shown = peer.map(|p| p.to_string());
                    debug!(zone = %name, peer = ?shown, "H.323 RAS toward peer");
                    shared.update(&name, |s| {
                        if let Some(h) = &mut s.h323 {
                            h.peer = shown.clone();
                        }
                    });
                }
                ClientEvent::Up {
                    gatekeeper_id,
                    endpoint_id,
                    time_to_live,
                    keepalive,
                    call_signal_address,
                } => {
                    info!(zone = %name, gatekeeper = %gatekeeper_id, endpoint = %endpoint_id, time_to_live, keepalive_s = keepalive.as_secs_f64(), "H.323 zone registered");
                    let cs = call_signal_address
                        .filter(|a| !a.ip().is_unspecified())
                        .or_else(|| peer.map(|p| SocketAddr::new(p.ip(), 2777)));
                    if let (Some(cs), Ok(mut m)) = (cs, bus.client_zones.lock()) {
                        m.insert(name.clone(), (cs, endpoint_id.clone()));
                    }
                    shared.update(&name, |s| {
                        if let Some(h) = &mut s.h323 {
                            h.state = "active";
                            h.endpoint_id = Some(endpoint_id.clone());
                            h.time_to_live = Some(time_to_live);
                            h.last_keepalive_unix_ms = Some(unix_now_ms());
                            h.warning = None;
                        }
                        if !sip_mode {
                            s.state = "active";
                        }
                    });
                }
                ClientEvent::Down { reason } => {
                    warn!(zone = %name, %reason, "H.323 zone down");
                    if let Ok(mut m) = bus.client_zones.lock() {
                        m.remove(&name);
                    }
                    bus.news(RasNews::ZoneDown { zone: name.clone() });
                }
                ClientEvent::Refused { reason } => {
                    warn!(zone = %name, %reason, "exp-e refused this zone's H.323 registration (backing off)");
                    Shared::count(&shared.metrics.h323_refusals, &name, "refused-by-server");
                    shared.update(&name, |s| {
                        if let Some(h) = &mut s.h323 {
                            h.warning = Some(format!("refused by the server: {reason}"));
                        }
                    });
                }
                ClientEvent::IncomingCall {
                    call_signal_address,
                    call_id,
                } => {
                    debug!(zone = %name, to = %call_signal_address, "incoming-call indication");
                    bus.news(RasNews::IncomingCall {
                        zone: name.clone(),
                        call_signal: call_signal_address,
                        call_id,
                    });
                }
                ClientEvent::Dropped { reason, detail } => {
                    warn!(zone = %name, reason, "message from exp-e dropped: {detail}");
                    Shared::count(&shared.metrics.h323_refusals, &name, reason);
                    shared.update(&name, |s| {
                        if let Some(h) = &mut s.h323 {
                            *h.refusals.entry(reason.to_string()).or_default() += 1;
                        }
                    });
                }
            }
        }
        let state = client.state();
        shared.update(&name, |s| {
            if let Some(h) = &mut s.h323 {
                h.state = state.as_str();
            }
            if !sip_mode {
                s.state = state.as_str();
                s.reconnect_count = client.probe().reconnect_count();
            }
        });
        while let Some(t) = client.poll_transmit() {
            let Some(to) = peer else { continue };
            if let Err(e) = socket.send_to(&t.payload, to).await {
                debug!(zone = %name, %to, "RAS send failed: {e}");
            }
        }
        let deadline = client.poll_timeout();
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    if Some(from) == peer {
                        client.handle_datagram(&buf[..n], Instant::now(), unix_now());
                    } else {
                        debug!(zone = %name, %from, "RAS datagram from a stranger ignored");
                    }
                }
            }
            _ = sleep_until(deadline) => client.handle_timeout(Instant::now(), unix_now()),
        }
    }
}

async fn resolve_peer(zone: &ClientZone, i: usize) -> Option<SocketAddr> {
    let p = zone.peers.get(i)?;
    if let Some(ip) = p.ip() {
        return Some(SocketAddr::new(ip, zone.h323_port));
    }
    match tokio::net::lookup_host((p.host.as_str(), zone.h323_port)).await {
        Ok(mut a) => a.next(),
        Err(e) => {
            warn!(zone = %zone.name, host = %p.host, "cannot resolve: {e}");
            None
        }
    }
}
