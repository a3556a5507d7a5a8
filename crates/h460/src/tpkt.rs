//! TPKT framing (RFC 1006 §6) of the H.225.0 call-signalling and H.245 TCP channels.
//!
//! TCP delivers a byte stream; H.225.0 cuts it into messages with the 4-byte TPKT header of
//! RFC 1006 §6 (on the call-signalling channel and on a separate H.245 channel alike):
//!
//! ```text
//!  octet 0   version = 3
//!  octet 1   reserved (sent as 0)
//!  octet 2-3 packet length, big-endian, counting these 4 header octets
//! ```
//!
//! This module builds packets ([`encode`], [`KEEP_ALIVE`]) and cuts a received stream back
//! into them ([`Deframer`]), whatever the sizes of the chunks the socket returns.
//!
//! Decisions:
//! - **Empty TPKT = keep-alive.** A packet of length 4 (a header and nothing else) carries no
//!   message. H.460.18's keep-alive for the TCP channels it opens through the firewall is
//!   exactly such an empty TPKT, sent periodically to keep NAT and firewall bindings open,
//!   and deployed H.460.18 gatekeepers send it and skip it on receipt. The deframer reports it as
//!   [`Event::KeepAlive`], distinct from a packet, so the caller can refresh its idle timer
//!   without handing an empty buffer to the Q.931 decoder.
//! - **Maximum length.** RFC 1006 allows up to 65535 octets. An H.225.0 Setup with fast-start
//!   proposals, tunnelled H.245 and tokens stays within a few KiB, so the deframer refuses
//!   anything over [`DEFAULT_MAX_LEN`] (16 KiB, header included) unless told otherwise
//!   ([`Deframer::with_max_len`]): a peer cannot make us buffer 64 KiB per connection.
//! - **Reserved octet.** Received packets are not refused for a non-zero reserved octet
//!   (RFC 1006 §6 only says to send 0, and some older H.323 endpoints do not): it tells us
//!   nothing about the packet boundary. We always send zero.
//! - **Failure is final.** After a framing error the byte stream has no reliable packet
//!   boundary any more, so the deframer keeps returning the first error; the caller closes the
//!   connection.

use thiserror::Error;

/// The TPKT version octet (RFC 1006 §6).
pub const VERSION: u8 = 3;
/// Size of the TPKT header (RFC 1006 §6).
pub const HEADER_LEN: usize = 4;
/// Largest packet the 16-bit length field can announce, header included.
pub const MAX_LEN: usize = 0xFFFF;
/// Largest packet (header included) a [`Deframer`] accepts unless configured otherwise.
pub const DEFAULT_MAX_LEN: usize = 16 * 1024;
/// The empty TPKT (length 4) sent as a keep-alive on H.460.18 TCP channels.
pub const KEEP_ALIVE: [u8; HEADER_LEN] = [VERSION, 0, 0, HEADER_LEN as u8];

/// Why a TPKT packet could not be built or a stream could not be cut into packets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TpktError {
    /// The first octet of a header is not 3 (RFC 1006 §6): not a TPKT stream, or a lost
    /// packet boundary.
    #[error("TPKT version {0}, expected 3")]
    BadVersion(u8),
    /// The length field is below the 4 octets of the header itself.
    #[error("TPKT length {0} is shorter than its own header")]
    LengthTooShort(u16),
    /// The length field exceeds the configured maximum.
    #[error("TPKT length {length} exceeds the maximum of {max}")]
    TooLong {
        /// Announced packet length, header included.
        length: u16,
        /// The deframer's maximum.
        max: usize,
    },
    /// [`encode`] was given no payload; an empty packet is the keep-alive, [`KEEP_ALIVE`].
    #[error("TPKT payload is empty (send KEEP_ALIVE for a keep-alive)")]
    EmptyPayload,
    /// [`encode`] was given a payload that does not fit the 16-bit length field.
    #[error("TPKT payload of {0} octets does not fit in a packet")]
    PayloadTooLong(usize),
    /// The stream ended inside a packet ([`Deframer::finish`]).
    #[error("TPKT stream ended {have} octets into a packet of {need}")]
    Truncated {
        /// Octets of the unfinished packet received.
        have: usize,
        /// Octets the packet needs (4 while the header itself is incomplete).
        need: usize,
    },
}

/// The TPKT packet (header and `payload`). The payload must be 1 to 65531 octets.
pub fn encode(payload: &[u8]) -> Result<Vec<u8>, TpktError> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    encode_into(payload, &mut out)?;
    Ok(out)
}

