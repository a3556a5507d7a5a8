//! Instant arithmetic that cannot panic.
//!
//! The machine is handed `Instant`s by the runtime and adds configured durations to them.
//! `Instant + Duration` panics on overflow, which the crate promises never to do, so every
//! deadline is computed here.

use std::time::Instant;

use crate::config::ProbeConfig;

/// `at + after`, or the nearest representable instant after `at` if that overflows.
///
/// Durations reaching this function are sanitized, so the fallbacks only matter for
/// instants at the very end of the platform's range.
pub(crate) fn later(at: Instant, after: std::time::Duration) -> Instant {
    at.checked_add(after)
        .or_else(|| at.checked_add(ProbeConfig::MIN_DURATION))
        .unwrap_or(at)
}
