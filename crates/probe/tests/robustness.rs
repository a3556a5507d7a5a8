//! Events in the wrong state, hostile configurations, time running backwards, and a
//! pseudo-random event storm checked against invariants.

mod harness;

use std::time::{Duration, Instant};

use exp_probe::{Action, CloseReason, ProbeConfig, ZoneProbe, ZoneState};
use harness::{activate, drain, fire, ms, no_crlf, probe_seq, secs};

#[test]
fn events_in_the_wrong_state_are_ignored() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 2, t0);
    drain(&mut zone);

    // While connecting: answers and pongs mean nothing.
    zone.handle_probe_answer(1, t0);
    zone.handle_pong(t0);
    zone.handle_connected(t0);
    zone.handle_connected(t0 + ms(1)); // twice
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.state(), ZoneState::Connecting);
    assert_eq!(zone.poll_timeout(), Some(t0 + secs(5)));

    // While active: connect results and a second authentication change nothing.
    zone.handle_authenticated(t0 + ms(2));
    let due = zone.poll_timeout();
    zone.handle_connected(t0 + ms(3));
    zone.handle_connect_failed(t0 + ms(4));
    zone.handle_authenticated(t0 + ms(5));
    zone.handle_auth_failed(t0 + ms(6));
    zone.handle_probe_answer(99, t0 + ms(7));
    zone.handle_pong(t0 + ms(8));
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.state(), ZoneState::Active);
    assert_eq!(zone.poll_timeout(), due);

    // While backing off: everything but the timer is ignored.
    zone.handle_connection_lost(t0 + secs(1));
    let wake = zone.poll_timeout();
    zone.handle_connected(t0 + secs(1));
    zone.handle_connect_failed(t0 + secs(1));
    zone.handle_authenticated(t0 + secs(1));
    zone.handle_auth_failed(t0 + secs(1));
    zone.handle_connection_lost(t0 + secs(1));
    zone.handle_probe_answer(1, t0 + secs(1));
    zone.handle_pong(t0 + secs(1));
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.state(), ZoneState::Down);
    assert_eq!(zone.poll_timeout(), wake);
    assert_eq!(zone.consecutive_failures(), 1);
}

#[test]
fn authentication_without_a_reported_connect_is_accepted() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    zone.handle_authenticated(t0 + ms(10));
    assert_eq!(zone.state(), ZoneState::Active);
}

#[test]
fn an_answer_arriving_with_an_overdue_deadline_still_counts() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        retry_count: 0,
        ..no_crlf()
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (sent, actions) = fire(&mut zone);
    let seq = probe_seq(&actions);
    // The runtime is late: the give-up deadline passed, but the answer is reported first.
    zone.handle_probe_answer(seq, sent + secs(3));
    assert_eq!(zone.state(), ZoneState::Active);
    assert!(drain(&mut zone).is_empty());
}

#[test]
fn late_handle_timeout_catches_up_in_one_call() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    // Far beyond the probe, all re-sends and the give-up: one call sends the probe (the
    // retry timers then run from that send) and nothing more.
    let late = t0 + secs(600);
    zone.handle_timeout(late);
    let actions = drain(&mut zone);
    probe_seq(&actions);
    assert_eq!(zone.poll_timeout(), Some(late + secs(2)));
}

#[test]
fn zero_durations_do_not_make_the_machine_spin() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        keepalive_interval: Duration::ZERO,
        retry_interval: Duration::ZERO,
        retry_count: 3,
        connect_timeout: Duration::ZERO,
        backoff_initial: Duration::ZERO,
        backoff_max: Duration::ZERO,
        crlf_interval: Some(Duration::ZERO),
        pong_timeout: Duration::ZERO,
    };
    let mut zone = ZoneProbe::new(config, 6, t0);
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 0 }]);
    assert_eq!(
        zone.poll_timeout(),
        Some(t0 + ProbeConfig::MIN_DURATION),
        "zero is raised to the minimum"
    );
    zone.handle_authenticated(t0);
    for step in 1..=50u32 {
        let now = t0 + ms(u64::from(step));
        zone.handle_timeout(now);
        assert!(zone.poll_timeout().unwrap() > now);
        drain(&mut zone);
    }
}

