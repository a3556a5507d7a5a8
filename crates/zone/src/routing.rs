//! Routing rules: which zone or local target a call's destination goes to.
//!
//! Rules are tried by ascending priority, file order breaking ties; the first whose pattern
//! matches the whole destination (URI or alias) wins. Matching is a regular expression so that
//! operators can express prefixes, domains and number ranges with one familiar syntax.

use regex::Regex;

use crate::config::TargetTransport;

/// Where a matched call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// A traversal zone, by name.
    Zone(String),
    /// A static H.323 target: H.225.0 call signalling to `host:port` over TCP.
    H323 {
        /// `host:port`.
        address: String,
    },
    /// A static SIP target.
    Sip {
        /// `host:port`.
        address: String,
        /// Transport to use.
        transport: TargetTransport,
    },
}

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct Route {
    /// Name for logs (the pattern when none was given).
    pub name: String,
    /// Priority (lower first).
    pub priority: u32,
    /// Compiled, anchored pattern.
    pub pattern: Regex,
    /// Destination of matching calls.
    pub target: RouteTarget,
}

/// Rules are equal when they would route alike (patterns compare by their source text).
impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.name == other.name
            && self.priority == other.priority
            && self.pattern.as_str() == other.pattern.as_str()
            && self.target == other.target
    }
}

/// The ordered rule set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Build a router; `routes` are sorted by priority, keeping their order within a priority.
    pub fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| r.priority);
        Router { routes }
    }

    /// Compile a user pattern so that it must match the whole destination.
    pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
        Regex::new(&format!("^(?:{pattern})$"))
    }

    /// The first rule matching `destination`.
    pub fn route(&self, destination: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.pattern.is_match(destination))
    }

    /// The first rule matching `destination` whose target `usable` accepts (a SIP call skips
    /// H.323 targets and the other way round).
    pub fn route_where(
        &self,
        destination: &str,
        usable: impl Fn(&RouteTarget) -> bool,
    ) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| usable(&r.target) && r.pattern.is_match(destination))
    }

    /// Rules in the order they are tried.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, priority: u32, pat: &str, zone: &str) -> Route {
        Route {
            name: name.into(),
            priority,
            pattern: Router::compile(pat).unwrap(),
            target: RouteTarget::Zone(zone.into()),
        }
    }

    #[test]
    fn first_match_by_priority_then_order() {
        let r = Router::new(vec![
            rule("a", 50, r"sip:.*@lan\.example", "lan"),
            rule("b", 10, r"sip:9.*@lan\.example", "pstn"),
            rule("c", 50, r"sip:.*", "catch"),
        ]);
        assert_eq!(r.route("sip:9123@lan.example").unwrap().name, "b");
        assert_eq!(r.route("sip:alice@lan.example").unwrap().name, "a");
        assert_eq!(r.route("sip:bob@elsewhere").unwrap().name, "c");
    }

    #[test]
    fn perl_classes_and_case_insensitivity_work() {
        let r = Router::new(vec![rule("num", 1, r"(?i)sip:\d{4}@LAN\.example", "z")]);
        assert!(r.route("sip:1234@lan.example").is_some());
        assert!(r.route("sip:12a4@lan.example").is_none());
    }

    #[test]
    fn pattern_is_anchored() {
        let r = Router::new(vec![rule("a", 1, "alice", "z")]);
        assert!(r.route("alice").is_some());
        assert!(r.route("malice").is_none());
        assert!(r.route("alice2").is_none());
    }
}
