//! The tokio runtime of exp-e and exp-c: it moves bytes and timers between sockets and the
//! sans-IO protocol crates, and nothing more.
//!
//! [`node::Node`] starts a whole program from a resolved configuration; [`cli::main`] is the
//! command line both binaries share.

pub mod admin;
pub mod anchor;
pub mod batch_io;
pub mod calls;
pub mod cli;
pub mod client_zone;
pub mod h323_calls;
pub mod h323_media;
pub mod h323_ras;
pub mod logging;
pub mod media_bench;
pub mod media_io;
pub mod node;
pub mod recv_ring;
pub mod send_queue;
pub mod server_zone;
pub mod sip_transport;
pub mod status;
pub mod target_names;
pub mod tls;
pub mod turn_conn;
pub mod turn_io;
pub mod turn_metrics;

pub use exp_zone::Role;
pub use node::Node;

/// 16 random bytes to seed a protocol session's tokens (tags, nonces, branches).
pub fn seed() -> [u8; 16] {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut s = [0u8; 16];
    if SystemRandom::new().fill(&mut s).is_err() {
        // The OS random source failed; fall back to time so sessions still differ.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        s = t.to_le_bytes();
    }
    s
}
