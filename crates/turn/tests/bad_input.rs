//! Bad input, the acceptance evidence of issue 5 that runs with every `cargo test`: truncated,
//! oversized, wrong-length, wrong-cookie, wrong-integrity, wrong-fingerprint, duplicated and
//! unknown-attribute messages and malformed ChannelData, each through the decoder and through
//! the sans-IO server. Every case asserts the answer the RFCs prescribe (the error code, or a
//! silent drop under the right counter) and that no allocation comes of it; a deterministic
//! mutation loop then feeds ~20,000 damaged variants of valid messages to both and checks that
//! nothing panics and that, once the clock has moved far enough, nothing is left allocated.
//! The coverage-guided fuzzing of the same code (cargo fuzz, nightly) lives in fuzz/.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use exp_turn::server::{
    BindError, ClientKey, ClientVerdict, DropReason, Event, PeerVerdict, RelayAddr, RelayBinder,
    RelayId, Server, ServerConfig, StaticCredentials,
};
use exp_turn::{
    frame_len, long_term_key_md5, short_term_key, types, Attribute, ChannelData, ChannelError,
    Class, FrameKind, Message, MessageBuilder, Method, StunError, TransactionId, HEADER_LEN,
    MAGIC_COOKIE,
};

const REALM: &str = "exp";
const UNIX_NOW: u64 = 1_700_000_000;
const PEER: &str = "192.0.2.50:7000";

/// RFC 5769 §2.1 "Sample Request" (short-term credentials, password below).
const RFC5769_REQUEST: &str = "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573\
7420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a683676592020200008\
00149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
const RFC5769_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
/// RFC 5769 §2.4 "Sample Request with Long-Term Authentication".
const RFC5769_LONG_TERM: &str = "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e3\
83aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014\
000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn error(m: &Message) -> Option<u16> {
    match m.get(types::ERROR_CODE) {
        Some(Attribute::ErrorCode { code, .. }) => Some(*code),
        _ => None,
    }
}

/// (offset, type, value length) of each attribute of a well-formed message.
fn attributes(msg: &[u8]) -> Vec<(usize, u16, usize)> {
    let mut out = Vec::new();
    let mut off = HEADER_LEN;
    while off + 4 <= msg.len() {
        let typ = u16::from_be_bytes([msg[off], msg[off + 1]]);
        let len = usize::from(u16::from_be_bytes([msg[off + 2], msg[off + 3]]));
        out.push((off, typ, len));
        off += 4 + ((len + 3) & !3);
    }
    out
}

fn offset_of(msg: &[u8], typ: u16) -> usize {
    attributes(msg)
        .into_iter()
        .find(|a| a.1 == typ)
        .map(|a| a.0)
        .expect("attribute present")
}

/// Rewrites the header length to match the bytes (after adding or removing attributes).
fn fix_length(msg: &mut [u8]) {
    let len = (msg.len() - HEADER_LEN) as u16;
    msg[2..4].copy_from_slice(&len.to_be_bytes());
}

// ---------------------------------------------------------------- the server rig

/// Relay sockets as a table; insists that the core never double-binds or double-closes.
#[derive(Default)]
struct Binder {
    next: u32,
    bound: HashMap<RelayId, SocketAddr>,
}

impl RelayBinder for Binder {
    fn bind(&mut self, addr: SocketAddr) -> Result<RelayId, BindError> {
        assert!(
            !self.bound.values().any(|a| *a == addr),
            "{addr} bound twice"
        );
        self.next += 1;
        self.bound.insert(RelayId(self.next), addr);
        Ok(RelayId(self.next))
    }

    fn close(&mut self, relay: RelayId) {
        assert!(
            self.bound.remove(&relay).is_some(),
            "{relay:?} closed twice"
        );
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        relay_ipv4: Some(RelayAddr::new(ip("203.0.113.1"))),
        relay_ipv6: Some(RelayAddr::new(ip("2001:db8::1"))),
        relay_port_min: 50000,
        relay_port_max: 50999,
        // The cases below fail authentication on purpose, hundreds of times.
        auth_failure_limit: 1_000_000,
        ..ServerConfig::default()
    }
}

struct Rig {
    s: Server<StaticCredentials>,
    b: Binder,
    now: Instant,
    created: u64,
    deleted: u64,
}

/// What one client packet did.
struct Outcome {
    verdict: ClientVerdict,
    responses: Vec<Message>,
}

impl Outcome {
    /// The single response to a request that was answered.
    fn reply(&self) -> &Message {
        assert_eq!(self.verdict, ClientVerdict::Replied);
        &self.responses[0]
    }

    fn code(&self) -> Option<u16> {
        error(self.reply())
    }
}

impl Rig {
    fn new(cfg: ServerConfig) -> Rig {
        cfg.validate().unwrap();
        let mut users = StaticCredentials::new(REALM);
        users.add_password("alice", "wonderland");
        users.add_password("bob", "builder");
        let now = Instant::now();
        Rig {
            s: Server::new(cfg, users, [9; 32], now, UNIX_NOW),
            b: Binder::default(),
            now,
            created: 0,
            deleted: 0,
        }
    }

    /// Sends one packet and checks what every verdict promises: an answered request has
    /// exactly one response, for the same transaction, that decodes; anything else has none.
    fn send(&mut self, key: &ClientKey, pkt: &[u8]) -> Outcome {
        let verdict = self.s.client_packet(self.now, key, pkt, &mut self.b);
        let mut responses = Vec::new();
        while let Some(t) = self.s.poll_transmit() {
            assert_eq!(t.client, *key);
            let m = Message::decode(&t.bytes).expect("every response decodes");
            responses.push(m);
        }
        match &verdict {
            ClientVerdict::Replied => {
                assert_eq!(responses.len(), 1, "one response per request");
                assert_eq!(Some(&responses[0].transaction_id().0[..]), pkt.get(8..20));
                assert!(matches!(
                    responses[0].class(),
                    Class::Success | Class::Error
                ));
            }
            ClientVerdict::Relay { payload, .. } => {
                assert!(responses.is_empty());
                assert!(payload.end <= pkt.len() && payload.start <= payload.end);
            }
            _ => assert!(responses.is_empty(), "{verdict:?} but answered"),
        }
        self.events();
        Outcome { verdict, responses }
    }

    fn events(&mut self) {
        while let Some(e) = self.s.poll_event() {
            match e {
                Event::AllocationCreated { .. } => self.created += 1,
                Event::AllocationDeleted { .. } => self.deleted += 1,
                _ => {}
            }
        }
    }

    fn dropped(&self, reason: DropReason) -> u64 {
        self.s.stats().counters.dropped(reason)
    }

