//! `cargo xtask e2e`, chained topology: two exp-e in a row, each behind its own firewall.
//!
//! ```text
//! exc-lan (exp-c, bob) ── exc-lfw ── exc-dmz1 (exp-e1) ── exc-mfw ── exc-dmz2 (exp-e2) ── exc-out (alice)
//! 10.20.1.2          .1.1|.2.1   10.20.2.2|10.20.3.2   .3.1|.4.1  10.20.4.2|10.20.5.2   10.20.5.1
//! ```
//!
//! exp-e1 is traversal server for exp-c (zone `lan`) and traversal client of exp-e2 (zone
//! `b2b`). Both inner firewalls (`exc-lfw` in front of the LAN, `exc-mfw` in front of DMZ1)
//! let their inner side open flows to the next exp-e only and drop every new inbound flow,
//! counting it; a postrouting counter counts new inbound flows that were *accepted*. After the
//! scenarios both accepted-counters must be zero and neither conntrack table may hold a flow
//! opened toward its inner side.
//!
//! Scenarios: both zones come up through their firewalls; exp-e2 restarted, exp-e1's client
//! zone recovers while exp-c's zone to exp-e1 stays active throughout; baresip calls outside →
//! LAN and LAN → outside across both firewalls with RTP both ways, exp-e1 anchoring the media
//! as a server toward exp-c and as a client toward exp-e2; an inbound connection attempt at
//! each firewall; the outbound-only assertion on both.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::e2e::{
    add_links, add_namespaces, call, connect_from, flows_toward, fw_counter, have, inner_firewall,
    listener, remove_namespaces, sh, wait_active, write, zone_state, InNs, Ua, INTERRUPTED,
};

pub(crate) const NAMESPACES: [&str; 6] = [
    "exc-lan", "exc-lfw", "exc-dmz1", "exc-mfw", "exc-dmz2", "exc-out",
];
const LAN_IP: &str = "10.20.1.2";
/// exp-e1's interface toward the LAN firewall (its internal address).
const E1_INNER: &str = "10.20.2.2";
/// exp-e1's interface toward the middle firewall.
const E1_OUTER: &str = "10.20.3.2";
/// exp-e2's interface toward the middle firewall (its internal address).
const E2_INNER: &str = "10.20.4.2";
/// exp-e2's interface toward the outside.
const E2_OUTER: &str = "10.20.5.2";
const OUT_IP: &str = "10.20.5.1";

/// The two inner firewalls: (namespace, inner interface, outer interface, the one address the
/// inner side may open flows to, address prefixes of what lies behind it).
const FIREWALLS: [(&str, &str, &str, &str, &[&str]); 2] = [
    ("exc-lfw", "lfw-i", "lfw-o", E1_INNER, &["10.20.1."]),
    (
        "exc-mfw",
        "mfw-i",
        "mfw-o",
        E2_INNER,
        &["10.20.1.", "10.20.2.", "10.20.3."],
    ),
];

struct Topology;

impl Drop for Topology {
    fn drop(&mut self) {
        remove_namespaces(&NAMESPACES);
    }
}

