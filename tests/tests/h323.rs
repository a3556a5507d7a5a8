//! H.323 traversal zones end to end on loopback, in-process: the H.460.18 registration over
//! real UDP sockets, its status on both sides, and refusals with their reasons.

use std::time::Duration;

use exp_runtime::Node;
use exp_tests::*;
use exp_zone::{Role, Transport};

const WAIT: Duration = Duration::from_secs(10);

fn h323_state(n: &Node, zone: &str) -> Option<&'static str> {
    n.zone(zone).and_then(|z| z.h323).map(|h| h.state)
}

/// exp-e with an H.323-only zone, exp-c registering to it with `password`.
async fn pair(password: &str) -> (Node, Node) {
    let port = free_port();
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    let mut z = server_zone("lan", "exp-c", port, Transport::Tcp);
    z.sip_mode = false;
    z.h323_mode = true;
    let ras = port.wrapping_add(1000);
    e.server_zones.push(z);
    e.h323.call_signalling_port = free_port();
    e.h323.listen_port = free_port();
    e.h323.ras_port = 0;
    e.h323.time_to_live = 5;
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    let mut cz = client_zone("dmz", &["127.0.0.1".to_string()], "exp-c", password);
    cz.sip_mode = false;
    cz.h323_mode = true;
    cz.h323_port = ras;
    c.client_zones.push(cz);
    c.h323.listen_port = free_port();
    let c = start(c, Role::Client).await;
    (e, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h323_zone_registers_and_stays_registered() {
    let (e, c) = pair("s3cret").await;
    assert!(
        wait_until(WAIT, || h323_state(&c, "dmz") == Some("active")).await,
        "{:?}",
        c.zones()
    );
    assert!(wait_until(WAIT, || h323_state(&e, "lan") == Some("active")).await);
    let he = e.zone("lan").unwrap().h323.unwrap();
    let hc = c.zone("dmz").unwrap().h323.unwrap();
    assert_eq!(he.endpoint_id, hc.endpoint_id);
    assert_eq!(he.time_to_live, Some(5));
    // An H.323-only zone's state is its H.323 state.
    assert_eq!(state(&c, "dmz"), "active");
    assert_eq!(state(&e, "lan"), "active");
    // Keep-alives arrive (TTL 5 s: the fast test probe interval applies, 0.2 s).
    assert!(
        wait_until(WAIT, || e
            .zone("lan")
            .and_then(|z| z.h323)
            .is_some_and(|h| h.keepalives >= 3))
        .await
    );
    assert!(e.zone("lan").unwrap().h323.unwrap().refusals.is_empty());
    // exp-c stops: exp-e lets the registration lapse and says so.
    drop(c);
    assert!(
        wait_until(Duration::from_secs(15), || h323_state(&e, "lan")
            == Some("down"))
        .await,
        "{:?}",
        e.zones()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused_counted_and_reported() {
    let (e, c) = pair("not it").await;
    assert!(
        wait_until(WAIT, || e.zone("lan").and_then(|z| z.h323).is_some_and(
            |h| h.refusals.get("wrong-password").copied().unwrap_or(0) >= 1
        ))
        .await,
        "{:?}",
        e.zones()
    );
    assert!(wait_until(WAIT, || h323_state(&c, "dmz") == Some("auth-failed")).await);
    let hc = c.zone("dmz").unwrap().h323.unwrap();
    assert!(
        hc.warning
            .as_deref()
            .unwrap_or("")
            .contains("wrong password"),
        "{hc:?}"
    );
    assert!(
        metric(
            &e,
            "exp_h323_ras_refusals_total{zone=\"lan\",reason=\"wrong-password\"}"
        ) >= 1.0
    );
    assert_eq!(h323_state(&e, "lan"), Some("down"));
}
