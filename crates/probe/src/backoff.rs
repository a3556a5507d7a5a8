//! Exponential back-off between connection rounds.
//!
//! A separate, pure function so the growth law (double per failed round, capped) can be
//! checked on its own and so the machine only has to count failed rounds.

use std::time::Duration;

/// Delay to wait after `failed_rounds` consecutive failed rounds:
/// `initial * 2^(failed_rounds - 1)`, capped at `max` (and `max` wins when it is below
/// `initial`). Zero failed rounds is treated like one.
pub(crate) fn delay(initial: Duration, max: Duration, failed_rounds: u32) -> Duration {
    let mut d = initial;
    let mut round = 1;
    while round < failed_rounds && d < max {
        d = d.checked_mul(2).unwrap_or(max);
        round += 1;
    }
    d.min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_then_caps() {
        let got: Vec<_> = (1..=8).map(|k| delay(MS(500), MS(15_000), k)).collect();
        let want = [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000].map(MS);
        assert_eq!(got, want);
    }

    #[test]
    fn zero_rounds_behaves_like_one() {
        assert_eq!(delay(MS(500), MS(15_000), 0), MS(500));
    }

    #[test]
    fn max_below_initial_wins() {
        assert_eq!(delay(MS(500), MS(100), 1), MS(100));
        assert_eq!(delay(MS(500), MS(100), 9), MS(100));
    }

    #[test]
    fn huge_round_counts_do_not_overflow() {
        // Doubling overflows long before 2^(u32::MAX - 1); the cap takes over.
        assert_eq!(delay(MS(1), Duration::MAX, u32::MAX), Duration::MAX);
        assert_eq!(delay(MS(1), MS(60_000), u32::MAX), MS(60_000));
    }
}
