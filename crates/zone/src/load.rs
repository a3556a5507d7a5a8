//! Loading a configuration: embedded defaults, then the TOML file, then the environment.
//!
//! figment layers the three sources; a key set in the file overrides the default and an
//! environment variable overrides both (`EXP_E_ADMIN__LISTEN` for `admin.listen`, values in
//! TOML syntax so that arrays of tables fit in one variable). Errors name the key and the
//! source that set it.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

use crate::config::{Config, Role};
use crate::problem::{ConfigError, Problem};
use crate::resolve::Resolved;

/// The figment of `role`'s defaults, the optional file and the environment.
pub fn figment(role: Role, file: Option<&Path>) -> Figment {
    let mut fig = Figment::from(Serialized::defaults(Config::defaults(role)));
    if let Some(path) = file {
        fig = fig.merge(Toml::file_exact(path));
    }
    fig.merge(Env::prefixed(role.env_prefix()).split("__"))
}

/// Read the configuration of `role`; `file` `None` runs on embedded defaults (plus environment).
pub fn load(role: Role, file: Option<&Path>) -> Result<Config, ConfigError> {
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::single(
                "--config",
                format!("file {} does not exist", path.display()),
            ));
        }
    }
    figment(role, file)
        .extract::<Config>()
        .map_err(|e| ConfigError {
            problems: e.into_iter().map(figment_problem).collect(),
        })
}

/// Load and resolve in one step.
pub fn load_resolved(role: Role, file: Option<&Path>) -> Result<Resolved, ConfigError> {
    load(role, file)?.resolve(role)
}

fn figment_problem(e: figment::Error) -> Problem {
    let key = if e.path.is_empty() {
        "(top level)".to_string()
    } else {
        e.path.join(".")
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(s) => format!(" (from {} {s})", m.name),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    Problem::new(key, format!("{}{source}", e.kind))
}
