//! What the machine asks the runtime to do.
//!
//! The machine performs no I/O; every effect it wants is queued as an [`Action`] and
//! drained by the runtime with [`crate::ZoneProbe::poll_action`]. Keeping the vocabulary
//! in its own module makes the contract between machine and runtime easy to read.

use std::fmt;

/// An effect the runtime must carry out, in the order the actions are polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a transport connection to peer `peer` (0-based index into the configured peer
    /// list) and start the authentication handshake on it.
    Connect {
        /// Index of the peer to connect to; always below the clamped peer count.
        peer: usize,
    },
    /// Send a probe (OPTIONS) carrying this sequence number; a matching
    /// [`crate::ZoneProbe::handle_probe_answer`] with the same `seq` is expected. Every send,
    /// re-sends included, carries a fresh number.
    SendProbe {
        /// Sequence number of this send; numbers increase for the life of the machine.
        seq: u64,
    },
    /// Send an RFC 5626 CRLF ping (a double CRLF); report the pong with
    /// [`crate::ZoneProbe::handle_pong`].
    SendPing,
    /// Close the current connection, or abandon the connection attempt in progress. The
    /// runtime drops the socket and must not report further events about it.
    Close {
        /// Why the machine gave up on the connection (for logs and status).
        reason: CloseReason,
    },
}

/// Why the machine asked for a connection to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A probe and all its re-sends went unanswered.
    ProbeTimeout,
    /// A CRLF ping got no pong within `pong_timeout`.
    PongTimeout,
    /// Connect plus handshake did not finish within `connect_timeout`.
    ConnectTimeout,
    /// The peer rejected our credentials.
    AuthFailed,
}

impl CloseReason {
    /// A short, stable, lower-case name for logs and status output.
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::ProbeTimeout => "probe-timeout",
            CloseReason::PongTimeout => "pong-timeout",
            CloseReason::ConnectTimeout => "connect-timeout",
            CloseReason::AuthFailed => "auth-failed",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