    fn allocations(&self) -> usize {
        self.s.stats().active_allocations
    }

    /// What must hold between packets: relay sockets, ports and allocations agree.
    fn check(&self) {
        let st = self.s.stats();
        assert_eq!(st.active_allocations as u64, self.created - self.deleted);
        assert_eq!(self.b.bound.len(), st.active_allocations, "relay sockets");
        assert_eq!(st.ports_in_use, st.active_allocations + st.reservations);
    }

    /// Moves the clock on, calling handle_timeout at each deadline as the runtime does.
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
        self.events();
    }

    /// Two days later nothing is left: no allocation, socket, port, reservation, waiting
    /// request or timer.
    fn assert_all_expire(&mut self) {
        self.advance(Duration::from_secs(2 * 86_400));
        let st = self.s.stats();
        assert_eq!(st.active_allocations, 0, "allocations left");
        assert!(self.b.bound.is_empty(), "relay sockets left");
        assert_eq!(st.reservations, 0, "reservations left");
        assert_eq!(st.ports_in_use, 0, "ports left");
        assert_eq!(st.pending_requests, 0, "waiting requests left");
        assert_eq!(self.s.timer_entries(), 0, "timers left");
        assert_eq!(self.created, self.deleted);
    }
}

/// A client with long-term credentials.
struct Client {
    key: ClientKey,
    user: &'static str,
    password: &'static str,
    nonce: Option<String>,
    n: u64,
}

impl Client {
    fn udp(remote: &str, user: &'static str, password: &'static str) -> Client {
        let local = if remote.starts_with('[') {
            "[2001:db8::254]:3478"
        } else {
            "192.0.2.254:3478"
        };
        Client {
            key: ClientKey::udp(sa(remote), sa(local)),
            user,
            password,
            nonce: None,
            n: 0,
        }
    }

    fn alice() -> Client {
        Client::udp("198.51.100.7:40000", "alice", "wonderland")
    }

    fn txid(&mut self) -> TransactionId {
        self.n += 1;
        let mut id = [0x11; 12];
        id[4..]
            .copy_from_slice(&(self.n ^ (u64::from(self.key.remote.port()) << 40)).to_be_bytes());
        TransactionId(id)
    }

    fn key(&self) -> [u8; 16] {
        long_term_key_md5(self.user, REALM, self.password)
    }

    /// A request with `attrs` and nothing else.
    fn builder(&mut self, method: Method, attrs: &[Attribute]) -> MessageBuilder {
        let mut b = MessageBuilder::new(method, Class::Request, self.txid());
        for a in attrs {
            b.add(a);
        }
        b
    }

    /// USERNAME, REALM and NONCE (after whatever `b` has).
    fn credentials(&self, b: &mut MessageBuilder) {
        b.add(&Attribute::Username(self.user.into()))
            .add(&Attribute::Realm(REALM.into()))
            .add(&Attribute::Nonce(self.nonce.clone().expect("logged in")));
    }

    /// A request signed with MESSAGE-INTEGRITY.
    fn signed(&mut self, method: Method, attrs: &[Attribute]) -> Vec<u8> {
        let mut b = self.builder(method, attrs);
        self.credentials(&mut b);
        b.add_message_integrity(&self.key());
        b.finish().unwrap()
    }

    /// A request signed with MESSAGE-INTEGRITY-SHA256, maybe ending in FINGERPRINT.
    fn signed_sha256(&mut self, method: Method, attrs: &[Attribute], fp: bool) -> Vec<u8> {
        let mut b = self.builder(method, attrs);
        self.credentials(&mut b);
        b.add_message_integrity_sha256(&self.key());
        if fp {
            b.add_fingerprint();
        }
        b.finish().unwrap()
    }

    /// A request signed with MESSAGE-INTEGRITY-SHA256 and ending in FINGERPRINT.
    fn signed_sha256_fp(&mut self, method: Method, attrs: &[Attribute]) -> Vec<u8> {
        self.signed_sha256(method, attrs, true)
    }

    /// Learns the nonce from the 401 to an unsigned request.
    fn login(&mut self, rig: &mut Rig) {
        let bytes = self.builder(Method::BINDING, &[]).finish().unwrap();
        let out = rig.send(&self.key, &bytes);
        assert_eq!(out.code(), Some(401));
        self.nonce = Some(out.reply().nonce().unwrap().to_string());
    }

    /// Logs in if needed and allocates; the allocation must be made.
    fn allocate(&mut self, rig: &mut Rig) {
        if self.nonce.is_none() {
            self.login(rig);
        }
        let bytes = self.signed(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
        let out = rig.send(&self.key, &bytes);
        assert_eq!(out.reply().class(), Class::Success, "{:?}", out.code());
    }
}

// ---------------------------------------------------------------- truncation

/// Valid requests of several kinds, the RFC 5769 vectors among them.
fn sample_requests(rig: &mut Rig, c: &mut Client) -> Vec<Vec<u8>> {
    c.login(rig);
    let cd = ChannelData {
        channel: 0x4000,
        data: b"abcdefg",
    };
    let mut send = MessageBuilder::new(Method::SEND, Class::Indication, c.txid());
    send.add(&Attribute::XorPeerAddress(sa(PEER)))
        .add(&Attribute::Data(b"payload".to_vec()));
    vec![
        hex(RFC5769_REQUEST),
        hex(RFC5769_LONG_TERM),
        c.signed(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]),
        c.signed_sha256_fp(
            Method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(0x4000),
                Attribute::XorPeerAddress(sa(PEER)),
            ],
        ),
        send.finish().unwrap(),
        cd.to_vec(false).unwrap(),
    ]
}

#[test]
fn every_prefix_of_a_valid_message_is_rejected_and_dropped() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    let samples = sample_requests(&mut rig, &mut c);
    let mut prefixes = 0;
    for s in &samples {
        let stun = s[0] >> 6 == 0;
        if stun {
            // The whole message decodes; the framer reads it as one frame.
            Message::decode(s).expect("sample decodes");
            assert_eq!(frame_len(s), Ok(Some((FrameKind::Stun, s.len()))));
        }
        for k in 0..s.len() {
            let p = &s[..k];
            if stun {
                let expected = if k < HEADER_LEN {
                    StunError::TooShort { len: k }
                } else {
                    StunError::LengthMismatch {
                        header: s.len() - HEADER_LEN,
                        actual: k - HEADER_LEN,
                    }
                };
                assert_eq!(Message::decode(p), Err(expected), "prefix of {k} bytes");
            } else {
                assert!(ChannelData::decode(p).is_err(), "prefix of {k} bytes");
            }
            // A TCP read that stopped early: the framer waits for more, never errs.
            match frame_len(p) {
                Ok(None) => {}
                Ok(Some((_, n))) => assert_eq!(n, (s.len() + 3) & !3, "prefix of {k} bytes"),
                Err(e) => panic!("prefix of {k} bytes: {e}"),
            }
            let out = rig.send(&c.key, p);
            assert_eq!(out.verdict, ClientVerdict::Dropped(DropReason::Malformed));
            prefixes += 1;
        }
    }
    assert_eq!(rig.dropped(DropReason::Malformed), prefixes);
    assert_eq!(rig.allocations(), 0);
    // The control: the whole Allocate is good.
    let out = rig.send(&c.key, &samples[2]);
    assert_eq!(out.reply().class(), Class::Success);
    assert_eq!(rig.allocations(), 1);
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- lengths