impl Topology {
    fn create() -> anyhow::Result<Topology> {
        remove_namespaces(&NAMESPACES);
        let topo = Topology;
        add_namespaces(&NAMESPACES)?;
        add_links(&[
            (
                "exc-lan",
                "lan0",
                "10.20.1.2/24",
                "exc-lfw",
                "lfw-i",
                "10.20.1.1/24",
            ),
            (
                "exc-lfw",
                "lfw-o",
                "10.20.2.1/24",
                "exc-dmz1",
                "d1-i",
                "10.20.2.2/24",
            ),
            (
                "exc-dmz1",
                "d1-o",
                "10.20.3.2/24",
                "exc-mfw",
                "mfw-i",
                "10.20.3.1/24",
            ),
            (
                "exc-mfw",
                "mfw-o",
                "10.20.4.1/24",
                "exc-dmz2",
                "d2-i",
                "10.20.4.2/24",
            ),
            (
                "exc-dmz2",
                "d2-o",
                "10.20.5.2/24",
                "exc-out",
                "out0",
                "10.20.5.1/24",
            ),
        ])?;
        for ns in ["exc-lfw", "exc-mfw"] {
            sh(ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        }
        let routes: [(&str, &str, &str); 6] = [
            ("exc-lan", "default", "10.20.1.1"),
            ("exc-lfw", "default", E1_INNER),
            ("exc-dmz1", "10.20.1.0/24", "10.20.2.1"),
            ("exc-dmz1", "default", "10.20.3.1"),
            ("exc-mfw", "default", E2_INNER),
            ("exc-dmz2", "10.20.3.0/24", "10.20.4.1"),
        ];
        for (ns, to, via) in routes {
            sh(ns, &["ip", "route", "add", to, "via", via])?;
        }
        for (ns, inner, outer, next, _) in FIREWALLS {
            inner_firewall(ns, inner, outer, next)?;
        }
        Ok(topo)
    }
}

/// The outbound-only assertion on both inner firewalls.
fn assert_outbound_only() -> anyhow::Result<String> {
    let mut figures = Vec::new();
    let mut violations = Vec::new();
    for (ns, _, _, _, inner) in FIREWALLS {
        let accepted = fw_counter(ns, "inbound_accepted")?;
        let dropped = fw_counter(ns, "inbound_dropped")?;
        let flows = flows_toward(ns, inner)?;
        if accepted > 0 || !flows.is_empty() {
            violations.push(format!(
                "{ns}: {accepted} new inbound flow(s) accepted; conntrack flows opened inward: {flows:?}"
            ));
        }
        figures.push(format!(
            "{ns}: 0 new inbound flows accepted ({dropped} inbound attempts dropped)"
        ));
    }
    if !violations.is_empty() {
        bail!("OUTBOUND-ONLY VIOLATED: {}", violations.join("; "));
    }
    Ok(figures.join("; "))
}

/// The media leg kinds exp-e1 shows for its calls (`/api/v1/calls`).
fn e1_leg_kinds() -> BTreeSet<String> {
    let body = sh(
        "exc-dmz1",
        &[
            "curl",
            "-s",
            "--max-time",
            "1",
            "http://127.0.0.1:9080/api/v1/calls",
        ],
    )
    .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["media"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l["kind"].as_str().map(str::to_string))
        .collect()
}

/// A call while a thread records exp-e1's media leg kinds.
fn call_watching_e1(
    caller: &Ua,
    callee: &Ua,
    entry: &str,
    tag: &str,
) -> anyhow::Result<((u64, u64, String), BTreeSet<String>)> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut kinds = BTreeSet::new();
            while !done.load(Ordering::SeqCst) {
                kinds.extend(e1_leg_kinds());
                std::thread::sleep(Duration::from_millis(500));
            }
            kinds
        })
    };
    let r = call(caller, callee, entry, tag, false);
    done.store(true, Ordering::SeqCst);
    let kinds = watcher.join().unwrap_or_default();
    Ok((r?, kinds))
}

