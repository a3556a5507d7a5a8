//! SDP session descriptions (RFC 8866, compatible with RFC 4566) for media anchoring.
//!
//! Why this exists: exp's B2BUA relays the media of every call through the edge, so each SDP
//! offer and answer (RFC 3264) that crosses it must be rewritten: connection addresses and
//! ports point at our relay, `a=rtcp` follows the relay's RTCP port, and ICE candidates (which
//! name the endpoints' own, unreachable addresses) are stripped. Everything else — codecs,
//! crypto, vendor attributes — must pass through untouched.
//!
//! The model is therefore a list of lines kept verbatim and in order; the accessors parse on
//! demand and the setters edit single lines in place, so a description that is not modified
//! serializes back byte for byte (only line ends are normalized to CRLF, RFC 8866 §5). The
//! parser is strict about the few lines the edge acts on (`v=`, `c=`, `m=`), bounds sizes, and
//! never panics: SDP arrives from untrusted peers. It does no I/O.

use std::net::IpAddr;
use std::ops::Range;

/// Largest accepted session description, in bytes.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest accepted line, in bytes, without its line end.
pub const MAX_LINE_BYTES: usize = 4096;
/// Most media sections (`m=` lines) accepted in one description.
pub const MAX_MEDIA: usize = 64;

/// Attributes that belong to ICE (RFC 8839 §5) and Trickle ICE (RFC 8840 §8.1
/// `end-of-candidates`). They describe the endpoint's own transport addresses, which are wrong
/// once the edge anchors the media, so [`SessionDescription::remove_ice`] strips them.
const ICE_ATTRIBUTES: [&str; 9] = [
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "ice-pacing",
    "candidate",
    "remote-candidates",
    "end-of-candidates",
];

/// The four media direction attributes (RFC 8866 §6.7).
const DIRECTION_ATTRIBUTES: [&str; 4] = ["sendrecv", "sendonly", "recvonly", "inactive"];

/// Why a byte string is not an acceptable session description.
///
/// Variants never echo input text: the bytes come from the network and end up in logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The description exceeds [`MAX_SDP_BYTES`].
    #[error("SDP of {len} bytes exceeds {MAX_SDP_BYTES} bytes")]
    TooLarge {
        /// Length of the input.
        len: usize,
    },
    /// The description is not UTF-8. RFC 8866 §5 makes UTF-8 the default character set; other
    /// sets (`a=charset`) are not supported by the edge.
    #[error("SDP is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A line exceeds [`MAX_LINE_BYTES`].
    #[error("SDP line {line} exceeds {MAX_LINE_BYTES} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
    },
    /// A line contains NUL or a CR that does not end it (RFC 8866 §9: `byte-string` excludes
    /// NUL, CR and LF).
    #[error("SDP line {line} contains a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// A line is not `<type>=<value>` with a single-letter type (RFC 8866 §5), or a second
    /// `v=` line appears.
    #[error("SDP line {line} is not of the form x=value")]
    MalformedLine {
        /// 1-based line number.
        line: usize,
    },
    /// The first line is not `v=` (RFC 8866 §5: the description starts with `v=`).
    #[error("SDP does not start with v=")]
    MissingVersion,
    /// `v=` is not `0` (RFC 8866 §5.1).
    #[error("unsupported SDP version (only v=0)")]
    UnsupportedVersion,
    /// An `m=` line is not `<media> <port>[/<count>] <proto> <fmt> ...` (RFC 8866 §5.14).
    #[error("malformed m= line {line}")]
    BadMedia {
        /// 1-based line number.
        line: usize,
    },
    /// A `c=` line is not `IN IP4 <address>` or `IN IP6 <address>` with a literal address
    /// (RFC 8866 §5.7). Host names are refused too: the edge anchors by address.
    #[error("malformed c= line {line}")]
    BadConnection {
        /// 1-based line number.
        line: usize,
    },
    /// More than [`MAX_MEDIA`] media sections.
    #[error("more than {MAX_MEDIA} media sections")]
    TooManyMedia,
}

