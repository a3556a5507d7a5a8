//! H.323 calls through exp-e and exp-c on loopback, in-process, between two `exp-h323-test`
//! endpoints (built with the workspace): outside → exp-e → H.460.18 indication → exp-c →
//! LAN, with RTP both ways, once with the zone in H.460.19 demultiplexing mode (exp-e's leg
//! toward exp-c is a demux leg, media carries the multiplexID) and once without (a port pair
//! per call, bare keep-alives). Skipped, with a message, where the endpoint binary is missing
//! (`cargo build -p exp-h323-test`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use exp_runtime::Node;
use exp_tests::*;
use exp_zone::config::RouteConfig;
use exp_zone::{Role, Transport};

const WAIT: Duration = Duration::from_secs(10);
const PACKETS: &str = "100";

fn endpoint_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let bin = dir.join("exp-h323-test");
    bin.exists().then_some(bin)
}

fn even_free_port() -> u16 {
    // Linux hands out odd ports to bind(0): take the even one below and check both.
    loop {
        let p = free_port() & !1;
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok()
        {
            return p;
        }
    }
}

async fn pair(demux: bool, bob_port: u16) -> (Node, Node, u16) {
    let port = free_port();
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    let mut z = server_zone("lan", "exp-c", port, Transport::Tcp);
    z.sip_mode = false;
    z.h323_mode = true;
    z.h460_19_demux = demux;
    let ras = port.wrapping_add(1000);
    e.server_zones.push(z);
    e.h323.call_signalling_port = free_port();
    let e_listen = free_port();
    e.h323.listen_port = e_listen;
    e.h323.ras_port = 0;
    e.routes.push(RouteConfig {
        pattern: "h323-bob".into(),
        zone: Some("lan".into()),
        ..Default::default()
    });
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.network.listen_address = "127.0.0.1".parse().unwrap();
    let mut cz = client_zone("dmz", &["127.0.0.1".to_string()], "exp-c", "s3cret");
    cz.sip_mode = false;
    cz.h323_mode = true;
    cz.h323_port = ras;
    c.client_zones.push(cz);
    c.h323.listen_port = free_port();
    c.routes.push(RouteConfig {
        pattern: "h323-bob".into(),
        target: Some(format!("127.0.0.1:{bob_port}")),
        protocol: Some(exp_zone::config::RouteProtocol::H323),
        ..Default::default()
    });
    let c = start(c, Role::Client).await;
    (e, c, e_listen)
}

fn summary(out: std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
        panic!(
            "endpoint printed {text:?}, stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

async fn call_through(demux: bool) {
    let Some(bin) = endpoint_bin() else {
        eprintln!("SKIPPED: exp-h323-test is not built (cargo build -p exp-h323-test)");
        return;
    };
    let bob_port = free_port();
    let (e, c, e_listen) = pair(demux, bob_port).await;
    assert!(
        wait_until(WAIT, || c
            .zone("dmz")
            .and_then(|z| z.h323)
            .is_some_and(|h| h.state == "active"))
        .await,
        "{:?}",
        c.zones()
    );
    let bob_rtp = even_free_port();
    let bob = Command::new(&bin)
        .args([
            "answer",
            "--listen",
            &format!("127.0.0.1:{bob_port}"),
            "--rtp",
            &format!("127.0.0.1:{bob_rtp}"),
            "--packets",
            PACKETS,
            "--timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alice_rtp = even_free_port();
    let alice = Command::new(&bin)
        .args([
            "call",
            "--to",
            &format!("127.0.0.1:{e_listen}"),
            "--dest",
            "h323-bob",
            "--rtp",
            &format!("127.0.0.1:{alice_rtp}"),
            "--packets",
            PACKETS,
            "--timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // exp-e's legs while the call runs.
    let admin = e.admin_addr().unwrap();
    let mut kinds = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, body) = http_get(admin, "/api/v1/h323/calls").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        kinds = v["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["media"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m["kind"].as_str().map(str::to_string))
            .collect();
        if !kinds.is_empty() {
            break;
        }
    }
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            alice.wait_with_output().unwrap(),
            bob.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    let (a, b) = (summary(a), summary(b));
    for (who, s) in [("alice", &a), ("bob", &b)] {
        assert_eq!(s["connected"], true, "{who}: {s}");
        assert_eq!(s["sent"], 100, "{who}: {s}");
        assert!(s["received"].as_u64().unwrap_or(0) >= 90, "{who}: {s}");
    }
    kinds.sort();
    if demux {
        assert_eq!(kinds, ["demux", "endpoint"], "exp-e's legs");
    } else {
        assert_eq!(kinds, ["endpoint", "endpoint"], "exp-e's legs");
    }
    // exp-c's keep-alives reached exp-e's leg before media.
    assert!(metric(&e, "exp_media_keepalives_received_total") >= 2.0);
    // The call is gone from both, and its ports freed.
    assert!(
        wait_until(WAIT, || metric(&e, "exp_media_streams") == 0.0
            && metric(&c, "exp_media_streams") == 0.0)
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h323_call_with_h460_19_demultiplexing() {
    call_through(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h323_call_without_demultiplexing() {
    call_through(false).await;
}
