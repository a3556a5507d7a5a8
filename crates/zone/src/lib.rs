//! The zone model of exp: configuration, traversal zones, credentials, routing rules and the
//! port plan.
//!
//! exp-e (traversal server) and exp-c (traversal client) share one configuration format. This
//! crate reads it ([`load`]), checks it and allocates zone ports ([`Config::resolve`]), and
//! answers the questions the runtime asks of it (which credential, which route, which ports).
//! It does no network I/O.

pub mod config;
pub mod credentials;
pub mod load;
pub mod ports;
pub mod problem;
pub mod resolve;
pub mod routing;
pub mod turn;

pub use config::{Config, Role, Secret, Transport};
pub use credentials::{CredentialDb, HashAlgorithm};
pub use load::{load, load_resolved};
pub use problem::{ConfigError, Problem};
pub use resolve::{ClientZone, H323Plan, Peer, ProbeTimings, Resolved, ServerZone};
