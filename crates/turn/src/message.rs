//! STUN message framing (RFC 8489 §5, §14): the 20-byte header, the attribute list, and the
//! MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT computations, which all need
//! the raw bytes with an adjusted length field. Decoding keeps those raw bytes so that the
//! integrity can be checked after the server has looked up the key named by the message.

use crate::attribute::{pad4, pad_to_4, types, Attribute};
use crate::error::StunError;

/// The magic cookie, bytes 4–7 of every message (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header (RFC 8489 §5).
pub const HEADER_LEN: usize = 20;
/// XORed into the CRC-32 for FINGERPRINT (RFC 8489 §14.7): "STUN".
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// Message class (RFC 8489 §5): bits C1 C0 of the message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// 0b00.
    Request,
    /// 0b01.
    Indication,
    /// 0b10.
    Success,
    /// 0b11.
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }

    fn from_bits(bits: u16) -> Class {
        match bits & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// A 12-bit STUN method (RFC 8489 §5, §18.2; RFC 8656 §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(u16);

impl Method {
    /// Binding (RFC 8489).
    pub const BINDING: Method = Method(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Method = Method(0x004);
    /// Send (RFC 8656), indication only.
    pub const SEND: Method = Method(0x006);
    /// Data (RFC 8656), indication only.
    pub const DATA: Method = Method(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Method = Method(0x009);

    /// A method from its number; `None` above 0xFFF.
    pub fn new(value: u16) -> Option<Method> {
        (value <= 0xFFF).then_some(Method(value))
    }

    /// The method number.
    pub fn value(self) -> u16 {
        self.0
    }
}

/// Encodes method and class into the 16-bit message type (RFC 8489 §5, Figure 3):
/// `M11..M7 C1 M6..M4 C0 M3..M0` below two zero bits.
pub fn message_type(method: Method, class: Class) -> u16 {
    let m = method.0;
    let c = class.bits();
    (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7)
}

/// Splits a message type into method and class (RFC 8489 §5). The two top bits are ignored.
pub fn split_message_type(typ: u16) -> (Method, Class) {
    let m = (typ & 0x000F) | ((typ >> 1) & 0x0070) | ((typ >> 2) & 0x0F80);
    let c = ((typ >> 4) & 0b01) | ((typ >> 7) & 0b10);
    (Method(m), Class::from_bits(c))
}

/// The 96-bit transaction id (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh id from the system's secure random generator (RFC 8489 §5: "uniformly and
    /// randomly chosen"); `None` if the generator fails.
    pub fn random() -> Option<TransactionId> {
        use ring::rand::SecureRandom;
        let mut id = [0u8; 12];
        ring::rand::SystemRandom::new().fill(&mut id).ok()?;
        Some(TransactionId(id))
    }
}

/// A decoded STUN message. It keeps the raw bytes for the integrity checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    raw: Vec<u8>,
    method: Method,
    class: Class,
    transaction_id: TransactionId,
    attributes: Vec<Attribute>,
    /// Offset of MESSAGE-INTEGRITY's header, if present.
    integrity_at: Option<usize>,
    /// Offset of MESSAGE-INTEGRITY-SHA256's header, if present.
    integrity_sha256_at: Option<usize>,
    /// Offset of FINGERPRINT's header, if present.
    fingerprint_at: Option<usize>,
}

/// Checks the fixed header fields of a message (RFC 8489 §5, §6.3) and returns the length
/// field. Needs at least 8 bytes; used both by [`Message::decode`] and by stream framing.
pub(crate) fn check_header(buf: &[u8]) -> Result<u16, StunError> {
    if buf.len() < 8 {
        return Err(StunError::TooShort { len: buf.len() });
    }
    if buf[0] & 0xC0 != 0 {
        return Err(StunError::NotStun);
    }
    let len = u16::from_be_bytes([buf[2], buf[3]]);
    if len % 4 != 0 {
        return Err(StunError::LengthNotAligned(len));
    }
    let cookie = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if cookie != MAGIC_COOKIE {
        return Err(StunError::BadMagicCookie(cookie));
    }
    Ok(len)
}

impl Message {
    /// Decodes one whole message (a UDP datagram, or a frame cut from a TCP stream by
    /// [`crate::channel::frame_len`]). The buffer must hold exactly the message.
    ///
    /// Per RFC 8489 §14.5 and §14.6, attributes after MESSAGE-INTEGRITY other than
    /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and attributes after
    /// MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are ignored; so is anything after
    /// FINGERPRINT, which must be last (§14.7).
    pub fn decode(buf: &[u8]) -> Result<Message, StunError> {
        if buf.len() < HEADER_LEN {
            return Err(StunError::TooShort { len: buf.len() });
        }
        let len = usize::from(check_header(buf)?);
        if buf.len() - HEADER_LEN != len {
            return Err(StunError::LengthMismatch {
                header: len,
                actual: buf.len() - HEADER_LEN,
            });
        }
        let (method, class) = split_message_type(u16::from_be_bytes([buf[0], buf[1]]));
        let mut txid = [0u8; 12];
        txid.copy_from_slice(&buf[8..HEADER_LEN]);
        let transaction_id = TransactionId(txid);

        let mut msg = Message {
            raw: buf.to_vec(),
            method,
            class,
            transaction_id,
            attributes: Vec::new(),
            integrity_at: None,
            integrity_sha256_at: None,
            fingerprint_at: None,
        };

        let mut off = HEADER_LEN;
        while off < buf.len() {
            let Some(header) = buf.get(off..off + 4) else {
                return Err(StunError::AttributeOverflow {
                    typ: 0,
                    offset: off,
                });
            };
            let typ = u16::from_be_bytes([header[0], header[1]]);
            let vlen = usize::from(u16::from_be_bytes([header[2], header[3]]));
            let next = off + 4 + pad4(vlen);
            if next > buf.len() {
                return Err(StunError::AttributeOverflow { typ, offset: off });
            }
            let value = &buf[off + 4..off + 4 + vlen];

            let ignored = msg.fingerprint_at.is_some()
                || (msg.integrity_sha256_at.is_some() && typ != types::FINGERPRINT)
                || (msg.integrity_at.is_some()
                    && typ != types::FINGERPRINT
                    && typ != types::MESSAGE_INTEGRITY_SHA256);
            if !ignored {
                msg.attributes
                    .push(Attribute::decode(typ, value, &transaction_id)?);
                match typ {
                    types::MESSAGE_INTEGRITY => msg.integrity_at = Some(off),
                    types::MESSAGE_INTEGRITY_SHA256 => msg.integrity_sha256_at = Some(off),
                    types::FINGERPRINT => msg.fingerprint_at = Some(off),
                    _ => {}
                }
            }
            off = next;
        }
        Ok(msg)
    }

    /// The bytes as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// The attributes in message order (ignored trailing attributes excluded).
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The first attribute of a type (RFC 8489 §14: only the first occurrence counts).
    pub fn get(&self, typ: u16) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.typ() == typ)
    }

    /// USERNAME, if present.
    pub fn username(&self) -> Option<&str> {
        match self.get(types::USERNAME) {
            Some(Attribute::Username(s)) => Some(s),
            _ => None,
        }
    }

    /// REALM, if present.
    pub fn realm(&self) -> Option<&str> {
        match self.get(types::REALM) {
            Some(Attribute::Realm(s)) => Some(s),
            _ => None,
        }
    }

    /// NONCE, if present.
    pub fn nonce(&self) -> Option<&str> {
        match self.get(types::NONCE) {
            Some(Attribute::Nonce(s)) => Some(s),
            _ => None,
        }
    }

    /// Comprehension-required attribute types (below 0x8000) this codec does not understand,
    /// in order and without duplicates: the content of UNKNOWN-ATTRIBUTES in a 420 response
    /// (RFC 8489 §6.3.1.1, §14.13).
    pub fn unknown_comprehension_required(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for a in &self.attributes {
            if let Attribute::Unknown { typ, .. } = a {
                if types::is_comprehension_required(*typ) && !out.contains(typ) {
                    out.push(*typ);
                }
            }
        }
        out
    }

    /// Whether the message carries MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.
    pub fn has_integrity(&self) -> bool {
        self.integrity_at.is_some() || self.integrity_sha256_at.is_some()
    }

    /// Checks the integrity with `key`: MESSAGE-INTEGRITY-SHA256 when present, else
    /// MESSAGE-INTEGRITY (RFC 8489 §9.2.4 prefers the SHA-256 variant).
    pub fn verify_integrity(&self, key: &[u8]) -> Result<(), StunError> {
        if self.integrity_sha256_at.is_some() {
            self.verify_integrity_sha256(key)
        } else {
            self.verify_integrity_sha1(key)
        }
    }

    /// Checks MESSAGE-INTEGRITY, the HMAC-SHA1 (RFC 8489 §14.5).
    pub fn verify_integrity_sha1(&self, key: &[u8]) -> Result<(), StunError> {
        let at = self.integrity_at.ok_or(StunError::MissingIntegrity)?;
        let mac = hmac(
            ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key,
            &self.raw[..at],
            24,
        );
        let received = self.raw.get(at + 4..at + 24).unwrap_or(&[]);
        if ct_eq(mac.as_ref(), received) {
            Ok(())
        } else {
            Err(StunError::IntegrityMismatch)
        }
    }

    /// Checks MESSAGE-INTEGRITY-SHA256, possibly truncated to 16–32 bytes (RFC 8489 §14.6).
    pub fn verify_integrity_sha256(&self, key: &[u8]) -> Result<(), StunError> {
        let at = self
            .integrity_sha256_at
            .ok_or(StunError::MissingIntegrity)?;
        let Some(hdr) = self.raw.get(at + 2..at + 4) else {
            return Err(StunError::MissingIntegrity);
        };
        let n = usize::from(u16::from_be_bytes([hdr[0], hdr[1]]));
        let mac = hmac(ring::hmac::HMAC_SHA256, key, &self.raw[..at], 4 + n);
        let received = self.raw.get(at + 4..at + 4 + n).unwrap_or(&[]);
        let computed = mac.as_ref().get(..n).unwrap_or(&[]);
        if n >= 16 && ct_eq(computed, received) {
            Ok(())
        } else {
            Err(StunError::IntegrityMismatch)
        }
    }

    /// Whether the message carries FINGERPRINT.
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint_at.is_some()
    }

    /// Checks FINGERPRINT (RFC 8489 §14.7).
    pub fn verify_fingerprint(&self) -> Result<(), StunError> {
        let at = self.fingerprint_at.ok_or(StunError::MissingFingerprint)?;
        let computed = fingerprint(&self.raw[..at]);
        let received = self
            .raw
            .get(at + 4..at + 8)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes);
        if received == Some(computed) {
            Ok(())
        } else {
            Err(StunError::FingerprintMismatch)
        }
    }
}

