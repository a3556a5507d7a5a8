//! The connection supervisor of one traversal client zone.
//!
//! exp-c keeps one persistent, authenticated connection per zone to exp-e. [`ZoneProbe`]
//! decides when to connect, to which peer, when a connection counts as dead and how long to
//! wait before trying again. It is sans-IO: the runtime reports what happened through the
//! `handle_*` methods, carries out the [`Action`]s it polls, and calls
//! [`ZoneProbe::handle_timeout`] once [`ZoneProbe::poll_timeout`] has passed.
//!
//! # Connecting: rounds, peers and back-off
//!
//! * A **round** tries the configured peers in order, `0, 1, .., N-1` (`N` is clamped to
//!   `1..=6`). Each attempt must reach [`ZoneProbe::handle_authenticated`] within
//!   `connect_timeout` of its `Connect` action. A connect failure, a lost connection during
//!   the handshake, or the timeout (which emits `Close { ConnectTimeout }`) moves on to the
//!   next peer at once, without back-off.
//! * When the last peer of a round fails, the round has failed: the machine waits
//!   `backoff_initial * 2^(failed_rounds - 1)`, capped at `backoff_max`, then starts a new
//!   round at peer 0.
//! * An **authentication failure** emits `Close { AuthFailed }` and ends the round at once:
//!   it counts as a failed round and the machine goes straight to back-off instead of
//!   offering the same bad credentials to every other peer. Repeated rejections therefore
//!   back off exponentially up to `backoff_max`.
//! * Losing an **active** connection (reported loss, probe timeout, pong timeout) counts as
//!   one failed round too, so the next round starts at peer 0 after `backoff_initial` (short
//!   but not zero, so a restarting server is not hammered), and further failed rounds keep
//!   doubling from there.
//! * Becoming active resets the failed-round count and with it the back-off.
//!
//! # Reported state
//!
//! Outside of `Active`, the state is decided by the most recent failure:
//!
//! | situation                                                          | state        |
//! |--------------------------------------------------------------------|--------------|
//! | handshake finished, connection kept alive                          | `Active`     |
//! | latest failure was an authentication rejection                     | `AuthFailed` |
//! | latest failure was a transport failure and the zone was once active | `Down`       |
//! | never active, and no failure yet or latest failure was transport   | `Connecting` |
//!
//! "Transport failure" covers connect failures, connect timeouts, losing a connection, and
//! probe or pong timeouts. The state sticks through back-off and through the following
//! attempts (including `handle_connected`, as a connected but unauthenticated transport is
//! not yet working) until the zone becomes active or fails differently. So a zone that lost
//! its connection reads `Down` until it is active again, and a zone with bad credentials
//! reads `AuthFailed` for as long as the peer keeps rejecting it.
//!
//! # Events, time and robustness
//!
//! * Events that make no sense in the current phase are ignored: a second
//!   `handle_connected`, an answer or pong while not active, `handle_authenticated` while
//!   backing off, and so on. `handle_connect_failed` and `handle_connection_lost` are
//!   treated alike while an attempt is in progress; `handle_authenticated` during an
//!   attempt is accepted even without a prior `handle_connected`.
//! * An event is applied first, then every timer that has expired by its `now` fires, so
//!   after any `handle_*` call [`ZoneProbe::poll_timeout`] lies strictly after that call's
//!   `now`. An answer arriving together with an overdue retry deadline therefore still
//!   counts.
//! * Time never runs backwards inside the machine: an `Instant` earlier than one already
//!   seen is treated as the latest one seen.
//! * After a [`Action::Close`], or after reporting a connect failure or loss, the runtime
//!   must not report further events about that connection; the machine cannot tell a late
//!   event about an abandoned connection from one about the current attempt.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::action::{Action, CloseReason};
use crate::backoff;
use crate::clock::later;
use crate::config::ProbeConfig;
use crate::keepalive::{Answer, Fired, Keepalive};
use crate::state::ZoneState;

/// Most peers a zone may have; larger peer counts are clamped to it.
const MAX_PEERS: usize = 6;

/// Upper bound on timers fired by one call; far above what a single instant can need, it
/// only guards against a livelock should a deadline ever fail to move forward.
const MAX_FIRINGS_PER_CALL: usize = 64;

/// Keep-alive, probe, back-off and peer-rotation state machine of one client zone.
///
/// The rules it follows (rounds, back-off, reported state, event handling) are described in
/// the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ZoneProbe {
    config: ProbeConfig,
    peer_count: usize,
    peer: usize,
    phase: Phase,
    /// Failed rounds since the zone was last active.
    failed_rounds: u32,
    last_failure: Option<Failure>,
    ever_active: bool,
    connects: u64,
    next_seq: u64,
    last_rtt: Option<Duration>,
    /// Latest instant seen; time never goes back behind it.
    clock: Instant,
    actions: VecDeque<Action>,
}