#[test]
fn oversized_and_misdeclared_lengths() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();

    // The largest message the 16-bit length allows (65,552 bytes, over 64 KiB) is still a
    // message: an unauthenticated Binding gets its 401.
    let mut b = c.builder(Method::BINDING, &[]);
    b.add_raw(0x8FFF, &vec![0xAB; 65_528]);
    let big = b.finish().unwrap();
    assert_eq!(big.len(), 65_552);
    assert_eq!(&big[2..4], &[0xFF, 0xFC]);
    assert_eq!(Message::decode(&big).unwrap().attributes().len(), 1);
    assert_eq!(rig.send(&c.key, &big).code(), Some(401));
    // No room for one more byte of attributes.
    let mut b = c.builder(Method::BINDING, &[]);
    b.add_raw(0x8FFF, &vec![0xAB; 65_529]);
    assert_eq!(b.finish(), Err(StunError::MessageTooLong));

    let malformed = rig.dropped(DropReason::Malformed);
    let mut cases = 0;
    // A datagram longer than the length field can say.
    let mut huge = big.clone();
    huge.extend_from_slice(&[0; 4]);
    assert_eq!(
        Message::decode(&huge),
        Err(StunError::LengthMismatch {
            header: 65_532,
            actual: 65_536
        })
    );
    let mut giant = big[..HEADER_LEN].to_vec();
    giant.resize(100_000, 0);
    assert!(matches!(
        Message::decode(&giant),
        Err(StunError::LengthMismatch { header: 65_532, .. })
    ));
    // A length that is not a multiple of 4, one that is larger and one that is smaller than
    // the datagram.
    let good = c
        .builder(Method::BINDING, &[Attribute::Lifetime(5)])
        .finish()
        .unwrap();
    let mut unaligned = good.clone();
    unaligned[3] = 0x05;
    unaligned.push(0);
    assert_eq!(
        Message::decode(&unaligned),
        Err(StunError::LengthNotAligned(5))
    );
    assert_eq!(
        frame_len(&unaligned),
        Err(ChannelError::Stun(StunError::LengthNotAligned(5)))
    );
    let mut all_ones = good.clone();
    all_ones[2..4].copy_from_slice(&[0xFF, 0xFF]);
    assert_eq!(
        Message::decode(&all_ones),
        Err(StunError::LengthNotAligned(0xFFFF))
    );
    let mut longer = good.clone();
    longer[3] += 4;
    assert_eq!(
        Message::decode(&longer),
        Err(StunError::LengthMismatch {
            header: 12,
            actual: 8
        })
    );
    // Over TCP a longer length just means "wait for more".
    assert_eq!(frame_len(&longer), Ok(Some((FrameKind::Stun, 32))));
    let mut shorter = good.clone();
    shorter[3] -= 4;
    assert_eq!(
        Message::decode(&shorter),
        Err(StunError::LengthMismatch {
            header: 4,
            actual: 8
        })
    );
    for pkt in [&huge, &giant, &unaligned, &all_ones, &longer, &shorter] {
        let out = rig.send(&c.key, pkt);
        assert_eq!(out.verdict, ClientVerdict::Dropped(DropReason::Malformed));
        cases += 1;
    }
    assert_eq!(rig.dropped(DropReason::Malformed) - malformed, cases);

    // Payloads too large for ChannelData or a Data indication toward the client are dropped.
    c.allocate(&mut rig);
    let relay = *rig.b.bound.keys().next().unwrap();
    let bind = c.signed(
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa(PEER)),
        ],
    );
    assert_eq!(rig.send(&c.key, &bind).reply().class(), Class::Success);
    let permit = c.signed(
        Method::CREATE_PERMISSION,
        &[Attribute::XorPeerAddress(sa("192.0.2.51:1"))],
    );
    assert_eq!(rig.send(&c.key, &permit).reply().class(), Class::Success);
    let now = rig.now;
    assert!(matches!(
        rig.s.peer_packet(now, relay, sa(PEER), 65_535),
        PeerVerdict::Channel { .. }
    ));
    assert_eq!(
        rig.s.peer_packet(now, relay, sa(PEER), 65_536),
        PeerVerdict::Dropped(DropReason::TooLarge)
    );
    assert!(matches!(
        rig.s.peer_packet(now, relay, sa("192.0.2.51:9"), 65_000),
        PeerVerdict::Indication { .. }
    ));
    assert_eq!(
        rig.s.peer_packet(now, relay, sa("192.0.2.51:9"), 65_535),
        PeerVerdict::Dropped(DropReason::TooLarge)
    );
    assert_eq!(rig.dropped(DropReason::TooLarge), 2);
    let mut out = Vec::new();
    assert_eq!(
        rig.s.data_indication(sa(PEER), &vec![0; 70_000], &mut out),
        Err(StunError::MessageTooLong)
    );
    // The largest ChannelData datagram relays whole.
    let max = ChannelData {
        channel: 0x4000,
        data: &vec![1; 65_535],
    }
    .to_vec(false)
    .unwrap();
    let v = rig.send(&c.key, &max).verdict;
    assert!(matches!(v, ClientVerdict::Relay { ref payload, .. } if *payload == (4..65_539)));
    assert_eq!(rig.allocations(), 1);
    rig.check();
    rig.assert_all_expire();
}

