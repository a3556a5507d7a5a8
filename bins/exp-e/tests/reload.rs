//! SIGHUP makes a running exp-e read its configuration file again: TURN settings change
//! without a restart, and a broken file is refused while the running settings stay.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(admin: u16, turn: u16, zone: u16, capacity: usize) -> String {
    format!(
        r#"
[admin]
listen = "127.0.0.1:{admin}"
[network]
listen_address = "127.0.0.1"
[sip]
udp_port = 0
tcp_port = 0
[[server_zones]]
name = "traversal"
username = "exp-c"
sip_port = {zone}
h323_mode = false
[turn]
enabled = true
udp_port = {turn}
tcp_port = {turn}
capacity = {capacity}
relay_port_range_start = 52000
relay_port_range_end = 52099
"#
    )
}

/// `GET path` on the admin API; the body.
fn get(admin: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", admin)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_string())
}

fn capacity(admin: u16) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(&get(admin, "/api/v1/turn")?).ok()?;
    v["capacity"].as_u64()
}

fn wait_capacity(admin: u16, want: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if capacity(admin) == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn hangup(child: &Child) {
    let ok = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -HUP");
}

#[test]
fn sighup_applies_new_turn_settings_and_refuses_a_broken_file() {
    let dir = std::env::temp_dir().join(format!("exp-e-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("exp-e.toml");
    let (admin, turn, zone) = (free_port(), free_port(), free_port());
    std::fs::write(&file, config(admin, turn, zone, 100)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_exp-e"))
        .args(["--config", file.to_str().unwrap(), "run"])
        .env_remove("EXP_E_CREDENTIALS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("exp-e starts");
    let mut running = Running(child);
    assert!(wait_capacity(admin, 100), "exp-e did not come up");

    std::fs::write(&file, config(admin, turn, zone, 7)).unwrap();
    hangup(&running.0);
    assert!(
        wait_capacity(admin, 7),
        "SIGHUP did not apply the new capacity"
    );

    std::fs::write(&file, "[turn]\nno_such_key = 1\n").unwrap();
    hangup(&running.0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "a broken file must not stop exp-e"
    );
    assert_eq!(capacity(admin), Some(7), "the running settings stay");
}
