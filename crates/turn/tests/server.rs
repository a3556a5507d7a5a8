//! The sans-IO TURN server core driven by a scripted client, simulated time and a fake relay
//! binder: authentication (401, 438, SHA-256, time-limited credentials, delegated checks, rate
//! limiting), Allocate / Refresh / CreatePermission / ChannelBind with their error responses,
//! both relay paths, expiry, configuration changes, disconnects, garbage input, and a run with
//! 50,000 allocations.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::{Duration, Instant};

use exp_turn::server::{
    rest_password, BindError, ClientKey, ClientVerdict, CredentialSource, DeleteReason, DropReason,
    Event, KeyLookup, LongTermKeys, PeerVerdict, RelayAddr, RelayBinder, RelayId, Server,
    ServerConfig, StaticCredentials,
};
use exp_turn::{
    long_term_key, types, AddressFamily, Attribute, ChannelData, Class, Message, MessageBuilder,
    Method, PasswordAlgorithm, TransactionId,
};

/// Counts heap allocations and live heap bytes per thread, so a test can show that the relay
/// paths allocate nothing and what an allocation's state weighs (tests run on parallel threads;
/// a global count would mix them).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static LIVE_BYTES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE_BYTES.try_with(|c| c.set(c.get() + layout.size() as i64));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        let _ = LIVE_BYTES.try_with(|c| c.set(c.get() - layout.size() as i64));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

/// Heap bytes this thread holds (allocated here and not yet freed).
fn live_bytes() -> i64 {
    LIVE_BYTES.with(|c| c.get())
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

const UNIX_NOW: u64 = 1_700_000_000;
const REALM: &str = "exp";
const RELAY_V4: &str = "203.0.113.1";
const RELAY_V6: &str = "2001:db8::1";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- fake runtime pieces

/// Relay sockets as a table; can be told to refuse some ports.
#[derive(Default)]
struct FakeBinder {
    next: u32,
    bound: HashMap<RelayId, SocketAddr>,
    addrs: HashSet<SocketAddr>,
    closed: Vec<RelayId>,
    refuse: HashSet<u16>,
    binds: usize,
}

impl RelayBinder for FakeBinder {
    fn bind(&mut self, addr: SocketAddr) -> Result<RelayId, BindError> {
        self.binds += 1;
        if self.refuse.contains(&addr.port()) || !self.addrs.insert(addr) {
            return Err(BindError);
        }
        self.next += 1;
        let id = RelayId(self.next);
        self.bound.insert(id, addr);
        Ok(id)
    }

    fn close(&mut self, relay: RelayId) {
        let addr = self.bound.remove(&relay).expect("closed twice or unknown");
        self.addrs.remove(&addr);
        self.closed.push(relay);
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        relay_ipv4: Some(RelayAddr::new(ip(RELAY_V4))),
        relay_port_min: 50000,
        relay_port_max: 50999,
        ..ServerConfig::default()
    }
}

fn users() -> StaticCredentials {
    let mut c = StaticCredentials::new(REALM);
    c.add_password("alice", "wonderland");
    c.add_password("bob", "builder");
    c
}

struct H<C> {
    s: Server<C>,
    b: FakeBinder,
    now: Instant,
}

impl H<StaticCredentials> {
    fn new(cfg: ServerConfig) -> Self {
        H::with(cfg, users())
    }
}

impl<C: CredentialSource> H<C> {
    fn with(cfg: ServerConfig, creds: C) -> Self {
        cfg.validate().unwrap();
        let now = Instant::now();
        H {
            s: Server::new(cfg, creds, [42; 32], now, UNIX_NOW),
            b: FakeBinder::default(),
            now,
        }
    }

    fn send(&mut self, c: &TestClient, bytes: &[u8]) -> ClientVerdict {
        self.s.client_packet(self.now, &c.key, bytes, &mut self.b)
    }

    fn reply(&mut self) -> Message {
        let t = self.s.poll_transmit().expect("a response is queued");
        assert!(self.s.poll_transmit().is_none(), "one response only");
        Message::decode(&t.bytes).expect("responses decode")
    }

    /// Sends a request and returns its response; on 438 Stale Nonce, takes the new nonce and
    /// sends it again, as clients do (RFC 8489 §9.2.5).
    fn request(&mut self, c: &mut TestClient, method: Method, attrs: &[Attribute]) -> Message {
        let m = self.request_once(c, method, attrs);
        if error(&m) == Some(438) && c.nonce.is_some() {
            c.learn(&m);
            return self.request_once(c, method, attrs);
        }
        m
    }

    /// Sends a request and returns its response.
    fn request_once(&mut self, c: &mut TestClient, method: Method, attrs: &[Attribute]) -> Message {
        let bytes = c.build(method, attrs);
        assert_eq!(self.send(c, &bytes), ClientVerdict::Replied);
        let m = self.reply();
        assert_eq!(m.transaction_id(), c.last_txid);
        m
    }

    /// A request without credentials, to learn the realm and nonce from the 401.
    fn login(&mut self, c: &mut TestClient) {
        c.nonce = None;
        let m = self.request(c, Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
        assert_eq!(error(&m), Some(401));
        c.learn(&m);
    }

    /// Logs in and allocates; returns the relayed address.
    fn allocate(&mut self, c: &mut TestClient) -> SocketAddr {
        if c.nonce.is_none() {
            self.login(c);
        }
        let m = self.request(c, Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
        assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
        c.verify(&m);
        relayed(&m)
    }

    fn permit(&mut self, c: &mut TestClient, peer: &str) -> Message {
        self.request(
            c,
            Method::CREATE_PERMISSION,
            &[Attribute::XorPeerAddress(sa(peer))],
        )
    }

    fn relay_of(&self, c: &TestClient) -> RelayId {
        self.s
            .allocation(&c.key, self.now)
            .expect("allocation")
            .relay
    }

    /// Advances the clock to `now + d`, calling handle_timeout at each deadline on the way,
    /// as a runtime would.
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.s.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.s.handle_timeout(self.now, &mut self.b);
        }
        self.now = target;
        self.s.handle_timeout(self.now, &mut self.b);
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }
}

// ---------------------------------------------------------------- scripted client

struct TestClient {
    key: ClientKey,
    user: String,
    password: String,
    nonce: Option<String>,
    offered: Vec<PasswordAlgorithm>,
    /// Send PASSWORD-ALGORITHMS + PASSWORD-ALGORITHM with this algorithm.
    algorithm: Option<PasswordAlgorithm>,
    sha256_mi: bool,
    fingerprint: bool,
    txid: u64,
    last_txid: TransactionId,
}

impl TestClient {
    fn udp(remote: &str, user: &str, password: &str) -> TestClient {
        TestClient::new(
            ClientKey::udp(sa(remote), sa("192.0.2.254:3478")),
            user,
            password,
        )
    }

    fn new(key: ClientKey, user: &str, password: &str) -> TestClient {
        TestClient {
            key,
            user: user.into(),
            password: password.into(),
            nonce: None,
            offered: Vec::new(),
            algorithm: None,
            sha256_mi: false,
            fingerprint: false,
            txid: u64::from(key.remote.port()) << 32,
            last_txid: TransactionId([0; 12]),
        }
    }

    fn next_txid(&mut self) -> TransactionId {
        self.txid += 1;
        let mut id = [0u8; 12];
        id[4..].copy_from_slice(&self.txid.to_be_bytes());
        TransactionId(id)
    }

    fn key_bytes(&self) -> Vec<u8> {
        // An algorithm the client does not know: it signs with the MD5 key anyway.
        let alg = match &self.algorithm {
            Some(a) if a.id == PasswordAlgorithm::SHA256 => a.clone(),
            _ => PasswordAlgorithm::md5(),
        };
        long_term_key(&alg, &self.user, REALM, &self.password).unwrap()
    }

    fn build(&mut self, method: Method, attrs: &[Attribute]) -> Vec<u8> {
        let txid = self.next_txid();
        self.build_with(method, attrs, txid)
    }

    fn build_with(&mut self, method: Method, attrs: &[Attribute], txid: TransactionId) -> Vec<u8> {
        self.last_txid = txid;
        let mut b = MessageBuilder::new(method, Class::Request, txid);
        for a in attrs {
            b.add(a);
        }
        if let Some(nonce) = &self.nonce {
            b.add(&Attribute::Username(self.user.clone()));
            b.add(&Attribute::Realm(REALM.into()));
            b.add(&Attribute::Nonce(nonce.clone()));
            if let Some(alg) = &self.algorithm {
                b.add(&Attribute::PasswordAlgorithms(self.offered.clone()));
                b.add(&Attribute::PasswordAlgorithm(alg.clone()));
            }
            let key = self.key_bytes();
            if self.sha256_mi {
                b.add_message_integrity_sha256(&key);
            } else {
                b.add_message_integrity(&key);
            }
        }
        if self.fingerprint {
            b.add_fingerprint();
        }
        b.finish().unwrap()
    }

    /// Takes NONCE and PASSWORD-ALGORITHMS from a 401 or 438.
    fn learn(&mut self, m: &Message) {
        assert_eq!(m.realm(), Some(REALM));
        self.nonce = Some(m.nonce().expect("NONCE").to_string());
        match m.get(types::PASSWORD_ALGORITHMS) {
            Some(Attribute::PasswordAlgorithms(l)) => self.offered = l.clone(),
            other => panic!("no PASSWORD-ALGORITHMS: {other:?}"),
        }
    }

    /// The response is signed with our key, in the kind of integrity we used.
    fn verify(&self, m: &Message) {
        let key = self.key_bytes();
        if self.sha256_mi {
            m.verify_integrity_sha256(&key)
                .expect("MESSAGE-INTEGRITY-SHA256");
            assert!(m.get(types::MESSAGE_INTEGRITY).is_none());
        } else {
            m.verify_integrity_sha1(&key).expect("MESSAGE-INTEGRITY");
        }
    }

    /// A Send indication toward `peer`.
    fn send_indication(&mut self, peer: SocketAddr, data: &[u8]) -> Vec<u8> {
        let txid = self.next_txid();
        let mut b = MessageBuilder::new(Method::SEND, Class::Indication, txid);
        b.add(&Attribute::XorPeerAddress(peer));
        b.add(&Attribute::Data(data.to_vec()));
        b.finish().unwrap()
    }
}

fn error(m: &Message) -> Option<u16> {
    match m.get(types::ERROR_CODE) {
        Some(Attribute::ErrorCode { code, .. }) => Some(*code),
        _ => None,
    }
}

fn error_reason(m: &Message) -> Option<(u16, String)> {
    match m.get(types::ERROR_CODE) {
        Some(Attribute::ErrorCode { code, reason }) => Some((*code, reason.clone())),
        _ => None,
    }
}

fn relayed(m: &Message) -> SocketAddr {
    match m.get(types::XOR_RELAYED_ADDRESS) {
        Some(Attribute::XorRelayedAddress(a)) => *a,
        other => panic!("no XOR-RELAYED-ADDRESS: {other:?}"),
    }
}

fn lifetime(m: &Message) -> u32 {
    match m.get(types::LIFETIME) {
        Some(Attribute::Lifetime(l)) => *l,
        other => panic!("no LIFETIME: {other:?}"),
    }
}

fn relay_payload(v: &ClientVerdict) -> (RelayId, SocketAddr, Range<usize>) {
    match v {
        ClientVerdict::Relay {
            relay,
            peer,
            payload,
        } => (*relay, *peer, payload.clone()),
        other => panic!("not relayed: {other:?}"),
    }
}

// ---------------------------------------------------------------- authentication

#[test]
fn binding_needs_credentials_unless_configured() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    let m = h.request(&mut c, Method::BINDING, &[]);
    assert_eq!(m.class(), Class::Error);
    assert_eq!(error(&m), Some(401));
    assert_eq!(m.realm(), Some(REALM));
    assert!(m.nonce().unwrap().starts_with("obMatJos2gAAA"));
    assert_eq!(
        m.get(types::PASSWORD_ALGORITHMS),
        Some(&Attribute::PasswordAlgorithms(vec![
            PasswordAlgorithm::md5()
        ]))
    );
    assert!(!m.has_integrity(), "no key, no integrity on a 401");
    assert!(m.get(types::SOFTWARE).is_some());

    // With credentials: XOR-MAPPED-ADDRESS, signed.
    c.learn(&m);
    let m = h.request(&mut c, Method::BINDING, &[]);
    assert_eq!(m.class(), Class::Success);
    assert_eq!(
        m.get(types::XOR_MAPPED_ADDRESS),
        Some(&Attribute::XorMappedAddress(c.key.remote))
    );
    c.verify(&m);

    // Allowed by configuration: answered without credentials.
    let mut h = H::new(ServerConfig {
        allow_unauthenticated_binding: true,
        ..config()
    });
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    let m = h.request(&mut c, Method::BINDING, &[]);
    assert_eq!(m.class(), Class::Success);
    assert_eq!(
        m.get(types::XOR_MAPPED_ADDRESS),
        Some(&Attribute::XorMappedAddress(c.key.remote))
    );
    assert!(!m.has_integrity());
}

