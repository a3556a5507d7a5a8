//! `turn_server`: the sans-IO TURN server driven by a script of client datagrams (raw, or
//! requests the harness signs so the fuzzer gets past authentication), peer datagrams, the
//! clock, closed connections, delegated credential answers and configuration changes — the
//! whole surface the runtime drives. After every operation the harness checks what the runtime
//! relies on (every response decodes and answers the request; a relay verdict points inside the
//! packet, at a permitted and allowed peer; the relay sockets, ports and allocations agree),
//! and at the end it moves the clock far ahead and checks that nothing is left: no allocation,
//! relay socket, port, reservation, waiting request or timer.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use exp_turn::server::{
    rest_password, BindError, ClientKey, ClientVerdict, CredentialSource, Event, KeyLookup,
    LongTermKeys, PeerVerdict, RelayAddr, RelayBinder, RelayId, Server, ServerConfig,
};
use exp_turn::{
    frame_len, long_term_key, types, Attribute, Class, Message, MessageBuilder, Method,
    PasswordAlgorithm, TransactionId,
};

use crate::script::{self, attr, flags, method, Cursor};

/// Realm of the server and its users.
pub const REALM: &str = "exp";
/// Shared secret of the time-limited credentials.
pub const REST_SECRET: &str = "fuzz-rest-secret";
/// Wall clock at the start (2023-11-14).
const UNIX_NOW: u64 = 1_700_000_000;
/// Most waiting requests; small so that eviction is reached.
const PENDING_LIMIT: usize = 4;
/// Most permissions and channels per allocation; small so that 508 is reached.
const PER_ALLOCATION: usize = 4;

/// Users: alice and bob from the store, carol checked elsewhere (delegated), anyone else
/// unknown. The REST user needs no entry.
struct Users;

impl CredentialSource for Users {
    fn lookup(&mut self, username: &str, realm: &str) -> KeyLookup {
        match username {
            "alice" => KeyLookup::Found(LongTermKeys::from_password("alice", realm, "wonderland")),
            "bob" => KeyLookup::Found(LongTermKeys::from_password("bob", realm, "builder")),
            "carol" => KeyLookup::Pending,
            _ => KeyLookup::Unknown,
        }
    }
}

/// Relay sockets as a table. It insists on the contract: the core never asks for an address
/// it already uses, and never closes a socket twice.
#[derive(Default)]
struct Binder {
    next: u32,
    bound: BTreeMap<RelayId, SocketAddr>,
    /// Ports whose bind fails (another process has them), chosen by the script.
    refuse: Option<u16>,
}

impl RelayBinder for Binder {
    fn bind(&mut self, addr: SocketAddr) -> Result<RelayId, BindError> {
        assert!(
            !self.bound.values().any(|a| *a == addr),
            "the core asked to bind {addr}, which a relay of its own already holds"
        );
        if self.refuse == Some(addr.port()) {
            return Err(BindError);
        }
        self.next += 1;
        let id = RelayId(self.next);
        self.bound.insert(id, addr);
        Ok(id)
    }

    fn close(&mut self, relay: RelayId) {
        assert!(
            self.bound.remove(&relay).is_some(),
            "closed {relay:?}, which is not open"
        );
    }
}

/// A scripted client.
struct Client {
    key: ClientKey,
    user: String,
    password: String,
    nonce: Option<String>,
    offered: Vec<PasswordAlgorithm>,
    last_txid: Option<TransactionId>,
}

impl Client {
    fn new(key: ClientKey, user: &str, password: &str) -> Client {
        Client {
            key,
            user: user.to_string(),
            password: password.to_string(),
            nonce: None,
            offered: Vec::new(),
            last_txid: None,
        }
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address literal")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address literal")
}

/// Index of the TCP client (the one [`script::STREAM`] and [`script::CLOSE`] are about).
const TCP_CLIENT: usize = 1;

