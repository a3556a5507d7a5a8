//! Liveness checking of an authenticated connection: probe rounds and CRLF pings.
//!
//! Once a zone is active, two independent checks run on its connection:
//!
//! * **Probe rounds.** A probe (SIP OPTIONS) is sent `keepalive_interval` after the
//!   connection became active or after the previous round was answered. An unanswered send
//!   is repeated every `retry_interval`, up to `retry_count` re-sends; every send carries a
//!   fresh sequence number. An answer to *any* send of the outstanding round completes it
//!   (a slow answer to the first send still proves the path works), and the round trip is
//!   measured from the send that was answered. Answers whose number does not belong to the
//!   outstanding round are stale and ignored. When the last re-send also goes unanswered
//!   for `retry_interval` the connection is declared dead.
//! * **CRLF pings** (RFC 5626 §4.4.1), when enabled. A ping is sent `crlf_interval` after
//!   the last keep-alive exchange (a probe or ping sent, or a probe answered), but never
//!   while a probe round is outstanding (the probe already checks the path) and never while
//!   an earlier ping still waits for its pong. A pong that does not come within
//!   `pong_timeout` declares the connection dead.
//!
//! This module only keeps the timers; [`crate::ZoneProbe`] decides what a dead connection
//! means for the zone.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::action::{Action, CloseReason};
use crate::clock::later;
use crate::config::ProbeConfig;

/// How many sends of one round are remembered for measuring round trips. Answers to older
/// sends of the round still complete it, without a round-trip sample.
const REMEMBERED_SENDS: usize = 16;

/// Keep-alive timers of one active connection.
#[derive(Debug, Clone)]
pub(crate) struct Keepalive {
    probe: ProbeSlot,
    /// Last keep-alive exchange: probe or ping sent, or probe answered. Pings are timed
    /// from it.
    last_exchange: Instant,
    /// Deadline for the pong of the ping in flight, if one is.
    pong_deadline: Option<Instant>,
}

#[derive(Debug, Clone)]
enum ProbeSlot {
    /// No probe in flight; the next round starts at `due`.
    Idle { due: Instant },
    /// A round is in flight.
    Outstanding(Round),
}

/// One probe round: the first send and its re-sends.
#[derive(Debug, Clone)]
struct Round {
    first_seq: u64,
    last_seq: u64,
    /// Most recent sends of the round, oldest first, at most `REMEMBERED_SENDS`.
    sends: VecDeque<(u64, Instant)>,
    resends: u32,
    /// When the latest send counts as unanswered.
    deadline: Instant,
}

/// The timers the keep-alive machine can have running, in tie-break order: when several
/// expire at the same instant, failures are looked at before new sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    PongTimeout,
    ProbeDeadline,
    ProbeDue,
    PingDue,
}

/// Result of firing an expired timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fired {
    /// Hand this action to the runtime; the connection lives on.
    Send(Action),
    /// The connection is dead for this reason.
    Dead(CloseReason),
}

/// Result of an incoming probe answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The number does not belong to the outstanding round; nothing changed.
    Stale,
    /// The round is complete; the round trip, when the answered send is remembered.
    Completed(Option<Duration>),
}

impl Keepalive {
    /// Timers for a connection that became active at `now`.
    pub(crate) fn new(config: &ProbeConfig, now: Instant) -> Self {
        Self {
            probe: ProbeSlot::Idle {
                due: later(now, config.keepalive_interval),
            },
            last_exchange: now,
            pong_deadline: None,
        }
    }

    /// The earliest running timer and when it expires.
    pub(crate) fn next_timer(&self, config: &ProbeConfig) -> Option<(Instant, Timer)> {
        let probe = match &self.probe {
            ProbeSlot::Idle { due } => (*due, Timer::ProbeDue),
            ProbeSlot::Outstanding(round) => (round.deadline, Timer::ProbeDeadline),
        };
        let pong = self.pong_deadline.map(|at| (at, Timer::PongTimeout));
        let ping = match (&self.probe, self.pong_deadline, config.crlf_interval) {
            (ProbeSlot::Idle { .. }, None, Some(every)) => {
                Some((later(self.last_exchange, every), Timer::PingDue))
            }
            _ => None,
        };
        [Some(probe), pong, ping].into_iter().flatten().min()
    }

    /// Fire `timer`, which has expired, at `now`. New sequence numbers come from `next_seq`.
    pub(crate) fn fire(
        &mut self,
        timer: Timer,
        config: &ProbeConfig,
        next_seq: &mut u64,
        now: Instant,
    ) -> Fired {
        match timer {
            Timer::PongTimeout => Fired::Dead(CloseReason::PongTimeout),
            Timer::PingDue => {
                self.pong_deadline = Some(later(now, config.pong_timeout));
                self.last_exchange = now;
                Fired::Send(Action::SendPing)
            }
            Timer::ProbeDue => {
                let seq = take_seq(next_seq);
                let mut sends = VecDeque::with_capacity(4);
                sends.push_back((seq, now));
                self.probe = ProbeSlot::Outstanding(Round {
                    first_seq: seq,
                    last_seq: seq,
                    sends,
                    resends: 0,
                    deadline: later(now, config.retry_interval),
                });
                self.last_exchange = now;
                Fired::Send(Action::SendProbe { seq })
            }
            Timer::ProbeDeadline => {
                let ProbeSlot::Outstanding(round) = &mut self.probe else {
                    // Not reachable through `next_timer`; harmless if it ever were.
                    return Fired::Dead(CloseReason::ProbeTimeout);
                };
                if round.resends >= config.retry_count {
                    return Fired::Dead(CloseReason::ProbeTimeout);
                }
                let seq = take_seq(next_seq);
                if round.sends.len() >= REMEMBERED_SENDS {
                    round.sends.pop_front();
                }
                round.sends.push_back((seq, now));
                round.last_seq = seq;
                round.resends += 1;
                round.deadline = later(now, config.retry_interval);
                self.last_exchange = now;
                Fired::Send(Action::SendProbe { seq })
            }
        }
    }

    /// An answer to probe `seq` arrived at `now`.
    pub(crate) fn answer(&mut self, seq: u64, config: &ProbeConfig, now: Instant) -> Answer {
        let ProbeSlot::Outstanding(round) = &self.probe else {
            return Answer::Stale;
        };
        if seq < round.first_seq || seq > round.last_seq {
            return Answer::Stale;
        }
        let rtt = round
            .sends
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, sent)| now.saturating_duration_since(*sent));
        self.probe = ProbeSlot::Idle {
            due: later(now, config.keepalive_interval),
        };
        self.last_exchange = now;
        Answer::Completed(rtt)
    }

    /// A CRLF pong arrived; ignored when no ping is waiting for one.
    pub(crate) fn pong(&mut self) {
        self.pong_deadline = None;
    }
}

/// Hand out the next sequence number.
fn take_seq(next_seq: &mut u64) -> u64 {
    let seq = *next_seq;
    *next_seq = next_seq.wrapping_add(1);
    seq
}
