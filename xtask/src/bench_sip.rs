//! `cargo xtask bench sip`: SIP calls per second through exp-e and exp-c, and the time an
//! INVITE takes from reaching exp-e to leaving exp-c.
//!
//! On loopback, with the optimized binaries: sipp as the outside caller (UAC, a scenario
//! written by the bench) sends INVITEs to exp-e's SIP UDP listener; exp-e routes `sip:bench…`
//! into the traversal zone (TCP); exp-c routes it to a second sipp (built-in `uas` scenario)
//! on the LAN side. Every call is INVITE (with SDP, so both programs anchor media) / 180 / 200
//! / ACK / BYE / 200, with no pause between ACK and BYE. Every run has its own Request-URI
//! users (`sip:bench-RUN-N@…`).
//!
//! - Hop latency, first, on the fresh pair: one run per hop rate (`--hop-rates`, default
//!   200, 500 and 1000 cps; `--hop-seconds`, default 10) with `dumpcap` capturing loopback.
//!   sipp starts the calls due at each tick of its 10 ms timer, so INVITEs come in bursts of
//!   rate/100 within microseconds; the later ones of a burst wait for the earlier ones. An INVITE keeps its Request-URI across both B2BUAs, so the INVITE
//!   sent to exp-e's port and the INVITE sent to the UAS's port are matched by the
//!   Request-URI user; the difference of their capture times is the hop (exp-e, the zone
//!   connection, exp-c). The capture's own CPU use is part of the figure. The zone
//!   connection is captured too, which splits the hop into its exp-e part (until the INVITE's
//!   first zone segment) and its exp-c part.
//! - Rate ramp: for each rate sipp places `rate × seconds` calls; a rate counts when no call
//!   failed (sipp's `FailedCall`, receive timeout 5 s) and sipp really placed the calls at
//!   ≥ 95 % of that rate. The ramp stops at the first rate that does not count: an overloaded
//!   pair is not a fair start for the next rate.
//!
//! Per rate it prints the CPU the programs used (% of one core; sipp's UAC is not counted),
//! and the calls both admin APIs still list 5 s after the run. Warnings and errors in the
//! programs' logs are counted at the end.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::proc::Bg;

/// A free loopback port outside both media ranges (40000–59999).
fn free_port(udp: bool) -> anyhow::Result<u16> {
    for _ in 0..1000 {
        let port = if udp {
            UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port()
        } else {
            TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()
        };
        if !(40000..60000).contains(&port) {
            return Ok(port);
        }
    }
    bail!("no free port outside the media ranges")
}

struct Ports {
    e_sip: u16,
    c_sip: u16,
    uas: u16,
    zone: u16,
    e_admin: u16,
    c_admin: u16,
}