fn clients() -> Vec<Client> {
    let rest_user = "4000000000:dave";
    vec![
        Client::new(
            ClientKey::udp(sa("198.51.100.7:40000"), sa("192.0.2.254:3478")),
            "alice",
            "wonderland",
        ),
        Client::new(
            ClientKey::tcp(sa("198.51.100.8:40001"), sa("192.0.2.254:3478"), 1),
            "bob",
            "builder",
        ),
        Client::new(
            ClientKey::udp(sa("[2001:db8:1::7]:40000"), sa("[2001:db8::254]:3478")),
            "alice",
            "wonderland",
        ),
        Client::new(
            ClientKey::udp(sa("198.51.100.9:40002"), sa("192.0.2.254:3478")),
            "carol",
            "rabbit",
        ),
        Client::new(
            ClientKey::udp(sa("198.51.100.10:40003"), sa("192.0.2.254:3478")),
            rest_user,
            &rest_password(REST_SECRET, rest_user),
        ),
    ]
}

/// Peers: two ordinary IPv4, one IPv6, and three the default policy refuses.
fn peers() -> [SocketAddr; 6] {
    [
        sa("192.0.2.50:7000"),
        sa("192.0.2.51:7001"),
        sa("[2001:db8::50]:7000"),
        sa("127.0.0.1:7000"),
        sa("169.254.169.254:80"),
        sa("[ff02::1]:9"),
    ]
}

/// Whether the default peer policy (no `allowed_peers`) must refuse `ip`: written here from
/// RFC 8656 §21.1.4 independently of the server's own list, so the two check each other.
fn forbidden(ip: IpAddr) -> bool {
    let own = [self::ip("203.0.113.1"), self::ip("2001:db8::1")];
    let v4 = |a: std::net::Ipv4Addr| {
        a.octets()[0] == 0
            || a.octets()[0] >= 224
            || a.is_loopback()
            || a.is_link_local()
            || own.contains(&IpAddr::V4(a))
    };
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => {
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(v4)
                || own.contains(&ip)
        }
    }
}

fn config(flags: u8, capacity: u8) -> ServerConfig {
    ServerConfig {
        realm: REALM.to_string(),
        offer_sha256: flags & 0x01 != 0,
        allow_unauthenticated_binding: flags & 0x02 != 0,
        user_quota: usize::from(flags & 0x04 != 0),
        alternate_servers: if flags & 0x08 == 0 {
            vec![sa("192.0.2.200:3478"), sa("[2001:db8::200]:3478")]
        } else {
            Vec::new()
        },
        auth_failure_limit: if flags & 0x10 != 0 { 2 } else { 20 },
        software: if flags & 0x20 != 0 {
            None
        } else {
            Some("exp-e fuzz".to_string())
        },
        capacity: usize::from(capacity % 6),
        rest_secret: Some(REST_SECRET.to_string()),
        relay_ipv4: Some(RelayAddr::new(ip("203.0.113.1"))),
        relay_ipv6: Some(RelayAddr::new(ip("2001:db8::1"))),
        // A small range, so that exhaustion and EVEN-PORT pairs are within reach.
        relay_port_min: 50000,
        relay_port_max: 50007,
        max_permissions: PER_ALLOCATION,
        max_channels: PER_ALLOCATION,
        pending_limit: PENDING_LIMIT,
        ..ServerConfig::default()
    }
}

/// Every attribute type the codec knows, for raw values of known types.
const KNOWN_TYPES: [u16; 29] = [
    types::MAPPED_ADDRESS,
    types::USERNAME,
    types::MESSAGE_INTEGRITY,
    types::ERROR_CODE,
    types::UNKNOWN_ATTRIBUTES,
    types::CHANNEL_NUMBER,
    types::LIFETIME,
    types::XOR_PEER_ADDRESS,
    types::DATA,
    types::REALM,
    types::NONCE,
    types::XOR_RELAYED_ADDRESS,
    types::REQUESTED_ADDRESS_FAMILY,
    types::EVEN_PORT,
    types::REQUESTED_TRANSPORT,
    types::DONT_FRAGMENT,
    types::MESSAGE_INTEGRITY_SHA256,
    types::PASSWORD_ALGORITHM,
    types::USERHASH,
    types::XOR_MAPPED_ADDRESS,
    types::RESERVATION_TOKEN,
    types::ADDITIONAL_ADDRESS_FAMILY,
    types::ADDRESS_ERROR_CODE,
    types::PASSWORD_ALGORITHMS,
    types::ALTERNATE_DOMAIN,
    types::ICMP,
    types::SOFTWARE,
    types::ALTERNATE_SERVER,
    types::FINGERPRINT,
];

