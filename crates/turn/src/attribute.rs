//! Typed STUN and TURN attributes: their type codes (RFC 8489 §18.3, RFC 8656 §18) and the
//! conversion between each attribute's value bytes and a Rust value. Kept apart from the message
//! framing so that every value format is checked in one place, against untrusted bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::StunError;
use crate::message::{TransactionId, MAGIC_COOKIE};

/// Attribute type codes (RFC 8489 §18.3, RFC 8656 §18).
pub mod types {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (RFC 8656 §18.4).
    pub const DATA: u16 = 0x0013;
    /// REALM (RFC 8489 §14.9).
    pub const REALM: u16 = 0x0014;
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: u16 = 0x8000;
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.12).
    pub const ADDRESS_ERROR_CODE: u16 = 0x8001;
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// ICMP (RFC 8656 §18.13).
    pub const ICMP: u16 = 0x8004;
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: u16 = 0x8028;

    /// Whether an attribute type is comprehension-required (0x0000–0x7FFF, RFC 8489 §14).
    pub fn is_comprehension_required(typ: u16) -> bool {
        typ < 0x8000
    }
}

/// Longest USERNAME value (RFC 8489 §14.3: "MUST contain a UTF-8 encoded sequence of fewer
/// than 509 bytes" after OpaqueString; RFC 5389 allowed up to 513).
const MAX_USERNAME: usize = 513;
/// Longest REALM, NONCE, SOFTWARE, reason phrase and ALTERNATE-DOMAIN value: fewer than 128
/// characters, which "can be as long as 763 bytes" (RFC 8489 §14.8–§14.10, §14.14, §14.16).
const MAX_TEXT: usize = 763;

/// Address family of an address attribute or of REQUESTED-ADDRESS-FAMILY (RFC 8489 §14.1,
/// RFC 8656 §18.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// 0x01.
    Ipv4,
    /// 0x02.
    Ipv6,
    /// Any other code, kept so the server can answer 440 (Address Family not Supported,
    /// RFC 8656 §7.2) rather than reject the whole request as malformed.
    Other(u8),
}

impl AddressFamily {
    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            AddressFamily::Ipv4 => 0x01,
            AddressFamily::Ipv6 => 0x02,
            AddressFamily::Other(c) => c,
        }
    }

    /// From the wire code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => AddressFamily::Ipv4,
            0x02 => AddressFamily::Ipv6,
            c => AddressFamily::Other(c),
        }
    }

    /// The family of an address.
    pub fn of(addr: &SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(_) => AddressFamily::Ipv4,
            SocketAddr::V6(_) => AddressFamily::Ipv6,
        }
    }
}

/// One entry of PASSWORD-ALGORITHMS, or the value of PASSWORD-ALGORITHM (RFC 8489 §14.11,
/// §14.12, §18.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PasswordAlgorithm {
    /// Algorithm number: [`PasswordAlgorithm::MD5`] or [`PasswordAlgorithm::SHA256`].
    pub id: u16,
    /// Algorithm parameters (empty for MD5 and SHA-256).
    pub params: Vec<u8>,
}

impl PasswordAlgorithm {
    /// MD5 (RFC 8489 §18.5.1.1).
    pub const MD5: u16 = 0x0001;
    /// SHA-256 (RFC 8489 §18.5.1.2).
    pub const SHA256: u16 = 0x0002;

    /// MD5, no parameters.
    pub fn md5() -> Self {
        PasswordAlgorithm {
            id: Self::MD5,
            params: Vec::new(),
        }
    }

    /// SHA-256, no parameters.
    pub fn sha256() -> Self {
        PasswordAlgorithm {
            id: Self::SHA256,
            params: Vec::new(),
        }
    }
}

