//! The command line both programs share: run, check-config, ports, hash-password.
//!
//! `exp-e` and `exp-c` are thin wrappers that call [`main`] with their role, so the operator
//! meets the same commands and flags on both.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use exp_sip::digest::{ha1, Algorithm};
use exp_zone::ports::{port_plan, Direction, PortUse, Protocol};
use exp_zone::{load, Role};

use crate::logging::{self, LogFormat};
use crate::node::Node;

#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Configuration file (TOML). Without it the program runs on embedded defaults;
    /// environment variables (EXP_E_… / EXP_C_…) override either.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log level filter (RUST_LOG overrides).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run (the default).
    Run,
    /// Validate the configuration and print every problem and warning.
    CheckConfig,
    /// Print every port this program listens on or connects to, for the firewall administrator.
    Ports {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PortsFormat,
    },
    /// Read a password on standard input and print the credential entry exp-e stores for it
    /// (digest hashes, never the password).
    HashPassword {
        /// The traversal client's username.
        #[arg(long)]
        username: String,
        /// Realm; defaults to system.realm of the configuration.
        #[arg(long)]
        realm: Option<String>,
        /// Output as a TOML `[[credentials]]` table or as an EXP_E_CREDENTIALS variable.
        #[arg(long, value_enum, default_value = "toml")]
        format: CredFormat,
    },
    /// Processes of `cargo xtask bench media` (not for operators).
    #[command(hide = true)]
    BenchMedia {
        /// relay | floor | load
        mode: String,
        /// relay: streams to create.
        #[arg(long, default_value_t = 1000)]
        streams: usize,
        /// relay: demultiplexing RTP port; floor/load: where to send or listen.
        #[arg(long)]
        addr: SocketAddr,
        /// relay/floor: where relayed packets go.
        #[arg(long)]
        sink: Option<SocketAddr>,
        /// relay: endpoint port range `first-last`.
        #[arg(long, default_value = "40000-49999")]
        range: String,
        /// load: seconds to send.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// load: comma-separated mux identifiers (none: bare RTP).
        #[arg(long, default_value = "")]
        mux_ids: String,
    },
}

/// Output formats of `ports`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PortsFormat {
    /// A table for people.
    Text,
    /// The port list as JSON.
    Json,
    /// nftables rules accepting every inbound port, for the firewall in front of this host.
    Nft,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CredFormat {
    Toml,
    Env,
}