/// What the harness knows of a request it signed, to check the response.
struct Signed {
    /// The key it was signed with, if signed with the right one.
    key: Option<Vec<u8>>,
    /// Signed with a wrong key.
    wrong: bool,
}

/// What a script made the server do, for the seed generator to show that its seeds reach
/// what they are meant to.
#[derive(Debug, Default)]
pub struct Summary {
    /// Allocations created.
    pub allocations: u64,
    /// Success responses.
    pub successes: u64,
    /// Error responses by code, in order.
    pub errors: Vec<u16>,
    /// Client packets relayed to peers.
    pub to_peers: u64,
    /// Peer packets relayed to clients.
    pub to_clients: u64,
    /// Requests parked for a delegated credential check.
    pub queued: u64,
}

/// The server and everything around it.
pub struct Harness {
    server: Server<Users>,
    binder: Binder,
    now: Instant,
    clients: Vec<Client>,
    peers: [SocketAddr; 6],
    tokens: Vec<[u8; 8]>,
    txid: u64,
    created: u64,
    deleted: u64,
    stream: Vec<u8>,
    summary: Summary,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    /// A fresh server; every client has learned a nonce from a first 401.
    pub fn new() -> Harness {
        let now = Instant::now();
        let server = Server::new(config(0, 4), Users, [7; 32], now, UNIX_NOW);
        let mut h = Harness {
            server,
            binder: Binder::default(),
            now,
            clients: clients(),
            peers: peers(),
            tokens: Vec::new(),
            txid: 0,
            created: 0,
            deleted: 0,
            stream: Vec::new(),
            summary: Summary::default(),
        };
        for i in 0..h.clients.len() {
            let txid = h.fresh_txid();
            let bytes = MessageBuilder::new(Method::BINDING, Class::Request, txid)
                .finish()
                .expect("an empty Binding request");
            h.client_packet(i, &bytes, None);
            assert!(h.clients[i].nonce.is_some(), "no nonce from the first 401");
        }
        h
    }

    /// Runs a script, then moves the clock far ahead and checks that nothing is left.
    pub fn run(data: &[u8]) {
        Harness::run_summary(data);
    }

    /// [`Harness::run`], telling what happened (the first 401s of the set-up not counted).
    pub fn run_summary(data: &[u8]) -> Summary {
        let mut h = Harness::new();
        h.summary = Summary::default();
        let mut c = Cursor::new(data);
        while !c.done() {
            h.op(&mut c);
            h.check_state();
        }
        h.finish()
    }

    fn fresh_txid(&mut self) -> TransactionId {
        self.txid += 1;
        let mut id = [0x5a; 12];
        id[4..].copy_from_slice(&self.txid.to_be_bytes());
        TransactionId(id)
    }

