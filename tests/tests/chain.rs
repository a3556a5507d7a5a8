//! Chained traversal in one process: LAN UA ⇄ exp-c ⇄ exp-e(1) ⇄ exp-e(2) ⇄ outside UA.
//! exp-e(1) is traversal server for exp-c (zone `lan`) and traversal client of exp-e(2)
//! (zone `b2b`); every zone connection is opened by the inner system.
#![allow(clippy::too_many_arguments)]

#[path = "support/calls.rs"]
mod support;

use std::net::SocketAddr;

use exp_runtime::Node;
use exp_sip::message::Message;
use exp_tests::*;
use exp_zone::config::Config;
use exp_zone::{Role, Transport};
use support::*;

struct Chain {
    outer: Node,
    middle: Node,
    c: Node,
    outer_sip: SocketAddr,
    c_sip: SocketAddr,
    outer_cfg: Config,
}

/// exp-e(2) `outer` (server zone `partner` for user `exp-e1`, SIP UDP toward the outside),
/// exp-e(1) `middle` (server zone `lan` for exp-c, client zone `b2b` to `outer`, no SIP
/// listener of its own), and exp-c (client zone `dmz` to `middle`, SIP UDP toward the LAN).
async fn chain(lan_target: SocketAddr, outside_target: SocketAddr) -> Chain {
    let (z1, z2) = (free_port(), free_port());
    let (outer_port, c_port) = (free_port(), free_port());

    let mut outer = exp_e_config();
    outer.system.name = "exp-e-outer".into();
    outer.credentials.push(credential("exp-e1", "b2b-pass"));
    outer
        .server_zones
        .push(server_zone("partner", "exp-e1", z2, Transport::Tcp));
    outer.sip.udp_port = outer_port;
    outer
        .routes
        .push(route_to_zone(r"sip:.*@lan\.example", "partner"));
    outer
        .routes
        .push(route_to_target(r"sip:.*@outside\.example", outside_target));
    let outer_cfg = outer.clone();
    let outer = start(outer, Role::Server).await;

    let mut middle = exp_e_config();
    middle.system.name = "exp-e-middle".into();
    middle.credentials.push(credential("exp-c", "s3cret"));
    middle
        .server_zones
        .push(server_zone("lan", "exp-c", z1, Transport::Tcp));
    middle.client_zones.push(client_zone(
        "b2b",
        &[format!("127.0.0.1:{z2}")],
        "exp-e1",
        "b2b-pass",
    ));
    middle
        .routes
        .push(route_to_zone(r"sip:.*@lan\.example", "lan"));
    middle
        .routes
        .push(route_to_zone(r"sip:.*@outside\.example", "b2b"));
    let middle = start(middle, Role::Server).await;

    let mut c = exp_c_config();
    c.network.listen_address = "127.0.0.1".parse().unwrap();
    c.sip.udp_port = c_port;
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{z1}")],
        "exp-c",
        "s3cret",
    ));
    c.routes
        .push(route_to_target(r"sip:.*@lan\.example", lan_target));
    c.routes
        .push(route_to_zone(r"sip:.*@outside\.example", "dmz"));
    let c = start(c, Role::Client).await;

    for (node, zone) in [
        (&c, "dmz"),
        (&middle, "lan"),
        (&middle, "b2b"),
        (&outer, "partner"),
    ] {
        assert!(
            wait_until(WAIT, || state(node, zone) == "active").await,
            "{zone}: {:?}",
            node.zone(zone)
        );
    }
    Chain {
        outer,
        middle,
        c,
        outer_sip: format!("127.0.0.1:{outer_port}").parse().unwrap(),
        c_sip: format!("127.0.0.1:{c_port}").parse().unwrap(),
        outer_cfg,
    }
}

