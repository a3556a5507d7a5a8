//! exp-e's TURN server with an independent client: Python's `aioice` TURN client
//! (`aioice.turn.create_turn_endpoint`) allocates over UDP and over TCP with long-term
//! credentials, binds a channel (aioice does so before its first send to a peer) and relays
//! 200 packets of 172 bytes at 50/s to an echo peer on loopback and back, with zero loss.
//! While the allocation is alive the test reads exp-e's `GET /api/v1/turn/relays` to check
//! that the relay really had the channel binding and counted the traffic.
//! Skipped, with a message, where `python3 -c "import aioice"` fails (`pip install aioice`).

use std::process::Stdio;
use std::time::Duration;

use exp_tests::*;
use exp_zone::Role;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The aioice client script, beside this crate's tests.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/aioice/turn_relay.py");
const COUNT: u64 = 200;
const SIZE: u64 = 172;
const RATE: u64 = 50;

/// aioice's version, or `None` where `python3` cannot import it.
fn aioice_version() -> Option<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import aioice; print(aioice.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// exp-e with TURN on loopback (UDP and TCP on one free port), user `turnuser`/`turnpass`,
/// relays in a range of their own, and loopback peers explicitly allowed (the echo peer is on
/// 127.0.0.1).
fn turn_config() -> (exp_zone::config::Config, u16) {
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
    e.turn.allowed_peers = vec!["127.0.0.0/8".into()];
    (e, port)
}

/// The relays of `GET /api/v1/turn/relays`.
async fn relays(admin: std::net::SocketAddr) -> Vec<Value> {
    let (status, body) = http_get(admin, "/api/v1/turn/relays").await;
    assert_eq!(status, 200, "GET /api/v1/turn/relays: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["relays"].as_array().cloned().unwrap_or_default()
}

/// Reads stdout lines of the script until one with `"event"` in `events`; every line read is
/// kept in `log`.
async fn next_event(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    log: &mut Vec<String>,
    events: &[&str],
) -> Option<Value> {
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if events.iter().any(|e| v["event"] == *e) {
                    return Some(v);
                }
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(40), read)
        .await
        .ok()
        .flatten()
}

async fn aioice_relays_through_exp_e(transport: &str) {
    let Some(version) = aioice_version() else {
        eprintln!(
            "SKIPPED: python3 cannot import aioice (python3 -m pip install aioice); \
             the aioice TURN test did not run"
        );
        return;
    };
    eprintln!("aioice {version}, TURN over {transport}");
    let (cfg, port) = turn_config();
    let e = start(cfg, Role::Server).await;
    let admin = e.admin_addr().expect("admin API");

    let mut child = tokio::process::Command::new("python3")
        .arg(SCRIPT)
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(["--transport", transport])
        .args(["--username", "turnuser", "--password", "turnpass"])
        .args(["--count", &COUNT.to_string()])
        .args(["--size", &SIZE.to_string()])
        .args(["--rate", &RATE.to_string()])
        .args(["--hold", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut log = Vec::new();

    let summary = next_event(&mut lines, &mut log, &["summary", "error"]).await;
    // The allocation is alive until the script reads a line: look at exp-e's relay table now.
    let table = relays(admin).await;
    let _ = stdin.write_all(b"\n").await;
    let _ = stdin.flush().await;
    let closed = next_event(&mut lines, &mut log, &["closed", "error"]).await;
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let stderr = tokio::time::timeout(Duration::from_secs(5), stderr)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let out = format!("stdout:\n{}\nstderr:\n{stderr}", log.join("\n"));

    let Some(summary) = summary.filter(|s| s["event"] == "summary") else {
        panic!("{transport}: the aioice client did not finish its run\n{out}");
    };
    eprintln!("{summary}");
    assert_eq!(summary["transport"], transport, "{out}");
    let relayed = summary["relayed"].as_str().expect("relayed address");
    let peer = summary["peer"].as_str().expect("peer address");
    assert!(
        relayed.starts_with("127.0.0.1:"),
        "{transport}: allocation: relayed {relayed}\n{out}"
    );
    assert_eq!(summary["sent"], COUNT, "{transport}: sent\n{out}");
    assert_eq!(
        summary["received"], summary["sent"],
        "{transport}: packets lost through the relay\n{out}"
    );
    assert_eq!(summary["corrupt"], 0, "{transport}: corrupt echoes\n{out}");
    assert_eq!(
        summary["errors"].as_array().map(Vec::len),
        Some(0),
        "{transport}: send errors\n{out}"
    );
    assert_eq!(
        summary["channel_bound"], true,
        "{transport}: aioice bound no channel\n{out}"
    );
    // The peer saw every packet from the relayed address, not from the client itself.
    assert_eq!(summary["echoed_by_peer"], COUNT, "{transport}: peer\n{out}");
    assert_eq!(
        summary["peer_saw_sources"],
        serde_json::json!([relayed]),
        "{transport}: the peer's sources\n{out}"
    );

    // exp-e's view of the same allocation, taken while it was alive.
    let relay = table
        .iter()
        .find(|r| r["relayed"] == relayed)
        .unwrap_or_else(|| panic!("{transport}: {relayed} not in exp-e's relays {table:?}\n{out}"));
    eprintln!("exp-e relay: {relay}");
    assert_eq!(relay["transport"], transport, "{relay}");
    assert_eq!(relay["username"], "turnuser", "{relay}");
    let channels = relay["channels"].as_array().cloned().unwrap_or_default();
    assert!(
        channels
            .iter()
            .any(|c| (0x4000..=0x4FFF).contains(&c[0].as_u64().unwrap_or(0)) && c[1] == peer),
        "{transport}: exp-e has no channel binding to {peer}: {relay}"
    );
    // The binding installs a permission for the peer's IP address (RFC 8656 section 12).
    let peer_ip = peer.rsplit_once(':').map(|(ip, _)| ip).unwrap_or(peer);
    assert!(
        relay["permissions"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p[0] == peer_ip)),
        "{transport}: no permission for {peer_ip}: {relay}"
    );
    assert_eq!(relay["packets_to_peer"], COUNT, "{relay}");
    assert_eq!(relay["packets_to_client"], COUNT, "{relay}");
    assert_eq!(relay["bytes_to_peer"], COUNT * SIZE, "{relay}");
    assert_eq!(relay["bytes_to_client"], COUNT * SIZE, "{relay}");

    // The client deleted its allocation and exited cleanly; exp-e let the relay go.
    assert!(
        closed.is_some_and(|c| c["event"] == "closed"),
        "{transport}: the client did not close\n{out}"
    );
    let status = exit
        .unwrap_or_else(|_| panic!("{transport}: the client did not exit\n{out}"))
        .expect("wait");
    assert!(status.success(), "{transport}: exit {status}\n{out}");
    let mut gone = false;
    for _ in 0..50 {
        if !relays(admin).await.iter().any(|r| r["relayed"] == relayed) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "{transport}: {relayed} still allocated after deletion"
    );
    let turn = e.turn().expect("TURN runs");
    assert!(
        wait_until(Duration::from_secs(5), || {
            let s = turn.status();
            s.allocations_total >= 1 && s.active_relays == 0
        })
        .await,
        "{:?}",
        turn.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aioice_relays_through_exp_e_over_udp() {
    aioice_relays_through_exp_e("udp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aioice_relays_through_exp_e_over_tcp() {
    aioice_relays_through_exp_e("tcp").await;
}