/// A decoded attribute. Types this crate does not know are kept as [`Attribute::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    XorMappedAddress(SocketAddr),
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    XorPeerAddress(SocketAddr),
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    XorRelayedAddress(SocketAddr),
    /// USERNAME (RFC 8489 §14.3).
    Username(String),
    /// USERHASH (RFC 8489 §14.4): SHA-256 of username ":" realm.
    UserHash([u8; 32]),
    /// REALM (RFC 8489 §14.9).
    Realm(String),
    /// NONCE (RFC 8489 §14.10).
    Nonce(String),
    /// SOFTWARE (RFC 8489 §14.14).
    Software(String),
    /// ERROR-CODE (RFC 8489 §14.8): code 300–699 and reason phrase.
    ErrorCode {
        /// Class × 100 + number.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    UnknownAttributes(Vec<u16>),
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    AlternateServer(SocketAddr),
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    AlternateDomain(String),
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    PasswordAlgorithms(Vec<PasswordAlgorithm>),
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    PasswordAlgorithm(PasswordAlgorithm),
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5): the 20-byte HMAC-SHA1 as received.
    MessageIntegrity([u8; 20]),
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6): 16 to 32 bytes, a multiple of 4.
    MessageIntegritySha256(Vec<u8>),
    /// FINGERPRINT (RFC 8489 §14.7).
    Fingerprint(u32),
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    ChannelNumber(u16),
    /// LIFETIME in seconds (RFC 8656 §18.2).
    Lifetime(u32),
    /// DATA (RFC 8656 §18.4).
    Data(Vec<u8>),
    /// EVEN-PORT (RFC 8656 §18.7): the R bit (reserve the next port too).
    EvenPort(bool),
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8): IP protocol number (17 = UDP).
    RequestedTransport(u8),
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    DontFragment,
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    ReservationToken([u8; 8]),
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    RequestedAddressFamily(AddressFamily),
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    AdditionalAddressFamily(AddressFamily),
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.12).
    AddressErrorCode {
        /// Family the error is about.
        family: AddressFamily,
        /// Class × 100 + number.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// ICMP (RFC 8656 §18.13).
    Icmp {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        icmp_code: u8,
        /// Error data (e.g. the MTU for "fragmentation needed").
        error_data: u32,
    },
    /// Any other attribute, value as received (without padding).
    Unknown {
        /// Attribute type.
        typ: u16,
        /// Value bytes.
        value: Vec<u8>,
    },
}

impl Attribute {
    /// The attribute type code.
    pub fn typ(&self) -> u16 {
        use types::*;
        match self {
            Attribute::MappedAddress(_) => MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => XOR_MAPPED_ADDRESS,
            Attribute::XorPeerAddress(_) => XOR_PEER_ADDRESS,
            Attribute::XorRelayedAddress(_) => XOR_RELAYED_ADDRESS,
            Attribute::Username(_) => USERNAME,
            Attribute::UserHash(_) => USERHASH,
            Attribute::Realm(_) => REALM,
            Attribute::Nonce(_) => NONCE,
            Attribute::Software(_) => SOFTWARE,
            Attribute::ErrorCode { .. } => ERROR_CODE,
            Attribute::UnknownAttributes(_) => UNKNOWN_ATTRIBUTES,
            Attribute::AlternateServer(_) => ALTERNATE_SERVER,
            Attribute::AlternateDomain(_) => ALTERNATE_DOMAIN,
            Attribute::PasswordAlgorithms(_) => PASSWORD_ALGORITHMS,
            Attribute::PasswordAlgorithm(_) => PASSWORD_ALGORITHM,
            Attribute::MessageIntegrity(_) => MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => FINGERPRINT,
            Attribute::ChannelNumber(_) => CHANNEL_NUMBER,
            Attribute::Lifetime(_) => LIFETIME,
            Attribute::Data(_) => DATA,
            Attribute::EvenPort(_) => EVEN_PORT,
            Attribute::RequestedTransport(_) => REQUESTED_TRANSPORT,
            Attribute::DontFragment => DONT_FRAGMENT,
            Attribute::ReservationToken(_) => RESERVATION_TOKEN,
            Attribute::RequestedAddressFamily(_) => REQUESTED_ADDRESS_FAMILY,
            Attribute::AdditionalAddressFamily(_) => ADDITIONAL_ADDRESS_FAMILY,
            Attribute::AddressErrorCode { .. } => ADDRESS_ERROR_CODE,
            Attribute::Icmp { .. } => ICMP,
            Attribute::Unknown { typ, .. } => *typ,
        }
    }

