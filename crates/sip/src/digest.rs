//! HTTP Digest authentication as used by SIP (RFC 3261 §22.4, RFC 7616, RFC 8760), with the
//! MD5 and SHA-256 algorithms and `qop=auth`.
//!
//! Why this exists: exp-c authenticates to exp-e, and exp-e challenges SIP traffic, with
//! digest credentials. Both sides need to build and parse `WWW-Authenticate` /
//! `Authorization` values, compute responses from a stored HA1 (so plain passwords need not be
//! kept), and verify them in constant time. Everything here is pure computation on strings;
//! nonce generation and freshness tracking belong to the caller.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A digest hash algorithm (RFC 7616 §3.3 `algorithm` directive; RFC 8760 for SIP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the default when no algorithm is given (RFC 7616 §3.3).
    Md5,
    /// `SHA-256` (RFC 7616 §3.3, RFC 8760 §2.2).
    Sha256,
}

impl Algorithm {
    /// The algorithm's name on the wire: `"MD5"` or `"SHA-256"`.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses `"MD5"` or `"SHA-256"` (case-insensitive). `-sess` variants and anything else
    /// give `None`.
    pub fn from_name(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// `H(data)` as lowercase hex (RFC 7616 §3.4: the hash output is encoded as lowercase hex).
    pub fn hash_hex(&self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(data)),
            Algorithm::Sha256 => hex::encode(Sha256::digest(data)),
        }
    }
}

