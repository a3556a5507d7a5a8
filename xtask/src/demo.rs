//! `cargo xtask demo`: exp-e and exp-c on loopback, no configuration file, a credential made
//! for the run, admin APIs on their default ports; shows the zone going active.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::proc::{
    build_binaries, credentials_env, get_json, random_password, wait_state, zone_state, Running,
};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = Some(
                    it.next()
                        .context("--seconds needs a number")?
                        .parse()
                        .context("--seconds needs a number")?,
                )
            }
            other => bail!("unknown demo option `{other}` (use --seconds N)"),
        }
    }
    let bin = build_binaries()?;
    let password = random_password()?;
    let creds = credentials_env(&bin, "exp-c", &password)?;
    let e_admin: SocketAddr = "127.0.0.1:9080".parse()?;
    let c_admin: SocketAddr = "127.0.0.1:9081".parse()?;
    for a in [e_admin, c_admin] {
        if std::net::TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok() {
            bail!("{a} is already in use: is another exp-e/exp-c (or demo) running?");
        }
    }

    println!("== exp demo: exp-e (traversal server) and exp-c (traversal client) on loopback");
    println!("   no configuration file; a credential for user `exp-c` was generated for this run");
    println!("   (exp-e keeps only its hashes: EXP_E_CREDENTIALS from `exp-e hash-password`)\n");
    let mut exp_e = Running::start(
        &bin,
        "exp-e",
        &[
            ("EXP_E_CREDENTIALS", creds),
            ("EXP_E_NETWORK__LISTEN_ADDRESS", "127.0.0.1".into()),
        ],
        false,
    )?;
    wait_state(e_admin, "traversal", "down", Duration::from_secs(10))
        .context("exp-e did not come up")?;
    let started = Instant::now();
    let mut exp_c = Running::start(
        &bin,
        "exp-c",
        &[
            (
                "EXP_C_CLIENT_ZONES",
                format!(
                    r#"[{{name="traversal",peers=["127.0.0.1"],username="exp-c",password="{password}"}}]"#
                ),
            ),
            // exp-e already holds 5060 and 36000-59999 on this machine.
            ("EXP_C_NETWORK__LISTEN_ADDRESS", "127.0.0.1".into()),
            ("EXP_C_SIP__UDP_PORT", "5070".into()),
            ("EXP_C_SIP__TCP_PORT", "5070".into()),
            ("EXP_C_MEDIA__PORT_RANGE_START", "30000".into()),
            ("EXP_C_MEDIA__PORT_RANGE_END", "34999".into()),
        ],
        false,
    )?;
    let took = wait_state(c_admin, "traversal", "active", Duration::from_secs(15))?;
    println!(
        "\n== zone `traversal` active after {} ms (exp-c start → authenticated)\n",
        started.elapsed().max(took).as_millis()
    );
    for (name, addr) in [("exp-e", e_admin), ("exp-c", c_admin)] {
        println!("-- {name} GET http://{addr}/api/v1/status");
        println!(
            "{}",
            serde_json::to_string_pretty(&get_json(addr, "/api/v1/status")?)?
        );
        println!("-- {name} GET http://{addr}/api/v1/zones");
        println!(
            "{}",
            serde_json::to_string_pretty(&get_json(addr, "/api/v1/zones")?)?
        );
    }
    match seconds {
        Some(n) => println!("\n== running for {n} s (status every 5 s)"),
        None => println!(
            "\n== running until Ctrl-C (status every 5 s); try curl http://{c_admin}/metrics"
        ),
    }
    let end = seconds.map(|n| Instant::now() + Duration::from_secs(n));
    let mut last = Instant::now();
    loop {
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        if !exp_e.alive() || !exp_c.alive() {
            bail!("a program exited unexpectedly");
        }
        if last.elapsed() >= Duration::from_secs(5) {
            last = Instant::now();
            let rtt = get_json(c_admin, "/api/v1/zones")
                .ok()
                .and_then(|v| v["zones"][0]["last_probe_rtt_ms"].as_f64());
            println!(
                "   exp-e zone: {:<12} exp-c zone: {:<12} last probe rtt: {}",
                zone_state(e_admin, "traversal").unwrap_or_default(),
                zone_state(c_admin, "traversal").unwrap_or_default(),
                rtt.map(|r| format!("{r:.2} ms"))
                    .unwrap_or_else(|| "(none yet)".into())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    exp_c.kill();
    exp_e.kill();
    println!("== demo finished");
    Ok(())
}
