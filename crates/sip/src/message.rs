//! SIP message model and codec (RFC 3261 §7 message format, §20 header fields).
//!
//! Why this exists: exp relays SIP between the LAN and the DMZ, and every byte it parses comes
//! from an untrusted network. The edge therefore needs its own strict, panic-free parser that
//! rejects anything ambiguous (bad start lines, conflicting `Content-Length`, raw control
//! characters that could smuggle extra header lines) and a canonical serializer that always
//! writes a correct `Content-Length`. The module is sans-IO: it only converts between bytes and
//! values; stream framing lives in [`crate::framer`].

use std::fmt::Write as _;

/// Why a byte string is not an acceptable SIP message.
///
/// Variants never echo input text: the bytes come from the network and end up in logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is empty or contains only line ends.
    #[error("empty input")]
    Empty,
    /// The empty line that ends the header section (RFC 3261 §7) was not found.
    #[error("no empty line terminating the header section")]
    MissingEmptyLine,
    /// The start line or a header line is not valid UTF-8 (RFC 3261 §7.3.1, TEXT-UTF8).
    #[error("header section is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte within the header section.
        offset: usize,
    },
    /// A raw control character (other than horizontal tab) appears in the start line or a
    /// header line. RFC 3261 §25.1 grammar never allows one there unescaped; accepting a stray
    /// CR would let a peer smuggle header lines past the edge.
    #[error("control character in line {line}")]
    ControlCharacter {
        /// 1-based line number within the message.
        line: usize,
    },
    /// The start line is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2).
    #[error("bad start line: {0}")]
    BadStartLine(&'static str),
    /// The SIP-Version is not `SIP/2.0` (RFC 3261 §7.1).
    #[error("unsupported SIP version (only SIP/2.0 is accepted)")]
    UnsupportedVersion,
    /// The Status-Code is three digits but outside 100..=699 (RFC 3261 §7.2, §21).
    #[error("status code {0} outside 100..=699")]
    StatusOutOfRange(u16),
    /// A header line has no `:` (RFC 3261 §7.3.1).
    #[error("header line {line} has no ':'")]
    HeaderWithoutColon {
        /// 1-based line number within the message.
        line: usize,
    },
    /// A header name is empty or not a token (RFC 3261 §25.1).
    #[error("header line {line} has an invalid name")]
    BadHeaderName {
        /// 1-based line number within the message.
        line: usize,
    },
    /// A continuation line (starting with SP or HTAB, RFC 3261 §7.3.1) precedes every header.
    #[error("continuation line {line} with no header before it")]
    OrphanContinuation {
        /// 1-based line number within the message.
        line: usize,
    },
    /// `Content-Length` is not a decimal number (RFC 3261 §20.14: `1*DIGIT`).
    #[error("Content-Length is not a decimal number")]
    BadContentLength,
    /// Several `Content-Length` headers carry different values.
    #[error("several Content-Length headers disagree")]
    ConflictingContentLength,
    /// `Content-Length` differs from the number of body bytes present.
    #[error("Content-Length {declared} does not match body length {actual}")]
    ContentLengthMismatch {
        /// Value of the `Content-Length` header.
        declared: usize,
        /// Number of bytes after the empty line.
        actual: usize,
    },
}