    fn op(&mut self, c: &mut Cursor) {
        let n = self.clients.len();
        match c.byte() % script::OPS {
            script::RAW => {
                let who = usize::from(c.byte()) % n;
                let len = usize::from(c.u16());
                let bytes = c.bytes(len).to_vec();
                self.client_packet(who, &bytes, None);
            }
            script::SIGNED => {
                let who = usize::from(c.byte()) % n;
                if let Some((bytes, signed)) = self.signed_request(who, c) {
                    self.client_packet(who, &bytes, Some(signed));
                }
            }
            script::SEND => {
                let who = usize::from(c.byte()) % n;
                let peer = self.peers[usize::from(c.byte()) % self.peers.len()];
                let len = usize::from(c.byte());
                let data = c.bytes(len).to_vec();
                let txid = self.fresh_txid();
                let mut b = MessageBuilder::new(Method::SEND, Class::Indication, txid);
                b.add(&Attribute::XorPeerAddress(peer))
                    .add(&Attribute::Data(data));
                let bytes = b.finish().expect("a Send indication");
                self.client_packet(who, &bytes, None);
            }
            script::CHANNEL => {
                let who = usize::from(c.byte()) % n;
                let sel = c.byte();
                let number = if sel < 0xF0 {
                    0x4000 + u16::from(sel % 6)
                } else {
                    c.u16()
                };
                let len = usize::from(c.byte());
                let pad = c.byte() & 1 != 0;
                let mut bytes = Vec::with_capacity(len + 8);
                bytes.extend_from_slice(&number.to_be_bytes());
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
                bytes.extend_from_slice(c.bytes(len));
                if pad {
                    bytes.resize((bytes.len() + 3) & !3, 0);
                }
                self.client_packet(who, &bytes, None);
            }
            script::PEER => {
                let sel = c.byte();
                let peer = self.peers[usize::from(c.byte()) % self.peers.len()];
                let len = (u32::from(c.byte()) << 16 | u32::from(c.u16())) as usize % 70_001;
                let relays: Vec<RelayId> = self.binder.bound.keys().copied().collect();
                let relay = match relays.get(usize::from(sel) % (relays.len() + 1)) {
                    Some(r) => *r,
                    None => RelayId(u32::from(sel)),
                };
                self.peer_packet(relay, peer, len);
            }
            script::TIME => {
                let secs = c.u16();
                let stepwise = c.byte() & 1 != 0;
                self.advance(Duration::from_secs(u64::from(secs)), stepwise);
            }
            script::CLOSE => {
                let who = usize::from(c.byte()) % n;
                self.close(who);
            }
            script::CREDENTIAL => {
                let keys = match c.byte() % 3 {
                    0 => Some(LongTermKeys::from_password("carol", REALM, "rabbit")),
                    1 => Some(LongTermKeys::from_password("carol", REALM, "wrong")),
                    _ => None,
                };
                let waiting = self.server.stats().pending_requests;
                self.server
                    .credential_ready(self.now, "carol", keys, &mut self.binder);
                let answered = waiting - self.server.stats().pending_requests;
                let sent = self.drain_transmits(None);
                // Only carol's requests wait, and each gets exactly one answer.
                assert_eq!(sent, answered, "answers to {answered} waiting requests");
            }
            script::CONFIG => {
                let f = c.byte();
                let cap = c.byte();
                self.binder.refuse = (f & 0x40 != 0).then_some(50000 + u16::from(cap % 8));
                self.server.set_config(config(f, cap));
            }
            _ => {
                let len = usize::from(c.u16());
                let bytes = c.bytes(len).to_vec();
                self.stream_bytes(&bytes);
            }
        }
        self.drain_events();
    }

    /// Builds a request from the script, signed with the client's credentials unless the
    /// flags say otherwise.
    fn signed_request(&mut self, who: usize, c: &mut Cursor) -> Option<(Vec<u8>, Signed)> {
        let method = match c.byte() % 8 {
            method::BINDING => Method::BINDING,
            method::REFRESH => Method::REFRESH,
            method::CREATE_PERMISSION => Method::CREATE_PERMISSION,
            method::CHANNEL_BIND => Method::CHANNEL_BIND,
            method::ANY => Method::new(c.u16() & 0x0FFF)?,
            _ => Method::ALLOCATE,
        };
        let f = c.byte();
        let txid = match self.clients[who].last_txid {
            Some(t) if f & flags::RETRANSMIT != 0 => t,
            _ => self.fresh_txid(),
        };
        self.clients[who].last_txid = Some(txid);
        let mut b = MessageBuilder::new(method, Class::Request, txid);
        for _ in 0..c.byte() % 8 {
            self.attribute(c, &mut b);
        }
        let client = &self.clients[who];
        let mut signed = Signed {
            key: None,
            wrong: false,
        };
        if let (Some(nonce), false) = (&client.nonce, f & flags::UNSIGNED != 0) {
            b.add(&Attribute::Username(client.user.clone()))
                .add(&Attribute::Realm(REALM.to_string()))
                .add(&Attribute::Nonce(nonce.clone()));
            let mut algorithm = PasswordAlgorithm::md5();
            if f & flags::ALGORITHMS != 0 {
                if f & flags::SHA256_KEY != 0 {
                    algorithm = PasswordAlgorithm::sha256();
                }
                b.add(&Attribute::PasswordAlgorithms(client.offered.clone()))
                    .add(&Attribute::PasswordAlgorithm(algorithm.clone()));
            }
            let password = if f & flags::WRONG_KEY != 0 {
                "not the password"
            } else {
                client.password.as_str()
            };
            let key = long_term_key(&algorithm, &client.user, REALM, password)
                .expect("MD5 and SHA-256 keys");
            if f & flags::SHA256_MI != 0 {
                b.add_message_integrity_sha256(&key);
            } else {
                b.add_message_integrity(&key);
            }
            signed.wrong = f & flags::WRONG_KEY != 0;
            signed.key = (!signed.wrong).then_some(key);
        }
        if f & flags::FINGERPRINT != 0 {
            b.add_fingerprint();
        }
        let mut bytes = b.finish().ok()?;
        if f & flags::CORRUPT != 0 {
            let at = usize::from(c.u16()) % bytes.len();
            bytes[at] ^= 1 << (c.byte() % 8);
            // A corrupted request may still be answered, but not as one signed by us.
            signed.key = None;
        }
        Some((bytes, signed))
    }

