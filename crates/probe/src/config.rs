//! Timing knobs of one zone's keep-alive machine.
//!
//! They live apart from the machine so the runtime can build them from its configuration
//! file without touching any state. The machine never trusts them as given: [`ProbeConfig`]
//! values are brought into a safe range once, when a [`crate::ZoneProbe`] is created, so
//! that a zero or absurdly large duration can neither make the machine spin nor overflow an
//! [`std::time::Instant`].

use std::time::Duration;

/// Timings for probing, CRLF keep-alive, connecting and back-off of one client zone.
///
/// Every duration is clamped into
/// [`ProbeConfig::MIN_DURATION`]`..=`[`ProbeConfig::MAX_DURATION`] when the machine is
/// created; a `backoff_max` below `backoff_initial` caps every back-off at `backoff_max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Time from an answered probe (or from authentication) to the next probe. Default 20 s.
    pub keepalive_interval: Duration,
    /// How long to wait for an answer before re-sending a probe. Default 2 s.
    pub retry_interval: Duration,
    /// Re-sends after the first unanswered probe; when the last one also goes unanswered for
    /// `retry_interval` the connection is closed and the zone goes down. Default 5.
    pub retry_count: u32,
    /// Time within which the transport connect *and* the authentication handshake must
    /// finish, counted from the `Connect` action. Default 5 s.
    pub connect_timeout: Duration,
    /// Back-off after the first failed round. Default 500 ms.
    pub backoff_initial: Duration,
    /// Upper bound of the back-off. Default 15 s.
    pub backoff_max: Duration,
    /// Interval of RFC 5626 CRLF pings while active; `None` disables them. Default 10 s.
    pub crlf_interval: Option<Duration>,
    /// How long to wait for the pong of a CRLF ping before treating the connection as lost
    /// (RFC 5626 §4.4.1). Default 2 s.
    pub pong_timeout: Duration,
}

impl ProbeConfig {
    /// Shortest duration the machine uses. Shorter configured values (zero included) are
    /// raised to it, so that every timer the machine sets lies strictly in the future.
    pub const MIN_DURATION: Duration = Duration::from_millis(1);

    /// Longest duration the machine uses (365 days). Longer configured values are lowered
    /// to it, so that adding them to an `Instant` cannot overflow.
    pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// A copy with every duration brought into `MIN_DURATION..=MAX_DURATION`.
    pub(crate) fn sanitized(&self) -> Self {
        let fit = |d: Duration| d.clamp(Self::MIN_DURATION, Self::MAX_DURATION);
        Self {
            keepalive_interval: fit(self.keepalive_interval),
            retry_interval: fit(self.retry_interval),
            retry_count: self.retry_count,
            connect_timeout: fit(self.connect_timeout),
            backoff_initial: fit(self.backoff_initial),
            backoff_max: fit(self.backoff_max),
            crlf_interval: self.crlf_interval.map(fit),
            pong_timeout: fit(self.pong_timeout),
        }
    }
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            keepalive_interval: Duration::from_secs(20),
            retry_interval: Duration::from_secs(2),
            retry_count: 5,
            connect_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(15),
            crlf_interval: Some(Duration::from_secs(10)),
            pong_timeout: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_clamps_every_duration() {
        let raw = ProbeConfig {
            keepalive_interval: Duration::ZERO,
            retry_interval: Duration::MAX,
            retry_count: 0,
            connect_timeout: Duration::ZERO,
            backoff_initial: Duration::ZERO,
            backoff_max: Duration::MAX,
            crlf_interval: Some(Duration::ZERO),
            pong_timeout: Duration::ZERO,
        };
        let s = raw.sanitized();
        assert_eq!(s.keepalive_interval, ProbeConfig::MIN_DURATION);
        assert_eq!(s.retry_interval, ProbeConfig::MAX_DURATION);
        assert_eq!(s.connect_timeout, ProbeConfig::MIN_DURATION);
        assert_eq!(s.backoff_initial, ProbeConfig::MIN_DURATION);
        assert_eq!(s.backoff_max, ProbeConfig::MAX_DURATION);
        assert_eq!(s.crlf_interval, Some(ProbeConfig::MIN_DURATION));
        assert_eq!(s.pong_timeout, ProbeConfig::MIN_DURATION);
        assert_eq!(s.retry_count, 0);
    }

    #[test]
    fn defaults_are_sane_and_unchanged_by_sanitizing() {
        let d = ProbeConfig::default();
        assert_eq!(d.sanitized(), d);
        assert_eq!(d.keepalive_interval, Duration::from_secs(20));
        assert_eq!(d.crlf_interval, Some(Duration::from_secs(10)));
    }
}