/// Compact header forms: RFC 3261 §7.3.3 / §20 (i, m, e, l, c, f, s, k, t, v), RFC 6665 §8.2.1
/// (u Allow-Events, o Event), RFC 3515 §2.1 (r Refer-To), RFC 3892 §3 (b Referred-By),
/// RFC 4028 §4 (x Session-Expires).
const COMPACT_FORMS: [(&str, &str); 15] = [
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("s", "Subject"),
    ("k", "Supported"),
    ("t", "To"),
    ("v", "Via"),
    ("u", "Allow-Events"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("b", "Referred-By"),
    ("x", "Session-Expires"),
];

/// Maps a compact form to its long name; other names are returned unchanged.
fn expand_name(name: &str) -> &str {
    if name.len() == 1 {
        for (short, long) in COMPACT_FORMS {
            if short.eq_ignore_ascii_case(name) {
                return long;
            }
        }
    }
    name
}

/// True when two header names denote the same header: names compare case-insensitively
/// (RFC 3261 §7.3.1) and a compact form equals its long form (RFC 3261 §7.3.3).
pub fn header_names_eq(a: &str, b: &str) -> bool {
    expand_name(a.trim()).eq_ignore_ascii_case(expand_name(b.trim()))
}

/// The header fields of a message, in wire order, with names as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Value of the first header called `name` (case-insensitive, compact forms equivalent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Values of every header called `name`, in order. A line carrying a comma-separated list
    /// is one item; see [`Headers::values`] to split lists.
    pub fn get_all<'a, 'b>(&'a self, name: &'b str) -> impl Iterator<Item = &'a str> + use<'a, 'b> {
        // The asked-for name is expanded once, not once per header (this runs for every
        // header lookup of every message).
        let want = expand_name(name.trim());
        self.0
            .iter()
            .filter(move |(n, _)| expand_name(n.trim()).eq_ignore_ascii_case(want))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the list-valued header `name` (RFC 3261 §7.3.1: `field: a, b` equals two
    /// lines `field: a` and `field: b`), split with [`split_values`]. Only meaningful for
    /// headers whose grammar is a comma-separated list (Via, Contact, Route, Supported, ...).
    pub fn values<'a, 'b>(&'a self, name: &'b str) -> impl Iterator<Item = &'a str> + use<'a, 'b> {
        self.get_all(name).flat_map(split_values)
    }

    /// Appends a header at the end.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Replaces every header called `name` by one header with `value`, at the position of the
    /// first occurrence (or at the end when absent).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|(n, _)| header_names_eq(n, name)) {
            Some(first) => {
                let mut index = 0;
                self.0.retain(|(n, _)| {
                    let keep = index <= first || !header_names_eq(n, name);
                    index += 1;
                    keep
                });
                if let Some(slot) = self.0.get_mut(first) {
                    *slot = (name.to_owned(), value);
                }
            }
            None => self.push(name, value),
        }
    }

    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !header_names_eq(n, name));
    }

    /// All headers as `(name, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A SIP request (RFC 3261 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method token, e.g. `INVITE` (case-sensitive, RFC 3261 §7.1).
    pub method: String,
    /// Request-URI as written on the wire.
    pub uri: String,
    /// Header fields.
    pub headers: Headers,
    /// Message body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: &str, uri: &str) -> Self {
        Self {
            method: method.to_owned(),
            uri: uri.to_owned(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }
}

/// A SIP response (RFC 3261 §7.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status-Code, 100..=699 for anything that parses back.
    pub status: u16,
    /// Reason-Phrase (may be empty).
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
    /// Message body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with no headers and an empty body.
    pub fn new(status: u16, reason: &str) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// A response to `req` per RFC 3261 §8.2.6.2: copies Via (all, in order), From, To (adds
    /// `;tag=<to_tag>` if given and To has no tag), Call-ID, CSeq.
    pub fn for_request(req: &Request, status: u16, reason: &str, to_tag: Option<&str>) -> Self {
        let mut resp = Response::new(status, reason);
        for via in req.headers.get_all("Via") {
            resp.headers.push("Via", via);
        }
        if let Some(from) = req.headers.get("From") {
            resp.headers.push("From", from);
        }
        if let Some(to) = req.headers.get("To") {
            let mut to = to.to_owned();
            if let Some(tag) = to_tag {
                if header_param(&to, "tag").is_none() {
                    to.push_str(";tag=");
                    to.push_str(tag);
                }
            }
            resp.headers.push("To", to);
        }
        if let Some(call_id) = req.headers.get("Call-ID") {
            resp.headers.push("Call-ID", call_id);
        }
        if let Some(cseq) = req.headers.get("CSeq") {
            resp.headers.push("CSeq", cseq);
        }
        resp
    }
}

