//! Errors of the codec. Every byte sequence the network can deliver maps either to a decoded
//! value or to one of these errors — never to a panic — so the server can answer with the right
//! STUN error response (400, 401, 420…) or drop the datagram.

use thiserror::Error;

/// Why a STUN message could not be decoded, built or verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StunError {
    /// Fewer bytes than the 20-byte header (RFC 8489 §5).
    #[error("message too short: {len} bytes, a STUN header takes 20")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The two most significant bits of the message are not zero (RFC 8489 §5).
    #[error("not a STUN message: the first two bits are not zero")]
    NotStun,
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5).
    #[error("bad magic cookie {0:#010x}")]
    BadMagicCookie(u32),
    /// The header length is not a multiple of 4 (RFC 8489 §5).
    #[error("message length {0} is not a multiple of 4")]
    LengthNotAligned(u16),
    /// The header length does not match the bytes received.
    #[error("header says {header} bytes of attributes, {actual} received")]
    LengthMismatch {
        /// Attribute bytes announced in the header.
        header: usize,
        /// Attribute bytes actually present.
        actual: usize,
    },
    /// An attribute (with its padding) runs past the end of the message (RFC 8489 §14).
    #[error("attribute {typ:#06x} at offset {offset} runs past the end of the message")]
    AttributeOverflow {
        /// Attribute type.
        typ: u16,
        /// Offset of the attribute header in the message.
        offset: usize,
    },
    /// A known attribute has a value that does not follow its definition.
    #[error("malformed attribute {typ:#06x}: {reason}")]
    MalformedAttribute {
        /// Attribute type.
        typ: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// The message carries no MESSAGE-INTEGRITY(-SHA256) attribute.
    #[error("message has no MESSAGE-INTEGRITY attribute")]
    MissingIntegrity,
    /// The HMAC does not match: wrong key or altered message.
    #[error("MESSAGE-INTEGRITY does not match")]
    IntegrityMismatch,
    /// The message carries no FINGERPRINT attribute.
    #[error("message has no FINGERPRINT attribute")]
    MissingFingerprint,
    /// The CRC-32 does not match.
    #[error("FINGERPRINT does not match")]
    FingerprintMismatch,
    /// The message would exceed the 16-bit length field (encoding).
    #[error("message too long to encode")]
    MessageTooLong,
    /// A value given to the builder cannot be encoded.
    #[error("cannot encode attribute {typ:#06x}: {reason}")]
    InvalidValue {
        /// Attribute type.
        typ: u16,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Why a TURN ChannelData frame (or a TCP stream frame) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChannelError {
    /// Fewer than the 4 header bytes (RFC 8656 §12.4).
    #[error("ChannelData too short: {len} bytes")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The channel number is outside 0x4000–0x7FFF (RFC 5766 §11; RFC 8656 §12 narrows it).
    #[error("channel number {0:#06x} outside 0x4000-0x7FFF")]
    BadChannel(u16),
    /// The datagram is shorter than the length announced (RFC 8656 §12.5: discard).
    #[error("ChannelData announces {header} bytes, {actual} present")]
    Truncated {
        /// Data bytes announced.
        header: usize,
        /// Data bytes present.
        actual: usize,
    },
    /// The data does not fit the 16-bit length field.
    #[error("ChannelData payload too long: {0} bytes")]
    TooLong(usize),
    /// A TCP stream frame starts with bits that are neither STUN (0b00) nor ChannelData (0b01).
    #[error("stream frame is neither STUN nor ChannelData (first byte {0:#04x})")]
    UnknownFrame(u8),
    /// A STUN frame on the stream has an invalid header.
    #[error("bad STUN frame on the stream: {0}")]
    Stun(#[from] StunError),
}
