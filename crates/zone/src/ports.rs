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
    /// Local port (inbound) or remote port (outbound); the first of a range.
    pub port: u16,
    /// Last port of a range; equal to `port` for a single port.
    pub port_last: u16,
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
                port_last: z.sip_port,
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
                port_last: z.h323_port,
                purpose: format!(
                    "H.323 RAS (H.460.18) traversal zone `{}`, from traversal client `{}`",
                    z.name, z.username
                ),
            });
        }
    }
    let sip_side = match cfg.role {
        Role::Server => "outside endpoints and proxies",
        Role::Client => "LAN endpoints and call control",
    };
    let single = |protocol, direction, address: &str, port: u16, purpose: String| PortUse {
        protocol,
        direction,
        address: address.to_string(),
        port,
        port_last: port,
        purpose,
    };
    if let Some(p) = cfg.sip.udp {
        out.push(single(
            Protocol::Udp,
            Direction::Inbound,
            &listen,
            p,
            format!("SIP (UDP) from {sip_side}"),
        ));
    }
    if let Some(p) = cfg.sip.tcp {
        out.push(single(
            Protocol::Tcp,
            Direction::Inbound,
            &listen,
            p,
            format!("SIP (TCP) from {sip_side}"),
        ));
    }
    if let Some(p) = cfg.sip.tls {
        out.push(single(
            Protocol::Tcp,
            Direction::Inbound,
            &listen,
            p,
            format!("SIP (TLS) from {sip_side}"),
        ));
    }
    if let Some(h) = &cfg.h323 {
        if let Some(p) = h.call_signalling_port {
            out.push(single(
                Protocol::Tcp,
                Direction::Inbound,
                &listen,
                p,
                "H.460.18 call signalling from traversal clients".into(),
            ));
        }
        if let Some(p) = h.listen_port {
            let side = match cfg.role {
                Role::Server => "outside H.323 endpoints and gateways",
                Role::Client => "LAN H.323 endpoints",
            };
            out.push(single(
                Protocol::Tcp,
                Direction::Inbound,
                &listen,
                p,
                format!("H.323 call signalling (H.225.0) from {side}"),
            ));
        }
        if let Some(p) = h.ras_port {
            out.push(single(
                Protocol::Udp,
                Direction::Inbound,
                &listen,
                p,
                "H.323 RAS from directly registered H.460.18 endpoints".into(),
            ));
        }
    }
    if let Some(a) = cfg.admin_listen {
        out.push(PortUse {
            protocol: Protocol::Tcp,
            direction: Direction::Inbound,
            address: a.ip().to_string(),
            port: a.port(),
            port_last: a.port(),
            purpose: if a.ip().is_loopback() {
                "admin HTTP API (local only)".into()
            } else {
                "admin HTTP API".into()
            },
        });
    }
    for z in cfg.client_zones.iter().filter(|z| z.h323_mode) {
        for (i, p) in z.peers.iter().enumerate() {
            out.push(PortUse {
                protocol: Protocol::Udp,
                direction: Direction::Outbound,
                address: p.host.clone(),
                port: z.h323_port,
                port_last: z.h323_port,
                purpose: format!(
                    "H.323 RAS (H.460.18) traversal zone `{}` to peer {}",
                    z.name,
                    i + 1
                ),
            });
            out.push(PortUse {
                protocol: Protocol::Tcp,
                direction: Direction::Outbound,
                address: p.host.clone(),
                port: 2777,
                port_last: 2777,
                purpose: format!(
                    "H.460.18 call signalling of zone `{}` to peer {} (the port the server's RCF names; 2777 by default)",
                    z.name,
                    i + 1
                ),
            });
        }
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
                port_last: p.port,
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
    // Media ports, whenever the program carries calls (the runtime binds them then).
    let carries_calls = cfg.sip.udp.is_some()
        || cfg.sip.tcp.is_some()
        || cfg.sip.tls.is_some()
        || cfg.server_zones.iter().any(|z| z.sip_mode)
        || cfg.client_zones.iter().any(|z| z.sip_mode)
        || cfg.h323.is_some();
    if carries_calls {
        out.extend(media_port_plan(cfg));
    }
    if let Some(t) = &cfg.turn {
        for (transport, addr) in &t.listeners {
            out.push(PortUse {
                protocol: match transport {
                    crate::turn::TurnTransport::Udp => Protocol::Udp,
                    crate::turn::TurnTransport::Tcp | crate::turn::TurnTransport::Tls => {
                        Protocol::Tcp
                    }
                },
                direction: Direction::Inbound,
                address: addr.ip().to_string(),
                port: addr.port(),
                port_last: addr.port(),
                purpose: match transport {
                    crate::turn::TurnTransport::Tls => "TURN requests from ICE clients (TLS)",
                    _ => "TURN requests from ICE clients",
                }
                .into(),
            });
        }
        out.push(PortUse {
            protocol: Protocol::Udp,
            direction: Direction::Inbound,
            address: t.relay_address.to_string(),
            port: t.relay_ports.0,
            port_last: t.relay_ports.1,
            purpose: "TURN relays (peers send to the relayed addresses)".into(),
        });
    }
    // Inbound first (a stable sort keeps the order within each direction).
    out.sort_by_key(|p| p.direction != Direction::Inbound);
    out
}

/// The ports media uses: demultiplexing ports, the media range, and exp-c's media toward
/// exp-e. Part of [`port_plan`] whenever the program carries calls.
pub fn media_port_plan(cfg: &Resolved) -> Vec<PortUse> {
    let mut out = Vec::new();
    let listen = cfg.listen_address.to_string();
    let media_side = match cfg.role {
        Role::Server => "outside endpoints",
        Role::Client => "LAN endpoints",
    };
    let single = |protocol, direction, address: &str, port: u16, purpose: String| PortUse {
        protocol,
        direction,
        address: address.to_string(),
        port,
        port_last: port,
        purpose,
    };
    // A two-interface exp-e takes traversal clients' media on its internal address.
    let demux_addr = cfg
        .media
        .internal_address
        .map(|a| a.to_string())
        .unwrap_or_else(|| listen.clone());
    for (rtp, rtcp) in &cfg.media.demux {
        out.push(single(
            Protocol::Udp,
            Direction::Inbound,
            &demux_addr,
            *rtp,
            "media from traversal clients, demultiplexed (RTP)".into(),
        ));
        out.push(single(
            Protocol::Udp,
            Direction::Inbound,
            &demux_addr,
            *rtcp,
            "media from traversal clients, demultiplexed (RTCP)".into(),
        ));
    }
    let (start, end) = cfg.media.range;
    out.push(PortUse {
        protocol: Protocol::Udp,
        direction: Direction::Inbound,
        address: listen.clone(),
        port: start,
        port_last: end,
        purpose: format!("media (RTP/RTCP) to and from {media_side}, one pair per call stream"),
    });
    for z in cfg.client_zones.iter().filter(|z| z.sip_mode) {
        for (i, p) in z.peers.iter().enumerate() {
            out.push(PortUse {
                protocol: Protocol::Udp,
                direction: Direction::Outbound,
                address: p.host.clone(),
                port: z.demux_ports.0,
                port_last: z.demux_ports.1,
                purpose: format!(
                    "media of zone `{}` to the server's demultiplexing ports, from local ports {start}-{end}, peer {}",
                    z.name,
                    i + 1
                ),
            });
        }
    }
    out
}
