//! `cargo xtask bench`: measured figures of the zone, with the real binaries on loopback.
//!
//! - cold start: exp-c started → zone active (TCP connect, digest handshake);
//! - recovery: exp-e killed (SIGKILL) and started again → exp-c's zone active again, with the
//!   default probe and back-off settings, for an immediate restart and after 3 s of downtime.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::proc::{build_binaries, credentials_env, random_password, wait_state, Running};

struct Setup {
    bin: std::path::PathBuf,
    e_env: Vec<(&'static str, String)>,
    c_env: Vec<(&'static str, String)>,
    e_admin: SocketAddr,
    c_admin: SocketAddr,
}

fn stats(label: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = v[v.len() / 2];
    println!(
        "{label:<44} n={:<3} min {:>8.1} ms   median {:>8.1} ms   max {:>8.1} ms",
        v.len(),
        ms(v[0]),
        ms(median),
        ms(v[v.len() - 1])
    );
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut rounds = 5usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = it
                    .next()
                    .context("--rounds N")?
                    .parse()
                    .context("--rounds N")?
            }
            other => bail!("unknown bench option `{other}`"),
        }
    }
    let rounds = rounds.max(1);
    let bin = build_binaries()?;
    let password = random_password()?;
    let creds = credentials_env(&bin, "exp-c", &password)?;
    // Ports away from the defaults so a running demo does not disturb the bench.
    let s = Setup {
        bin,
        e_env: vec![
            ("EXP_E_CREDENTIALS", creds),
            ("EXP_E_NETWORK__LISTEN_ADDRESS", "127.0.0.1".into()),
            ("EXP_E_ADMIN__LISTEN", "127.0.0.1:19080".into()),
            ("EXP_E_SIP__UDP_PORT", "0".into()),
            ("EXP_E_SIP__TCP_PORT", "0".into()),
            (
                "EXP_E_SERVER_ZONES",
                r#"[{name="traversal",username="exp-c",sip_port=17001,h323_port=16001}]"#.into(),
            ),
        ],
        c_env: vec![
            ("EXP_C_ADMIN__LISTEN", "127.0.0.1:19081".into()),
            ("EXP_C_SIP__UDP_PORT", "0".into()),
            ("EXP_C_SIP__TCP_PORT", "0".into()),
            // Media ports apart from exp-e's, which restarts during the bench.
            ("EXP_C_MEDIA__PORT_RANGE_START", "30000".into()),
            ("EXP_C_MEDIA__PORT_RANGE_END", "34999".into()),
            (
                "EXP_C_CLIENT_ZONES",
                format!(
                    r#"[{{name="traversal",peers=["127.0.0.1"],sip_port=17001,username="exp-c",password="{password}"}}]"#
                ),
            ),
        ],
        e_admin: "127.0.0.1:19080".parse()?,
        c_admin: "127.0.0.1:19081".parse()?,
    };
    println!("== zone bench ({rounds} rounds each; default probe/back-off settings; debug build)");

    let mut cold = Vec::new();
    for _ in 0..rounds {
        let _e = Running::start(&s.bin, "exp-e", &s.e_env, true)?;
        wait_state(s.e_admin, "traversal", "down", Duration::from_secs(10))?;
        let t = Instant::now();
        let _c = Running::start(&s.bin, "exp-c", &s.c_env, true)?;
        wait_state(s.c_admin, "traversal", "active", Duration::from_secs(30))?;
        cold.push(t.elapsed());
    }
    stats("cold start: exp-c start -> zone active", &mut cold);

    for downtime in [Duration::ZERO, Duration::from_secs(3)] {
        let mut rec = Vec::new();
        let mut e = Running::start(&s.bin, "exp-e", &s.e_env, true)?;
        let _c = Running::start(&s.bin, "exp-c", &s.c_env, true)?;
        wait_state(s.c_admin, "traversal", "active", Duration::from_secs(30))?;
        for _ in 0..rounds {
            e.kill();
            wait_state(s.c_admin, "traversal", "down", Duration::from_secs(30))?;
            std::thread::sleep(downtime);
            let t = Instant::now();
            e = Running::start(&s.bin, "exp-e", &s.e_env, true)?;
            wait_state(s.c_admin, "traversal", "active", Duration::from_secs(60))?;
            rec.push(t.elapsed());
        }
        stats(
            &format!("exp-e restart -> active ({} s down)", downtime.as_secs()),
            &mut rec,
        );
    }
    Ok(())
}
