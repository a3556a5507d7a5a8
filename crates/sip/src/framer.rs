//! Stream framing for SIP over TCP/TLS (RFC 3261 §18.3) with CRLF keep-alives
//! (RFC 5626 §3.5.1).
//!
//! Why this exists: on the persistent exp-c ↔ exp-e connection SIP messages arrive as an
//! unstructured byte stream, interleaved with keep-alive pings and pongs. [`StreamFramer`] cuts
//! that stream into whole messages and keep-alive events without doing any I/O, enforces size
//! limits so a peer cannot make the edge buffer without bound, and reports a precise error the
//! runtime can log before closing the connection.

use crate::message::{find_header_end, parse_head, Head, HeaderEnd, Message, ParseError};

/// Size limits applied to each framed message.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted header section (start line through the empty line), in bytes.
    pub max_header_bytes: usize,
    /// Largest accepted `Content-Length`, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    /// 16 KiB of headers and 64 KiB of body.
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Which end of the connection the framer serves; it decides how CRLFs between messages are
/// read (RFC 5626 §3.5.1: the client pings with CRLFCRLF, the server pongs with CRLF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The accepting side: sees pings (`\r\n\r\n`).
    Server,
    /// The connecting side: sees pongs (`\r\n`).
    Client,
}

/// One unit cut from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete SIP message.
    Message(Message),
    /// A keep-alive ping (`\r\n\r\n`), seen in the [`Role::Server`] role; answer with a pong.
    Ping,
    /// A keep-alive pong (`\r\n`), seen in the [`Role::Client`] role.
    Pong,
}

/// Why the stream cannot be framed. Every error is final: the connection should be closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header section grew beyond the limit before its empty line was found.
    #[error("SIP header section exceeds {limit} bytes")]
    HeaderTooLarge {
        /// The configured `max_header_bytes`.
        limit: usize,
    },
    /// `Content-Length` announces a body beyond the limit.
    #[error("SIP body of {len} bytes exceeds {limit} bytes")]
    BodyTooLarge {
        /// The announced `Content-Length`.
        len: usize,
        /// The configured `max_body_bytes`.
        limit: usize,
    },
    /// A message on a stream lacks `Content-Length`, which RFC 3261 §18.3 makes mandatory.
    #[error("SIP message on a stream transport without Content-Length")]
    MissingContentLength,
    /// The header section is malformed.
    #[error("malformed SIP message: {0}")]
    Parse(#[from] ParseError),
}

/// Where the framer is within the stream.
#[derive(Debug)]
enum State {
    /// Between messages: keep-alives may appear.
    Between,
    /// Inside a header section; the terminator search resumes at `scan` (relative to the
    /// message start) so no byte is examined twice.
    Head { scan: usize },
    /// Header section parsed; waiting for `len` body bytes starting at `body_start`.
    Body {
        head: Head,
        body_start: usize,
        len: usize,
    },
}

/// Incremental, sans-IO framer for one SIP stream connection.
///
/// Feed received bytes with [`push`](Self::push) and call [`next_frame`](Self::next_frame)
/// until it returns `Ok(None)`. After an error the framer is poisoned: it drops its buffer,
/// ignores further input and keeps returning the same error.
#[derive(Debug)]
pub struct StreamFramer {
    role: Role,
    limits: Limits,
    buf: Vec<u8>,
    /// Offset in `buf` of the first byte not yet consumed.
    start: usize,
    state: State,
    poisoned: Option<FrameError>,
}

impl StreamFramer {
    /// A framer for the given role and limits.
    pub fn new(role: Role, limits: Limits) -> Self {
        Self {
            role,
            limits,
            buf: Vec::new(),
            start: 0,
            state: State::Between,
            poisoned: None,
        }
    }

    /// Appends received bytes (ignored once poisoned).
    pub fn push(&mut self, data: &[u8]) {
        if self.poisoned.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next frame, `Ok(None)` when more bytes are needed, or the (sticky) error.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        match self.step() {
            Ok(frame) => {
                self.compact();
                Ok(frame)
            }
            Err(e) => {
                self.poisoned = Some(e.clone());
                self.buf = Vec::new();
                self.start = 0;
                self.state = State::Between;
                Err(e)
            }
        }
    }