/// The message prefix `before` (header + attributes before the protected attribute) with its
/// length field replaced by "everything so far plus `attr_len`", as both HMACs and the CRC
/// require (RFC 8489 §14.5–§14.7). Returns the adjusted 16-bit length bytes.
fn adjusted_len(before: &[u8], attr_len: usize) -> [u8; 2] {
    let len = before.len().saturating_sub(HEADER_LEN) + attr_len;
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}

fn hmac(alg: ring::hmac::Algorithm, key: &[u8], before: &[u8], attr_len: usize) -> ring::hmac::Tag {
    let key = ring::hmac::Key::new(alg, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(&before[..2]);
    ctx.update(&adjusted_len(before, attr_len));
    ctx.update(&before[4..]);
    ctx.sign()
}

fn fingerprint(before: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&before[..2]);
    h.update(&adjusted_len(before, 8));
    h.update(&before[4..]);
    h.finalize() ^ FINGERPRINT_XOR
}

/// Constant-time comparison, so the HMAC check leaks no timing about the expected value.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds a STUN message attribute by attribute (RFC 8489 §5, §14). Errors (a value that
/// cannot be encoded, a message over 64 KiB) are kept and reported by [`finish`].
///
/// [`finish`]: MessageBuilder::finish
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    txid: TransactionId,
    error: Option<StunError>,
}