#[test]
fn allocate_after_challenge() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    c.fingerprint = true;
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17), Attribute::DontFragment],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    let relayed = relayed(&m);
    assert_eq!(relayed.ip(), ip(RELAY_V4));
    assert!((50000..=50999).contains(&relayed.port()));
    assert_eq!(
        m.get(types::XOR_MAPPED_ADDRESS),
        Some(&Attribute::XorMappedAddress(c.key.remote))
    );
    assert_eq!(lifetime(&m), 600);
    c.verify(&m);
    m.verify_fingerprint()
        .expect("FINGERPRINT answered with FINGERPRINT");
    // The key is MD5(username:realm:password), the SIP HA1.
    let ha1 = exp_turn::long_term_key_md5("alice", REALM, "wonderland");
    m.verify_integrity_sha1(&ha1).unwrap();

    assert_eq!(h.b.bound.len(), 1);
    assert_eq!(*h.b.bound.values().next().unwrap(), relayed);
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::AllocationCreated { username, relayed: r, .. }]
        if username == "alice" && *r == relayed)
    );
    let st = h.s.stats();
    assert_eq!(st.active_allocations, 1);
    assert_eq!(st.distinct_clients, 1);
    assert_eq!(st.counters.allocations_total, 1);
    assert_eq!(st.ports_in_use, 1);

    // Requested lifetimes are capped at the maximum, and never below the default.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::Lifetime(99_999),
        ],
    );
    assert_eq!(lifetime(&m), 3600);
    let m = h.request(&mut d, Method::REFRESH, &[Attribute::Lifetime(30)]);
    assert_eq!(lifetime(&m), 600);
}

#[test]
fn wrong_password_unknown_user_and_wrong_realm_get_401() {
    let mut h = H::new(config());
    for (user, password) in [("alice", "wrong"), ("mallory", "x")] {
        let mut c = TestClient::udp("198.51.100.7:40000", user, password);
        h.login(&mut c);
        let m = h.request(
            &mut c,
            Method::ALLOCATE,
            &[Attribute::RequestedTransport(17)],
        );
        assert_eq!(error(&m), Some(401));
        assert!(m.nonce().is_some() && m.realm() == Some(REALM));
        assert!(!m.has_integrity());
    }
    assert_eq!(h.s.stats().active_allocations, 0);
    assert_eq!(h.s.stats().counters.auth_failures, 2);
    assert!(h.b.bound.is_empty());

    // Integrity without USERNAME: 400.
    let mut b = MessageBuilder::new(Method::BINDING, Class::Request, TransactionId([9; 12]));
    b.add_message_integrity(b"key");
    let c = TestClient::udp("198.51.100.7:40000", "alice", "x");
    assert_eq!(h.send(&c, &b.finish().unwrap()), ClientVerdict::Replied);
    assert_eq!(error(&h.reply()), Some(400));
}

