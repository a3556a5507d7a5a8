//! The H.323 scenarios of the single topology: the zone's H.460.18 registration through the
//! LAN firewall, and H.323 calls both ways with media both ways, between our own H.323 test
//! endpoint (`exp-h323-test`, built on exp-h460) outside (`exp-inet`, 10.10.1.2) and on the
//! LAN (`exp-lan`, 10.10.4.2). exp-e and exp-c run with the configurations of `e2e.rs`,
//! whose zone has `h323_mode` on; the run's outbound-only assertion covers these calls too.
//!
//! call-in: outside → exp-e 1720 (`h323-bob`) → incoming-call indication over RAS → exp-c
//! opens TCP to 2777, Facility, Setup down it → exp-c → bob 1721.
//! call-out: bob → exp-c 1720 (`h323-alice`) → Setup up a connection exp-c opens to 2777 →
//! exp-e → alice 1721.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::e2e::{sh, EXP_E_ADDR};

/// Packets each endpoint sends (20 ms apart).
const PACKETS: u32 = 250;

/// The H.323 side of zone `zone` in the admin API of `ns`.
fn h323_zone(ns: &str, port: u16, zone: &str) -> Option<serde_json::Value> {
    let url = format!("http://127.0.0.1:{port}/api/v1/zones");
    let body = sh(ns, &["curl", "-s", "--max-time", "1", &url]).ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["zones"]
        .as_array()?
        .iter()
        .find(|z| z["name"] == zone)
        .map(|z| z["h323"].clone())
}