/// A SIP message: request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one complete message: start line, headers, empty line, body.
    ///
    /// The body is `Content-Length` bytes when that header is present (and must then be exactly
    /// the rest of the input), otherwise the rest of the input. Line ends may be CRLF or bare LF;
    /// CRLFs before the start line are ignored (RFC 3261 §7.5); continuation lines are unfolded
    /// to a single SP (RFC 3261 §7.3.1).
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let first = bytes
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .ok_or(ParseError::Empty)?;
        let rest = bytes.get(first..).ok_or(ParseError::Empty)?;
        let body_start = match find_header_end(rest, 0) {
            HeaderEnd::Found(n) => n,
            HeaderEnd::Pending(_) => return Err(ParseError::MissingEmptyLine),
        };
        let head_bytes = rest.get(..body_start).ok_or(ParseError::MissingEmptyLine)?;
        let body = rest.get(body_start..).ok_or(ParseError::MissingEmptyLine)?;
        let head = parse_head(head_bytes)?;
        if let Some(declared) = head.content_length {
            if declared != body.len() {
                return Err(ParseError::ContentLengthMismatch {
                    declared,
                    actual: body.len(),
                });
            }
        }
        Ok(head.into_message(body.to_vec()))
    }

    /// Canonical serialization: CRLF line ends, `Name: value` headers in order, and a
    /// `Content-Length` equal to the body length written last (any existing one, long or
    /// compact, is dropped). CR and LF inside names, values, method, URI or reason are replaced
    /// by SP so that no field can inject extra lines. Fields are not otherwise validated: a
    /// message built by hand with, say, a space in its URI serializes but will not parse back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (headers, body) = match self {
            Message::Request(r) => (&r.headers, &r.body),
            Message::Response(r) => (&r.headers, &r.body),
        };
        let mut out = Vec::with_capacity(256 + body.len());
        match self {
            Message::Request(r) => {
                push_clean(&mut out, &r.method);
                out.push(b' ');
                push_clean(&mut out, &r.uri);
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            Message::Response(r) => {
                let mut line = String::new();
                let _ = write!(line, "SIP/2.0 {:03} ", r.status);
                out.extend_from_slice(line.as_bytes());
                push_clean(&mut out, &r.reason);
                out.extend_from_slice(b"\r\n");
            }
        }
        for (name, value) in headers.iter() {
            if header_names_eq(name, "Content-Length") {
                continue;
            }
            push_clean(&mut out, name);
            out.extend_from_slice(b": ");
            push_clean(&mut out, value);
            out.extend_from_slice(b"\r\n");
        }
        let mut cl = String::new();
        let _ = write!(cl, "Content-Length: {}\r\n\r\n", body.len());
        out.extend_from_slice(cl.as_bytes());
        out.extend_from_slice(body);
        out
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The header fields, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The Call-ID header value (RFC 3261 §20.8).
    pub fn call_id(&self) -> Option<&str> {
        self.headers().get("Call-ID")
    }

    /// The CSeq header parsed as `(sequence number, method)` (RFC 3261 §20.16); `None` when
    /// absent or malformed.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        cseq_value(self.headers().get("CSeq")?)
    }
}

/// The CSeq of `headers` as `(sequence number, method)`, the method owned.
pub fn parse_cseq(headers: &Headers) -> Option<(u32, String)> {
    cseq_value(headers.get("CSeq")?).map(|(n, m)| (n, m.to_string()))
}

/// Parses a CSeq header value (RFC 3261 §20.16).
fn cseq_value(value: &str) -> Option<(u32, &str)> {
    let mut parts = value.split_whitespace();
    let seq = parts.next()?;
    let method = parts.next()?;
    if parts.next().is_some() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((seq.parse().ok()?, method))
}

/// Appends `s`, replacing CR and LF by SP.
fn push_clean(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// Result of searching a buffer for the end of a header section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderEnd {
    /// The header section (including its terminating empty line) is this many bytes long.
    Found(usize),
    /// Not found yet; resume the search at this offset once more bytes arrive.
    Pending(usize),
}

/// Searches `buf` from `from` for a line end followed by an empty line (`\n\r\n` or `\n\n`, so
/// CRLF and bare-LF line ends both work). The returned resume offset never skips a position
/// that could still start the terminator, so a caller can search incrementally.
pub(crate) fn find_header_end(buf: &[u8], from: usize) -> HeaderEnd {
    let mut i = from;
    while let Some(rel) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let nl = i + rel;
        match buf.get(nl + 1) {
            None => return HeaderEnd::Pending(nl),
            Some(b'\n') => return HeaderEnd::Found(nl + 2),
            Some(b'\r') => match buf.get(nl + 2) {
                None => return HeaderEnd::Pending(nl),
                Some(b'\n') => return HeaderEnd::Found(nl + 3),
                Some(_) => {}
            },
            Some(_) => {}
        }
        i = nl + 1;
    }
    HeaderEnd::Pending(buf.len().max(from))
}

