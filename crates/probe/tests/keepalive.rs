//! Probe rounds and CRLF pings on an active connection.

mod harness;

use std::time::Instant;

use exp_probe::{Action, CloseReason, ProbeConfig, ZoneProbe, ZoneState};
use harness::{activate, drain, fire, ms, no_crlf, probe_seq, secs};

#[test]
fn starts_with_connect_to_peer_zero() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(ProbeConfig::default(), 3, t0);
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 0 }]);
    assert_eq!(zone.state(), ZoneState::Connecting);
    assert_eq!(zone.current_peer(), 0);
    assert_eq!(zone.reconnect_count(), 0);
    assert_eq!(zone.consecutive_failures(), 0);
    assert_eq!(zone.next_backoff(), None);
    assert_eq!(zone.last_rtt(), None);
    // The connect timeout is the only thing pending.
    assert_eq!(zone.poll_timeout(), Some(t0 + secs(5)));
}

#[test]
fn first_probe_exactly_one_keepalive_interval_after_authentication() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    let auth = t0 + ms(300);
    assert!(activate(&mut zone, auth).is_empty());
    assert_eq!(zone.state(), ZoneState::Active);
    assert_eq!(zone.poll_timeout(), Some(auth + secs(20)));

    // Not a moment early.
    zone.handle_timeout(auth + secs(20) - ms(1));
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.poll_timeout(), Some(auth + secs(20)));

    zone.handle_timeout(auth + secs(20));
    assert_eq!(drain(&mut zone), vec![Action::SendProbe { seq: 1 }]);
    assert_eq!(zone.poll_timeout(), Some(auth + secs(22)));
}

#[test]
fn answered_probe_records_rtt_and_reschedules_from_the_answer() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (sent, actions) = fire(&mut zone);
    let seq = probe_seq(&actions);

    let answered = sent + ms(42);
    zone.handle_probe_answer(seq, answered);
    assert_eq!(zone.last_rtt(), Some(ms(42)));
    assert_eq!(zone.state(), ZoneState::Active);
    assert_eq!(zone.poll_timeout(), Some(answered + secs(20)));
    assert!(drain(&mut zone).is_empty());

    // And again: the next round uses a new number.
    let (sent2, actions) = fire(&mut zone);
    assert_eq!(sent2, answered + secs(20));
    let seq2 = probe_seq(&actions);
    assert!(seq2 > seq);
    zone.handle_probe_answer(seq2, sent2 + ms(7));
    assert_eq!(zone.last_rtt(), Some(ms(7)));
}

#[test]
fn unanswered_probe_is_resent_retry_count_times_then_zone_goes_down() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 2, t0);
    drain(&mut zone);
    activate(&mut zone, t0);

    let (first, actions) = fire(&mut zone);
    let mut seqs = vec![probe_seq(&actions)];
    let mut last_send = first;
    for _ in 0..5 {
        assert_eq!(zone.poll_timeout(), Some(last_send + secs(2)));
        let (at, actions) = fire(&mut zone);
        assert_eq!(at, last_send + secs(2));
        seqs.push(probe_seq(&actions));
        last_send = at;
        assert_eq!(zone.state(), ZoneState::Active);
    }
    // Every send has its own, increasing number.
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    // The last re-send goes unanswered too.
    assert_eq!(zone.poll_timeout(), Some(last_send + secs(2)));
    let (down_at, actions) = fire(&mut zone);
    assert_eq!(
        actions,
        vec![Action::Close {
            reason: CloseReason::ProbeTimeout
        }]
    );
    assert_eq!(zone.state(), ZoneState::Down);
    assert_eq!(zone.next_backoff(), Some(ms(500)));
    assert_eq!(zone.consecutive_failures(), 1);

    // Reconnect to peer 0 after backoff_initial.
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, down_at + ms(500));
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    assert_eq!(zone.state(), ZoneState::Down);
}

#[test]
fn retry_count_zero_gives_up_after_the_first_send() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        retry_count: 0,
        ..no_crlf()
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (_, actions) = fire(&mut zone);
    probe_seq(&actions);
    let (_, actions) = fire(&mut zone);
    assert_eq!(
        actions,
        vec![Action::Close {
            reason: CloseReason::ProbeTimeout
        }]
    );
}

