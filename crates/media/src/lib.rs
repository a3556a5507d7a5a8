//! exp's media relay core, free of I/O.
//!
//! Both programs anchor every call's media: an endpoint's RTP/RTCP arrives on one of our ports
//! and leaves from another toward the next hop. Between exp-c and exp-e all media to exp-e
//! shares a few *demultiplexing* ports, each packet prefixed with a 4-byte mux identifier that
//! exp-e assigned to the stream (see `docs/media-demux.md`). This crate decides, for every
//! datagram, where it goes (or why it is dropped); the runtime only moves bytes. Time is passed
//! in, so tests run without sleeping.

pub mod packet;
pub mod pool;
pub mod relay;

pub use packet::{KEEPALIVE_LEN, MAX_DATAGRAM, MUX_PREFIX_LEN};
pub use pool::PortPool;
pub use relay::{
    Action, Component, Counters, DropReason, Event, LegCounters, LegKind, LegSide, LegSpec,
    LegStatus, Relay, RelayConfig, RelayError, StreamId, Transmit,
};
