//! `cargo xtask bench turn`: CPU per relayed packet of exp-e's TURN server next to coturn's
//! `turnserver` in the same run under the same load, and the memory exp-e needs to hold
//! 50,000 allocations (issue 5's acceptance figures: at most one third of coturn's CPU per
//! relayed packet with no loss, and 50,000 allocations within 256 MiB resident).
//!
//! Relay cost. Both servers run on loopback with the same credential (turnuser/turnpass, realm
//! `exp`), loopback peers allowed. One `turnutils_peer` echoes everything it receives. For each
//! round and each server (alternately, the order swapped every round) coturn's own client,
//! `turnutils_uclient -m SESSIONS -n PACKETS -l 172 -z 1 -c`, opens SESSIONS allocations with
//! a channel to the peer and sends PACKETS 172-byte packets per session, one per millisecond.
//! The server's CPU time, user + system of all its threads from /proc/PID/stat, is read just
//! before the client starts and just after it exits.
//!
//! Relayed packets are counted the same way for both servers, from the client's side: every
//! echo a session gets back crossed the server twice, client → peer and peer → client, so
//! relayed packets = 2 × packets the clients received back (uclient's `tot_recv_msgs`). A
//! packet lost on the way is not counted, although the server may have relayed it one way.
//! exp-e's own counters (`/api/v1/turn` packets_to_peers + packets_to_clients) are printed next
//! to it as a check. Loss is uclient's "Total lost packets". The figure is the median over the
//! rounds; the line `turn cpu-per-packet ratio exp-e/coturn: R` is the ratio of the medians.
//!
//! Floor. The peer's own CPU is read over the same runs: `turnutils_peer` receives each packet
//! once and sends it once, which is exactly the kernel work a relay must do per relayed packet
//! (one receive, one send on loopback, where the sender is also charged for delivering to the
//! receiver and waking it), with no protocol work at all. Its CPU per echoed packet is printed
//! as the floor of this load, so that a server's figure can be read against what the kernel
//! alone costs on the machine at hand.
//!
//! Capacity. A separate exp-e with relay range 10000–60000 and capacity 60000 relays on its own
//! loopback address (127.0.42.1, so that relay ports cannot collide with other programs' UDP
//! sockets on 127.0.0.1); the load generator in turn_load.rs opens the allocations, each from
//! its own client socket. Then exp-e's VmRSS (/proc/PID/status) and `/api/v1/turn`'s
//! active_relays are read.
//!
//! The bench raises the open-files limit (soft and hard, which root with CAP_SYS_RESOURCE may)
//! before anything starts, because the clients' sockets and exp-e's relay sockets each need one
//! descriptor per allocation, and the children inherit the limit. Where it cannot be raised far
//! enough, the test opens as many allocations as the limit allows, says so, and prints a
//! linear projection to 50,000 marked as such (not the tracked line).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use exp_turn::{Class, Message, MessageBuilder, Method, TransactionId};

use crate::proc::{cpu_times as cpu_seconds, get_json, Bg};
use crate::turn_load;

const USER: &str = "turnuser";
const PASSWORD: &str = "turnpass";
const REALM: &str = "exp";
/// HA1 hashes of turnuser:exp:turnpass, as exp-e's credential database stores them.
const HA1_SHA256: &str = "a185bf0a36ab4a6320eaf19ffeb7fc057236051eb3b0102f01ec496c672c3b7f";
const HA1_MD5: &str = "fe3a77a64ec58bbc3a4b06a778ab8ef3";
/// Relay ranges of the CPU comparison: exp-e's default, and a separate one for coturn.
const EXP_RELAYS: (u16, u16) = (24000, 29999);
const COTURN_RELAYS: (u16, u16) = (20000, 23999);
/// Relay address of the capacity test, and the first client source address.
const CAPACITY_RELAY_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 42, 1);
const CAPACITY_CLIENT_IP: [u8; 3] = [127, 0, 43];
/// Client sockets per source address (below the 28,000 ephemeral ports of one address).
const SOCKETS_PER_SOURCE: usize = 20_000;
const RSS_GOAL_MIB: f64 = 256.0;
/// Descriptors kept free for everything but relay and client sockets.
const FILES_MARGIN: u64 = 200;

