//! `cargo xtask e2e`: exp deployed as operators deploy it, behind real firewalls, in Linux
//! network namespaces joined by veth pairs:
//!
//! ```text
//! exp-inet ── exp-efw ── exp-dmz (exp-e) ── exp-lfw ── exp-lan (exp-c)
//! 10.10.1.2   .1.1|.2.1  10.10.2.2|10.10.3.2  .3.1|.4.1  10.10.4.2
//! ```
//!
//! `exp-efw` admits into the DMZ exactly what `exp-e ports --format nft` lists for the run's
//! configuration, and everything from the DMZ out. `exp-lfw` runs nftables: the LAN may open flows to exp-e only, return traffic is allowed by
//! conntrack, and every new inbound flow into the LAN is dropped and counted. A counter in
//! postrouting counts new inbound flows that were *accepted* into the LAN; it must stay at zero
//! after all scenarios, and conntrack must hold no flow that was opened toward the LAN.
//! `--self-check` removes the drop rule and opens one connection from the DMZ into the LAN:
//! the run must then fail at that assertion, proving it can.
//!
//! Scenarios: the zone comes up through the firewall; exp-e restarted while idle and the zone
//! recovers; baresip calls outside → LAN and LAN → outside with RTP both ways; 20 concurrent
//! sipp calls (e2e_concurrent.rs); a call under 5 % loss (and 20 ms delay where the kernel has
//! netem); exp-c killed mid-call; H.323 (H.460.18/19) registration and calls both ways
//! (e2e_h323.rs); an inbound connection attempt; the outbound-only assertion.
//!
//! The topology is removed at the end, on failure, on Ctrl-C, and (left over from a killed
//! run) at the start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const NAMESPACES: [&str; 5] = ["exp-inet", "exp-efw", "exp-dmz", "exp-lfw", "exp-lan"];
pub(crate) const EXP_E_ADDR: &str = "10.10.2.2";
const LAN_SUBNET: &str = "10.10.4.0/24";