impl MessageBuilder {
    /// Starts a message.
    pub fn new(method: Method, class: Class, txid: TransactionId) -> MessageBuilder {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&message_type(method, class).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&txid.0);
        MessageBuilder {
            buf,
            txid,
            error: None,
        }
    }

    /// Starts a response (`Success` or `Error`) to `request`: same method and transaction id
    /// (RFC 8489 §6.3.1.1).
    pub fn response_to(request: &Message, class: Class) -> MessageBuilder {
        MessageBuilder::new(request.method(), class, request.transaction_id())
    }

    /// Appends an attribute, padded to 4 bytes with zeros. For MESSAGE-INTEGRITY(-SHA256) and
    /// FINGERPRINT use the dedicated methods, which compute the value.
    pub fn add(&mut self, attr: &Attribute) -> &mut Self {
        let mut value = Vec::new();
        match attr.encode_value(&self.txid, &mut value) {
            Ok(()) => self.add_raw(attr.typ(), &value),
            Err(e) => {
                self.error.get_or_insert(e);
                self
            }
        }
    }

    /// Appends an attribute from its type and value bytes.
    pub fn add_raw(&mut self, typ: u16, value: &[u8]) -> &mut Self {
        let Ok(len) = u16::try_from(value.len()) else {
            self.error.get_or_insert(StunError::MessageTooLong);
            return self;
        };
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(value);
        pad_to_4(&mut self.buf);
        self.set_len();
        self
    }

    /// Appends MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over the message so far, its length
    /// field counting the MESSAGE-INTEGRITY attribute (RFC 8489 §14.5).
    pub fn add_message_integrity(&mut self, key: &[u8]) -> &mut Self {
        if self.fits(24) {
            let mac = hmac(
                ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                key,
                &self.buf,
                24,
            );
            self.add_raw(types::MESSAGE_INTEGRITY, mac.as_ref());
        }
        self
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 (full 32 bytes) with `key` (RFC 8489 §14.6).
    pub fn add_message_integrity_sha256(&mut self, key: &[u8]) -> &mut Self {
        if self.fits(36) {
            let mac = hmac(ring::hmac::HMAC_SHA256, key, &self.buf, 36);
            self.add_raw(types::MESSAGE_INTEGRITY_SHA256, mac.as_ref());
        }
        self
    }

    /// Appends FINGERPRINT: CRC-32 of the message so far XOR 0x5354554e, its length field
    /// counting the FINGERPRINT attribute (RFC 8489 §14.7). Must be the last attribute.
    pub fn add_fingerprint(&mut self) -> &mut Self {
        if self.fits(8) {
            let crc = fingerprint(&self.buf);
            self.add_raw(types::FINGERPRINT, &crc.to_be_bytes());
        }
        self
    }

    /// The encoded message, or the first error met while building it.
    pub fn finish(self) -> Result<Vec<u8>, StunError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }

    fn fits(&mut self, extra: usize) -> bool {
        if self.buf.len() - HEADER_LEN + extra > usize::from(u16::MAX) {
            self.error.get_or_insert(StunError::MessageTooLong);
            false
        } else {
            true
        }
    }

    fn set_len(&mut self) {
        match u16::try_from(self.buf.len() - HEADER_LEN) {
            Ok(len) => self.buf[2..4].copy_from_slice(&len.to_be_bytes()),
            Err(_) => {
                self.error.get_or_insert(StunError::MessageTooLong);
            }
        }
    }
}