#[derive(Debug, Clone)]
enum Phase {
    /// A `Connect` was issued; waiting for the transport and the handshake.
    Attempt {
        deadline: Instant,
        transport_up: bool,
    },
    /// Authenticated and kept alive.
    Active(Keepalive),
    /// Waiting before the next round.
    Backoff { until: Instant, delay: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Transport,
    Auth,
}

impl ZoneProbe {
    /// A machine for a zone with `peer_count` peers (clamped to `1..=6`), created at `now`.
    /// It immediately queues `Connect { peer: 0 }`; the state is `Connecting`.
    pub fn new(config: ProbeConfig, peer_count: usize, now: Instant) -> Self {
        let mut zone = Self {
            config: config.sanitized(),
            peer_count: peer_count.clamp(1, MAX_PEERS),
            peer: 0,
            phase: Phase::Backoff {
                until: now,
                delay: Duration::ZERO,
            },
            failed_rounds: 0,
            last_failure: None,
            ever_active: false,
            connects: 0,
            next_seq: 1,
            last_rtt: None,
            clock: now,
            actions: VecDeque::new(),
        };
        zone.start_attempt(0, now);
        zone
    }

    /// The reported state (see the module documentation for the rules).
    pub fn state(&self) -> ZoneState {
        if matches!(self.phase, Phase::Active(_)) {
            return ZoneState::Active;
        }
        match self.last_failure {
            Some(Failure::Auth) => ZoneState::AuthFailed,
            Some(Failure::Transport) if self.ever_active => ZoneState::Down,
            _ => ZoneState::Connecting,
        }
    }

    /// Index of the peer of the current connection or attempt; while backing off, of the
    /// peer tried last.
    pub fn current_peer(&self) -> usize {
        self.peer
    }

    /// Connection attempts (`Connect` actions) after the first one.
    pub fn reconnect_count(&self) -> u64 {
        self.connects.saturating_sub(1)
    }

    /// Round trip of the last answered probe, measured from the send that was answered.
    pub fn last_rtt(&self) -> Option<Duration> {
        self.last_rtt
    }

    /// Failed rounds since the zone was last active; drives the back-off. Losing an active
    /// connection and an authentication rejection each count as one.
    pub fn consecutive_failures(&self) -> u32 {
        self.failed_rounds
    }

    /// The back-off currently being waited, if the machine is between rounds.
    pub fn next_backoff(&self) -> Option<Duration> {
        match self.phase {
            Phase::Backoff { delay, .. } => Some(delay),
            _ => None,
        }
    }

    /// Changes the time from an answered probe to the next one, from the next scheduling
    /// on (clamped like every configured duration). H.323 zones use it: the server's granted
    /// time to live, learned during the handshake, bounds the keep-alive interval.
    pub fn set_keepalive_interval(&mut self, interval: Duration) {
        self.config.keepalive_interval =
            interval.clamp(ProbeConfig::MIN_DURATION, ProbeConfig::MAX_DURATION);
    }

    /// The keep-alive interval in use.
    pub fn keepalive_interval(&self) -> Duration {
        self.config.keepalive_interval
    }

    /// The transport to the current peer is up; the handshake starts. The state does not
    /// change, and `connect_timeout` keeps running until the handshake finishes.
    pub fn handle_connected(&mut self, now: Instant) {
        let now = self.observe(now);
        if let Phase::Attempt { transport_up, .. } = &mut self.phase {
            *transport_up = true;
        }
        self.advance(now);
    }

    /// The transport to the current peer could not be opened: try the next peer, or back
    /// off when this was the last peer of the round.
    pub fn handle_connect_failed(&mut self, now: Instant) {
        let now = self.observe(now);
        if matches!(self.phase, Phase::Attempt { .. }) {
            self.attempt_failed(None, now);
        }
        self.advance(now);
    }

    /// The handshake finished: the zone is active, back-off and failures are reset, and the
    /// first probe is due `keepalive_interval` from now.
    pub fn handle_authenticated(&mut self, now: Instant) {
        let now = self.observe(now);
        if matches!(self.phase, Phase::Attempt { .. }) {
            self.phase = Phase::Active(Keepalive::new(&self.config, now));
            self.failed_rounds = 0;
            self.last_failure = None;
            self.ever_active = true;
        }
        self.advance(now);
    }

    /// The peer rejected our credentials: state `AuthFailed`, `Close { AuthFailed }`, and a
    /// new round after a back-off that grows with every consecutive failure.
    pub fn handle_auth_failed(&mut self, now: Instant) {
        let now = self.observe(now);
        if matches!(self.phase, Phase::Attempt { .. }) {
            self.push(Action::Close {
                reason: CloseReason::AuthFailed,
            });
            self.last_failure = Some(Failure::Auth);
            self.round_failed(now);
        }
        self.advance(now);
    }

