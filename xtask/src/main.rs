//! Project tasks that need more than cargo: `demo` (exp-e and exp-c on this machine),
//! `bench` (measured figures), `test` (every check CI runs).
//!
//! Run as `cargo xtask <task>`. The tasks drive the real binaries as an operator would, so
//! they double as a smoke test of the command line and the admin API.

mod bench;
mod bench_media;
mod bench_sip;
mod bench_turn;
mod demo;
mod e2e;
mod e2e_chain;
mod e2e_concurrent;
mod e2e_h323;
mod proc;
mod turn_load;

use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

fn usage() -> &'static str {
    "usage: cargo xtask <task>

tasks:
  demo [--seconds N]   build and run exp-e and exp-c on loopback with a credential made for the
                       run; show the zone going active and its status; stop on Ctrl-C or after N s
  bench [--rounds N]   measure zone start-up and exp-e restart → zone active again
  bench media [--streams N] [--seconds S] [--rounds N]
                       media relay packets/s and CPU per packet on exp-e's demux path, next to
                       a minimal batched UDP forwarder; ends with `media cpu-per-packet ratio`
  bench sip [--rates R1,R2,..] [--seconds S] [--hop-rates R1,R2,..] [--hop-seconds S] [--keep]
                       sipp calls through exp-e and exp-c; ends with `sip calls-per-second`
  bench turn [--sessions N] [--packets N] [--rounds N] [--allocations N] [--keep]
                       (root) CPU per relayed packet of exp-e's TURN server next to coturn's
                       under turnutils_uclient, and exp-e's RSS with N (50000) allocations;
                       ends with `turn cpu-per-packet ratio`
  e2e [--self-check] [--topology single|chain|all]
                       (root) exp-e and exp-c in network namespaces behind nftables firewalls:
                       one DMZ, then a chain (LAN — fw — DMZ1 — fw — DMZ2 — outside);
                       --self-check opens the inner firewalls and must fail
  test                 everything CI checks: cargo fmt --check, clippy -D warnings, all tests"
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("e2e") => e2e::run(&args[1..]),
        Some("bench") => match args.get(1).map(String::as_str) {
            Some("media") => bench_media::run(&args[2..]),
            Some("sip") => bench_sip::run(&args[2..]),
            Some("turn") => bench_turn::run(&args[2..]),
            _ => bench::run(&args[1..]),
        },
        Some("test") => test(),
        Some("-h" | "--help" | "help") | None => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => {
            eprintln!("unknown task `{other}`\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run `cargo` with `args` in the workspace root; fail when it fails.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("+ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .current_dir(proc::workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace", "--doc"])?;
    // The deployment end to end, behind real firewalls: needs root for network namespaces.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        e2e::run(&[])?;
    } else {
        eprintln!("xtask test: e2e skipped (needs root: sudo cargo xtask e2e)");
    }
    eprintln!("xtask test: all checks passed");
    Ok(())
}