/// Start line of a message.
#[derive(Debug)]
enum StartLine {
    Request { method: String, uri: String },
    Response { status: u16, reason: String },
}

/// The parsed header section of a message, waiting for its body.
#[derive(Debug)]
pub(crate) struct Head {
    start: StartLine,
    headers: Headers,
    /// Validated Content-Length, when present.
    pub(crate) content_length: Option<usize>,
}

impl Head {
    /// Completes the message with its body.
    pub(crate) fn into_message(self, body: Vec<u8>) -> Message {
        match self.start {
            StartLine::Request { method, uri } => Message::Request(Request {
                method,
                uri,
                headers: self.headers,
                body,
            }),
            StartLine::Response { status, reason } => Message::Response(Response {
                status,
                reason,
                headers: self.headers,
                body,
            }),
        }
    }
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

fn check_controls(line: &str, number: usize) -> Result<(), ParseError> {
    if line.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::ControlCharacter { line: number });
    }
    Ok(())
}

/// Checks the SIP-Version token (RFC 3261 §7.1; the literal "SIP" is case-insensitive as all
/// ABNF string literals are).
fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        Ok(())
    } else if v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) {
        Err(ParseError::UnsupportedVersion)
    } else {
        Err(ParseError::BadStartLine("missing SIP version"))
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        check_version(version)?;
        let code = parts
            .next()
            .ok_or(ParseError::BadStartLine("missing status code"))?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStartLine("status code is not three digits"));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| ParseError::BadStartLine("status code is not three digits"))?;
        if !(100..=699).contains(&status) {
            return Err(ParseError::StatusOutOfRange(status));
        }
        // Leniency: a missing SP + empty Reason-Phrase is accepted.
        let reason = parts.next().unwrap_or_default().to_owned();
        Ok(StartLine::Response { status, reason })
    } else {
        // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1)
        let mut parts = line.splitn(3, ' ');
        let method = parts.next().unwrap_or_default();
        if method.is_empty() || !method.bytes().all(is_token_byte) {
            return Err(ParseError::BadStartLine("method is not a token"));
        }
        let uri = parts
            .next()
            .filter(|u| !u.is_empty())
            .ok_or(ParseError::BadStartLine("missing Request-URI"))?;
        let version = parts
            .next()
            .ok_or(ParseError::BadStartLine("missing SIP version"))?;
        if version.contains(' ') {
            return Err(ParseError::BadStartLine("extra fields after SIP version"));
        }
        check_version(version)?;
        Ok(StartLine::Request {
            method: method.to_owned(),
            uri: uri.to_owned(),
        })
    }
}

fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadContentLength);
    }
    v.parse().map_err(|_| ParseError::BadContentLength)
}

/// Parses a header section (start line, header lines, up to the first empty line).
pub(crate) fn parse_head(bytes: &[u8]) -> Result<Head, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    // RFC 3261 §7.5: ignore empty lines before the start line.
    let (start_number, start_text) = loop {
        match lines.next() {
            None => return Err(ParseError::Empty),
            Some((_, "")) => continue,
            Some(found) => break found,
        }
    };
    check_controls(start_text, start_number)?;
    let start = parse_start_line(start_text)?;

    let mut headers = Headers::new();
    for (number, line) in lines {
        if line.is_empty() {
            break;
        }
        check_controls(line, number)?;
        if line.starts_with([' ', '\t']) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header;
            // the folding is equivalent to a single SP.
            let last = headers
                .0
                .last_mut()
                .ok_or(ParseError::OrphanContinuation { line: number })?;
            let more = line.trim_matches([' ', '\t']);
            if !more.is_empty() {
                if !last.1.is_empty() {
                    last.1.push(' ');
                }
                last.1.push_str(more);
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ParseError::HeaderWithoutColon { line: number })?;
        // HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 §25.1)
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ParseError::BadHeaderName { line: number });
        }
        headers.push(name, value.trim_matches([' ', '\t']));
    }

    let mut content_length = None;
    for value in headers.get_all("Content-Length") {
        let n = parse_content_length(value)?;
        match content_length {
            Some(previous) if previous != n => return Err(ParseError::ConflictingContentLength),
            _ => content_length = Some(n),
        }
    }
    Ok(Head {
        start,
        headers,
        content_length,
    })
}

