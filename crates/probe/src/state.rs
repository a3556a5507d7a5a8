//! The externally visible health of a zone.
//!
//! The machine has more internal phases than it reports (dialling, handshaking, backing
//! off); [`ZoneState`] is the small summary that status pages, metrics and logs show. The
//! rules deciding which summary applies are documented on [`crate::ZoneProbe`].

use std::fmt;

/// Reported state of one traversal client zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Not yet had a working connection since the machine was created; attempts are going
    /// on (or a back-off between attempt rounds is being waited).
    Connecting,
    /// Authenticated connection in place and being kept alive.
    Active,
    /// The last attempt was rejected by the peer's authentication.
    AuthFailed,
    /// Had a working connection before, lost it, and has not got one back yet.
    Down,
}

impl ZoneState {
    /// A short, stable, lower-case name: `"connecting"`, `"active"`, `"auth-failed"` or
    /// `"down"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ZoneState::Connecting => "connecting",
            ZoneState::Active => "active",
            ZoneState::AuthFailed => "auth-failed",
            ZoneState::Down => "down",
        }
    }
}

impl fmt::Display for ZoneState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ZoneState::Connecting.as_str(), "connecting");
        assert_eq!(ZoneState::Active.as_str(), "active");
        assert_eq!(ZoneState::AuthFailed.as_str(), "auth-failed");
        assert_eq!(ZoneState::Down.to_string(), "down");
    }
}
