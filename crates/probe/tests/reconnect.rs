//! Peer rotation, back-off, authentication failures and the reported state.

mod harness;

use std::time::{Duration, Instant};

use exp_probe::{Action, CloseReason, ProbeConfig, ZoneProbe, ZoneState};
use harness::{activate, drain, fire, ms, no_crlf, secs};

/// Fail every peer of the current round by refusing the connection at `now`; returns the
/// actions queued (connects to the remaining peers).
fn refuse_round(zone: &mut ZoneProbe, now: Instant, peers: usize) -> Vec<Action> {
    let mut all = Vec::new();
    for _ in 0..peers {
        zone.handle_connect_failed(now);
        all.extend(drain(zone));
    }
    all
}

#[test]
fn connect_failures_rotate_through_the_peers_within_a_round() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(ProbeConfig::default(), 3, t0);
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 0 }]);

    zone.handle_connect_failed(t0 + ms(10));
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 1 }]);
    assert_eq!(zone.current_peer(), 1);
    assert_eq!(zone.next_backoff(), None);
    assert_eq!(zone.poll_timeout(), Some(t0 + ms(10) + secs(5)));

    zone.handle_connection_lost(t0 + ms(20));
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 2 }]);
    assert_eq!(zone.current_peer(), 2);

    zone.handle_connect_failed(t0 + ms(30));
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.next_backoff(), Some(ms(500)));
    assert_eq!(zone.consecutive_failures(), 1);
    assert_eq!(zone.state(), ZoneState::Connecting);
    assert_eq!(zone.poll_timeout(), Some(t0 + ms(530)));

    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    assert_eq!(zone.reconnect_count(), 3);
}

#[test]
fn connect_timeouts_rotate_through_the_peers_within_a_round() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(ProbeConfig::default(), 3, t0);
    drain(&mut zone);

    // Peer 0: nothing at all happens.
    assert_eq!(zone.poll_timeout(), Some(t0 + secs(5)));
    zone.handle_timeout(t0 + secs(5) - ms(1));
    assert!(drain(&mut zone).is_empty());
    let (at0, actions) = fire(&mut zone);
    assert_eq!(
        actions,
        vec![
            Action::Close {
                reason: CloseReason::ConnectTimeout
            },
            Action::Connect { peer: 1 }
        ]
    );

    // Peer 1: the transport comes up but the handshake never finishes; the timeout counts
    // from the Connect, not from handle_connected.
    zone.handle_connected(at0 + secs(1));
    assert_eq!(zone.poll_timeout(), Some(at0 + secs(5)));
    let (at1, actions) = fire(&mut zone);
    assert_eq!(at1, at0 + secs(5));
    assert_eq!(
        actions,
        vec![
            Action::Close {
                reason: CloseReason::ConnectTimeout
            },
            Action::Connect { peer: 2 }
        ]
    );

    // Peer 2 times out as well: the round has failed.
    let (at2, actions) = fire(&mut zone);
    assert_eq!(
        actions,
        vec![Action::Close {
            reason: CloseReason::ConnectTimeout
        }]
    );
    assert_eq!(zone.poll_timeout(), Some(at2 + ms(500)));
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
}

