//! Harness for the cross-crate integration tests: configurations built in code, exp-e and
//! exp-c started in-process on loopback ([`exp_runtime::Node`]; dropping one kills it as a
//! process kill would), a raw HTTP GET for the admin API, and a log capture so tests can check
//! that a refused connection left a log line.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use exp_runtime::Node;
use exp_sip::digest::{ha1, Algorithm};
use exp_zone::config::{
    ClientZoneConfig, Config, CredentialConfig, PartialProbeConfig, ServerZoneConfig,
};
use exp_zone::{Role, Secret, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A credential entry for exp-e's database, hashed as `exp-e hash-password` would.
pub fn credential(username: &str, password: &str) -> CredentialConfig {
    CredentialConfig {
        username: username.into(),
        realm: Some("exp".into()),
        ha1_sha256: Some(ha1(Algorithm::Sha256, username, "exp", password)),
        ha1_md5: Some(ha1(Algorithm::Md5, username, "exp", password)),
        h235_sha1: Some(
            exp_h460::h235::key(password)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        ),
        password: None,
    }
}

/// A media port range of 100 ports no other node of this test process uses (below Linux's
/// ephemeral range, so ports the kernel hands out elsewhere do not collide).
pub fn media_range() -> (u16, u16) {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let k = NEXT.fetch_add(1, Ordering::Relaxed) % 120;
    let start = 20000 + k * 100;
    (start, start + 99)
}

/// exp-e configuration: admin API on an ephemeral port, listeners on loopback, short
/// handshake timeout so tests of silent clients finish quickly.
pub fn exp_e_config() -> Config {
    let mut c = Config::defaults(Role::Server);
    c.admin.listen = "127.0.0.1:0".into();
    c.network.listen_address = "127.0.0.1".parse().expect("ip");
    c.server_zones.clear();
    c.limits.handshake_timeout = 1.0;
    // No call listeners unless a test asks: parallel tests would fight over 5060.
    c.sip.udp_port = 0;
    c.sip.tcp_port = 0;
    c.sip.tls_port = 0;
    (c.media.port_range_start, c.media.port_range_end) = media_range();
    c
}

/// A server zone on `port` for `username`.
pub fn server_zone(
    name: &str,
    username: &str,
    port: u16,
    transport: Transport,
) -> ServerZoneConfig {
    ServerZoneConfig {
        name: name.into(),
        username: username.into(),
        sip_port: Some(port),
        h323_port: Some(port.wrapping_add(1000)),
        sip_transport: transport,
        ..ServerZoneConfig::default()
    }
}

/// exp-c configuration with fast probes and back-off, admin API on an ephemeral port.
pub fn exp_c_config() -> Config {
    let mut c = Config::defaults(Role::Client);
    c.admin.listen = "127.0.0.1:0".into();
    c.sip.udp_port = 0;
    c.sip.tcp_port = 0;
    c.sip.tls_port = 0;
    (c.media.port_range_start, c.media.port_range_end) = media_range();
    c
}

/// A client zone to `peers` (each `host:port`).
pub fn client_zone(
    name: &str,
    peers: &[String],
    username: &str,
    password: &str,
) -> ClientZoneConfig {
    ClientZoneConfig {
        name: name.into(),
        peers: peers.to_vec(),
        username: username.into(),
        password: Some(Secret::new(password)),
        probe: Some(fast_probe()),
        ..ClientZoneConfig::default()
    }
}

/// Probe timings for tests: quick keep-alive, quick reconnect.
pub fn fast_probe() -> PartialProbeConfig {
    PartialProbeConfig {
        keepalive_interval: Some(0.2),
        retry_interval: Some(0.2),
        retry_count: Some(2),
        connect_timeout: Some(2.0),
        backoff_initial: Some(0.1),
        backoff_max: Some(1.0),
        crlf_interval: Some(0.1),
        pong_timeout: Some(1.0),
    }
}

/// Resolve and start.
pub async fn start(cfg: Config, role: Role) -> Node {
    let r = cfg.resolve(role).unwrap_or_else(|e| panic!("config: {e}"));
    Node::start(r)
        .await
        .unwrap_or_else(|e| panic!("start: {e:#}"))
}

/// Start, retrying while the port is still held by a node that was just dropped.
pub async fn restart(cfg: Config, role: Role) -> Node {
    let r = cfg.resolve(role).unwrap_or_else(|e| panic!("config: {e}"));
    let mut last = None;
    for _ in 0..100 {
        match Node::start(r.clone()).await {
            Ok(n) => return n,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("restart failed: {:#}", last.expect("an error"));
}

/// Waits until every media port pair of `node` is free again (pairs return asynchronously:
/// the media thread closes sockets and re-binds its warm pairs on its own turn).
pub async fn media_pool_full(node: &Node) -> bool {
    wait_until(Duration::from_secs(5), || {
        node.media().is_some_and(|(_, (free, total))| free == total)
    })
    .await
}

/// Poll `f` until it is true or `timeout` passes; returns whether it became true.
pub async fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}

/// State of zone `name` on `node`.
pub fn state(node: &Node, name: &str) -> &'static str {
    node.zone(name).map(|z| z.state).unwrap_or("missing")
}

/// Value of the first metric line starting with `prefix` (name and labels), 0 when absent.
pub fn metric(node: &Node, prefix: &str) -> f64 {
    node.metrics_text()
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// `GET path` on the admin API; returns (status, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect admin");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(m) = LOGS.get() {
            if let Ok(mut v) = m.lock() {
                v.extend_from_slice(buf);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every log line of this test process (idempotent).
pub fn capture_logs() {
    if LOGS.set(Mutex::new(Vec::new())).is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_env_filter("info")
            .with_writer(|| CaptureWriter)
            .try_init();
    }
}

/// Captured log lines containing every one of `needles`.
pub fn log_lines_with(needles: &[&str]) -> Vec<String> {
    let Some(m) = LOGS.get() else {
        return Vec::new();
    };
    let text = m
        .lock()
        .map(|v| String::from_utf8_lossy(&v).to_string())
        .unwrap_or_default();
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// A test CA and a server certificate it signed, written as PEM files into `dir`.
pub struct TestPki {
    /// CA certificate PEM path.
    pub ca: std::path::PathBuf,
    /// Server certificate PEM path.
    pub cert: std::path::PathBuf,
    /// Server key PEM path.
    pub key: std::path::PathBuf,
    /// SHA-256 of the server certificate's DER, hex.
    pub fingerprint: String,
}

/// Make a CA and a server certificate for `names` (DNS names or IP addresses) under `dir`.
pub fn test_pki(dir: &Path, tag: &str, names: &[&str]) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("exp test CA {tag}"));
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("cert");
    std::fs::create_dir_all(dir).expect("dir");
    let p = |n: &str| dir.join(format!("{tag}-{n}"));
    std::fs::write(p("ca.pem"), ca.pem()).expect("write");
    std::fs::write(p("cert.pem"), cert.pem()).expect("write");
    std::fs::write(p("key.pem"), key.serialize_pem()).expect("write");
    let fp = exp_runtime::tls::fingerprint(cert.der());
    TestPki {
        ca: p("ca.pem"),
        cert: p("cert.pem"),
        key: p("key.pem"),
        fingerprint: fp.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A scratch directory unique to this test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("exp-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}
