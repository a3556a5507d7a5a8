//! `Exp-Path`: the exp systems a call has crossed, carried on traversal zone legs only.
//!
//! A B2BUA starts a new request on every leg, so the Via headers that let a proxy detect a
//! loop (RFC 3261 §16.3 item 4) end at each system. Max-Forwards still bounds a loop, since
//! every exp system decrements it and never raises it (RFC 7332 §3), but with chained exp-e a
//! misrouted call would ping-pong between two systems until Max-Forwards (capped by the
//! zones' hop counts) runs out, creating a call and its media ports at every pass.
//!
//! So an INVITE sent into a zone carries the path it has taken so far, one entry per system:
//!
//! ```text
//! Exp-Path: partner-edge;id=3f09a1c2d4e5, company-dmz;id=77d0aa1065b3
//! ```
//!
//! The name is the system's configured name (for readable traces); the id is random per
//! running program, so two systems with the same name stay apart. A system that finds its own
//! id in an arriving INVITE's path refuses it with 482 Loop Detected at the first revisit.
//! The header is only read from zones and only sent into zones: endpoints and proxies
//! neither see nor forge it.

use std::fmt;

/// The header name.
pub const HEADER: &str = "Exp-Path";

/// Most entries a path may hold: more systems than SIP's Max-Forwards start (70) lets a
/// request cross could not have been crossed.
pub const MAX_ENTRIES: usize = 70;

/// One system on a call's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The system's name, reduced to token characters.
    pub name: String,
    /// The running program's random id.
    pub id: String,
}

/// The systems an INVITE crossed, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallPath {
    entries: Vec<Entry>,
}

/// Why an `Exp-Path` value was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// An entry is not `name;id=token`.
    #[error("malformed Exp-Path entry `{0}`")]
    Malformed(String),
    /// More entries than [`MAX_ENTRIES`].
    #[error("Exp-Path lists more than {MAX_ENTRIES} systems")]
    TooLong,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'!' | b'~'))
}

/// `name` reduced to characters that survive in a header parameter list.
pub fn clean_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "exp".into()
    } else {
        s
    }
}

impl CallPath {
    /// Parses the values of every `Exp-Path` header of a request (none: an empty path).
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Result<CallPath, PathError> {
        let mut entries = Vec::new();
        for value in values {
            for item in value.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                if entries.len() == MAX_ENTRIES {
                    return Err(PathError::TooLong);
                }
                let bad = || PathError::Malformed(item.chars().take(80).collect());
                let (name, params) = item.split_once(';').ok_or_else(bad)?;
                let id = params
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("id="))
                    .ok_or_else(bad)?;
                let (name, id) = (name.trim(), id.trim());
                if !is_token(name) || !is_token(id) {
                    return Err(bad());
                }
                entries.push(Entry {
                    name: name.into(),
                    id: id.into(),
                });
            }
        }
        Ok(CallPath { entries })
    }

    /// Whether a system with `id` is already on the path.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// The entry with `id`, if any.
    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The path with one more system at its end.
    pub fn with(&self, name: &str, id: &str) -> CallPath {
        let mut entries = self.entries.clone();
        entries.push(Entry {
            name: clean_name(name),
            id: id.into(),
        });
        CallPath { entries }
    }

    /// The systems, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The number of systems.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no system is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Display for CallPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{};id={}", e.name, e.id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lookup() {
        let p = CallPath::default()
            .with("partner edge", "aa11")
            .with("dmz", "bb22");
        assert_eq!(p.to_string(), "partner-edge;id=aa11, dmz;id=bb22");
        let q = CallPath::parse([p.to_string().as_str()].into_iter()).unwrap();
        assert_eq!(p, q);
        assert!(q.contains("bb22"));
        assert!(!q.contains("cc33"));
        assert_eq!(
            q.find("aa11").map(|e| e.name.as_str()),
            Some("partner-edge")
        );
    }

    #[test]
    fn several_headers_and_extra_parameters() {
        let p = CallPath::parse(["a;id=1", " b ; x=y ; id=2 ,c;id=3"].into_iter()).unwrap();
        let ids: Vec<&str> = p.entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in ["a", "a;x=1", ";id=1", "a b;id=1", "a;id=", "a;id=\"q\""] {
            assert!(
                matches!(
                    CallPath::parse([bad].into_iter()),
                    Err(PathError::Malformed(_))
                ),
                "{bad}"
            );
        }
        let long = (0..=MAX_ENTRIES)
            .map(|i| format!("s;id={i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            CallPath::parse([long.as_str()].into_iter()),
            Err(PathError::TooLong)
        );
        assert!(CallPath::parse(std::iter::empty()).unwrap().is_empty());
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("Head office, DMZ;1"), "Head-office--DMZ-1");
        assert_eq!(clean_name(""), "exp");
    }
}
