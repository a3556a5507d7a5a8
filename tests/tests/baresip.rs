//! Calls between two real SIP user agents (baresip, Debian package `baresip`) through exp-e
//! and exp-c on loopback, in both directions, with audio both ways: each baresip plays an
//! 8 kHz tone file (`aufile`) and `rtcpsummary` reports packets sent, received and lost at
//! hang-up. Skipped, with a message, where baresip is not installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use exp_runtime::Node;
use exp_tests::*;
use exp_zone::config::{RouteConfig, TargetTransport};
use exp_zone::{Role, Transport};

const WAIT: Duration = Duration::from_secs(15);

fn have_baresip() -> bool {
    Command::new("baresip")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A tone of `secs` seconds, 8 kHz mono 16-bit PCM WAV.
fn tone(path: &Path, secs: u32) {
    let samples = 8000 * secs;
    let mut w = Vec::with_capacity(44 + 2 * samples as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + 2 * samples).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(2 * samples).to_le_bytes());
    for i in 0..samples {
        let v =
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin()) as i16;
        w.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, w).unwrap();
}

struct Baresip {
    child: Child,
    log: PathBuf,
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless baresip as `user`, SIP on 127.0.0.1:`sip_port`, RTP from `rtp_range`,
/// auto-answering; quits (hanging up) after `quit_after` seconds, dialing `dial` first.
fn baresip(
    dir: &Path,
    user: &str,
    sip_port: u16,
    rtp_range: (u16, u16),
    quit_after: u32,
    dial: Option<&str>,
) -> Baresip {
    let home = dir.join(user);
    std::fs::create_dir_all(&home).unwrap();
    let wav = dir.join("tone.wav");
    if !wav.exists() {
        tone(&wav, 20);
    }
    std::fs::write(
        home.join("config"),
        format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\nsip_trans_def udp\n\
             net_interface 127.0.0.1\n\
             audio_player aufile,{play}\naudio_source aufile,{src}\naudio_alert aufile,{play}\n\
             rtp_ports {}-{}\nmodule_path /usr/lib/baresip/modules\n\
             module g711.so\nmodule aufile.so\nmodule rtcpsummary.so\nmodule account.so\nmodule menu.so\n",
            rtp_range.0,
            rtp_range.1,
            play = home.join("out.wav").display(),
            src = wav.display(),
        ),
    )
    .unwrap();
    std::fs::write(
        home.join("accounts"),
        format!("<sip:{user}@127.0.0.1:{sip_port};transport=udp>;regint=0;answermode=auto;audio_codecs=PCMU\n"),
    )
    .unwrap();
    let log = home.join("log.txt");
    let mut cmd = Command::new("baresip");
    cmd.arg("-f")
        .arg(&home)
        .arg("-t")
        .arg(quit_after.to_string());
    if let Some(d) = dial {
        cmd.arg("-e").arg(format!("/dial {d}"));
    }
    let out = std::fs::File::create(&log).unwrap();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("baresip starts");
    Baresip { child, log }
}

/// rtcpsummary's line: (packets received, packets sent, lost locally, lost remotely).
fn summary(log: &Path) -> Option<(u64, u64, i64, i64)> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("EX=BareSip;"))?;
    let field = |name: &str| -> Option<&str> {
        line.split(';')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let pr = field("PR")?.parse().ok()?;
    let ps = field("PS")?.parse().ok()?;
    let (l1, l2) = field("PL")?.split_once(',')?;
    Some((pr, ps, l1.parse().ok()?, l2.parse().ok()?))
}

fn route(pattern: &str, zone: Option<&str>, target: Option<SocketAddr>) -> RouteConfig {
    RouteConfig {
        pattern: pattern.into(),
        zone: zone.map(str::to_string),
        target: target.map(|t| t.to_string()),
        transport: target.map(|_| TargetTransport::Udp),
        ..RouteConfig::default()
    }
}

struct Setup {
    e: Node,
    c: Node,
    e_sip: u16,
    c_sip: u16,
    alice: u16,
    bob: u16,
}