/// One `<type>=<value>` line (RFC 8866 §5), kept as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The type letter, e.g. `'m'` or `'a'`.
    pub kind: char,
    /// Everything after the `=`, verbatim (without the line end).
    pub value: String,
}

impl Line {
    /// A line of type `kind` with `value`.
    pub fn new(kind: char, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }

    /// For an `a=` line, its attribute name and value: `a=rtcp-mux` gives `("rtcp-mux", None)`
    /// and `a=rtcp:9 IN IP4 0.0.0.0` gives `("rtcp", Some("9 IN IP4 0.0.0.0"))`
    /// (RFC 8866 §5.13). `None` for other line types.
    pub fn attribute(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != 'a' {
            return None;
        }
        Some(match self.value.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (self.value.as_str(), None),
        })
    }

    /// True for an `a=` line whose attribute name is `name` (ASCII case-insensitive; real
    /// stacks write names in lower case, and comparing leniently makes stripping safer).
    fn is_attribute(&self, name: &str) -> bool {
        self.attribute()
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Media direction (RFC 8866 §6.7; offer/answer meaning in RFC 3264 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default when no direction attribute is present (RFC 8866 §6.7.2).
    SendRecv,
    /// `a=sendonly` (RFC 8866 §6.7.3).
    SendOnly,
    /// `a=recvonly` (RFC 8866 §6.7.1).
    RecvOnly,
    /// `a=inactive` (RFC 8866 §6.7.4).
    Inactive,
}

impl Direction {
    /// The attribute name, e.g. `"sendonly"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction named by an attribute name (ASCII case-insensitive).
    pub fn from_attribute(name: &str) -> Option<Self> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(name))
    }

    /// The direction the other side of an offer/answer exchange takes (RFC 3264 §6.1):
    /// sendonly ↔ recvonly, the others unchanged.
    pub fn reversed(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }
}

/// A parsed session description: its lines, verbatim and in order.
///
/// The session section runs from `v=` to the first `m=`; each media section runs from its `m=`
/// to the next (RFC 8866 §5). Media sections are numbered from 0 in order of appearance.
/// Accessors taking a media index return `None`/`false` for an index out of range and setters
/// do nothing then. `lines` is public for edits this API does not cover; the accessors never
/// panic whatever it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// All lines, in order.
    pub lines: Vec<Line>,
}

/// Parsed fields of an `m=` line (RFC 8866 §5.14).
struct MediaLine<'a> {
    media: &'a str,
    port: u16,
    /// Byte range of the port number (without `/count`) within the line value.
    port_span: Range<usize>,
    proto: &'a str,
    fmts: Vec<&'a str>,
}

/// Splits `s` at runs of SP/HTAB, returning each field with its byte offset.
fn fields(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in s.bytes().enumerate() {
        let blank = b == b' ' || b == b'\t';
        match (blank, start) {
            (true, Some(st)) => {
                if let Some(f) = s.get(st..i) {
                    out.push((st, f));
                }
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        if let Some(f) = s.get(st..) {
            out.push((st, f));
        }
    }
    out
}

/// RFC 8866 §9 `token` characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
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
                        | b'{'
                        | b'|'
                        | b'}'
                        | b'~'
                )
        })
}

/// A port number: 1 to 5 ASCII digits fitting in u16.
fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an `m=` value: `<media> <port>[/<number of ports>] <proto> <fmt> ...`
/// (RFC 8866 §5.14). `proto` may contain `/` (e.g. `RTP/AVP`, `UDP/TLS/RTP/SAVPF`).
fn parse_media_line(value: &str) -> Option<MediaLine<'_>> {
    let f = fields(value);
    let (_, media) = *f.first()?;
    let (port_at, port_field) = *f.get(1)?;
    let (_, proto) = *f.get(2)?;
    let fmts: Vec<&str> = f.get(3..)?.iter().map(|&(_, s)| s).collect();
    if !is_token(media) || fmts.is_empty() || !fmts.iter().all(|s| is_token(s)) {
        return None;
    }
    if proto.is_empty() || !proto.split('/').all(is_token) {
        return None;
    }
    let (port_text, count) = match port_field.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port_field, None),
    };
    let port = parse_port(port_text)?;
    if let Some(c) = count {
        parse_port(c)?;
    }
    Some(MediaLine {
        media,
        port,
        port_span: port_at..port_at + port_text.len(),
        proto,
        fmts,
    })
}

