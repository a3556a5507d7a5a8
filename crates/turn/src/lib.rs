//! Sans-IO STUN/TURN codec for the exp-e TURN server: parses and builds STUN messages
//! (RFC 8489, compatible with RFC 5389) and TURN ChannelData frames (RFC 8656) without
//! touching the network, so that every byte from the network is handled by code that can be
//! tested in isolation and never panics. The [`server`] module is the sans-IO TURN server core
//! built on that codec.

pub mod attribute;
pub mod auth;
pub mod channel;
pub mod error;
pub mod message;
pub mod server;

pub use attribute::{types, AddressFamily, Attribute, PasswordAlgorithm};
pub use auth::{long_term_key, long_term_key_md5, long_term_key_sha256, short_term_key, userhash};
pub use channel::{frame_len, ChannelData, FrameKind};
pub use error::{ChannelError, StunError};
pub use message::{
    message_type, split_message_type, Class, Message, MessageBuilder, Method, TransactionId,
    HEADER_LEN, MAGIC_COOKIE,
};