/// Runs `ip netns exec ns args…` (or plain `args…` when `ns` is empty) and returns stdout.
pub(crate) fn sh(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = if ns.is_empty() {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    } else {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    };
    let out = cmd.output().with_context(|| format!("running {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{ns}: `{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn nft(ns: &str, script: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("nft")?;
    child
        .stdin
        .take()
        .context("nft stdin")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{ns}: nft: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Removes every namespace of both topologies (this one and the chained one).
fn teardown() {
    remove_namespaces(&NAMESPACES);
    remove_namespaces(&crate::e2e_chain::NAMESPACES);
}

/// Removes `namespaces` (and with them their veths and rules), after killing whatever still
/// runs in them: a process left in a deleted namespace would live on (and keep it) unseen.
pub(crate) fn remove_namespaces(namespaces: &[&str]) {
    for &ns in namespaces {
        let pids = Command::new("ip")
            .args(["netns", "pids", ns])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
    }
}

struct Topology;

impl Drop for Topology {
    fn drop(&mut self) {
        teardown();
    }
}

impl Topology {
    fn create() -> anyhow::Result<Topology> {
        teardown();
        let topo = Topology;
        add_namespaces(&NAMESPACES)?;
        add_links(&[
            (
                "exp-inet",
                "inet0",
                "10.10.1.2/24",
                "exp-efw",
                "efw-o",
                "10.10.1.1/24",
            ),
            (
                "exp-efw",
                "efw-i",
                "10.10.2.1/24",
                "exp-dmz",
                "dmz0",
                "10.10.2.2/24",
            ),
            (
                "exp-dmz",
                "dmz1",
                "10.10.3.2/24",
                "exp-lfw",
                "lfw-o",
                "10.10.3.1/24",
            ),
            (
                "exp-lfw",
                "lfw-i",
                "10.10.4.1/24",
                "exp-lan",
                "lan0",
                "10.10.4.2/24",
            ),
        ])?;
        for ns in ["exp-efw", "exp-lfw"] {
            sh(ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        }
        sh(
            "exp-inet",
            &["ip", "route", "add", "default", "via", "10.10.1.1"],
        )?;
        sh(
            "exp-dmz",
            &["ip", "route", "add", "default", "via", "10.10.2.1"],
        )?;
        sh(
            "exp-dmz",
            &["ip", "route", "add", LAN_SUBNET, "via", "10.10.3.1"],
        )?;
        sh(
            "exp-lfw",
            &["ip", "route", "add", "default", "via", "10.10.3.2"],
        )?;
        sh(
            "exp-lan",
            &["ip", "route", "add", "default", "via", "10.10.4.1"],
        )?;
        // The LAN firewall: out to exp-e only; nothing new in.
        inner_firewall("exp-lfw", "lfw-i", "lfw-o", EXP_E_ADDR)?;
        Ok(topo)
    }
}

/// Creates `namespaces`, each with `lo` up.
pub(crate) fn add_namespaces(namespaces: &[&str]) -> anyhow::Result<()> {
    for &ns in namespaces {
        sh("", &["ip", "netns", "add", ns])?;
        sh(ns, &["ip", "link", "set", "lo", "up"])?;
    }
    Ok(())
}

/// One veth pair: (namespace a, interface a, address a, namespace b, interface b, address b).
pub(crate) type Link<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

/// Creates each veth pair of `links`, addressed and up.
pub(crate) fn add_links(links: &[Link]) -> anyhow::Result<()> {
    for &(na, ia, aa, nb, ib, ab) in links {
        sh(
            "",
            &[
                "ip", "link", "add", ia, "netns", na, "type", "veth", "peer", "name", ib, "netns",
                nb,
            ],
        )?;
        sh(na, &["ip", "addr", "add", aa, "dev", ia])?;
        sh(nb, &["ip", "addr", "add", ab, "dev", ib])?;
        sh(na, &["ip", "link", "set", ia, "up"])?;
        sh(nb, &["ip", "link", "set", ib, "up"])?;
    }
    Ok(())
}

/// A program running in a namespace; killed when dropped.
pub(crate) struct InNs {
    child: Child,
}

impl InNs {
    pub(crate) fn start(
        ns: &str,
        bin: &Path,
        args: &[&str],
        env: &[(&str, String)],
        log: &Path,
    ) -> anyhow::Result<InNs> {
        let out = std::fs::File::create(log)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(bin).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("start {} in {ns}", bin.display()))?;
        Ok(InNs { child })
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for InNs {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The state of zone `zone` from the admin API at 127.0.0.1:`port` inside `ns`.
pub(crate) fn zone_state(ns: &str, port: u16, zone: &str) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}/api/v1/zones");
    let body = sh(ns, &["curl", "-s", "--max-time", "1", &url]).ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["zones"]
        .as_array()?
        .iter()
        .find(|z| z["name"] == zone)
        .and_then(|z| z["state"].as_str())
        .map(str::to_string)
}

pub(crate) fn wait_active(
    ns: &str,
    port: u16,
    zone: &str,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if zone_state(ns, port, zone).as_deref() == Some("active") {
            return Ok(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "zone `{zone}` in {ns} not active after {timeout:?} (state {:?})",
        zone_state(ns, port, zone)
    )
}

/// A named counter's packet count in the LAN firewall.
fn lfw_counter(name: &str) -> anyhow::Result<u64> {
    fw_counter("exp-lfw", name)
}

/// A named counter's packet count in the firewall namespace `ns` (table `inet exp`).
pub(crate) fn fw_counter(ns: &str, name: &str) -> anyhow::Result<u64> {
    let text = sh(ns, &["nft", "list", "counter", "inet", "exp", name])?;
    text.split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("counter {name} in: {text}"))
}

/// Flows in the LAN firewall's conntrack table that were opened toward the LAN.
fn inbound_flows() -> anyhow::Result<Vec<String>> {
    flows_toward("exp-lfw", &["10.10.4."])
}

/// Flows in the conntrack table of firewall `ns` whose original destination starts with one
/// of `inner` (address prefixes of the protected side).
pub(crate) fn flows_toward(ns: &str, inner: &[&str]) -> anyhow::Result<Vec<String>> {
    let text = sh(ns, &["conntrack", "-L"]).unwrap_or_default();
    Ok(text
        .lines()
        .filter(|l| {
            // The first dst= is the original direction's destination.
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("dst="))
                .is_some_and(|d| inner.iter().any(|p| d.starts_with(p)))
        })
        .map(str::to_string)
        .collect())
}

/// The outbound-only assertion: no new flow was ever accepted into the LAN.
fn assert_outbound_only() -> anyhow::Result<String> {
    let accepted = lfw_counter("inbound_accepted")?;
    let dropped = lfw_counter("inbound_dropped")?;
    let flows = inbound_flows()?;
    if accepted > 0 || !flows.is_empty() {
        bail!(
            "OUTBOUND-ONLY VIOLATED: {accepted} new inbound flow(s) accepted into the LAN; \
             conntrack flows opened toward the LAN: {flows:?}"
        );
    }
    Ok(format!(
        "0 new inbound flows accepted into the LAN ({dropped} inbound attempts dropped)"
    ))
}

pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|st| st.success())
        .unwrap_or(false)
}

/// A baresip user agent's home (config, accounts, tone) in a namespace.
pub(crate) struct Ua {
    user: String,
    ns: String,
    home: PathBuf,
}

impl Ua {
    pub(crate) fn new(dir: &Path, user: &str, ns: &str, ip: &str, port: u16) -> anyhow::Result<Ua> {
        let home = dir.join(format!("ua-{user}"));
        std::fs::create_dir_all(&home)?;
        let tone = dir.join("tone.wav");
        if !tone.exists() {
            std::fs::write(&tone, tone_wav(20))?;
        }
        std::fs::write(
            home.join("config"),
            format!(
                "poll_method epoll\nsip_listen {ip}:{port}\nsip_trans_def udp\nnet_interface {ip}\n\
                 audio_player aufile,{play}\naudio_source aufile,{src}\naudio_alert aufile,{play}\n\
                 rtp_ports 20000-20999\nmodule_path /usr/lib/baresip/modules\n\
                 module g711.so\nmodule aufile.so\nmodule rtcpsummary.so\nmodule account.so\nmodule menu.so\n",
                play = home.join("out.wav").display(),
                src = tone.display(),
            ),
        )?;
        std::fs::write(
            home.join("accounts"),
            format!("<sip:{user}@{ip}:{port};transport=udp>;regint=0;answermode=auto;audio_codecs=PCMU\n"),
        )?;
        Ok(Ua {
            user: user.into(),
            ns: ns.into(),
            home,
        })
    }

    /// Starts baresip; it quits (hanging up) after `secs`, dialing `dial` first.
    fn start(&self, secs: u32, dial: Option<&str>, tag: &str) -> anyhow::Result<(Child, PathBuf)> {
        let log = self.home.join(format!("log-{tag}.txt"));
        let out = std::fs::File::create(&log)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, "baresip", "-f"])
            .arg(&self.home)
            .args(["-t", &secs.to_string()]);
        if let Some(d) = dial {
            cmd.args(["-e", &format!("/dial {d}")]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("baresip")?;
        Ok((child, log))
    }
}

/// 8 kHz mono 16-bit PCM WAV of a 440 Hz tone.
fn tone_wav(secs: u32) -> Vec<u8> {
    let samples = 8000 * secs;
    let mut w = Vec::with_capacity(44 + 2 * samples as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + 2 * samples).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    for v in [8000u32, 16000] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    for v in [2u16, 16] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(2 * samples).to_le_bytes());
    for i in 0..samples {
        let x = 2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0;
        w.extend_from_slice(&((8000.0 * x.sin()) as i16).to_le_bytes());
    }
    w
}

