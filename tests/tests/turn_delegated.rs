//! Delegated TURN credential checking: exp-e knows no TURN user; it asks the traversal
//! client of `turn.credential_zone` over the zone connection, and exp-c answers from its own
//! `[[credentials]]`. Answers are cached for `turn.credential_cache`.

#[path = "support/turn_client.rs"]
mod turn_client;

use std::net::SocketAddr;
use std::time::Duration;

use exp_tests::*;
use exp_zone::{Role, Transport};
use turn_client::TurnClient;

const WAIT: Duration = Duration::from_secs(10);

async fn allocate(
    server: SocketAddr,
    user: &'static str,
    pass: &'static str,
) -> Result<SocketAddr, u16> {
    tokio::task::spawn_blocking(move || TurnClient::new(server, user, pass, "exp").allocate())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exp_e_asks_exp_c_about_turn_users_it_does_not_know() {
    let (zone_port, turn_port) = (free_port(), free_port());
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "zonepass"));
    e.server_zones
        .push(server_zone("lan", "exp-c", zone_port, Transport::Tcp));
    e.turn.enabled = true;
    e.turn.udp_port = turn_port;
    e.turn.tcp_port = 0;
    let (start_port, end_port) = media_range();
    e.turn.relay_port_range_start = start_port + 30000;
    e.turn.relay_port_range_end = end_port + 30000;
    e.turn.credential_zone = Some("lan".into());
    let exp_e = start(e, Role::Server).await;

    let mut c = exp_c_config();
    let mut z = client_zone(
        "lan",
        &[format!("127.0.0.1:{zone_port}")],
        "exp-c",
        "zonepass",
    );
    z.turn_credentials = true;
    c.client_zones.push(z);
    c.credentials.push(credential("lanuser", "lanpass"));
    let exp_c = start(c, Role::Client).await;
    assert!(
        wait_until(WAIT, || state(&exp_e, "lan") == "active").await,
        "zone did not come up"
    );
    let server = SocketAddr::from(([127, 0, 0, 1], turn_port));

    // exp-e does not know lanuser; exp-c does.
    let relayed = allocate(server, "lanuser", "lanpass").await;
    assert!(relayed.is_ok(), "delegated user refused: {relayed:?}");
    assert_eq!(allocate(server, "lanuser", "wrong").await, Err(401));
    assert_eq!(allocate(server, "nobody", "x").await, Err(401));
    let turn = exp_e.turn().expect("TURN runs");
    assert!(
        wait_until(WAIT, || turn.status().auth_failures >= 2).await,
        "{:?}",
        turn.status()
    );

    // The answer is cached: with exp-c gone, lanuser still gets a new allocation.
    drop(exp_c);
    assert!(
        wait_until(WAIT, || state(&exp_e, "lan") != "active").await,
        "zone stayed up without exp-c"
    );
    let again = allocate(server, "lanuser", "lanpass").await;
    assert!(again.is_ok(), "cached answer not used: {again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_that_does_not_answer_checks_refuses_them_and_exp_c_needs_the_switch() {
    // exp-c refuses [[credentials]] unless a zone answers checks.
    let mut c = exp_c_config();
    c.client_zones
        .push(client_zone("lan", &["127.0.0.1:1".into()], "u", "p"));
    c.credentials.push(credential("lanuser", "lanpass"));
    let err = c
        .resolve(Role::Client)
        .expect_err("credentials on exp-c without the switch");
    assert!(
        err.to_string().contains("credential") || format!("{err:?}").contains("turn_credentials"),
        "{err:?}"
    );

    // exp-e refuses a credential_zone that is not one of its server zones.
    let mut e = exp_e_config();
    e.turn.enabled = true;
    e.turn.credential_zone = Some("nowhere".into());
    let err = e
        .resolve(Role::Server)
        .expect_err("unknown credential zone");
    assert!(
        format!("{err:?}").contains("turn.credential_zone"),
        "{err:?}"
    );

    // A zone whose client does not answer checks: the user is refused (401), not hung.
    let (zone_port, turn_port) = (free_port(), free_port());
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "zonepass"));
    e.server_zones
        .push(server_zone("lan", "exp-c", zone_port, Transport::Tcp));
    e.turn.enabled = true;
    e.turn.udp_port = turn_port;
    e.turn.tcp_port = 0;
    let (start_port, end_port) = media_range();
    e.turn.relay_port_range_start = start_port + 31000;
    e.turn.relay_port_range_end = end_port + 31000;
    e.turn.credential_zone = Some("lan".into());
    let exp_e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.client_zones.push(client_zone(
        "lan",
        &[format!("127.0.0.1:{zone_port}")],
        "exp-c",
        "zonepass",
    ));
    let _exp_c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&exp_e, "lan") == "active").await);
    let server = SocketAddr::from(([127, 0, 0, 1], turn_port));
    assert_eq!(allocate(server, "lanuser", "lanpass").await, Err(401));
}
