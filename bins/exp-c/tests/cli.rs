//! The exp-c command line: check-config and ports.

use std::process::Command;

fn exp_c() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exp-c"));
    for (k, _) in std::env::vars() {
        if k.starts_with("EXP_C_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn runs_on_embedded_defaults() {
    let out = exp_c().arg("check-config").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 client zone(s)"), "{text}");
}

#[test]
fn missing_password_and_shared_nat_are_refused_by_key() {
    let out = exp_c()
        .arg("check-config")
        .env("EXP_C_NETWORK__NAT_ADDRESS", "198.51.100.1")
        .env(
            "EXP_C_CLIENT_ZONES",
            r#"[{name="dmz",peers=["198.51.100.1"],username="exp-c"}]"#,
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("error: client_zones[0].password: missing"),
        "{text}"
    );
    assert!(text.contains("error: network.nat_address:"), "{text}");
}

#[test]
fn ports_lists_outbound_connections_to_every_peer() {
    let out = exp_c()
        .arg("ports")
        .env(
            "EXP_C_CLIENT_ZONES",
            r#"[{name="dmz",peers=["192.0.2.1","192.0.2.2:7010"],username="exp-c",password="x"}]"#,
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("tcp   outbound  192.0.2.1"), "{text}");
    assert!(
        text.contains(" 7001  SIP traversal zone `dmz` (tcp) to exp-e, peer 1"),
        "{text}"
    );
    assert!(
        text.contains(" 7010  SIP traversal zone `dmz` (tcp) to exp-e, peer 2"),
        "{text}"
    );
    assert!(text.contains("admin HTTP API (local only)"), "{text}");
    // Nothing inbound from outside: only the loopback admin API and the LAN-side listeners.
    for line in text.lines().filter(|l| l.contains("inbound")) {
        assert!(
            line.contains("127.0.0.1") || line.contains("from LAN endpoints"),
            "{line}"
        );
    }
}

#[test]
fn deploy_example_configurations_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The lab configuration, and the one the docker-compose demo mounts, are valid as they are.
    for file in ["deploy/lab/exp-c.toml", "deploy/compose/exp-c.toml"] {
        let out = exp_c()
            .args(["check-config", "--config"])
            .arg(root.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = exp_c()
        .args(["check-config", "--config"])
        .arg(root.join("deploy/exp-c.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().filter(|l| l.starts_with("error:")) {
        assert!(
            line.contains("does not exist") || line.contains("cannot read"),
            "{line}"
        );
    }
}