#[test]
fn huge_durations_do_not_overflow() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        keepalive_interval: Duration::MAX,
        retry_interval: Duration::MAX,
        retry_count: u32::MAX,
        connect_timeout: Duration::MAX,
        backoff_initial: Duration::MAX,
        backoff_max: Duration::MAX,
        crlf_interval: Some(Duration::MAX),
        pong_timeout: Duration::MAX,
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    zone.handle_connect_failed(t0);
    assert_eq!(zone.next_backoff(), Some(ProbeConfig::MAX_DURATION));
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, t0 + ProbeConfig::MAX_DURATION);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    activate(&mut zone, at);
    assert!(zone.poll_timeout().unwrap() > at);
}

#[test]
fn time_running_backwards_is_treated_as_the_latest_time_seen() {
    let t0 = Instant::now() + secs(100);
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0 + secs(1));
    let (sent, actions) = fire(&mut zone);
    let seq = probe_seq(&actions);
    // An answer stamped before the send: zero round trip, not a panic.
    zone.handle_probe_answer(seq, t0);
    assert_eq!(zone.last_rtt(), Some(Duration::ZERO));
    assert_eq!(zone.poll_timeout(), Some(sent + secs(20)));
    zone.handle_connection_lost(t0 - secs(50));
    assert_eq!(zone.poll_timeout(), Some(sent + ms(500)));
}

/// Tiny xorshift64 generator for the event storm; no dependencies, fully reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the event storm has seen of one machine so far.
struct Observed {
    seed: u64,
    config: ProbeConfig,
    effective_peers: usize,
    connects: u64,
    last_seq: u64,
    sent_seqs: Vec<u64>,
    /// Kinds of action seen, so the storm can show it reached every corner.
    kinds: std::collections::BTreeSet<&'static str>,
}

impl Observed {
    /// Drain `zone` after a call handled at `latest` and check the invariants listed on
    /// the storm test.
    fn check(&mut self, zone: &mut ZoneProbe, was_active: bool, latest: Instant) {
        let seed = self.seed;
        let deadline = zone.poll_timeout().expect("always a deadline");
        assert!(
            deadline > latest,
            "seed {seed}: deadline not in the future: {zone:?}"
        );
        assert!(zone.current_peer() < self.effective_peers);
        let mut live = was_active;
        for action in drain(zone) {
            self.kinds.insert(match action {
                Action::Connect { .. } => "connect",
                Action::SendProbe { .. } => "probe",
                Action::SendPing => "ping",
                Action::Close { reason } => reason.as_str(),
            });
            match action {
                Action::Connect { peer } => {
                    assert!(peer < self.effective_peers, "seed {seed}");
                    self.connects += 1;
                    live = false;
                }
                Action::Close { reason } => {
                    match reason {
                        CloseReason::ProbeTimeout | CloseReason::PongTimeout => {
                            assert!(live, "seed {seed}: keep-alive close while not active");
                            assert_eq!(zone.state(), ZoneState::Down);
                        }
                        CloseReason::AuthFailed => {
                            assert_eq!(zone.state(), ZoneState::AuthFailed)
                        }
                        CloseReason::ConnectTimeout => assert!(!live),
                    }
                    live = false;
                }
                Action::SendProbe { seq } => {
                    assert!(live, "seed {seed}: probe while not active");
                    assert!(
                        seq > self.last_seq,
                        "seed {seed}: probe numbers must increase"
                    );
                    self.last_seq = seq;
                    self.sent_seqs.push(seq);
                }
                Action::SendPing => assert!(live, "seed {seed}: ping while not active"),
            }
        }
        assert_eq!(zone.reconnect_count() + 1, self.connects, "seed {seed}");
        if let Some(backoff) = zone.next_backoff() {
            let cap = self
                .config
                .backoff_max
                .clamp(ProbeConfig::MIN_DURATION, ProbeConfig::MAX_DURATION);
            assert!(backoff <= cap, "seed {seed}");
            assert!(backoff >= ProbeConfig::MIN_DURATION, "seed {seed}");
        }
        if zone.state() == ZoneState::Active {
            assert_eq!(zone.consecutive_failures(), 0);
            assert_eq!(zone.next_backoff(), None);
        }
    }
}