#[test]
fn sha256_integrity_and_password_algorithms() {
    // MESSAGE-INTEGRITY-SHA256 with the MD5 key (no algorithm attributes).
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    c.sha256_mi = true;
    h.allocate(&mut c);

    // SHA-256 offered and chosen: PASSWORD-ALGORITHMS echoed, SHA-256 key, SHA-256 MAC.
    let mut h = H::new(ServerConfig {
        offer_sha256: true,
        ..config()
    });
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    assert_eq!(
        c.offered,
        vec![PasswordAlgorithm::sha256(), PasswordAlgorithm::md5()]
    );
    c.algorithm = Some(PasswordAlgorithm::sha256());
    c.sha256_mi = true;
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    c.verify(&m);
    let sha_key = exp_turn::long_term_key_sha256("alice", REALM, "wonderland");
    m.verify_integrity_sha256(&sha_key).unwrap();

    // Bid-down: PASSWORD-ALGORITHMS not as offered → 400; only one of the two → 400.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    d.algorithm = Some(PasswordAlgorithm::md5());
    d.offered = vec![PasswordAlgorithm::md5()];
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(400));
    d.algorithm = None;
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::PasswordAlgorithm(PasswordAlgorithm::md5()),
        ],
    );
    assert_eq!(error(&m), Some(400));
    // An algorithm not offered → 400.
    d.offered = vec![PasswordAlgorithm::sha256(), PasswordAlgorithm::md5()];
    d.algorithm = Some(PasswordAlgorithm {
        id: 7,
        params: vec![],
    });
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(400));

    // A user with only an HA1 (MD5) key who picks SHA-256 cannot be checked: 401.
    h.s.credentials_mut().add_keys(
        "carol",
        LongTermKeys::from_md5(exp_turn::long_term_key_md5("carol", REALM, "pw")),
    );
    let mut e = TestClient::udp("198.51.100.9:40000", "carol", "pw");
    h.login(&mut e);
    e.algorithm = Some(PasswordAlgorithm::sha256());
    let m = h.request(
        &mut e,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(401));
    e.algorithm = Some(PasswordAlgorithm::md5());
    h.allocate(&mut e);
}

#[test]
fn stale_and_forged_nonces_get_438() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    h.advance(Duration::from_secs(601));
    // The allocation has expired too; a new one needs a new nonce.
    let m = h.request_once(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(438));
    assert!(!m.has_integrity());
    let old = c.nonce.clone();
    c.learn(&m);
    assert_ne!(c.nonce, old);
    h.allocate(&mut c);

    // A nonce for another IP, or made up, is not accepted either.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    d.nonce = c.nonce.clone();
    let m = h.request_once(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(438));
    d.nonce = Some("obMatJos2gAAA0000ffffAAAAAAAAAAAAAAAAAAAA".into());
    let m = h.request_once(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(438));
    assert_eq!(h.s.stats().counters.stale_nonces, 3);
    assert_eq!(h.s.stats().counters.auth_failures, 0);
}

#[test]
fn time_limited_credentials() {
    let secret = "north-wind";
    let mut h = H::new(ServerConfig {
        rest_secret: Some(secret.into()),
        ..config()
    });
    let user = format!("{}:alice", UNIX_NOW + 3600);
    let mut c = TestClient::udp("198.51.100.7:40000", &user, &rest_password(secret, &user));
    h.allocate(&mut c);

    let user = format!("{}", UNIX_NOW + 60);
    let mut c = TestClient::udp("198.51.100.7:40001", &user, &rest_password(secret, &user));
    h.allocate(&mut c);

    // Expired, or a wrong password: 401.
    let user = format!("{}:alice", UNIX_NOW - 1);
    let mut c = TestClient::udp("198.51.100.7:40002", &user, &rest_password(secret, &user));
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(401));
    let user = format!("{}:alice", UNIX_NOW + 3600);
    let mut c = TestClient::udp("198.51.100.7:40003", &user, "guess");
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(401));

    // Time moves on: the credential that was good for 60 s no longer is, not even to refresh
    // the allocation it made.
    let user = format!("{}", UNIX_NOW + 60);
    let mut short = TestClient::udp("198.51.100.7:40010", &user, &rest_password(secret, &user));
    h.allocate(&mut short);
    h.advance(Duration::from_secs(61));
    let m = h.request(&mut short, Method::REFRESH, &[]);
    assert_eq!(error(&m), Some(401));
    let user = format!("{}", UNIX_NOW + 60);
    let mut c = TestClient::udp("198.51.100.7:40004", &user, &rest_password(secret, &user));
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(401));
    // Ordinary users still come from the credential source.
    let mut c = TestClient::udp("198.51.100.7:40005", "bob", "builder");
    h.allocate(&mut c);
}

#[test]
fn failed_authentications_are_rate_limited() {
    let mut h = H::new(config());
    let mut bad = TestClient::udp("198.51.100.66:40000", "alice", "guess");
    h.login(&mut bad);
    for _ in 0..20 {
        let m = h.request(&mut bad, Method::BINDING, &[]);
        assert_eq!(error(&m), Some(401));
    }
    assert!(h.events().is_empty());
    let m = h.request(&mut bad, Method::BINDING, &[]);
    assert_eq!(error(&m), Some(401));
    assert_eq!(
        h.events(),
        vec![Event::SourceBlocked {
            ip: ip("198.51.100.66")
        }]
    );
    // Now dropped silently, even with the right password, from any port of that IP.
    let mut good = TestClient::udp("198.51.100.66:40001", "alice", "wonderland");
    good.nonce = bad.nonce.clone();
    let bytes = good.build(Method::BINDING, &[]);
    assert_eq!(
        h.send(&good, &bytes),
        ClientVerdict::Dropped(DropReason::RateLimited)
    );
    assert!(h.s.poll_transmit().is_none());
    // Other sources are not affected.
    let mut other = TestClient::udp("198.51.100.67:40000", "alice", "wonderland");
    h.allocate(&mut other);
    let st = h.s.stats();
    assert_eq!(st.counters.rate_limited, 1);
    assert_eq!(st.counters.dropped(DropReason::RateLimited), 1);
    assert_eq!(st.counters.auth_failures, 21);
    // After the block time, served again.
    h.advance(Duration::from_secs(10));
    h.allocate(&mut good);
}

#[test]
fn delegated_credentials() {
    let mut h = H::with(config(), |_: &str, _: &str| KeyLookup::Pending);
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    let first = c.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    assert_eq!(h.send(&c, &first), ClientVerdict::Queued);
    // The retransmission and a second request wait too, without asking again.
    assert_eq!(h.send(&c, &first), ClientVerdict::Queued);
    let second = c.build(Method::BINDING, &[]);
    assert_eq!(h.send(&c, &second), ClientVerdict::Queued);
    assert_eq!(
        h.events(),
        vec![Event::NeedCredential {
            username: "alice".into()
        }]
    );
    assert!(h.s.poll_transmit().is_none());
    assert_eq!(h.s.stats().pending_requests, 2);

    let keys = LongTermKeys::from_password("alice", REALM, "wonderland");
    h.s.credential_ready(h.now, "alice", Some(keys), &mut h.b);
    let t1 = h.s.poll_transmit().unwrap();
    let t2 = h.s.poll_transmit().unwrap();
    let m1 = Message::decode(&t1.bytes).unwrap();
    let m2 = Message::decode(&t2.bytes).unwrap();
    assert_eq!(m1.method(), Method::ALLOCATE);
    assert_eq!(m1.class(), Class::Success);
    c.verify(&m1);
    assert_eq!(m2.method(), Method::BINDING);
    assert_eq!(m2.class(), Class::Success);
    assert_eq!(h.s.stats().active_allocations, 1);
    assert!(matches!(&h.events()[..], [Event::AllocationCreated { .. }]));
    // Requests on the allocation use its keys: no new check.
    let m = h.request(&mut c, Method::REFRESH, &[]);
    assert_eq!(m.class(), Class::Success);
    assert!(h.events().is_empty());

    // A negative answer: 401.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    let bytes = d.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    assert_eq!(h.send(&d, &bytes), ClientVerdict::Queued);
    assert_eq!(h.events().len(), 1);
    h.s.credential_ready(h.now, "bob", None, &mut h.b);
    assert_eq!(error(&h.reply()), Some(401));

    // No answer: the request is dropped after the timeout, and the next one asks again.
    let bytes = d.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    assert_eq!(h.send(&d, &bytes), ClientVerdict::Queued);
    assert_eq!(h.events().len(), 1);
    h.advance(Duration::from_secs(11));
    assert_eq!(h.s.stats().pending_requests, 0);
    assert_eq!(
        h.s.stats().counters.dropped(DropReason::CredentialTimeout),
        1
    );
    let bytes = d.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    assert_eq!(h.send(&d, &bytes), ClientVerdict::Queued);
    assert_eq!(h.events().len(), 1);
}

