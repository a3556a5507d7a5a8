//! `cargo xtask bench media`: packets per second and CPU per packet of exp-e's media relay on
//! its demultiplexing path, next to a minimal batched UDP forwarder (the floor) in the same
//! run, on the same loopback, from the same optimized binary.
//!
//! Each round starts the process under test (`exp-e bench-media relay` with N streams, or
//! `exp-e bench-media floor`), drives it with `exp-e bench-media load` (172-byte RTP, behind
//! each stream's mux identifier, round-robin over the streams, as fast as sendmmsg goes) for a
//! fixed time, and reads the process's packet counter and its CPU time (user + system, all
//! threads, from /proc/PID/stat) before and after. Relayed packets go to a socket nobody reads,
//! the same for both, so delivery costs the same.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn start(bin: &Path, args: &[String]) -> anyhow::Result<(Proc, serde_json::Value)> {
        let mut child = Command::new(bin)
            .arg("bench-media")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut p = Proc {
            child,
            stdin,
            stdout,
        };
        let ready = p.line()?;
        Ok((p, ready))
    }

    fn line(&mut self) -> anyhow::Result<serde_json::Value> {
        let mut s = String::new();
        if self.stdout.read_line(&mut s)? == 0 {
            bail!("bench process ended early");
        }
        serde_json::from_str(&s).with_context(|| format!("bench process said {s:?}"))
    }

    fn relayed(&mut self) -> anyhow::Result<u64> {
        writeln!(self.stdin, "stats")?;
        self.stdin.flush()?;
        let v = self.line()?;
        v["relayed"].as_u64().context("relayed count")
    }

    /// CPU seconds (user + system) used so far.
    fn cpu(&self) -> anyhow::Result<f64> {
        let (user, system) = crate::proc::cpu_times(self.child.id())?;
        Ok(user + system)
    }
}

struct Figures {
    pps: f64,
    us_per_packet: f64,
    offered_pps: f64,
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One measured window: `target` runs, `load` drives it for `seconds`.
fn measure(
    bin: &Path,
    target: &mut Proc,
    to: SocketAddr,
    mux_ids: &str,
    seconds: f64,
) -> anyhow::Result<Figures> {
    let (n0, c0, t0) = (target.relayed()?, target.cpu()?, Instant::now());
    let out = Command::new(bin)
        .args(["bench-media", "load", "--addr", &to.to_string()])
        .args(["--seconds", &seconds.to_string(), "--mux-ids", mux_ids])
        .output()
        .context("load generator")?;
    if !out.status.success() {
        bail!(
            "load generator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let (n1, c1, t1) = (target.relayed()?, target.cpu()?, Instant::now());
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let sent = sent["sent"].as_u64().unwrap_or(0) as f64;
    let relayed = (n1 - n0) as f64;
    if relayed < 1.0 {
        bail!("nothing was relayed");
    }
    let _ = t1.duration_since(t0);
    Ok(Figures {
        pps: relayed / seconds,
        us_per_packet: (c1 - c0) * 1e6 / relayed,
        offered_pps: sent / seconds,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (mut rounds, mut seconds, mut streams) = (3usize, 3.0f64, 1000usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().context("option value");
        match a.as_str() {
            "--rounds" => rounds = val()?.parse()?,
            "--seconds" => seconds = val()?.parse()?,
            "--streams" => streams = val()?.parse()?,
            other => bail!("unknown bench media option `{other}`"),
        }
    }
    crate::cargo(&["build", "--quiet", "--release", "-p", "exp-e"])?;
    let bin = crate::proc::workspace_root()
        .join(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("release/exp-e");
    let sink = UdpSocket::bind("127.0.0.1:0")?;
    let sink_addr = sink.local_addr()?.to_string();
    println!(
        "bench media: {streams} streams, {} s per window, {rounds} rounds, 172-byte RTP; {} CPUs",
        seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (mut relay_pps, mut relay_us, mut relay_offered) = (vec![], vec![], vec![]);
    let (mut floor_pps, mut floor_us, mut floor_offered) = (vec![], vec![], vec![]);
    for round in 1..=rounds {
        // exp-e's relay: demux pair on a free port, endpoint legs from 40000 up.
        let demux = loop {
            let p = free_udp_port()?;
            if p % 2 == 0 && UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
                break p;
            }
        };
        let demux_addr: SocketAddr = format!("127.0.0.1:{demux}").parse()?;
        let (mut relay, ready) = Proc::start(
            &bin,
            &[
                "relay".into(),
                "--streams".into(),
                streams.to_string(),
                "--addr".into(),
                demux_addr.to_string(),
                "--sink".into(),
                sink_addr.clone(),
                "--range".into(),
                "40000-49999".into(),
            ],
        )?;
        let ids: Vec<String> = ready["mux_ids"]
            .as_array()
            .context("mux ids")?
            .iter()
            .filter_map(|v| v.as_u64().map(|n| n.to_string()))
            .collect();
        let f = measure(&bin, &mut relay, demux_addr, &ids.join(","), seconds)?;
        drop(relay);
        println!(
            "  round {round}: exp-e relay  {:>9.0} pkt/s relayed ({:>9.0} offered)  {:>6.3} µs CPU/pkt",
            f.pps, f.offered_pps, f.us_per_packet
        );
        relay_pps.push(f.pps);
        relay_us.push(f.us_per_packet);
        relay_offered.push(f.offered_pps);

        let floor_addr: SocketAddr = format!("127.0.0.1:{}", free_udp_port()?).parse()?;
        let (mut floor, _) = Proc::start(
            &bin,
            &[
                "floor".into(),
                "--addr".into(),
                floor_addr.to_string(),
                "--sink".into(),
                sink_addr.clone(),
            ],
        )?;
        let f = measure(&bin, &mut floor, floor_addr, "", seconds)?;
        drop(floor);
        println!(
            "  round {round}: floor        {:>9.0} pkt/s relayed ({:>9.0} offered)  {:>6.3} µs CPU/pkt",
            f.pps, f.offered_pps, f.us_per_packet
        );
        floor_pps.push(f.pps);
        floor_us.push(f.us_per_packet);
        floor_offered.push(f.offered_pps);
    }
    let (rp, ru) = (median(&mut relay_pps), median(&mut relay_us));
    let (fp, fu) = (median(&mut floor_pps), median(&mut floor_us));
    println!(
        "media relay (exp-e demux path, {streams} streams): {rp:.0} relayed packets/s, {ru:.3} µs CPU per relayed packet (median of {rounds})"
    );
    println!(
        "floor (batched UDP forwarder):                {fp:.0} relayed packets/s, {fu:.3} µs CPU per relayed packet (median of {rounds})"
    );
    println!("media cpu-per-packet ratio exp-e/floor: {:.2}", ru / fu);
    drop(sink);
    Ok(())
}