/// rtcpsummary's line: (packets received, packets sent, lost) of the UA that got the BYE.
fn rtcp_summary(log: &Path) -> Option<(u64, u64, String)> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("EX=BareSip;"))?;
    let field = |name: &str| {
        line.split(';')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    Some((
        field("PR")?.parse().ok()?,
        field("PS")?.parse().ok()?,
        field("PL")?.to_string(),
    ))
}

/// `caller` calls `callee` through `entry` (the SIP listener on its side); the caller hangs
/// up after 13 s, and the callee's rtcpsummary gives packets received, sent and lost.
pub(crate) fn call(
    caller: &Ua,
    callee: &Ua,
    entry: &str,
    tag: &str,
    lossy: bool,
) -> anyhow::Result<(u64, u64, String)> {
    let (mut callee_p, callee_log) = callee.start(40, None, tag)?;
    std::thread::sleep(Duration::from_millis(700));
    let dial = format!("sip:{}@{entry}", callee.user);
    let (mut caller_p, _) = caller.start(13, Some(&dial), tag)?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = caller_p.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = caller_p.kill();
    let _ = caller_p.wait();
    std::thread::sleep(Duration::from_millis(700));
    let _ = callee_p.kill();
    let _ = callee_p.wait();
    let (pr, ps, lost) = rtcp_summary(&callee_log).with_context(|| {
        format!(
            "call {tag}: no RTCP summary from {} (log {})",
            callee.user,
            callee_log.display()
        )
    })?;
    if pr < 100 || ps < 100 {
        bail!("call {tag}: audio did not flow both ways (received {pr}, sent {ps})");
    }
    if !lossy && lost != "0,0" {
        bail!("call {tag}: packets lost: {lost}");
    }
    Ok((pr, ps, lost))
}

