//! TURN settings change while exp-e runs (`Node::reload`, what SIGHUP calls): new settings
//! apply to new requests, listeners come and go, and allocations made before the change keep
//! relaying.

#[path = "support/turn_client.rs"]
mod turn_client;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use exp_tests::*;
use exp_zone::Role;
use turn_client::TurnClient;

fn config(port: u16) -> exp_zone::config::Config {
    let mut e = exp_e_config();
    e.credentials.push(credential("turnuser", "turnpass"));
    e.credentials.push(credential("other", "otherpass"));
    e.turn.enabled = true;
    e.turn.udp_port = port;
    e.turn.tcp_port = 0;
    let (start, end) = media_range();
    e.turn.relay_port_range_start = start + 20000;
    e.turn.relay_port_range_end = end + 20000;
    e.turn.allowed_peers = vec!["127.0.0.0/8".into()];
    e
}

fn resolve(cfg: &exp_zone::config::Config) -> exp_zone::Resolved {
    cfg.clone().resolve(Role::Server).expect("config resolves")
}

/// Relays one datagram client → peer → client through `c`'s allocation.
fn relays(c: &TurnClient, peer: &UdpSocket, relayed: SocketAddr, tag: &[u8]) -> bool {
    let peer_addr = peer.local_addr().unwrap();
    c.send(peer_addr, tag);
    let mut buf = [0u8; 256];
    let Ok((n, from)) = peer.recv_from(&mut buf) else {
        return false;
    };
    if &buf[..n] != tag || from != relayed {
        return false;
    }
    peer.send_to(b"back", from).unwrap();
    matches!(c.receive(), Some((p, d)) if p == peer_addr && d == b"back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_settings_change_without_restart_and_allocations_survive() {
    let port = free_port();
    let mut cfg = config(port);
    let mut e = start(cfg.clone(), Role::Server).await;
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let peer_addr = peer.local_addr().unwrap();

    let (before, relayed) = tokio::task::spawn_blocking(move || {
        let mut c = TurnClient::new(server, "turnuser", "turnpass", "exp");
        let relayed = c.allocate().expect("allocation before the reload");
        c.permit(peer_addr).expect("permission");
        (c, relayed)
    })
    .await
    .unwrap();
    let peer = tokio::task::spawn_blocking(move || {
        assert!(relays(&before, &peer, relayed, b"one"), "relay before");
        (before, peer)
    })
    .await
    .unwrap();
    let (before, peer) = peer;

    // New settings: capacity 1 (the allocation above fills it), a second UDP listener, and a
    // credential gone.
    let port2 = free_port();
    cfg.turn.capacity = Some(1);
    cfg.turn.large = false;
    cfg.turn.tcp_port = port2;
    cfg.credentials.retain(|c| c.username != "other");
    let report = e.reload(resolve(&cfg)).expect("reload");
    assert!(
        report
            .applied
            .iter()
            .any(|a| a.contains("allocations kept")),
        "{report:?}"
    );
    assert!(report.restart_needed.is_empty(), "{report:?}");
    let turn = e.turn().expect("TURN still runs");
    assert!(
        wait_until(Duration::from_secs(3), || turn.status().capacity == 1).await,
        "{:?}",
        turn.status()
    );
    assert!(turn.listeners().iter().any(|(_, a)| a.port() == port2));
    // The TCP listener the reload added accepts connections.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port2)).is_ok());

    tokio::task::spawn_blocking(move || {
        // The old allocation still relays.
        assert!(
            relays(&before, &peer, relayed, b"two"),
            "relay after reload"
        );
        // A new allocation meets the new capacity.
        let mut c2 = TurnClient::new(server, "turnuser", "turnpass", "exp");
        let refused = c2.allocate();
        assert!(
            matches!(refused, Err(486) | Err(300)),
            "capacity 1 is full: {refused:?}"
        );
        // The removed credential no longer authenticates.
        let mut c3 = TurnClient::new(server, "other", "otherpass", "exp");
        assert_eq!(c3.allocate(), Err(401));
        before
    })
    .await
    .unwrap();

    // The Prometheus metrics show the allocation and its traffic (two datagrams each way).
    let metrics_ok = |m: &str| {
        m.contains("exp_turn_active_allocations 1\n")
            && m.contains("exp_turn_capacity 1\n")
            && m.contains("exp_turn_relayed_packets_total{direction=\"to_peer\"} 2\n")
            && m.contains("exp_turn_relayed_packets_total{direction=\"to_client\"} 2\n")
            && m.contains("exp_turn_allocations_refused_total 1\n")
    };
    assert!(
        wait_until(Duration::from_secs(3), || metrics_ok(&e.metrics_text())).await,
        "{}",
        e.metrics_text()
    );

    // Removing the second listener closes it; switching TURN off stops it.
    cfg.turn.tcp_port = 0;
    e.reload(resolve(&cfg)).expect("reload");
    assert!(
        wait_until(Duration::from_secs(3), || std::net::TcpStream::connect((
            "127.0.0.1",
            port2
        ))
        .is_err())
        .await
    );
    cfg.turn.enabled = false;
    drop(turn);
    let report = e.reload(resolve(&cfg)).expect("reload");
    assert!(report.applied.iter().any(|a| a == "turn: stopped"));
    assert!(e.turn().is_none());
    assert!(!e.metrics_text().contains("exp_turn_"));
    // Its request port is free again.
    assert!(UdpSocket::bind(server).is_ok());
    // A change elsewhere is reported as waiting for a restart.
    cfg.media.port_range_end -= 1;
    let report = e.reload(resolve(&cfg)).expect("reload");
    assert_eq!(report.restart_needed, vec!["media"]);
}