#[test]
fn delegated_queue_is_bounded() {
    let cfg = ServerConfig {
        pending_limit: 4,
        ..config()
    };
    let mut h = H::with(cfg, |_: &str, _: &str| KeyLookup::Pending);
    for i in 0..10u16 {
        let mut c = TestClient::udp(&format!("198.51.100.7:{}", 40000 + i), "alice", "x");
        h.login(&mut c);
        let bytes = c.build(Method::BINDING, &[]);
        assert_eq!(h.send(&c, &bytes), ClientVerdict::Queued);
    }
    assert_eq!(h.s.stats().pending_requests, 4);
    assert_eq!(h.s.stats().counters.dropped(DropReason::QueueFull), 6);
}

#[test]
fn unknown_comprehension_required_attribute_gets_420() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::Unknown {
                typ: 0x7777,
                value: vec![1, 2, 3, 4],
            },
            Attribute::Unknown {
                typ: 0xC001,
                value: vec![],
            },
        ],
    );
    assert_eq!(error(&m), Some(420));
    assert_eq!(
        m.get(types::UNKNOWN_ATTRIBUTES),
        Some(&Attribute::UnknownAttributes(vec![0x7777]))
    );
    c.verify(&m);
    assert_eq!(h.s.stats().active_allocations, 0);
    // Comprehension-optional ones are ignored.
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::Unknown {
                typ: 0xC001,
                value: vec![],
            },
        ],
    );
    assert_eq!(m.class(), Class::Success);
}

// ---------------------------------------------------------------- Allocate errors

#[test]
fn allocate_error_cases() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    let m = h.request(&mut c, Method::ALLOCATE, &[]);
    assert_eq!(error(&m), Some(400));
    c.verify(&m);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(6)],
    );
    assert_eq!(error(&m), Some(442));
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::RequestedAddressFamily(AddressFamily::Other(9)),
        ],
    );
    assert_eq!(error(&m), Some(440));
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::EvenPort(false),
            Attribute::ReservationToken([1; 8]),
        ],
    );
    assert_eq!(error(&m), Some(400));
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::ReservationToken([1; 8]),
        ],
    );
    assert_eq!(error(&m), Some(508), "unknown token");
    for attrs in [
        // REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together.
        vec![
            Attribute::RequestedAddressFamily(AddressFamily::Ipv4),
            Attribute::AdditionalAddressFamily(AddressFamily::Ipv6),
        ],
        // ADDITIONAL-ADDRESS-FAMILY must be IPv6.
        vec![Attribute::AdditionalAddressFamily(AddressFamily::Ipv4)],
        // EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY.
        vec![
            Attribute::EvenPort(true),
            Attribute::AdditionalAddressFamily(AddressFamily::Ipv6),
        ],
        // RESERVATION-TOKEN with a family.
        vec![
            Attribute::ReservationToken([1; 8]),
            Attribute::RequestedAddressFamily(AddressFamily::Ipv4),
        ],
    ] {
        let mut all = vec![Attribute::RequestedTransport(17)];
        all.extend(attrs);
        let m = h.request(&mut c, Method::ALLOCATE, &all);
        assert_eq!(error(&m), Some(400), "{all:?}");
    }
    // Requests other than Allocate without an allocation: 437.
    for method in [
        Method::REFRESH,
        Method::CREATE_PERMISSION,
        Method::CHANNEL_BIND,
    ] {
        let m = h.request(
            &mut c,
            method,
            &[Attribute::XorPeerAddress(sa("192.0.2.1:9"))],
        );
        assert_eq!(error(&m), Some(437), "{method:?}");
    }
    // An unknown method: 400.
    let m = h.request(&mut c, Method::new(0x0FF).unwrap(), &[]);
    assert_eq!(error(&m), Some(400));
    assert!(h.b.bound.is_empty());
}

#[test]
fn second_allocate_on_same_five_tuple_and_retransmission() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    let first = c.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    assert_eq!(h.send(&c, &first), ClientVerdict::Replied);
    let m1 = h.reply();
    assert_eq!(m1.class(), Class::Success);
    // The same request again (a retransmission): the same success.
    h.now += Duration::from_millis(500);
    assert_eq!(h.send(&c, &first), ClientVerdict::Replied);
    let m2 = h.reply();
    assert_eq!(m2.class(), Class::Success);
    assert_eq!(m2.transaction_id(), m1.transaction_id());
    assert_eq!(relayed(&m2), relayed(&m1));
    c.verify(&m2);
    // A new Allocate: 437.
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(437));
    c.verify(&m);
    assert_eq!(h.b.bound.len(), 1);
    assert_eq!(h.s.stats().active_allocations, 1);
    // Another user on this 5-tuple: 441 for requests on the allocation.
    let mut mallory = TestClient::new(c.key, "bob", "builder");
    mallory.txid += 1 << 20;
    h.login(&mut mallory);
    let m = h.request(&mut mallory, Method::REFRESH, &[]);
    assert_eq!(error(&m), Some(441));
    let m = h.request(
        &mut mallory,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(437));
}

#[test]
fn capacity_and_alternate_servers() {
    let mut h = H::new(ServerConfig {
        capacity: 1,
        ..config()
    });
    let mut a = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut a);
    let mut b = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut b);
    let m = h.request(
        &mut b,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(486));
    b.verify(&m);

    let alts = vec![
        sa("192.0.2.20:3478"),
        sa("192.0.2.21:3478"),
        sa("[2001:db8::20]:3478"),
    ];
    h.s.set_config(ServerConfig {
        capacity: 1,
        alternate_servers: alts.clone(),
        ..config()
    });
    let mut seen = Vec::new();
    for _ in 0..3 {
        let m = h.request(
            &mut b,
            Method::ALLOCATE,
            &[Attribute::RequestedTransport(17)],
        );
        assert_eq!(error(&m), Some(300));
        b.verify(&m);
        match m.get(types::ALTERNATE_SERVER) {
            Some(Attribute::AlternateServer(s)) => seen.push(*s),
            other => panic!("{other:?}"),
        }
    }
    // Round robin over the alternates of the client's family.
    assert_eq!(seen, vec![alts[0], alts[1], alts[0]]);
    assert_eq!(h.s.stats().counters.allocations_refused, 4);
    assert_eq!(h.s.stats().active_allocations, 1);
}

#[test]
fn per_user_quota() {
    let mut h = H::new(ServerConfig {
        user_quota: 1,
        ..config()
    });
    let mut a = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut a);
    let mut a2 = TestClient::udp("198.51.100.7:40001", "alice", "wonderland");
    h.login(&mut a2);
    let m = h.request(
        &mut a2,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(486));
    // Even with alternates configured, quota is 486.
    h.s.set_config(ServerConfig {
        user_quota: 1,
        alternate_servers: vec![sa("192.0.2.20:3478")],
        ..config()
    });
    let m = h.request(
        &mut a2,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(486));
    let mut b = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.allocate(&mut b);
    // When alice's first allocation goes, she may allocate again.
    h.request(&mut a, Method::REFRESH, &[Attribute::Lifetime(0)]);
    h.allocate(&mut a2);
}

#[test]
fn refresh_zero_deletes_and_closes_the_relay() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    let relay = h.relay_of(&c);
    h.events();
    let m = h.request(&mut c, Method::REFRESH, &[Attribute::Lifetime(0)]);
    assert_eq!(m.class(), Class::Success);
    assert_eq!(lifetime(&m), 0);
    c.verify(&m);
    assert_eq!(h.b.closed, vec![relay]);
    assert!(h.b.bound.is_empty());
    assert_eq!(
        h.events(),
        vec![Event::AllocationDeleted {
            client: c.key,
            relay,
            reason: DeleteReason::Refreshed
        }]
    );
    let st = h.s.stats();
    assert_eq!(st.active_allocations, 0);
    assert_eq!(st.ports_in_use, 0);
    // Gone: further requests get 437, relayed data is dropped.
    let m = h.request(&mut c, Method::REFRESH, &[]);
    assert_eq!(error(&m), Some(437));
    assert_eq!(
        h.s.peer_packet(h.now, relay, sa("192.0.2.1:9"), 10),
        PeerVerdict::Dropped(DropReason::NoAllocation)
    );
    // Refresh with a family that is not the allocation's: 443.
    h.allocate(&mut c);
    let m = h.request(
        &mut c,
        Method::REFRESH,
        &[Attribute::RequestedAddressFamily(AddressFamily::Ipv6)],
    );
    assert_eq!(error(&m), Some(443));
}

