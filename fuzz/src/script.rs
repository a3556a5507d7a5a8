//! The byte format of a `turn_server` input: a sequence of operations on the server, each an
//! opcode byte followed by its operands. The reader ([`Cursor`]) never fails — a short input
//! reads as zeros and ends the script — so every byte string is a valid script and the fuzzer
//! spends no time on parse errors. The writer ([`Script`]) is used by the seed generator to
//! write meaningful starting scripts (allocate, permit, bind a channel, relay both ways...).
//!
//! Opcodes (the byte modulo [`OPS`]):
//! - [`RAW`]: client, u16 length, bytes — a datagram from a client, as received.
//! - [`SIGNED`]: client, method, flags, attribute count, attributes — a request the harness
//!   signs with the client's credentials and current nonce (see [`flags`], [`attr`]).
//! - [`SEND`]: client, peer, length byte, data — a well-formed Send indication.
//! - [`CHANNEL`]: client, channel selector, length byte, pad byte, data — ChannelData.
//! - [`PEER`]: relay selector, peer, u24 length — a datagram from a peer on a relay socket.
//! - [`TIME`]: u16 seconds, mode — the clock moves on; timeouts are handled.
//! - [`CLOSE`]: client — the client's connection closed.
//! - [`CREDENTIAL`]: answer — the runtime answers the delegated check of "carol".
//! - [`CONFIG`]: flags, capacity — new settings applied without restart.
//! - [`STREAM`]: u16 length, bytes — bytes on the TCP client's stream, cut into frames.

/// A raw client datagram.
pub const RAW: u8 = 0;
/// A signed request.
pub const SIGNED: u8 = 1;
/// A Send indication.
pub const SEND: u8 = 2;
/// ChannelData from a client.
pub const CHANNEL: u8 = 3;
/// A peer datagram.
pub const PEER: u8 = 4;
/// Time passes.
pub const TIME: u8 = 5;
/// A client connection closes.
pub const CLOSE: u8 = 6;
/// The delegated credential check of "carol" is answered.
pub const CREDENTIAL: u8 = 7;
/// The configuration changes.
pub const CONFIG: u8 = 8;
/// Bytes on the TCP client's stream.
pub const STREAM: u8 = 9;
/// Number of opcodes.
pub const OPS: u8 = 10;

/// Methods selectable in [`SIGNED`] (the byte modulo 8; 5 reads a u16 for any method).
pub mod method {
    /// Binding.
    pub const BINDING: u8 = 0;
    /// Allocate.
    pub const ALLOCATE: u8 = 1;
    /// Refresh.
    pub const REFRESH: u8 = 2;
    /// CreatePermission.
    pub const CREATE_PERMISSION: u8 = 3;
    /// ChannelBind.
    pub const CHANNEL_BIND: u8 = 4;
    /// Any 12-bit method, from the next u16.
    pub const ANY: u8 = 5;
}

/// Flags of [`SIGNED`].
pub mod flags {
    /// MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY.
    pub const SHA256_MI: u8 = 0x01;
    /// Append FINGERPRINT.
    pub const FINGERPRINT: u8 = 0x02;
    /// Send PASSWORD-ALGORITHMS (as learned) and PASSWORD-ALGORITHM.
    pub const ALGORITHMS: u8 = 0x04;
    /// With [`ALGORITHMS`], choose SHA-256 (else MD5).
    pub const SHA256_KEY: u8 = 0x08;
    /// Sign with a wrong password.
    pub const WRONG_KEY: u8 = 0x10;
    /// No credentials at all (to learn a nonce, or to be challenged).
    pub const UNSIGNED: u8 = 0x20;
    /// Reuse the client's previous transaction id (a retransmission).
    pub const RETRANSMIT: u8 = 0x40;
    /// Flip one bit after signing; a u16 position and a bit number follow the attributes.
    pub const CORRUPT: u8 = 0x80;
}

/// Attribute selectors of [`SIGNED`] (the byte modulo [`attr::KINDS`]).
pub mod attr {
    /// REQUESTED-TRANSPORT, protocol byte.
    pub const REQUESTED_TRANSPORT: u8 = 0;
    /// LIFETIME, u32.
    pub const LIFETIME: u8 = 1;
    /// XOR-PEER-ADDRESS of a harness peer, peer byte.
    pub const PEER: u8 = 2;
    /// CHANNEL-NUMBER, u16.
    pub const CHANNEL_NUMBER: u8 = 3;
    /// EVEN-PORT, R bit byte.
    pub const EVEN_PORT: u8 = 4;
    /// RESERVATION-TOKEN: a learned token by index byte (or 8 raw bytes if none).
    pub const TOKEN: u8 = 5;
    /// REQUESTED-ADDRESS-FAMILY, family byte.
    pub const REQUESTED_FAMILY: u8 = 6;
    /// ADDITIONAL-ADDRESS-FAMILY, family byte.
    pub const ADDITIONAL_FAMILY: u8 = 7;
    /// DONT-FRAGMENT.
    pub const DONT_FRAGMENT: u8 = 8;
    /// DATA, length byte and bytes.
    pub const DATA: u8 = 9;
    /// Any type: u16 type, length byte, raw value bytes.
    pub const RAW: u8 = 10;
    /// A known type by index byte with a raw value: length byte and bytes.
    pub const KNOWN_RAW: u8 = 11;
    /// XOR-PEER-ADDRESS of any address: a byte (even: IPv4), then 4 or 16 address bytes and
    /// a u16 port.
    pub const ANY_PEER: u8 = 12;
    /// Number of selectors.
    pub const KINDS: u8 = 13;
}

/// Reads a script; past the end every read is zero and [`Cursor::done`] is true.
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    /// Whether the script is consumed.
    pub fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next byte (0 past the end).
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The next big-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// The next big-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `n` next bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        &self.data[start..end]
    }
}