#[test]
fn backoff_doubles_across_failed_rounds_and_is_capped() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(ProbeConfig::default(), 2, t0);
    drain(&mut zone);
    let mut now = t0;
    let mut seen = Vec::new();
    for round in 1..=8u32 {
        let actions = refuse_round(&mut zone, now, 2);
        assert_eq!(actions, vec![Action::Connect { peer: 1 }]);
        assert_eq!(zone.consecutive_failures(), round);
        let backoff = zone.next_backoff().expect("backing off");
        seen.push(backoff);
        assert_eq!(zone.poll_timeout(), Some(now + backoff));
        let (at, actions) = fire(&mut zone);
        assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
        now = at;
    }
    let want: Vec<Duration> = [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn backoff_resets_after_the_zone_was_active() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    let mut now = t0;
    for _ in 0..4 {
        zone.handle_connect_failed(now);
        let (at, _) = fire(&mut zone);
        now = at;
    }
    assert_eq!(zone.consecutive_failures(), 4);
    activate(&mut zone, now + ms(1));
    assert_eq!(zone.consecutive_failures(), 0);
    assert_eq!(zone.next_backoff(), None);

    // Losing it: one failure, initial back-off, then doubling from there.
    zone.handle_connection_lost(now + secs(3));
    assert_eq!(zone.consecutive_failures(), 1);
    assert_eq!(zone.next_backoff(), Some(ms(500)));
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    zone.handle_connect_failed(now + secs(4));
    assert_eq!(zone.next_backoff(), Some(ms(1_000)));
    assert_eq!(zone.consecutive_failures(), 2);
}

#[test]
fn reconnect_after_losing_an_active_connection_starts_at_peer_zero() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 4, t0);
    drain(&mut zone);
    zone.handle_connect_failed(t0);
    zone.handle_connect_failed(t0);
    assert_eq!(
        drain(&mut zone),
        vec![Action::Connect { peer: 1 }, Action::Connect { peer: 2 }]
    );
    activate(&mut zone, t0 + ms(100));
    assert_eq!(zone.current_peer(), 2);

    let lost = t0 + secs(7);
    zone.handle_connection_lost(lost);
    // No Close: the runtime already knows the connection is gone.
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.state(), ZoneState::Down);
    assert_eq!(zone.poll_timeout(), Some(lost + ms(500)));
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    assert_eq!(zone.current_peer(), 0);
}

#[test]
fn reconnect_count_counts_every_connect_but_the_first() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 3, t0);
    let mut connects = drain(&mut zone).len() as u64;
    let mut now = t0;
    for _ in 0..5 {
        zone.handle_connect_failed(now);
        connects += drain(&mut zone).len() as u64;
        if zone.next_backoff().is_some() {
            let (at, actions) = fire(&mut zone);
            connects += actions.len() as u64;
            now = at;
        }
    }
    assert_eq!(zone.reconnect_count(), connects - 1);
    assert_eq!(zone.reconnect_count(), 5);
}

#[test]
fn auth_failure_closes_and_reports_auth_failed() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 3, t0);
    drain(&mut zone);
    zone.handle_connected(t0 + ms(10));
    zone.handle_auth_failed(t0 + ms(40));
    assert_eq!(
        drain(&mut zone),
        vec![Action::Close {
            reason: CloseReason::AuthFailed
        }]
    );
    assert_eq!(zone.state(), ZoneState::AuthFailed);
    // Straight to back-off, without trying peers 1 and 2 with the same credentials.
    assert_eq!(zone.next_backoff(), Some(ms(500)));
    assert_eq!(zone.consecutive_failures(), 1);

    // Stays AuthFailed during the back-off and the following attempt.
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    assert_eq!(zone.state(), ZoneState::AuthFailed);
    zone.handle_connected(t0 + secs(1));
    assert_eq!(zone.state(), ZoneState::AuthFailed);

    // Success clears it.
    zone.handle_authenticated(t0 + secs(1));
    assert_eq!(zone.state(), ZoneState::Active);
    assert_eq!(zone.consecutive_failures(), 0);
}

#[test]
fn auth_failure_on_a_later_peer_restarts_the_round_at_peer_zero() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 3, t0);
    drain(&mut zone);
    zone.handle_connect_failed(t0);
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 1 }]);
    zone.handle_connected(t0 + ms(5));
    zone.handle_auth_failed(t0 + ms(9));
    drain(&mut zone);
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
}