struct Options {
    sessions: u32,
    packets: u32,
    rounds: usize,
    allocations: usize,
    keep: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        sessions: 50,
        packets: 4000,
        rounds: 3,
        allocations: 50_000,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().context("option value");
        match a.as_str() {
            "--sessions" => o.sessions = val()?.parse()?,
            "--packets" => o.packets = val()?.parse()?,
            "--rounds" => o.rounds = val()?.parse()?,
            "--allocations" => o.allocations = val()?.parse()?,
            "--keep" => o.keep = true,
            other => bail!("unknown bench turn option `{other}`"),
        }
    }
    if o.sessions == 0 || o.packets == 0 || o.rounds == 0 {
        bail!("--sessions, --packets and --rounds must be above 0");
    }
    if o.allocations > 60_000 {
        bail!("--allocations: at most 60000 (the capacity configured for the test)");
    }
    Ok(o)
}

/// Raises RLIMIT_NOFILE (soft and hard) to `want` if allowed, else the soft limit to the hard
/// one; returns the soft limit now in force.
fn raise_open_files(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid, owned struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        if r.rlim_cur >= want {
            return r.rlim_cur;
        }
        let up = libc::rlimit {
            rlim_cur: want,
            rlim_max: want.max(r.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &up) == 0 {
            return want;
        }
        r.rlim_cur = r.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &r) == 0 {
            return r.rlim_cur;
        }
        0
    }
}

/// Resident memory of process `pid` in MiB (VmRSS).
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS")?
        .parse()?;
    Ok(kib / 1024.0)
}