/// Writes a script (for seeds).
#[derive(Default)]
pub struct Script(pub Vec<u8>);

/// One attribute of a [`Script::signed`] request.
#[derive(Clone, Copy)]
pub enum Attr<'a> {
    /// REQUESTED-TRANSPORT.
    RequestedTransport(u8),
    /// LIFETIME.
    Lifetime(u32),
    /// XOR-PEER-ADDRESS of harness peer `n`.
    Peer(u8),
    /// CHANNEL-NUMBER.
    ChannelNumber(u16),
    /// EVEN-PORT.
    EvenPort(bool),
    /// The `n`th RESERVATION-TOKEN learned.
    Token(u8),
    /// REQUESTED-ADDRESS-FAMILY.
    RequestedFamily(u8),
    /// ADDITIONAL-ADDRESS-FAMILY.
    AdditionalFamily(u8),
    /// DONT-FRAGMENT.
    DontFragment,
    /// DATA.
    Data(&'a [u8]),
    /// Any type and value.
    Raw(u16, &'a [u8]),
}

impl Script {
    fn len8(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(255);
        self.0.push(n as u8);
        self.0.extend_from_slice(&bytes[..n]);
    }

    /// A raw datagram from `client`.
    pub fn raw(&mut self, client: u8, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&[RAW, client]);
        self.0
            .extend_from_slice(&(bytes.len().min(65535) as u16).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// A request signed by the harness.
    pub fn signed(&mut self, client: u8, method: u8, flags: u8, attrs: &[Attr]) -> &mut Self {
        self.0
            .extend_from_slice(&[SIGNED, client, method, flags, attrs.len() as u8]);
        for a in attrs {
            match a {
                Attr::RequestedTransport(p) => {
                    self.0.extend_from_slice(&[attr::REQUESTED_TRANSPORT, *p])
                }
                Attr::Lifetime(s) => {
                    self.0.push(attr::LIFETIME);
                    self.0.extend_from_slice(&s.to_be_bytes());
                }
                Attr::Peer(n) => self.0.extend_from_slice(&[attr::PEER, *n]),
                Attr::ChannelNumber(n) => {
                    self.0.push(attr::CHANNEL_NUMBER);
                    self.0.extend_from_slice(&n.to_be_bytes());
                }
                Attr::EvenPort(r) => self.0.extend_from_slice(&[attr::EVEN_PORT, u8::from(*r)]),
                Attr::Token(n) => self.0.extend_from_slice(&[attr::TOKEN, *n]),
                Attr::RequestedFamily(f) => self.0.extend_from_slice(&[attr::REQUESTED_FAMILY, *f]),
                Attr::AdditionalFamily(f) => {
                    self.0.extend_from_slice(&[attr::ADDITIONAL_FAMILY, *f])
                }
                Attr::DontFragment => self.0.push(attr::DONT_FRAGMENT),
                Attr::Data(d) => {
                    self.0.push(attr::DATA);
                    self.len8(d);
                }
                Attr::Raw(t, v) => {
                    self.0.push(attr::RAW);
                    self.0.extend_from_slice(&t.to_be_bytes());
                    self.len8(v);
                }
            }
        }
        self
    }

    /// Where a request written with [`flags::CORRUPT`] gets its flipped bit: must follow that
    /// [`Script::signed`] directly.
    pub fn corrupt_at(&mut self, pos: u16, bit: u8) -> &mut Self {
        self.0.extend_from_slice(&pos.to_be_bytes());
        self.0.push(bit);
        self
    }

    /// A Send indication from `client` to harness peer `peer`.
    pub fn send(&mut self, client: u8, peer: u8, data: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&[SEND, client, peer]);
        self.len8(data);
        self
    }

    /// ChannelData from `client` on channel 0x4000 + `channel`.
    pub fn channel(&mut self, client: u8, channel: u8, data: &[u8], pad: bool) -> &mut Self {
        self.0.extend_from_slice(&[CHANNEL, client, channel]);
        let n = data.len().min(255);
        self.0.extend_from_slice(&[n as u8, u8::from(pad)]);
        self.0.extend_from_slice(&data[..n]);
        self
    }

    /// A datagram of `len` bytes from harness peer `peer` on the `relay`th bound relay.
    pub fn peer(&mut self, relay: u8, peer: u8, len: u32) -> &mut Self {
        self.0.extend_from_slice(&[PEER, relay, peer]);
        self.0.extend_from_slice(&len.to_be_bytes()[1..]);
        self
    }

    /// `secs` pass; `stepwise` calls handle_timeout at each deadline on the way.
    pub fn time(&mut self, secs: u16, stepwise: bool) -> &mut Self {
        self.0.push(TIME);
        self.0.extend_from_slice(&secs.to_be_bytes());
        self.0.push(u8::from(stepwise));
        self
    }

    /// `client`'s connection closes.
    pub fn close(&mut self, client: u8) -> &mut Self {
        self.0.extend_from_slice(&[CLOSE, client]);
        self
    }

    /// Carol's delegated check is answered: 0 right keys, 1 wrong keys, 2 unknown user.
    pub fn credential(&mut self, answer: u8) -> &mut Self {
        self.0.extend_from_slice(&[CREDENTIAL, answer]);
        self
    }

    /// New settings (see the harness for the flag bits).
    pub fn config(&mut self, flags: u8, capacity: u8) -> &mut Self {
        self.0.extend_from_slice(&[CONFIG, flags, capacity]);
        self
    }

    /// Bytes on the TCP client's stream.
    pub fn stream(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.push(STREAM);
        self.0
            .extend_from_slice(&(bytes.len().min(65535) as u16).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }
}