/// The kinds of one node's media legs, sorted.
fn leg_kinds(legs: &[exp_runtime::anchor::MediaLegStatus]) -> Vec<&'static str> {
    let mut kinds: Vec<&str> = legs.iter().map(|l| l.kind).collect();
    kinds.sort();
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cross_both_firewalls_in_both_directions() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let ch = chain(lan.addr, outside.addr).await;
    let nodes = [&ch.outer, &ch.middle, &ch.c];
    // Inbound: outside → exp-e(2) → exp-e(1) → exp-c → LAN. Max-Forwards 70 is capped at
    // the `partner` zone's hop count (15), then drops by one per program (13 at the LAN);
    // media both ways through all three relays.
    call(
        &outside,
        ch.outer_sip,
        &lan,
        "sip:bob@lan.example",
        1,
        nodes,
        true,
    )
    .await;
    // Outbound: LAN → exp-c → exp-e(1) → exp-e(2) → outside, hung up by the far side.
    call(
        &lan,
        ch.c_sip,
        &outside,
        "sip:carol@outside.example",
        2,
        [&ch.c, &ch.middle, &ch.outer],
        false,
    )
    .await;
    // A third call checks each system's legs (outer, middle, exp-c in that order): exp-e(2)
    // is a plain server (endpoint + demux toward its client); exp-e(1) anchors as a server
    // toward exp-c (demux, its own identifiers) and as a client toward exp-e(2) (mux-out: it
    // sends to exp-e(2)'s demux port); exp-c is a plain client (mux-out + endpoint).
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    call_checking_legs(
        &outside,
        ch.outer_sip,
        &lan,
        "sip:bob@lan.example",
        3,
        nodes,
        &move |legs| record.lock().unwrap().push(leg_kinds(legs)),
    )
    .await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            vec!["demux", "endpoint"],
            vec!["demux", "mux-out"],
            vec!["endpoint", "mux-out"]
        ]
    );
    for n in nodes {
        assert!(media_pool_full(n).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_the_middle_system_shows_both_roles() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let ch = chain(lan.addr, outside.addr).await;
    let lan_zone = ch.middle.zone("lan").expect("server zone");
    assert_eq!(lan_zone.kind, "server");
    assert_eq!(lan_zone.state, "active");
    assert!(lan_zone.peer.is_some(), "the connected client is shown");
    let b2b = ch.middle.zone("b2b").expect("client zone");
    assert_eq!(b2b.kind, "client");
    assert_eq!(b2b.state, "active");
    assert!(
        b2b.peer
            .as_deref()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{b2b:?}"
    );
    let addr = ch.middle.admin_addr().expect("admin API");
    let (code, body) = http_get(addr, "/api/v1/zones").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let text = v.to_string();
    assert!(text.contains("\"type\":\"server\""), "{text}");
    assert!(text.contains("\"type\":\"client\""), "{text}");
    let (code, body) = http_get(addr, "/api/v1/status").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["roles"],
        serde_json::json!(["traversal-server", "traversal-client"]),
        "{body}"
    );
    assert_eq!(v["server_zones"]["active"], 1, "{body}");
    assert_eq!(v["client_zones"]["active"], 1, "{body}");
}