// ---------------------------------------------------------------- relaying

#[test]
fn permission_and_send_indication() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    let relay = h.relay_of(&c);
    let peer = sa("192.0.2.50:7000");

    // No permission yet: dropped.
    let ind = c.send_indication(peer, b"hello");
    assert_eq!(
        h.send(&c, &ind),
        ClientVerdict::Dropped(DropReason::NoPermission)
    );

    // CreatePermission with several peers.
    let m = h.request(
        &mut c,
        Method::CREATE_PERMISSION,
        &[
            Attribute::XorPeerAddress(peer),
            Attribute::XorPeerAddress(sa("192.0.2.51:1")),
        ],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    c.verify(&m);

    let ind = c.send_indication(peer, b"hello");
    let (r, p, range) = relay_payload(&h.send(&c, &ind));
    assert_eq!((r, p), (relay, peer));
    assert_eq!(&ind[range], b"hello");
    // Any port of a permitted IP (RFC 8656 §9).
    let other_port = sa("192.0.2.50:7001");
    let ind = c.send_indication(other_port, b"odd-sized payload");
    let (_, p, range) = relay_payload(&h.send(&c, &ind));
    assert_eq!(p, other_port);
    assert_eq!(&ind[range], b"odd-sized payload");

    // From another 5-tuple: no allocation.
    let stranger = TestClient::udp("198.51.100.7:40001", "alice", "wonderland");
    assert_eq!(
        h.send(&stranger, &ind),
        ClientVerdict::Dropped(DropReason::NoAllocation)
    );

    // Peer → client: Data indication.
    assert_eq!(
        h.s.peer_packet(h.now, relay, peer, 3),
        PeerVerdict::Indication { client: c.key }
    );
    let mut out = Vec::new();
    h.s.data_indication(peer, b"abc", &mut out).unwrap();
    let m = Message::decode(&out).unwrap();
    assert_eq!((m.method(), m.class()), (Method::DATA, Class::Indication));
    assert_eq!(
        m.get(types::XOR_PEER_ADDRESS),
        Some(&Attribute::XorPeerAddress(peer))
    );
    assert_eq!(m.get(types::DATA), Some(&Attribute::Data(b"abc".to_vec())));
    // A peer without permission: dropped and counted.
    assert_eq!(
        h.s.peer_packet(h.now, relay, sa("192.0.2.99:7000"), 3),
        PeerVerdict::Dropped(DropReason::NoPermission)
    );
    assert_eq!(
        h.s.peer_packet(h.now, RelayId(999), peer, 3),
        PeerVerdict::Dropped(DropReason::NoAllocation)
    );

    let info = h.s.allocation(&c.key, h.now).unwrap();
    assert_eq!(info.permissions.len(), 2);
    assert_eq!(info.permissions[0].time_left, Duration::from_secs(300));
    assert_eq!(info.traffic.packets_to_peer, 2);
    assert_eq!(info.traffic.bytes_to_peer, 5 + 17);
    assert_eq!(info.traffic.packets_to_client, 1);
    assert_eq!(info.traffic.bytes_to_client, 3);
    let st = h.s.stats();
    assert_eq!(st.counters.traffic, info.traffic);
    assert_eq!(st.counters.dropped(DropReason::NoPermission), 2);
    assert_eq!(st.counters.dropped(DropReason::NoAllocation), 2);

    // Malformed Send indications (no DATA, unknown comprehension-required attribute): dropped.
    let mut b = MessageBuilder::new(Method::SEND, Class::Indication, TransactionId([3; 12]));
    b.add(&Attribute::XorPeerAddress(peer));
    let no_data = b.finish().unwrap();
    assert_eq!(
        h.send(&c, &no_data),
        ClientVerdict::Dropped(DropReason::Malformed)
    );
    let mut b = MessageBuilder::new(Method::SEND, Class::Indication, TransactionId([3; 12]));
    b.add(&Attribute::XorPeerAddress(peer));
    b.add(&Attribute::Unknown {
        typ: 0x7777,
        value: vec![],
    });
    b.add(&Attribute::Data(vec![1]));
    assert_eq!(
        h.send(&c, &b.finish().unwrap()),
        ClientVerdict::Dropped(DropReason::Malformed)
    );
    // A v6 peer on a v4 relay.
    let ind = c.send_indication(sa("[2001:db8::5]:9"), b"x");
    assert_eq!(
        h.send(&c, &ind),
        ClientVerdict::Dropped(DropReason::WrongFamily)
    );
    // Other indications and responses from clients are not answered.
    let b = MessageBuilder::new(Method::BINDING, Class::Indication, TransactionId([4; 12]));
    assert_eq!(
        h.send(&c, &b.finish().unwrap()),
        ClientVerdict::Dropped(DropReason::UnexpectedMessage)
    );
    let b = MessageBuilder::new(Method::BINDING, Class::Success, TransactionId([4; 12]));
    assert_eq!(
        h.send(&c, &b.finish().unwrap()),
        ClientVerdict::Dropped(DropReason::UnexpectedMessage)
    );
}

#[test]
fn channel_bind_and_channel_data_both_ways() {
    for transport in ["udp", "tcp"] {
        let mut h = H::new(config());
        let key = if transport == "udp" {
            ClientKey::udp(sa("198.51.100.7:40000"), sa("192.0.2.254:3478"))
        } else {
            ClientKey::tcp(sa("198.51.100.7:40000"), sa("192.0.2.254:3478"), 7)
        };
        let mut c = TestClient::new(key, "alice", "wonderland");
        h.allocate(&mut c);
        let relay = h.relay_of(&c);
        let peer = sa("192.0.2.50:7000");
        let m = h.request(
            &mut c,
            Method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(0x4001),
                Attribute::XorPeerAddress(peer),
            ],
        );
        assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
        c.verify(&m);

        // Client → peer.
        let frame = ChannelData {
            channel: 0x4001,
            data: b"rtp!!",
        }
        .to_vec(transport == "tcp")
        .unwrap();
        let (r, p, range) = relay_payload(&h.send(&c, &frame));
        assert_eq!((r, p), (relay, peer));
        assert_eq!(range, 4..9);
        // An unbound channel, a truncated frame: dropped.
        let other = ChannelData {
            channel: 0x4002,
            data: b"x",
        }
        .to_vec(false)
        .unwrap();
        assert_eq!(
            h.send(&c, &other),
            ClientVerdict::Dropped(DropReason::NoChannel)
        );
        assert_eq!(
            h.send(&c, &frame[..6]),
            ClientVerdict::Dropped(DropReason::Malformed)
        );

        // Peer → client: ChannelData, padded for TCP.
        assert_eq!(
            h.s.peer_packet(h.now, relay, peer, 5),
            PeerVerdict::Channel {
                client: c.key,
                channel: 0x4001,
                pad: transport == "tcp"
            }
        );
        // The permission came with the binding: another port of the peer gets indications.
        assert_eq!(
            h.s.peer_packet(h.now, relay, sa("192.0.2.50:7002"), 5),
            PeerVerdict::Indication { client: c.key }
        );
        // Refreshing the same binding is fine; conflicts and bad numbers are 400.
        let m = h.request(
            &mut c,
            Method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(0x4001),
                Attribute::XorPeerAddress(peer),
            ],
        );
        assert_eq!(m.class(), Class::Success);
        for (n, p) in [
            (0x4001, sa("192.0.2.60:1")),
            (0x4002, peer),
            (0x3FFF, sa("192.0.2.60:1")),
            (0x8000, sa("192.0.2.60:1")),
        ] {
            let m = h.request(
                &mut c,
                Method::CHANNEL_BIND,
                &[Attribute::ChannelNumber(n), Attribute::XorPeerAddress(p)],
            );
            assert_eq!(error(&m), Some(400), "{n:#x} {p}");
        }
        let m = h.request(
            &mut c,
            Method::CHANNEL_BIND,
            &[Attribute::ChannelNumber(0x4003)],
        );
        assert_eq!(error(&m), Some(400));
        let info = h.s.allocation(&c.key, h.now).unwrap();
        assert_eq!(info.channels.len(), 1);
        assert_eq!(info.channels[0].peer, peer);
        assert_eq!(info.channels[0].time_left, Duration::from_secs(600));
    }
}