    /// An answer to probe `seq` arrived. It completes the outstanding round if `seq` is one
    /// of that round's sends, records the round trip from that send, and schedules the next
    /// probe `keepalive_interval` from now. Other numbers are stale and ignored.
    pub fn handle_probe_answer(&mut self, seq: u64, now: Instant) {
        let now = self.observe(now);
        if let Phase::Active(keepalive) = &mut self.phase {
            if let Answer::Completed(rtt) = keepalive.answer(seq, &self.config, now) {
                if rtt.is_some() {
                    self.last_rtt = rtt;
                }
            }
        }
        self.advance(now);
    }

    /// A CRLF pong arrived; it clears the pending pong deadline. Ignored when no ping waits.
    pub fn handle_pong(&mut self, now: Instant) {
        let now = self.observe(now);
        if let Phase::Active(keepalive) = &mut self.phase {
            keepalive.pong();
        }
        self.advance(now);
    }

    /// The connection closed or failed. While active: state `Down` and a new round at peer 0
    /// after `backoff_initial`. During an attempt: like [`ZoneProbe::handle_connect_failed`].
    pub fn handle_connection_lost(&mut self, now: Instant) {
        let now = self.observe(now);
        match self.phase {
            Phase::Active(_) => self.active_lost(None, now),
            Phase::Attempt { .. } => self.attempt_failed(None, now),
            Phase::Backoff { .. } => {}
        }
        self.advance(now);
    }

    /// Fire every timer that has expired by `now`. Call it once `now >= poll_timeout()`;
    /// calling it earlier does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.observe(now);
        self.advance(now);
    }

    /// The next action for the runtime, in the order they were queued.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`ZoneProbe::handle_timeout`] must be called. There is
    /// always one; after any `handle_*` call it lies strictly after the latest `now` the
    /// machine has been given.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Attempt { deadline, .. } => Some(*deadline),
            Phase::Backoff { until, .. } => Some(*until),
            Phase::Active(keepalive) => keepalive.next_timer(&self.config).map(|(at, _)| at),
        }
    }

    /// Take `now` into account, never letting time run backwards.
    fn observe(&mut self, now: Instant) -> Instant {
        if now > self.clock {
            self.clock = now;
        }
        self.clock
    }

    fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    /// Fire expired timers until none is left at `now`.
    fn advance(&mut self, now: Instant) {
        for _ in 0..MAX_FIRINGS_PER_CALL {
            match &mut self.phase {
                Phase::Attempt { deadline, .. } if *deadline <= now => {
                    self.attempt_failed(Some(CloseReason::ConnectTimeout), now);
                }
                Phase::Backoff { until, .. } if *until <= now => {
                    self.start_attempt(0, now);
                }
                Phase::Active(keepalive) => {
                    let Some((at, timer)) = keepalive.next_timer(&self.config) else {
                        return;
                    };
                    if at > now {
                        return;
                    }
                    match keepalive.fire(timer, &self.config, &mut self.next_seq, now) {
                        Fired::Send(action) => self.push(action),
                        Fired::Dead(reason) => self.active_lost(Some(reason), now),
                    }
                }
                _ => return,
            }
        }
    }

    /// Issue `Connect` to `peer`.
    fn start_attempt(&mut self, peer: usize, now: Instant) {
        self.peer = peer;
        self.connects = self.connects.saturating_add(1);
        self.phase = Phase::Attempt {
            deadline: later(now, self.config.connect_timeout),
            transport_up: false,
        };
        self.push(Action::Connect { peer });
    }

    /// The current attempt failed for a transport reason: next peer, or back-off.
    fn attempt_failed(&mut self, close: Option<CloseReason>, now: Instant) {
        if let Some(reason) = close {
            self.push(Action::Close { reason });
        }
        self.last_failure = Some(Failure::Transport);
        let next = self.peer + 1;
        if next < self.peer_count {
            self.start_attempt(next, now);
        } else {
            self.round_failed(now);
        }
    }

    /// The active connection is dead: one failed round, back-off, then peer 0.
    fn active_lost(&mut self, close: Option<CloseReason>, now: Instant) {
        if let Some(reason) = close {
            self.push(Action::Close { reason });
        }
        self.last_failure = Some(Failure::Transport);
        self.round_failed(now);
    }

    /// Count a failed round and wait the corresponding back-off.
    fn round_failed(&mut self, now: Instant) {
        self.failed_rounds = self.failed_rounds.saturating_add(1);
        let delay = backoff::delay(
            self.config.backoff_initial,
            self.config.backoff_max,
            self.failed_rounds,
        );
        self.phase = Phase::Backoff {
            until: later(now, delay),
            delay,
        };
    }
}