/// Feeds pseudo-random events at pseudo-random (sometimes equal, sometimes earlier) times
/// and checks, after every call:
/// * `poll_timeout()` is always set and lies strictly after the latest time handled;
/// * a `handle_timeout` before `poll_timeout()` emits nothing and changes no deadline;
/// * `Connect` targets a configured peer, `current_peer()` is in range;
/// * `SendProbe`/`SendPing` only come from a zone that was active before the call and
///   precede any `Close`/`Connect` of that call; probe numbers strictly increase;
/// * a probe or pong timeout leaves the zone `Down`, an auth failure `AuthFailed`;
/// * `reconnect_count()` equals the `Connect`s seen minus one;
/// * the back-off never exceeds `backoff_max`, failures are zero while active.
#[test]
fn random_event_storms_keep_the_invariants() {
    let configs = [
        ProbeConfig::default(),
        no_crlf(),
        ProbeConfig {
            keepalive_interval: ms(300),
            retry_interval: ms(100),
            retry_count: 2,
            connect_timeout: ms(250),
            backoff_initial: ms(50),
            backoff_max: ms(400),
            crlf_interval: Some(ms(120)),
            pong_timeout: ms(200),
        },
        ProbeConfig {
            keepalive_interval: Duration::ZERO,
            retry_interval: ms(1),
            retry_count: 0,
            connect_timeout: ms(3),
            backoff_initial: ms(2),
            backoff_max: ms(1),
            crlf_interval: Some(ms(1)),
            pong_timeout: Duration::ZERO,
        },
    ];
    let base = Instant::now() + secs(3_600);
    let mut kinds = std::collections::BTreeSet::new();
    let mut states = std::collections::BTreeSet::new();
    for seed in 1..=40u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let config = configs[(seed as usize) % configs.len()];
        let peers = rng.below(9) as usize; // 0..=8, clamped inside
        let effective_peers = peers.clamp(1, 6);
        let mut zone = ZoneProbe::new(config, peers, base);
        let mut now = base;
        let mut latest = base;
        let mut seen = Observed {
            seed,
            config,
            effective_peers,
            connects: 0,
            last_seq: 0,
            sent_seqs: Vec::new(),
            kinds: Default::default(),
        };
        seen.check(&mut zone, false, base - ms(1));

        for _ in 0..3_000 {
            // Time: mostly forward by up to 3 s, sometimes unchanged, sometimes backwards.
            let step = match rng.below(10) {
                0 => Duration::ZERO,
                1 => {
                    let back = ms(rng.below(2_000));
                    now = now.checked_sub(back).unwrap_or(now);
                    Duration::ZERO
                }
                _ => ms(rng.below(3_000)),
            };
            now += step;
            let was_active = zone.state() == ZoneState::Active;
            let before = zone.poll_timeout();
            match rng.below(11) {
                0 => zone.handle_connected(now),
                1 => zone.handle_connect_failed(now),
                2 => zone.handle_authenticated(now),
                3 => zone.handle_auth_failed(now),
                4 => {
                    let seq = match (rng.below(3), seen.sent_seqs.last()) {
                        (0, _) | (_, None) => rng.next(),
                        (1, Some(&last)) => last,
                        (_, Some(_)) => {
                            let i = rng.below(seen.sent_seqs.len() as u64) as usize;
                            seen.sent_seqs[i]
                        }
                    };
                    zone.handle_probe_answer(seq, now);
                }
                5 => zone.handle_pong(now),
                6 => zone.handle_connection_lost(now),
                7 => {
                    // Early timeout, between the latest time handled and the deadline: a
                    // no-op.
                    let at = zone.poll_timeout().unwrap();
                    now = at.checked_sub(ms(1)).unwrap_or(latest).max(latest);
                    zone.handle_timeout(now);
                    assert!(zone.poll_action().is_none(), "seed {seed}: early action");
                    assert_eq!(zone.poll_timeout(), before, "seed {seed}");
                }
                _ => {
                    // On-time timeout, the common case.
                    let at = zone.poll_timeout().unwrap();
                    now = now.max(at);
                    zone.handle_timeout(now);
                }
            }
            // The machine's notion of time is the latest instant handed to it.
            latest = latest.max(now);
            seen.check(&mut zone, was_active, latest);
            states.insert(zone.state().as_str());
        }
        kinds.append(&mut seen.kinds);
    }
    // The storm reached every action and every state.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "auth-failed",
            "connect",
            "connect-timeout",
            "ping",
            "pong-timeout",
            "probe",
            "probe-timeout"
        ]
    );
    assert_eq!(states.len(), 4, "{states:?}");
}