#[test]
fn wrong_magic_cookie_and_first_bits() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let good = c.signed(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    for cookie in [0u32, MAGIC_COOKIE ^ 1, MAGIC_COOKIE.swap_bytes(), u32::MAX] {
        let mut x = good.clone();
        x[4..8].copy_from_slice(&cookie.to_be_bytes());
        assert_eq!(Message::decode(&x), Err(StunError::BadMagicCookie(cookie)));
        assert!(frame_len(&x).is_err());
        let out = rig.send(&c.key, &x);
        assert_eq!(out.verdict, ClientVerdict::Dropped(DropReason::Malformed));
    }
    for first in [0x40u8, 0x80, 0xC0] {
        let mut x = good.clone();
        x[0] |= first;
        assert_eq!(Message::decode(&x), Err(StunError::NotStun));
        let out = rig.send(&c.key, &x);
        assert!(matches!(out.verdict, ClientVerdict::Dropped(_)));
    }
    assert_eq!(
        frame_len(&[0x80, 1, 0, 0]),
        Err(ChannelError::UnknownFrame(0x80))
    );
    assert_eq!(rig.dropped(DropReason::Malformed), 4 + 2);
    assert_eq!(
        rig.dropped(DropReason::NoAllocation),
        1,
        "0x40: ChannelData"
    );
    assert_eq!(rig.allocations(), 0);
    assert_eq!(rig.s.stats().counters.allocations_total, 0);
    assert_eq!(rig.send(&c.key, &good).reply().class(), Class::Success);
}