/// Calls exp-e lists in its admin API.
fn calls_on_exp_e() -> Option<usize> {
    let body = sh(
        "exp-dmz",
        &[
            "curl",
            "-s",
            "--max-time",
            "1",
            "http://127.0.0.1:9080/api/v1/calls",
        ],
    )
    .ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["calls"].as_array().map(Vec::len)
}

/// exp-e's metrics text (its admin API inside the DMZ namespace); empty when unreachable.
pub(crate) fn exp_e_metrics() -> String {
    sh(
        "exp-dmz",
        &[
            "curl",
            "-s",
            "--max-time",
            "1",
            "http://127.0.0.1:9080/metrics",
        ],
    )
    .unwrap_or_default()
}

/// The LAN firewall's forward rules (see the module comment).
fn lfw_forward_rules() -> String {
    inner_forward_rules("lfw-i", "lfw-o", EXP_E_ADDR)
}

/// Forward rules of a firewall in front of an inner network: the inner side (interface
/// `inner`) may open flows to `next` only, return traffic passes, and every new flow inward
/// is dropped and counted.
pub(crate) fn inner_forward_rules(inner: &str, outer: &str, next: &str) -> String {
    format!(
        r#"
        ct state established,related accept
        iifname "{inner}" oifname "{outer}" ip daddr {next} accept
        iifname "{outer}" oifname "{inner}" ct state new counter name inbound_dropped drop
"#
    )
}

/// Loads the firewall table of namespace `ns` ([`inner_forward_rules`]), with a postrouting
/// counter of new inbound flows that were *accepted* toward `inner` (it must stay at zero).
pub(crate) fn inner_firewall(ns: &str, inner: &str, outer: &str, next: &str) -> anyhow::Result<()> {
    nft(
        ns,
        &format!(
            r#"
table inet exp {{
    counter inbound_dropped {{}}
    counter inbound_accepted {{}}
    chain forward {{
        type filter hook forward priority 0; policy drop;
        {rules}
    }}
    chain post {{
        type filter hook postrouting priority 100; policy accept;
        oifname "{inner}" ct direction original ct state new counter name inbound_accepted
    }}
}}
"#,
            rules = inner_forward_rules(inner, outer, next)
        ),
    )
}

