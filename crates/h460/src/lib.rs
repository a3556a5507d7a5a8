//! H.323 for exp's traversal zones, sans-IO: the ASN.1 aligned PER codec (ITU-T X.691) for
//! the H.225.0 RAS and call-signalling messages and the H.245 messages calls need, TPKT
//! (RFC 1006) and Q.931 framing on TCP, and the H.460.18 (signalling traversal) and
//! H.460.19 (media traversal) procedures between exp-c and exp-e.
//!
//! Nothing here touches a socket or a clock: callers pass bytes and the current time in and
//! get bytes and events out. Every decoder returns an error on malformed input; none panics.

pub mod cs;
pub mod features;
pub mod gateway;
pub mod h225;
pub mod h235;
pub mod h245;
pub mod per;
pub mod q931;
pub mod ras;
pub mod ras_auth;
pub mod ras_client;
pub mod ras_server;
pub mod tokens;
pub mod tpkt;