#[test]
fn peer_policy() {
    let mut h = H::new(ServerConfig {
        denied_peers: vec!["10.0.0.0/8".parse().unwrap()],
        allowed_peers: vec!["10.1.0.0/16".parse().unwrap()],
        own_addresses: vec![ip("192.0.2.254")],
        ..config()
    });
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    for peer in [
        "127.0.0.1:80",
        "169.254.169.254:80",
        "0.0.0.0:1",
        "224.0.0.5:1",
        "255.255.255.255:1",
        "10.2.3.4:80",
        "192.0.2.254:3478",
        "203.0.113.1:50001",
    ] {
        let m = h.permit(&mut c, peer);
        assert_eq!(error(&m), Some(403), "{peer}");
        c.verify(&m);
    }
    for peer in [
        "10.1.2.3:80",
        "192.168.1.1:5060",
        "172.16.0.1:1",
        "192.0.2.9:1",
    ] {
        let m = h.permit(&mut c, peer);
        assert_eq!(m.class(), Class::Success, "{peer}");
    }
    // All or nothing: one refused peer fails the request.
    let m = h.request(
        &mut c,
        Method::CREATE_PERMISSION,
        &[
            Attribute::XorPeerAddress(sa("192.0.2.77:1")),
            Attribute::XorPeerAddress(sa("127.0.0.1:1")),
        ],
    );
    assert_eq!(error(&m), Some(403));
    assert!(!h
        .s
        .allocation(&c.key, h.now)
        .unwrap()
        .permissions
        .iter()
        .any(|p| p.peer == ip("192.0.2.77")));
    // Channels obey the policy too.
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa("127.0.0.1:9")),
        ],
    );
    assert_eq!(error(&m), Some(403));
    // Family mismatch: 443.
    let m = h.permit(&mut c, "[2001:db8::9]:1");
    assert_eq!(error(&m), Some(443));
    // No peer at all: 400.
    let m = h.request(&mut c, Method::CREATE_PERMISSION, &[]);
    assert_eq!(error(&m), Some(400));
    assert_eq!(h.s.stats().counters.peer_refused, 10);

    // Loopback allowed explicitly.
    h.s.set_config(ServerConfig {
        allowed_peers: vec!["127.0.0.0/8".parse().unwrap()],
        ..config()
    });
    let m = h.permit(&mut c, "127.0.0.1:80");
    assert_eq!(m.class(), Class::Success);
    let m = h.permit(&mut c, "169.254.169.254:80");
    assert_eq!(error(&m), Some(403));
}

#[test]
fn permission_and_channel_limits() {
    let mut h = H::new(ServerConfig {
        max_permissions: 2,
        max_channels: 1,
        ..config()
    });
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    assert_eq!(h.permit(&mut c, "192.0.2.1:1").class(), Class::Success);
    assert_eq!(h.permit(&mut c, "192.0.2.2:1").class(), Class::Success);
    // Refreshing existing ones is fine; a third is not.
    assert_eq!(h.permit(&mut c, "192.0.2.1:2").class(), Class::Success);
    assert_eq!(error(&h.permit(&mut c, "192.0.2.3:1")), Some(508));
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa("192.0.2.1:1")),
        ],
    );
    assert_eq!(m.class(), Class::Success);
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4001),
            Attribute::XorPeerAddress(sa("192.0.2.2:1")),
        ],
    );
    assert_eq!(error(&m), Some(508));
}

// ---------------------------------------------------------------- expiry

#[test]
fn allocation_permission_and_channel_expiry() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    let relay = h.relay_of(&c);
    let peer = sa("192.0.2.50:7000");
    let perm_only = sa("192.0.2.51:7000");
    h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(peer),
        ],
    );
    h.permit(&mut c, "192.0.2.51:7000");
    let frame = ChannelData {
        channel: 0x4000,
        data: b"x",
    }
    .to_vec(false)
    .unwrap();

    // Permissions last 300 s.
    h.advance(Duration::from_secs(299));
    assert!(matches!(
        h.s.peer_packet(h.now, relay, perm_only, 1),
        PeerVerdict::Indication { .. }
    ));
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.s.peer_packet(h.now, relay, perm_only, 1),
        PeerVerdict::Dropped(DropReason::NoPermission)
    );
    // The channel's peer lost its permission too (it was installed at the same time): its
    // data is no longer relayed to the client, though the client's ChannelData still goes out
    // while the channel is bound (RFC 8656 §12.6 checks no permission).
    assert_eq!(
        h.s.peer_packet(h.now, relay, peer, 1),
        PeerVerdict::Dropped(DropReason::NoPermission)
    );
    assert!(matches!(h.send(&c, &frame), ClientVerdict::Relay { .. }));
    assert!(h
        .s
        .allocation(&c.key, h.now)
        .unwrap()
        .permissions
        .is_empty());
    // Refresh the binding (and so the permission), and the allocation.
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(peer),
        ],
    );
    assert_eq!(m.class(), Class::Success);
    assert!(matches!(h.send(&c, &frame), ClientVerdict::Relay { .. }));
    h.request(&mut c, Method::REFRESH, &[Attribute::Lifetime(3600)]);

    // Keep the permission alive but not the channel: the channel expires 600 s after the
    // last ChannelBind.
    h.advance(Duration::from_secs(290));
    h.permit(&mut c, "192.0.2.50:1");
    h.advance(Duration::from_secs(290));
    h.permit(&mut c, "192.0.2.50:1");
    h.advance(Duration::from_secs(19));
    assert!(matches!(h.send(&c, &frame), ClientVerdict::Relay { .. }));
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.send(&c, &frame),
        ClientVerdict::Dropped(DropReason::NoChannel)
    );
    assert!(matches!(
        h.s.peer_packet(h.now, relay, peer, 1),
        PeerVerdict::Indication { .. }
    ));
    assert!(h.s.allocation(&c.key, h.now).unwrap().channels.is_empty());
    // During the 5-minute cool-down neither number nor peer can be bound elsewhere ...
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa("192.0.2.52:1")),
        ],
    );
    assert_eq!(error(&m), Some(400));
    // ... after it they can.
    h.advance(Duration::from_secs(300));
    let m = h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa("192.0.2.52:1")),
        ],
    );
    assert_eq!(m.class(), Class::Success);

    // The allocation expires at its lifetime.
    let left = h.s.allocation(&c.key, h.now).unwrap().time_left;
    h.events();
    h.advance(left - Duration::from_secs(1));
    assert_eq!(h.s.stats().active_allocations, 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.s.stats().active_allocations, 0);
    assert_eq!(h.b.closed, vec![relay]);
    assert_eq!(
        h.events(),
        vec![Event::AllocationDeleted {
            client: c.key,
            relay,
            reason: DeleteReason::Expired
        }]
    );
    assert_eq!(h.s.poll_timeout(), None, "nothing left to wait for");
    assert_eq!(h.s.timer_entries(), 0);
}

