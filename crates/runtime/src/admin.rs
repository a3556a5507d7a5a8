//! The local admin HTTP API: status, zones and Prometheus metrics.
//!
//! Same shape on exp-e and exp-c. It listens on loopback by default (127.0.0.1:9080 on exp-e,
//! :9081 on exp-c) because it has no authentication of its own.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::status::{Shared, ZoneStatus, VERSION};

#[derive(Serialize)]
struct StatusBody {
    program: &'static str,
    system: String,
    version: &'static str,
    uptime_seconds: f64,
    /// `traversal-server` when this system serves zones, `traversal-client` when it is the
    /// client of one; both on a chaining exp-e.
    roles: Vec<&'static str>,
    server_zones: ZoneCount,
    client_zones: ZoneCount,
}

/// How many zones of one kind there are and how many are active.
#[derive(Serialize, Default)]
struct ZoneCount {
    total: usize,
    active: usize,
}

#[derive(Serialize)]
struct ZonesBody {
    zones: Vec<ZoneStatus>,
}

async fn status(State(s): State<Arc<Shared>>) -> Json<StatusBody> {
    let (mut server, mut client) = (ZoneCount::default(), ZoneCount::default());
    for z in s.zones() {
        let count = if z.kind == "server" {
            &mut server
        } else {
            &mut client
        };
        count.total += 1;
        count.active += usize::from(z.state == "active");
    }
    let mut roles = Vec::new();
    if server.total > 0 {
        roles.push("traversal-server");
    }
    if client.total > 0 {
        roles.push("traversal-client");
    }
    Json(StatusBody {
        program: s.role.program(),
        system: s.system_name.clone(),
        version: VERSION,
        uptime_seconds: s.started.elapsed().as_secs_f64(),
        roles,
        server_zones: server,
        client_zones: client,
    })
}

async fn zones(State(s): State<Arc<Shared>>) -> Json<ZonesBody> {
    Json(ZonesBody { zones: s.zones() })
}

#[derive(Serialize)]
struct CallsBody {
    calls: Vec<crate::calls::CallStatus>,
}

async fn calls(State(s): State<Arc<Shared>>) -> Json<CallsBody> {
    Json(CallsBody {
        calls: s.calls_fresh().await,
    })
}

fn turn_service(s: &Shared) -> Option<Arc<crate::turn_io::TurnService>> {
    s.turn.lock().ok().and_then(|t| t.clone())
}

#[derive(Serialize)]
struct TurnBody {
    enabled: bool,
    #[serde(flatten)]
    status: Option<crate::turn_io::TurnStatus>,
}

async fn turn(State(s): State<Arc<Shared>>) -> Json<TurnBody> {
    let status = turn_service(&s).map(|t| t.status());
    Json(TurnBody {
        enabled: status.is_some(),
        status,
    })
}

#[derive(Serialize)]
struct RelaysBody {
    relays: Vec<crate::turn_io::RelayStatus>,
}

async fn turn_relays(State(s): State<Arc<Shared>>) -> Json<RelaysBody> {
    let relays = match turn_service(&s) {
        // The thread answers within a poll round; do not hold up the async runtime.
        Some(t) => tokio::task::spawn_blocking(move || t.relays())
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Json(RelaysBody { relays })
}

#[derive(Serialize)]
struct H323CallsBody {
    calls: Vec<crate::h323_calls::H323CallStatus>,
}

async fn h323_calls(State(s): State<Arc<Shared>>) -> Json<H323CallsBody> {
    let calls = s.h323_calls.lock().map(|c| c.clone()).unwrap_or_default();
    Json(H323CallsBody { calls })
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics_text(),
    )
}

/// Bind the admin API; returns the bound address and the server future to spawn.
pub async fn bind(
    addr: SocketAddr,
    shared: Arc<Shared>,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("admin API cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/zones", get(zones))
        .route("/api/v1/calls", get(calls))
        .route("/api/v1/h323/calls", get(h323_calls))
        .route("/api/v1/turn", get(turn))
        .route("/api/v1/turn/relays", get(turn_relays))
        .route("/metrics", get(metrics))
        .with_state(shared);
    let fut = async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin API stopped");
        }
    };
    Ok((local, fut))
}
