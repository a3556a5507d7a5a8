//! Host names in routing targets (`target = "sbc.dmz.example.com:5060"`), resolved in the
//! background when the program starts and again every [`REFRESH`], so that a call never waits
//! on DNS: routing reads the last answer. A name that has not resolved (yet, or any more)
//! refuses its calls with 503 and a Retry-After; a lookup that fails keeps the previous answer
//! (a DNS hiccup must not take a working route down) and is logged.
//!
//! For TLS targets the SIP transport is told which name each address was reached by, so the
//! target's certificate is checked for the name the operator wrote.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use exp_zone::config::TargetTransport;
use exp_zone::routing::{RouteTarget, Router};
use tracing::{debug, warn};

use crate::sip_transport::SipTransport;

/// How often the names are looked up again.
pub const REFRESH: Duration = Duration::from_secs(60);

/// The last addresses of every host-name target.
#[derive(Default)]
pub struct TargetNames {
    answers: RwLock<HashMap<String, SocketAddr>>,
}

/// `host:port` targets of `router` that are not literal addresses, with their transport.
pub fn named_targets(router: &Router) -> Vec<(String, TargetTransport)> {
    let mut out: Vec<(String, TargetTransport)> = Vec::new();
    for r in router.routes() {
        if let RouteTarget::Sip { address, transport } = &r.target {
            if address.parse::<SocketAddr>().is_err()
                && !out.iter().any(|(a, t)| a == address && t == transport)
            {
                out.push((address.clone(), *transport));
            }
        }
    }
    out
}

/// The host part of `host:port`.
fn host_of(target: &str) -> &str {
    target.rsplit_once(':').map_or(target, |(h, _)| h)
}

impl TargetNames {
    /// The address `target` last resolved to, if it has.
    pub fn lookup(&self, target: &str) -> Option<SocketAddr> {
        self.answers.read().ok()?.get(target).copied()
    }

    /// Looks every target up once; an IPv4 answer is preferred (the listeners and relays of
    /// a typical deployment are IPv4), else the first.
    pub async fn refresh(
        &self,
        targets: &[(String, TargetTransport)],
        transport: Option<&SipTransport>,
    ) {
        for (target, kind) in targets {
            let found = match tokio::net::lookup_host(target.as_str()).await {
                Ok(addrs) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    addrs
                        .iter()
                        .find(|a| a.is_ipv4())
                        .or(addrs.first())
                        .copied()
                }
                Err(e) => {
                    warn!(%target, error = %e, "routing target does not resolve");
                    None
                }
            };
            let Some(addr) = found else {
                continue;
            };
            if *kind == TargetTransport::Tls {
                if let Some(t) = transport {
                    t.set_tls_name(addr, host_of(target));
                }
            }
            if let Ok(mut m) = self.answers.write() {
                if m.insert(target.clone(), addr) != Some(addr) {
                    debug!(%target, %addr, "routing target resolved");
                }
            }
        }
    }

    /// Keeps the answers fresh until the program stops.
    pub async fn keep_fresh(
        self: Arc<Self>,
        targets: Vec<(String, TargetTransport)>,
        transport: Option<Arc<SipTransport>>,
    ) {
        loop {
            self.refresh(&targets, transport.as_deref()).await;
            tokio::time::sleep(REFRESH).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_resolves_to_its_ipv4_address_and_a_bad_name_to_nothing() {
        let names = TargetNames::default();
        let targets = vec![
            ("localhost:5080".to_string(), TargetTransport::Udp),
            (
                "no-such-host.invalid:5060".to_string(),
                TargetTransport::Udp,
            ),
        ];
        names.refresh(&targets, None).await;
        assert_eq!(
            names.lookup("localhost:5080"),
            Some("127.0.0.1:5080".parse().unwrap())
        );
        assert_eq!(names.lookup("no-such-host.invalid:5060"), None);
        assert_eq!(names.lookup("never-asked:1"), None);
        assert_eq!(host_of("sbc.example.com:5061"), "sbc.example.com");
    }
}