#[test]
fn even_port_and_reservation_token() {
    let mut h = H::new(config());
    let mut a = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut a);
    let m = h.request(
        &mut a,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17), Attribute::EvenPort(true)],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    let port = relayed(&m).port();
    assert_eq!(port % 2, 0);
    let token = match m.get(types::RESERVATION_TOKEN) {
        Some(Attribute::ReservationToken(t)) => *t,
        other => panic!("{other:?}"),
    };
    assert_eq!(h.s.stats().reservations, 1);
    assert_eq!(h.s.stats().ports_in_use, 2);

    // Another client claims the odd port with the token.
    let mut b = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut b);
    let m = h.request(
        &mut b,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::ReservationToken(token),
        ],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    assert_eq!(relayed(&m).port(), port + 1);
    assert!(m.get(types::RESERVATION_TOKEN).is_none());
    assert_eq!(h.s.stats().reservations, 0);
    // A token works once.
    let mut c = TestClient::udp("198.51.100.9:40000", "bob", "builder");
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::ReservationToken(token),
        ],
    );
    assert_eq!(error(&m), Some(508));

    // EVEN-PORT without R: even, no token. A reservation not claimed in 30 s is released.
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::EvenPort(false),
        ],
    );
    assert_eq!(relayed(&m).port() % 2, 0);
    assert!(m.get(types::RESERVATION_TOKEN).is_none());
    let mut d = TestClient::udp("198.51.100.10:40000", "bob", "builder");
    h.login(&mut d);
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17), Attribute::EvenPort(true)],
    );
    let Some(Attribute::ReservationToken(token)) = m.get(types::RESERVATION_TOKEN).cloned() else {
        panic!("no token");
    };
    assert_eq!(h.s.stats().ports_in_use, 5);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.s.stats().reservations, 0);
    assert_eq!(h.s.stats().ports_in_use, 4);
    let mut e = TestClient::udp("198.51.100.11:40000", "bob", "builder");
    h.login(&mut e);
    let m = h.request(
        &mut e,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::ReservationToken(token),
        ],
    );
    assert_eq!(error(&m), Some(508));
}

#[test]
fn ipv6_relays() {
    // No IPv6 relay address: 440 (RFC 6156 §4.2).
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::RequestedAddressFamily(AddressFamily::Ipv6),
        ],
    );
    assert_eq!(error(&m), Some(440));
    c.verify(&m);

    let mut h = H::new(ServerConfig {
        relay_ipv6: Some(RelayAddr::new(ip(RELAY_V6))),
        ..config()
    });
    let mut c = TestClient::new(
        ClientKey::udp(sa("[2001:db8:1::7]:40000"), sa("[2001:db8::254]:3478")),
        "alice",
        "wonderland",
    );
    h.login(&mut c);
    let m = h.request(
        &mut c,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::RequestedAddressFamily(AddressFamily::Ipv6),
        ],
    );
    assert_eq!(m.class(), Class::Success, "{:?}", error_reason(&m));
    let r = relayed(&m);
    assert_eq!(r.ip(), ip(RELAY_V6));
    let peer = sa("[2001:db8:5::1]:9000");
    assert_eq!(
        h.permit(&mut c, "[2001:db8:5::1]:9000").class(),
        Class::Success
    );
    assert_eq!(error(&h.permit(&mut c, "192.0.2.1:1")), Some(443));
    assert_eq!(error(&h.permit(&mut c, "[fe80::1]:1")), Some(403));
    assert_eq!(error(&h.permit(&mut c, "[::1]:1")), Some(403));
    assert_eq!(error(&h.permit(&mut c, "[::ffff:127.0.0.1]:1")), Some(403));
    let ind = c.send_indication(peer, b"v6");
    let (_, p, range) = relay_payload(&h.send(&c, &ind));
    assert_eq!(p, peer);
    assert_eq!(&ind[range], b"v6");
    let relay = h.relay_of(&c);
    assert_eq!(
        h.s.peer_packet(h.now, relay, peer, 2),
        PeerVerdict::Indication { client: c.key }
    );
    let mut out = vec![0xAA];
    h.s.data_indication(peer, b"v6", &mut out).unwrap();
    let m = Message::decode(&out[1..]).unwrap();
    assert_eq!(
        m.get(types::XOR_PEER_ADDRESS),
        Some(&Attribute::XorPeerAddress(peer))
    );

    // Dual allocation is not offered: IPv4 relay plus ADDRESS-ERROR-CODE 440 for IPv6.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[
            Attribute::RequestedTransport(17),
            Attribute::AdditionalAddressFamily(AddressFamily::Ipv6),
        ],
    );
    assert_eq!(m.class(), Class::Success);
    assert!(relayed(&m).is_ipv4());
    assert!(matches!(
        m.get(types::ADDRESS_ERROR_CODE),
        Some(Attribute::AddressErrorCode { code: 440, .. })
    ));
}

// ---------------------------------------------------------------- runtime interplay

#[test]
fn bind_failures_move_to_the_next_port() {
    let mut h = H::new(ServerConfig {
        relay_port_min: 50000,
        relay_port_max: 50003,
        ..config()
    });
    h.b.refuse = [50000, 50001, 50002].into_iter().collect();
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    assert_eq!(h.allocate(&mut c).port(), 50003);
    // Pool exhausted (the refused ports stay free in the pool, but cannot be bound): 508.
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(508));
    assert_eq!(h.s.stats().active_allocations, 1);
}

#[test]
fn set_config_keeps_allocations() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    let relayed_before = h.allocate(&mut c);
    h.permit(&mut c, "192.0.2.50:1");
    let relay = h.relay_of(&c);
    h.s.set_config(ServerConfig {
        capacity: 0,
        relay_port_min: 60000,
        relay_port_max: 60010,
        permission_lifetime: Duration::from_secs(60),
        software: None,
        ..config()
    });
    let info = h.s.allocation(&c.key, h.now).unwrap();
    assert_eq!(info.relayed, relayed_before);
    assert_eq!(h.b.bound.len(), 1);
    assert!(matches!(
        h.s.peer_packet(h.now, relay, sa("192.0.2.50:1"), 1),
        PeerVerdict::Indication { .. }
    ));
    let m = h.request(&mut c, Method::REFRESH, &[]);
    assert_eq!(m.class(), Class::Success);
    assert!(m.get(types::SOFTWARE).is_none());
    // New limits for new requests.
    assert_eq!(h.permit(&mut c, "192.0.2.51:1").class(), Class::Success);
    let info = h.s.allocation(&c.key, h.now).unwrap();
    let p51 = info
        .permissions
        .iter()
        .find(|p| p.peer == ip("192.0.2.51"))
        .unwrap();
    assert_eq!(p51.time_left, Duration::from_secs(60));
    let mut d = TestClient::udp("198.51.100.8:40000", "bob", "builder");
    h.login(&mut d);
    let m = h.request(
        &mut d,
        Method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
    );
    assert_eq!(error(&m), Some(486));
    h.s.set_config(ServerConfig {
        relay_port_min: 60000,
        relay_port_max: 60010,
        ..config()
    });
    let r = h.allocate(&mut d);
    assert!((60000..=60010).contains(&r.port()));
    // The old allocation's port is released to its pool when it goes.
    h.request(&mut c, Method::REFRESH, &[Attribute::Lifetime(0)]);
    assert_eq!(h.s.stats().ports_in_use, 1);
}

#[test]
fn client_closed_deletes_the_allocation() {
    let mut h = H::new(config());
    let key = ClientKey::tls(sa("198.51.100.7:40000"), sa("192.0.2.254:443"), 3);
    let mut c = TestClient::new(key, "alice", "wonderland");
    h.allocate(&mut c);
    let relay = h.relay_of(&c);
    // Another connection from the same address is another 5-tuple.
    let key2 = ClientKey::tls(sa("198.51.100.7:40000"), sa("192.0.2.254:443"), 4);
    let mut c2 = TestClient::new(key2, "alice", "wonderland");
    c2.txid += 1 << 20;
    h.allocate(&mut c2);
    h.events();
    h.s.client_closed(&key, &mut h.b);
    assert_eq!(h.b.closed, vec![relay]);
    assert_eq!(
        h.events(),
        vec![Event::AllocationDeleted {
            client: key,
            relay,
            reason: DeleteReason::ClientClosed
        }]
    );
    assert_eq!(h.s.stats().active_allocations, 1);
    assert!(h.s.allocation(&key2, h.now).is_some());
    // Closing an unknown client does nothing.
    h.s.client_closed(&key, &mut h.b);
    assert_eq!(h.b.closed.len(), 1);
}