#[test]
fn attribute_lengths_running_past_the_end_get_400() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let good = c.signed(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    let attrs = attributes(&good);
    let (first, last) = (attrs[0], *attrs.last().unwrap());
    let mut over_first = good.clone();
    let past = (good.len() - first.0) as u16; // header + value would end 4 bytes past the end
    over_first[first.0 + 2..first.0 + 4].copy_from_slice(&past.to_be_bytes());
    assert_eq!(
        Message::decode(&over_first),
        Err(StunError::AttributeOverflow {
            typ: types::REQUESTED_TRANSPORT,
            offset: HEADER_LEN
        })
    );
    let mut over_last = good.clone();
    over_last[last.0 + 3] += 1; // MESSAGE-INTEGRITY of 21 bytes: padded to 24, past the end
    assert_eq!(
        Message::decode(&over_last),
        Err(StunError::AttributeOverflow {
            typ: types::MESSAGE_INTEGRITY,
            offset: last.0
        })
    );
    let mut max = good.clone();
    max[first.0 + 2..first.0 + 4].copy_from_slice(&[0xFF, 0xFF]);
    assert!(matches!(
        Message::decode(&max),
        Err(StunError::AttributeOverflow { .. })
    ));
    // The header is sound, so each gets 400 Bad Request (RFC 8489 §6.3.1), unsigned.
    for x in [&over_first, &over_last, &max] {
        let out = rig.send(&c.key, x);
        assert_eq!(out.code(), Some(400));
        assert!(!out.reply().has_integrity());
    }
    // A value length that is wrong but stays inside: the rest is read out of step; whatever
    // it becomes, it is refused.
    for len in [0u16, 1, 3, 5, 8, 12] {
        let mut x = good.clone();
        x[first.0 + 2..first.0 + 4].copy_from_slice(&len.to_be_bytes());
        let out = rig.send(&c.key, &x);
        assert!(
            matches!(out.code(), Some(400 | 401)),
            "length {len}: {:?}",
            out.code()
        );
    }
    // In a Send indication (no response to an indication): dropped.
    c.allocate(&mut rig);
    let mut send = MessageBuilder::new(Method::SEND, Class::Indication, c.txid());
    send.add(&Attribute::XorPeerAddress(sa(PEER)))
        .add(&Attribute::Data(b"12345678".to_vec()));
    let mut send = send.finish().unwrap();
    let data = offset_of(&send, types::DATA);
    send[data + 3] = 13;
    let out = rig.send(&c.key, &send);
    assert_eq!(out.verdict, ClientVerdict::Dropped(DropReason::Malformed));
    assert_eq!(rig.allocations(), 1);
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- integrity and fingerprint

/// How a request under test is protected.
#[derive(Clone, Copy, PartialEq)]
enum Protection {
    Sha1,
    Sha256,
    Sha256Fingerprint,
}

/// Flips every bit of a signed Allocate, one at a time: each variant is answered with an error
/// or dropped, never allocates; a flip inside the MAC is exactly a 401 — or, under a
/// FINGERPRINT, a drop for the fingerprint, which is checked first.
///
/// One exception, by the RFC: a flip in FINGERPRINT's *type* turns it into some other
/// attribute after MESSAGE-INTEGRITY-SHA256, which RFC 8489 §14.6 says to ignore. What is left
/// is the intact, integrity-protected request, so it is served (nothing the MAC covers has
/// changed); the test checks that this happens for exactly those 16 bits and removes the
/// allocation each time.
fn flip_every_bit(protection: Protection) {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let rt = [Attribute::RequestedTransport(17)];
    let good = match protection {
        Protection::Sha1 => c.signed(Method::ALLOCATE, &rt),
        Protection::Sha256 => c.signed_sha256(Method::ALLOCATE, &rt, false),
        Protection::Sha256Fingerprint => c.signed_sha256(Method::ALLOCATE, &rt, true),
    };
    let (mi_typ, mac_len) = match protection {
        Protection::Sha1 => (types::MESSAGE_INTEGRITY, 20),
        _ => (types::MESSAGE_INTEGRITY_SHA256, 32),
    };
    let fingerprint = protection == Protection::Sha256Fingerprint;
    let mac = offset_of(&good, mi_typ) + 4;
    let fp_type = if fingerprint {
        let at = offset_of(&good, types::FINGERPRINT);
        at..at + 2
    } else {
        0..0
    };
    let failures = rig.s.stats().counters.auth_failures;
    let mut codes: HashMap<Option<u16>, usize> = HashMap::new();
    let mut served_without_fingerprint = 0;
    for bit in 0..good.len() * 8 {
        let mut x = good.clone();
        x[bit / 8] ^= 0x80 >> (bit % 8);
        let out = rig.send(&c.key, &x);
        if fp_type.contains(&(bit / 8)) {
            let m = Message::decode(&x).unwrap();
            assert!(!m.has_fingerprint());
            m.verify_integrity(&c.key()).unwrap();
            assert_eq!(out.reply().class(), Class::Success, "bit {bit}");
            assert!(
                !out.reply().has_fingerprint(),
                "no FINGERPRINT asked, none sent"
            );
            served_without_fingerprint += 1;
            rig.s.client_closed(&c.key, &mut rig.b);
            rig.events();
            assert_eq!(rig.allocations(), 0);
            continue;
        }
        let code = match &out.verdict {
            ClientVerdict::Replied => {
                let r = out.reply();
                assert_eq!(r.class(), Class::Error, "bit {bit} flipped and accepted");
                assert!(!r.has_integrity(), "bit {bit}: answered as authenticated");
                let code = error(r);
                assert!(matches!(code, Some(400 | 401 | 438)), "bit {bit}: {code:?}");
                code
            }
            ClientVerdict::Dropped(_) => None,
            v => panic!("bit {bit}: {v:?}"),
        };
        if (mac..mac + mac_len).contains(&(bit / 8)) {
            if fingerprint {
                assert_eq!(
                    out.verdict,
                    ClientVerdict::Dropped(DropReason::BadFingerprint),
                    "bit {bit} inside the MAC"
                );
            } else {
                assert_eq!(code, Some(401), "bit {bit} inside the MAC");
            }
        }
        *codes.entry(code).or_default() += 1;
        assert_eq!(rig.allocations(), 0, "bit {bit} allocated");
    }
    assert_eq!(served_without_fingerprint, fp_type.len() * 8);
    assert_eq!(
        rig.s.stats().counters.allocations_total,
        served_without_fingerprint as u64
    );
    assert!(rig.b.bound.is_empty());
    assert!(codes[&None] > 0, "a flipped cookie is dropped: {codes:?}");
    let auth = rig.s.stats().counters.auth_failures - failures;
    if fingerprint {
        // The fingerprint catches every flip that leaves the message decodable.
        assert_eq!(auth, 0);
        assert!(rig.dropped(DropReason::BadFingerprint) >= mac_len as u64 * 8);
    } else {
        assert!(auth >= mac_len as u64 * 8, "{auth} authentication failures");
        assert!(codes[&Some(401)] >= mac_len * 8);
        assert!(codes[&Some(438)] > 0, "a flipped NONCE is stale: {codes:?}");
    }
    // The control: unflipped, the request allocates.
    assert_eq!(rig.send(&c.key, &good).reply().class(), Class::Success);
    rig.check();
    rig.assert_all_expire();
}

#[test]
fn one_flipped_bit_in_a_message_integrity_request_never_allocates() {
    flip_every_bit(Protection::Sha1);
}

#[test]
fn one_flipped_bit_in_a_message_integrity_sha256_request_never_allocates() {
    flip_every_bit(Protection::Sha256);
}

#[test]
fn one_flipped_bit_under_a_fingerprint_never_allocates() {
    flip_every_bit(Protection::Sha256Fingerprint);
}

#[test]
fn wrong_integrity_on_the_rfc5769_vectors() {
    for (vector, key) in [
        (hex(RFC5769_REQUEST), short_term_key(RFC5769_PASSWORD)),
        (
            hex(RFC5769_LONG_TERM),
            long_term_key_md5("マトリックス", "example.org", "TheMatrIX").to_vec(),
        ),
    ] {
        Message::decode(&vector)
            .unwrap()
            .verify_integrity(&key)
            .unwrap();
        let mi = offset_of(&vector, types::MESSAGE_INTEGRITY);
        for bit in 0..mi * 8 + 24 * 8 {
            if (2 * 8..4 * 8).contains(&bit) {
                continue; // the length field: no longer decodes at all
            }
            let mut x = vector.clone();
            x[bit / 8] ^= 0x80 >> (bit % 8);
            if let Ok(m) = Message::decode(&x) {
                if m.has_integrity() {
                    assert!(
                        m.verify_integrity(&key).is_err(),
                        "bit {bit} still verifies"
                    );
                }
            }
        }
    }
}

#[test]
fn wrong_fingerprint_is_dropped() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let good = c.signed_sha256_fp(Method::ALLOCATE, &[Attribute::RequestedTransport(17)]);
    let fp = offset_of(&good, types::FINGERPRINT);
    assert_eq!(fp + 8, good.len(), "FINGERPRINT is last");
    let mut dropped = 0;
    // Every bit of the CRC, and a bit of every attribute byte before it.
    let flips = (fp * 8 + 32..good.len() * 8).chain((HEADER_LEN..fp).map(|b| b * 8 + 7));
    for bit in flips {
        let mut x = good.clone();
        x[bit / 8] ^= 0x80 >> (bit % 8);
        let m = Message::decode(&x);
        if let Ok(m) = &m {
            if m.has_fingerprint() {
                assert_eq!(m.verify_fingerprint(), Err(StunError::FingerprintMismatch));
            }
        }
        let out = rig.send(&c.key, &x);
        match out.verdict {
            ClientVerdict::Dropped(DropReason::BadFingerprint) => dropped += 1,
            // A flip that breaks the attribute layout before FINGERPRINT is read.
            ClientVerdict::Replied => assert_eq!(out.code(), Some(400), "bit {bit}"),
            ref v => panic!("bit {bit}: {v:?}"),
        }
    }
    assert_eq!(rig.dropped(DropReason::BadFingerprint), dropped);
    assert!(
        dropped >= 32 + (fp - HEADER_LEN) as u64 / 2,
        "{dropped} dropped"
    );
    // FINGERPRINT of the wrong size is malformed: 400.
    let mut b = c.builder(Method::BINDING, &[]);
    b.add_raw(types::FINGERPRINT, &[1, 2, 3]);
    let short_fp = b.finish().unwrap();
    assert!(matches!(
        Message::decode(&short_fp),
        Err(StunError::MalformedAttribute {
            typ: types::FINGERPRINT,
            ..
        })
    ));
    assert_eq!(rig.send(&c.key, &short_fp).code(), Some(400));
    // Anything after FINGERPRINT is ignored (RFC 8489 §14.7), even comprehension-required.
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0x77, 0x77, 0, 0]);
    fix_length(&mut trailing);
    let m = Message::decode(&trailing).unwrap();
    assert!(m.get(0x7777).is_none());
    assert!(m.unknown_comprehension_required().is_empty());
    assert_eq!(rig.allocations(), 0);
    assert_eq!(rig.send(&c.key, &trailing).reply().class(), Class::Success);
    assert_eq!(rig.allocations(), 1);
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- duplicates

