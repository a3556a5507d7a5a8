//! Failed-authentication rate limiting per source IP: a client that fails too often in a
//! short window (a password guesser, or a misconfigured client hammering the
//! server) has its requests dropped for a while, without an answer. The table is bounded; when
//! full, the IP tracked longest is forgotten first, so spoofed sources cannot grow it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::timers::deadline;

/// Limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_failures: u32,
    pub(crate) window: Duration,
    pub(crate) block: Duration,
    pub(crate) table: usize,
}

struct Entry {
    window_start: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

/// Failure counts per IP.
#[derive(Default)]
pub(crate) struct AuthLimiter {
    entries: HashMap<IpAddr, Entry>,
    /// IPs in the order they were first tracked; each IP appears once, as in `entries`.
    order: VecDeque<IpAddr>,
}

impl AuthLimiter {
    /// Whether requests from `ip` are dropped now.
    #[inline]
    pub(crate) fn is_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        matches!(self.entries.get(&ip), Some(Entry { blocked_until: Some(t), .. }) if *t > now)
    }

    /// Counts a failure; true if `ip` has just become blocked.
    pub(crate) fn failure(&mut self, ip: IpAddr, now: Instant, limits: Limits) -> bool {
        if limits.table == 0 {
            return false;
        }
        if !self.entries.contains_key(&ip) {
            while self.entries.len() >= limits.table {
                match self.order.pop_front() {
                    Some(old) => {
                        self.entries.remove(&old);
                    }
                    None => break,
                }
            }
            self.entries.insert(
                ip,
                Entry {
                    window_start: now,
                    failures: 0,
                    blocked_until: None,
                },
            );
            self.order.push_back(ip);
        }
        let Some(e) = self.entries.get_mut(&ip) else {
            return false;
        };
        if now.saturating_duration_since(e.window_start) >= limits.window {
            e.window_start = now;
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        if e.failures > limits.max_failures {
            e.blocked_until = Some(deadline(now, limits.block));
            e.failures = 0;
            e.window_start = now;
            return true;
        }
        false
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_and_bounds_table() {
        let limits = Limits {
            max_failures: 3,
            window: Duration::from_secs(10),
            block: Duration::from_secs(5),
            table: 2,
        };
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mut l = AuthLimiter::default();
        for _ in 0..3 {
            assert!(!l.failure(a, t0, limits));
        }
        assert!(!l.is_blocked(a, t0));
        assert!(l.failure(a, t0, limits));
        assert!(l.is_blocked(a, t0 + Duration::from_secs(4)));
        assert!(!l.is_blocked(a, t0 + Duration::from_secs(5)));
        // Failures spread over windows never block.
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..10 {
            assert!(!l.failure(b, t0 + Duration::from_secs(10 * i), limits));
        }
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        l.failure(c, t0, limits);
        assert_eq!(l.len(), 2);
        assert!(
            !l.is_blocked(a, t0 + Duration::from_secs(1)),
            "oldest forgotten"
        );
    }
}
