//! Deadlines of the core in one binary heap: allocation deadlines (expiry, and the earliest
//! permission or channel expiry inside it) and EVEN-PORT reservations (RFC 8656 §7.2, 30 s).
//! Entries are never removed early; a popped entry is checked against the current state and
//! ignored if stale. An allocation keeps at most one entry that matters, rescheduled only when a
//! deadline moves earlier, so the heap stays proportional to the number of allocations and
//! 50,000 allocations expire in O(n log n).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// `now + d`, without the panic of `Instant + Duration` on overflow: durations come from the
/// configuration and are capped at 100 years, and an unrepresentable deadline becomes `now`
/// plus as much as fits.
pub(crate) fn deadline(now: Instant, d: Duration) -> Instant {
    let d = d.min(Duration::from_secs(100 * 365 * 86_400));
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerTarget {
    /// The allocation in `slot`, if the slot still has `generation`.
    Allocation { slot: u32, generation: u32 },
    /// The reservation with this token.
    Reservation(u64),
}

/// The heap of deadlines.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerTarget)>>,
}

impl Timers {
    pub(crate) fn push(&mut self, at: Instant, target: TimerTarget) {
        self.heap.push(Reverse((at, target)));
    }

    /// The earliest deadline (possibly a stale one: waking early is harmless).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerTarget)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