/// alice is outside (calls reach her from exp-e), bob on the LAN (from exp-c).
async fn setup() -> Setup {
    let zone_port = free_port();
    let (e_sip, c_sip, alice, bob) = (free_port(), free_port(), free_port(), free_port());
    let loopback = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", zone_port, Transport::Tcp));
    e.sip.udp_port = e_sip;
    e.routes.push(route("sip:bob@.*", Some("lan"), None));
    e.routes
        .push(route("sip:alice@.*", None, Some(loopback(alice))));
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.network.listen_address = "127.0.0.1".parse().unwrap();
    c.sip.udp_port = c_sip;
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{zone_port}")],
        "exp-c",
        "s3cret",
    ));
    c.routes
        .push(route("sip:bob@.*", None, Some(loopback(bob))));
    c.routes.push(route("sip:alice@.*", Some("dmz"), None));
    let c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c, "dmz") == "active").await);
    Setup {
        e,
        c,
        e_sip,
        c_sip,
        alice,
        bob,
    }
}

/// Waits for a baresip to exit on its own.
async fn exits(b: &mut Baresip) {
    for _ in 0..300 {
        if let Ok(Some(_)) = b.child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("baresip did not exit; log: {}", b.log.display());
}

/// During the call both programs relay media both ways on both legs.
async fn media_both_ways(nodes: [&Node; 2]) {
    for node in nodes {
        let ok = wait_until(WAIT, || {
            node.calls().first().is_some_and(|c| {
                c.media.len() == 2
                    && c.media
                        .iter()
                        .all(|l| l.packets_in > 50 && l.packets_out > 50)
            })
        })
        .await;
        assert!(ok, "media both ways: {:?}", node.calls());
    }
}

async fn after_call(nodes: [&Node; 2]) {
    for node in nodes {
        assert!(
            wait_until(WAIT, || node.calls().is_empty()).await,
            "{:?}",
            node.calls()
        );
        assert!(
            media_pool_full(node).await,
            "every port pair back in the pool"
        );
        let (counters, _) = node.media().expect("media relay");
        assert_eq!(counters.dropped_foreign_source, 0);
    }
}

fn check_summary(log: &Path, who: &str) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (pr, ps, lost_local, lost_remote) =
        summary(log).unwrap_or_else(|| panic!("{who}: no rtcpsummary line in:\n{text}"));
    println!(
        "{who}: rtcpsummary packets received {pr}, sent {ps}, lost {lost_local},{lost_remote}"
    );
    assert!(
        pr >= 100 && ps >= 100,
        "{who}: audio both ways: PR={pr} PS={ps}"
    );
    assert_eq!((lost_local, lost_remote), (0, 0), "{who}: no loss");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_both_directions_with_audio() {
    if !have_baresip() {
        eprintln!("SKIPPED: baresip is not installed (apt-get install baresip)");
        return;
    }
    let dir = scratch("baresip");
    let s = setup().await;

    // Incoming: alice (outside) calls bob (LAN) through exp-e's SIP port; alice hangs up
    // after 13 s (RTCP reports need a few 5 s intervals), so bob prints the RTCP summary.
    let mut bob = baresip(&dir.join("in"), "bob", s.bob, (17000, 17499), 30, None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dial = format!("sip:bob@127.0.0.1:{}", s.e_sip);
    let mut alice = baresip(
        &dir.join("in"),
        "alice",
        s.alice,
        (17500, 17999),
        13,
        Some(&dial),
    );
    media_both_ways([&s.e, &s.c]).await;
    exits(&mut alice).await;
    after_call([&s.e, &s.c]).await;
    let _ = bob.child.kill();
    let _ = bob.child.wait();
    check_summary(&bob.log, "incoming call, callee bob (LAN)");

    // Outgoing: bob (LAN) calls alice (outside) through exp-c's SIP port; this time the
    // callee alice hangs up after 13 s, so bob, the caller, prints the summary.
    let mut alice = baresip(&dir.join("out"), "alice", s.alice, (17500, 17999), 13, None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dial = format!("sip:alice@127.0.0.1:{}", s.c_sip);
    let mut bob = baresip(
        &dir.join("out"),
        "bob",
        s.bob,
        (17000, 17499),
        30,
        Some(&dial),
    );
    media_both_ways([&s.e, &s.c]).await;
    exits(&mut alice).await;
    after_call([&s.e, &s.c]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = bob.child.kill();
    let _ = bob.child.wait();
    check_summary(&bob.log, "outgoing call, caller bob (LAN)");
}