#[test]
fn duplicate_attributes_the_first_one_counts() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let tcp6 = Attribute::RequestedTransport(6);
    let udp = Attribute::RequestedTransport(17);

    // REQUESTED-TRANSPORT: TCP first → 442, whatever follows.
    let x = c.signed(Method::ALLOCATE, &[tcp6.clone(), udp.clone()]);
    assert_eq!(rig.send(&c.key, &x).code(), Some(442));
    assert_eq!(rig.allocations(), 0);

    // USERNAME: the first (unknown) one is the one checked → 401.
    let mut b = c.builder(Method::ALLOCATE, std::slice::from_ref(&udp));
    b.add(&Attribute::Username("mallory".into()));
    c.credentials(&mut b);
    b.add_message_integrity(&c.key());
    let x = b.finish().unwrap();
    assert_eq!(Message::decode(&x).unwrap().username(), Some("mallory"));
    assert_eq!(rig.send(&c.key, &x).code(), Some(401));

    // MESSAGE-INTEGRITY: the second is ignored, so a wrong first one fails...
    let mut b = c.builder(Method::ALLOCATE, std::slice::from_ref(&udp));
    c.credentials(&mut b);
    b.add_message_integrity(b"wrong key")
        .add_message_integrity(&c.key());
    assert_eq!(rig.send(&c.key, &b.finish().unwrap()).code(), Some(401));
    assert_eq!(rig.allocations(), 0);
    // ... and a right first one passes.
    let mut b = c.builder(Method::ALLOCATE, &[udp.clone(), tcp6.clone()]);
    c.credentials(&mut b);
    b.add_message_integrity(&c.key())
        .add_message_integrity(b"wrong key");
    let out = rig.send(&c.key, &b.finish().unwrap());
    assert_eq!(out.reply().class(), Class::Success);
    assert_eq!(rig.allocations(), 1);

    // LIFETIME: 1200 then 0 refreshes for 1200 s and does not delete.
    let x = c.signed(
        Method::REFRESH,
        &[Attribute::Lifetime(1200), Attribute::Lifetime(0)],
    );
    let out = rig.send(&c.key, &x);
    assert_eq!(
        out.reply().get(types::LIFETIME),
        Some(&Attribute::Lifetime(1200))
    );
    assert_eq!(rig.allocations(), 1);

    // XOR-PEER-ADDRESS: CreatePermission takes them all (RFC 8656 §10.2), once per IP.
    let x = c.signed(
        Method::CREATE_PERMISSION,
        &[
            Attribute::XorPeerAddress(sa(PEER)),
            Attribute::XorPeerAddress(sa(PEER)),
            Attribute::XorPeerAddress(sa("192.0.2.51:1")),
        ],
    );
    assert_eq!(rig.send(&c.key, &x).reply().class(), Class::Success);
    let info = rig.s.allocation(&c.key, rig.now).unwrap();
    assert_eq!(info.permissions.len(), 2);

    // ChannelBind: the first CHANNEL-NUMBER and XOR-PEER-ADDRESS are bound.
    let x = c.signed(
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4001),
            Attribute::ChannelNumber(0x4002),
            Attribute::XorPeerAddress(sa(PEER)),
            Attribute::XorPeerAddress(sa("192.0.2.51:1")),
        ],
    );
    assert_eq!(rig.send(&c.key, &x).reply().class(), Class::Success);
    let info = rig.s.allocation(&c.key, rig.now).unwrap();
    assert_eq!(info.channels.len(), 1);
    assert_eq!(
        (info.channels[0].number, info.channels[0].peer),
        (0x4001, sa(PEER))
    );

    // Unknown comprehension-required types are listed once each.
    let x = c.signed(
        Method::REFRESH,
        &[
            Attribute::Unknown {
                typ: 0x7777,
                value: vec![],
            },
            Attribute::Unknown {
                typ: 0x7777,
                value: vec![1],
            },
            Attribute::Unknown {
                typ: 0x7778,
                value: vec![],
            },
        ],
    );
    let out = rig.send(&c.key, &x);
    assert_eq!(out.code(), Some(420));
    assert_eq!(
        out.reply().get(types::UNKNOWN_ATTRIBUTES),
        Some(&Attribute::UnknownAttributes(vec![0x7777, 0x7778]))
    );
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- ChannelData

