//! One TURN client connection over TCP or TLS: byte stream in, STUN/ChannelData frames out
//! (RFC 8656 §11.7 framing), and the reverse for what the server sends.
//!
//! TLS runs on rustls' sans-IO connection (`read_tls`/`process_new_packets`/`write_tls`) over
//! the non-blocking mio stream, so the TURN thread stays a single poll loop. A connection on a
//! plain TCP listener becomes TLS when its first byte is a TLS handshake record (0x16) and
//! exp-e has a certificate; STUN messages start with 0b00 and ChannelData with 0b01, so the
//! first byte tells them apart without ambiguity. That lets port 443 carry `turns:` and `turn:`
//! alike.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

use exp_turn::server::{ClientKey, Transport};
use mio::net::TcpStream;

/// Most bytes buffered toward one client before it is considered stuck.
pub const OUT_MAX: usize = 1 << 20;
/// Largest frame buffered from a client (a STUN message or ChannelData is at most 64 KiB).
pub const IN_MAX: usize = 70 * 1024;
/// First byte of a TLS handshake record (RFC 8446 §5.1, ContentType handshake).
const TLS_HANDSHAKE: u8 = 0x16;

enum Wire {
    /// Nothing read yet; the first byte decides.
    Undecided,
    Plain,
    Tls(Box<rustls::ServerConnection>),
}

/// Why a connection must close.
#[derive(Debug)]
pub enum Closed {
    /// The client closed or reset it.
    Eof,
    /// The stream cannot be framed, a frame is too large, or TLS failed.
    Malformed(String),
    /// The client does not read what it is sent.
    Stuck,
}

/// A client connection.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    /// The client as the TURN core knows it (transport becomes TLS once detected).
    pub key: ClientKey,
    wire: Wire,
    /// Plaintext received, not yet framed.
    inbuf: Vec<u8>,
    /// Bytes for the socket not yet written (plain TCP; rustls buffers its own).
    outbuf: Vec<u8>,
    /// Whether the poll registration includes WRITABLE.
    pub writable_armed: bool,
    /// Whether the connection has been counted (at its first frame, by transport).
    pub counted: bool,
}

impl Conn {
    /// A connection accepted on a listener; `tls_only` for a dedicated TLS listener.
    pub fn new(
        stream: TcpStream,
        key: ClientKey,
        tls_only: bool,
        tls: Option<&Arc<rustls::ServerConfig>>,
    ) -> Result<Conn, Closed> {
        let wire = match (tls_only, tls) {
            (true, Some(cfg)) => Wire::Tls(Box::new(new_tls(cfg)?)),
            (true, None) => return Err(Closed::Malformed("no TLS certificate".into())),
            (false, _) => Wire::Undecided,
        };
        let mut c = Conn {
            stream,
            key,
            wire,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            writable_armed: false,
            counted: false,
        };
        if matches!(c.wire, Wire::Tls(_)) {
            c.key.transport = Transport::Tls;
        }
        Ok(c)
    }

    /// Reads everything available and returns the complete frames it carried.
    pub fn read(
        &mut self,
        tls: Option<&Arc<rustls::ServerConfig>>,
        frames: &mut Vec<Vec<u8>>,
    ) -> Result<(), Closed> {
        if matches!(self.wire, Wire::Undecided) {
            let mut first = [0u8; 1];
            match self.stream.peek(&mut first) {
                Ok(0) => return Err(Closed::Eof),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(Closed::Eof),
            }
            self.wire = match (first[0], tls) {
                (TLS_HANDSHAKE, Some(cfg)) => {
                    self.key.transport = Transport::Tls;
                    Wire::Tls(Box::new(new_tls(cfg)?))
                }
                _ => Wire::Plain,
            };
        }
        let mut eof = false;
        match &mut self.wire {
            Wire::Undecided => {}
            Wire::Plain => {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match self.stream.read(&mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            self.inbuf.extend_from_slice(&buf[..n]);
                            cut_frames(&mut self.inbuf, frames)?;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => return Err(Closed::Eof),
                    }
                }
            }
            Wire::Tls(t) => {
                loop {
                    match t.read_tls(&mut self.stream) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => return Err(Closed::Eof),
                    }
                    let state = t
                        .process_new_packets()
                        .map_err(|e| Closed::Malformed(format!("TLS: {e}")))?;
                    if state.plaintext_bytes_to_read() > 0 {
                        let mut buf = vec![0u8; state.plaintext_bytes_to_read()];
                        let n = t.reader().read(&mut buf).unwrap_or(0);
                        self.inbuf.extend_from_slice(&buf[..n]);
                        cut_frames(&mut self.inbuf, frames)?;
                    }
                }
                // Handshake messages (or an alert) to send back.
                self.flush()?;
            }
        }
        if eof {
            return Err(Closed::Eof);
        }
        Ok(())
    }

    /// Queues `bytes` for the client and writes what the socket takes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        match &mut self.wire {
            Wire::Tls(t) => {
                t.writer().write_all(bytes).map_err(|_| Closed::Stuck)?;
            }
            _ => self.outbuf.extend_from_slice(bytes),
        }
        self.flush()
    }

    /// Writes buffered output until done or the socket is full.
    pub fn flush(&mut self) -> Result<(), Closed> {
        match &mut self.wire {
            Wire::Tls(t) => {
                while t.wants_write() {
                    match t.write_tls(&mut self.stream) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => return Err(Closed::Eof),
                    }
                }
            }
            _ => {
                while !self.outbuf.is_empty() {
                    match self.stream.write(&self.outbuf) {
                        Ok(0) => break,
                        Ok(n) => {
                            self.outbuf.drain(..n);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => return Err(Closed::Eof),
                    }
                }
                if self.outbuf.len() > OUT_MAX {
                    return Err(Closed::Stuck);
                }
            }
        }
        Ok(())
    }

    /// Whether output waits for the socket to become writable.
    pub fn pending(&self) -> bool {
        match &self.wire {
            Wire::Tls(t) => t.wants_write(),
            _ => !self.outbuf.is_empty(),
        }
    }
}

fn new_tls(cfg: &Arc<rustls::ServerConfig>) -> Result<rustls::ServerConnection, Closed> {
    let mut c = rustls::ServerConnection::new(cfg.clone())
        .map_err(|e| Closed::Malformed(format!("TLS: {e}")))?;
    // rustls refuses plaintext beyond this (the client is then stuck) instead of growing.
    c.set_buffer_limit(Some(OUT_MAX));
    Ok(c)
}

/// Moves the complete frames at the front of `inbuf` to `frames`.
fn cut_frames(inbuf: &mut Vec<u8>, frames: &mut Vec<Vec<u8>>) -> Result<(), Closed> {
    loop {
        let len = match exp_turn::frame_len(inbuf) {
            Ok(Some((_, len))) => len,
            Ok(None) => {
                return if inbuf.len() <= IN_MAX {
                    Ok(())
                } else {
                    Err(Closed::Malformed("frame too large".into()))
                };
            }
            Err(e) => return Err(Closed::Malformed(e.to_string())),
        };
        if len > IN_MAX {
            return Err(Closed::Malformed("frame too large".into()));
        }
        if inbuf.len() < len {
            return Ok(());
        }
        frames.push(inbuf.drain(..len).collect());
    }
}