#[test]
fn bad_fingerprint_is_dropped() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    c.fingerprint = true;
    let mut bytes = c.build(Method::BINDING, &[]);
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    assert_eq!(
        h.send(&c, &bytes),
        ClientVerdict::Dropped(DropReason::BadFingerprint)
    );
    assert!(h.s.poll_transmit().is_none());
}

#[test]
fn relay_paths_do_not_allocate() {
    let mut h = H::new(config());
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    let relay = h.relay_of(&c);
    let peer = sa("192.0.2.50:7000");
    let other = sa("192.0.2.51:7000");
    h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(peer),
        ],
    );
    h.permit(&mut c, "192.0.2.51:1");
    let frame = ChannelData {
        channel: 0x4000,
        data: &[7; 160],
    }
    .to_vec(false)
    .unwrap();
    let ind = c.send_indication(other, &[7; 160]);
    let mut out = Vec::with_capacity(2048);
    let before = allocations();
    for _ in 0..1000 {
        assert!(matches!(
            h.s.client_packet(h.now, &c.key, &frame, &mut h.b),
            ClientVerdict::Relay { .. }
        ));
        assert!(matches!(
            h.s.client_packet(h.now, &c.key, &ind, &mut h.b),
            ClientVerdict::Relay { .. }
        ));
        assert!(matches!(
            h.s.peer_packet(h.now, relay, peer, 160),
            PeerVerdict::Channel { .. }
        ));
        assert!(matches!(
            h.s.peer_packet(h.now, relay, other, 160),
            PeerVerdict::Indication { .. }
        ));
        out.clear();
        h.s.data_indication(other, &[7; 160], &mut out).unwrap();
        // Drops are cheap too.
        let _ = h.s.peer_packet(h.now, relay, sa("192.0.2.99:1"), 160);
        let _ = h.s.client_packet(h.now, &c.key, &frame[..3], &mut h.b);
    }
    assert_eq!(allocations() - before, 0, "the relay paths allocated");
}

// ---------------------------------------------------------------- robustness

/// xorshift64*: deterministic pseudo-random bytes.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_and_mutations_never_panic_nor_leak() {
    let mut h = H::new(ServerConfig {
        allowed_peers: vec!["0.0.0.0/0".parse().unwrap()],
        ..config()
    });
    let mut c = TestClient::udp("198.51.100.7:40000", "alice", "wonderland");
    h.allocate(&mut c);
    h.request(
        &mut c,
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa("192.0.2.50:7000")),
        ],
    );
    let relay = h.relay_of(&c);
    let tcp = TestClient::new(
        ClientKey::tcp(sa("198.51.100.9:40000"), sa("192.0.2.254:3478"), 1),
        "bob",
        "builder",
    );
    let mut samples: Vec<Vec<u8>> = vec![
        c.build(
            Method::ALLOCATE,
            &[Attribute::RequestedTransport(17), Attribute::EvenPort(true)],
        ),
        c.build(Method::REFRESH, &[Attribute::Lifetime(0)]),
        c.build(
            Method::CREATE_PERMISSION,
            &[Attribute::XorPeerAddress(sa("192.0.2.9:1"))],
        ),
        c.build(
            Method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(0x4001),
                Attribute::XorPeerAddress(sa("[::1]:1")),
            ],
        ),
        c.build(Method::BINDING, &[]),
        c.send_indication(sa("192.0.2.50:7000"), b"payload"),
        ChannelData {
            channel: 0x4000,
            data: b"chan",
        }
        .to_vec(true)
        .unwrap(),
    ];
    c.sha256_mi = true;
    c.fingerprint = true;
    samples.push(c.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]));

    let mut rng = Prng(0x9E37_79B9_7F4A_7C15);
    let mut stun_header = vec![0u8; 20];
    for i in 0..60_000 {
        let pkt: Vec<u8> = match i % 4 {
            // Random bytes of random length.
            0 => (0..rng.below(120)).map(|_| rng.next() as u8).collect(),
            // A valid STUN header with random attributes.
            1 => {
                let body: Vec<u8> = (0..rng.below(16) * 4).map(|_| rng.next() as u8).collect();
                stun_header[0] = 0;
                stun_header[1] = [0x01, 0x03, 0x04, 0x08, 0x09, 0x16, 0x11][rng.below(7)];
                stun_header[2..4].copy_from_slice(&(body.len() as u16).to_be_bytes());
                stun_header[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
                let mut p = stun_header.clone();
                p.extend(body);
                p
            }
            // Mutations of valid messages: flipped bytes, truncations, extensions.
            _ => {
                let mut p = samples[rng.below(samples.len())].clone();
                for _ in 0..1 + rng.below(3) {
                    match rng.below(3) {
                        0 if !p.is_empty() => {
                            let at = rng.below(p.len());
                            p[at] ^= 1 << rng.below(8);
                        }
                        1 => p.truncate(rng.below(p.len() + 1)),
                        _ => p.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
                    }
                }
                p
            }
        };
        let who = if i % 2 == 0 { &c } else { &tcp };
        let _ = h.s.client_packet(h.now, &who.key, &pkt, &mut h.b);
        while let Some(t) = h.s.poll_transmit() {
            // Whatever the server sends decodes.
            Message::decode(&t.bytes).expect("server output decodes");
        }
        let _ = h.s.peer_packet(
            h.now,
            RelayId(rng.below(4) as u32),
            sa("192.0.2.50:7000"),
            rng.below(70_000),
        );
        if i % 1000 == 0 {
            h.now += Duration::from_secs(1);
        }
    }
    // No allocation sneaked in: at most alice's (a replayed Refresh may have deleted it and a
    // replayed Allocate made it again), and every bound relay belongs to an allocation.
    let st = h.s.stats();
    assert!(st.active_allocations <= 1);
    assert_eq!(h.b.bound.len(), st.active_allocations);
    assert!(h.s.allocations(h.now).iter().all(|a| a.client == c.key));
    let _ = relay;
    // And it all goes away in time.
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.s.stats().active_allocations, 0);
    assert!(h.b.bound.is_empty());
    assert_eq!(h.s.stats().reservations, 0);
    assert_eq!(h.s.stats().ports_in_use, 0);
}

#[test]
fn fifty_thousand_allocations_are_created_and_expired() {
    const N: u32 = 50_000;
    let started = std::time::Instant::now();
    let mut h = H::new(ServerConfig {
        capacity: 60_000,
        relay_port_min: 1024,
        relay_port_max: 65535,
        software: None,
        ..config()
    });
    // One nonce serves every port of the client IP.
    let mut first = TestClient::udp("198.51.100.7:1", "alice", "wonderland");
    h.login(&mut first);
    let nonce = first.nonce.clone();
    h.events();
    let heap_before = live_bytes();
    for i in 0..N {
        let port = 10_000 + (i % 50_000) as u16;
        let host = 7 + i / 50_000;
        let mut c = TestClient::udp(&format!("198.51.100.{host}:{port}"), "alice", "wonderland");
        c.nonce = nonce.clone();
        let bytes = c.build(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
        assert_eq!(h.send(&c, &bytes), ClientVerdict::Replied);
        let t = h.s.poll_transmit().unwrap();
        assert_eq!(t.bytes[..2], [0x01, 0x03], "Allocate success");
    }
    eprintln!("created in {:?}", started.elapsed());
    assert_eq!(h.s.stats().active_allocations, N as usize);
    assert_eq!(h.b.bound.len(), N as usize);
    assert!(h.s.timer_entries() <= N as usize);
    h.events();
    // The core's state for them (the fake binder's tables included, so
    // this is an upper bound): SPEC's 50,000 allocations within 256 MiB leaves the sockets,
    // which live in the kernel, almost all of it.
    let held = (live_bytes() - heap_before) as f64;
    eprintln!(
        "{N} allocations hold {:.1} MiB of heap in the core ({:.0} bytes each)",
        held / (1 << 20) as f64,
        held / f64::from(N)
    );
    assert!(held < 64.0 * (1 << 20) as f64, "{held} bytes");
    h.advance(Duration::from_secs(600));
    assert_eq!(h.s.stats().active_allocations, 0);
    assert!(h.b.bound.is_empty());
    assert_eq!(h.s.timer_entries(), 0);
    assert_eq!(h.events().len(), N as usize);
    eprintln!("created and expired in {:?}", started.elapsed());
}