#[test]
fn repeated_auth_failures_back_off_without_a_retry_storm() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 6, t0);
    let end = t0 + secs(60);
    let mut connects = 0;
    let mut closes = 0;
    let mut backoffs = Vec::new();
    loop {
        for action in drain(&mut zone) {
            match action {
                Action::Connect { .. } => connects += 1,
                Action::Close {
                    reason: CloseReason::AuthFailed,
                } => closes += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        let at = zone.poll_timeout().expect("deadline");
        if zone.next_backoff().is_some() {
            if at > end {
                break;
            }
            zone.handle_timeout(at);
            continue;
        }
        // An attempt is in progress: the peer answers quickly and rejects us.
        let now = zone.poll_timeout().unwrap() - secs(5) + ms(50);
        zone.handle_connected(now);
        zone.handle_auth_failed(now + ms(20));
        assert_eq!(zone.state(), ZoneState::AuthFailed);
        backoffs.push(zone.next_backoff().unwrap());
    }
    // 0.5 + 1 + 2 + 4 + 8 + 15 + 15 + ... : attempts at about 0, 0.6, 1.6, 3.7, 7.8, 15.8,
    // 30.9, 45.9 s.
    assert_eq!(connects, 8, "backoffs: {backoffs:?}");
    assert_eq!(closes, 8);
    assert!(backoffs.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*backoffs.last().unwrap(), secs(15));
}

#[test]
fn state_rules() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 2, t0);
    drain(&mut zone);

    // Never active, transport failures: Connecting, also while backing off.
    assert_eq!(zone.state(), ZoneState::Connecting);
    refuse_round(&mut zone, t0, 2);
    assert_eq!(zone.state(), ZoneState::Connecting);
    let (now, _) = fire(&mut zone);

    // Auth failure: AuthFailed.
    zone.handle_connected(now);
    zone.handle_auth_failed(now);
    assert_eq!(zone.state(), ZoneState::AuthFailed);
    let (now, _) = fire(&mut zone);

    // Transport failure after an auth failure, never active: back to Connecting.
    zone.handle_connect_failed(now);
    assert_eq!(zone.state(), ZoneState::Connecting);
    zone.handle_connect_failed(now);
    let (now, _) = fire(&mut zone);

    // Active.
    activate(&mut zone, now);
    assert_eq!(zone.state(), ZoneState::Active);

    // Lost: Down, through the back-off, the next connect and handle_connected.
    zone.handle_connection_lost(now + secs(1));
    assert_eq!(zone.state(), ZoneState::Down);
    let (now, _) = fire(&mut zone);
    assert_eq!(zone.state(), ZoneState::Down);
    zone.handle_connected(now);
    assert_eq!(zone.state(), ZoneState::Down);
    zone.handle_connection_lost(now);
    assert_eq!(zone.state(), ZoneState::Down);

    // Auth failure after having been active: AuthFailed; a later transport failure: Down.
    zone.handle_connected(now);
    zone.handle_auth_failed(now);
    assert_eq!(zone.state(), ZoneState::AuthFailed);
    let (now, _) = fire(&mut zone);
    zone.handle_connect_failed(now);
    assert_eq!(zone.state(), ZoneState::Down);
    zone.handle_authenticated(now);
    assert_eq!(zone.state(), ZoneState::Active);
}

#[test]
fn peer_count_is_clamped_to_one_through_six() {
    let t0 = Instant::now();
    for (given, effective) in [(0, 1), (1, 1), (6, 6), (7, 6), (usize::MAX, 6)] {
        let mut zone = ZoneProbe::new(ProbeConfig::default(), given, t0);
        let mut peers = Vec::new();
        for action in drain(&mut zone) {
            if let Action::Connect { peer } = action {
                peers.push(peer);
            }
        }
        while zone.next_backoff().is_none() {
            zone.handle_connect_failed(t0);
            for action in drain(&mut zone) {
                if let Action::Connect { peer } = action {
                    peers.push(peer);
                }
            }
        }
        let want: Vec<usize> = (0..effective).collect();
        assert_eq!(peers, want, "peer_count {given}");
    }
}