    fn attribute(&mut self, c: &mut Cursor, b: &mut MessageBuilder) {
        let a = match c.byte() % attr::KINDS {
            attr::REQUESTED_TRANSPORT => Attribute::RequestedTransport(c.byte()),
            attr::LIFETIME => Attribute::Lifetime(c.u32()),
            attr::PEER => Attribute::XorPeerAddress(self.peers[usize::from(c.byte()) % 6]),
            attr::CHANNEL_NUMBER => Attribute::ChannelNumber(c.u16()),
            attr::EVEN_PORT => Attribute::EvenPort(c.byte() & 1 != 0),
            attr::TOKEN => {
                let i = usize::from(c.byte());
                match self.tokens.get(i % self.tokens.len().max(1)) {
                    Some(t) => Attribute::ReservationToken(*t),
                    None => {
                        let mut t = [0u8; 8];
                        t.copy_from_slice(&c.u32().to_be_bytes().repeat(2));
                        Attribute::ReservationToken(t)
                    }
                }
            }
            attr::REQUESTED_FAMILY => {
                Attribute::RequestedAddressFamily(exp_turn::AddressFamily::from_code(c.byte()))
            }
            attr::ADDITIONAL_FAMILY => {
                Attribute::AdditionalAddressFamily(exp_turn::AddressFamily::from_code(c.byte()))
            }
            attr::DONT_FRAGMENT => Attribute::DontFragment,
            attr::DATA => {
                let n = usize::from(c.byte());
                Attribute::Data(c.bytes(n).to_vec())
            }
            attr::RAW => {
                let typ = c.u16();
                let n = usize::from(c.byte());
                b.add_raw(typ, c.bytes(n));
                return;
            }
            attr::KNOWN_RAW => {
                let typ = KNOWN_TYPES[usize::from(c.byte()) % KNOWN_TYPES.len()];
                let n = usize::from(c.byte());
                b.add_raw(typ, c.bytes(n));
                return;
            }
            _ => {
                let peer = if c.byte() & 1 == 0 {
                    let a = c.u32().to_be_bytes();
                    SocketAddr::from((a, c.u16()))
                } else {
                    let mut a = [0u8; 16];
                    a.iter_mut().for_each(|x| *x = c.byte());
                    SocketAddr::from((a, c.u16()))
                };
                Attribute::XorPeerAddress(peer)
            }
        };
        b.add(&a);
    }

