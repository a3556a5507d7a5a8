//! The port plan: every port a program listens on or connects to.
//!
//! Operators hand this list to the firewall administrator (`exp-e ports`), so it is derived
//! from the same resolved configuration the runtime binds from, never written separately.

use std::fmt;

use serde::Serialize;

use crate::config::Role;
use crate::resolve::Resolved;

/// IP protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (also TLS over TCP).
    Tcp,
    /// UDP.
    Udp,
}

/// Which side opens flows through this port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Others connect to this program.
    Inbound,
    /// This program connects out.
    Outbound,
}

/// One entry of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortUse {
    /// Protocol.
    pub protocol: Protocol,
    /// Who opens the flow.
    pub direction: Direction,
    /// Local address (inbound) or remote host (outbound).
    pub address: String,
    /// Local port (inbound) or remote port (outbound).
    pub port: u16,
    /// What it is for.
    pub purpose: String,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

/// Every port `cfg`'s program uses, inbound first.
pub fn port_plan(cfg: &Resolved) -> Vec<PortUse> {
    let mut out = Vec::new();
    let listen = cfg.listen_address.to_string();
    for z in &cfg.server_zones {
        if z.sip_mode {
            out.push(PortUse {
                protocol: Protocol::Tcp,
                direction: Direction::Inbound,
                address: listen.clone(),
                port: z.sip_port,
                purpose: format!(
                    "SIP traversal zone `{}` ({}), from traversal client `{}`",
                    z.name, z.sip_transport, z.username
                ),
            });
        }
        if z.h323_mode {
            out.push(PortUse {
                protocol: Protocol::Udp,
                direction: Direction::Inbound,
                address: listen.clone(),
                port: z.h323_port,
                purpose: format!("H.323 RAS traversal zone `{}` (reserved)", z.name),
            });
        }
    }
    if let Some(a) = cfg.admin_listen {
        out.push(PortUse {
            protocol: Protocol::Tcp,
            direction: Direction::Inbound,
            address: a.ip().to_string(),
            port: a.port(),
            purpose: if a.ip().is_loopback() {
                "admin HTTP API (local only)".into()
            } else {
                "admin HTTP API".into()
            },
        });
    }
    for z in &cfg.client_zones {
        if !z.sip_mode {
            continue;
        }
        for (i, p) in z.peers.iter().enumerate() {
            out.push(PortUse {
                protocol: Protocol::Tcp,
                direction: Direction::Outbound,
                address: p.host.clone(),
                port: p.port,
                purpose: format!(
                    "SIP traversal zone `{}` ({}) to {} peer {}",
                    z.name,
                    z.sip_transport,
                    match cfg.role {
                        Role::Server => "the next exp-e,",
                        Role::Client => "exp-e,",
                    },
                    i + 1
                ),
            });
        }
    }
    out
}
