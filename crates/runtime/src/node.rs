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
use crate::{admin, client_zone, server_zone, tls};

/// A started exp-e or exp-c.
pub struct Node {
    shared: Arc<Shared>,
    admin_addr: Option<SocketAddr>,
    zone_addrs: Vec<(String, SocketAddr)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
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
                if cfg
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
            info!(zone = %z.name, peers = ?z.peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(), "traversal client zone starting");
            tasks.push(tokio::spawn(client_zone::drive(
                z,
                cfg.role,
                cfg.limits.clone(),
                t,
                shared.clone(),
            )));
        }
        Ok(Node {
            shared,
            admin_addr,
            zone_addrs,
            tasks,
        })
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

    /// Prometheus text of the metrics.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics_text()
    }
}
