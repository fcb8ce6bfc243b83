//! The JSON API the page uses (documented in `docs/api.md`), generic over
//! the [`DataSource`].

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sonde::events::Severity;
use sonde::trace::TraceId;
use sonde_otlp::receive::TraceFilter;

use crate::samples::family_samples;
use crate::Dashboard;

/// Most samples one listing or stream returns.
pub(crate) const MAX_SAMPLES: usize = 5000;

pub(crate) async fn series(State(d): State<Dashboard>) -> Json<Value> {
    let snapshot = d.0.source.snapshot();
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

pub(crate) async fn snapshot(State(d): State<Dashboard>) -> Response {
    let body = sonde::encode::json(&d.0.source.snapshot());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct SampleQuery {
    family: Option<String>,
    q: Option<String>,
}

/// Current samples (one per plottable number), with their family and the
/// trace of the series' latest exemplar.
pub(crate) async fn list_samples(State(d): State<Dashboard>, Query(q): Query<SampleQuery>) -> Json<Value> {
    let snapshot = d.0.source.snapshot();
    let mut out = Vec::new();
    for f in &snapshot.families {
        if q.family.as_ref().is_some_and(|name| &f.name != name) {
            continue;
        }
        let mut family = Vec::new();
        family_samples(f, &mut family);
        let exemplars: Vec<Option<String>> = f.series().map(|s| s.exemplar().map(|e| e.trace_id.clone())).collect();
        let per_series = family.len() / f.len().max(1);
        for (i, s) in family.into_iter().enumerate() {
            if q.q.as_ref().is_some_and(|text| !s.id.contains(text.as_str())) {
                continue;
            }
            let exemplar = exemplars.get(i / per_series.max(1)).cloned().flatten();
            out.push(json!({ "id": s.id, "family": s.family, "kind": f.kind.as_str(), "value": number(s.value), "exemplar_trace": exemplar }));
            if out.len() >= MAX_SAMPLES {
                return Json(json!({ "samples": out, "truncated": true }));
            }
        }
    }
    Json(json!({ "samples": out, "truncated": false }))
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    id: String,
}

pub(crate) async fn history(State(d): State<Dashboard>, Query(q): Query<HistoryQuery>) -> Json<Value> {
    Json(serde_json::to_value(d.0.history.points(&q.id)).unwrap_or_default())
}

pub(crate) async fn views(State(d): State<Dashboard>) -> Json<Value> {
    Json(json!({ "views": d.0.views.list() }))
}

#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    /// A JSON array of sample ids.
    ids: String,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Every 500 ms, the current values of the requested samples (at most
/// [`MAX_SAMPLES`]) as one SSE message `{"t": ms, "v": {id: value}}`. The
/// browser's `EventSource` reconnects by itself after a restart.
pub(crate) async fn stream(
    State(d): State<Dashboard>,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Response> {
    let mut ids: Vec<String> =
        serde_json::from_str(&q.ids).map_err(|_| bad_request("ids: a JSON array of sample ids"))?;
    ids.truncate(MAX_SAMPLES);
    let wanted: std::collections::HashSet<String> = ids.into_iter().collect();
    // Only the families holding the wanted samples are expanded each tick;
    // while some id has not been seen yet, every family is looked at.
    let mut families = std::collections::HashSet::new();
    let mut all_found = false;
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(Duration::from_millis(500)));
    let events = futures_util::StreamExt::map(ticks, move |_| {
        let snapshot = d.0.source.snapshot();
        let mut found = Vec::new();
        for f in snapshot.families.iter().filter(|f| !all_found || families.contains(&f.name)) {
            family_samples(f, &mut found);
        }
        found.retain(|s| wanted.contains(&s.id));
        if !all_found {
            families.extend(found.iter().map(|s| s.family.clone()));
            all_found = found.len() == wanted.len();
        }
        let values: Map<String, Value> = found.into_iter().map(|s| (s.id, number(s.value))).collect();
        Ok(SseEvent::default().data(json!({ "t": now_ms(), "v": values }).to_string()))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
pub(crate) struct TraceQuery {
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

pub(crate) async fn traces(State(d): State<Dashboard>, Query(q): Query<TraceQuery>) -> Response {
    let slowest_first = match q.order.as_deref() {
        None | Some("") | Some("latest") => false,
        Some("slowest") => true,
        Some(other) => return bad_request(&format!("order {other:?}: use latest or slowest")),
    };
    let filter = TraceFilter {
        service: q.service.filter(|s| !s.is_empty()),
        name: q.name.filter(|s| !s.is_empty()),
        errors_only: q.errors,
        min_duration_nanos: (q.min_duration_ms.max(0.0) * 1e6) as u64,
        slowest_first,
        limit: q.limit.min(1000),
    };
    Json(json!({ "traces": d.0.source.traces(&filter) })).into_response()
}

/// One trace: its spans, its events, and the metric series whose latest
/// exemplar points at it.
pub(crate) async fn trace(State(d): State<Dashboard>, Path(id): Path<String>) -> Response {
    let Some(trace_id) = TraceId::from_hex(&id) else {
        return bad_request("a trace id is 32 lowercase hex digits");
    };
    let spans = d.0.source.trace(trace_id);
    if spans.is_empty() {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": "no such trace (or it was evicted)" }))).into_response();
    }
    let events: Vec<Value> = d.0.source.trace_events(trace_id).iter().map(|e| e.to_json()).collect();
    let snapshot = d.0.source.snapshot();
    let mut exemplars = Vec::new();
    for f in &snapshot.families {
        for s in f.series() {
            if let Some(e) = s.exemplar().filter(|e| e.trace_id == id) {
                let labels: Map<String, Value> = s.labels().map(|(k, v)| (k.to_owned(), v.into())).collect();
                exemplars
                    .push(json!({ "family": f.name, "labels": labels, "value": number(e.value), "spanId": e.span_id }));
            }
        }
    }
    let spans: Vec<&sonde_otlp::receive::StoredSpan> = spans.iter().map(|s| s.as_ref()).collect();
    Json(json!({ "traceId": id, "spans": spans, "events": events, "exemplars": exemplars })).into_response()
}

#[derive(Deserialize)]
pub(crate) struct EventQuery {
    #[serde(default)]
    limit: usize,
    severity: Option<String>,
    q: Option<String>,
}

fn severity(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_uppercase().as_str() {
        "" | "TRACE" => Severity::Trace,
        "DEBUG" => Severity::Debug,
        "INFO" => Severity::Info,
        "WARN" => Severity::Warn,
        "ERROR" => Severity::Error,
        "FATAL" => Severity::Fatal,
        _ => return None,
    })
}

pub(crate) async fn events(State(d): State<Dashboard>, Query(q): Query<EventQuery>) -> Response {
    let min = match q.severity.as_deref().map(severity) {
        None => Severity::Trace,
        Some(Some(s)) => s,
        Some(None) => return bad_request("severity: TRACE, DEBUG, INFO, WARN, ERROR or FATAL"),
    };
    let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
    let mut out: Vec<Value> =
        d.0.source
            .events(10_000)
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
