//! Self-validating nonces (RFC 8489 §9.2): the nonce carries its own expiry and a MAC over
//! that expiry and the client's IP, keyed with a per-server secret, so the server keeps no
//! table of nonces and a flood of 401 challenges costs it no memory. Every nonce starts with
//! the RFC 8489 §9.2 "nonce cookie" and the security feature bits, which tell RFC 8489 clients
//! that PASSWORD-ALGORITHMS is offered; RFC 5389/5766 clients treat the nonce as opaque.

use std::net::IpAddr;

use ring::hmac;

use super::base64;
use super::secret;

/// The nonce cookie (RFC 8489 §9.2).
pub(crate) const NONCE_COOKIE: &str = "obMatJos2";
/// The 24 security feature bits in base64 (RFC 8489 §9.2, §18.1): bit 0, "Password
/// algorithms", is the most significant bit, so 0x800000 → "gAAA". Username anonymity (bit 1)
/// is not offered.
pub(crate) const FEATURE_BITS: &str = "gAAA";
/// Hex digits of the expiry.
const EXPIRY_DIGITS: usize = 8;
/// Bytes of the MAC kept (96 bits).
const MAC_BYTES: usize = 12;

/// Result of checking a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// Issued by this server for this IP and not expired.
    Valid,
    /// Issued by this server for this IP but expired (438).
    Expired,
    /// Not issued by this server for this IP (438 as well: the client starts over).
    Invalid,
}

/// Issues and checks nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
}

impl Nonces {
    pub(crate) fn new(secret: &[u8; 32]) -> Nonces {
        Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret::derive(secret, b"nonce")),
        }
    }

    /// A nonce valid until `expiry` (seconds of the server clock) for a client at `ip`.
    pub(crate) fn issue(&self, expiry: u32, ip: IpAddr) -> String {
        let mut s = String::with_capacity(NONCE_COOKIE.len() + 4 + EXPIRY_DIGITS + 16);
        s.push_str(NONCE_COOKIE);
        s.push_str(FEATURE_BITS);
        s.push_str(&format!("{expiry:08x}"));
        base64::encode_into(&self.mac(expiry, ip), &mut s);
        s
    }

    /// Checks a nonce from a request at server time `now` (seconds).
    pub(crate) fn check(&self, nonce: &str, now: u64, ip: IpAddr) -> NonceCheck {
        let Some(rest) = nonce.strip_prefix(NONCE_COOKIE) else {
            return NonceCheck::Invalid;
        };
        let Some(rest) = rest.strip_prefix(FEATURE_BITS) else {
            return NonceCheck::Invalid;
        };
        let (Some(hex), Some(mac)) = (rest.get(..EXPIRY_DIGITS), rest.get(EXPIRY_DIGITS..)) else {
            return NonceCheck::Invalid;
        };
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return NonceCheck::Invalid;
        }
        let Ok(expiry) = u32::from_str_radix(hex, 16) else {
            return NonceCheck::Invalid;
        };
        let expected = base64::encode(&self.mac(expiry, ip));
        if !ct_eq(expected.as_bytes(), mac.as_bytes()) {
            return NonceCheck::Invalid;
        }
        if u64::from(expiry) <= now {
            NonceCheck::Expired
        } else {
            NonceCheck::Valid
        }
    }

    fn mac(&self, expiry: u32, ip: IpAddr) -> [u8; MAC_BYTES] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(NONCE_COOKIE.as_bytes());
        ctx.update(FEATURE_BITS.as_bytes());
        ctx.update(&expiry.to_be_bytes());
        match ip {
            IpAddr::V4(a) => ctx.update(&a.octets()),
            IpAddr::V6(a) => ctx.update(&a.octets()),
        }
        let tag = ctx.sign();
        let mut out = [0u8; MAC_BYTES];
        for (o, t) in out.iter_mut().zip(tag.as_ref()) {
            *o = *t;
        }
        out
    }
}

/// Constant-time equality (the MAC must not be guessable byte by byte from timing).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_check() {
        let n = Nonces::new(&[7; 32]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let nonce = n.issue(100, ip);
        assert!(nonce.starts_with("obMatJos2gAAA"));
        assert_eq!(n.check(&nonce, 99, ip), NonceCheck::Valid);
        assert_eq!(n.check(&nonce, 100, ip), NonceCheck::Expired);
        assert_eq!(
            n.check(&nonce, 99, "192.0.2.2".parse().unwrap()),
            NonceCheck::Invalid
        );
        let other = Nonces::new(&[8; 32]);
        assert_eq!(other.check(&nonce, 99, ip), NonceCheck::Invalid);
        for bad in [
            "",
            "obMatJos2",
            "obMatJos2gAAA",
            "obMatJos2gAAAzzzzzzzz",
            "x".repeat(700).as_str(),
        ] {
            assert_eq!(n.check(bad, 0, ip), NonceCheck::Invalid);
        }
        // Tampered expiry.
        let tampered = nonce.replacen("00000064", "00000065", 1);
        assert_eq!(n.check(&tampered, 99, ip), NonceCheck::Invalid);
    }
}