    /// One client packet, and the checks of its verdict and of what it queued.
    fn client_packet(&mut self, who: usize, pkt: &[u8], signed: Option<Signed>) {
        let key = self.clients[who].key;
        let verdict = self
            .server
            .client_packet(self.now, &key, pkt, &mut self.binder);
        let mut responses = Vec::new();
        let sent = self.drain_transmits(Some(&mut responses));
        match &verdict {
            ClientVerdict::Replied => {
                assert_eq!(sent, 1, "a reply is one response, not {sent}");
                let r = &responses[0];
                assert_eq!(
                    Some(&r.transaction_id().0[..]),
                    pkt.get(8..20),
                    "response to another request"
                );
                assert!(matches!(r.class(), Class::Success | Class::Error));
                if let Some(s) = &signed {
                    if s.wrong {
                        assert!(
                            !r.has_integrity(),
                            "answered a wrong key as if authenticated"
                        );
                    }
                    if let (Some(k), true) = (&s.key, r.has_integrity()) {
                        r.verify_integrity(k)
                            .expect("the response is signed with our key");
                    }
                }
            }
            ClientVerdict::Relay {
                relay,
                peer,
                payload,
            } => {
                assert_eq!(sent, 0);
                self.summary.to_peers += 1;
                assert!(payload.start <= payload.end && payload.end <= pkt.len());
                assert!(!forbidden(peer.ip()), "relayed to forbidden peer {peer}");
                assert!(
                    self.binder.bound.contains_key(relay),
                    "relay {relay:?} not open"
                );
                let info = self
                    .server
                    .allocation(&key, self.now)
                    .expect("relayed without an allocation");
                assert_eq!(info.relay, *relay);
                assert!(
                    info.permissions.iter().any(|p| p.peer == peer.ip())
                        || info.channels.iter().any(|c| c.peer == *peer),
                    "relayed to {peer} without permission or channel"
                );
            }
            ClientVerdict::Queued => {
                assert_eq!(sent, 0);
                self.summary.queued += 1;
                assert!(self.server.stats().pending_requests > 0);
            }
            ClientVerdict::Dropped(_) => assert_eq!(sent, 0, "a dropped packet was answered"),
        }
    }

    fn peer_packet(&mut self, relay: RelayId, peer: SocketAddr, len: usize) {
        match self.server.peer_packet(self.now, relay, peer, len) {
            PeerVerdict::Channel {
                client,
                channel,
                pad,
            } => {
                self.summary.to_clients += 1;
                assert!((0x4000..=0x7FFF).contains(&channel));
                assert!(len <= 65535);
                assert_eq!(pad, client.transport.is_stream());
                let info = self
                    .server
                    .allocation(&client, self.now)
                    .expect("a channel without an allocation");
                assert_eq!(info.relay, relay);
                assert!(info
                    .channels
                    .iter()
                    .any(|c| c.number == channel && c.peer == peer));
            }
            PeerVerdict::Indication { client } => {
                self.summary.to_clients += 1;
                let info = self
                    .server
                    .allocation(&client, self.now)
                    .expect("a Data indication without an allocation");
                assert_eq!(info.relay, relay);
                assert!(info.permissions.iter().any(|p| p.peer == peer.ip()));
                let payload = vec![0xA5; len];
                let mut out = Vec::new();
                self.server
                    .data_indication(peer, &payload, &mut out)
                    .expect("a payload the server accepted fits a Data indication");
                let m = Message::decode(&out).expect("the Data indication decodes");
                assert_eq!((m.method(), m.class()), (Method::DATA, Class::Indication));
                assert_eq!(
                    m.get(types::XOR_PEER_ADDRESS),
                    Some(&Attribute::XorPeerAddress(peer))
                );
                assert_eq!(m.get(types::DATA), Some(&Attribute::Data(payload)));
            }
            PeerVerdict::Dropped(_) => {}
        }
        assert!(self.server.poll_transmit().is_none());
    }

    /// Bytes on the TCP client's stream, cut into frames as the runtime does; a stream that
    /// cannot be framed closes the connection, and the next one gets a new connection id.
    fn stream_bytes(&mut self, bytes: &[u8]) {
        self.stream.extend_from_slice(bytes);
        loop {
            match frame_len(&self.stream) {
                Ok(Some((_, n))) if n <= self.stream.len() => {
                    let frame: Vec<u8> = self.stream.drain(..n).collect();
                    self.client_packet(TCP_CLIENT, &frame, None);
                }
                Ok(_) => return,
                Err(_) => {
                    self.close(TCP_CLIENT);
                    return;
                }
            }
        }
    }

    fn close(&mut self, who: usize) {
        let key = self.clients[who].key;
        self.server.client_closed(&key, &mut self.binder);
        assert!(self.server.allocation(&key, self.now).is_none());
        if key.transport.is_stream() {
            self.clients[who].key.conn += 1;
            self.stream.clear();
        }
    }

    fn advance(&mut self, d: Duration, stepwise: bool) {
        let target = self.now + d;
        if stepwise {
            while let Some(t) = self.server.poll_timeout() {
                if t > target {
                    break;
                }
                self.now = self.now.max(t);
                self.server.handle_timeout(self.now, &mut self.binder);
                self.drain_events();
            }
        }
        self.now = target;
        self.server.handle_timeout(self.now, &mut self.binder);
        assert!(self.server.poll_transmit().is_none());
    }