/// Parses `<nettype> <addrtype> <address>` as used by `c=` (RFC 8866 §5.7) and `a=rtcp`
/// (RFC 3605 §2.1). Only `IN` with `IP4`/`IP6` and a literal address whose family matches the
/// address type is accepted; multicast suffixes (`/ttl`, `/count`, RFC 8866 §5.7) must be
/// numeric and are ignored.
fn parse_address(nettype: &str, addrtype: &str, address: &str) -> Option<IpAddr> {
    if !nettype.eq_ignore_ascii_case("IN") {
        return None;
    }
    let mut parts = address.split('/');
    let ip: IpAddr = parts.next()?.parse().ok()?;
    let mut suffixes = 0;
    for p in parts {
        suffixes += 1;
        if suffixes > 2 || p.is_empty() || p.len() > 10 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let family_ok = match ip {
        IpAddr::V4(_) => addrtype.eq_ignore_ascii_case("IP4"),
        IpAddr::V6(_) => addrtype.eq_ignore_ascii_case("IP6"),
    };
    family_ok.then_some(ip)
}

/// Parses a `c=` value (RFC 8866 §5.7).
fn parse_connection(value: &str) -> Option<IpAddr> {
    let f = fields(value);
    if f.len() != 3 {
        return None;
    }
    parse_address(f.first()?.1, f.get(1)?.1, f.get(2)?.1)
}

/// `IN IP4 <addr>` / `IN IP6 <addr>`.
fn address_text(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("IN IP4 {a}"),
        IpAddr::V6(a) => format!("IN IP6 {a}"),
    }
}

/// Adds one to a decimal digit string, growing it when every digit is 9 (so the session
/// version of `o=`, which RFC 8866 §5.2 only calls a numeric string, never overflows).
fn increment_decimal(s: &str) -> Option<String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits: Vec<u8> = s.bytes().collect();
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8(digits).ok();
        }
    }
    digits.insert(0, b'1');
    String::from_utf8(digits).ok()
}

impl SessionDescription {
    /// Parses a session description.
    ///
    /// Line ends may be CRLF or bare LF. Empty lines are skipped (not valid SDP, but some stacks
    /// append an extra line end); they are not kept, so they do not survive a round trip. The
    /// first line must be `v=0` (RFC 8866 §5.1). Every `c=` line and every `m=` line is
    /// validated; other lines are kept verbatim without interpretation, including unknown
    /// types and attributes. `o=`, `s=` and `t=` are not required: accessors that need them
    /// return `None`.
    pub fn parse(text: &[u8]) -> Result<Self, SdpError> {
        if text.len() > MAX_SDP_BYTES {
            return Err(SdpError::TooLarge { len: text.len() });
        }
        let text = std::str::from_utf8(text).map_err(|e| SdpError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let mut lines: Vec<Line> = Vec::new();
        let mut media_count = 0usize;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            if line.len() > MAX_LINE_BYTES {
                return Err(SdpError::LineTooLong { line: number });
            }
            if line.bytes().any(|b| b == b'\r' || b == 0) {
                return Err(SdpError::ControlCharacter { line: number });
            }
            let mut chars = line.chars();
            let kind = chars.next().unwrap_or('\0');
            let value = match (kind.is_ascii_alphabetic(), chars.next()) {
                (true, Some('=')) => chars.as_str(),
                _ if lines.is_empty() => return Err(SdpError::MissingVersion),
                _ => return Err(SdpError::MalformedLine { line: number }),
            };
            if lines.is_empty() {
                if kind != 'v' {
                    return Err(SdpError::MissingVersion);
                }
                if value.trim() != "0" {
                    return Err(SdpError::UnsupportedVersion);
                }
            } else {
                match kind {
                    'v' => return Err(SdpError::MalformedLine { line: number }),
                    'c' if parse_connection(value).is_none() => {
                        return Err(SdpError::BadConnection { line: number })
                    }
                    'm' => {
                        if parse_media_line(value).is_none() {
                            return Err(SdpError::BadMedia { line: number });
                        }
                        media_count += 1;
                        if media_count > MAX_MEDIA {
                            return Err(SdpError::TooManyMedia);
                        }
                    }
                    _ => {}
                }
            }
            lines.push(Line::new(kind, value));
        }
        if lines.is_empty() {
            return Err(SdpError::MissingVersion);
        }
        Ok(Self { lines })
    }