/// A loopback port free for UDP and TCP, outside the relay ranges (ephemeral ports are
/// 32768 and up on Linux; the check keeps that true elsewhere).
fn free_port() -> anyhow::Result<u16> {
    for _ in 0..1000 {
        let u = UdpSocket::bind("127.0.0.1:0")?;
        let port = u.local_addr()?.port();
        if port <= COTURN_RELAYS.1.max(EXP_RELAYS.1) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free loopback port")
}

/// Waits until a STUN server answers a Binding request on `addr` (any answer: exp-e refuses an
/// unauthenticated Binding with 401, coturn answers it).
fn wait_stun(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = Instant::now();
    let mut buf = [0u8; 1500];
    while start.elapsed() < timeout {
        let id = TransactionId::random().context("randomness")?;
        let req = MessageBuilder::new(Method::BINDING, Class::Request, id)
            .finish()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        s.send_to(&req, addr)?;
        let deadline = Instant::now() + Duration::from_millis(100);
        while Instant::now() < deadline {
            if let Ok(n) = s.recv(&mut buf) {
                if Message::decode(&buf[..n]).is_ok_and(|m| m.transaction_id() == id) {
                    return Ok(());
                }
            }
        }
    }
    bail!("no STUN answer from {addr} within {timeout:?}")
}

/// Waits until the UDP echo server on `addr` echoes.
fn wait_echo(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = Instant::now();
    let mut buf = [0u8; 64];
    while start.elapsed() < timeout {
        s.send_to(b"exp bench turn", addr)?;
        if s.recv(&mut buf).is_ok() {
            return Ok(());
        }
    }
    bail!("turnutils_peer on {addr} does not echo")
}

fn exp_e_config(
    port: u16,
    admin: u16,
    relays: (u16, u16),
    capacity: usize,
    relay_address: Option<Ipv4Addr>,
) -> String {
    let relay_address = relay_address
        .map(|a| format!("relay_address = \"{a}\"\n"))
        .unwrap_or_default();
    format!(
        r#"server_zones = []

[admin]
listen = "127.0.0.1:{admin}"

[network]
listen_address = "127.0.0.1"

[sip]
udp_port = 0
tcp_port = 0

[media]
port_range_start = 40000
port_range_end = 40999

[turn]
enabled = true
udp_port = {port}
tcp_port = {port}
allowed_peers = ["127.0.0.0/8"]
relay_port_range_start = {rmin}
relay_port_range_end = {rmax}
capacity = {capacity}
{relay_address}
[[credentials]]
username = "{USER}"
realm = "{REALM}"
ha1_sha256 = "{HA1_SHA256}"
ha1_md5 = "{HA1_MD5}"
"#,
        rmin = relays.0,
        rmax = relays.1,
    )
}

/// Starts exp-e with a TURN-only configuration; returns once it answers STUN and its admin API.
fn start_exp_e(
    bin: &Path,
    dir: &Path,
    tag: &str,
    relays: (u16, u16),
    capacity: usize,
    relay_address: Option<Ipv4Addr>,
) -> anyhow::Result<(Bg, SocketAddr, SocketAddr)> {
    let (port, admin_port) = (free_port()?, free_port()?);
    let config = dir.join(format!("exp-e-{tag}.toml"));
    std::fs::write(
        &config,
        exp_e_config(port, admin_port, relays, capacity, relay_address),
    )?;
    let log = File::create(dir.join(format!("exp-e-{tag}.log")))?;
    let mut bg = Bg::spawn(
        "exp-e",
        Command::new(bin)
            .arg("run")
            .arg("--config")
            .arg(&config)
            .stdout(log.try_clone()?)
            .stderr(log),
    )?;
    let turn: SocketAddr = ([127, 0, 0, 1], port).into();
    let admin: SocketAddr = ([127, 0, 0, 1], admin_port).into();
    wait_stun(turn, Duration::from_secs(10)).with_context(|| {
        format!(
            "exp-e did not start its TURN server (log: {})",
            dir.join(format!("exp-e-{tag}.log")).display()
        )
    })?;
    let start = Instant::now();
    while get_json(admin, "/api/v1/turn").is_err() {
        bg.check_alive()?;
        if start.elapsed() > Duration::from_secs(10) {
            bail!("exp-e's admin API on {admin} does not answer");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((bg, turn, admin))
}

/// Starts coturn's turnserver with a temporary configuration equivalent to exp-e's.
fn start_coturn(dir: &Path) -> anyhow::Result<(Bg, SocketAddr)> {
    let port = free_port()?;
    let config = dir.join("turnserver.conf");
    std::fs::write(
        &config,
        format!(
            "listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port={port}
min-port={}
max-port={}
lt-cred-mech
user={USER}:{PASSWORD}
realm={REALM}
no-tls
no-dtls
allow-loopback-peers
no-multicast-peers
no-cli
log-file={}
simple-log
pidfile={}
userdb={}
",
            COTURN_RELAYS.0,
            COTURN_RELAYS.1,
            dir.join("turnserver.log").display(),
            dir.join("turnserver.pid").display(),
            dir.join("turndb").display(),
        ),
    )?;
    let bg = Bg::spawn(
        "turnserver",
        Command::new("turnserver")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_stun(addr, Duration::from_secs(15)).with_context(|| {
        format!(
            "coturn did not start (log: {})",
            dir.join("turnserver.log").display()
        )
    })?;
    Ok((bg, addr))
}

/// What turnutils_uclient reports at the end.
#[derive(Debug, Clone, Copy)]
struct Client {
    sent: u64,
    received: u64,
    lost: u64,
    lost_percent: f64,
}

/// The number after `key` in `line`.
fn number_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The totals of uclient's output: the last `tot_send_msgs=…, tot_recv_msgs=…` line and the
/// `Total lost packets N (P%)` line.
fn parse_uclient(out: &str) -> Option<Client> {
    let totals = out
        .lines()
        .rfind(|l| l.contains("tot_send_msgs=") && l.contains("tot_recv_msgs="))?;
    let lost = out.lines().rfind(|l| l.contains("Total lost packets"))?;
    Some(Client {
        sent: number_after(totals, "tot_send_msgs=")? as u64,
        received: number_after(totals, "tot_recv_msgs=")? as u64,
        lost: number_after(lost, "Total lost packets ")? as u64,
        lost_percent: number_after(lost, "(")?,
    })
}

/// One measured uclient run against one server.
#[derive(Debug, Clone, Copy)]
struct Run {
    relayed: u64,
    cpu: f64,
    /// The system (kernel) part of `cpu`.
    system: f64,
    us_per_packet: f64,
    client: Client,
    wall: Duration,
    /// exp-e's own count of relayed packets over the run.
    server_count: Option<u64>,
    /// Datagrams dropped at the server's sockets for want of receive buffer.
    server_drops: u64,
    /// turnutils_peer's CPU per packet it echoed (one receive and one send, like the server's
    /// work per relayed packet): the floor of this load.
    floor_us: f64,
}

fn exp_e_relayed(admin: SocketAddr) -> anyhow::Result<u64> {
    let v = get_json(admin, "/api/v1/turn")?;
    Ok(v["packets_to_peers"].as_u64().context("packets_to_peers")?
        + v["packets_to_clients"]
            .as_u64()
            .context("packets_to_clients")?)
}

/// Datagrams the kernel dropped at process `pid`'s UDP sockets (receive buffer full), per
/// socket inode, from the `drops` column of /proc/net/udp and udp6.
fn socket_drops(pid: u32) -> HashMap<u64, u64> {
    let mut inodes = HashSet::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Ok(link) = std::fs::read_link(e.path()) {
                let link = link.to_string_lossy();
                if let Some(n) = link
                    .strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    inodes.insert(n);
                }
            }
        }
    }
    let mut out = HashMap::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(inode), Some(drops)) = (
                f.get(9).and_then(|v| v.parse::<u64>().ok()),
                f.get(12).and_then(|v| v.parse::<u64>().ok()),
            ) else {
                continue;
            };
            if inodes.contains(&inode) {
                out.insert(inode, drops);
            }
        }
    }
    out
}