/// HA1 = H(username ":" realm ":" password), lowercase hex (RFC 7616 §3.4.2). Stored instead
/// of passwords.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// Why a digest header value could not be used.
///
/// Only [`DigestError::UnsupportedAlgorithm`] carries input text, truncated to 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The authentication scheme is not `Digest` (RFC 7235 §2.1).
    #[error("authentication scheme is not Digest")]
    NotDigest,
    /// The parameter list does not follow `name=token` / `name="quoted"` separated by commas
    /// (RFC 7235 §2.1 auth-param).
    #[error("malformed digest parameters at byte {pos}: {what}")]
    Malformed {
        /// Byte offset in the header value.
        pos: usize,
        /// What was expected or wrong.
        what: &'static str,
    },
    /// A required parameter is absent.
    #[error("missing digest parameter {0}")]
    MissingParam(&'static str),
    /// A parameter appears twice (RFC 7616 §3.3, §3.4: each directive at most once).
    #[error("digest parameter {0} appears more than once")]
    DuplicateParam(&'static str),
    /// The `algorithm` is neither MD5 nor SHA-256.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `qop` offers no `auth` (challenge) or is not `auth` (credentials).
    #[error("unsupported qop (only \"auth\" is supported)")]
    UnsupportedQop,
    /// `nc` is not 8 hex digits (RFC 7616 §3.4).
    #[error("nonce count is not 8 hex digits")]
    BadNonceCount,
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` digest challenge (RFC 7616 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to be echoed by the client.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Whether `qop="auth"` is offered.
    pub qop_auth: bool,
    /// Whether the previous request failed only because its nonce was stale.
    pub stale: bool,
}

impl Challenge {
    /// `Digest realm="..", nonce="..", algorithm=SHA-256, qop="auth"[, opaque=".."][, stale=true]`
    /// (`qop` only when offered).
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest realm={}, nonce={}, algorithm={}",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.name()
        );
        if self.qop_auth {
            out.push_str(", qop=\"auth\"");
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&quote(opaque));
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        out
    }

    /// Parses a challenge value. `realm` and `nonce` are required; a missing `algorithm` means
    /// MD5; `qop` must list `auth` when present; unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let params = parse_params(value)?;
        let qop_auth = match param(&params, "qop")? {
            None => false,
            Some(list) => {
                // RFC 7616 §3.3: qop-options is a quoted, comma-separated list.
                if list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    true
                } else {
                    return Err(DigestError::UnsupportedQop);
                }
            }
        };
        Ok(Challenge {
            realm: required(&params, "realm")?,
            nonce: required(&params, "nonce")?,
            opaque: param(&params, "opaque")?,
            algorithm: algorithm(&params)?,
            qop_auth,
            // RFC 7616 §3.3: "true" (case-insensitive) means stale; anything else does not.
            stale: param(&params, "stale")?.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

/// An `Authorization` / `Proxy-Authorization` digest response (RFC 7616 §3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Protection space, copied from the challenge.
    pub realm: String,
    /// Server nonce, copied from the challenge.
    pub nonce: String,
    /// The digest-uri (the Request-URI in SIP, RFC 3261 §22.4).
    pub uri: String,
    /// The computed response, lowercase hex.
    pub response: String,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Client nonce (with `qop=auth`).
    pub cnonce: Option<String>,
    /// Nonce count, 8 hex digits (with `qop=auth`).
    pub nc: Option<String>,
    /// Whether `qop=auth` was used (otherwise the RFC 2069 compatible form).
    pub qop_auth: bool,
    /// Opaque value echoed from the challenge.
    pub opaque: Option<String>,
}

impl Credentials {
    /// `Digest username="..", realm="..", nonce="..", uri="..", response="..", algorithm=..`
    /// followed by `cnonce=".."`, `nc=..`, `qop=auth` when used and `opaque=".."` when present
    /// (quoting as in RFC 7616 §3.4).
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.name()
        );
        if let Some(cnonce) = &self.cnonce {
            out.push_str(", cnonce=");
            out.push_str(&quote(cnonce));
        }
        if let Some(nc) = &self.nc {
            out.push_str(", nc=");
            out.push_str(nc);
        }
        if self.qop_auth {
            out.push_str(", qop=auth");
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&quote(opaque));
        }
        out
    }

    /// Parses credentials. `username`, `realm`, `nonce`, `uri` and `response` are required; a
    /// missing `algorithm` means MD5; `qop`, when present, must be `auth` and then `cnonce` and
    /// `nc` are required (RFC 7616 §3.4); unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let params = parse_params(value)?;
        let qop_auth = match param(&params, "qop")? {
            None => false,
            Some(q) if q.trim().eq_ignore_ascii_case("auth") => true,
            Some(_) => return Err(DigestError::UnsupportedQop),
        };
        let cnonce = param(&params, "cnonce")?;
        let nc = param(&params, "nc")?;
        if qop_auth {
            if cnonce.is_none() {
                return Err(DigestError::MissingParam("cnonce"));
            }
            if nc.is_none() {
                return Err(DigestError::MissingParam("nc"));
            }
        }
        if let Some(nc) = &nc {
            if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DigestError::BadNonceCount);
            }
        }
        Ok(Credentials {
            username: required(&params, "username")?,
            realm: required(&params, "realm")?,
            nonce: required(&params, "nonce")?,
            uri: required(&params, "uri")?,
            response: required(&params, "response")?,
            algorithm: algorithm(&params)?,
            cnonce,
            nc,
            qop_auth,
            opaque: param(&params, "opaque")?,
        })
    }
}

/// The request digest per RFC 7616 §3.4.1 with `qop=auth`:
/// `H(HA1:nonce:nc:cnonce:qop:HA2)`, or without qop (RFC 2069 form, RFC 2617 §3.2.2.1):
/// `H(HA1:nonce:HA2)`, where `HA2 = H(method:uri)` (RFC 7616 §3.4.3). `ha1_hex` is used in
/// lowercase, as RFC 7616 §3.4.2 defines it.
pub fn response(
    alg: Algorithm,
    ha1_hex: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    nc_cnonce: Option<(&str, &str)>,
) -> String {
    let ha1 = ha1_hex.to_ascii_lowercase();
    let ha2 = alg.hash_hex(format!("{method}:{uri}").as_bytes());
    let data = match nc_cnonce {
        Some((nc, cnonce)) => format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    alg.hash_hex(data.as_bytes())
}

/// Client side: answer a challenge with a password. With `qop=auth` offered, `nc` is written
/// as 8 hex digits and `cnonce` is used; otherwise the RFC 2069 form is produced.
pub fn answer(
    ch: &Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Credentials {
    let ha1_hex = ha1(ch.algorithm, username, &ch.realm, password);
    let (nc, cnonce) = if ch.qop_auth {
        (Some(format!("{nc:08x}")), Some(cnonce.to_owned()))
    } else {
        (None, None)
    };
    let nc_cnonce = nc.as_deref().zip(cnonce.as_deref());
    let response = response(ch.algorithm, &ha1_hex, method, uri, &ch.nonce, nc_cnonce);
    Credentials {
        username: username.to_owned(),
        realm: ch.realm.clone(),
        nonce: ch.nonce.clone(),
        uri: uri.to_owned(),
        response,
        algorithm: ch.algorithm,
        cnonce,
        nc,
        qop_auth: ch.qop_auth,
        opaque: ch.opaque.clone(),
    }
}

/// Server side: true when `creds.response` matches the expected value computed from the
/// stored HA1 (constant-time comparison) and method. Does NOT check nonce freshness, that
/// `creds.realm`/`creds.uri` match the request (RFC 7616 §3.4.6), or that `qop=auth` was used
/// when it was demanded — the caller does.
pub fn verify(creds: &Credentials, ha1_hex: &str, method: &str) -> bool {
    let nc_cnonce = if creds.qop_auth {
        match (&creds.nc, &creds.cnonce) {
            (Some(nc), Some(cnonce)) => Some((nc.as_str(), cnonce.as_str())),
            _ => return false,
        }
    } else {
        None
    };
    let expected = response(
        creds.algorithm,
        ha1_hex,
        method,
        &creds.uri,
        &creds.nonce,
        nc_cnonce,
    );
    constant_time_eq(
        expected.as_bytes(),
        creds.response.to_ascii_lowercase().as_bytes(),
    )
}

/// Compares two byte strings in time that depends only on their lengths (which are public:
/// the hex length of the algorithm's output).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A quoted-string (RFC 7230 §3.2.6) with `\` and `"` escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// RFC 7230 §3.2.6 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parses `Digest name=value, name="quoted", ...` into (name, unescaped value) pairs
/// (RFC 7235 §2.1: auth-scheme, then a comma list of auth-params; empty list elements are
/// allowed by the `#rule` of RFC 7230 §7).
fn parse_params(value: &str) -> Result<Vec<(&str, String)>, DigestError> {
    let trimmed = value.trim_start_matches([' ', '\t']);
    let offset = value.len() - trimmed.len();
    let scheme_end = trimmed.bytes().position(is_ows).unwrap_or(trimmed.len());
    let scheme = trimmed.get(..scheme_end).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest);
    }
    let base = offset + scheme_end;
    let rest = trimmed.get(scheme_end..).unwrap_or_default();
    let b = rest.as_bytes();
    let malformed = |i: usize, what| DigestError::Malformed {
        pos: base + i,
        what,
    };
    let skip_ows = |mut i: usize| {
        while b.get(i).copied().is_some_and(is_ows) {
            i += 1;
        }
        i
    };

    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).copied().is_some_and(|c| is_ows(c) || c == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let name_start = i;
        while b.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        if i == name_start {
            return Err(malformed(i, "expected a parameter name"));
        }
        let name = rest
            .get(name_start..i)
            .ok_or(malformed(i, "expected a parameter name"))?;
        i = skip_ows(i);
        if b.get(i) != Some(&b'=') {
            return Err(malformed(i, "expected '='"));
        }
        i = skip_ows(i + 1);
        let val = if b.get(i) == Some(&b'"') {
            // quoted-string with quoted-pair escapes (RFC 7230 §3.2.6)
            i += 1;
            let mut s = String::new();
            loop {
                let c = rest
                    .get(i..)
                    .and_then(|r| r.chars().next())
                    .ok_or(malformed(i, "unterminated quoted string"))?;
                i += c.len_utf8();
                match c {
                    '"' => break,
                    '\\' => {
                        let e = rest
                            .get(i..)
                            .and_then(|r| r.chars().next())
                            .ok_or(malformed(i, "unterminated quoted string"))?;
                        i += e.len_utf8();
                        s.push(e);
                    }
                    _ => s.push(c),
                }
            }
            s
        } else {
            // token (leniently: anything up to a comma or whitespace, so unquoted nonces with
            // '/' or '=' from sloppy peers still parse)
            let start = i;
            while b
                .get(i)
                .copied()
                .is_some_and(|c| c != b',' && c != b'"' && !is_ows(c))
            {
                i += 1;
            }
            if i == start {
                return Err(malformed(i, "expected a value"));
            }
            rest.get(start..i)
                .ok_or(malformed(i, "expected a value"))?
                .to_owned()
        };
        i = skip_ows(i);
        match b.get(i) {
            None | Some(b',') => {}
            Some(_) => return Err(malformed(i, "expected ','")),
        }
        out.push((name, val));
    }
    Ok(out)
}