/// Waits until the H.323 side of `zone` is registered.
pub(crate) fn wait_h323_active(
    ns: &str,
    port: u16,
    zone: &str,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if h323_zone(ns, port, zone).is_some_and(|h| h["state"] == "active") {
            return Ok(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "H.323 zone `{zone}` in {ns} not registered after {timeout:?}: {:?}",
        h323_zone(ns, port, zone)
    )
}

fn endpoint(bin: &Path, ns: &str, args: &[&str], log: &Path) -> anyhow::Result<Child> {
    let err = std::fs::File::create(log)?;
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(bin.join("exp-h323-test"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .with_context(|| format!("exp-h323-test in {ns}"))
}

fn summary(child: Child, log: &Path) -> anyhow::Result<serde_json::Value> {
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| {
        format!(
            "exp-h323-test printed {text:?}; its log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    })
}

/// Leg kinds of the H.323 call on exp-e while it runs.
fn exp_e_leg_kinds() -> Vec<String> {
    let body = sh(
        "exp-dmz",
        &[
            "curl",
            "-s",
            "--max-time",
            "1",
            "http://127.0.0.1:9080/api/v1/h323/calls",
        ],
    )
    .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let mut kinds: Vec<String> = v["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["media"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["kind"].as_str().map(str::to_string))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// exp-e's count of media keep-alives received (H.460.19 ones from exp-c among them).
fn exp_e_keepalives() -> u64 {
    let m = crate::e2e::exp_e_metrics();
    m.lines()
        .find_map(|l| l.strip_prefix("exp_media_keepalives_received_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// One call: `callee` answers in `callee_ns`, `caller` dials `to` for `dest`.
#[allow(clippy::too_many_arguments)]
fn call(
    bin: &Path,
    dir: &Path,
    tag: &str,
    callee_ns: &str,
    callee_ip: &str,
    caller_ns: &str,
    caller_ip: &str,
    to: &str,
    dest: &str,
) -> anyhow::Result<(serde_json::Value, serde_json::Value, Vec<String>)> {
    let packets = PACKETS.to_string();
    let callee_log = dir.join(format!("h323-{tag}-callee.log"));
    let caller_log = dir.join(format!("h323-{tag}-caller.log"));
    let listen = format!("{callee_ip}:1721");
    let callee_rtp = format!("{callee_ip}:41000");
    let callee = endpoint(
        bin,
        callee_ns,
        &[
            "answer",
            "--listen",
            &listen,
            "--rtp",
            &callee_rtp,
            "--packets",
            &packets,
            "--timeout",
            "40",
        ],
        &callee_log,
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let caller_rtp = format!("{caller_ip}:42000");
    let caller = endpoint(
        bin,
        caller_ns,
        &[
            "call",
            "--to",
            to,
            "--dest",
            dest,
            "--rtp",
            &caller_rtp,
            "--packets",
            &packets,
            "--timeout",
            "40",
        ],
        &caller_log,
    )?;
    // While media flows, note exp-e's leg kinds.
    let mut kinds = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(4) && kinds.is_empty() {
        std::thread::sleep(Duration::from_millis(500));
        kinds = exp_e_leg_kinds();
    }
    let caller_sum = summary(caller, &caller_log)?;
    let callee_sum = summary(callee, &callee_log)?;
    Ok((caller_sum, callee_sum, kinds))
}

fn check(tag: &str, who: &str, s: &serde_json::Value) -> anyhow::Result<(u64, u64, u64)> {
    let sent = s["sent"].as_u64().unwrap_or(0);
    let received = s["received"].as_u64().unwrap_or(0);
    let lost = s["lost"].as_u64().unwrap_or(0);
    if s["connected"] != true || sent < u64::from(PACKETS) || received < u64::from(PACKETS) * 9 / 10
    {
        bail!("h323 {tag}: {who} did not get media both ways: {s}");
    }
    Ok((received, sent, lost))
}

/// Runs the H.323 scenarios; exp-e and exp-c are running.
pub(crate) fn scenarios(bin: &Path, dir: &Path) -> anyhow::Result<()> {
    let t = wait_h323_active("exp-lan", 9081, "dmz", Duration::from_secs(30))?;
    let e_side = h323_zone("exp-dmz", 9080, "lan").unwrap_or_default();
    println!(
        "e2e [h323-zone-up] PASS: exp-c registered its H.323 zone through exp-lfw (H.460.18 RAS, H.235.1) within {:.0} ms of asking; exp-e sees endpoint {} from {}, time to live {} s",
        t.as_secs_f64() * 1000.0,
        e_side["endpoint_id"],
        e_side["peer"],
        e_side["time_to_live"]
    );
    let keepalives_before = exp_e_keepalives();
    let (caller, callee, kinds) = call(
        bin,
        dir,
        "in",
        "exp-lan",
        "10.10.4.2",
        "exp-inet",
        "10.10.1.2",
        &format!("{EXP_E_ADDR}:1720"),
        "h323-bob",
    )?;
    let (brx, btx, blost) = check("call-in", "bob (LAN)", &callee)?;
    let (arx, atx, alost) = check("call-in", "alice (outside)", &caller)?;
    if !kinds.iter().any(|k| k == "demux") {
        bail!("h323 call-in: exp-e's legs were {kinds:?}, expected a demux leg toward exp-c");
    }
    // exp-c opened the media path with H.460.19 keep-alives before media (RTP and RTCP).
    let keepalives = exp_e_keepalives().saturating_sub(keepalives_before);
    if keepalives < 2 {
        bail!("h323 call-in: exp-e received {keepalives} media keep-alives from exp-c, expected at least 2");
    }
    println!(
        "e2e [h323-call-in] PASS: outside → exp-e → H.460.18 indication → exp-c → LAN: bob received {brx} RTP packets, sent {btx}, lost {blost}; alice received {arx}, sent {atx}, lost {alost}; exp-e legs {kinds:?}; exp-e consumed {keepalives} H.460.19 keep-alives from exp-c"
    );
    let (caller, callee, kinds) = call(
        bin,
        dir,
        "out",
        "exp-inet",
        "10.10.1.2",
        "exp-lan",
        "10.10.4.2",
        "10.10.4.2:1720",
        "h323-alice",
    )?;
    let (arx, atx, alost) = check("call-out", "alice (outside)", &callee)?;
    let (brx, btx, blost) = check("call-out", "bob (LAN)", &caller)?;
    if !kinds.iter().any(|k| k == "demux") {
        bail!("h323 call-out: exp-e's legs were {kinds:?}, expected a demux leg toward exp-c");
    }
    println!(
        "e2e [h323-call-out] PASS: LAN → exp-c → 2777 → exp-e → outside: alice received {arx} RTP packets, sent {atx}, lost {alost}; bob received {brx}, sent {btx}, lost {blost}; exp-e legs {kinds:?}"
    );
    Ok(())
}