/// Splits `s` at `sep` bytes that are outside double-quoted strings (with backslash escapes,
/// RFC 3261 §25.1 quoted-pair) and outside `<...>` URIs.
struct SplitOutside<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> SplitOutside<'a> {
    fn new(s: &'a str, sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitOutside<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        #[derive(PartialEq)]
        enum State {
            Plain,
            Quoted,
            Escaped,
            Angle,
        }
        let mut state = State::Plain;
        for (i, b) in s.bytes().enumerate() {
            state = match state {
                State::Escaped => State::Quoted,
                State::Quoted if b == b'\\' => State::Escaped,
                State::Quoted if b == b'"' => State::Plain,
                State::Quoted => State::Quoted,
                State::Angle if b == b'>' => State::Plain,
                State::Angle => State::Angle,
                State::Plain if b == b'"' => State::Quoted,
                State::Plain if b == b'<' => State::Angle,
                State::Plain if b == self.sep => {
                    // `sep` is ASCII, so both slices fall on character boundaries.
                    self.rest = s.get(i + 1..);
                    return s.get(..i);
                }
                State::Plain => State::Plain,
            };
        }
        self.rest = None;
        Some(s)
    }
}

/// Splits a list-valued header value at top-level commas (not inside quotes or `<...>`),
/// trimming whitespace and dropping empty elements (RFC 3261 §7.3.1).
pub fn split_values(value: &str) -> impl Iterator<Item = &str> {
    SplitOutside::new(value, b',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The value of the header parameter `;name=value` (name case-insensitive), e.g. `tag` of a
/// From/To value or `branch` of a Via (RFC 3261 §20.10, §20.42). Surrounding double quotes are
/// removed (escapes are left as they are); a parameter without `=` (e.g. `lr`, `rport`) yields
/// `Some("")`. Parameters inside `<...>` belong to the URI and are not considered, and only the
/// first element of a comma-separated list is examined.
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let first = SplitOutside::new(value, b',').next()?;
    let mut parts = SplitOutside::new(first, b';');
    parts.next()?; // the value proper: name-addr / addr-spec / sent-protocol sent-by
    let name = name.trim();
    for part in parts {
        let (key, val) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (part.trim(), ""),
        };
        if key.eq_ignore_ascii_case(name) {
            let unquoted = val
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(val);
            return Some(unquoted);
        }
    }
    None
}

/// The URI of a From/To/Contact-style value (RFC 3261 §20.10): the text inside `<...>` for a
/// name-addr, otherwise the addr-spec before the first `;` (whose parameters are header
/// parameters). Only the first element of a comma-separated list is examined. `None` when
/// empty or when `<` has no closing `>`.
pub fn uri_of(value: &str) -> Option<&str> {
    let first = SplitOutside::new(value, b',').next()?;
    // Find a '<' outside the quoted display name.
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, b) in first.bytes().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' => {
                let inner = first.get(i + 1..)?;
                let end = inner.find('>')?;
                let uri = inner.get(..end)?.trim();
                return (!uri.is_empty()).then_some(uri);
            }
            _ => {}
        }
    }
    let bare = first.split(';').next()?.trim();
    (!bare.is_empty() && !bare.starts_with('"')).then_some(bare)
}

