//! SIP for exp, sans-IO: the message codec, stream framing for TCP/TLS, digest
//! authentication, and the traversal zone handshake between exp-c and exp-e.
//!
//! Nothing here touches a socket or a clock: callers pass bytes and the current time in and
//! get bytes and events out, so every protocol path is tested deterministically.

pub mod b2bua;
pub mod credential_check;
pub mod digest;
pub mod framer;
pub mod message;
pub mod path;
pub mod sdp;
pub mod token;
pub mod txn;
pub mod zone;