    /// Bytes received but not yet returned as a frame: a partial message, or a CRLF that may
    /// still become a ping. Zero means the stream is at a message boundary.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Drops consumed bytes once they outweigh the unconsumed ones, so the total copying cost
    /// stays linear in the stream length.
    fn compact(&mut self) {
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.len() - self.start {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    fn step(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            let pending = self.buf.get(self.start..).unwrap_or_default();
            match &mut self.state {
                State::Between => {
                    match self.role {
                        Role::Server => {
                            if pending.starts_with(b"\r\n\r\n") {
                                self.start += 4;
                                return Ok(Some(Frame::Ping));
                            }
                            if b"\r\n\r\n".starts_with(pending) {
                                // Nothing, or the beginning of a ping: wait.
                                return Ok(None);
                            }
                            if pending.starts_with(b"\r\n") {
                                // A lone CRLF between messages is ignored (RFC 3261 §7.5).
                                self.start += 2;
                                continue;
                            }
                        }
                        Role::Client => {
                            if pending.starts_with(b"\r\n") {
                                self.start += 2;
                                return Ok(Some(Frame::Pong));
                            }
                            if pending.is_empty() || pending == b"\r" {
                                return Ok(None);
                            }
                        }
                    }
                    self.state = State::Head { scan: 0 };
                }
                State::Head { scan } => {
                    let limit = self.limits.max_header_bytes;
                    match find_header_end(pending, *scan) {
                        HeaderEnd::Pending(resume) => {
                            if pending.len() > limit {
                                return Err(FrameError::HeaderTooLarge { limit });
                            }
                            *scan = resume;
                            return Ok(None);
                        }
                        HeaderEnd::Found(body_start) => {
                            if body_start > limit {
                                return Err(FrameError::HeaderTooLarge { limit });
                            }
                            let head_bytes = pending
                                .get(..body_start)
                                .ok_or(FrameError::HeaderTooLarge { limit })?;
                            let head = parse_head(head_bytes)?;
                            let len = head
                                .content_length
                                .ok_or(FrameError::MissingContentLength)?;
                            if len > self.limits.max_body_bytes {
                                return Err(FrameError::BodyTooLarge {
                                    len,
                                    limit: self.limits.max_body_bytes,
                                });
                            }
                            self.state = State::Body {
                                head,
                                body_start,
                                len,
                            };
                        }
                    }
                }
                State::Body {
                    body_start, len, ..
                } => {
                    let Some(end) = body_start.checked_add(*len) else {
                        return Err(FrameError::BodyTooLarge {
                            len: *len,
                            limit: self.limits.max_body_bytes,
                        });
                    };
                    let Some(body) = pending.get(*body_start..end) else {
                        return Ok(None);
                    };
                    let body = body.to_vec();
                    let State::Body { head, .. } =
                        std::mem::replace(&mut self.state, State::Between)
                    else {
                        return Ok(None);
                    };
                    self.start += end;
                    return Ok(Some(Frame::Message(head.into_message(body))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] =
        b"OPTIONS sip:e.example SIP/2.0\r\nVia: SIP/2.0/TLS c;branch=z9hG4bK1\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    const MESSAGE: &[u8] =
        b"MESSAGE sip:e.example SIP/2.0\r\nCall-ID: b\r\nCSeq: 2 MESSAGE\r\nl: 5\r\n\r\nhello";
    const RESPONSE_LF: &[u8] = b"SIP/2.0 200 OK\nCall-ID: c\nContent-Length: 3\n\n\r\n\r";

    fn drain(f: &mut StreamFramer) -> Result<Vec<Frame>, FrameError> {
        let mut out = Vec::new();
        while let Some(frame) = f.next_frame()? {
            out.push(frame);
        }
        Ok(out)
    }

    fn msg(bytes: &[u8]) -> Frame {
        Frame::Message(Message::parse(bytes).unwrap())
    }

    fn feed_split(role: Role, stream: &[u8], cuts: &[usize]) -> Vec<Frame> {
        let mut f = StreamFramer::new(role, Limits::default());
        let mut out = Vec::new();
        let mut prev = 0;
        for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
            f.push(&stream[prev..cut]);
            out.extend(drain(&mut f).unwrap());
            prev = cut;
        }
        assert_eq!(f.buffered(), 0);
        out
    }

    fn server_stream() -> (Vec<u8>, Vec<Frame>) {
        let mut s = Vec::new();
        s.extend_from_slice(b"\r\n\r\n");
        s.extend_from_slice(OPTIONS);
        s.extend_from_slice(b"\r\n");
        s.extend_from_slice(MESSAGE);
        s.extend_from_slice(b"\r\n\r\n\r\n\r\n");
        s.extend_from_slice(RESPONSE_LF);
        s.extend_from_slice(b"\r\n\r\n");
        let frames = vec![
            Frame::Ping,
            msg(OPTIONS),
            msg(MESSAGE),
            Frame::Ping,
            Frame::Ping,
            msg(RESPONSE_LF),
            Frame::Ping,
        ];
        (s, frames)
    }

    #[test]
    fn server_split_at_every_boundary() {
        let (stream, expected) = server_stream();
        assert_eq!(feed_split(Role::Server, &stream, &[]), expected);
        for cut in 0..=stream.len() {
            assert_eq!(
                feed_split(Role::Server, &stream, &[cut]),
                expected,
                "cut {cut}"
            );
        }
        for a in (0..=stream.len()).step_by(7) {
            for b in a..=stream.len() {
                assert_eq!(feed_split(Role::Server, &stream, &[a, b]), expected);
            }
        }
        let every: Vec<usize> = (0..stream.len()).collect();
        assert_eq!(feed_split(Role::Server, &stream, &every), expected);
    }

    #[test]
    fn client_sees_pongs() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(OPTIONS);
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(MESSAGE);
        let expected = vec![
            Frame::Pong,
            msg(OPTIONS),
            Frame::Pong,
            Frame::Pong,
            msg(MESSAGE),
        ];
        for cut in 0..=stream.len() {
            assert_eq!(
                feed_split(Role::Client, &stream, &[cut]),
                expected,
                "cut {cut}"
            );
        }
        let every: Vec<usize> = (0..stream.len()).collect();
        assert_eq!(feed_split(Role::Client, &stream, &every), expected);
    }

    #[test]
    fn buffered_reports_partial_data() {
        let mut f = StreamFramer::new(Role::Server, Limits::default());
        f.push(b"\r\n");
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.buffered(), 2);
        f.push(&OPTIONS[..10]);
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.buffered(), 10);
        f.push(&OPTIONS[10..]);
        assert_eq!(f.next_frame(), Ok(Some(msg(OPTIONS))));
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.next_frame(), Ok(None));
    }

    #[test]
    fn header_too_large_is_reported_immediately() {
        let limits = Limits {
            max_header_bytes: 64,
            max_body_bytes: 16,
        };
        let mut f = StreamFramer::new(Role::Server, limits);
        f.push(&[b'A'; 64]);
        assert_eq!(f.next_frame(), Ok(None));
        f.push(b"A");
        assert_eq!(
            f.next_frame(),
            Err(FrameError::HeaderTooLarge { limit: 64 })
        );
        // Poisoned: the error sticks and input is ignored.
        f.push(OPTIONS);
        assert_eq!(
            f.next_frame(),
            Err(FrameError::HeaderTooLarge { limit: 64 })
        );
        assert_eq!(f.buffered(), 0);

        // A complete header section above the limit is rejected too.
        let mut f = StreamFramer::new(Role::Server, limits);
        f.push(OPTIONS);
        assert_eq!(
            f.next_frame(),
            Err(FrameError::HeaderTooLarge { limit: 64 })
        );
    }

    #[test]
    fn body_limit_and_missing_length() {
        let limits = Limits {
            max_header_bytes: 1024,
            max_body_bytes: 4,
        };
        let mut f = StreamFramer::new(Role::Client, limits);
        f.push(MESSAGE);
        assert_eq!(
            f.next_frame(),
            Err(FrameError::BodyTooLarge { len: 5, limit: 4 })
        );
        let mut f = StreamFramer::new(Role::Server, limits);
        f.push(b"BYE sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n");
        assert_eq!(f.next_frame(), Err(FrameError::MissingContentLength));
        assert_eq!(f.next_frame(), Err(FrameError::MissingContentLength));
        let mut f = StreamFramer::new(Role::Server, limits);
        f.push(b"BYE sip:x SIP/2.0\r\nContent-Length: 1x\r\n\r\n");
        assert_eq!(
            f.next_frame(),
            Err(FrameError::Parse(ParseError::BadContentLength))
        );
        let mut f = StreamFramer::new(Role::Server, limits);
        f.push(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::Parse(ParseError::BadStartLine(_)))
        ));
    }

    #[test]
    fn large_stream_compacts() {
        let mut f = StreamFramer::new(Role::Server, Limits::default());
        let mut count = 0;
        for _ in 0..1000 {
            f.push(MESSAGE);
            f.push(b"\r\n\r\n");
            count += drain(&mut f).unwrap().len();
            assert!(f.buf.len() < 4 * MESSAGE.len());
        }
        assert_eq!(count, 2000);
    }
}
