//! exp-e's TURN server with independent clients: coturn's `turnutils_uclient` allocates,
//! binds channels and relays through exp-e to a `turnutils_peer` (Debian package `coturn`).
//! Skipped, with a message, where coturn's tools are not installed.

use std::process::Command;

use exp_tests::*;
use exp_zone::Role;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// exp-e with TURN on loopback (UDP and TCP on one free port), user `turnuser`/`turnpass`,
/// relays in a range of their own, and loopback peers explicitly allowed.
fn turn_config(allow_loopback: bool) -> (exp_zone::config::Config, u16) {
    let port = free_port();
    let mut e = exp_e_config();
    e.credentials.push(credential("turnuser", "turnpass"));
    e.turn.enabled = true;
    e.turn.udp_port = port;
    e.turn.tcp_port = port;
    let (start, end) = media_range();
    // Relays get a range of their own, clear of the media ranges the other tests use.
    e.turn.relay_port_range_start = start + 10000;
    e.turn.relay_port_range_end = end + 10000;
    if allow_loopback {
        e.turn.allowed_peers = vec!["127.0.0.0/8".into()];
    }
    (e, port)
}

/// Runs uclient against exp-e; returns its output.
fn uclient(port: u16, peer_port: u16, extra: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["60", "turnutils_uclient"])
        .args(extra)
        .args(["-e", "127.0.0.1", "-r", &peer_port.to_string()])
        .args(["-u", "turnuser", "-w", "turnpass", "-p", &port.to_string()])
        .args(["-c", "127.0.0.1"])
        .output()
        .expect("turnutils_uclient runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The figure after `label` in uclient's summary (e.g. "Total lost packets 0").
fn figure(out: &str, label: &str) -> Option<u64> {
    let line = out.lines().rev().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())?
        .parse()
        .ok()
}

struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peer() -> (Peer, u16) {
    let port = free_port();
    let child = Command::new("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("turnutils_peer");
    std::thread::sleep(std::time::Duration::from_millis(300));
    (Peer(child), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_uclient_relays_through_exp_e_over_udp_and_tcp() {
    uclient_relays(true).await;
}

/// The same with `turn.io_uring = false`: relays and listeners polled for readiness (the
/// path of kernels without io_uring's multishot receive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_uclient_relays_through_exp_e_with_readiness_polling() {
    uclient_relays(false).await;
}

async fn uclient_relays(io_uring: bool) {
    if !have("turnutils_uclient") || !have("turnutils_peer") {
        eprintln!("SKIPPED: coturn's turnutils_uclient/turnutils_peer are not installed (apt-get install coturn)");
        return;
    }
    let (mut cfg, port) = turn_config(true);
    cfg.turn.io_uring = io_uring;
    let e = start(cfg, Role::Server).await;
    let (_peer, peer_port) = peer();
    for (transport, extra) in [("udp", vec![]), ("tcp", vec!["-t"])] {
        let mut args = vec!["-m", "4", "-n", "200", "-l", "172", "-z", "5"];
        args.extend(extra);
        let out = tokio::task::spawn_blocking(move || uclient(port, peer_port, &args))
            .await
            .unwrap();
        let sent = figure(&out, "Total transmit time is").map(|_| ());
        let lost = figure(&out, "Total lost packets");
        let received = figure(&out, "tot_recv_msgs=");
        assert!(
            sent.is_some() && lost == Some(0),
            "{transport}: uclient did not finish without loss (lost {lost:?}, received {received:?}):\n{out}"
        );
        assert!(
            !out.contains("error 4"),
            "{transport}: a request failed:\n{out}"
        );
    }
    // The status is published every 250 ms.
    let turn = e.turn().expect("TURN runs");
    let done = |s: &exp_runtime::turn_io::TurnStatus| {
        s.allocations_total >= 8 && s.packets_to_peers >= 1600 && s.packets_to_clients >= 1600
    };
    assert!(
        wait_until(WAIT, || done(&turn.status())).await,
        "{:?}",
        turn.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_peers_are_refused_unless_allowed() {
    if !have("turnutils_uclient") || !have("turnutils_peer") {
        eprintln!("SKIPPED: coturn's turnutils_uclient/turnutils_peer are not installed (apt-get install coturn)");
        return;
    }
    let (cfg, port) = turn_config(false);
    let e = start(cfg, Role::Server).await;
    let (_peer, peer_port) = peer();
    let out = tokio::task::spawn_blocking(move || {
        uclient(port, peer_port, &["-m", "1", "-n", "5", "-l", "172"])
    })
    .await
    .unwrap();
    assert!(out.contains("403"), "expected 403 Forbidden:\n{out}");
    let turn = e.turn().expect("TURN runs");
    assert!(
        wait_until(WAIT, || turn.status().peer_refused > 0).await,
        "{:?}",
        turn.status()
    );
    assert_eq!(turn.status().packets_to_peers, 0);
}

/// TURN over TLS (`turns:`): on the dedicated TLS port, and on the plain TCP port, which takes
/// TLS when the first byte is a TLS handshake (so port 443 can carry either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_uclient_relays_over_tls_on_the_tls_port_and_the_tcp_port() {
    if !have("turnutils_uclient") || !have("turnutils_peer") {
        eprintln!("SKIPPED: coturn's turnutils_uclient/turnutils_peer are not installed (apt-get install coturn)");
        return;
    }
    let dir = scratch("turn-tls");
    let pki = test_pki(&dir, "turn", &["127.0.0.1"]);
    let (mut cfg, port) = turn_config(true);
    let tls_port = free_port();
    cfg.turn.tls_port = tls_port;
    cfg.tls.certificate = Some(pki.cert.clone());
    cfg.tls.private_key = Some(pki.key.clone());
    let e = start(cfg, Role::Server).await;
    let turn = e.turn().expect("TURN runs");
    assert!(
        turn.listeners().contains(&(
            exp_zone::turn::TurnTransport::Tls,
            ([127, 0, 0, 1], tls_port).into()
        )),
        "{:?}",
        turn.listeners()
    );
    let (_peer, peer_port) = peer();
    for p in [tls_port, port] {
        let out = tokio::task::spawn_blocking(move || {
            uclient(
                p,
                peer_port,
                &["-S", "-t", "-m", "2", "-n", "100", "-l", "172", "-z", "5"],
            )
        })
        .await
        .unwrap();
        let lost = figure(&out, "Total lost packets");
        let received = figure(&out, "tot_recv_msgs=");
        assert!(
            lost == Some(0) && received == Some(200),
            "TLS on port {p}: lost {lost:?}, received {received:?}:\n{out}"
        );
    }
    let done = |s: &exp_runtime::turn_io::TurnStatus| s.packets_to_clients >= 400;
    assert!(
        wait_until(WAIT, || done(&turn.status())).await,
        "{:?}",
        turn.status()
    );
    // uclient opens a connection per allocation: all four spoke TLS, none plain TCP.
    let s = turn.status();
    assert!(s.tls_connections >= 4 && s.tcp_connections == 0, "{s:?}");
}
