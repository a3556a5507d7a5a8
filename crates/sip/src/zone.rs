//! The traversal zone handshake and keep-alive, both ends, as sans-IO state machines.
//!
//! exp-c opens a TCP/TLS connection to its server zone's port and registers on it
//! (`REGISTER`); exp-e challenges with SIP digest (RFC 3261 §22, RFC 8760: SHA-256 offered
//! first, MD5 for older peers), checks the answer against its credential database, and checks
//! that the username is the one *this* zone names — the port a client connected to and its
//! credentials together identify it. After `200 OK` the connection is the zone: exp-c probes it
//! with `OPTIONS` and RFC 5626 CRLF pings; exp-e will push incoming calls down it.
//!
//! Both ends put `program/version` in `User-Agent` / `Server` so each can warn when the other
//! runs a different release. Nonces are per connection, so no shared server key is needed.
//!
//! The sessions take [`Frame`]s (from [`crate::framer::StreamFramer`]) and the current time and
//! return events, some of which carry bytes to write. They never touch a socket.

use std::time::{Duration, Instant};

use crate::digest::{self, Algorithm, Challenge, Credentials};
use crate::framer::Frame;
use crate::message::{header_param, Message, Request, Response};
use crate::token::Tokens;

/// How long a nonce this server issued stays valid.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Registration lifetime announced to the client; the zone lives as long as its connection,
/// this is informative only.
pub const ZONE_EXPIRES: u32 = 3600;
/// Our ping bytes (RFC 5626 §4.4.1: a double CRLF).
pub const PING: &[u8] = b"\r\n\r\n";
/// Our pong bytes (RFC 5626 §4.4.1: a single CRLF).
pub const PONG: &[u8] = b"\r\n";

/// `program/version` as sent in `User-Agent` and `Server`.
pub fn product_token(program: &str, version: &str) -> String {
    format!("{program}/{version}")
}

/// The version from a `User-Agent`/`Server` value written by [`product_token`]
/// (`exp-e/0.1.0 ...` → `0.1.0`).
pub fn parse_version(value: &str) -> Option<String> {
    let first = value.split_whitespace().next()?;
    let (prog, ver) = first.split_once('/')?;
    if prog.is_empty() || ver.is_empty() {
        return None;
    }
    Some(ver.to_string())
}

// ---------------------------------------------------------------------------------------------
// Client side (exp-c)
// ---------------------------------------------------------------------------------------------

/// What the client session needs to know.
#[derive(Clone, Debug)]
pub struct ClientParams {
    /// Zone name (for the registration's display and logs).
    pub zone: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Our program name (`exp-c`, or `exp-e` when chaining).
    pub program: String,
    /// Our version.
    pub version: String,
    /// Server `host:port` as configured (Request-URI and To domain).
    pub server: String,
    /// `TCP` or `TLS`, for Via.
    pub transport: String,
    /// Our local `ip:port` of this connection, for Via and Contact.
    pub local: String,
}

