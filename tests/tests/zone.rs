//! The SIP traversal zone between exp-c and exp-e, end to end on loopback: authentication,
//! probes, reconnects, TLS verification, and robustness against malformed input.

use std::time::{Duration, Instant};

use exp_runtime::Node;
use exp_tests::*;
use exp_zone::{Role, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

async fn pair(password: &str) -> (Node, Node, u16) {
    let port = free_port();
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tcp));
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{port}")],
        "exp-c",
        password,
    ));
    let c = start(c, Role::Client).await;
    (e, c, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_goes_active_and_is_probed() {
    let (e, c, _) = pair("s3cret").await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "active").await,
        "{:?}",
        c.zones()
    );
    assert!(
        wait_until(WAIT, || state(&e, "lan") == "active").await,
        "{:?}",
        e.zones()
    );
    // Probes flow and are answered: RTT recorded on exp-c, probes counted on exp-e.
    assert!(wait_until(WAIT, || c.zone("dmz").unwrap().last_probe_rtt_ms.is_some()).await);
    assert!(
        wait_until(WAIT, || metric(&e, "exp_zone_probes_total{zone=\"lan\"}")
            >= 2.0)
        .await
    );
    let z = e.zone("lan").unwrap();
    assert_eq!(z.kind, "server");
    assert_eq!(
        z.peer_version.as_deref(),
        Some(exp_runtime::status::VERSION)
    );
    assert!(!z.version_mismatch);

    // The admin API says the same, over HTTP.
    let (code, body) = http_get(c.admin_addr().unwrap(), "/api/v1/zones").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let zone = &v["zones"][0];
    assert_eq!(zone["name"], "dmz");
    assert_eq!(zone["type"], "client");
    assert_eq!(zone["state"], "active");
    assert_eq!(zone["transport"], "tcp");
    assert!(zone["last_probe_rtt_ms"].is_number(), "{body}");
    let (code, body) = http_get(e.admin_addr().unwrap(), "/api/v1/status").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["program"], "exp-e");
    assert_eq!(v["version"], exp_runtime::status::VERSION);
    let (code, body) = http_get(e.admin_addr().unwrap(), "/metrics").await;
    assert_eq!(code, 200);
    assert!(body.contains("exp_zone_up{zone=\"lan\"} 1"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_auth_failed_and_backs_off() {
    let (e, c, _) = pair("not-the-password").await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "auth-failed").await,
        "{:?}",
        c.zones()
    );
    assert!(
        wait_until(WAIT, || metric(
            &e,
            "exp_zone_auth_rejections_total{zone=\"lan\",reason=\"bad-password\"}"
        ) >= 1.0)
        .await,
        "{}",
        e.metrics_text()
    );
    assert_eq!(state(&e, "lan"), "auth-failed");
    // No retry storm: over 3 s with back-off starting at 0.1 s and capped at 1 s, a client
    // retrying without back-off would make hundreds of attempts; ours makes a handful.
    let before = metric(&e, "exp_zone_connections_accepted_total{zone=\"lan\"}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = metric(&e, "exp_zone_connections_accepted_total{zone=\"lan\"}") - before;
    assert!(during <= 6.0, "{during} attempts in 3 s");
    assert!(during >= 1.0, "it keeps trying, slowly: {during}");
    let z = c.zone("dmz").unwrap();
    assert_eq!(z.state, "auth-failed");
    assert!(
        z.backoff_ms.unwrap_or(0) >= 400,
        "back-off visible in status: {z:?}"
    );
    assert!(z.warning.unwrap_or_default().contains("refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_credentials_on_another_zones_port_are_refused() {
    let (p1, p2) = (free_port(), free_port());
    let mut e = exp_e_config();
    e.credentials.push(credential("alpha", "pa"));
    e.credentials.push(credential("beta", "pb"));
    e.server_zones
        .push(server_zone("za", "alpha", p1, Transport::Tcp));
    e.server_zones
        .push(server_zone("zb", "beta", p2, Transport::Tcp));
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    // beta's correct password, but on alpha's port.
    c.client_zones.push(client_zone(
        "wrong",
        &[format!("127.0.0.1:{p1}")],
        "beta",
        "pb",
    ));
    c.client_zones.push(client_zone(
        "right",
        &[format!("127.0.0.1:{p2}")],
        "beta",
        "pb",
    ));
    let c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c, "right") == "active").await);
    assert!(
        wait_until(WAIT, || state(&c, "wrong") == "auth-failed").await,
        "{:?}",
        c.zones()
    );
    assert!(
        metric(
            &e,
            "exp_zone_auth_rejections_total{zone=\"za\",reason=\"wrong-zone\"}"
        ) >= 1.0
    );
    assert_eq!(state(&e, "za"), "auth-failed");
    assert_eq!(state(&e, "zb"), "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exp_e_killed_and_restarted_zone_recovers() {
    let port = free_port();
    let mut ecfg = exp_e_config();
    ecfg.credentials.push(credential("exp-c", "s3cret"));
    ecfg.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tcp));
    let e = start(ecfg.clone(), Role::Server).await;
    let mut c = exp_c_config();
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{port}")],
        "exp-c",
        "s3cret",
    ));
    let c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c, "dmz") == "active").await);

    drop(e); // killed: every socket closes
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "down").await,
        "{:?}",
        c.zones()
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // down for a while
    let restarted = Instant::now();
    let e = restart(ecfg, Role::Server).await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "active").await,
        "{:?}",
        c.zones()
    );
    let took = restarted.elapsed();
    println!("exp-e restart to zone active: {} ms", took.as_millis());
    assert!(c.zone("dmz").unwrap().reconnect_count >= 1);
    assert!(wait_until(WAIT, || state(&e, "lan") == "active").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_are_tried_in_order() {
    let port = free_port();
    let dead = free_port(); // nothing listens here
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tcp));
    let _e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{dead}"), format!("127.0.0.1:{port}")],
        "exp-c",
        "s3cret",
    ));
    let c = start(c, Role::Client).await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "active").await,
        "{:?}",
        c.zones()
    );
    assert_eq!(
        c.zone("dmz").unwrap().peer.as_deref(),
        Some(format!("127.0.0.1:{port}").as_str())
    );
}

