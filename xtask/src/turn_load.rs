//! Opens tens of thousands of concurrent TURN allocations, for the capacity half of
//! `cargo xtask bench turn` (SPEC "TURN server": 50,000 allocations within 256 MiB).
//!
//! No packaged client does this: `turnutils_uclient` opens a few hundred sessions and sends
//! media on each. Here every allocation is one UDP Allocate from its own client socket, so its
//! own 5-tuple, and nothing else: the server is left holding the allocations while the bench
//! reads its memory. The sockets are spread over several loopback source addresses, because
//! one address has fewer ephemeral ports than the bench needs.
//!
//! The long-term credential exchange (RFC 8489 §9.2) is done once per source address: an
//! Allocate without credentials draws 401 with REALM and NONCE, and since a nonce is valid for
//! its client address (exp-e binds it to the IP), every socket of that address then sends its
//! authenticated Allocate (USERNAME, REALM, NONCE, MESSAGE-INTEGRITY with the MD5 long-term key)
//! directly. A 438 (stale nonce) refreshes that address's nonce and the request is sent again.
//!
//! Requests are pipelined: a window of a few hundred outstanding Allocates, each answered one
//! replaced at once by the next, unanswered ones retransmitted (RFC 8489 §6.2.1 style, with a
//! fixed timeout: loopback has no real round-trip time to estimate).

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use exp_turn::{
    long_term_key_md5, types, Attribute, Class, Message, MessageBuilder, Method, TransactionId,
};

/// REQUESTED-TRANSPORT value for UDP (IP protocol number 17).
const UDP: u8 = 17;
/// Retransmission timeout of one Allocate.
const RTO: Duration = Duration::from_millis(500);
/// Sends of one Allocate before it counts as unanswered.
const MAX_TRIES: u32 = 7;

/// What to open.
pub struct Load {
    /// The TURN server's UDP request address.
    pub server: SocketAddr,
    /// Loopback source addresses the client sockets bind to, filled in order.
    pub sources: Vec<Ipv4Addr>,
    /// Sockets per source address.
    pub per_source: usize,
    /// Allocations to open.
    pub count: usize,
    /// Long-term credential.
    pub username: String,
    /// Long-term credential.
    pub password: String,
    /// Most Allocate requests outstanding at once.
    pub window: usize,
    /// Give up after this long.
    pub deadline: Duration,
}

/// The allocations opened; the client sockets stay open until this is dropped.
pub struct Allocations {
    sockets: Vec<UdpSocket>,
    /// Allocate requests answered with success.
    pub allocated: usize,
    /// Failed Allocates by reason (error code or "no answer").
    pub failed: BTreeMap<String, usize>,
    /// Requests sent again after a timeout or a stale nonce.
    pub resent: u64,
    /// Time from the first challenge to the last answer.
    pub elapsed: Duration,
}

impl Allocations {
    /// Client sockets held open.
    pub fn sockets(&self) -> usize {
        self.sockets.len()
    }
}

/// Realm and nonce one source address authenticates with.
#[derive(Clone)]
struct Challenge {
    realm: String,
    nonce: String,
}

struct Pending {
    socket: usize,
    txid: TransactionId,
    request: Vec<u8>,
    sent: Instant,
    tries: u32,
}

enum Answer {
    Allocated,
    Stale(Challenge),
    Failed(String),
}

/// A transaction id: random, as RFC 8489 §5 asks; one getrandom call per request is cheap
/// next to the server's work.
fn txid() -> anyhow::Result<TransactionId> {
    TransactionId::random().context("no randomness for transaction ids")
}

fn allocate_request(
    id: TransactionId,
    username: &str,
    password: &str,
    challenge: Option<&Challenge>,
) -> anyhow::Result<Vec<u8>> {
    let mut b = MessageBuilder::new(Method::ALLOCATE, Class::Request, id);
    b.add(&Attribute::RequestedTransport(UDP));
    if let Some(c) = challenge {
        let key = long_term_key_md5(username, &c.realm, password);
        b.add(&Attribute::Username(username.to_string()))
            .add(&Attribute::Realm(c.realm.clone()))
            .add(&Attribute::Nonce(c.nonce.clone()))
            .add_message_integrity(&key);
    }
    b.finish()
        .map_err(|e| anyhow::anyhow!("building Allocate: {e}"))
}

fn error_code(m: &Message) -> Option<(u16, String)> {
    match m.get(types::ERROR_CODE) {
        Some(Attribute::ErrorCode { code, reason }) => Some((*code, reason.clone())),
        _ => None,
    }
}

fn challenge_of(m: &Message) -> Option<Challenge> {
    Some(Challenge {
        realm: m.realm()?.to_string(),
        nonce: m.nonce()?.to_string(),
    })
}

