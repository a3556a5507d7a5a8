//! The exp-e command line as an operator uses it: check-config, ports, hash-password.

use std::io::Write;
use std::process::{Command, Stdio};

fn exp_e() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exp-e"));
    // Keep the caller's environment from leaking overrides into the test.
    for (k, _) in std::env::vars() {
        if k.starts_with("EXP_E_") {
            c.env_remove(k);
        }
    }
    c
}

fn scratch_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("exp-e-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_config_on_embedded_defaults_is_ok_with_a_warning() {
    let out = exp_e().arg("check-config").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("configuration OK (embedded defaults)"),
        "{text}"
    );
    assert!(text.contains("warning: server_zones[0].username"), "{text}");
}

#[test]
fn check_config_prints_every_problem_with_its_key() {
    let p = scratch_file(
        "bad.toml",
        r#"
[[server_zones]]
name = "a"
username = "u"
sip_port = 7001
[[server_zones]]
name = "b"
username = "v"
sip_port = 7001
[[routes]]
pattern = "sip:.*"
zone = "nope"
"#,
    );
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("error: server_zones[1].sip_port: port 7001 is already used"),
        "{text}"
    );
    assert!(
        text.contains("error: routes[0].zone: unknown zone `nope`"),
        "{text}"
    );
    assert!(text.contains("2 problem(s)"), "{text}");

    // Running with it is refused the same way, before anything binds.
    let out = exp_e().arg("--config").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server_zones[1].sip_port"), "{err}");
}

#[test]
fn ports_lists_zone_ports_in_text_and_json() {
    let p = scratch_file(
        "ports.toml",
        r#"
[[server_zones]]
name = "a"
username = "u"
[[server_zones]]
name = "b"
username = "v"
h323_mode = true
"#,
    );
    let out = exp_e()
        .args(["ports", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("tcp   inbound   0.0.0.0"), "{text}");
    assert!(
        text.contains("SIP (UDP) from outside endpoints and proxies"),
        "{text}"
    );
    assert!(text.contains(" 7001  SIP traversal zone `a`"), "{text}");
    assert!(text.contains(" 7002  SIP traversal zone `b`"), "{text}");
    assert!(
        text.contains(" 6002  H.323 RAS (H.460.18) traversal zone `b`"),
        "{text}"
    );
    assert!(
        text.contains(" 2777  H.460.18 call signalling from traversal clients"),
        "{text}"
    );
    let out = exp_e()
        .args(["ports", "--format", "json", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["protocol"], "tcp");
    assert_eq!(v[0]["direction"], "inbound");
    assert_eq!(v[0]["port"], 7001);
}

#[test]
fn hash_password_prints_hashes_not_the_password() {
    let mut child = exp_e()
        .args(["hash-password", "--username", "exp-c", "--realm", "exp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Circle of Life\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!text.contains("Circle"), "{text}");
    assert!(text.contains("[[credentials]]"));
    assert!(text.contains("username = \"exp-c\""));
    // The printed entry is accepted by check-config and satisfies the default zone.
    let p = scratch_file("cred.toml", &text);
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{check}");
    assert!(!check.contains("warning"), "{check}");
}

#[test]
fn a_plaintext_password_in_the_file_is_refused_and_not_echoed() {
    let p = scratch_file(
        "plain.toml",
        "[[credentials]]\nusername = \"exp-c\"\npassword = \"hunter2-secret\"\n",
    );
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    assert!(text.contains("credentials[0].password"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn deploy_example_configurations_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(root.join("deploy/lab/exp-e.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // What the docker-compose demo mounts must be valid as it is (there is no container
    // engine to run the demo here, so this is what can be checked).
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(root.join("deploy/compose/exp-e.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The production example refers to files that only exist on a real system; nothing else
    // may be wrong with it.
    let out = exp_e()
        .args(["check-config", "--config"])
        .arg(root.join("deploy/exp-e.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().filter(|l| l.starts_with("error:")) {
        assert!(line.contains("does not exist"), "{line}");
    }
}