    /// Decodes one attribute value (without padding). `txid` is needed for the XOR addresses.
    pub fn decode(typ: u16, value: &[u8], txid: &TransactionId) -> Result<Attribute, StunError> {
        use types::*;
        let bad = |reason| StunError::MalformedAttribute { typ, reason };
        Ok(match typ {
            MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(typ, value, None)?),
            ALTERNATE_SERVER => Attribute::AlternateServer(decode_address(typ, value, None)?),
            XOR_MAPPED_ADDRESS => {
                Attribute::XorMappedAddress(decode_address(typ, value, Some(txid))?)
            }
            XOR_PEER_ADDRESS => Attribute::XorPeerAddress(decode_address(typ, value, Some(txid))?),
            XOR_RELAYED_ADDRESS => {
                Attribute::XorRelayedAddress(decode_address(typ, value, Some(txid))?)
            }
            USERNAME => Attribute::Username(decode_text(typ, value, MAX_USERNAME)?),
            REALM => Attribute::Realm(decode_text(typ, value, MAX_TEXT)?),
            NONCE => Attribute::Nonce(decode_text(typ, value, MAX_TEXT)?),
            SOFTWARE => Attribute::Software(decode_text(typ, value, MAX_TEXT)?),
            ALTERNATE_DOMAIN => Attribute::AlternateDomain(decode_text(typ, value, MAX_TEXT)?),
            USERHASH => Attribute::UserHash(fixed(value).ok_or(bad("USERHASH is 32 bytes"))?),
            ERROR_CODE => {
                // RFC 8489 §14.8: 21 reserved bits, 3-bit class (3–6), 8-bit number (0–99).
                if value.len() < 4 {
                    return Err(bad("ERROR-CODE shorter than 4 bytes"));
                }
                let code = error_code(value[2], value[3]).ok_or(bad("error class/number"))?;
                Attribute::ErrorCode {
                    code,
                    reason: decode_text(typ, &value[4..], MAX_TEXT)?,
                }
            }
            UNKNOWN_ATTRIBUTES => {
                // RFC 8489 §14.13: a list of 16-bit types.
                if value.len() % 2 != 0 {
                    return Err(bad("odd length"));
                }
                Attribute::UnknownAttributes(
                    value
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            PASSWORD_ALGORITHMS => {
                // RFC 8489 §14.11: a list of {algorithm, length, parameters padded to 4}.
                let mut rest = value;
                let mut list = Vec::new();
                while !rest.is_empty() {
                    let (alg, used) = decode_password_algorithm(typ, rest)?;
                    list.push(alg);
                    let padded = pad4(used);
                    rest = rest.get(padded..).unwrap_or(&[]);
                }
                Attribute::PasswordAlgorithms(list)
            }
            PASSWORD_ALGORITHM => {
                let (alg, used) = decode_password_algorithm(typ, value)?;
                if used != value.len() {
                    return Err(bad("trailing bytes"));
                }
                Attribute::PasswordAlgorithm(alg)
            }
            MESSAGE_INTEGRITY => Attribute::MessageIntegrity(
                fixed(value).ok_or(bad("MESSAGE-INTEGRITY is 20 bytes"))?,
            ),
            MESSAGE_INTEGRITY_SHA256 => {
                // RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4.
                if value.len() < 16 || value.len() > 32 || value.len() % 4 != 0 {
                    return Err(bad("MESSAGE-INTEGRITY-SHA256 length"));
                }
                Attribute::MessageIntegritySha256(value.to_vec())
            }
            FINGERPRINT => {
                Attribute::Fingerprint(u32::from_be_bytes(fixed(value).ok_or(bad("4 bytes"))?))
            }
            CHANNEL_NUMBER => {
                // RFC 8656 §18.1: 16-bit channel number, 16 bits RFFU.
                let v: [u8; 4] = fixed(value).ok_or(bad("4 bytes"))?;
                Attribute::ChannelNumber(u16::from_be_bytes([v[0], v[1]]))
            }
            LIFETIME => {
                Attribute::Lifetime(u32::from_be_bytes(fixed(value).ok_or(bad("4 bytes"))?))
            }
            DATA => Attribute::Data(value.to_vec()),
            EVEN_PORT => {
                // RFC 8656 §18.7: one byte, R bit is the most significant.
                let v: [u8; 1] = fixed(value).ok_or(bad("1 byte"))?;
                Attribute::EvenPort(v[0] & 0x80 != 0)
            }
            REQUESTED_TRANSPORT => {
                // RFC 8656 §18.8: protocol, then 24 bits RFFU.
                let v: [u8; 4] = fixed(value).ok_or(bad("4 bytes"))?;
                Attribute::RequestedTransport(v[0])
            }
            DONT_FRAGMENT => {
                if !value.is_empty() {
                    return Err(bad("DONT-FRAGMENT has no value"));
                }
                Attribute::DontFragment
            }
            RESERVATION_TOKEN => Attribute::ReservationToken(fixed(value).ok_or(bad("8 bytes"))?),
            REQUESTED_ADDRESS_FAMILY | ADDITIONAL_ADDRESS_FAMILY => {
                // RFC 8656 §18.6, §18.11: family, then 24 bits reserved.
                let v: [u8; 4] = fixed(value).ok_or(bad("4 bytes"))?;
                let family = AddressFamily::from_code(v[0]);
                if typ == REQUESTED_ADDRESS_FAMILY {
                    Attribute::RequestedAddressFamily(family)
                } else {
                    Attribute::AdditionalAddressFamily(family)
                }
            }
            ADDRESS_ERROR_CODE => {
                // RFC 8656 §18.12: family (8), reserved (13), class (3), number (8), reason.
                if value.len() < 4 {
                    return Err(bad("shorter than 4 bytes"));
                }
                let family = AddressFamily::from_code(value[0]);
                let code = error_code(value[2], value[3]).ok_or(bad("error class/number"))?;
                Attribute::AddressErrorCode {
                    family,
                    code,
                    reason: decode_text(typ, &value[4..], MAX_TEXT)?,
                }
            }
            ICMP => {
                // RFC 8656 §18.13: reserved (16), type (8), code (8), error data (32).
                let v: [u8; 8] = fixed(value).ok_or(bad("8 bytes"))?;
                Attribute::Icmp {
                    icmp_type: v[2],
                    icmp_code: v[3],
                    error_data: u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                }
            }
            _ => Attribute::Unknown {
                typ,
                value: value.to_vec(),
            },
        })
    }

    /// Appends the value bytes (without padding) to `out`. `txid` is needed for the XOR
    /// addresses.
    pub fn encode_value(&self, txid: &TransactionId, out: &mut Vec<u8>) -> Result<(), StunError> {
        let typ = self.typ();
        let invalid = |reason| StunError::InvalidValue { typ, reason };
        match self {
            Attribute::MappedAddress(a) | Attribute::AlternateServer(a) => {
                encode_address(a, None, out)
            }
            Attribute::XorMappedAddress(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => encode_address(a, Some(txid), out),
            Attribute::Username(s) => encode_text(typ, s, MAX_USERNAME, out)?,
            Attribute::Realm(s)
            | Attribute::Nonce(s)
            | Attribute::Software(s)
            | Attribute::AlternateDomain(s) => encode_text(typ, s, MAX_TEXT, out)?,
            Attribute::UserHash(h) => out.extend_from_slice(h),
            Attribute::ErrorCode { code, reason } => {
                if !(300..700).contains(code) {
                    return Err(invalid("error code outside 300-699"));
                }
                out.extend_from_slice(&[0, 0, (code / 100) as u8, (code % 100) as u8]);
                encode_text(typ, reason, MAX_TEXT, out)?;
            }
            Attribute::UnknownAttributes(list) => {
                for t in list {
                    out.extend_from_slice(&t.to_be_bytes());
                }
            }
            Attribute::PasswordAlgorithms(list) => {
                for alg in list {
                    encode_password_algorithm(typ, alg, out)?;
                    pad_to_4(out);
                }
            }
            Attribute::PasswordAlgorithm(alg) => encode_password_algorithm(typ, alg, out)?,
            Attribute::MessageIntegrity(mac) => out.extend_from_slice(mac),
            Attribute::MessageIntegritySha256(mac) => {
                if mac.len() < 16 || mac.len() > 32 || mac.len() % 4 != 0 {
                    return Err(invalid("MESSAGE-INTEGRITY-SHA256 length"));
                }
                out.extend_from_slice(mac)
            }
            Attribute::Fingerprint(v) | Attribute::Lifetime(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Attribute::ChannelNumber(n) => {
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Attribute::Data(d) => out.extend_from_slice(d),
            Attribute::EvenPort(r) => out.push(if *r { 0x80 } else { 0 }),
            Attribute::RequestedTransport(p) => out.extend_from_slice(&[*p, 0, 0, 0]),
            Attribute::DontFragment => {}
            Attribute::ReservationToken(t) => out.extend_from_slice(t),
            Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f) => {
                out.extend_from_slice(&[f.code(), 0, 0, 0])
            }
            Attribute::AddressErrorCode {
                family,
                code,
                reason,
            } => {
                if !(300..700).contains(code) {
                    return Err(invalid("error code outside 300-699"));
                }
                out.extend_from_slice(&[family.code(), 0, (code / 100) as u8, (code % 100) as u8]);
                encode_text(typ, reason, MAX_TEXT, out)?;
            }
            Attribute::Icmp {
                icmp_type,
                icmp_code,
                error_data,
            } => {
                out.extend_from_slice(&[0, 0, *icmp_type, *icmp_code]);
                out.extend_from_slice(&error_data.to_be_bytes());
            }
            Attribute::Unknown { value, .. } => out.extend_from_slice(value),
        }
        Ok(())
    }
}

/// `len` rounded up to a multiple of 4 (RFC 8489 §14: attributes are padded to 32 bits).
pub(crate) fn pad4(len: usize) -> usize {
    (len + 3) & !3
}

/// Appends zero bytes until `out.len()` is a multiple of 4.
pub(crate) fn pad_to_4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn fixed<const N: usize>(value: &[u8]) -> Option<[u8; N]> {
    value.try_into().ok()
}

/// Class (3–6) and number (0–99) to a code (RFC 8489 §14.8).
fn error_code(class_byte: u8, number: u8) -> Option<u16> {
    let class = class_byte & 0x07;
    if !(3..=6).contains(&class) || number > 99 {
        return None;
    }
    Some(u16::from(class) * 100 + u16::from(number))
}

fn decode_text(typ: u16, value: &[u8], max: usize) -> Result<String, StunError> {
    if value.len() > max {
        return Err(StunError::MalformedAttribute {
            typ,
            reason: "text too long",
        });
    }
    String::from_utf8(value.to_vec()).map_err(|_| StunError::MalformedAttribute {
        typ,
        reason: "not UTF-8",
    })
}

fn encode_text(typ: u16, s: &str, max: usize, out: &mut Vec<u8>) -> Result<(), StunError> {
    if s.len() > max {
        return Err(StunError::InvalidValue {
            typ,
            reason: "text too long",
        });
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Returns the algorithm and the bytes it used, parameters included but padding excluded.
fn decode_password_algorithm(
    typ: u16,
    value: &[u8],
) -> Result<(PasswordAlgorithm, usize), StunError> {
    let bad = |reason| StunError::MalformedAttribute { typ, reason };
    if value.len() < 4 {
        return Err(bad("password algorithm shorter than 4 bytes"));
    }
    let id = u16::from_be_bytes([value[0], value[1]]);
    let len = usize::from(u16::from_be_bytes([value[2], value[3]]));
    let params = value
        .get(4..4 + len)
        .ok_or(bad("password algorithm parameters overflow"))?;
    Ok((
        PasswordAlgorithm {
            id,
            params: params.to_vec(),
        },
        4 + len,
    ))
}

fn encode_password_algorithm(
    typ: u16,
    alg: &PasswordAlgorithm,
    out: &mut Vec<u8>,
) -> Result<(), StunError> {
    let len = u16::try_from(alg.params.len()).map_err(|_| StunError::InvalidValue {
        typ,
        reason: "parameters too long",
    })?;
    out.extend_from_slice(&alg.id.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&alg.params);
    Ok(())
}

/// The 16 bytes an IPv6 XOR address is XORed with: magic cookie then transaction id
/// (RFC 8489 §14.2).
fn xor_key(txid: &TransactionId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    key[4..].copy_from_slice(&txid.0);
    key
}

/// MAPPED-ADDRESS layout (RFC 8489 §14.1): reserved byte, family, port, address; with `txid`,
/// the XOR variant (§14.2): port XOR the cookie's high 16 bits, address XOR cookie (IPv4) or
/// cookie ‖ transaction id (IPv6).
fn decode_address(
    typ: u16,
    value: &[u8],
    txid: Option<&TransactionId>,
) -> Result<SocketAddr, StunError> {
    let bad = |reason| StunError::MalformedAttribute { typ, reason };
    if value.len() < 4 {
        return Err(bad("address shorter than 4 bytes"));
    }
    let key = txid.map(xor_key).unwrap_or([0; 16]);
    let port = u16::from_be_bytes([value[2] ^ key[0], value[3] ^ key[1]]);
    match value[1] {
        0x01 => {
            let a: [u8; 4] = fixed(&value[4..]).ok_or(bad("IPv4 address is 4 bytes"))?;
            let ip = Ipv4Addr::new(a[0] ^ key[0], a[1] ^ key[1], a[2] ^ key[2], a[3] ^ key[3]);
            Ok(SocketAddr::new(IpAddr::V4(ip), port))
        }
        0x02 => {
            let mut a: [u8; 16] = fixed(&value[4..]).ok_or(bad("IPv6 address is 16 bytes"))?;
            for (b, k) in a.iter_mut().zip(key.iter()) {
                *b ^= k;
            }
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        _ => Err(bad("unknown address family")),
    }
}

fn encode_address(addr: &SocketAddr, txid: Option<&TransactionId>, out: &mut Vec<u8>) {
    let key = txid.map(xor_key).unwrap_or([0; 16]);
    let port = addr.port().to_be_bytes();
    out.push(0);
    out.push(AddressFamily::of(addr).code());
    out.push(port[0] ^ key[0]);
    out.push(port[1] ^ key[1]);
    match addr.ip() {
        IpAddr::V4(ip) => out.extend(ip.octets().iter().zip(key.iter()).map(|(b, k)| b ^ k)),
        IpAddr::V6(ip) => out.extend(ip.octets().iter().zip(key.iter()).map(|(b, k)| b ^ k)),
    }
}