#[test]
fn answer_to_a_resend_completes_the_round_with_its_own_rtt() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (_, actions) = fire(&mut zone);
    probe_seq(&actions);
    let (resent, actions) = fire(&mut zone);
    let seq = probe_seq(&actions);

    zone.handle_probe_answer(seq, resent + ms(30));
    assert_eq!(zone.last_rtt(), Some(ms(30)));
    assert_eq!(zone.poll_timeout(), Some(resent + ms(30) + secs(20)));
}

#[test]
fn late_answer_to_an_earlier_send_of_the_round_still_counts() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (first, actions) = fire(&mut zone);
    let first_seq = probe_seq(&actions);
    let (resent, actions) = fire(&mut zone);
    probe_seq(&actions);

    // The answer to the first send arrives 2.5 s after it, after the re-send.
    zone.handle_probe_answer(first_seq, first + ms(2_500));
    assert_eq!(zone.last_rtt(), Some(ms(2_500)));
    assert!(resent < first + ms(2_500));
    assert_eq!(zone.poll_timeout(), Some(first + ms(2_500) + secs(20)));
}

#[test]
fn stale_probe_answers_are_ignored() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (sent, actions) = fire(&mut zone);
    let seq = probe_seq(&actions);
    zone.handle_probe_answer(seq, sent + ms(10));
    let next_due = zone.poll_timeout();

    // Duplicate answer while idle: nothing changes.
    zone.handle_probe_answer(seq, sent + ms(20));
    assert_eq!(zone.last_rtt(), Some(ms(10)));
    assert_eq!(zone.poll_timeout(), next_due);

    // During the next round, an answer to the previous round or a number never sent does
    // not complete it.
    let (sent2, actions) = fire(&mut zone);
    let seq2 = probe_seq(&actions);
    zone.handle_probe_answer(seq, sent2 + ms(5));
    zone.handle_probe_answer(seq2 + 100, sent2 + ms(6));
    zone.handle_probe_answer(0, sent2 + ms(7));
    assert_eq!(zone.poll_timeout(), Some(sent2 + secs(2)));
    assert_eq!(zone.last_rtt(), Some(ms(10)));
    assert!(drain(&mut zone).is_empty());

    // Answers from a previous connection do not count on the next one.
    zone.handle_connection_lost(sent2 + secs(1));
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
    let reconnected = sent2 + secs(3);
    activate(&mut zone, reconnected);
    let (sent3, actions) = fire(&mut zone);
    let seq3 = probe_seq(&actions);
    assert!(seq3 > seq2);
    zone.handle_probe_answer(seq2, sent3 + ms(1));
    assert_eq!(zone.poll_timeout(), Some(sent3 + secs(2)));
}

#[test]
fn crlf_pings_follow_their_interval_and_pongs_keep_the_connection() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        keepalive_interval: secs(60),
        crlf_interval: Some(secs(10)),
        pong_timeout: secs(2),
        ..ProbeConfig::default()
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);

    let mut last_ping = t0;
    for _ in 0..4 {
        assert_eq!(zone.poll_timeout(), Some(last_ping + secs(10)));
        zone.handle_timeout(last_ping + secs(10) - ms(1));
        assert!(drain(&mut zone).is_empty());
        let (at, actions) = fire(&mut zone);
        assert_eq!(actions, vec![Action::SendPing]);
        assert_eq!(at, last_ping + secs(10));
        // While waiting for the pong, the pong deadline is next.
        assert_eq!(zone.poll_timeout(), Some(at + secs(2)));
        zone.handle_pong(at + ms(80));
        assert_eq!(zone.state(), ZoneState::Active);
        last_ping = at;
    }
    // After 4 pings at 10, 20, 30, 40 s, the next is at 50 s and the probe at 60 s.
    assert_eq!(last_ping, t0 + secs(40));
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::SendPing]);
    zone.handle_pong(t0 + secs(50) + ms(5));
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, t0 + secs(60));
    probe_seq(&actions);
}

