//! The hub's HTTP side on one port: `/metrics` (text or OpenMetrics, by
//! `Accept`) and the JSON API under `/api/` (documented in
//! `docs/api.md`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sonde::events::Severity;
use sonde::trace::TraceId;
use sonde_otlp::receive::TraceFilter;
use sonde_prometheus::MetricsService;

use super::hub::Hub;

/// `/metrics` and `/api/*`.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route_service("/metrics", MetricsService::new(hub.registry().clone()))
        .route("/api/series", get(series))
        .route("/api/snapshot", get(snapshot))
        .route("/api/traces", get(traces))
        .route("/api/traces/{trace_id}", get(trace))
        .route("/api/events", get(events))
        .with_state(hub)
}

async fn series(State(hub): State<Hub>) -> Json<Value> {
    let snapshot = hub.registry().snapshot();
    let families: Vec<Value> = snapshot
        .families
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "kind": f.kind.as_str(),
                "help": f.help,
                "unit": f.unit,
                "labels": f.label_names.iter().map(|l| l.as_ref()).collect::<Vec<_>>(),
                "series": f.len(),
            })
        })
        .collect();
    Json(json!({ "families": families }))
}

async fn snapshot(State(hub): State<Hub>) -> Response {
    let body = sonde::encode::json(&hub.registry().snapshot());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Deserialize)]
struct TraceQuery {
    service: Option<String>,
    name: Option<String>,
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    min_duration_ms: f64,
    order: Option<String>,
    #[serde(default)]
    limit: usize,
}

async fn traces(State(hub): State<Hub>, Query(q): Query<TraceQuery>) -> Response {
    let slowest_first = match q.order.as_deref() {
        None | Some("latest") => false,
        Some("slowest") => true,
        Some(other) => return bad_request(&format!("order {other:?}: use latest or slowest")),
    };
    let filter = TraceFilter {
        service: q.service,
        name: q.name,
        errors_only: q.errors,
        min_duration_nanos: (q.min_duration_ms.max(0.0) * 1e6) as u64,
        slowest_first,
        limit: q.limit.min(1000),
    };
    Json(json!({ "traces": hub.traces().list(&filter) })).into_response()
}

async fn trace(State(hub): State<Hub>, Path(id): Path<String>) -> Response {
    let Some(trace_id) = TraceId::from_hex(&id) else {
        return bad_request("a trace id is 32 lowercase hex digits");
    };
    let spans = hub.traces().trace(trace_id.to_bytes());
    if spans.is_empty() {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": "no such trace (or it was evicted)" }))).into_response();
    }
    let events: Vec<Value> = hub.events().for_trace(trace_id).iter().map(|e| e.to_json()).collect();
    let spans: Vec<&sonde_otlp::receive::StoredSpan> = spans.iter().map(|s| s.as_ref()).collect();
    Json(json!({ "traceId": id, "spans": spans, "events": events })).into_response()
}

#[derive(Deserialize)]
struct EventQuery {
    #[serde(default)]
    limit: usize,
    severity: Option<String>,
    q: Option<String>,
}

fn severity(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_uppercase().as_str() {
        "TRACE" => Severity::Trace,
        "DEBUG" => Severity::Debug,
        "INFO" => Severity::Info,
        "WARN" => Severity::Warn,
        "ERROR" => Severity::Error,
        "FATAL" => Severity::Fatal,
        _ => return None,
    })
}

async fn events(State(hub): State<Hub>, Query(q): Query<EventQuery>) -> Response {
    let min = match q.severity.as_deref().map(severity) {
        None => Severity::Trace,
        Some(Some(s)) => s,
        Some(None) => return bad_request("severity: TRACE, DEBUG, INFO, WARN, ERROR or FATAL"),
    };
    let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
    let mut out: Vec<Value> = hub
        .events()
        .recent(super::hub::MAX_EVENTS)
        .iter()
        .rev()
        .filter(|e| e.severity >= min)
        .filter(|e| q.q.as_ref().is_none_or(|text| e.name.contains(text.as_str())))
        .take(limit)
        .map(|e| e.to_json())
        .collect();
    out.reverse();
    Json(json!({ "events": out })).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}