/// The usual Reason-Phrase of a status code (RFC 3261 §21 and extensions); `"Unknown"` for
/// codes not listed.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        429 => "Provide Referrer Identity",
        430 => "Flow Failed",
        439 => "First Hop Lacks Outbound Support",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
        Max-Forwards: 70\r\n\
        From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        Call-ID: 3848276298220188511@atlanta.example.com\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\
        \r\n\
        v=0\n";

    fn request(m: Message) -> Request {
        match m {
            Message::Request(r) => r,
            Message::Response(_) => panic!("expected a request"),
        }
    }

    fn response(m: Message) -> Response {
        match m {
            Message::Response(r) => r,
            Message::Request(_) => panic!("expected a response"),
        }
    }

    #[test]
    fn parses_request() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.call_id(), Some("3848276298220188511@atlanta.example.com"));
        assert_eq!(m.cseq(), Some((1, "INVITE")));
        let r = request(m);
        assert_eq!(r.method, "INVITE");
        assert_eq!(r.uri, "sip:bob@biloxi.example.com");
        assert_eq!(r.body, b"v=0\n");
        assert_eq!(r.headers.len(), 9);
        assert_eq!(r.headers.get("max-forwards"), Some("70"));
    }

    #[test]
    fn parses_response_and_empty_reason() {
        let r = response(Message::parse(b"SIP/2.0 180 Ringing\r\nCSeq: 2 INVITE\r\n\r\n").unwrap());
        assert_eq!((r.status, r.reason.as_str()), (180, "Ringing"));
        assert!(r.body.is_empty());
        let r = response(Message::parse(b"SIP/2.0 200 \r\n\r\n").unwrap());
        assert_eq!(r.reason, "");
        let r = response(Message::parse(b"SIP/2.0 200\r\n\r\n").unwrap());
        assert_eq!(r.reason, "");
        let r = response(Message::parse(b"SIP/2.0 486 Busy  Here \r\n\r\n").unwrap());
        assert_eq!(r.reason, "Busy  Here ");
    }

    #[test]
    fn lf_only_leading_crlf_and_folding() {
        let text = b"\r\n\r\nOPTIONS sip:x SIP/2.0\nSubject: I know you're there,\n   \tpick up the phone\n  and talk to me!\nv: SIP/2.0/TCP h\n\nhello";
        let m = Message::parse(text).unwrap();
        assert_eq!(
            m.headers().get("s"),
            Some("I know you're there, pick up the phone and talk to me!")
        );
        assert_eq!(m.headers().get("Via"), Some("SIP/2.0/TCP h"));
        assert_eq!(request(m).body, b"hello");
    }

    #[test]
    fn compact_forms_and_header_ops() {
        let mut h = Headers::new();
        h.push("v", "a");
        h.push("Route", "r");
        h.push("VIA", "b");
        h.push("i", "cid");
        assert_eq!(h.get("via"), Some("a"));
        assert_eq!(h.get_all("Via").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(h.get("Call-ID"), Some("cid"));
        assert_eq!(h.get("I"), Some("cid"));
        h.set("Via", "c");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("Via", "c"), ("Route", "r"), ("i", "cid")]
        );
        h.set("Max-Forwards", "70");
        assert_eq!(h.len(), 4);
        h.remove("call-id");
        assert_eq!(h.get("i"), None);
        h.remove("via");
        h.remove("route");
        h.remove("max-forwards");
        assert!(h.is_empty());
        assert!(header_names_eq("x", "session-expires"));
        assert!(!header_names_eq("x", "y"));
    }

    #[test]
    fn values_split_lists() {
        let mut h = Headers::new();
        h.push("Via", "SIP/2.0/TCP a;branch=1, SIP/2.0/UDP b;branch=2");
        h.push("v", "SIP/2.0/TLS c");
        h.push(
            "Contact",
            "\"Doe, John\" <sip:j@x;a=b,c>;q=0.5 , <sip:k@y>,",
        );
        assert_eq!(
            h.values("via").collect::<Vec<_>>(),
            [
                "SIP/2.0/TCP a;branch=1",
                "SIP/2.0/UDP b;branch=2",
                "SIP/2.0/TLS c"
            ]
        );
        assert_eq!(
            h.values("m").collect::<Vec<_>>(),
            ["\"Doe, John\" <sip:j@x;a=b,c>;q=0.5", "<sip:k@y>"]
        );
    }

    #[test]
    fn rejects_bad_input() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            (b"", Empty),
            (b"\r\n\r\n", Empty),
            (b"INVITE sip:x SIP/2.0\r\nVia: a\r\n", MissingEmptyLine),
            (b"INVITE sip:x\r\n\r\n", BadStartLine("missing SIP version")),
            (
                b"INVITE sip:x HTTP/1.1\r\n\r\n",
                BadStartLine("missing SIP version"),
            ),
            (b"INVITE sip:x SIP/3.0\r\n\r\n", UnsupportedVersion),
            (b"SIP/1.0 200 OK\r\n\r\n", UnsupportedVersion),
            (
                b"INVITE  sip:x SIP/2.0\r\n\r\n",
                BadStartLine("missing Request-URI"),
            ),
            (
                b"INVITE sip:x SIP/2.0 x\r\n\r\n",
                BadStartLine("extra fields after SIP version"),
            ),
            (
                b"INV@TE sip:x SIP/2.0\r\n\r\n",
                BadStartLine("method is not a token"),
            ),
            (b"SIP/2.0 099 X\r\n\r\n", StatusOutOfRange(99)),
            (b"SIP/2.0 700 X\r\n\r\n", StatusOutOfRange(700)),
            (
                b"SIP/2.0 2000 X\r\n\r\n",
                BadStartLine("status code is not three digits"),
            ),
            (
                b"SIP/2.0 +20 X\r\n\r\n",
                BadStartLine("status code is not three digits"),
            ),
            (b"SIP/2.0\r\n\r\n", BadStartLine("missing status code")),
            (
                b"SIP/2.0 200 OK\r\nVia \xff\r\n\r\n",
                NotUtf8 { offset: 20 },
            ),
            (
                b"SIP/2.0 200 OK\r\nNoColon\r\n\r\n",
                HeaderWithoutColon { line: 2 },
            ),
            (b"SIP/2.0 200 OK\r\n: x\r\n\r\n", BadHeaderName { line: 2 }),
            (
                b"SIP/2.0 200 OK\r\nA b: x\r\n\r\n",
                BadHeaderName { line: 2 },
            ),
            (
                b"SIP/2.0 200 OK\r\n x\r\n\r\n",
                OrphanContinuation { line: 2 },
            ),
            (
                b"SIP/2.0 200 OK\r\nX: a\rY: b\r\n\r\n",
                ControlCharacter { line: 2 },
            ),
            (b"SIP/2.0 200 OK\r\nl: x\r\n\r\n", BadContentLength),
            (b"SIP/2.0 200 OK\r\nl: -1\r\n\r\n", BadContentLength),
            (
                b"SIP/2.0 200 OK\r\nl: 99999999999999999999999\r\n\r\n",
                BadContentLength,
            ),
            (
                b"SIP/2.0 200 OK\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
                ConflictingContentLength,
            ),
            (
                b"SIP/2.0 200 OK\r\nl: 3\r\n\r\nab",
                ContentLengthMismatch {
                    declared: 3,
                    actual: 2,
                },
            ),
            (
                b"SIP/2.0 200 OK\r\nl: 1\r\n\r\nab",
                ContentLengthMismatch {
                    declared: 1,
                    actual: 2,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Message::parse(input).as_ref().err(),
                Some(expected),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn body_without_content_length_is_rest_and_non_utf8_body_ok() {
        let m = Message::parse(b"MESSAGE sip:x SIP/2.0\r\n\r\n\xff\x00\r\n").unwrap();
        assert_eq!(request(m).body, b"\xff\x00\r\n");
    }

    #[test]
    fn to_bytes_is_canonical_and_round_trips() {
        let m = Message::parse(INVITE.replace("\r\n", "\n").as_bytes()).unwrap();
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).unwrap();
        assert_eq!(again, m);
        assert_eq!(bytes, INVITE.as_bytes());

        let mut r = Request::new("MESSAGE", "sip:x");
        r.headers.push("l", "999");
        r.headers.push("To", "a\r\nInjected: yes");
        r.body = b"hi".to_vec();
        let bytes = Message::Request(r).to_bytes();
        assert_eq!(
            bytes,
            b"MESSAGE sip:x SIP/2.0\r\nTo: a  Injected: yes\r\nContent-Length: 2\r\n\r\nhi"
        );
        let resp = Message::Response(Response::new(100, "Trying")).to_bytes();
        assert_eq!(resp, b"SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn cseq_parsing() {
        let mut r = Request::new("BYE", "sip:x");
        let mut check = |v: &str, expected: Option<(u32, &str)>| {
            r.headers.set("CSeq", v);
            assert_eq!(Message::Request(r.clone()).cseq(), expected, "{v}");
        };
        check("4711 BYE", Some((4711, "BYE")));
        check("  7\tACK ", Some((7, "ACK")));
        check("x BYE", None);
        check("+1 BYE", None);
        check("1", None);
        check("1 BYE x", None);
        check("99999999999 BYE", None);
    }

    #[test]
    fn response_for_request() {
        let req = request(Message::parse(INVITE.as_bytes()).unwrap());
        let mut req2 = req.clone();
        req2.headers
            .push("Via", "SIP/2.0/UDP proxy;branch=z9hG4bKx");
        let resp = Response::for_request(&req2, 180, reason_phrase(180), Some("abc"));
        assert_eq!(resp.status, 180);
        assert_eq!(resp.reason, "Ringing");
        let names: Vec<_> = resp.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Via", "Via", "From", "To", "Call-ID", "CSeq"]);
        assert_eq!(
            resp.headers.get_all("via").collect::<Vec<_>>(),
            [
                "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9",
                "SIP/2.0/UDP proxy;branch=z9hG4bKx"
            ]
        );
        assert_eq!(
            resp.headers.get("To"),
            Some("Bob <sip:bob@biloxi.example.com>;tag=abc")
        );
        // An existing To tag is kept.
        let mut req3 = req.clone();
        req3.headers.set("t", "<sip:b@x>;tag=old");
        let resp = Response::for_request(&req3, 200, "OK", Some("new"));
        assert_eq!(resp.headers.get("To"), Some("<sip:b@x>;tag=old"));
        let resp = Response::for_request(&req, 100, "Trying", None);
        assert_eq!(
            resp.headers.get("To"),
            Some("Bob <sip:bob@biloxi.example.com>")
        );
    }

    #[test]
    fn params_and_uris() {
        let from = "\"A;b <c>\" <sip:a@x;tag=uri-param>;tag=1234 ;lr; q = \"0.5\"";
        assert_eq!(header_param(from, "TAG"), Some("1234"));
        assert_eq!(header_param(from, "lr"), Some(""));
        assert_eq!(header_param(from, "q"), Some("0.5"));
        assert_eq!(header_param(from, "x"), None);
        assert_eq!(uri_of(from), Some("sip:a@x;tag=uri-param"));
        assert_eq!(header_param("sip:a@x;tag=9", "tag"), Some("9"));
        assert_eq!(uri_of("sip:a@x;tag=9"), Some("sip:a@x"));
        assert_eq!(uri_of(" <sips:b@y> "), Some("sips:b@y"));
        assert_eq!(uri_of("*"), Some("*"));
        assert_eq!(uri_of("<sip:a"), None);
        assert_eq!(uri_of(""), None);
        assert_eq!(uri_of("<>"), None);
        assert_eq!(uri_of("\"unterminated <sip:a>"), None);
        let via = "SIP/2.0/TCP h:5061;branch=z9hG4bKabc;rport, SIP/2.0/TCP g;branch=other";
        assert_eq!(header_param(via, "branch"), Some("z9hG4bKabc"));
        assert_eq!(header_param(via, "rport"), Some(""));
        assert_eq!(header_param("", "tag"), None);
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(407), "Proxy Authentication Required");
        assert_eq!(reason_phrase(799), "Unknown");
    }

    #[test]
    fn header_end_search_is_incremental() {
        let msg = b"A\r\nB: c\r\n\r\nbody";
        assert_eq!(find_header_end(msg, 0), HeaderEnd::Found(11));
        for cut in 0..msg.len() {
            let part = &msg[..cut];
            match find_header_end(part, 0) {
                HeaderEnd::Found(n) => assert_eq!(n, 11),
                HeaderEnd::Pending(resume) => {
                    assert!(resume <= cut);
                    assert_eq!(find_header_end(msg, resume), HeaderEnd::Found(11));
                }
            }
        }
        assert_eq!(find_header_end(b"A\n\nB", 0), HeaderEnd::Found(3));
        assert_eq!(find_header_end(b"A\r\n\n", 0), HeaderEnd::Found(4));
        assert_eq!(find_header_end(b"ab", 7), HeaderEnd::Pending(7));
    }
}