#[test]
fn missing_pong_closes_and_zone_goes_down() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(ProbeConfig::default(), 3, t0);
    drain(&mut zone);
    zone.handle_connect_failed(t0 + ms(5));
    assert_eq!(drain(&mut zone), vec![Action::Connect { peer: 1 }]);
    activate(&mut zone, t0 + ms(10));
    assert_eq!(zone.current_peer(), 1);

    let (ping_at, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::SendPing]);
    assert_eq!(ping_at, t0 + ms(10) + secs(10));
    zone.handle_timeout(ping_at + secs(2) - ms(1));
    assert!(drain(&mut zone).is_empty());
    assert_eq!(zone.state(), ZoneState::Active);

    let (at, actions) = fire(&mut zone);
    assert_eq!(at, ping_at + secs(2));
    assert_eq!(
        actions,
        vec![Action::Close {
            reason: CloseReason::PongTimeout
        }]
    );
    assert_eq!(zone.state(), ZoneState::Down);
    assert_eq!(zone.next_backoff(), Some(ms(500)));
    let (at2, actions) = fire(&mut zone);
    assert_eq!(at2, at + ms(500));
    assert_eq!(actions, vec![Action::Connect { peer: 0 }]);
}

#[test]
fn no_ping_while_a_probe_is_outstanding() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        keepalive_interval: secs(20),
        retry_interval: secs(8),
        retry_count: 3,
        crlf_interval: Some(secs(5)),
        ..ProbeConfig::default()
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    // Pings at 5, 10, 15 s, each answered at once.
    for n in 1..=3 {
        let (at, actions) = fire(&mut zone);
        assert_eq!((at, actions), (t0 + secs(5 * n), vec![Action::SendPing]));
        zone.handle_pong(at);
    }
    // At 20 s both the probe and a ping would be due: only the probe goes out.
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, t0 + secs(20));
    let seq = probe_seq(&actions);
    // The probe is outstanding for 8 s, longer than the ping interval: no ping meanwhile,
    // the next thing is the re-send.
    assert_eq!(zone.poll_timeout(), Some(t0 + secs(28)));
    zone.handle_probe_answer(seq, t0 + secs(23));
    // Pings resume 5 s after the answer.
    assert_eq!(zone.poll_timeout(), Some(t0 + secs(28)));
    let (at, actions) = fire(&mut zone);
    assert_eq!((at, actions), (t0 + secs(28), vec![Action::SendPing]));
}

#[test]
fn without_crlf_interval_no_pings_are_sent() {
    let t0 = Instant::now();
    let mut zone = ZoneProbe::new(no_crlf(), 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let mut now = t0;
    for _ in 0..20 {
        let (at, actions) = fire(&mut zone);
        let seq = probe_seq(&actions);
        zone.handle_probe_answer(seq, at + ms(15));
        now = at;
    }
    assert_eq!(zone.state(), ZoneState::Active);
    assert!(now > t0 + secs(20 * 19));
    // Pong without ping is ignored.
    zone.handle_pong(now + ms(20));
    assert_eq!(zone.state(), ZoneState::Active);
}

#[test]
fn pong_deadline_still_runs_while_a_probe_is_sent() {
    let t0 = Instant::now();
    let config = ProbeConfig {
        keepalive_interval: secs(11),
        crlf_interval: Some(secs(10)),
        pong_timeout: secs(2),
        ..ProbeConfig::default()
    };
    let mut zone = ZoneProbe::new(config, 1, t0);
    drain(&mut zone);
    activate(&mut zone, t0);
    let (_, actions) = fire(&mut zone);
    assert_eq!(actions, vec![Action::SendPing]);
    // Probe due at 11 s while the pong (deadline 12 s) is still awaited.
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, t0 + secs(11));
    let seq = probe_seq(&actions);
    zone.handle_probe_answer(seq, t0 + secs(11) + ms(10));
    // The probe answer does not stand in for the pong.
    let (at, actions) = fire(&mut zone);
    assert_eq!(at, t0 + secs(12));
    assert_eq!(
        actions,
        vec![Action::Close {
            reason: CloseReason::PongTimeout
        }]
    );
}
