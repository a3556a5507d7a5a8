//! Shared scaffolding for the integration tests: readable durations, a default-like
//! configuration with crisp numbers, and helpers that drive a machine through the usual
//! steps and collect what it asked for.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use exp_probe::{Action, ProbeConfig, ZoneProbe};

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The default configuration with CRLF pings switched off, so probe tests see probes only.
pub fn no_crlf() -> ProbeConfig {
    ProbeConfig {
        crlf_interval: None,
        ..ProbeConfig::default()
    }
}

/// Every queued action, in order.
pub fn drain(zone: &mut ZoneProbe) -> Vec<Action> {
    std::iter::from_fn(|| zone.poll_action()).collect()
}

/// Report a successful connect and handshake at `now`; returns the actions queued by that.
pub fn activate(zone: &mut ZoneProbe, now: Instant) -> Vec<Action> {
    zone.handle_connected(now);
    zone.handle_authenticated(now);
    drain(zone)
}

/// Call `handle_timeout` at the machine's own deadline and return that deadline together
/// with the actions it produced.
pub fn fire(zone: &mut ZoneProbe) -> (Instant, Vec<Action>) {
    let at = zone.poll_timeout().expect("machine always has a deadline");
    zone.handle_timeout(at);
    (at, drain(zone))
}

/// The sequence number of the single `SendProbe` in `actions`.
pub fn probe_seq(actions: &[Action]) -> u64 {
    match actions {
        [Action::SendProbe { seq }] => *seq,
        other => panic!("expected one SendProbe, got {other:?}"),
    }
}