pub(crate) fn scenarios(bin: &Path, dir: &Path, self_check: bool) -> anyhow::Result<()> {
    let dir = dir.join("chain");
    std::fs::create_dir_all(&dir)?;
    let e1_password = crate::proc::random_password()?;
    let c_password = crate::proc::random_password()?;
    let e1_creds = crate::proc::credentials_env(bin, "exp-c", &c_password)?;
    let e2_creds = crate::proc::credentials_env(bin, "exp-e1", &e1_password)?;
    let _topo = Topology::create()?;
    println!(
        "e2e-chain: topology up: exc-lan (exp-c) — exc-lfw — exc-dmz1 (exp-e1) — exc-mfw — exc-dmz2 (exp-e2) — exc-out"
    );
    let e2_cfg = write(
        &dir,
        "exp-e2.toml",
        &format!(
            r#"[system]
name = "e2e-exp-e2"
[admin]
listen = "127.0.0.1:9080"
[network]
listen_address = "0.0.0.0"
internal_address = "{E2_INNER}"
[sip]
advertised_address = "{E2_OUTER}"
tcp_port = 0
[[server_zones]]
name = "partner"
username = "exp-e1"
[[routes]]
pattern = "sip:bob@.*"
zone = "partner"
[[routes]]
pattern = "sip:alice@.*"
target = "{OUT_IP}:5060"
transport = "udp"
"#
        ),
    )?;
    let e1_cfg = write(
        &dir,
        "exp-e1.toml",
        &format!(
            r#"[system]
name = "e2e-exp-e1"
[admin]
listen = "127.0.0.1:9080"
[network]
listen_address = "0.0.0.0"
internal_address = "{E1_INNER}"
[sip]
advertised_address = "{E1_OUTER}"
udp_port = 0
tcp_port = 0
[[server_zones]]
name = "lan"
username = "exp-c"
[[client_zones]]
name = "b2b"
peers = ["{E2_INNER}"]
username = "exp-e1"
password = "{e1_password}"
[client_zones.probe]
backoff_initial = 0.2
backoff_max = 2.0
[[routes]]
pattern = "sip:bob@.*"
zone = "lan"
[[routes]]
pattern = "sip:alice@.*"
zone = "b2b"
"#
        ),
    )?;
    let c_cfg = write(
        &dir,
        "exp-c.toml",
        &format!(
            r#"[system]
name = "e2e-exp-c"
[admin]
listen = "127.0.0.1:9081"
[network]
listen_address = "{LAN_IP}"
[sip]
tcp_port = 0
[[client_zones]]
name = "dmz"
peers = ["{E1_INNER}"]
username = "exp-c"
password = "{c_password}"
[[routes]]
pattern = "sip:bob@.*"
target = "{LAN_IP}:5070"
transport = "udp"
[[routes]]
pattern = "sip:alice@.*"
zone = "dmz"
"#
        ),
    )?;
    for (program, cfg, env) in [
        ("exp-e", &e2_cfg, Some(&e2_creds)),
        ("exp-e", &e1_cfg, Some(&e1_creds)),
        ("exp-c", &c_cfg, None),
    ] {
        let mut cmd = std::process::Command::new(bin.join(program));
        cmd.arg("check-config").arg("--config").arg(cfg);
        if let Some(v) = env {
            cmd.env("EXP_E_CREDENTIALS", v);
        }
        let out = cmd.output().context("check-config")?;
        if !out.status.success() {
            bail!(
                "{program} check-config {}: {}{}",
                cfg.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let (e_bin, c_bin) = (bin.join("exp-e"), bin.join("exp-c"));
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (e2_cfg_s, e1_cfg_s, c_cfg_s) = (s(&e2_cfg), s(&e1_cfg), s(&c_cfg));
    let e2_env = vec![("EXP_E_CREDENTIALS", e2_creds.clone())];
    let e1_env = vec![("EXP_E_CREDENTIALS", e1_creds.clone())];
    let mut exp_e2 = InNs::start(
        "exc-dmz2",
        &e_bin,
        &["--config", &e2_cfg_s],
        &e2_env,
        &dir.join("exp-e2.log"),
    )?;
    let _exp_e1 = InNs::start(
        "exc-dmz1",
        &e_bin,
        &["--config", &e1_cfg_s],
        &e1_env,
        &dir.join("exp-e1.log"),
    )?;
    let _exp_c = InNs::start(
        "exc-lan",
        &c_bin,
        &["--config", &c_cfg_s],
        &[],
        &dir.join("exp-c.log"),
    )?;

    // 1. Both zones come up, each through its firewall.
    let t_c = wait_active("exc-lan", 9081, "dmz", Duration::from_secs(15))?;
    let t_e1 = wait_active("exc-dmz1", 9080, "b2b", Duration::from_secs(15))?;
    let roles = sh(
        "exc-dmz1",
        &[
            "curl",
            "-s",
            "--max-time",
            "1",
            "http://127.0.0.1:9080/api/v1/status",
        ],
    )?;
    let v: serde_json::Value = serde_json::from_str(&roles).context("exp-e1 status")?;
    if v["roles"] != serde_json::json!(["traversal-server", "traversal-client"]) {
        bail!("exp-e1's status does not show both roles: {roles}");
    }
    println!(
        "e2e-chain [zones-up] PASS: exp-c → exp-e1 active through exc-lfw in {:.0} ms, exp-e1 → exp-e2 through exc-mfw in {:.0} ms; exp-e1 status roles {}",
        t_c.as_secs_f64() * 1000.0,
        t_e1.as_secs_f64() * 1000.0,
        v["roles"]
    );

    // 2. exp-e2 restarted: exp-e1's client zone recovers; exp-c's zone stays active.
    let mut samples = 0u32;
    let check_lan_side = |samples: &mut u32| -> anyhow::Result<()> {
        *samples += 1;
        let c = zone_state("exc-lan", 9081, "dmz");
        let e1 = zone_state("exc-dmz1", 9080, "lan");
        if c.as_deref() != Some("active") || e1.as_deref() != Some("active") {
            bail!("exp-e2-restart: the LAN side's zone left active (exp-c {c:?}, exp-e1 {e1:?})");
        }
        Ok(())
    };
    exp_e2.kill();
    let down_at = Instant::now();
    let mut went_down = false;
    while down_at.elapsed() < Duration::from_secs(10) {
        check_lan_side(&mut samples)?;
        if zone_state("exc-dmz1", 9080, "b2b").as_deref() != Some("active") {
            went_down = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if !went_down {
        bail!("exp-e2-restart: exp-e1's client zone still active 10 s after exp-e2 was killed");
    }
    // Down for a moment, as a real restart would be.
    let pause = Instant::now();
    while pause.elapsed() < Duration::from_secs(2) {
        check_lan_side(&mut samples)?;
        std::thread::sleep(Duration::from_millis(50));
    }
    let restarted = Instant::now();
    let _exp_e2 = InNs::start(
        "exc-dmz2",
        &e_bin,
        &["--config", &e2_cfg_s],
        &e2_env,
        &dir.join("exp-e2-2.log"),
    )?;
    let mut up = false;
    while restarted.elapsed() < Duration::from_secs(30) {
        check_lan_side(&mut samples)?;
        if zone_state("exc-dmz1", 9080, "b2b").as_deref() == Some("active") {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if !up {
        bail!("exp-e2-restart: exp-e1's client zone not active 30 s after exp-e2 restarted");
    }
    println!(
        "e2e-chain [exp-e2-restart] PASS: exp-e1's client zone went down and was active again {:.0} ms after exp-e2 restarted; exp-c's zone (and exp-e1's server zone) stayed active in all {samples} samples",
        restarted.elapsed().as_secs_f64() * 1000.0
    );
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }

    // 3. Calls with real user agents across both firewalls and all three programs.
    if have("baresip") {
        let bob = Ua::new(&dir, "bob", "exc-lan", LAN_IP, 5070)?;
        let alice = Ua::new(&dir, "alice", "exc-out", OUT_IP, 5060)?;
        let ((rx, tx, lost), kinds) = call_watching_e1(&alice, &bob, E2_OUTER, "chain-in")?;
        let want: BTreeSet<String> = ["demux", "mux-out"].map(String::from).into();
        if kinds != want {
            bail!("call-in: exp-e1's media legs were {kinds:?}, expected demux toward exp-c and mux-out toward exp-e2");
        }
        println!(
            "e2e-chain [call-in] PASS: outside alice → LAN bob through exp-e2, exp-e1 and exp-c: bob received {rx} RTP packets, sent {tx}, lost {lost}; exp-e1 legs {kinds:?}"
        );
        let ((rx, tx, lost), kinds) = call_watching_e1(&bob, &alice, LAN_IP, "chain-out")?;
        if kinds != want {
            bail!("call-out: exp-e1's media legs were {kinds:?}, expected demux toward exp-c and mux-out toward exp-e2");
        }
        println!(
            "e2e-chain [call-out] PASS: LAN bob → outside alice through exp-c, exp-e1 and exp-e2: alice received {rx} RTP packets, sent {tx}, lost {lost}; exp-e1 legs {kinds:?}"
        );
    } else {
        println!("e2e-chain [calls] SKIPPED: baresip is not installed (apt-get install baresip)");
    }

    // 4. Inbound connection attempts at each inner firewall: both must be dropped.
    for (from_ns, to_ns, to_ip, fw) in [
        ("exc-dmz1", "exc-lan", LAN_IP, "exc-lfw"),
        ("exc-dmz2", "exc-dmz1", E1_OUTER, "exc-mfw"),
    ] {
        if self_check {
            // Prove the assertion can fail: open the firewall, then connect inward.
            sh(fw, &["nft", "flush", "chain", "inet", "exp", "forward"])?;
            sh(
                fw,
                &["nft", "add", "rule", "inet", "exp", "forward", "accept"],
            )?;
        }
        let mut l = listener(to_ns, to_ip)?;
        let attempt = connect_from(from_ns, to_ip);
        let _ = l.kill();
        let _ = l.wait();
        if self_check {
            println!("e2e-chain [self-check]: {from_ns} → {to_ip} with {fw} open: {attempt:?}");
        } else if attempt.is_ok() {
            bail!("a connection from {from_ns} to {to_ip} through {fw} succeeded");
        } else {
            println!(
                "e2e-chain [inbound-probe] PASS: {from_ns} → {to_ip} was refused by {fw} ({} dropped so far)",
                fw_counter(fw, "inbound_dropped")?
            );
        }
    }
    match assert_outbound_only() {
        Ok(figures) => {
            println!("e2e-chain [outbound-only] PASS: {figures}");
            Ok(())
        }
        Err(e) => {
            println!("e2e-chain [outbound-only] FAIL: {e}");
            Err(e)
        }
    }
}