/// The value of parameter `name`; an error if it appears more than once.
fn param(params: &[(&str, String)], name: &'static str) -> Result<Option<String>, DigestError> {
    let mut found = params.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let first = found.next();
    if found.next().is_some() {
        return Err(DigestError::DuplicateParam(name));
    }
    Ok(first.map(|(_, v)| v.clone()))
}

fn required(params: &[(&str, String)], name: &'static str) -> Result<String, DigestError> {
    param(params, name)?.ok_or(DigestError::MissingParam(name))
}

/// The `algorithm` parameter; MD5 when absent (RFC 7616 §3.3).
fn algorithm(params: &[(&str, String)]) -> Result<Algorithm, DigestError> {
    match param(params, "algorithm")? {
        None => Ok(Algorithm::Md5),
        Some(name) => Algorithm::from_name(&name)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(name.chars().take(64).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::from_name("md5"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::from_name("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("SHA-256-sess"), None);
        assert_eq!(Algorithm::from_name("SHA-512-256"), None);
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(
            Algorithm::Md5.hash_hex(b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            Algorithm::Sha256.hash_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parameter_syntax() {
        let p = parse_params("  digest a=b,, c = \"x, \\\"y\\\\\" ,d=\"\", e=tok/en=,f=\"ünï\"  ,")
            .unwrap();
        assert_eq!(
            p,
            [
                ("a", "b".to_owned()),
                ("c", "x, \"y\\".to_owned()),
                ("d", String::new()),
                ("e", "tok/en=".to_owned()),
                ("f", "ünï".to_owned())
            ]
        );
        assert_eq!(parse_params("Digest").unwrap(), []);
        assert_eq!(parse_params("Basic a=b"), Err(DigestError::NotDigest));
        assert_eq!(parse_params("Digestive a=b"), Err(DigestError::NotDigest));
        assert_eq!(parse_params(""), Err(DigestError::NotDigest));
        for bad in [
            "Digest a",
            "Digest a=",
            "Digest =b",
            "Digest a=\"b",
            "Digest a=\"b\\",
            "Digest a=b c=d",
            "Digest a=\"b\"c",
        ] {
            assert!(
                matches!(parse_params(bad), Err(DigestError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