/// exp-e(2) goes away and comes back: exp-e(1)'s client zone reconnects, exp-c's zone to
/// exp-e(1) never leaves `active`, and calls cross the chain again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outer_restart_recovers_the_client_zone_and_leaves_exp_c_active() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let Chain {
        outer,
        middle,
        c,
        outer_sip,
        c_sip,
        outer_cfg,
    } = chain(lan.addr, outside.addr).await;
    let reconnects_before = middle.zone("b2b").expect("zone").reconnect_count;
    drop(outer);
    // Watch exp-c's zone (and exp-e(1)'s server zone) the whole time.
    let watch = async {
        let mut samples = 0u32;
        loop {
            assert_eq!(state(&c, "dmz"), "active", "exp-c's zone stays up");
            assert_eq!(
                state(&middle, "lan"),
                "active",
                "exp-e(1)'s server zone stays up"
            );
            samples += 1;
            if state(&middle, "b2b") != "active" {
                return samples;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(WAIT, watch)
        .await
        .expect("the client zone notices the server is gone");
    // While exp-e(2) is down a call outward finds the zone down.
    let from = "<sip:alice@lan.example>;tag=down";
    let inv = lan.request(
        "INVITE",
        "sip:carol@outside.example",
        from,
        "<sip:carol@outside.example>",
        "down@test",
        1,
        "down1",
    );
    lan.send(c_sip, &Message::Request(inv)).await;
    lan.recv_response(503).await;
    let outer = restart(outer_cfg, Role::Server).await;
    let mut up = false;
    let end = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < end {
        assert_eq!(state(&c, "dmz"), "active", "exp-c's zone stays up");
        if state(&middle, "b2b") == "active" && state(&outer, "partner") == "active" {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(up, "{:?}", middle.zone("b2b"));
    assert!(middle.zone("b2b").expect("zone").reconnect_count > reconnects_before);
    call(
        &outside,
        outer_sip,
        &lan,
        "sip:bob@lan.example",
        7,
        [&outer, &middle, &c],
        true,
    )
    .await;
}

/// A routing loop across three exp-e, each rule sensible on its own: X sends `@loop` calls to
/// Y, Y to Z, Z back to X. The Max-Forwards cap alone would let the call go round about five
/// times (hop count 15), making a call with media ports at every pass; the `Exp-Path` header
/// stops it when it reaches X again: 482, relayed back to the caller, every call cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_loop_through_three_systems_is_refused_at_the_first_revisit() {
    let outside = Ua::new().await;
    // X serves zones for Y and Z; Y is X's client and serves Z; Z is client of both.
    let (x_for_y, x_for_z, y_for_z) = (free_port(), free_port(), free_port());
    let x_sip = free_port();
    let mut x = exp_e_config();
    x.system.name = "edge-x".into();
    x.credentials.push(credential("y", "py"));
    x.credentials.push(credential("z", "pz"));
    x.server_zones
        .push(server_zone("from-y", "y", x_for_y, Transport::Tcp));
    x.server_zones
        .push(server_zone("from-z", "z", x_for_z, Transport::Tcp));
    x.sip.udp_port = x_sip;
    x.routes
        .push(route_to_zone(r"sip:.*@loop\.example", "from-y"));
    let x = start(x, Role::Server).await;

    let mut y = exp_e_config();
    y.system.name = "edge-y".into();
    y.credentials.push(credential("z", "pz2"));
    y.server_zones
        .push(server_zone("from-z", "z", y_for_z, Transport::Tcp));
    y.client_zones.push(client_zone(
        "to-x",
        &[format!("127.0.0.1:{x_for_y}")],
        "y",
        "py",
    ));
    y.routes
        .push(route_to_zone(r"sip:.*@loop\.example", "from-z"));
    let y = start(y, Role::Server).await;

    let mut z = exp_e_config();
    z.system.name = "edge-z".into();
    z.client_zones.push(client_zone(
        "to-y",
        &[format!("127.0.0.1:{y_for_z}")],
        "z",
        "pz2",
    ));
    z.client_zones.push(client_zone(
        "to-x",
        &[format!("127.0.0.1:{x_for_z}")],
        "z",
        "pz",
    ));
    z.routes
        .push(route_to_zone(r"sip:.*@loop\.example", "to-x"));
    let z = start(z, Role::Server).await;
    for (node, zone) in [
        (&x, "from-y"),
        (&x, "from-z"),
        (&y, "to-x"),
        (&y, "from-z"),
        (&z, "to-y"),
        (&z, "to-x"),
    ] {
        assert!(
            wait_until(WAIT, || state(node, zone) == "active").await,
            "{zone}: {:?}",
            node.zone(zone)
        );
    }
    let mut inv = outside.request(
        "INVITE",
        "sip:round@loop.example",
        "<sip:alice@outside.example>;tag=lp",
        "<sip:round@loop.example>",
        "loop@test",
        1,
        "loop1",
    );
    inv.headers.push("Content-Type", "application/sdp");
    inv.body = OFFER.as_bytes().to_vec();
    outside
        .send(
            format!("127.0.0.1:{x_sip}").parse().unwrap(),
            &Message::Request(inv),
        )
        .await;
    let r = outside.recv_response(482).await;
    assert!(
        r.reason.contains("edge-x"),
        "the trace names the system: {}",
        r.reason
    );
    for node in [&x, &y, &z] {
        assert!(wait_until(WAIT, || node.calls().is_empty()).await);
        assert!(media_pool_full(node).await);
    }
}

/// exp-e(1)'s client zone follows exp-c's rules: TLS with the server's certificate checked
/// against a CA, and peers tried in order (the first one is dead). A call then crosses the
/// TLS zone: outside → exp-e(2) → exp-e(1) → a LAN target exp-e(1) reaches itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_zone_on_exp_e_uses_tls_and_peer_rotation_like_exp_c() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let dir = scratch("chain-tls");
    let pki = test_pki(&dir, "outer", &["127.0.0.1"]);
    let (z2, dead, outer_sip, middle_sip) = (free_port(), free_port(), free_port(), free_port());
    let mut outer = exp_e_config();
    outer.tls.certificate = Some(pki.cert.clone());
    outer.tls.private_key = Some(pki.key.clone());
    outer.credentials.push(credential("exp-e1", "b2b-pass"));
    outer
        .server_zones
        .push(server_zone("partner", "exp-e1", z2, Transport::Tls));
    outer.sip.udp_port = outer_sip;
    outer
        .routes
        .push(route_to_zone(r"sip:.*@lan\.example", "partner"));
    let outer = start(outer, Role::Server).await;

    let mut middle = exp_e_config();
    middle.sip.udp_port = middle_sip;
    let mut z = client_zone(
        "b2b",
        &[format!("127.0.0.1:{dead}"), format!("127.0.0.1:{z2}")],
        "exp-e1",
        "b2b-pass",
    );
    z.sip_transport = Transport::Tls;
    z.tls.ca_file = Some(pki.ca.clone());
    middle.client_zones.push(z);
    middle
        .routes
        .push(route_to_target(r"sip:.*@lan\.example", lan.addr));
    let middle = start(middle, Role::Server).await;
    assert!(wait_until(WAIT, || state(&middle, "b2b") == "active").await);
    let b2b = middle.zone("b2b").expect("zone");
    assert_eq!(b2b.transport, "tls");
    assert_eq!(b2b.peer, Some(format!("127.0.0.1:{z2}")), "the second peer");
    call(
        &outside,
        format!("127.0.0.1:{outer_sip}").parse().unwrap(),
        &lan,
        "sip:bob@lan.example",
        1,
        [&outer, &middle],
        true,
    )
    .await;
}