const UAC_XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="exp bench uac">
  <send retrans="500">
    <![CDATA[

      INVITE sip:bench-[run]-[call_number]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:bench-[run]-[call_number]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Subject: exp bench
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:bench-[run]-[call_number]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:bench-[run]-[call_number]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <ResponseTimeRepartition value="1, 2, 5, 10, 20, 50, 100, 200, 500"/>
</scenario>
"#;

fn write_configs(dir: &Path, bin: &Path, p: &Ports) -> anyhow::Result<(PathBuf, PathBuf)> {
    let password = crate::proc::random_password()?;
    let mut child = Command::new(bin.join("exp-e"))
        .args(["hash-password", "--username", "exp-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running exp-e hash-password")?;
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(format!("{password}\n").as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("exp-e hash-password failed");
    }
    let credentials = String::from_utf8(out.stdout)?;
    let e = format!(
        r#"[system]
name = "bench-exp-e"

[admin]
listen = "127.0.0.1:{e_admin}"

[network]
listen_address = "127.0.0.1"

[sip]
udp_port = {e_sip}
tcp_port = 0
tls_port = 0

[media]
port_range_start = 40000
port_range_end = 49999
idle_timeout = 3600.0

{credentials}
[[server_zones]]
name = "bench"
username = "exp-c"
sip_port = {zone}
sip_transport = "tcp"

[[routes]]
name = "bench"
pattern = 'sip:bench.*'
zone = "bench"
"#,
        e_admin = p.e_admin,
        e_sip = p.e_sip,
        zone = p.zone,
    );
    let c = format!(
        r#"[system]
name = "bench-exp-c"

[admin]
listen = "127.0.0.1:{c_admin}"

[network]
listen_address = "127.0.0.1"

[sip]
udp_port = {c_sip}
tcp_port = 0
tls_port = 0

[media]
port_range_start = 50000
port_range_end = 59999
idle_timeout = 3600.0

[[client_zones]]
name = "bench"
peers = ["127.0.0.1"]
sip_port = {zone}
username = "exp-c"
password = "{password}"
sip_transport = "tcp"

[[routes]]
name = "bench"
pattern = 'sip:bench.*'
target = "127.0.0.1:{uas}"
transport = "udp"
"#,
        c_admin = p.c_admin,
        c_sip = p.c_sip,
        zone = p.zone,
        uas = p.uas,
    );
    let (ef, cf) = (dir.join("exp-e.toml"), dir.join("exp-c.toml"));
    std::fs::write(&ef, e)?;
    std::fs::write(&cf, c)?;
    for (prog, f) in [("exp-e", &ef), ("exp-c", &cf)] {
        let out = Command::new(bin.join(prog))
            .arg("check-config")
            .arg("--config")
            .arg(f)
            .output()
            .with_context(|| format!("{prog} check-config"))?;
        if !out.status.success() {
            bail!(
                "{prog} check-config refused {}:\n{}{}",
                f.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok((ef, cf))
}

fn start_program(bin: &Path, prog: &str, config: &Path, dir: &Path) -> anyhow::Result<Bg> {
    let log = File::create(dir.join(format!("{prog}.log")))?;
    Bg::spawn(
        prog,
        Command::new(bin.join(prog))
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log),
    )
}

/// The sipp UAS (built-in `uas` scenario) on the LAN side.
fn start_uas(port: u16, dir: &Path) -> anyhow::Result<Bg> {
    let log = File::create(dir.join("sipp-uas.log"))?;
    Bg::spawn(
        "sipp UAS",
        Command::new("sipp")
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-nostdin", "-max_socket", "10000"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log),
    )
}

/// What one sipp UAC run reported.
struct UacRun {
    rate: u32,
    offered: u64,
    successful: u64,
    failed: u64,
    retransmissions: u64,
    /// Calls placed per second of sipp's run time.
    achieved: f64,
    exit: Option<i32>,
}

/// Value of column `name` in the last row of sipp's `;`-separated statistics file.
fn stat_field(header: &[&str], row: &[&str], name: &str) -> anyhow::Result<u64> {
    let i = header
        .iter()
        .position(|h| *h == name)
        .with_context(|| format!("sipp statistics have no {name}"))?;
    row.get(i)
        .with_context(|| format!("sipp statistics row has no {name}"))?
        .trim()
        .parse()
        .with_context(|| format!("sipp statistic {name}"))
}

fn run_uac(dir: &Path, e_sip: u16, rate: u32, seconds: f64, tag: &str) -> anyhow::Result<UacRun> {
    let total = ((rate as f64) * seconds).round().max(1.0) as u64;
    let stf = dir.join(format!("uac-{tag}.csv"));
    let _ = std::fs::remove_file(&stf);
    let log = File::create(dir.join(format!("sipp-uac-{tag}.log")))?;
    let local_port = free_port(true)?.to_string();
    let t = Instant::now();
    let mut uac = Bg::spawn(
        "sipp UAC",
        Command::new("sipp")
            .arg(format!("127.0.0.1:{e_sip}"))
            .args(["-sf", "uac.xml", "-i", "127.0.0.1", "-p", &local_port])
            .args(["-key", "run", tag])
            .args(["-r", &rate.to_string(), "-rp", "1000"])
            .args(["-m", &total.to_string(), "-l", "5000"])
            .args(["-recv_timeout", "5000", "-max_socket", "10000"])
            .args(["-timeout", &format!("{}s", seconds.ceil() as u64 + 30)])
            .arg("-timeout_error")
            .args(["-nostdin", "-trace_stat", "-fd", "3600"])
            .arg("-stf")
            .arg(&stf)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log),
    )?;
    let status = uac.wait(Duration::from_secs_f64(seconds + 60.0))?;
    let elapsed = t.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&stf)
        .with_context(|| format!("sipp statistics {} (exit {status})", stf.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .context("empty sipp statistics")?
        .split(';')
        .collect();
    let row: Vec<&str> = lines
        .next_back()
        .context("no sipp statistics row")?
        .split(';')
        .collect();
    let successful = stat_field(&header, &row, "SuccessfulCall(C)")?;
    let failed = stat_field(&header, &row, "FailedCall(C)")?;
    let retransmissions = stat_field(&header, &row, "Retransmissions(C)")?;
    let offered = stat_field(&header, &row, "OutgoingCall(C)")?;
    Ok(UacRun {
        rate,
        offered,
        successful,
        failed,
        retransmissions,
        achieved: offered as f64 / elapsed,
        exit: status.code(),
    })
}

/// Calls still known to a program's admin API.
fn open_calls(admin: u16) -> Option<usize> {
    let addr: SocketAddr = format!("127.0.0.1:{admin}").parse().ok()?;
    crate::proc::get_json(addr, "/api/v1/calls")
        .ok()?
        .get("calls")?
        .as_array()
        .map(Vec::len)
}

/// Wait (up to `timeout`) until neither program has a call left; returns what is left.
fn drain(p: &Ports, timeout: Duration) -> (Option<usize>, Option<usize>) {
    let start = Instant::now();
    loop {
        let left = (open_calls(p.e_admin), open_calls(p.c_admin));
        if left == (Some(0), Some(0)) || start.elapsed() > timeout {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Hop latencies (ms, sorted) from a capture, per Request-URI user: the whole hop (first
/// INVITE to `e_sip` → first INVITE to `uas`), and its two parts: exp-e (→ the first zone
/// segment carrying the INVITE from the zone port `zone`) and exp-c (zone → `uas`).
struct Hops {
    total: Vec<f64>,
    exp_e: Vec<f64>,
    exp_c: Vec<f64>,
    unmatched: usize,
}

fn hop_latencies(pcap: &Path, e_sip: u16, uas: u16, zone: u16) -> anyhow::Result<Hops> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", &format!("udp.port=={e_sip},sip")])
        .args(["-d", &format!("udp.port=={uas},sip")])
        .args(["-d", &format!("tcp.port=={zone},sip")])
        .args(["-Y", "sip.Method == \"INVITE\""])
        .args(["-T", "fields", "-E", "separator=;"])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "udp.dstport",
            "-e",
            "tcp.srcport",
        ])
        .args(["-e", "sip.r-uri.user"])
        .stderr(Stdio::null())
        .output()
        .context("running tshark (apt-get install tshark)")?;
    if !out.status.success() {
        bail!("tshark could not read {}", pcap.display());
    }
    let mut at_e = std::collections::HashMap::new();
    let mut at_zone = std::collections::HashMap::new();
    let mut at_uas = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(';').collect();
        let (Some(t), Some(udp), Some(tcp), Some(users)) =
            (f.first(), f.get(1), f.get(2), f.get(3))
        else {
            continue;
        };
        let Ok(t) = t.parse::<f64>() else {
            continue;
        };
        let map = match (udp.parse::<u16>().ok(), tcp.parse::<u16>().ok()) {
            (Some(p), _) if p == e_sip => &mut at_e,
            (Some(p), _) if p == uas => &mut at_uas,
            // exp-e → exp-c: from the zone listener's port.
            (None, Some(p)) if p == zone => &mut at_zone,
            _ => continue,
        };
        // A TCP segment can carry several INVITEs: tshark lists their users with commas.
        for user in users.split(',') {
            map.entry(user.to_string()).or_insert(t);
        }
    }
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v
    };
    let total = sorted(
        at_e.iter()
            .filter_map(|(u, te)| at_uas.get(u).map(|tu| (tu - te) * 1000.0))
            .collect(),
    );
    let exp_e = sorted(
        at_e.iter()
            .filter_map(|(u, te)| at_zone.get(u).map(|tz| (tz - te) * 1000.0))
            .collect(),
    );
    let exp_c = sorted(
        at_zone
            .iter()
            .filter_map(|(u, tz)| at_uas.get(u).map(|tu| (tu - tz) * 1000.0))
            .collect(),
    );
    let unmatched = at_e.len() - total.len();
    Ok(Hops {
        total,
        exp_e,
        exp_c,
        unmatched,
    })
}

/// Count lines of a program's log at ERROR and WARN level; return up to 3 examples.
fn log_problems(path: &Path) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut errors, mut warnings, mut examples) = (0, 0, Vec::new());
    for line in text.lines() {
        let is_err = line.contains("ERROR") || line.contains("\"level\":\"ERROR\"");
        let is_warn = line.contains("WARN");
        if is_err {
            errors += 1;
        } else if is_warn {
            warnings += 1;
        }
        if (is_err || is_warn) && examples.len() < 3 {
            examples.push(line.chars().take(300).collect());
        }
    }
    (errors, warnings, examples)
}

struct Options {
    rates: Vec<u32>,
    seconds: f64,
    hop_rates: Vec<u32>,
    hop_seconds: f64,
    keep: bool,
}

/// A comma-separated list of call rates.
fn rate_list(s: &str) -> Result<Vec<u32>, std::num::ParseIntError> {
    s.split(',').map(|r| r.trim().parse::<u32>()).collect()
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        rates: vec![200, 400, 600, 800, 1000, 1200, 1500, 2000],
        seconds: 3.0,
        hop_rates: vec![200, 500, 1000],
        hop_seconds: 10.0,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--rates" => o.rates = rate_list(val()?).context("--rates R1,R2,…")?,
            "--seconds" => o.seconds = val()?.parse().context("--seconds S")?,
            "--hop-rates" => o.hop_rates = rate_list(val()?).context("--hop-rates R1,R2,…")?,
            "--hop-seconds" => o.hop_seconds = val()?.parse().context("--hop-seconds S")?,
            "--keep" => o.keep = true,
            other => bail!("unknown bench sip option `{other}`"),
        }
    }
    if o.rates.is_empty()
        || o.rates.contains(&0)
        || o.hop_rates.contains(&0)
        || o.seconds <= 0.0
        || o.hop_seconds <= 0.0
    {
        bail!("rates and durations must be above 0");
    }
    Ok(o)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let o = parse(args)?;
    if Command::new("sipp").arg("-v").output().is_err() {
        bail!("sipp not found (Debian package sip-tester)");
    }
    crate::cargo(&[
        "build",
        "--quiet",
        "--release",
        "-p",
        "exp-e",
        "-p",
        "exp-c",
    ])?;
    let bin = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::proc::workspace_root().join("target"))
        .join("release");
    crate::proc::in_scratch_dir("exp-bench-sip", "bench sip", o.keep, |dir| {
        bench(&o, &bin, dir)
    })
}

