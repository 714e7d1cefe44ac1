//! The tap's own status endpoints on its HTTP port: `/health` (liveness,
//! with what it depends on), `/ready` (whether it takes new requests, and
//! why not) and `/metrics` (Prometheus text).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::Tap;

/// `GET /health`: liveness, 200 while the process serves (a restart would not
/// mend a store or upstream that is down), with what it depends on: status
/// `degraded` and the parts that fail when the store, the journal or the
/// upstream does.
pub(super) async fn health(State(tap): State<Arc<Tap>>) -> impl IntoResponse {
    let uploads = tap.uploader.stats();
    let journal_failing = tap.committer.journal().is_some_and(|j| j.failing());
    let upstream = tap.upstream.as_ref().map(|u| if u.reachable() { "reachable" } else { "unreachable" });
    let degraded = uploads.store_failing || journal_failing || upstream == Some("unreachable");
    axum::Json(serde_json::json!({
        "status": if degraded { "degraded" } else { "ok" },
        "store": if uploads.store_failing { "failing" } else { "up" },
        "journal": match tap.committer.journal() {
            None => "off",
            Some(_) if journal_failing => "failing",
            Some(_) => "ok",
        },
        "upstream": upstream.unwrap_or("none"),
        "activeSessions": tap.registry.active_count(),
    }))
}

/// `GET /ready`: 200 while the tap takes new requests, else 503 with the
/// reasons (`/health` stays the liveness answer).
pub(super) async fn ready(State(tap): State<Arc<Tap>>) -> impl IntoResponse {
    let reasons = tap.readiness();
    let uploads = tap.uploader.stats();
    let body = serde_json::json!({
        "status": if reasons.is_empty() { "ready" } else { "not ready" },
        "reasons": reasons,
        "store": if uploads.store_failing { "failing" } else { "up" },
        "durability": if tap.committer.journal().is_some() { "durable" } else { "memory" },
        "backlogBytes": tap.committer.journal().map_or(0, |j| j.backlog_bytes()),
        "spoolObjects": uploads.spool_objects,
    });
    let status = if reasons.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body))
}

/// `GET /metrics`: the tap's counters and gauges in the Prometheus text format.
pub(super) async fn metrics(State(tap): State<Arc<Tap>>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], tap.counters.render(tap.gauges()))
}