/// Puts the LAN firewall's forward chain back to its rules (after a scenario changed it).
fn restore_lfw_forward() -> anyhow::Result<()> {
    nft(
        "exp-lfw",
        &format!(
            "flush chain inet exp forward\ntable inet exp {{\n chain forward {{\n{}\n }}\n}}\n",
            lfw_forward_rules()
        ),
    )
}

/// A TCP listener on the LAN host (port 9999), for the inbound probes.
fn lan_listener() -> anyhow::Result<Child> {
    listener("exp-lan", "10.10.4.2")
}

/// Connects from the DMZ to the LAN listener (2 s timeout).
fn dmz_connect() -> anyhow::Result<String> {
    connect_from("exp-dmz", "10.10.4.2")
}

/// A TCP listener on `ip`:9999 in `ns` that accepts one connection, for the inbound probes.
pub(crate) fn listener(ns: &str, ip: &str) -> anyhow::Result<Child> {
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c"])
        .arg(format!("import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{ip}',9999))\ns.listen()\nc,_=s.accept()\ntime.sleep(2)"))
        .spawn()
        .with_context(|| format!("python3 listener in {ns}"))?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(child)
}

/// Connects from `ns` to `ip`:9999 (2 s timeout).
pub(crate) fn connect_from(ns: &str, ip: &str) -> anyhow::Result<String> {
    sh(
        ns,
        &[
            "python3",
            "-c",
            &format!("import socket\nsocket.create_connection(('{ip}',9999),timeout=2)\nprint('connected')"),
        ],
    )
}

pub(crate) fn need(tool: &str, package: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        bail!("`{tool}` is missing: apt-get install {package}");
    }
    Ok(())
}

pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut self_check = false;
    let (mut single, mut chained) = (true, true);
    let mut h323_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--self-check" => self_check = true,
            // Development: the single topology with only the H.323 scenarios.
            "--h323-only" => {
                h323_only = true;
                chained = false;
            }
            "--topology" => match it.next().map(String::as_str) {
                Some("single") => chained = false,
                Some("chain") => single = false,
                Some("all") => {}
                other => bail!("--topology takes single, chain or all (got {other:?})"),
            },
            other => bail!("unknown e2e option `{other}`"),
        }
    }
    let uid = sh("", &["id", "-u"])?;
    if uid.trim() != "0" {
        bail!("cargo xtask e2e needs root (network namespaces, veth, nftables): run it as root");
    }
    need("ip", "iproute2")?;
    need("nft", "nftables")?;
    need("conntrack", "conntrack")?;
    need("curl", "curl")?;
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        teardown();
        std::process::exit(130);
    })
    .context("Ctrl-C handler")?;
    let bin = crate::proc::build_binaries()?;
    let password = crate::proc::random_password()?;
    let creds = crate::proc::credentials_env(&bin, "exp-c", &password)?;
    let dir = std::env::temp_dir().join(format!("exp-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut result = Ok(());
    if single {
        result = scenarios(&bin, &dir, &creds, &password, self_check, h323_only);
        teardown();
    }
    if chained && (result.is_ok() || self_check) {
        // Under --self-check both topologies run, and each must fail its assertion.
        let chain = crate::e2e_chain::scenarios(&bin, &dir, self_check);
        teardown();
        result = match (result, chain) {
            (Ok(()), r) => r,
            (Err(e), Ok(())) => Err(e),
            (Err(e), Err(c)) => Err(e.context(format!("and the chained topology: {c:#}"))),
        };
    }
    match &result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
            println!("e2e: all scenarios passed");
        }
        Err(_) => println!("e2e: FAILED (logs in {})", dir.display()),
    }
    result
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