async fn tls_pair(
    tag: &str,
    client_tls: exp_zone::config::ClientTlsConfig,
    server_names: &[&str],
) -> (Node, Node) {
    let dir = scratch(tag);
    let pki = test_pki(&dir, "srv", server_names);
    let port = free_port();
    let mut e = exp_e_config();
    e.tls.certificate = Some(pki.cert.clone());
    e.tls.private_key = Some(pki.key.clone());
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tls));
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    let mut z = client_zone("dmz", &[format!("127.0.0.1:{port}")], "exp-c", "s3cret");
    z.sip_transport = Transport::Tls;
    z.tls = client_tls;
    // Substitute placeholders with this run's PKI.
    if z.tls.ca_file.as_deref() == Some(std::path::Path::new("CA")) {
        z.tls.ca_file = Some(pki.ca.clone());
    }
    for p in &mut z.tls.pinned_sha256 {
        if p == "PIN" {
            *p = pki.fingerprint.clone();
        }
    }
    c.client_zones.push(z);
    let c = start(c, Role::Client).await;
    (e, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_test_ca_and_with_pin() {
    use exp_zone::config::ClientTlsConfig;
    let (_e, c) = tls_pair(
        "ca",
        ClientTlsConfig {
            ca_file: Some("CA".into()),
            ..Default::default()
        },
        &["127.0.0.1"],
    )
    .await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "active").await,
        "{:?}",
        c.zones()
    );
    assert_eq!(c.zone("dmz").unwrap().transport, "tls");

    // Pinned fingerprint, no CA, certificate for a name that is not the address: the pin is
    // what counts.
    let (_e2, c2) = tls_pair(
        "pin",
        ClientTlsConfig {
            pinned_sha256: vec!["PIN".into()],
            ..Default::default()
        },
        &["exp-e.test"],
    )
    .await;
    assert!(
        wait_until(WAIT, || state(&c2, "dmz") == "active").await,
        "{:?}",
        c2.zones()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_wrong_certificate_is_refused() {
    use exp_zone::config::ClientTlsConfig;
    capture_logs();
    // A CA that did not sign the server's certificate.
    let other = test_pki(&scratch("other-ca"), "other", &["127.0.0.1"]);
    let (e, c) = tls_pair(
        "wrong-ca",
        ClientTlsConfig {
            ca_file: Some(other.ca.clone()),
            ..Default::default()
        },
        &["127.0.0.1"],
    )
    .await;
    // The right CA but the certificate names another host.
    let (e2, c2) = tls_pair(
        "wrong-name",
        ClientTlsConfig {
            ca_file: Some("CA".into()),
            ..Default::default()
        },
        &["somewhere-else.test"],
    )
    .await;
    // A pin that does not match.
    let (e3, c3) = tls_pair(
        "wrong-pin",
        ClientTlsConfig {
            pinned_sha256: vec![other.fingerprint.clone()],
            ..Default::default()
        },
        &["127.0.0.1"],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (e, c) in [(&e, &c), (&e2, &c2), (&e3, &c3)] {
        assert_ne!(state(c, "dmz"), "active");
        assert_ne!(state(e, "lan"), "active");
        assert!(
            metric(
                e,
                "exp_zone_connection_errors_total{zone=\"lan\",reason=\"tls\"}"
            ) >= 1.0,
            "{}",
            e.metrics_text()
        );
    }
    assert!(!log_lines_with(&["cannot connect", "TLS"]).is_empty());
}

/// Connect a raw socket to `port` and send `bytes`; returns what came back before the server
/// closed, and whether it closed within `within`.
async fn raw(port: u16, bytes: &[u8], within: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_only_that_connection() {
    capture_logs();
    let (p1, p2) = (free_port(), free_port());
    let mut e = exp_e_config();
    e.credentials.push(credential("good", "pw"));
    e.server_zones
        .push(server_zone("victim", "nobody", p1, Transport::Tcp));
    e.server_zones
        .push(server_zone("other", "good", p2, Transport::Tcp));
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.client_zones
        .push(client_zone("z", &[format!("127.0.0.1:{p2}")], "good", "pw"));
    let c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c, "z") == "active").await);

    // Garbage bytes.
    let (resp, closed) = raw(p1, b"\x16\x03\x01\x00\xa5garbage\x00\xff\r\n\r\n", WAIT).await;
    assert!(closed, "garbage: connection closed");
    assert!(
        resp.starts_with(b"SIP/2.0 400"),
        "{}",
        String::from_utf8_lossy(&resp)
    );

    // An oversized header block (16 KiB limit), never terminated.
    let mut big = b"OPTIONS sip:x SIP/2.0\r\n".to_vec();
    while big.len() < 40 * 1024 {
        big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let (resp, closed) = raw(p1, &big, WAIT).await;
    assert!(closed, "oversized: connection closed");
    assert!(
        resp.starts_with(b"SIP/2.0 513"),
        "{}",
        String::from_utf8_lossy(&resp)
    );

    // Half a message, then silence: closed at the handshake timeout (1 s here).
    let (_, closed) = raw(
        p1,
        b"REGISTER sip:exp SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4\r\n",
        WAIT,
    )
    .await;
    assert!(closed, "half message: connection closed");

    // Every case counted and logged with the peer.
    assert!(
        metric(
            &e,
            "exp_zone_connection_errors_total{zone=\"victim\",reason=\"malformed\"}"
        ) >= 1.0,
        "{}",
        e.metrics_text()
    );
    assert!(
        metric(
            &e,
            "exp_zone_connection_errors_total{zone=\"victim\",reason=\"header-too-large\"}"
        ) >= 1.0
    );
    assert!(
        metric(
            &e,
            "exp_zone_connection_errors_total{zone=\"victim\",reason=\"handshake-timeout\"}"
        ) >= 1.0
    );
    assert!(!log_lines_with(&[
        "closing connection: bad input",
        "zone=victim",
        "peer=127.0.0.1:"
    ])
    .is_empty());
    assert!(!log_lines_with(&["closing connection: not authenticated", "zone=victim"]).is_empty());

    // The other zone never noticed.
    assert_eq!(state(&c, "z"), "active");
    assert_eq!(state(&e, "other"), "active");
    assert_eq!(c.zone("z").unwrap().reconnect_count, 0);
    // And the attacked zone still serves a proper client afterwards.
    let mut c2 = exp_c_config();
    c2.client_zones.push(client_zone(
        "again",
        &[format!("127.0.0.1:{p2}")],
        "good",
        "pw",
    ));
    let c2 = start(c2, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c2, "again") == "active").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_mismatch_is_a_warning_in_status() {
    use exp_sip::framer::{Limits, Role as FRole, StreamFramer};
    use exp_sip::zone::{ClientEvent, ClientParams, ClientSession};
    capture_logs();
    let port = free_port();
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tcp));
    let e = start(e, Role::Server).await;
    // An older exp-c, driven by hand with the real session code.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let local = s.local_addr().unwrap().to_string();
    let mut session = ClientSession::new(
        ClientParams {
            zone: "lan".into(),
            username: "exp-c".into(),
            password: "s3cret".into(),
            program: "exp-c".into(),
            version: "0.0.1".into(),
            server: format!("127.0.0.1:{port}"),
            transport: "TCP".into(),
            local,
        },
        [7; 16],
    );
    s.write_all(&session.start()).await.unwrap();
    let mut framer = StreamFramer::new(FRole::Client, Limits::default());
    let mut buf = [0u8; 4096];
    let mut authenticated = false;
    while !authenticated {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        framer.push(&buf[..n]);
        while let Some(f) = framer.next_frame().unwrap() {
            for ev in session.handle_frame(f) {
                match ev {
                    ClientEvent::Send(b) => s.write_all(&b).await.unwrap(),
                    ClientEvent::Authenticated { server_version } => {
                        assert_eq!(
                            server_version.as_deref(),
                            Some(exp_runtime::status::VERSION)
                        );
                        authenticated = true;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
    assert!(wait_until(WAIT, || state(&e, "lan") == "active").await);
    let z = e.zone("lan").unwrap();
    assert!(z.version_mismatch);
    assert!(z.warning.unwrap().contains("0.0.1"));
    assert!(metric(&e, "exp_zone_version_mismatch{zone=\"lan\"}") == 1.0);
    assert!(!log_lines_with(&["version mismatch", "0.0.1"]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_flood_is_capped_and_the_zone_recovers() {
    let port = free_port();
    let mut e = exp_e_config();
    e.limits.max_pending_connections = 4;
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", port, Transport::Tcp));
    let e = start(e, Role::Server).await;
    // Four idle connections take every slot; the next ones are closed on accept.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    let (_, closed) = raw(port, b"", Duration::from_millis(500)).await;
    assert!(closed, "the fifth connection is closed at once");
    assert!(
        metric(
            &e,
            "exp_zone_connection_errors_total{zone=\"lan\",reason=\"too-many-pending\"}"
        ) >= 1.0
    );
    // The idle ones hit the handshake timeout (1 s here) and free their slots: a real client
    // gets in.
    let mut c = exp_c_config();
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{port}")],
        "exp-c",
        "s3cret",
    ));
    let c = start(c, Role::Client).await;
    assert!(
        wait_until(WAIT, || state(&c, "dmz") == "active").await,
        "{:?}",
        c.zones()
    );
    drop(idle);
}