/// Appends the TPKT packet carrying `payload` to `out`; see [`encode`].
pub fn encode_into(payload: &[u8], out: &mut Vec<u8>) -> Result<(), TpktError> {
    if payload.is_empty() {
        return Err(TpktError::EmptyPayload);
    }
    let total = u16::try_from(HEADER_LEN + payload.len())
        .map_err(|_| TpktError::PayloadTooLong(payload.len()))?;
    out.extend_from_slice(&[VERSION, 0]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Checks a TPKT header against a maximum packet length and returns the packet length.
pub fn parse_header(header: [u8; HEADER_LEN], max_len: usize) -> Result<usize, TpktError> {
    if header[0] != VERSION {
        return Err(TpktError::BadVersion(header[0]));
    }
    let length = u16::from_be_bytes([header[2], header[3]]);
    let n = usize::from(length);
    if n < HEADER_LEN {
        return Err(TpktError::LengthTooShort(length));
    }
    if n > max_len {
        return Err(TpktError::TooLong {
            length,
            max: max_len,
        });
    }
    Ok(n)
}

/// What the deframer found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole packet's payload (at least one octet): a Q.931 message on the call-signalling
    /// channel, an H.245 message on a separate H.245 channel.
    Packet(Vec<u8>),
    /// An empty TPKT: the peer's keep-alive.
    KeepAlive,
}

/// Cuts a TCP byte stream into TPKT packets. Feed it the chunks the socket returns, in order;
/// it holds back at most one unfinished packet (never more than the maximum length), and
/// allocates a payload only after its length has been checked against that maximum.
#[derive(Debug, Clone)]
pub struct Deframer {
    max_len: usize,
    /// The unfinished packet: header octets first, then payload octets.
    partial: Vec<u8>,
    failed: Option<TpktError>,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl Deframer {
    /// A deframer accepting packets up to [`DEFAULT_MAX_LEN`].
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_LEN)
    }

    /// A deframer accepting packets up to `max_len` octets, header included; the value is
    /// clamped to 5 (the smallest packet with a payload) ..= [`MAX_LEN`]. Keep-alives are
    /// accepted whatever the maximum.
    pub fn with_max_len(max_len: usize) -> Self {
        Deframer {
            max_len: max_len.clamp(HEADER_LEN + 1, MAX_LEN),
            partial: Vec::new(),
            failed: None,
        }
    }

    /// The largest packet accepted, header included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The error that stopped the deframer, if any.
    pub fn error(&self) -> Option<&TpktError> {
        self.failed.as_ref()
    }

    /// Octets of an unfinished packet held back.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Feeds the next chunk of the stream and appends what it completes to `out`, in stream
    /// order. On a framing error the events before it are still appended, the error is
    /// returned, and every later call returns it again without looking at its input.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Event>) -> Result<(), TpktError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        while !chunk.is_empty() {
            match self.step(chunk, out) {
                Ok(used) => chunk = &chunk[used..],
                Err(e) => {
                    self.partial = Vec::new();
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Like [`feed`](Self::feed), returning the events in a new vector.
    pub fn feed_vec(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TpktError> {
        let mut out = Vec::new();
        self.feed(chunk, &mut out).map(|()| out)
    }

    /// Tells the deframer the stream has ended: an error if it stopped inside a packet (or
    /// if it had already failed).
    pub fn finish(&self) -> Result<(), TpktError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.partial.len() {
            0 => Ok(()),
            have if have < HEADER_LEN => Err(TpktError::Truncated {
                have,
                need: HEADER_LEN,
            }),
            have => Err(TpktError::Truncated {
                have,
                need: self.header_len().unwrap_or(HEADER_LEN),
            }),
        }
    }

    /// The packet length of the held-back header, once it is complete (already checked).
    fn header_len(&self) -> Option<usize> {
        let h = self.partial.get(..HEADER_LEN)?;
        Some(usize::from(u16::from_be_bytes([h[2], h[3]])))
    }

    /// Consumes a non-empty prefix of `chunk`, appending at most one event; returns how many
    /// octets it used.
    fn step(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<usize, TpktError> {
        if self.partial.is_empty() && chunk.len() >= HEADER_LEN {
            // Fast path: a whole header at the start of the chunk.
            let n = parse_header([chunk[0], chunk[1], chunk[2], chunk[3]], self.max_len)?;
            if chunk.len() >= n {
                out.push(Self::event(&chunk[HEADER_LEN..n]));
                return Ok(n);
            }
            self.partial.reserve_exact(n);
            self.partial.extend_from_slice(chunk);
            return Ok(chunk.len());
        }
        // Slow path: complete the held-back header first, then the held-back packet.
        if self.partial.len() < HEADER_LEN {
            let take = (HEADER_LEN - self.partial.len()).min(chunk.len());
            self.partial.extend_from_slice(&chunk[..take]);
            if self.partial.len() == HEADER_LEN {
                let h = [
                    self.partial[0],
                    self.partial[1],
                    self.partial[2],
                    self.partial[3],
                ];
                let n = parse_header(h, self.max_len)?;
                self.partial.reserve_exact(n - HEADER_LEN);
                if n == HEADER_LEN {
                    self.partial.clear();
                    out.push(Event::KeepAlive);
                }
            }
            return Ok(take);
        }
        let n = self.header_len().unwrap_or(HEADER_LEN);
        let take = (n - self.partial.len()).min(chunk.len());
        self.partial.extend_from_slice(&chunk[..take]);
        if self.partial.len() == n {
            out.push(Self::event(&self.partial[HEADER_LEN..]));
            self.partial.clear();
        }
        Ok(take)
    }

    fn event(payload: &[u8]) -> Event {
        if payload.is_empty() {
            Event::KeepAlive
        } else {
            Event::Packet(payload.to_vec())
        }
    }
}