/// The 401 challenge for source address `ip`, from a throwaway socket of that address.
fn first_challenge(server: SocketAddr, ip: Ipv4Addr) -> anyhow::Result<Challenge> {
    let s = UdpSocket::bind((ip, 0)).with_context(|| format!("binding a socket on {ip}"))?;
    s.set_read_timeout(Some(RTO))?;
    let id = txid()?;
    let req = allocate_request(id, "", "", None)?;
    let mut buf = [0u8; 2048];
    for _ in 0..MAX_TRIES {
        s.send_to(&req, server)?;
        let Ok((n, _)) = s.recv_from(&mut buf) else {
            continue;
        };
        let Ok(m) = Message::decode(&buf[..n]) else {
            continue;
        };
        if m.transaction_id() != id {
            continue;
        }
        match (m.class(), error_code(&m), challenge_of(&m)) {
            (Class::Error, Some((401, _)), Some(c)) => return Ok(c),
            (class, code, _) => bail!(
                "unauthenticated Allocate from {ip} answered {class:?} {code:?}, not 401 with REALM and NONCE"
            ),
        }
    }
    bail!("no answer to an Allocate from {ip} to {server}")
}

/// Opens `load.count` allocations; returns once every Allocate is answered or given up.
pub fn open(load: &Load) -> anyhow::Result<Allocations> {
    if load.per_source == 0 || load.sources.len() * load.per_source < load.count {
        bail!(
            "{} source addresses × {} sockets cannot hold {} allocations",
            load.sources.len(),
            load.per_source,
            load.count
        );
    }
    let mut sockets = Vec::with_capacity(load.count);
    for i in 0..load.count {
        let ip = load.sources[i / load.per_source];
        let s = UdpSocket::bind((ip, 0)).with_context(|| {
            format!("client socket {i} on {ip} (open files limit, or ephemeral ports of {ip})")
        })?;
        s.set_nonblocking(true)?;
        sockets.push(s);
    }
    let start = Instant::now();
    let used = load.count.div_ceil(load.per_source);
    let mut challenges = Vec::with_capacity(used);
    for ip in &load.sources[..used] {
        challenges.push(first_challenge(load.server, *ip)?);
    }

    let mut out = Allocations {
        sockets: Vec::new(),
        allocated: 0,
        failed: BTreeMap::new(),
        resent: 0,
        elapsed: Duration::ZERO,
    };
    let mut window: Vec<Pending> = Vec::with_capacity(load.window);
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(load.window);
    let mut buf = [0u8; 2048];
    let mut next = 0usize;
    loop {
        while window.len() < load.window && next < load.count {
            let c = &challenges[next / load.per_source];
            let id = txid()?;
            let request = allocate_request(id, &load.username, &load.password, Some(c))?;
            let _ = sockets[next].send_to(&request, load.server);
            window.push(Pending {
                socket: next,
                txid: id,
                request,
                sent: Instant::now(),
                tries: 1,
            });
            next += 1;
        }
        if window.is_empty() {
            break;
        }
        if start.elapsed() > load.deadline {
            *out.failed.entry("bench deadline".into()).or_default() += window.len();
            *out.failed.entry("never sent".into()).or_default() += load.count - next;
            break;
        }
        fds.clear();
        fds.extend(window.iter().map(|p| libc::pollfd {
            fd: sockets[p.socket].as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }));
        // SAFETY: `fds` is a valid, initialized array of `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 20) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        let now = Instant::now();
        // Backwards, so swap_remove only moves entries already looked at.
        for i in (0..window.len()).rev() {
            let mut answer = None;
            if fds[i].revents != 0 {
                let sock = &sockets[window[i].socket];
                loop {
                    let len = match sock.recv(&mut buf) {
                        Ok(len) => len,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    let Ok(m) = Message::decode(&buf[..len]) else {
                        continue;
                    };
                    if m.transaction_id() != window[i].txid {
                        continue;
                    }
                    answer = Some(match (m.class(), error_code(&m)) {
                        (Class::Success, _) => Answer::Allocated,
                        (Class::Error, Some((438, _))) => match challenge_of(&m) {
                            Some(c) => Answer::Stale(c),
                            None => Answer::Failed("438 without a nonce".into()),
                        },
                        (Class::Error, Some((code, reason))) => {
                            Answer::Failed(format!("{code} {reason}"))
                        }
                        (class, _) => Answer::Failed(format!("{class:?} answer")),
                    });
                }
            }
            match answer {
                Some(Answer::Allocated) => {
                    out.allocated += 1;
                    window.swap_remove(i);
                }
                Some(Answer::Failed(reason)) => {
                    *out.failed.entry(reason).or_default() += 1;
                    window.swap_remove(i);
                }
                Some(Answer::Stale(c)) => {
                    let p = &mut window[i];
                    challenges[p.socket / load.per_source] = c.clone();
                    p.txid = txid()?;
                    p.request = allocate_request(p.txid, &load.username, &load.password, Some(&c))?;
                    let _ = sockets[p.socket].send_to(&p.request, load.server);
                    p.sent = now;
                    out.resent += 1;
                }
                None if now.duration_since(window[i].sent) >= RTO => {
                    let p = &mut window[i];
                    if p.tries >= MAX_TRIES {
                        *out.failed.entry("no answer".into()).or_default() += 1;
                        window.swap_remove(i);
                    } else {
                        let _ = sockets[p.socket].send_to(&p.request, load.server);
                        p.sent = now;
                        p.tries += 1;
                        out.resent += 1;
                    }
                }
                None => {}
            }
        }
    }
    out.elapsed = start.elapsed();
    out.sockets = sockets;
    Ok(out)
}