/// Drops over a run: sockets that existed before count from their value then.
fn drops_between(before: &HashMap<u64, u64>, after: &HashMap<u64, u64>) -> u64 {
    after
        .iter()
        .map(|(inode, n)| n.saturating_sub(before.get(inode).copied().unwrap_or(0)))
        .sum()
}

fn measure(
    o: &Options,
    dir: &Path,
    server: &mut Bg,
    turn: SocketAddr,
    admin: Option<SocketAddr>,
    (peer, peer_pid): (SocketAddr, u32),
    label: &str,
) -> anyhow::Result<Run> {
    server.check_alive()?;
    let counted0 = admin.map(exp_e_relayed).transpose()?;
    let out_path = dir.join(format!("uclient-{label}.log"));
    let out = File::create(&out_path)?;
    let drops0 = socket_drops(server.pid());
    let peer0 = cpu_seconds(peer_pid)?;
    let (cpu0, t0) = (cpu_seconds(server.pid())?, Instant::now());
    let mut client = Bg::spawn(
        "turnutils_uclient",
        Command::new("turnutils_uclient")
            .args(["-m", &o.sessions.to_string(), "-n", &o.packets.to_string()])
            .args(["-l", "172", "-z", "1", "-c"])
            .args(["-e", &peer.ip().to_string(), "-r", &peer.port().to_string()])
            .args(["-u", USER, "-w", PASSWORD, "-p", &turn.port().to_string()])
            .arg(turn.ip().to_string())
            .stdout(out.try_clone()?)
            .stderr(out),
    )?;
    let timeout = Duration::from_secs(60 + u64::from(o.packets) / 50);
    loop {
        if client.child.try_wait()?.is_some() {
            break;
        }
        if t0.elapsed() > timeout {
            bail!("turnutils_uclient did not finish within {timeout:?} against {label}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (cpu1, wall) = (cpu_seconds(server.pid())?, t0.elapsed());
    let peer1 = cpu_seconds(peer_pid)?;
    let server_drops = drops_between(&drops0, &socket_drops(server.pid()));
    server.check_alive()?;
    let text = std::fs::read_to_string(&out_path)?;
    let c = parse_uclient(&text).with_context(|| {
        format!(
            "no totals in turnutils_uclient's output against {label} ({})",
            out_path.display()
        )
    })?;
    let server_count = match (admin, counted0) {
        (Some(a), Some(n0)) => {
            // exp-e publishes its counters every 250 ms.
            std::thread::sleep(Duration::from_millis(300));
            Some(exp_e_relayed(a)? - n0)
        }
        _ => None,
    };
    let relayed = 2 * c.received;
    if relayed == 0 {
        bail!(
            "nothing was relayed by {label} (see {})",
            out_path.display()
        );
    }
    let (user, system) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let cpu = user + system;
    // Every echo the clients got back is one packet the peer received and sent.
    let peer_cpu = (peer1.0 - peer0.0) + (peer1.1 - peer0.1);
    Ok(Run {
        floor_us: peer_cpu * 1e6 / c.received as f64,
        relayed,
        cpu,
        system,
        us_per_packet: cpu * 1e6 / relayed as f64,
        client: c,
        wall,
        server_count,
        server_drops,
    })
}

fn print_run(round: usize, name: &str, r: &Run) {
    let check = r
        .server_count
        .map(|n| format!("  (exp-e counted {n})"))
        .unwrap_or_default();
    println!(
        "  round {round}: {name:<6} relayed {:>7} pkts  CPU {:>5.2} s ({:>3.0}% system)  {:>6.3} µs/pkt  loss {} of {} ({:.3}%; {} dropped at the server's sockets)  wall {:>5.1} s  floor {:.3} µs/pkt{check}",
        r.relayed,
        r.cpu,
        100.0 * r.system / r.cpu.max(1e-9),
        r.us_per_packet,
        r.client.lost,
        r.client.sent,
        r.client.lost_percent,
        r.server_drops,
        r.wall.as_secs_f64(),
        r.floor_us,
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn summary(name: &str, runs: &[Run]) -> f64 {
    let us = median(runs.iter().map(|r| r.us_per_packet).collect());
    // The kernel's part of the median run.
    let mid = runs
        .iter()
        .find(|r| r.us_per_packet == us)
        .map_or(0.0, |r| r.system * 1e6 / r.relayed as f64);
    let relayed = median(runs.iter().map(|r| r.relayed as f64).collect());
    let wall = median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());
    let lost: u64 = runs.iter().map(|r| r.client.lost).sum();
    let sent: u64 = runs.iter().map(|r| r.client.sent).sum();
    println!(
        "{name:<6} {us:.3} µs CPU per relayed packet (median of {}; {mid:.3} of it system), {relayed:.0} packets relayed per run, loss {lost} of {sent} over all runs, wall {wall:.1} s per run",
        runs.len()
    );
    us
}

/// The capacity test: `n` allocations on a fresh exp-e (`wanted` is the goal's count, when the
/// open-files limit allows fewer); returns false when exp-e holds fewer than `n`.
fn capacity(bin: &Path, dir: &Path, n: usize, wanted: usize) -> anyhow::Result<bool> {
    let (mut exp_e, turn, admin) = start_exp_e(
        bin,
        dir,
        "capacity",
        (10000, 60000),
        60000,
        Some(CAPACITY_RELAY_IP),
    )?;
    let rss0 = rss_mib(exp_e.pid())?;
    let sources: Vec<Ipv4Addr> = (0..n.div_ceil(SOCKETS_PER_SOURCE).max(1))
        .map(|i| {
            let [a, b, c] = CAPACITY_CLIENT_IP;
            Ipv4Addr::new(a, b, c, 1 + i as u8)
        })
        .collect();
    let allocations = turn_load::open(&turn_load::Load {
        server: turn,
        sources,
        per_source: SOCKETS_PER_SOURCE,
        count: n,
        username: USER.into(),
        password: PASSWORD.into(),
        window: 256,
        deadline: Duration::from_secs(90),
    })?;
    exp_e.check_alive()?;
    std::thread::sleep(Duration::from_millis(400));
    let v = get_json(admin, "/api/v1/turn")?;
    let active = v["active_relays"].as_u64().unwrap_or(0);
    let rss = rss_mib(exp_e.pid())?;
    let secs = allocations.elapsed.as_secs_f64();
    println!(
        "capacity: {} of {n} Allocates succeeded from {} client sockets in {secs:.2} s ({:.0}/s, {} resent){}",
        allocations.allocated,
        allocations.sockets(),
        allocations.allocated as f64 / secs.max(1e-9),
        allocations.resent,
        if allocations.failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {:?}", allocations.failed)
        }
    );
    println!(
        "capacity: exp-e /api/v1/turn active_relays {active} (expected {n}); RSS {rss0:.1} MiB before the allocations, {:.2} KiB more per allocation",
        (rss - rss0) * 1024.0 / (active.max(1) as f64)
    );
    if n == wanted {
        println!("turn {active} allocations: RSS {rss:.0} MiB (goal {RSS_GOAL_MIB:.0} MiB)");
    } else {
        println!(
            "turn {active} allocations: RSS {rss:.0} MiB (goal {RSS_GOAL_MIB:.0} MiB for {wanted})"
        );
        let projected = rss0 + (rss - rss0) * wanted as f64 / (active.max(1) as f64);
        println!(
            "turn {wanted} allocations projected linearly from {active}, NOT measured: RSS {projected:.0} MiB (goal {RSS_GOAL_MIB:.0} MiB)"
        );
    }
    drop(exp_e);
    drop(allocations);
    if active != n as u64 {
        eprintln!("bench turn: exp-e holds {active} allocations, not {n}");
        return Ok(false);
    }
    Ok(true)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let o = parse(args)?;
    for (tool, what) in [
        ("turnserver", "--version"),
        ("turnutils_uclient", "-h"),
        ("turnutils_peer", "-h"),
    ] {
        if Command::new(tool)
            .arg(what)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            bail!("`{tool}` not found: bench turn needs coturn (apt-get install coturn)");
        }
    }
    // exp-e needs a descriptor per relay, the load generator one per client socket; each
    // process has the limit to itself. Keep a margin for everything else they open.
    let files = raise_open_files(o.allocations as u64 + 1_000);
    let measurable = (files.saturating_sub(FILES_MARGIN) as usize).min(o.allocations);
    crate::cargo(&["build", "--quiet", "--release", "-p", "exp-e"])?;
    let bin = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::proc::workspace_root().join("target"))
        .join("release/exp-e");
    crate::proc::in_scratch_dir("exp-bench-turn", "bench turn", o.keep, |dir| {
        bench(&o, &bin, dir, measurable, files)
    })
}

fn coturn_version() -> String {
    Command::new("turnserver")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "?".into())
}