fn scenarios(
    bin: &Path,
    dir: &Path,
    creds: &str,
    password: &str,
    self_check: bool,
    h323_only: bool,
) -> anyhow::Result<()> {
    let _topo = Topology::create()?;
    println!("e2e: topology up: exp-inet — exp-efw — exp-dmz (exp-e) — exp-lfw — exp-lan (exp-c)");
    let e_cfg = write(
        dir,
        "exp-e.toml",
        &format!(
            r#"[system]
name = "e2e-exp-e"
[admin]
listen = "127.0.0.1:9080"
[network]
listen_address = "0.0.0.0"
[sip]
advertised_address = "{EXP_E_ADDR}"
tcp_port = 0
[[server_zones]]
name = "lan"
username = "exp-c"
h323_mode = true
[[routes]]
pattern = "sip:bob@.*"
zone = "lan"
[[routes]]
pattern = "h323-bob"
zone = "lan"
[[routes]]
pattern = "h323-alice"
target = "10.10.1.2:1721"
protocol = "h323"
[[routes]]
pattern = "sip:load-.*"
zone = "lan"
[[routes]]
pattern = "sip:alice@.*"
target = "10.10.1.2:5060"
transport = "udp"
"#
        ),
    )?;
    let c_cfg = write(
        dir,
        "exp-c.toml",
        &format!(
            r#"[system]
name = "e2e-exp-c"
[admin]
listen = "127.0.0.1:9081"
[network]
listen_address = "10.10.4.2"
[sip]
tcp_port = 0
[[client_zones]]
name = "dmz"
peers = ["{EXP_E_ADDR}"]
username = "exp-c"
password = "{password}"
h323_mode = true
[[routes]]
pattern = "sip:bob@.*"
target = "10.10.4.2:5070"
transport = "udp"
[[routes]]
pattern = "h323-bob"
target = "10.10.4.2:1721"
protocol = "h323"
[[routes]]
pattern = "h323-alice"
zone = "dmz"
[[routes]]
pattern = "sip:load-.*"
target = "{uas}"
transport = "udp"
[[routes]]
pattern = "sip:alice@.*"
zone = "dmz"
"#,
            uas = crate::e2e_concurrent::UAS_ADDR
        ),
    )?;
    let e_env = vec![("EXP_E_CREDENTIALS", creds.to_string())];
    // The edge firewall lets into the DMZ exactly what `exp-e ports --format nft` lists.
    let generated = Command::new(bin.join("exp-e"))
        .args(["ports", "--format", "nft", "--config"])
        .arg(&e_cfg)
        .env("EXP_E_CREDENTIALS", creds)
        .output()
        .context("exp-e ports --format nft")?;
    if !generated.status.success() {
        bail!(
            "exp-e ports --format nft: {}",
            String::from_utf8_lossy(&generated.stderr)
        );
    }
    let rules: Vec<String> = String::from_utf8_lossy(&generated.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| format!("        iifname \"efw-o\" ip daddr {EXP_E_ADDR} {l}"))
        .collect();
    nft(
        "exp-efw",
        &format!(
            "table inet exp {{\n    chain forward {{\n        type filter hook forward priority 0; policy drop;\n        ct state established,related accept\n        iifname \"efw-i\" accept\n{}\n    }}\n}}\n",
            rules.join("\n")
        ),
    )?;
    println!(
        "e2e: exp-efw admits into the DMZ the {} inbound port rules of `exp-e ports --format nft`",
        rules.len()
    );
    let e_bin = bin.join("exp-e");
    let c_bin = bin.join("exp-c");
    let e_cfg_s = e_cfg.to_string_lossy().into_owned();
    let c_cfg_s = c_cfg.to_string_lossy().into_owned();
    let mut exp_e = InNs::start(
        "exp-dmz",
        &e_bin,
        &["--config", &e_cfg_s],
        &e_env,
        &dir.join("exp-e.log"),
    )?;
    std::thread::sleep(Duration::from_millis(200));
    let mut exp_c = InNs::start(
        "exp-lan",
        &c_bin,
        &["--config", &c_cfg_s],
        &[],
        &dir.join("exp-c.log"),
    )?;

    if h323_only {
        crate::e2e_h323::scenarios(bin, dir)?;
        return assert_outbound_only().map(|f| println!("e2e [outbound-only] PASS: {f}"));
    }
    // 1. The zone comes up through the LAN firewall.
    let t = wait_active("exp-lan", 9081, "dmz", Duration::from_secs(15))?;
    println!(
        "e2e [zone-up] PASS: exp-c's zone active through exp-lfw in {:.0} ms",
        t.as_secs_f64() * 1000.0
    );

    // 2. exp-e restarted while idle: the zone recovers.
    exp_e.kill();
    let down_at = Instant::now();
    let mut went_down = false;
    while down_at.elapsed() < Duration::from_secs(10) {
        if zone_state("exp-lan", 9081, "dmz").as_deref() != Some("active") {
            went_down = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let restarted = Instant::now();
    let _exp_e = InNs::start(
        "exp-dmz",
        &e_bin,
        &["--config", &e_cfg_s],
        &e_env,
        &dir.join("exp-e-2.log"),
    )?;
    let t = wait_active("exp-lan", 9081, "dmz", Duration::from_secs(30))?;
    let _ = t;
    println!(
        "e2e [exp-e-restart] PASS: zone {} and active again {:.0} ms after exp-e restarted",
        if went_down { "went down" } else { "stayed up" },
        restarted.elapsed().as_secs_f64() * 1000.0
    );

    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    // 3. Calls with real user agents through both firewalls and both programs.
    if have("baresip") {
        let bob = Ua::new(dir, "bob", "exp-lan", "10.10.4.2", 5070)?;
        let alice = Ua::new(dir, "alice", "exp-inet", "10.10.1.2", 5060)?;
        let (rx, tx, lost) = call(&alice, &bob, EXP_E_ADDR, "in", false)?;
        println!(
            "e2e [call-in] PASS: outside alice → LAN bob through exp-e and exp-c: bob received {rx} RTP packets, sent {tx}, lost {lost}"
        );
        let (rx, tx, lost) = call(&bob, &alice, "10.10.4.2", "out", false)?;
        println!(
            "e2e [call-out] PASS: LAN bob → outside alice through exp-c and exp-e: alice received {rx} RTP packets, sent {tx}, lost {lost}"
        );
        // 4. 20 calls at once (sipp), RTP both ways on each.
        if have("sipp") {
            let figures = crate::e2e_concurrent::run(dir)?;
            println!("e2e [concurrent] PASS: {figures}");
        } else {
            println!(
                "e2e [concurrent] SKIPPED: sipp is not installed (apt-get install sip-tester)"
            );
        }
        // 5. 5 % loss on the DMZ–LAN link (both ways, every packet, the zone's TCP included),
        // plus 20 ms of delay each way where the kernel has netem (this machine's has not).
        let delay = ["exp-dmz", "exp-lfw"].iter().all(|ns| {
            let dev = if *ns == "exp-dmz" { "dmz1" } else { "lfw-o" };
            sh(
                ns,
                &[
                    "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "20ms",
                ],
            )
            .is_ok()
        });
        sh(
            "exp-lfw",
            &[
                "nft", "insert", "rule", "inet", "exp", "forward", "numgen", "random", "mod",
                "100", "<", "5", "counter", "drop",
            ],
        )?;
        let (rx, tx, lost) = call(&alice, &bob, EXP_E_ADDR, "lossy", true)?;
        let state = zone_state("exp-lan", 9081, "dmz").unwrap_or_default();
        if state != "active" {
            bail!("zone is {state} after the call under 5 % loss");
        }
        restore_lfw_forward()?;
        for (ns, dev) in [("exp-dmz", "dmz1"), ("exp-lfw", "lfw-o")] {
            let _ = sh(ns, &["tc", "qdisc", "del", "dev", dev, "root"]);
        }
        println!(
            "e2e [loss-5%] PASS: call completed under 5 % loss on the DMZ–LAN link ({}), zone stayed active: bob received {rx} RTP packets, sent {tx}, lost (cumulative, interarrival-based as baresip reports) {lost}",
            if delay { "and 20 ms netem delay each way" } else { "netem delay unavailable on this kernel" }
        );

        // 6. exp-c killed mid-call: exp-e clears the call (BYE to alice) and frees its ports.
        let (mut bob_p, _) = bob.start(60, None, "killed")?;
        std::thread::sleep(Duration::from_millis(700));
        let dial = format!("sip:bob@{EXP_E_ADDR}");
        let (mut alice_p, alice_log) = alice.start(60, Some(&dial), "killed")?;
        let up = Instant::now();
        while calls_on_exp_e() != Some(1) && up.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if calls_on_exp_e() != Some(1) {
            bail!("exp-c-killed: the call never showed on exp-e");
        }
        std::thread::sleep(Duration::from_secs(2));
        exp_c.kill();
        let killed = Instant::now();
        while calls_on_exp_e() != Some(0) && killed.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let cleared = killed.elapsed();
        if calls_on_exp_e() != Some(0) {
            bail!("exp-c-killed: exp-e still lists the call after {cleared:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = alice_p.kill();
        let _ = alice_p.wait();
        let _ = bob_p.kill();
        let _ = bob_p.wait();
        let alice_text = std::fs::read_to_string(&alice_log).unwrap_or_default();
        let bye = alice_text.contains("terminated") || alice_text.contains("closed");
        // Its media streams are gone too (the metrics are published every 250 ms).
        let streams_gone = {
            let t = Instant::now();
            loop {
                let m = exp_e_metrics();
                if m.lines().any(|l| l.trim() == "exp_media_streams 0") {
                    break true;
                }
                if t.elapsed() > Duration::from_secs(5) {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        if !bye || !streams_gone {
            bail!("exp-c-killed: caller told {bye}, media streams released {streams_gone}");
        }
        println!(
            "e2e [exp-c-killed] PASS: exp-e cleared the call {:.2} s after exp-c was killed (its zone connection closed; the probe timeout bounds it otherwise), BYE to the caller, media streams released",
            cleared.as_secs_f64()
        );
        exp_c = InNs::start(
            "exp-lan",
            &c_bin,
            &["--config", &c_cfg_s],
            &[],
            &dir.join("exp-c-2.log"),
        )?;
        wait_active("exp-lan", 9081, "dmz", Duration::from_secs(30))?;
    } else {
        println!("e2e [calls] SKIPPED: baresip is not installed (apt-get install baresip)");
    }
    // 7. H.323 through the same zone: registration, calls both ways with media both ways.
    crate::e2e_h323::scenarios(bin, dir)?;
    let _ = &exp_c; // the (re)started exp-c runs until the end of the run
                    // An inbound connection attempt, as an attacker in the DMZ would make: it must be dropped.
    let mut listener = lan_listener()?;
    let attempt = dmz_connect();
    let _ = listener.kill();
    let _ = listener.wait();
    if attempt.is_ok() && !self_check {
        bail!("a connection from the DMZ into the LAN succeeded");
    }
    println!(
        "e2e [inbound-probe] PASS: a DMZ → LAN connection attempt was refused by exp-lfw ({} dropped so far)",
        lfw_counter("inbound_dropped")?
    );
    if self_check {
        // Prove the assertion can fail: open the LAN firewall and make one inbound connection.
        println!("e2e [self-check]: removing the LAN drop rule and connecting DMZ → LAN");
        sh(
            "exp-lfw",
            &["nft", "flush", "chain", "inet", "exp", "forward"],
        )?;
        sh(
            "exp-lfw",
            &["nft", "add", "rule", "inet", "exp", "forward", "accept"],
        )?;
        let mut listener = lan_listener()?;
        let connected = dmz_connect();
        let _ = listener.kill();
        let _ = listener.wait();
        println!("e2e [self-check]: DMZ → LAN connection: {connected:?}");
    }
    match assert_outbound_only() {
        Ok(figures) => {
            println!("e2e [outbound-only] PASS: {figures}");
            Ok(())
        }
        Err(e) => {
            println!("e2e [outbound-only] FAIL: {e}");
            Err(e)
        }
    }
}
