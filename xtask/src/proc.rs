//! Starting the real binaries and talking to their admin API, for demo and bench.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

/// The workspace root (parent of xtask/).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Build exp-e and exp-c; return the directory holding them.
pub fn build_binaries() -> anyhow::Result<PathBuf> {
    crate::cargo(&[
        "build",
        "--quiet",
        "-p",
        "exp-e",
        "-p",
        "exp-c",
        "-p",
        "exp-h323-test",
    ])?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    Ok(target.join("debug"))
}

/// A random password for one run.
pub fn random_password() -> anyhow::Result<String> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 12];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| anyhow!("no randomness"))?;
    Ok(hex::encode(b))
}

/// `exp-e hash-password --format env` for `password`: the `EXP_E_CREDENTIALS` value.
pub fn credentials_env(
    bin: &std::path::Path,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let mut child = Command::new(bin.join("exp-e"))
        .args(["hash-password", "--username", username, "--format", "env"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running exp-e hash-password")?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("no stdin"))?
        .write_all(format!("{password}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("exp-e hash-password failed");
    }
    let line = String::from_utf8(out.stdout)?;
    let value = line
        .trim()
        .strip_prefix("EXP_E_CREDENTIALS=")
        .ok_or_else(|| anyhow!("unexpected hash-password output: {line}"))?;
    Ok(value.to_string())
}

/// A child process killed when dropped, so no run leaves programs behind.
pub struct Running {
    /// Name for messages.
    pub name: String,
    child: Child,
}

impl Running {
    /// Start `program` from `bin` with `env`.
    pub fn start(
        bin: &std::path::Path,
        program: &str,
        env: &[(&str, String)],
        quiet: bool,
    ) -> anyhow::Result<Running> {
        let mut cmd = Command::new(bin.join(program));
        for (k, v) in env {
            cmd.env(k, v);
        }
        if quiet {
            cmd.stderr(Stdio::null()).stdout(Stdio::null());
        }
        let child = cmd.spawn().with_context(|| format!("starting {program}"))?;
        Ok(Running {
            name: program.into(),
            child,
        })
    }

    /// Kill (SIGKILL) and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// True while the process runs; says so on stderr when it has exited.
    pub fn alive(&mut self) -> bool {
        match self.child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                eprintln!("{} exited: {status}", self.name);
                false
            }
            Err(_) => false,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `GET path` from an admin API, parsed as JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> anyhow::Result<serde_json::Value> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| anyhow!("no HTTP body"))?;
    Ok(serde_json::from_str(body)?)
}

/// State of zone `name` in an admin API, if reachable.
pub fn zone_state(admin: SocketAddr, name: &str) -> Option<String> {
    let v = get_json(admin, "/api/v1/zones").ok()?;
    v["zones"]
        .as_array()?
        .iter()
        .find(|z| z["name"] == name)
        .and_then(|z| z["state"].as_str())
        .map(str::to_string)
}

/// Poll until zone `name` is in `state`; returns how long it took.
pub fn wait_state(
    admin: SocketAddr,
    name: &str,
    state: &str,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if zone_state(admin, name).as_deref() == Some(state) {
            return Ok(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!(
        "zone `{name}` did not become {state} within {:?} (last: {:?})",
        timeout,
        zone_state(admin, name)
    )
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct Bg {
    pub name: String,
    pub child: Child,
}

impl Bg {
    pub fn spawn(name: &str, cmd: &mut Command) -> anyhow::Result<Bg> {
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        Ok(Bg {
            name: name.into(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early ({status})", self.name);
        }
        Ok(())
    }

    /// Wait for the process to end by itself; kill it after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("{} did not finish within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user, system; all threads) process `pid` has used so far, from
/// /proc/PID/stat.
pub fn cpu_times(pid: u32) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'; utime
    // and stime are fields 14 and 15 of proc(5), so 11 and 12 after it.
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .context("stat format")?
        .1
        .split_whitespace()
        .collect();
    let user = f.get(11).context("utime")?.parse::<u64>()?;
    let system = f.get(12).context("stime")?.parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as f64,
        _ => 100.0,
    };
    Ok((user as f64 / hz, system as f64 / hz))
}

/// Runs `f` in a fresh scratch directory `/tmp/<prefix>-PID`, removed afterwards when `f`
/// succeeded and `keep` is false; otherwise kept, and `label` says where (its configurations,
/// logs and captures are what one looks at after a failure).
pub fn in_scratch_dir<T>(
    prefix: &str,
    label: &str,
    keep: bool,
    f: impl FnOnce(&std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = f(&dir);
    if result.is_ok() && !keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("{label}: configurations and logs kept in {}", dir.display());
    }
    result
}