    /// Serializes with CRLF line ends (RFC 8866 §5). CR, LF and NUL inside a value (possible
    /// only through hand edits of `lines`) are written as SP so no line can inject others.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.value.len() + 4).sum());
        let mut buf = [0u8; 4];
        for line in &self.lines {
            out.extend_from_slice(line.kind.encode_utf8(&mut buf).as_bytes());
            out.push(b'=');
            out.extend(line.value.bytes().map(|b| match b {
                b'\r' | b'\n' | 0 => b' ',
                other => other,
            }));
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    // -- structure ------------------------------------------------------------------------------

    /// Indexes of the `m=` lines.
    fn media_starts(&self) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == 'm')
            .map(|(i, _)| i)
            .collect()
    }

    /// Line range of the session section (up to the first `m=`).
    fn session_range(&self) -> Range<usize> {
        let end = self
            .lines
            .iter()
            .position(|l| l.kind == 'm')
            .unwrap_or(self.lines.len());
        0..end
    }

    /// Line range of media section `i`, its `m=` line included.
    fn media_range(&self, i: usize) -> Option<Range<usize>> {
        let starts = self.media_starts();
        let start = *starts.get(i)?;
        let end = starts.get(i + 1).copied().unwrap_or(self.lines.len());
        Some(start..end)
    }

    fn lines_in(&self, range: Range<usize>) -> impl Iterator<Item = (usize, &Line)> {
        let start = range.start;
        self.lines
            .get(range)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(k, l)| (start + k, l))
    }

    fn media_line(&self, i: usize) -> Option<MediaLine<'_>> {
        let range = self.media_range(i)?;
        parse_media_line(&self.lines.get(range.start)?.value)
    }

    /// First attribute `name` within `range`: its value (`""` for a property attribute).
    fn attribute_in(&self, range: Range<usize>, name: &str) -> Option<&str> {
        self.lines_in(range).find_map(|(_, l)| match l.attribute() {
            Some((n, v)) if n.eq_ignore_ascii_case(name) => Some(v.unwrap_or("")),
            _ => None,
        })
    }

    /// Number of media sections.
    pub fn media_count(&self) -> usize {
        self.lines.iter().filter(|l| l.kind == 'm').count()
    }

    // -- m= -------------------------------------------------------------------------------------

    /// The media type of section `i` (`audio`, `video`, `application`, ...).
    pub fn media_kind(&self, i: usize) -> Option<&str> {
        self.media_line(i).map(|m| m.media)
    }

    /// The transport protocol of section `i` (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, ...).
    pub fn media_proto(&self, i: usize) -> Option<&str> {
        self.media_line(i).map(|m| m.proto)
    }

    /// The media formats of section `i` (RTP payload types for RTP profiles).
    pub fn media_formats(&self, i: usize) -> Vec<&str> {
        self.media_line(i).map(|m| m.fmts).unwrap_or_default()
    }

    /// The transport port of section `i`.
    pub fn media_port(&self, i: usize) -> Option<u16> {
        self.media_line(i).map(|m| m.port)
    }

    /// True when section `i` has port 0: a stream rejected in an answer or disabled in an offer
    /// (RFC 3264 §5.1, §6, §8.2). The B2BUA leaves such streams at port 0.
    pub fn media_disabled(&self, i: usize) -> bool {
        self.media_port(i) == Some(0)
    }

    /// Sets the port of section `i`, keeping a `/count` suffix and every other field as is.
    ///
    /// The port is set unconditionally, 0 included: check [`Self::media_disabled`] first to
    /// leave rejected streams alone.
    pub fn set_media_port(&mut self, i: usize, port: u16) {
        let Some(range) = self.media_range(i) else {
            return;
        };
        let Some(line) = self.lines.get_mut(range.start) else {
            return;
        };
        let Some(span) = parse_media_line(&line.value).map(|m| m.port_span) else {
            return;
        };
        if let (Some(before), Some(after)) =
            (line.value.get(..span.start), line.value.get(span.end..))
        {
            line.value = format!("{before}{port}{after}");
        }
    }

    // -- c= and o= ------------------------------------------------------------------------------

    /// The session-level connection address (RFC 8866 §5.7).
    pub fn session_connection(&self) -> Option<IpAddr> {
        self.lines_in(self.session_range())
            .find(|(_, l)| l.kind == 'c')
            .and_then(|(_, l)| parse_connection(&l.value))
    }

    /// The connection address that applies to section `i`: its own `c=` if it has one, else the
    /// session-level one (RFC 8866 §5.7).
    pub fn media_connection(&self, i: usize) -> Option<IpAddr> {
        let range = self.media_range(i)?;
        match self.lines_in(range).find(|(_, l)| l.kind == 'c') {
            Some((_, l)) => parse_connection(&l.value),
            None => self.session_connection(),
        }
    }

    /// Replaces the first `c=` line in `range` by `value` and removes further ones; inserts one
    /// at `insert_at` when there is none.
    fn put_connection(&mut self, range: Range<usize>, insert_at: usize, value: String) {
        let found: Vec<usize> = self
            .lines_in(range)
            .filter(|(_, l)| l.kind == 'c')
            .map(|(k, _)| k)
            .collect();
        match found.split_first() {
            Some((&first, rest)) => {
                for &k in rest.iter().rev() {
                    if k < self.lines.len() {
                        self.lines.remove(k);
                    }
                }
                if let Some(line) = self.lines.get_mut(first) {
                    line.value = value;
                }
            }
            None => {
                let at = insert_at.min(self.lines.len());
                self.lines.insert(at, Line::new('c', value));
            }
        }
    }

    /// Sets section `i`'s own `c=` to `IN IP4|IP6 addr` (replacing any, or adding one after the
    /// `m=` and `i=` lines, the order of RFC 8866 §5). Multicast `/ttl` suffixes are dropped:
    /// the relay address is unicast.
    ///
    /// Once every media section has its own `c=`, a session-level `c=` no longer applies to
    /// anything (RFC 8866 §5.7); it is then rewritten to `addr` too so the description does not
    /// keep advertising the endpoint's address.
    pub fn set_connection(&mut self, i: usize, addr: IpAddr) {
        let Some(range) = self.media_range(i) else {
            return;
        };
        let insert_at = self
            .lines_in(range.start + 1..range.end)
            .find(|(_, l)| l.kind != 'i')
            .map(|(k, _)| k)
            .unwrap_or(range.end);
        self.put_connection(range, insert_at, address_text(addr));
        let all_have_own = (0..self.media_count()).all(|m| {
            self.media_range(m)
                .is_some_and(|r| self.lines_in(r).any(|(_, l)| l.kind == 'c'))
        });
        let session_has = self
            .lines_in(self.session_range())
            .any(|(_, l)| l.kind == 'c');
        if all_have_own && session_has {
            self.set_session_connection(addr);
        }
    }

    /// Sets the session-level `c=` (replacing any, or adding one before the first `b=`, `t=`,
    /// `r=`, `z=`, `k=`, `a=` line, the order of RFC 8866 §5).
    pub fn set_session_connection(&mut self, addr: IpAddr) {
        let range = self.session_range();
        let insert_at = self
            .lines_in(range.clone())
            .find(|(_, l)| matches!(l.kind, 'b' | 't' | 'r' | 'z' | 'k' | 'a'))
            .map(|(k, _)| k)
            .unwrap_or(range.end);
        self.put_connection(range, insert_at, address_text(addr));
    }

    /// Index of the session-level `o=` line when it has its six fields (RFC 8866 §5.2).
    fn origin_index(&self) -> Option<usize> {
        self.lines_in(self.session_range())
            .find(|(_, l)| l.kind == 'o')
            .filter(|(_, l)| fields(&l.value).len() == 6)
            .map(|(k, _)| k)
    }

    /// The unicast address of `o=` (RFC 8866 §5.2), when it is a literal IP address.
    pub fn origin_address(&self) -> Option<IpAddr> {
        let line = self.lines.get(self.origin_index()?)?;
        let f = fields(&line.value);
        parse_address(f.get(3)?.1, f.get(4)?.1, f.get(5)?.1)
    }

    /// The session version of `o=` (RFC 8866 §5.2), as written.
    pub fn session_version(&self) -> Option<&str> {
        let line = self.lines.get(self.origin_index()?)?;
        let version = line.value.split_ascii_whitespace().nth(2)?;
        Some(version)
    }

    /// Rewrites `o=`'s network type, address type and unicast address to `IN IP4|IP6 addr`
    /// (RFC 8866 §5.2), keeping username, session id and version. Does nothing when `o=` is
    /// missing or lacks its six fields.
    pub fn set_origin_address(&mut self, addr: IpAddr) {
        let Some(k) = self.origin_index() else {
            return;
        };
        if let Some(line) = self.lines.get_mut(k) {
            let f = fields(&line.value);
            if let [(_, user), (_, id), (_, version), ..] = f.as_slice() {
                line.value = format!("{user} {id} {version} {}", address_text(addr));
            }
        }
    }

    /// Adds one to `o=`'s session version, as RFC 3264 §8 requires for each modified offer or
    /// answer within a session. Digit strings of any length are handled (`99` → `100`). Does
    /// nothing when `o=` is missing, lacks its six fields, or its version is not decimal.
    pub fn bump_version(&mut self) {
        let Some(k) = self.origin_index() else {
            return;
        };
        if let Some(line) = self.lines.get_mut(k) {
            let f = fields(&line.value);
            let Some(&(at, version)) = f.get(2) else {
                return;
            };
            let Some(next) = increment_decimal(version) else {
                return;
            };
            let end = at + version.len();
            if let (Some(before), Some(after)) = (line.value.get(..at), line.value.get(end..)) {
                line.value = format!("{before}{next}{after}");
            }
        }
    }

    // -- attributes -----------------------------------------------------------------------------

    /// The first media-level attribute `name` of section `i`: its value, or `""` for a property
    /// attribute such as `a=rtcp-mux` (RFC 8866 §5.13). Names compare ASCII case-insensitively.
    pub fn attribute(&self, i: usize, name: &str) -> Option<&str> {
        self.attribute_in(self.media_range(i)?, name)
    }

    /// The first session-level attribute `name` (see [`Self::attribute`]).
    pub fn session_attribute(&self, name: &str) -> Option<&str> {
        self.attribute_in(self.session_range(), name)
    }

    /// Makes section `i` carry exactly one `a=name` (`value` `None`) or `a=name:value`: the first
    /// existing one is replaced in place and later ones removed, or the line is appended at the
    /// end of the section. Attributes that legitimately repeat (`rtpmap`, `fmtp`, `candidate`)
    /// should be edited through `lines` instead.
    pub fn set_attribute(&mut self, i: usize, name: &str, value: Option<&str>) {
        let Some(range) = self.media_range(i) else {
            return;
        };
        let text = match value {
            Some(v) => format!("{name}:{v}"),
            None => name.to_owned(),
        };
        let found: Vec<usize> = self
            .lines_in(range.clone())
            .filter(|(_, l)| l.is_attribute(name))
            .map(|(k, _)| k)
            .collect();
        match found.split_first() {
            Some((&first, rest)) => {
                for &k in rest.iter().rev() {
                    if k < self.lines.len() {
                        self.lines.remove(k);
                    }
                }
                if let Some(line) = self.lines.get_mut(first) {
                    line.value = text;
                }
            }
            None => {
                let at = range.end.min(self.lines.len());
                self.lines.insert(at, Line::new('a', text));
            }
        }
    }

    /// Removes every media-level attribute `name` of section `i`.
    pub fn remove_attribute(&mut self, i: usize, name: &str) {
        let Some(range) = self.media_range(i) else {
            return;
        };
        let mut index = 0;
        self.lines.retain(|l| {
            let keep = !(range.contains(&index) && l.is_attribute(name));
            index += 1;
            keep
        });
    }

    /// True when section `i` has `a=rtcp-mux` (RFC 5761 §5.1.1: RTP and RTCP share one port).
    pub fn rtcp_mux(&self, i: usize) -> bool {
        self.attribute(i, "rtcp-mux").is_some()
    }

    /// Adds or removes `a=rtcp-mux` in section `i` (RFC 5761 §5.1.1).
    pub fn set_rtcp_mux(&mut self, i: usize, on: bool) {
        if on {
            self.set_attribute(i, "rtcp-mux", None);
        } else {
            self.remove_attribute(i, "rtcp-mux");
        }
    }

    /// Section `i`'s `a=rtcp:<port> [IN IP4|IP6 <address>]` (RFC 3605 §2.1): the RTCP port and,
    /// when given, address. `None` when absent or malformed.
    pub fn rtcp_attr(&self, i: usize) -> Option<(u16, Option<IpAddr>)> {
        let value = self.attribute(i, "rtcp")?;
        let f = fields(value);
        let port = parse_port(f.first()?.1)?;
        match f.as_slice() {
            [_] => Some((port, None)),
            [_, (_, net), (_, kind), (_, addr)] => {
                Some((port, Some(parse_address(net, kind, addr)?)))
            }
            _ => None,
        }
    }

    /// Sets section `i`'s `a=rtcp` (RFC 3605 §2.1) to `port`, with `IN IP4|IP6 addr` when
    /// `addr` is given.
    pub fn set_rtcp_attr(&mut self, i: usize, port: u16, addr: Option<IpAddr>) {
        let value = match addr {
            Some(a) => format!("{port} {}", address_text(a)),
            None => port.to_string(),
        };
        self.set_attribute(i, "rtcp", Some(&value));
    }

    /// Removes section `i`'s `a=rtcp` (RFC 3605).
    pub fn remove_rtcp_attr(&mut self, i: usize) {
        self.remove_attribute(i, "rtcp");
    }

    /// The direction of section `i`: its own direction attribute, else the session-level one,
    /// else sendrecv (RFC 8866 §6.7). An index out of range gives the session-level direction.
    pub fn direction(&self, i: usize) -> Direction {
        let find = |range: Range<usize>| {
            self.lines_in(range).find_map(|(_, l)| match l.attribute() {
                Some((name, None)) => Direction::from_attribute(name),
                _ => None,
            })
        };
        self.media_range(i)
            .and_then(find)
            .or_else(|| find(self.session_range()))
            .unwrap_or(Direction::SendRecv)
    }

    /// Sets section `i`'s direction: removes its direction attributes and appends
    /// `a=<direction>` (RFC 8866 §6.7). Session-level attributes are left alone; the
    /// media-level one overrides them.
    pub fn set_direction(&mut self, i: usize, direction: Direction) {
        for name in DIRECTION_ATTRIBUTES {
            self.remove_attribute(i, name);
        }
        self.set_attribute(i, direction.as_str(), None);
    }

    /// True when section `i` or the session level carries ICE: `a=ice-ufrag` or `a=candidate`
    /// (RFC 8839 §5.1, §5.4).
    pub fn has_ice(&self, i: usize) -> bool {
        let Some(range) = self.media_range(i) else {
            return false;
        };
        let has = |r: Range<usize>| {
            self.lines_in(r)
                .any(|(_, l)| l.is_attribute("ice-ufrag") || l.is_attribute("candidate"))
        };
        has(range) || has(self.session_range())
    }

    /// Strips every ICE attribute at both levels: `ice-ufrag`, `ice-pwd`, `ice-options`,
    /// `ice-lite`, `ice-mismatch`, `ice-pacing`, `candidate`, `remote-candidates` (RFC 8839 §5)
    /// and `end-of-candidates` (RFC 8840). The edge anchors the media, so the endpoints'
    /// candidates name addresses the far side must not use.
    pub fn remove_ice(&mut self) {
        self.lines
            .retain(|l| !ICE_ATTRIBUTES.iter().any(|name| l.is_attribute(name)));
    }
}
