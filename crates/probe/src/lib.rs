//! Sans-IO keep-alive, probe, back-off and peer-rotation state machine for exp-c.
//!
//! exp-c, on the LAN side, keeps one persistent authenticated outbound TCP/TLS connection
//! per traversal zone to exp-e in the DMZ. This crate holds the decisions about that
//! connection, free of sockets and clocks so they can be tested exhaustively:
//!
//! * [`ZoneProbe`] — the machine itself: connect, wait for authentication, probe at the
//!   keep-alive interval, retry unanswered probes, send optional RFC 5626 CRLF pings, and
//!   reconnect with exponential back-off across up to six peers. The [`zone_probe`] module
//!   documentation holds the exact rules, including how [`ZoneState`] is decided.
//! * [`ProbeConfig`] — the timings.
//! * [`Action`] / [`CloseReason`] — what the runtime must do.
//!
//! The runtime drives it like this: feed events with the `handle_*` methods, drain
//! [`ZoneProbe::poll_action`] after each call, and call [`ZoneProbe::handle_timeout`] when
//! [`ZoneProbe::poll_timeout`] is reached. The machine never reads the clock, sleeps, does
//! I/O or panics.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use exp_probe::{Action, ProbeConfig, ZoneProbe, ZoneState};
//!
//! let t0 = Instant::now();
//! let mut zone = ZoneProbe::new(ProbeConfig::default(), 2, t0);
//! assert_eq!(zone.poll_action(), Some(Action::Connect { peer: 0 }));
//!
//! zone.handle_connected(t0 + Duration::from_millis(10));
//! zone.handle_authenticated(t0 + Duration::from_millis(50));
//! assert_eq!(zone.state(), ZoneState::Active);
//!
//! // Nothing to do until the first CRLF ping is due, 10 s after authentication.
//! let authenticated = t0 + Duration::from_millis(50);
//! assert_eq!(zone.poll_timeout(), Some(authenticated + Duration::from_secs(10)));
//! zone.handle_timeout(authenticated + Duration::from_secs(10));
//! assert_eq!(zone.poll_action(), Some(Action::SendPing));
//! zone.handle_pong(authenticated + Duration::from_millis(10_020));
//!
//! // The first probe goes out 20 s after authentication.
//! assert_eq!(zone.poll_timeout(), Some(authenticated + Duration::from_secs(20)));
//! zone.handle_timeout(authenticated + Duration::from_secs(20));
//! assert_eq!(zone.poll_action(), Some(Action::SendProbe { seq: 1 }));
//! ```

#![warn(missing_docs)]

mod action;
mod backoff;
mod clock;
mod config;
mod keepalive;
mod state;
pub mod zone_probe;

pub use action::{Action, CloseReason};
pub use config::ProbeConfig;
pub use state::ZoneState;
pub use zone_probe::ZoneProbe;