/// What happened, for the client runtime.
#[derive(Debug, PartialEq)]
pub enum ClientEvent {
    /// Write these bytes to the connection.
    Send(Vec<u8>),
    /// The server accepted us: the zone is up.
    Authenticated {
        /// The server's version, if it told us.
        server_version: Option<String>,
    },
    /// The server refused our credentials. Close and back off.
    AuthFailed {
        /// Status code of the refusal.
        status: u16,
        /// Why, for logs and status.
        reason: String,
    },
    /// A probe was answered.
    ProbeAnswered {
        /// The probe sequence number passed to [`ClientSession::probe`].
        seq: u64,
    },
    /// A CRLF pong arrived.
    Pong,
    /// A request the server pushed (an incoming call); handled by the call layer.
    Request(Request),
    /// A response to a request the call layer sent up the zone.
    Response(Response),
    /// The peer broke the protocol; close the connection.
    ProtocolError(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientPhase {
    Idle,
    Registering,
    Answered,
    Active,
    Failed,
}

/// The client end of one zone connection.
#[derive(Debug)]
pub struct ClientSession {
    p: ClientParams,
    tokens: Tokens,
    phase: ClientPhase,
    call_id: String,
    from_tag: String,
    cseq: u32,
    register_cseq: u32,
    /// Outstanding probes: (CSeq number, probe seq). Bounded.
    probes: Vec<(u32, u64)>,
    nc: u32,
}

const MAX_OUTSTANDING_PROBES: usize = 128;

impl ClientSession {
    /// The Call-ID of the zone's own dialog (REGISTER, probes); every other Call-ID on the
    /// connection belongs to the call layer.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// A session for one freshly opened connection; `seed` must be random.
    pub fn new(params: ClientParams, seed: [u8; 16]) -> Self {
        let mut tokens = Tokens::new(seed);
        let call_id = tokens.next(24);
        let from_tag = tokens.next(12);
        ClientSession {
            p: params,
            tokens,
            phase: ClientPhase::Idle,
            call_id,
            from_tag,
            cseq: 0,
            register_cseq: 0,
            probes: Vec::new(),
            nc: 0,
        }
    }

    /// True once the server accepted us.
    pub fn is_authenticated(&self) -> bool {
        self.phase == ClientPhase::Active
    }

    fn base_request(&mut self, method: &str) -> Request {
        self.cseq += 1;
        let uri = format!("sip:{}", self.p.server);
        let mut r = Request::new(method, &uri);
        let branch = format!("z9hG4bK{}", self.tokens.next(16));
        let h = &mut r.headers;
        h.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch}",
                self.p.transport, self.p.local
            ),
        );
        h.push("Max-Forwards", "70");
        let aor = format!("<sip:{}@{}>", self.p.username, self.p.server);
        h.push("From", format!("{aor};tag={}", self.from_tag));
        h.push("To", aor);
        h.push("Call-ID", self.call_id.clone());
        h.push("CSeq", format!("{} {method}", self.cseq));
        h.push(
            "User-Agent",
            product_token(&self.p.program, &self.p.version),
        );
        r
    }

    fn register(&mut self, auth: Option<Credentials>) -> Vec<u8> {
        let mut r = self.base_request("REGISTER");
        self.register_cseq = self.cseq;
        let contact = format!(
            "<sip:{}@{};transport={}>;+exp-zone=\"{}\"",
            self.p.username,
            self.p.local,
            self.p.transport.to_ascii_lowercase(),
            self.p.zone
        );
        r.headers.push("Contact", contact);
        r.headers.push("Expires", ZONE_EXPIRES.to_string());
        if let Some(c) = auth {
            r.headers.push("Authorization", c.to_header_value());
        }
        Message::Request(r).to_bytes()
    }

    /// The first bytes to send on a new connection: the unauthenticated REGISTER.
    pub fn start(&mut self) -> Vec<u8> {
        self.phase = ClientPhase::Registering;
        self.register(None)
    }

    /// A probe (`OPTIONS`) carrying `seq`; its answer yields [`ClientEvent::ProbeAnswered`].
    pub fn probe(&mut self, seq: u64) -> Vec<u8> {
        let r = self.base_request("OPTIONS");
        if self.probes.len() >= MAX_OUTSTANDING_PROBES {
            self.probes.remove(0);
        }
        self.probes.push((self.cseq, seq));
        Message::Request(r).to_bytes()
    }

    /// A CRLF ping.
    pub fn ping(&self) -> &'static [u8] {
        PING
    }

    /// Take one frame from the connection.
    pub fn handle_frame(&mut self, frame: Frame) -> Vec<ClientEvent> {
        match frame {
            Frame::Pong => vec![ClientEvent::Pong],
            // A server never pings; ignore rather than fail.
            Frame::Ping => Vec::new(),
            Frame::Message(Message::Response(resp)) => self.handle_response(resp),
            Frame::Message(Message::Request(req)) => self.handle_request(req),
        }
    }

    fn handle_request(&mut self, req: Request) -> Vec<ClientEvent> {
        if self.phase != ClientPhase::Active {
            if req.method.eq_ignore_ascii_case("ACK") {
                return Vec::new();
            }
            let resp = Response::for_request(&req, 403, "Forbidden", None);
            return vec![ClientEvent::Send(Message::Response(resp).to_bytes())];
        }
        let zone_dialog = req.headers.get("Call-ID") == Some(self.call_id.as_str());
        if zone_dialog && req.method.eq_ignore_ascii_case("OPTIONS") {
            let mut resp = Response::for_request(&req, 200, "OK", None);
            resp.headers
                .push("Server", product_token(&self.p.program, &self.p.version));
            return vec![ClientEvent::Send(Message::Response(resp).to_bytes())];
        }
        vec![ClientEvent::Request(req)]
    }

    fn handle_response(&mut self, resp: Response) -> Vec<ClientEvent> {
        let Some((cseq, method)) = crate::message::parse_cseq(&resp.headers) else {
            return vec![ClientEvent::ProtocolError("response without CSeq".into())];
        };
        let call_id_ours = resp.headers.get("Call-ID") == Some(self.call_id.as_str());
        if !call_id_ours {
            // Not the zone's own dialog: a response for the call layer.
            if self.phase == ClientPhase::Active {
                return vec![ClientEvent::Response(resp)];
            }
            return Vec::new();
        }
        if method.eq_ignore_ascii_case("OPTIONS") {
            if let Some(i) = self.probes.iter().position(|(c, _)| *c == cseq) {
                let (_, seq) = self.probes.remove(i);
                if resp.status >= 200 {
                    // Any final answer proves the server is alive and reading.
                    return vec![ClientEvent::ProbeAnswered { seq }];
                }
            }
            return Vec::new();
        }
        if !method.eq_ignore_ascii_case("REGISTER") || cseq != self.register_cseq {
            return Vec::new();
        }
        match (self.phase, resp.status) {
            (ClientPhase::Registering | ClientPhase::Answered, 100..=199) => Vec::new(),
            (ClientPhase::Registering | ClientPhase::Answered, 200..=299) => {
                self.phase = ClientPhase::Active;
                let server_version = resp.headers.get("Server").and_then(parse_version);
                vec![ClientEvent::Authenticated { server_version }]
            }
            (ClientPhase::Registering | ClientPhase::Answered, 401 | 407) => {
                self.answer_challenge(&resp)
            }
            (ClientPhase::Registering | ClientPhase::Answered, status) => {
                self.phase = ClientPhase::Failed;
                vec![ClientEvent::AuthFailed {
                    status,
                    reason: format!("{} {}", status, resp.reason),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn answer_challenge(&mut self, resp: &Response) -> Vec<ClientEvent> {
        let header = if resp.status == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let challenges: Vec<Challenge> = resp
            .headers
            .get_all(header)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        // RFC 8760 §2.4: use the first challenge with an algorithm we support, preferring the
        // strongest.
        let chosen = challenges
            .iter()
            .find(|c| c.algorithm == Algorithm::Sha256)
            .or_else(|| challenges.first());
        let Some(ch) = chosen else {
            self.phase = ClientPhase::Failed;
            return vec![ClientEvent::AuthFailed {
                status: resp.status,
                reason: "challenge with no usable Digest algorithm".into(),
            }];
        };
        // A second challenge after we answered means the password was wrong, unless the
        // server says our nonce merely went stale (RFC 7616 §3.3).
        if self.phase == ClientPhase::Answered && !ch.stale {
            self.phase = ClientPhase::Failed;
            return vec![ClientEvent::AuthFailed {
                status: resp.status,
                reason: "credentials refused".into(),
            }];
        }
        self.nc += 1;
        let cnonce = self.tokens.next(16);
        let uri = format!("sip:{}", self.p.server);
        let creds = digest::answer(
            ch,
            &self.p.username,
            &self.p.password,
            "REGISTER",
            &uri,
            &cnonce,
            self.nc,
        );
        self.phase = ClientPhase::Answered;
        vec![ClientEvent::Send(self.register(Some(creds)))]
    }
}

// ---------------------------------------------------------------------------------------------
// Server side (exp-e)
// ---------------------------------------------------------------------------------------------

/// Where a server session finds stored HA1 values.
pub trait CredentialLookup {
    /// HA1 of `username` for `alg`, lower-case hex, if the user exists and has one.
    fn ha1(&self, username: &str, alg: Algorithm) -> Option<String>;
}

/// What the server session needs to know.
#[derive(Clone, Debug)]
pub struct ServerParams {
    /// Zone name.
    pub zone: String,
    /// The only username this zone accepts.
    pub username: String,
    /// Digest realm.
    pub realm: String,
    /// Our program name.
    pub program: String,
    /// Our version.
    pub version: String,
    /// Also offer MD5 (after SHA-256) for older peers.
    pub offer_md5: bool,
}

/// Why a client was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The username is not in the credential database.
    UnknownUser,
    /// The digest answer did not match the stored hash.
    BadPassword,
    /// Valid credentials, but for a different zone's username.
    WrongZone,
    /// The Authorization header could not be used (malformed, other realm, other algorithm).
    BadCredentials,
}

impl RejectReason {
    /// Label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::UnknownUser => "unknown-user",
            RejectReason::BadPassword => "bad-password",
            RejectReason::WrongZone => "wrong-zone",
            RejectReason::BadCredentials => "bad-credentials",
        }
    }
}

/// What happened, for the server runtime.
#[derive(Debug, PartialEq)]
pub enum ServerEvent {
    /// Write these bytes to the connection.
    Send(Vec<u8>),
    /// The client authenticated: this connection now is the zone.
    Authenticated {
        /// Its username.
        username: String,
        /// Its version, if it told us.
        client_version: Option<String>,
    },
    /// The client was refused; the runtime closes the connection after sending.
    Rejected {
        /// The username it tried, if any.
        username: Option<String>,
        /// Why.
        reason: RejectReason,
    },
    /// A probe arrived and was answered.
    ProbeAnswered,
    /// A CRLF ping arrived (and the pong is in a `Send` before this event).
    Ping,
    /// A request from an authenticated client other than the handshake and probes.
    Request(Request),
    /// A response from the client (to a request we pushed).
    Response(Response),
}

/// The server end of one zone connection.
#[derive(Debug)]
pub struct ServerSession {
    p: ServerParams,
    tokens: Tokens,
    nonce: Option<(String, Instant)>,
    authenticated: Option<String>,
    /// Call-ID of the zone registration: OPTIONS in it are probes, anything else is a call's.
    zone_call_id: Option<String>,
    rejected: bool,
}

impl ServerSession {
    /// A session for one accepted connection; `seed` must be random.
    pub fn new(params: ServerParams, seed: [u8; 16]) -> Self {
        ServerSession {
            p: params,
            tokens: Tokens::new(seed),
            nonce: None,
            authenticated: None,
            zone_call_id: None,
            rejected: false,
        }
    }

    /// The authenticated username, once there is one.
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// Take one frame from the connection at time `now`.
    pub fn handle_frame(
        &mut self,
        frame: Frame,
        now: Instant,
        creds: &dyn CredentialLookup,
    ) -> Vec<ServerEvent> {
        if self.rejected {
            return Vec::new();
        }
        match frame {
            Frame::Ping => vec![ServerEvent::Send(PONG.to_vec()), ServerEvent::Ping],
            Frame::Pong => Vec::new(),
            Frame::Message(Message::Response(r)) => {
                if self.authenticated.is_some() {
                    vec![ServerEvent::Response(r)]
                } else {
                    Vec::new()
                }
            }
            Frame::Message(Message::Request(req)) => self.handle_request(req, now, creds),
        }
    }

    fn respond(&self, req: &Request, status: u16, reason: &str) -> Response {
        let mut resp = Response::for_request(req, status, reason, Some(&self.p.zone));
        resp.headers
            .push("Server", product_token(&self.p.program, &self.p.version));
        resp
    }

    fn send(resp: Response) -> ServerEvent {
        ServerEvent::Send(Message::Response(resp).to_bytes())
    }

    fn handle_request(
        &mut self,
        req: Request,
        now: Instant,
        creds: &dyn CredentialLookup,
    ) -> Vec<ServerEvent> {
        let method = req.method.to_ascii_uppercase();
        if method == "ACK" {
            return match self.authenticated {
                Some(_) => vec![ServerEvent::Request(req)],
                None => Vec::new(),
            };
        }
        let zone_dialog = self.zone_call_id.is_some()
            && req.headers.get("Call-ID") == self.zone_call_id.as_deref();
        if method == "REGISTER" && (self.authenticated.is_none() || zone_dialog) {
            return self.handle_register(req, now, creds);
        }
        if self.authenticated.is_none() {
            return vec![Self::send(self.respond(&req, 403, "Authenticate First"))];
        }
        if zone_dialog && method == "OPTIONS" {
            let resp = self.respond(&req, 200, "OK");
            return vec![Self::send(resp), ServerEvent::ProbeAnswered];
        }
        vec![ServerEvent::Request(req)]
    }

    fn challenge(&mut self, req: &Request, now: Instant, stale: bool) -> ServerEvent {
        let nonce = self.tokens.next(32);
        self.nonce = Some((nonce.clone(), now));
        let mut resp = self.respond(req, 401, "Unauthorized");
        let mut algs = vec![Algorithm::Sha256];
        if self.p.offer_md5 {
            algs.push(Algorithm::Md5);
        }
        for algorithm in algs {
            let ch = Challenge {
                realm: self.p.realm.clone(),
                nonce: nonce.clone(),
                opaque: None,
                algorithm,
                qop_auth: true,
                stale,
            };
            resp.headers.push("WWW-Authenticate", ch.to_header_value());
        }
        Self::send(resp)
    }

    fn reject(
        &mut self,
        req: &Request,
        username: Option<String>,
        reason: RejectReason,
    ) -> Vec<ServerEvent> {
        self.rejected = true;
        // The client learns only that it was refused; the reason goes to our log and metrics.
        let resp = self.respond(req, 403, "Forbidden");
        vec![Self::send(resp), ServerEvent::Rejected { username, reason }]
    }

    fn handle_register(
        &mut self,
        req: Request,
        now: Instant,
        creds: &dyn CredentialLookup,
    ) -> Vec<ServerEvent> {
        let Some(auth) = req.headers.get("Authorization") else {
            if self.authenticated.is_some() {
                // A refresh on an already authenticated connection.
                return vec![Self::send(self.ok_register(&req))];
            }
            return vec![self.challenge(&req, now, false)];
        };
        let c = match Credentials::parse(auth) {
            Ok(c) => c,
            Err(_) => return self.reject(&req, None, RejectReason::BadCredentials),
        };
        let fresh = match &self.nonce {
            Some((n, issued)) => {
                n == &c.nonce && now.saturating_duration_since(*issued) <= NONCE_LIFETIME
            }
            None => false,
        };
        if !fresh {
            return vec![self.challenge(&req, now, true)];
        }
        // We always demand qop=auth (no downgrade to the RFC 2069 form), our realm, an offered
        // algorithm, and a digest over this very request's URI (RFC 3261 §22.4).
        if c.realm != self.p.realm
            || !c.qop_auth
            || c.uri != req.uri
            || (c.algorithm == Algorithm::Md5 && !self.p.offer_md5)
        {
            return self.reject(&req, Some(c.username), RejectReason::BadCredentials);
        }
        let Some(ha1) = creds.ha1(&c.username, c.algorithm) else {
            return self.reject(&req, Some(c.username), RejectReason::UnknownUser);
        };
        if !digest::verify(&c, &ha1, &req.method) {
            return self.reject(&req, Some(c.username), RejectReason::BadPassword);
        }
        if c.username != self.p.username {
            return self.reject(&req, Some(c.username), RejectReason::WrongZone);
        }
        // One use per nonce: a replayed REGISTER gets a fresh challenge.
        self.nonce = None;
        let client_version = req.headers.get("User-Agent").and_then(parse_version);
        self.authenticated = Some(c.username.clone());
        self.zone_call_id = req.headers.get("Call-ID").map(str::to_string);
        vec![
            Self::send(self.ok_register(&req)),
            ServerEvent::Authenticated {
                username: c.username,
                client_version,
            },
        ]
    }

    fn ok_register(&self, req: &Request) -> Response {
        let mut resp = self.respond(req, 200, "OK");
        if let Some(contact) = req.headers.get("Contact") {
            resp.headers
                .push("Contact", format!("{contact};expires={ZONE_EXPIRES}"));
        }
        resp
    }
}

/// The `tag` parameter of a header value, if present (used by tests and later layers).
pub fn tag_of(value: &str) -> Option<&str> {
    header_param(value, "tag")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framer::{Limits, Role, StreamFramer};
    use std::collections::HashMap;

    struct Db(HashMap<(String, Algorithm), String>);
    impl CredentialLookup for Db {
        fn ha1(&self, username: &str, alg: Algorithm) -> Option<String> {
            self.0.get(&(username.to_string(), alg)).cloned()
        }
    }

    fn db() -> Db {
        let mut m = HashMap::new();
        for (u, p) in [("exp-c", "secret"), ("other", "pw2")] {
            for a in [Algorithm::Sha256, Algorithm::Md5] {
                m.insert((u.to_string(), a), digest::ha1(a, u, "exp", p));
            }
        }
        Db(m)
    }

    fn server(username: &str, md5: bool) -> ServerSession {
        ServerSession::new(
            ServerParams {
                zone: "z1".into(),
                username: username.into(),
                realm: "exp".into(),
                program: "exp-e".into(),
                version: "9.9.9".into(),
                offer_md5: md5,
            },
            [1; 16],
        )
    }

    fn client(user: &str, pw: &str) -> ClientSession {
        ClientSession::new(
            ClientParams {
                zone: "z1".into(),
                username: user.into(),
                password: pw.into(),
                program: "exp-c".into(),
                version: "1.2.3".into(),
                server: "127.0.0.1:7001".into(),
                transport: "TCP".into(),
                local: "127.0.0.1:40000".into(),
            },
            [2; 16],
        )
    }

    /// Shuttle bytes both ways through real framers until nothing moves; returns all events.
    fn run(
        c: &mut ClientSession,
        s: &mut ServerSession,
        first: Vec<u8>,
    ) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
        let now = Instant::now();
        let d = db();
        let mut to_server = first;
        let mut cev = Vec::new();
        let mut sev = Vec::new();
        let mut sf = StreamFramer::new(Role::Server, Limits::default());
        let mut cf = StreamFramer::new(Role::Client, Limits::default());
        for _ in 0..10 {
            if to_server.is_empty() {
                break;
            }
            sf.push(&to_server);
            to_server.clear();
            let mut to_client = Vec::new();
            while let Some(f) = sf.next_frame().unwrap() {
                for e in s.handle_frame(f, now, &d) {
                    match e {
                        ServerEvent::Send(b) => to_client.extend(b),
                        other => sev.push(other),
                    }
                }
            }
            cf.push(&to_client);
            while let Some(f) = cf.next_frame().unwrap() {
                for e in c.handle_frame(f) {
                    match e {
                        ClientEvent::Send(b) => to_server.extend(b),
                        other => cev.push(other),
                    }
                }
            }
        }
        (cev, sev)
    }

    #[test]
    fn right_credentials_authenticate_with_sha256_and_exchange_versions() {
        let mut c = client("exp-c", "secret");
        let mut s = server("exp-c", true);
        let first = c.start();
        let (cev, sev) = run(&mut c, &mut s, first);
        assert_eq!(
            cev,
            vec![ClientEvent::Authenticated {
                server_version: Some("9.9.9".into())
            }]
        );
        assert_eq!(
            sev,
            vec![ServerEvent::Authenticated {
                username: "exp-c".into(),
                client_version: Some("1.2.3".into())
            }]
        );
        assert!(c.is_authenticated());
        assert_eq!(s.authenticated(), Some("exp-c"));

        // Probes are answered and matched by sequence number.
        let probe = c.probe(42);
        let (cev, sev) = run(&mut c, &mut s, probe);
        assert_eq!(cev, vec![ClientEvent::ProbeAnswered { seq: 42 }]);
        assert_eq!(sev, vec![ServerEvent::ProbeAnswered]);

        // Ping/pong.
        let (cev, sev) = run(&mut c, &mut s, PING.to_vec());
        assert_eq!(cev, vec![ClientEvent::Pong]);
        assert_eq!(sev, vec![ServerEvent::Ping]);
    }

    #[test]
    fn wrong_password_is_refused_once() {
        let mut c = client("exp-c", "wrong");
        let mut s = server("exp-c", true);
        let first = c.start();
        let (cev, sev) = run(&mut c, &mut s, first);
        assert!(
            matches!(
                cev.as_slice(),
                [ClientEvent::AuthFailed { status: 403, .. }]
            ),
            "{cev:?}"
        );
        assert_eq!(
            sev,
            vec![ServerEvent::Rejected {
                username: Some("exp-c".into()),
                reason: RejectReason::BadPassword
            }]
        );
    }

    #[test]
    fn right_password_on_another_zones_port_is_refused() {
        let mut c = client("other", "pw2");
        let mut s = server("exp-c", true);
        let first = c.start();
        let (cev, sev) = run(&mut c, &mut s, first);
        assert!(
            matches!(cev.as_slice(), [ClientEvent::AuthFailed { .. }]),
            "{cev:?}"
        );
        assert_eq!(
            sev,
            vec![ServerEvent::Rejected {
                username: Some("other".into()),
                reason: RejectReason::WrongZone
            }]
        );
    }

    #[test]
    fn unknown_user_is_refused() {
        let mut c = client("nobody", "x");
        let mut s = server("nobody", true);
        let first = c.start();
        let (_, sev) = run(&mut c, &mut s, first);
        assert_eq!(
            sev,
            vec![ServerEvent::Rejected {
                username: Some("nobody".into()),
                reason: RejectReason::UnknownUser
            }]
        );
    }

    #[test]
    fn md5_only_client_is_served_when_offered() {
        // Simulate an older peer: answer the MD5 challenge by hand.
        let mut s = server("exp-c", true);
        let now = Instant::now();
        let d = db();
        let mut c = client("exp-c", "secret");
        let reg = c.start();
        let req = match Message::parse(&reg).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        };
        let ev = s.handle_frame(Frame::Message(Message::Request(req.clone())), now, &d);
        let ServerEvent::Send(bytes) = &ev[0] else {
            panic!()
        };
        let Message::Response(resp) = Message::parse(bytes).unwrap() else {
            panic!()
        };
        let offered: Vec<Challenge> = resp
            .headers
            .get_all("WWW-Authenticate")
            .map(|v| Challenge::parse(v).unwrap())
            .collect();
        assert_eq!(
            offered[0].algorithm,
            Algorithm::Sha256,
            "SHA-256 offered first (RFC 8760)"
        );
        let md5 = offered
            .iter()
            .find(|c| c.algorithm == Algorithm::Md5)
            .unwrap();
        let creds = digest::answer(md5, "exp-c", "secret", "REGISTER", &req.uri, "abc", 1);
        let mut req2 = req;
        req2.headers.push("Authorization", creds.to_header_value());
        let ev = s.handle_frame(Frame::Message(Message::Request(req2)), now, &d);
        assert!(
            ev.iter()
                .any(|e| matches!(e, ServerEvent::Authenticated { .. })),
            "{ev:?}"
        );
    }

    #[test]
    fn requests_before_authentication_are_refused() {
        let mut s = server("exp-c", true);
        let d = db();
        let mut req = Request::new("OPTIONS", "sip:x");
        req.headers
            .push("Via", "SIP/2.0/TCP 1.2.3.4;branch=z9hG4bK1");
        req.headers.push("From", "<sip:a@b>;tag=1");
        req.headers.push("To", "<sip:a@b>");
        req.headers.push("Call-ID", "c");
        req.headers.push("CSeq", "1 OPTIONS");
        let ev = s.handle_frame(Frame::Message(Message::Request(req)), Instant::now(), &d);
        let ServerEvent::Send(bytes) = &ev[0] else {
            panic!()
        };
        assert!(bytes.starts_with(b"SIP/2.0 403"));
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn stale_nonce_is_rechallenged_not_refused() {
        let mut s = server("exp-c", true);
        let d = db();
        let t0 = Instant::now();
        let mut c = client("exp-c", "secret");
        let reg = c.start();
        let Message::Request(req) = Message::parse(&reg).unwrap() else {
            panic!()
        };
        let ev = s.handle_frame(Frame::Message(Message::Request(req.clone())), t0, &d);
        let ServerEvent::Send(bytes) = &ev[0] else {
            panic!()
        };
        let Message::Response(resp) = Message::parse(bytes).unwrap() else {
            panic!()
        };
        let ch = Challenge::parse(resp.headers.get("WWW-Authenticate").unwrap()).unwrap();
        let creds = digest::answer(&ch, "exp-c", "secret", "REGISTER", &req.uri, "abc", 1);
        let mut req2 = req;
        req2.headers.push("Authorization", creds.to_header_value());
        let late = t0 + NONCE_LIFETIME + Duration::from_secs(1);
        let ev = s.handle_frame(Frame::Message(Message::Request(req2)), late, &d);
        let ServerEvent::Send(bytes) = &ev[0] else {
            panic!()
        };
        let Message::Response(resp) = Message::parse(bytes).unwrap() else {
            panic!()
        };
        assert_eq!(resp.status, 401);
        assert!(
            Challenge::parse(resp.headers.get("WWW-Authenticate").unwrap())
                .unwrap()
                .stale
        );
    }

    #[test]
    fn call_traffic_is_told_apart_from_zone_probes() {
        let mut c = client("exp-c", "secret");
        let mut s = server("exp-c", true);
        let first = c.start();
        run(&mut c, &mut s, first);
        // An OPTIONS of a call (another Call-ID) goes to the call layer on both sides.
        let mut req = Request::new("OPTIONS", "sip:bob@lan");
        req.headers
            .push("Via", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKx1");
        req.headers.push("From", "<sip:a@b>;tag=1");
        req.headers.push("To", "<sip:bob@lan>");
        req.headers.push("Call-ID", "a-call");
        req.headers.push("CSeq", "1 OPTIONS");
        let (cev, sev) = run(&mut c, &mut s, Message::Request(req.clone()).to_bytes());
        assert!(cev.is_empty());
        assert!(
            matches!(sev.as_slice(), [ServerEvent::Request(r)] if r.method == "OPTIONS"),
            "{sev:?}"
        );
        // A response of a call, pushed down to the client, reaches its call layer.
        let resp = Response::for_request(&req, 200, "OK", Some("t"));
        let ev = c.handle_frame(Frame::Message(Message::Response(resp)));
        assert!(
            matches!(ev.as_slice(), [ClientEvent::Response(r)] if r.status == 200),
            "{ev:?}"
        );
        // And the zone's own probes are still probes.
        let probe = c.probe(7);
        let (cev, sev) = run(&mut c, &mut s, probe);
        assert_eq!(cev, vec![ClientEvent::ProbeAnswered { seq: 7 }]);
        assert_eq!(sev, vec![ServerEvent::ProbeAnswered]);
    }

    #[test]
    fn version_token_round_trip() {
        assert_eq!(
            parse_version(&product_token("exp-e", "0.1.0")),
            Some("0.1.0".into())
        );
        assert_eq!(parse_version("baresip v2"), None);
        assert_eq!(parse_version(""), None);
    }
}