/// Entry point of `exp-e` / `exp-c`.
pub fn main(role: Role) -> ExitCode {
    let about = match role {
        Role::Server => "exp-e: firewall traversal server (DMZ side) for SIP and H.323",
        Role::Client => "exp-c: firewall traversal client (LAN side) for SIP and H.323",
    };
    let matches = Cli::command()
        .name(role.program())
        .about(about)
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(role, cli.config, cli.log_format, &cli.log_level),
        Command::CheckConfig => check_config(role, cli.config),
        Command::Ports { format } => ports(role, cli.config, format),
        Command::HashPassword {
            username,
            realm,
            format,
        } => hash_password(role, cli.config, username, realm, format),
        Command::BenchMedia {
            mode,
            streams,
            addr,
            sink,
            range,
            seconds,
            mux_ids,
        } => {
            let r = bench_media(&mode, streams, addr, sink, &range, seconds, &mux_ids);
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench-media: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check_config(role: Role, config: Option<PathBuf>) -> ExitCode {
    let source = config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "embedded defaults".into());
    match load(role, config.as_deref()).and_then(|c| c.resolve(role)) {
        Ok(r) => {
            for w in &r.warnings {
                println!("warning: {w}");
            }
            println!(
                "{}: configuration OK ({source}): {} server zone(s), {} client zone(s), {} credential(s), {} route(s)",
                role.program(),
                r.server_zones.len(),
                r.client_zones.len(),
                r.credentials.len(),
                r.router.routes().len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            for p in &e.problems {
                println!("error: {p}");
            }
            println!(
                "{}: configuration refused ({source}): {} problem(s)",
                role.program(),
                e.problems.len()
            );
            ExitCode::from(2)
        }
    }
}

fn ports(role: Role, config: Option<PathBuf>, format: PortsFormat) -> ExitCode {
    let r = match load(role, config.as_deref()).and_then(|c| c.resolve(role)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match render_ports(role, &port_plan(&r), format) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The output of `ports` for `plan` (also used to check that docs/deployment.md shows what
/// the programs print).
pub fn render_ports(role: Role, plan: &[PortUse], format: PortsFormat) -> Result<String, String> {
    use std::fmt::Write;
    let mut out = String::new();
    let range = |p: &PortUse| {
        if p.port_last == p.port {
            p.port.to_string()
        } else {
            format!("{}-{}", p.port, p.port_last)
        }
    };
    match format {
        PortsFormat::Json => {
            out = serde_json::to_string_pretty(plan).map_err(|e| e.to_string())?;
            out.push('\n');
        }
        PortsFormat::Nft => {
            let _ = writeln!(
                out,
                "# {}: inbound ports as nftables rules; put them in the chain that guards this host",
                role.program()
            );
            let _ = writeln!(
                out,
                "# (in a forward chain, add `ip daddr <this host>` to the rules that have none)"
            );
            // Local-only listeners (the admin API on loopback) need no firewall rule.
            let local_only = |a: &str| a.starts_with("127.") || a == "::1";
            for p in plan
                .iter()
                .filter(|p| p.direction == Direction::Inbound && !local_only(&p.address))
            {
                // nft comments are at most 128 bytes and cannot hold double quotes.
                let mut comment: String = p.purpose.replace('"', "'");
                if comment.len() > 120 {
                    let mut cut = 120;
                    while !comment.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    comment.truncate(cut);
                }
                let proto = match p.protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                };
                // A listener bound to one address admits traffic to that address only.
                let daddr = match p.address.parse::<std::net::IpAddr>() {
                    Ok(a) if a.is_unspecified() => String::new(),
                    Ok(std::net::IpAddr::V4(a)) => format!("ip daddr {a} "),
                    Ok(std::net::IpAddr::V6(a)) => format!("ip6 daddr {a} "),
                    Err(_) => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{daddr}{proto} dport {} accept comment \"{comment}\"",
                    range(p)
                );
            }
        }
        PortsFormat::Text => {
            let _ = writeln!(
                out,
                "{:<5} {:<9} {:<40} {:>11}  purpose",
                "proto", "direction", "address", "port"
            );
            for p in plan {
                let _ = writeln!(
                    out,
                    "{:<5} {:<9} {:<40} {:>11}  {}",
                    p.protocol.to_string(),
                    p.direction.to_string(),
                    p.address,
                    range(p),
                    p.purpose
                );
            }
        }
    }
    Ok(out)
}

fn hash_password(
    role: Role,
    config: Option<PathBuf>,
    username: String,
    realm: Option<String>,
    format: CredFormat,
) -> ExitCode {
    if role == Role::Client {
        eprintln!(
            "exp-c keeps no credential database; use `exp-e hash-password` on the traversal server"
        );
        return ExitCode::from(2);
    }
    let realm = match realm {
        Some(r) => r,
        None => match load(role, config.as_deref()) {
            Ok(c) => c.system.realm,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        eprintln!("cannot read the password from standard input");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("empty password on standard input");
        return ExitCode::from(2);
    }
    let sha = ha1(Algorithm::Sha256, &username, &realm, password);
    let md5 = ha1(Algorithm::Md5, &username, &realm, password);
    // H.235.1 (H.323 zones) keys on SHA-1 of the password alone.
    let h235: String = exp_h460::h235::key(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    match format {
        CredFormat::Toml => {
            println!("[[credentials]]");
            println!("username = {}", q(&username));
            println!("realm = {}", q(&realm));
            println!("ha1_sha256 = \"{sha}\"");
            println!("ha1_md5 = \"{md5}\"");
            println!("h235_sha1 = \"{h235}\"");
        }
        CredFormat::Env => {
            println!(
                "EXP_E_CREDENTIALS=[{{username={},realm={},ha1_sha256=\"{sha}\",ha1_md5=\"{md5}\",h235_sha1=\"{h235}\"}}]",
                q(&username),
                q(&realm)
            );
        }
    }
    ExitCode::SUCCESS
}

fn run(role: Role, config: Option<PathBuf>, format: LogFormat, level: &str) -> ExitCode {
    logging::init(format, level);
    let resolved = match load(role, config.as_deref()).and_then(|c| c.resolve(role)) {
        Ok(r) => r,
        Err(e) => {
            for p in &e.problems {
                tracing::error!(key = %p.key, "configuration: {}", p.message);
            }
            eprintln!("{}: {e}", role.program());
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let mut node = match Node::start(resolved).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("cannot start: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            version = crate::status::VERSION,
            "{} running",
            role.program()
        );
        let mut hangup = reload_signal();
        loop {
            tokio::select! {
                _ = wait_for_stop() => break,
                Some(()) = next_reload(&mut hangup) => reload(role, config.as_deref(), &mut node),
            }
        }
        tracing::info!("stopping");
        drop(node);
        ExitCode::SUCCESS
    })
}

#[cfg(unix)]
type ReloadSignal = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type ReloadSignal = Option<()>;

fn reload_signal() -> ReloadSignal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    None
}

/// The next SIGHUP; never, where there is none.
async fn next_reload(s: &mut ReloadSignal) -> Option<()> {
    #[cfg(unix)]
    if let Some(s) = s {
        return s.recv().await;
    }
    let _ = s;
    std::future::pending().await
}

/// SIGHUP: read the configuration again and apply what can change while running.
fn reload(role: Role, config: Option<&Path>, node: &mut Node) {
    tracing::info!("SIGHUP: reloading the configuration");
    let resolved = match load(role, config).and_then(|c| c.resolve(role)) {
        Ok(r) => r,
        Err(e) => {
            for p in &e.problems {
                tracing::error!(key = %p.key, "configuration: {}", p.message);
            }
            tracing::error!("reload refused, the running configuration stays: {e}");
            return;
        }
    };
    match node.reload(resolved) {
        Ok(report) => {
            for a in &report.applied {
                tracing::info!("reload: {a}");
            }
            if report.applied.is_empty() {
                tracing::info!("reload: nothing to apply");
            }
            for s in &report.restart_needed {
                tracing::warn!(section = %s, "reload: this change takes effect at the next restart");
            }
        }
        Err(e) => tracing::error!("reload failed, the running configuration stays: {e:#}"),
    }
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn bench_media(
    mode: &str,
    streams: usize,
    addr: SocketAddr,
    sink: Option<SocketAddr>,
    range: &str,
    seconds: f64,
    mux_ids: &str,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let sink = || sink.context("--sink ADDR");
    match mode {
        "relay" => {
            let (a, b) = range.split_once('-').context("--range first-last")?;
            crate::media_bench::relay(streams, addr.port(), (a.parse()?, b.parse()?), sink()?)
        }
        "floor" => crate::media_bench::floor(addr, sink()?),
        "load" => {
            let ids: Vec<u32> = mux_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .context("--mux-ids")?;
            crate::media_bench::load(addr, &ids, seconds)
        }
        other => anyhow::bail!("unknown mode `{other}` (relay, floor, load)"),
    }
}
