//! Which peers a relay may talk to. A relay that reaches anything lets its clients reach the
//! server's loopback, its cloud metadata service or networks behind the server's firewall
//! (RFC 8656 §21.1.4), and loop through its own relays (§21.1.7); this module refuses those
//! by default and applies the operator's allow and deny lists (§21.2.2), allow winning. Checked when a permission or channel is
//! created (403 Forbidden), not per packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::cidr::Cidr;
use super::config::ServerConfig;

/// The peer policy compiled from a [`ServerConfig`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerPolicy {
    allowed: Vec<Cidr>,
    denied: Vec<Cidr>,
    own: Vec<IpAddr>,
}

impl PeerPolicy {
    pub(crate) fn new(cfg: &ServerConfig) -> PeerPolicy {
        let mut own: Vec<IpAddr> = cfg.own_addresses.iter().map(|ip| canonical(*ip)).collect();
        for r in [cfg.relay_ipv4, cfg.relay_ipv6].into_iter().flatten() {
            own.push(canonical(r.bind));
            own.push(canonical(r.public));
        }
        own.retain(|ip| !ip.is_unspecified());
        own.sort();
        own.dedup();
        PeerPolicy {
            allowed: cfg.allowed_peers.clone(),
            denied: cfg.denied_peers.clone(),
            own,
        }
    }

    /// Whether a permission toward `ip` may be installed.
    pub(crate) fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.allowed.iter().any(|c| c.contains(ip)) {
            return true;
        }
        if builtin_refused(ip) || self.own.contains(&ip) {
            return false;
        }
        !self.denied.iter().any(|c| c.contains(ip))
    }
}

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it stands for, so that it
/// cannot slip past IPv4 rules.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Addresses no relay should reach unless the operator says so: unspecified, loopback,
/// link-local (169.254.0.0/16 holds cloud metadata services such as 169.254.169.254;
/// fe80::/10), multicast, broadcast and the reserved 240.0.0.0/4, and 0.0.0.0/8 ("this
/// network", RFC 6890).
fn builtin_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => refused_v4(a),
        IpAddr::V6(a) => refused_v6(a),
    }
}

fn refused_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 0
        || a.is_loopback()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || o[0] >= 240
}

fn refused_v6(a: Ipv6Addr) -> bool {
    let first = a.segments()[0];
    a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (first & 0xffc0) == 0xfe80
        // IPv4-compatible (deprecated) ::a.b.c.d, checked as IPv4.
        || (a.segments()[..6] == [0; 6] && refused_v4(Ipv4Addr::from(u128::from(a) as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_refusals_and_lists() {
        let mut cfg = ServerConfig::default();
        let p = PeerPolicy::new(&cfg);
        for bad in [
            "127.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
        ] {
            assert!(!p.permits(ip(bad)), "{bad}");
        }
        for good in [
            "192.0.2.1",
            "10.0.0.1",
            "192.168.1.1",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert!(p.permits(ip(good)), "{good}");
        }
        cfg.denied_peers = vec!["10.0.0.0/8".parse().unwrap()];
        cfg.allowed_peers = vec![
            "10.1.0.0/16".parse().unwrap(),
            "127.0.0.0/8".parse().unwrap(),
        ];
        cfg.own_addresses = vec![ip("192.0.2.10")];
        let p = PeerPolicy::new(&cfg);
        assert!(!p.permits(ip("10.2.0.1")));
        assert!(!p.permits(ip("::ffff:10.2.0.1")));
        assert!(p.permits(ip("10.1.0.1")));
        assert!(p.permits(ip("127.0.0.1")));
        assert!(!p.permits(ip("192.0.2.10")));
    }
}