fn bench(o: &Options, bin: &Path, dir: &Path, measurable: usize, files: u64) -> anyhow::Result<()> {
    println!(
        "bench turn: turnutils_uclient -m {} -n {} -l 172 -z 1 -c through each server, {} rounds; coturn {}; {} CPUs",
        o.sessions,
        o.packets,
        o.rounds,
        coturn_version(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let peer_port = free_port()?;
    let peer: SocketAddr = ([127, 0, 0, 1], peer_port).into();
    let mut peer_proc = Bg::spawn(
        "turnutils_peer",
        Command::new("turnutils_peer")
            .args(["-L", "127.0.0.1", "-p", &peer_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    wait_echo(peer, Duration::from_secs(5))?;
    let (mut exp_e, exp_turn, exp_admin) = start_exp_e(bin, dir, "relay", EXP_RELAYS, 1800, None)?;
    let (mut coturn, coturn_addr) = start_coturn(dir)?;

    let (mut exp_runs, mut coturn_runs) = (Vec::new(), Vec::new());
    for round in 1..=o.rounds {
        let exp_first = round % 2 == 1;
        for exp_turn_now in [exp_first, !exp_first] {
            peer_proc.check_alive()?;
            if exp_turn_now {
                let r = measure(
                    o,
                    dir,
                    &mut exp_e,
                    exp_turn,
                    Some(exp_admin),
                    (peer, peer_proc.pid()),
                    &format!("exp-e-{round}"),
                )?;
                print_run(round, "exp-e", &r);
                exp_runs.push(r);
            } else {
                let r = measure(
                    o,
                    dir,
                    &mut coturn,
                    coturn_addr,
                    None,
                    (peer, peer_proc.pid()),
                    &format!("coturn-{round}"),
                )?;
                print_run(round, "coturn", &r);
                coturn_runs.push(r);
            }
        }
    }
    drop(exp_e);
    drop(coturn);
    drop(peer_proc);
    println!("relayed packets = 2 × echoes the clients got back; CPU = user + system of the server process");
    let exp_us = summary("exp-e", &exp_runs);
    let coturn_us = summary("coturn", &coturn_runs);
    let floor = median(
        exp_runs
            .iter()
            .chain(&coturn_runs)
            .map(|r| r.floor_us)
            .collect(),
    );
    println!(
        "floor  {floor:.3} µs CPU per packet of turnutils_peer (median over all runs): one receive and one send per packet, the kernel work a relayed packet needs at the least; exp-e/floor {:.2}, coturn/floor {:.2}",
        exp_us / floor,
        coturn_us / floor
    );

    let held = if o.allocations > 0 {
        if measurable < o.allocations {
            println!(
                "capacity: only {measurable} of {} allocations can be opened here: the open-files limit is {files} and cannot be raised (needs CAP_SYS_RESOURCE), and exp-e needs one relay socket per allocation",
                o.allocations
            );
        }
        capacity(bin, dir, measurable, o.allocations)?
    } else {
        true
    };
    println!(
        "turn cpu-per-packet ratio exp-e/coturn: {:.2}",
        exp_us / coturn_us
    );
    if !held {
        bail!("exp-e did not hold all {} allocations", o.allocations);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uclient_totals() {
        let out = "0: : Total connect time is 5\n\
            11: : start_mclient: msz=50, tot_send_msgs=200000, tot_recv_msgs=198638, tot_send_bytes ~ 34400000, tot_recv_bytes ~ 34165736\n\
            20: : start_mclient: tot_send_msgs=200000, tot_recv_msgs=198638\n\
            20: : start_mclient: tot_send_bytes ~ 34400000, tot_recv_bytes ~ 34165736\n\
            20: : Total transmit time is 20\n\
            20: : Total lost packets 1362 (0.681000%), total send dropped 0 (0.000000%)\n";
        let c = parse_uclient(out).unwrap();
        assert_eq!((c.sent, c.received, c.lost), (200000, 198638, 1362));
        assert!((c.lost_percent - 0.681).abs() < 1e-9);
        assert!(parse_uclient("nothing").is_none());
    }
}
