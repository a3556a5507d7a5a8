//! TURN ChannelData framing (RFC 8656 §12.4, §12.5) and the demultiplexing of a TCP stream
//! into STUN messages and ChannelData frames. A TURN server reads both kinds of frames from
//! the same socket; this module tells them apart and cuts them out, without any I/O.

use crate::attribute::pad4;
use crate::error::{ChannelError, StunError};
use crate::message::{check_header, HEADER_LEN};

/// Lowest channel number a client may bind (RFC 8656 §12).
pub const CHANNEL_MIN: u16 = 0x4000;
/// Highest channel number a client may bind. RFC 8656 §12 narrowed the range to 0x4FFF and
/// reserved 0x5000–0x7FFF, but RFC 5766 §11 clients (coturn's among them) still pick numbers
/// up to 0x7FFF, and the first two bits (0b01) tell ChannelData apart either way: the RFC 5766
/// range is accepted for compatibility.
pub const CHANNEL_MAX: u16 = 0x7FFF;
/// Size of the ChannelData header (RFC 8656 §12.4).
pub const CHANNEL_HEADER_LEN: usize = 4;

/// Whether `n` is a channel number a ChannelBind may use (RFC 8656 §12).
pub fn is_valid_channel(n: u16) -> bool {
    (CHANNEL_MIN..=CHANNEL_MAX).contains(&n)
}

/// A ChannelData message (RFC 8656 §12.4), borrowing its data from the received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// Channel number, 0x4000–0x7FFF.
    pub channel: u16,
    /// Application data.
    pub data: &'a [u8],
}

fn header(buf: &[u8]) -> Result<(u16, usize), ChannelError> {
    if buf.len() < CHANNEL_HEADER_LEN {
        return Err(ChannelError::TooShort { len: buf.len() });
    }
    let channel = u16::from_be_bytes([buf[0], buf[1]]);
    if !is_valid_channel(channel) {
        return Err(ChannelError::BadChannel(channel));
    }
    Ok((channel, usize::from(u16::from_be_bytes([buf[2], buf[3]]))))
}

impl<'a> ChannelData<'a> {
    /// Decodes ChannelData from a UDP datagram. Bytes after the announced length are padding,
    /// which is optional over UDP (RFC 8656 §12.5); a datagram shorter than the announced
    /// length is an error (the RFC says to discard it).
    pub fn decode(datagram: &'a [u8]) -> Result<ChannelData<'a>, ChannelError> {
        let (channel, len) = header(datagram)?;
        let data = datagram
            .get(CHANNEL_HEADER_LEN..CHANNEL_HEADER_LEN + len)
            .ok_or(ChannelError::Truncated {
                header: len,
                actual: datagram.len() - CHANNEL_HEADER_LEN,
            })?;
        Ok(ChannelData { channel, data })
    }

    /// Decodes ChannelData from the start of a TCP stream buffer, where the frame is padded to
    /// a multiple of 4 bytes (RFC 8656 §12.5). Returns the frame and the bytes it takes,
    /// padding included, or `None` if the buffer does not hold the whole frame yet.
    pub fn decode_stream(buf: &'a [u8]) -> Result<Option<(ChannelData<'a>, usize)>, ChannelError> {
        if buf.len() < CHANNEL_HEADER_LEN {
            return Ok(None);
        }
        let (channel, len) = header(buf)?;
        let total = CHANNEL_HEADER_LEN + pad4(len);
        if buf.len() < total {
            return Ok(None);
        }
        let data = &buf[CHANNEL_HEADER_LEN..CHANNEL_HEADER_LEN + len];
        Ok(Some((ChannelData { channel, data }, total)))
    }

    /// Bytes the encoded frame takes, with or without padding to 4.
    pub fn encoded_len(&self, padded: bool) -> usize {
        let n = CHANNEL_HEADER_LEN + self.data.len();
        if padded {
            pad4(n)
        } else {
            n
        }
    }

    /// Appends the frame to `out`; `padded` for TCP (RFC 8656 §12.5: MUST over TCP, optional
    /// over UDP).
    pub fn encode(&self, padded: bool, out: &mut Vec<u8>) -> Result<(), ChannelError> {
        if !is_valid_channel(self.channel) {
            return Err(ChannelError::BadChannel(self.channel));
        }
        let len =
            u16::try_from(self.data.len()).map_err(|_| ChannelError::TooLong(self.data.len()))?;
        out.reserve(self.encoded_len(padded));
        out.extend_from_slice(&self.channel.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.data);
        if padded {
            out.resize(out.len() + (pad4(self.data.len()) - self.data.len()), 0);
        }
        Ok(())
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self, padded: bool) -> Result<Vec<u8>, ChannelError> {
        let mut out = Vec::new();
        self.encode(padded, &mut out)?;
        Ok(out)
    }
}

/// What a frame at the start of a TCP stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A STUN message (first two bits 0b00, RFC 8489 §5).
    Stun,
    /// A ChannelData message (first two bits 0b01, RFC 8656 §12.4).
    ChannelData,
}

/// Looks at the start of a TCP stream buffer and tells whether it holds a STUN message or
/// ChannelData, and how many bytes the complete frame takes (RFC 8656 §12.5: over TCP,
/// ChannelData is padded to 4; a STUN message takes 20 + its length field). `Ok(None)` means
/// more bytes are needed to tell. An error means the stream cannot be framed any more and the
/// connection should be closed.
pub fn frame_len(buf: &[u8]) -> Result<Option<(FrameKind, usize)>, ChannelError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    match first >> 6 {
        0b00 => {
            if buf.len() < 8 {
                // Length is at bytes 2–3; check what we can before the cookie arrives.
                if buf.len() >= 4 {
                    let len = u16::from_be_bytes([buf[2], buf[3]]);
                    if len % 4 != 0 {
                        return Err(StunError::LengthNotAligned(len).into());
                    }
                }
                return Ok(None);
            }
            let len = check_header(buf)?;
            Ok(Some((FrameKind::Stun, HEADER_LEN + usize::from(len))))
        }
        0b01 => {
            if buf.len() < CHANNEL_HEADER_LEN {
                return Ok(None);
            }
            let (_, len) = header(buf)?;
            Ok(Some((
                FrameKind::ChannelData,
                CHANNEL_HEADER_LEN + pad4(len),
            )))
        }
        _ => Err(ChannelError::UnknownFrame(first)),
    }
}
