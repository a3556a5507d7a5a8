//! The command outputs quoted in docs/deployment.md are what the programs print today.
//!
//! A block is marked `<!-- generated: <program> ports [--format F] --config <file> -->` and
//! followed by a fenced block whose first line is the command. This test renders each with
//! the same code as the `ports` command and compares. `EXP_UPDATE_DOCS=1 cargo test -p
//! exp-tests --test docs` rewrites the blocks instead.

use std::path::Path;

use exp_runtime::cli::{render_ports, PortsFormat};
use exp_zone::{load, ports::port_plan, Role};

const MARK: &str = "<!-- generated: ";

fn render(command: &str, root: &Path) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let role = match words.first() {
        Some(&"exp-e") => Role::Server,
        Some(&"exp-c") => Role::Client,
        other => panic!("unknown program {other:?} in `{command}`"),
    };
    assert_eq!(words.get(1), Some(&"ports"), "only `ports` is generated");
    let mut format = PortsFormat::Text;
    let mut config = None;
    let mut it = words[2..].iter();
    while let Some(w) = it.next() {
        match *w {
            "--format" => {
                format = match it.next() {
                    Some(&"text") => PortsFormat::Text,
                    Some(&"json") => PortsFormat::Json,
                    Some(&"nft") => PortsFormat::Nft,
                    f => panic!("format {f:?}"),
                }
            }
            "--config" => config = it.next().map(|f| root.join(f)),
            other => panic!("option {other} in `{command}`"),
        }
    }
    let resolved = load(role, config.as_deref())
        .and_then(|c| c.resolve(role))
        .unwrap_or_else(|e| panic!("`{command}`: {e}"));
    render_ports(role, &port_plan(&resolved), format).unwrap()
}

#[test]
fn deployment_doc_shows_what_ports_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("docs/deployment.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut rest = doc.as_str();
    let mut blocks = 0;
    let mut stale = Vec::new();
    while let Some(at) = rest.find(MARK) {
        let (before, from_mark) = rest.split_at(at);
        out.push_str(before);
        let end_mark = from_mark.find("-->").expect("unterminated marker");
        let command = from_mark[MARK.len()..end_mark].trim().to_string();
        let after_mark = &from_mark[end_mark + 3..];
        let open = after_mark
            .find("```\n")
            .expect("a fenced block after the marker");
        let body_start = open + 4;
        // The block ends at the first line that is only the fence.
        let close = after_mark[body_start..]
            .find("\n```\n")
            .expect("closed fenced block")
            + body_start;
        let shown = &after_mark[body_start..close + 1];
        let fresh = format!("$ {command}\n{}", render(&command, &root));
        if shown != fresh {
            stale.push(command.clone());
        }
        out.push_str(&from_mark[..end_mark + 3]);
        out.push_str(&after_mark[..body_start]);
        out.push_str(&fresh);
        rest = &after_mark[close + 1..];
        blocks += 1;
    }
    out.push_str(rest);
    assert!(
        blocks >= 3,
        "docs/deployment.md has {blocks} generated blocks"
    );
    if std::env::var_os("EXP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, out).unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "docs/deployment.md is out of date for {stale:?}: run EXP_UPDATE_DOCS=1 cargo test -p exp-tests --test docs"
    );
}

/// Every example configuration under deploy/ passes check-config for its program (files
/// named `exp-c*.toml` are exp-c's, the others exp-e's), apart from the files it names that
/// exist only on a real installation (certificates, password files under /etc/exp).
#[test]
fn every_example_configuration_is_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut dirs = vec![root.join("deploy")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                found.push(p);
            }
        }
    }
    assert!(found.len() >= 7, "{found:?}");
    for p in found {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let role = if name.starts_with("exp-c") {
            Role::Client
        } else {
            Role::Server
        };
        if let Err(e) = load(role, Some(&p)).and_then(|c| c.resolve(role)) {
            let text = e.to_string();
            let real = text
                .lines()
                .skip(1)
                .filter(|l| !l.contains("/etc/exp/"))
                .collect::<Vec<_>>();
            assert!(real.is_empty(), "{}: {text}", p.display());
        }
    }
}
