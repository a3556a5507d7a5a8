//! Prometheus metrics of the TURN server, read from its published status at each scrape.
//!
//! The TURN thread keeps its counters in the sans-IO core without locks or atomics on the relay
//! path; it publishes a snapshot every 250 ms (turn_io.rs). A collector that encodes that
//! snapshot on scrape costs the relay nothing, where counters updated per packet would.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::turn_io::{TurnService, TurnStatus};

/// Encodes `exp_turn_*` from the running TURN server (nothing while TURN is off).
pub struct TurnCollector(pub Arc<Mutex<Option<Arc<TurnService>>>>);

impl std::fmt::Debug for TurnCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnCollector")
    }
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let g = ConstGauge::new(v as i64);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

/// A counter family with one label.
fn counters(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, u64)],
) -> std::fmt::Result {
    let probe = ConstCounter::new(0u64);
    let mut family = e.encode_descriptor(name, help, None, probe.metric_type())?;
    for (value, n) in values {
        let labels = [(label, *value)];
        ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for TurnCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let Some(turn) = self.0.lock().ok().and_then(|t| t.clone()) else {
            return Ok(());
        };
        let s: TurnStatus = turn.status();
        gauge(
            &mut e,
            "turn_active_allocations",
            "TURN allocations now",
            s.active_relays as u64,
        )?;
        gauge(
            &mut e,
            "turn_active_clients",
            "Distinct TURN client IP addresses holding an allocation",
            s.active_clients as u64,
        )?;
        gauge(
            &mut e,
            "turn_capacity",
            "Most TURN allocations at once",
            s.capacity as u64,
        )?;
        counter(
            &mut e,
            "turn_allocations",
            "TURN allocations made",
            s.allocations_total,
        )?;
        counter(
            &mut e,
            "turn_allocations_refused",
            "TURN Allocate requests refused for capacity or quota",
            s.allocations_refused,
        )?;
        counter(
            &mut e,
            "turn_auth_failures",
            "TURN requests with failed authentication",
            s.auth_failures,
        )?;
        counter(
            &mut e,
            "turn_rate_limited",
            "TURN requests dropped because their source failed authentication too often",
            s.rate_limited,
        )?;
        counter(
            &mut e,
            "turn_peer_refused",
            "TURN permissions or channels refused by the peer policy",
            s.peer_refused,
        )?;
        counters(
            &mut e,
            "turn_relayed_packets",
            "Datagrams relayed by TURN allocations",
            "direction",
            &[
                ("to_peer", s.packets_to_peers),
                ("to_client", s.packets_to_clients),
            ],
        )?;
        counters(
            &mut e,
            "turn_relayed_bytes",
            "Payload bytes relayed by TURN allocations",
            "direction",
            &[
                ("to_peer", s.bytes_to_peers),
                ("to_client", s.bytes_to_clients),
            ],
        )?;
        counters(
            &mut e,
            "turn_client_connections",
            "TURN client connections that carried a request, by transport",
            "transport",
            &[("tcp", s.tcp_connections), ("tls", s.tls_connections)],
        )?;
        let mut dropped: Vec<(&str, u64)> = s.dropped.iter().map(|(k, v)| (*k, *v)).collect();
        dropped.sort();
        counters(
            &mut e,
            "turn_dropped",
            "TURN datagrams dropped, by reason",
            "reason",
            &dropped,
        )
    }
}