/// CPU seconds (user + system, all threads) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    crate::proc::cpu_times(pid).ok().map(|(u, s)| u + s)
}

/// CPU use of the long-running processes over one measured run.
struct Cpu {
    start: Instant,
    before: Vec<Option<f64>>,
}

impl Cpu {
    fn start(procs: &[&Bg]) -> Cpu {
        Cpu {
            start: Instant::now(),
            before: procs.iter().map(|p| cpu_seconds(p.child.id())).collect(),
        }
    }

    /// "exp-e 45% exp-c 40% UAS 30%" (percent of one core).
    fn report(&self, procs: &[&Bg]) -> String {
        let wall = self.start.elapsed().as_secs_f64();
        procs
            .iter()
            .zip(&self.before)
            .map(|(p, b)| match (b, cpu_seconds(p.child.id())) {
                (Some(b), Some(a)) => format!("{} {:.0}%", p.name, (a - b) * 100.0 / wall),
                _ => format!("{} ?", p.name),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn bench(o: &Options, bin: &Path, dir: &Path) -> anyhow::Result<()> {
    let p = Ports {
        e_sip: free_port(true)?,
        c_sip: free_port(true)?,
        uas: free_port(true)?,
        zone: free_port(false)?,
        e_admin: free_port(false)?,
        c_admin: free_port(false)?,
    };
    let (ef, cf) = write_configs(dir, bin, &p)?;
    std::fs::write(dir.join("uac.xml"), UAC_XML)?;

    let mut uas = start_uas(p.uas, dir)?;
    let mut e = start_program(bin, "exp-e", &ef, dir)?;
    let mut c = start_program(bin, "exp-c", &cf, dir)?;
    let c_admin: SocketAddr = format!("127.0.0.1:{}", p.c_admin).parse()?;
    crate::proc::wait_state(c_admin, "bench", "active", Duration::from_secs(30))
        .context("zone did not come up")?;
    uas.check_alive()?;

    println!(
        "bench sip: sipp UAC -> exp-e (UDP {}) -> zone (TCP {}) -> exp-c -> sipp UAS (UDP {}); \
         release build, {} CPUs",
        p.e_sip,
        p.zone,
        p.uas,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  call: INVITE (SDP, media anchored on both) / 180 / 200 / ACK / BYE / 200, no hold time; \
         CPU in % of one core"
    );
    let show = |n: Option<usize>| n.map_or("?".to_string(), |n| n.to_string());

    // Hop latency first, on a fresh pair: one run at a moderate rate under capture.
    // Warm-up, not measured: the first calls on a fresh pair pay one-time costs (heap
    // growth, first use of the media ports, connection buffers).
    if !o.hop_rates.is_empty() {
        let w = run_uac(dir, p.e_sip, 200, 2.0, "warm")?;
        println!(
            "  warm-up: {} calls at 200 cps (not measured), {} failed",
            w.offered, w.failed
        );
        drain(&p, Duration::from_secs(5));
    }
    let mut hop_lines = Vec::new();
    for &rate in &o.hop_rates {
        hop_lines.push(hop_run(o, dir, &p, &mut [&mut e, &mut c, &mut uas], rate)?);
    }

    let mut best: Option<u32> = None;
    for &rate in &o.rates {
        if crate::proc::zone_state(c_admin, "bench").as_deref() != Some("active") {
            println!("  zone not active before {rate} cps: stopping the ramp");
            break;
        }
        let cpu = Cpu::start(&[&e, &c, &uas]);
        let r = run_uac(dir, p.e_sip, rate, o.seconds, &format!("r{rate}"))?;
        let cpu = cpu.report(&[&e, &c, &uas]);
        let left = drain(&p, Duration::from_secs(5));
        e.check_alive()?;
        c.check_alive()?;
        uas.check_alive()?;
        let sustained = r.failed == 0
            && r.successful == r.offered
            && r.exit == Some(0)
            && r.achieved >= 0.95 * r.rate as f64;
        println!(
            "  rate {:>5} cps: {:>6} calls, {:>6} ok, {:>5} failed, {:>5} retransmissions, \
             {:>5.0} cps placed; CPU {cpu}; calls left exp-e {} exp-c {}  {}",
            r.rate,
            r.offered,
            r.successful,
            r.failed,
            r.retransmissions,
            r.achieved,
            show(left.0),
            show(left.1),
            if sustained { "ok" } else { "NOT SUSTAINED" }
        );
        if !sustained {
            break;
        }
        best = Some(rate);
    }
    e.check_alive()?;
    c.check_alive()?;
    // Read the logs while both still run: stopping them logs the zone going down.
    for prog in ["exp-e", "exp-c"] {
        let (errors, warnings, examples) = log_problems(&dir.join(format!("{prog}.log")));
        if errors + warnings > 0 {
            println!("  {prog} log: {errors} errors, {warnings} warnings, e.g.:");
            for l in examples {
                println!("    {l}");
            }
        }
    }
    drop(c);
    drop(e);
    drop(uas);
    for l in hop_lines {
        println!("{l}");
    }
    println!("sip calls-per-second: {}", best.unwrap_or(0));
    Ok(())
}

/// The machine's own wake-up latency, measured next to the hop: a UDP round trip on loopback
/// between two threads that block in `recv` (a ping every millisecond, during the hop run's
/// calls, so it sees the same load and the same host). The hop has at least
/// two such wake-ups (exp-e's listener, exp-c's zone reader), so on a busy or shared host its
/// tail follows this one.
fn loopback_round_trip(seconds: f64) -> anyhow::Result<String> {
    let echo = UdpSocket::bind("127.0.0.1:0")?;
    let echo_addr = echo.local_addr()?;
    let ping = UdpSocket::bind("127.0.0.1:0")?;
    ping.set_read_timeout(Some(Duration::from_secs(1)))?;
    let t = std::thread::spawn(move || {
        let mut b = [0u8; 16];
        while let Ok((n, from)) = echo.recv_from(&mut b) {
            if &b[..n] == b"q" {
                break;
            }
            let _ = echo.send_to(&b[..n], from);
        }
    });
    let mut rtt = Vec::new();
    let mut b = [0u8; 16];
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(1));
        let start = Instant::now();
        ping.send_to(b"p", echo_addr)?;
        if ping.recv_from(&mut b).is_ok() {
            rtt.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let _ = ping.send_to(b"q", echo_addr);
    let _ = t.join();
    if rtt.is_empty() {
        bail!("loopback round trip: no answer");
    }
    rtt.sort_by(|a, b| a.total_cmp(b));
    Ok(format!(
        "  machine: loopback UDP round trip between two threads p50 {:.3} ms, p99 {:.3} ms",
        percentile(&rtt, 0.50),
        percentile(&rtt, 0.99)
    ))
}

/// The hop run; prints its details and returns the `sip hop …` line.
fn hop_run(
    o: &Options,
    dir: &Path,
    p: &Ports,
    procs: &mut [&mut Bg],
    rate: u32,
) -> anyhow::Result<String> {
    let dumpcap_ok = Command::new("dumpcap")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !dumpcap_ok {
        return Ok(
            "sip hop INVITE exp-e -> exp-c: not measured (no dumpcap; apt-get install tshark)"
                .into(),
        );
    }
    let pcap = dir.join(format!("hop-{rate}.pcapng"));
    let capture_seconds = (o.hop_seconds + 60.0).ceil() as u64;
    let mut cap = Bg::spawn(
        "dumpcap",
        Command::new("dumpcap")
            .args(["-q", "-i", "lo", "-B", "64"])
            .args([
                "-f",
                &format!(
                    "udp port {} or udp port {} or tcp port {}",
                    p.e_sip, p.uas, p.zone
                ),
            ])
            .args(["-a", &format!("duration:{capture_seconds}")])
            .arg("-w")
            .arg(&pcap)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("dumpcap.log"))?),
    )?;
    // dumpcap writes the file header once it captures.
    let start = Instant::now();
    while std::fs::metadata(&pcap).map_or(true, |m| m.len() == 0) {
        cap.check_alive()?;
        if start.elapsed() > Duration::from_secs(10) {
            bail!("dumpcap did not start capturing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let seconds = o.hop_seconds;
    let floor = std::thread::spawn(move || loopback_round_trip(seconds));
    let r = run_uac(dir, p.e_sip, rate, o.hop_seconds, &format!("hop{rate}"))?;
    let left = drain(p, Duration::from_secs(5));
    // The kernel hands captured packets to dumpcap in blocks, retired on a timeout; wait for
    // the last one, then stop the capture cleanly (SIGINT) so the file is complete.
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-INT", &cap.child.id().to_string()])
        .status();
    cap.wait(Duration::from_secs(10))?;
    for proc in procs.iter_mut() {
        proc.check_alive()?;
    }
    let h = hop_latencies(&pcap, p.e_sip, p.uas, p.zone)?;
    match floor.join() {
        Ok(Ok(line)) => println!("{line}"),
        Ok(Err(e)) => println!("  machine: loopback round trip not measured ({e})"),
        Err(_) => println!("  machine: loopback round trip not measured"),
    }
    println!(
        "  hop run: {} cps under capture, {} calls, {} failed, {} retransmissions; \
         {} INVITEs to exp-e not seen leaving exp-c; calls left exp-e {} exp-c {}",
        rate,
        r.offered,
        r.failed,
        r.retransmissions,
        h.unmatched,
        left.0.map_or("?".into(), |n| n.to_string()),
        left.1.map_or("?".into(), |n| n.to_string()),
    );
    if h.total.is_empty() {
        bail!("no INVITE matched in the capture {}", pcap.display());
    }
    for (part, v) in [
        ("exp-e (outside listener -> zone connection)", &h.exp_e),
        ("exp-c (zone connection -> LAN target)", &h.exp_c),
    ] {
        if !v.is_empty() {
            println!(
                "  hop part {part}: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
                percentile(v, 0.50),
                percentile(v, 0.90),
                percentile(v, 0.99)
            );
        }
    }
    let hops = &h.total;
    Ok(format!(
        "sip hop INVITE exp-e -> exp-c at {rate} cps: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms (n={} of {} calls)",
        percentile(hops, 0.50),
        percentile(hops, 0.90),
        percentile(hops, 0.99),
        hops.len(),
        r.offered
    ))
}