    /// Takes every queued response: each decodes and goes to a known client, which learns
    /// nonces and reservation tokens from them. Returns how many there were.
    fn drain_transmits(&mut self, mut keep: Option<&mut Vec<Message>>) -> usize {
        let mut n = 0;
        while let Some(t) = self.server.poll_transmit() {
            n += 1;
            let m = Message::decode(&t.bytes).expect("every response decodes");
            match m.get(types::ERROR_CODE) {
                Some(Attribute::ErrorCode { code, .. }) => self.summary.errors.push(*code),
                _ => self.summary.successes += 1,
            }
            let who = self
                .clients
                .iter()
                .position(|c| c.key == t.client)
                .expect("a response to a known client");
            if m.has_fingerprint() {
                m.verify_fingerprint().expect("the response's FINGERPRINT");
            }
            if let Some(Attribute::ErrorCode {
                code: 401 | 438, ..
            }) = m.get(types::ERROR_CODE)
            {
                if let Some(nonce) = m.nonce() {
                    assert_eq!(m.realm(), Some(REALM));
                    let client = &mut self.clients[who];
                    client.nonce = Some(nonce.to_string());
                    if let Some(Attribute::PasswordAlgorithms(l)) =
                        m.get(types::PASSWORD_ALGORITHMS)
                    {
                        client.offered = l.clone();
                    }
                }
            }
            if let Some(Attribute::ReservationToken(t)) = m.get(types::RESERVATION_TOKEN) {
                if self.tokens.len() < 16 {
                    self.tokens.push(*t);
                }
            }
            if let Some(k) = keep.as_deref_mut() {
                k.push(m);
            }
        }
        n
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.server.poll_event() {
            match e {
                Event::AllocationCreated { relay, .. } => {
                    assert!(self.binder.bound.contains_key(&relay));
                    self.created += 1;
                }
                Event::AllocationDeleted { relay, .. } => {
                    assert!(
                        !self.binder.bound.contains_key(&relay),
                        "deleted, still open"
                    );
                    self.deleted += 1;
                }
                Event::NeedCredential { username } => assert_eq!(username, "carol"),
                Event::SourceBlocked { .. } => {}
            }
        }
    }

    /// What holds between operations.
    fn check_state(&self) {
        let st = self.server.stats();
        assert_eq!(st.active_allocations as u64, self.created - self.deleted);
        assert_eq!(
            self.binder.bound.len(),
            st.active_allocations,
            "relay sockets"
        );
        assert_eq!(
            st.ports_in_use,
            st.active_allocations + st.reservations,
            "ports in use"
        );
        assert!(
            st.active_allocations <= self.clients.len(),
            "one per 5-tuple"
        );
        assert!(st.pending_requests <= PENDING_LIMIT);
        for a in self.server.allocations(self.now) {
            assert!(self.clients.iter().any(|c| c.key == a.client));
            assert_eq!(self.binder.bound.get(&a.relay), Some(&a.relayed));
            assert!(a.permissions.len() <= PER_ALLOCATION);
            assert!(a.channels.len() <= PER_ALLOCATION);
            for p in &a.permissions {
                assert!(
                    !forbidden(p.peer),
                    "permission for forbidden peer {}",
                    p.peer
                );
            }
        }
    }

    /// Far in the future nothing is left.
    fn finish(mut self) -> Summary {
        let later = self.now + Duration::from_secs(2 * 86_400);
        self.server.handle_timeout(later, &mut self.binder);
        self.drain_events();
        let st = self.server.stats();
        assert_eq!(st.active_allocations, 0, "allocations left");
        assert!(self.binder.bound.is_empty(), "relay sockets left");
        assert_eq!(st.reservations, 0, "reservations left");
        assert_eq!(st.ports_in_use, 0, "ports left");
        assert_eq!(st.pending_requests, 0, "waiting requests left");
        assert_eq!(self.created, self.deleted);
        assert_eq!(self.server.timer_entries(), 0, "timers left");
        assert_eq!(self.server.poll_timeout(), None);
        self.summary.allocations = self.created;
        self.summary
    }
}