#[test]
fn channel_data_with_wrong_lengths() {
    let frame = |channel: u16, declared: u16, data: &[u8]| {
        let mut f = channel.to_be_bytes().to_vec();
        f.extend_from_slice(&declared.to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    // The decoder.
    assert_eq!(
        ChannelData::decode(&frame(0x4000, 10, b"abcdef")),
        Err(ChannelError::Truncated {
            header: 10,
            actual: 6
        })
    );
    let padded = frame(0x4000, 2, b"ab\0\0");
    assert_eq!(ChannelData::decode(&padded).unwrap().data, b"ab");
    assert_eq!(
        ChannelData::decode(&[0x40, 0, 0]),
        Err(ChannelError::TooShort { len: 3 })
    );
    assert_eq!(
        ChannelData::decode(&frame(0x3FFF, 1, b"a")),
        Err(ChannelError::BadChannel(0x3FFF))
    );
    assert_eq!(
        ChannelData::decode(&frame(0x8000, 1, b"a")),
        Err(ChannelError::BadChannel(0x8000))
    );
    // Over TCP a frame is padded: 4 + 5 bytes is not a whole frame yet, 4 + 8 is.
    let unpadded = frame(0x4000, 5, b"abcde");
    assert_eq!(ChannelData::decode_stream(&unpadded), Ok(None));
    assert_eq!(frame_len(&unpadded), Ok(Some((FrameKind::ChannelData, 12))));
    let mut whole = unpadded.clone();
    whole.extend_from_slice(&[0; 3]);
    let (cd, used) = ChannelData::decode_stream(&whole).unwrap().unwrap();
    assert_eq!((cd.data, used), (&b"abcde"[..], 12));

    // The server: no allocation, then a bound channel.
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    let ok = frame(0x4000, 4, b"data");
    assert_eq!(
        rig.send(&c.key, &ok).verdict,
        ClientVerdict::Dropped(DropReason::NoAllocation)
    );
    c.allocate(&mut rig);
    let x = c.signed(
        Method::CHANNEL_BIND,
        &[
            Attribute::ChannelNumber(0x4000),
            Attribute::XorPeerAddress(sa(PEER)),
        ],
    );
    assert_eq!(rig.send(&c.key, &x).reply().class(), Class::Success);
    let relay = *rig.b.bound.keys().next().unwrap();
    assert_eq!(
        rig.send(&c.key, &ok).verdict,
        ClientVerdict::Relay {
            relay,
            peer: sa(PEER),
            payload: 4..8
        }
    );
    // Declared longer than the datagram: dropped (RFC 8656 §12.5).
    for bad in [
        frame(0x4000, 10, b"abcdef"),
        frame(0x4000, 0xFFFF, b"abcdef"),
        vec![0x40, 0x00, 0x00],
        frame(0x3FFF, 4, b"data"),
    ] {
        assert_eq!(
            rig.send(&c.key, &bad).verdict,
            ClientVerdict::Dropped(DropReason::Malformed)
        );
    }
    // Declared shorter: the rest is padding, only the declared bytes go to the peer.
    assert_eq!(
        rig.send(&c.key, &frame(0x4000, 2, b"abcdef")).verdict,
        ClientVerdict::Relay {
            relay,
            peer: sa(PEER),
            payload: 4..6
        }
    );
    // A channel that is not bound.
    assert_eq!(
        rig.send(&c.key, &frame(0x4001, 4, b"data")).verdict,
        ClientVerdict::Dropped(DropReason::NoChannel)
    );
    assert_eq!(rig.dropped(DropReason::Malformed), 4);
    assert_eq!(rig.s.stats().counters.traffic.packets_to_peer, 2);
    assert_eq!(rig.s.stats().counters.traffic.bytes_to_peer, 6);
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- unknown attributes

#[test]
fn unknown_comprehension_required_attributes_get_420() {
    let mut rig = Rig::new(config());
    let mut c = Client::alice();
    c.login(&mut rig);
    let unknown = [
        Attribute::RequestedTransport(17),
        Attribute::Unknown {
            typ: 0x7777,
            value: vec![1, 2, 3],
        },
        // PRIORITY (ICE): comprehension-required and not TURN's.
        Attribute::Unknown {
            typ: 0x0024,
            value: vec![0; 4],
        },
        // Comprehension-optional: ignored.
        Attribute::Unknown {
            typ: 0xC001,
            value: vec![],
        },
    ];
    let x = c.signed(Method::ALLOCATE, &unknown);
    let out = rig.send(&c.key, &x);
    assert_eq!(out.code(), Some(420));
    let r = out.reply();
    assert_eq!(
        r.get(types::UNKNOWN_ATTRIBUTES),
        Some(&Attribute::UnknownAttributes(vec![0x7777, 0x0024]))
    );
    r.verify_integrity(&c.key()).expect("the 420 is signed");
    assert_eq!(rig.allocations(), 0);
    // Unsigned, authentication comes first: 401.
    let x = c.builder(Method::ALLOCATE, &unknown).finish().unwrap();
    assert_eq!(rig.send(&c.key, &x).code(), Some(401));
    // Only comprehension-optional ones: allocated.
    let x = c.signed(Method::ALLOCATE, &[unknown[0].clone(), unknown[3].clone()]);
    assert_eq!(rig.send(&c.key, &x).reply().class(), Class::Success);
    assert_eq!(rig.allocations(), 1);

    // A Send indication with one is discarded (RFC 8489 §6.3.2); without, relayed.
    let x = c.signed(
        Method::CREATE_PERMISSION,
        &[Attribute::XorPeerAddress(sa(PEER))],
    );
    assert_eq!(rig.send(&c.key, &x).reply().class(), Class::Success);
    let send = |extra: Option<u16>, c: &mut Client| {
        let mut b = MessageBuilder::new(Method::SEND, Class::Indication, c.txid());
        b.add(&Attribute::XorPeerAddress(sa(PEER)))
            .add(&Attribute::Data(b"hi".to_vec()));
        if let Some(t) = extra {
            b.add_raw(t, &[]);
        }
        b.finish().unwrap()
    };
    let x = send(Some(0x7777), &mut c);
    assert_eq!(
        rig.send(&c.key, &x).verdict,
        ClientVerdict::Dropped(DropReason::Malformed)
    );
    let x = send(Some(0xC001), &mut c);
    assert!(matches!(
        rig.send(&c.key, &x).verdict,
        ClientVerdict::Relay { .. }
    ));

    // With unauthenticated Binding switched on, the 420 comes unsigned.
    rig.s.set_config(ServerConfig {
        allow_unauthenticated_binding: true,
        ..config()
    });
    let mut other = Client::udp("198.51.100.8:1000", "bob", "builder");
    let x = other
        .builder(
            Method::BINDING,
            &[Attribute::Unknown {
                typ: 0x0042,
                value: vec![],
            }],
        )
        .finish()
        .unwrap();
    let out = rig.send(&other.key, &x);
    assert_eq!(out.code(), Some(420));
    assert!(!out.reply().has_integrity());
    assert_eq!(
        out.reply().get(types::UNKNOWN_ATTRIBUTES),
        Some(&Attribute::UnknownAttributes(vec![0x0042]))
    );
    rig.check();
    rig.assert_all_expire();
}

// ---------------------------------------------------------------- mutation loop

/// xorshift64*: deterministic pseudo-random numbers, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Damages `p` one way: bits, bytes, length fields, attribute order and count, splices.
fn mutate(rng: &mut Rng, p: &mut Vec<u8>, other: &[u8]) {
    let attrs = if p.len() >= HEADER_LEN {
        attributes(p)
            .into_iter()
            .filter(|a| a.0 + 4 + a.2 <= p.len())
            .collect()
    } else {
        Vec::new()
    };
    match rng.below(11) {
        0 if !p.is_empty() => {
            let at = rng.below(p.len());
            p[at] ^= 1 << rng.below(8);
        }
        1 if !p.is_empty() => {
            let at = rng.below(p.len());
            p[at] = rng.byte();
        }
        2 => p.truncate(rng.below(p.len() + 1)),
        3 => p.extend((0..rng.below(12)).map(|_| rng.byte())),
        4 if p.len() >= 4 => {
            let len = u16::from_be_bytes([p[2], p[3]]);
            let new = match rng.below(4) {
                0 => rng.next() as u16,
                1 => len.wrapping_add(4),
                2 => len.wrapping_sub(4),
                _ => len ^ (1 << rng.below(16)),
            };
            p[2..4].copy_from_slice(&new.to_be_bytes());
        }
        5 if !attrs.is_empty() => {
            let (off, _, len) = attrs[rng.below(attrs.len())];
            let new = match rng.below(4) {
                0 => rng.next() as u16,
                1 => len as u16 + 1,
                2 => (len as u16).wrapping_sub(1),
                _ => len as u16 + 4,
            };
            p[off + 2..off + 4].copy_from_slice(&new.to_be_bytes());
        }
        6 if !attrs.is_empty() => {
            let (off, _, len) = attrs[rng.below(attrs.len())];
            let end = (off + 4 + ((len + 3) & !3)).min(p.len());
            let copy = p[off..end].to_vec();
            let at = attrs[rng.below(attrs.len())].0;
            p.splice(at..at, copy);
            fix_length(p);
        }
        7 if !attrs.is_empty() => {
            let (off, _, len) = attrs[rng.below(attrs.len())];
            let end = (off + 4 + ((len + 3) & !3)).min(p.len());
            p.drain(off..end);
            fix_length(p);
        }
        8 if attrs.len() >= 2 => {
            let i = rng.below(attrs.len() - 1);
            let (a, b) = (attrs[i], attrs[i + 1]);
            let end = (b.0 + 4 + ((b.2 + 3) & !3)).min(p.len());
            let first = p[a.0..b.0].to_vec();
            let second = p[b.0..end].to_vec();
            p.splice(a.0..end, second.into_iter().chain(first));
        }
        9 if p.len() >= HEADER_LEN && other.len() >= HEADER_LEN => {
            p.truncate(HEADER_LEN);
            p.extend_from_slice(&other[HEADER_LEN..]);
            if rng.below(2) == 0 {
                fix_length(p);
            }
        }
        _ if p.len() >= 2 => {
            let typ = rng.next() as u16 & 0x3FFF;
            p[..2].copy_from_slice(&typ.to_be_bytes());
        }
        _ => {}
    }
}

/// Valid packets from `c`, signed with its current nonce.
fn valid_packets(c: &mut Client) -> Vec<Vec<u8>> {
    let udp = Attribute::RequestedTransport(17);
    let peer = if c.key.remote.is_ipv6() {
        sa("[2001:db8::50]:7000")
    } else {
        sa(PEER)
    };
    let mut send = MessageBuilder::new(Method::SEND, Class::Indication, c.txid());
    send.add(&Attribute::XorPeerAddress(peer))
        .add(&Attribute::Data(b"payload".to_vec()));
    let v6 = Attribute::RequestedAddressFamily(exp_turn::AddressFamily::Ipv6);
    let family = if c.key.remote.is_ipv6() {
        vec![v6]
    } else {
        vec![]
    };
    let mut allocate = vec![udp.clone()];
    allocate.extend(family);
    vec![
        c.signed(Method::ALLOCATE, &allocate),
        c.signed_sha256_fp(Method::ALLOCATE, &allocate),
        c.signed(Method::ALLOCATE, &[udp, Attribute::EvenPort(true)]),
        c.signed(
            Method::CREATE_PERMISSION,
            &[Attribute::XorPeerAddress(peer)],
        ),
        c.signed(
            Method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(0x4000),
                Attribute::XorPeerAddress(peer),
            ],
        ),
        c.signed(Method::REFRESH, &[Attribute::Lifetime(0)]),
        c.signed(Method::REFRESH, &[Attribute::Lifetime(3600)]),
        c.signed(Method::BINDING, &[]),
        send.finish().unwrap(),
        ChannelData {
            channel: 0x4000,
            data: b"chan",
        }
        .to_vec(c.key.transport.is_stream())
        .unwrap(),
        hex(RFC5769_REQUEST),
        hex(RFC5769_LONG_TERM),
    ]
}

#[test]
fn twenty_thousand_mutations_never_panic_nor_leak() {
    const ROUNDS: usize = 20_000;
    let mut rig = Rig::new(config());
    let mut clients = [
        Client::alice(),
        Client {
            key: ClientKey::tcp(sa("198.51.100.8:40001"), sa("192.0.2.254:3478"), 1),
            user: "bob",
            password: "builder",
            nonce: None,
            n: 0,
        },
        Client::udp("[2001:db8:1::7]:40000", "alice", "wonderland"),
    ];
    let mut samples: Vec<Vec<Vec<u8>>> = Vec::new();
    for c in clients.iter_mut() {
        c.login(&mut rig);
        samples.push(valid_packets(c));
    }
    let key = clients[0].key();
    let peers = [sa(PEER), sa("[2001:db8::50]:7000"), sa("192.0.2.99:1")];
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let (mut decoded, mut rejected, mut answered) = (0u64, 0u64, HashMap::new());
    for round in 0..ROUNDS {
        let who = rng.below(clients.len());
        let set = &samples[who];
        let mut p = set[rng.below(set.len())].clone();
        // One in ten is sent intact, so allocations do come and go.
        if rng.below(10) != 0 {
            let other = set[rng.below(set.len())].clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut p, &other);
            }
        }
        // The codec on its own.
        match Message::decode(&p) {
            Ok(m) => {
                decoded += 1;
                let _ = (m.verify_integrity(&key), m.verify_fingerprint());
                let _ = m.unknown_comprehension_required();
            }
            Err(_) => rejected += 1,
        }
        let _ = ChannelData::decode(&p);
        let _ = ChannelData::decode_stream(&p);
        if let Ok(Some((FrameKind::Stun, n))) = frame_len(&p) {
            if n == p.len() {
                assert!(!matches!(
                    Message::decode(&p),
                    Err(StunError::TooShort { .. }
                        | StunError::NotStun
                        | StunError::BadMagicCookie(_)
                        | StunError::LengthNotAligned(_)
                        | StunError::LengthMismatch { .. })
                ));
            }
        }
        // The server, from the client and from a peer.
        let out = rig.send(&clients[who].key, &p);
        if out.verdict == ClientVerdict::Replied {
            *answered.entry(error(out.reply())).or_insert(0u64) += 1;
        }
        let relays: Vec<RelayId> = rig.b.bound.keys().copied().collect();
        let relay = relays
            .get(rng.below(relays.len() + 1))
            .copied()
            .unwrap_or(RelayId(rng.below(8) as u32));
        let now = rig.now;
        let _ = rig
            .s
            .peer_packet(now, relay, peers[rng.below(peers.len())], rng.below(70_000));
        rig.check();
        assert!(rig.allocations() <= clients.len(), "one per 5-tuple");
        if round % 500 == 499 {
            rig.advance(Duration::from_secs(1));
        }
        // Now and then the clock jumps past the longest allocation lifetime (and the nonces'); the clients
        // take new nonces.
        if round % 5000 == 4999 {
            rig.advance(Duration::from_secs(3700));
            assert_eq!(rig.allocations(), 0, "expired after the longest lifetime");
            samples.clear();
            for c in clients.iter_mut() {
                c.login(&mut rig);
                samples.push(valid_packets(c));
            }
        }
    }
    // The loop did reach what it is meant to: decoder errors and successes, the error
    // responses, drops, and real allocations (which then must all go away).
    let st = rig.s.stats();
    eprintln!(
        "{ROUNDS} rounds: {decoded} decoded, {rejected} rejected, responses by error code \
         {answered:?}, {} allocations made, drops {:?}",
        st.counters.allocations_total, st.counters.dropped
    );
    assert!(
        decoded > 1000 && rejected > 1000,
        "{decoded} decoded, {rejected} rejected"
    );
    for code in [None, Some(400), Some(401), Some(437)] {
        assert!(answered.contains_key(&code), "no {code:?} in {answered:?}");
    }
    assert!(st.counters.dropped(DropReason::Malformed) > 1000);
    assert!(st.counters.dropped(DropReason::BadFingerprint) > 0);
    assert!(st.counters.allocations_total > 10, "{st:?}");
    rig.assert_all_expire();
}
