//! The JSON API the page uses (documented in `docs/api.md`), generic over
//! the [`DataSource`]. Every answer is bounded: lists by a count and, in
//! bytes, by [`Limits::max_answer_bytes`] (a cut list says
//! `"truncated": true`); live streams by their number and their ids; bad
//! parameters are answered `400` with `{"error": ...}`.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::QueryRejection;
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
use sonde::Snapshot;

use crate::samples::family_samples;
use crate::{Dashboard, Limits, TraceFilter};

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// The query, or a `400` naming what was wrong with it.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Box<Response>> {
    q.map(|Query(q)| q).map_err(|e| Box::new(bad_request(&e.body_text())))
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
}

/// Collects JSON items up to a byte budget.
struct Bounded {
    items: Vec<Value>,
    bytes: usize,
    max: usize,
    truncated: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Self { items: Vec::new(), bytes: 0, max, truncated: false }
    }

    /// Adds `item` if it fits; false (and truncated) when it does not.
    fn push(&mut self, item: Value) -> bool {
        let size = serde_json::to_string(&item).map_or(0, |s| s.len()) + 1;
        if self.bytes + size > self.max {
            self.truncated = true;
            return false;
        }
        self.bytes += size;
        self.items.push(item);
        true
    }
}

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

#[derive(Deserialize)]
pub(crate) struct SnapshotQuery {
    /// Only this family.
    family: Option<String>,
    /// Only families whose name starts with this.
    prefix: Option<String>,
    /// Skip this many (matching) families.
    #[serde(default)]
    offset: usize,
    /// At most this many families (default 100, at most 1,000).
    #[serde(default)]
    limit: usize,
}

/// A page of the registry in Sonde's JSON form: families in name order,
/// `next` the offset of the next page (null at the end); a family that
/// alone exceeds the byte cap is named in `too_large` instead.
pub(crate) async fn snapshot(State(d): State<Dashboard>, q: Result<Query<SnapshotQuery>, QueryRejection>) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
    let mut names: Vec<String> = d.0.source.family_names();
    names.sort();
    names.retain(|n| {
        q.family.as_ref().is_none_or(|f| n == f) && q.prefix.as_ref().is_none_or(|p| n.starts_with(p.as_str()))
    });
    let page: Vec<&str> = names.iter().skip(q.offset).take(limit).map(String::as_str).collect();
    let max = d.0.limits.max_answer_bytes;
    let (mut metrics, mut bytes, mut too_large) = (Map::new(), 0usize, Vec::new());
    let mut taken = 0;
    for name in &page {
        let family = d.0.source.families(&[name]);
        let one = Snapshot { timestamp: SystemTime::now(), families: family };
        let doc: Value = serde_json::from_str(&sonde::encode::json(&one)).unwrap_or_default();
        let Some(Value::Object(entries)) = doc.get("metrics").cloned() else { continue };
        let size = serde_json::to_string(&entries).map_or(0, |s| s.len());
        if size > max {
            too_large.push(*name);
            taken += 1;
            continue;
        }
        if bytes + size > max {
            break;
        }
        bytes += size;
        metrics.extend(entries);
        taken += 1;
    }
    let next = (q.offset + taken < names.len()).then_some(q.offset + taken);
    let ts = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    Json(json!({ "timestamp": ts, "metrics": metrics, "next": next, "too_large": too_large })).into_response()
}

#[derive(Deserialize)]
pub(crate) struct SampleQuery {
    family: Option<String>,
    q: Option<String>,
}

/// Current samples (one per plottable number), with their family and the
/// trace of the series' latest exemplar.
pub(crate) async fn list_samples(
    State(d): State<Dashboard>,
    q: Result<Query<SampleQuery>, QueryRejection>,
) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let families = match &q.family {
        Some(name) => d.0.source.families(&[name.as_str()]),
        None => d.0.source.snapshot().families,
    };
    let mut out = Bounded::new(d.0.limits.max_answer_bytes);
    'families: for f in &families {
        let mut family = Vec::new();
        family_samples(f, &mut family);
        let exemplars: Vec<Option<String>> = f.series().map(|s| s.exemplar().map(|e| e.trace_id.clone())).collect();
        let per_series = family.len() / f.len().max(1);
        for (i, s) in family.into_iter().enumerate() {
            if q.q.as_ref().is_some_and(|text| !s.id.contains(text.as_str())) {
                continue;
            }
            let exemplar = exemplars.get(i / per_series.max(1)).cloned().flatten();
            let item = json!({ "id": s.id, "family": s.family, "kind": f.kind.as_str(), "value": number(s.value), "exemplar_trace": exemplar });
            if out.items.len() >= MAX_SAMPLES || !out.push(item) {
                out.truncated = true;
                break 'families;
            }
        }
    }
    Json(json!({ "samples": out.items, "truncated": out.truncated })).into_response()
}

/// Most samples one listing returns.
pub(crate) const MAX_SAMPLES: usize = 5000;

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    id: String,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
}

/// Most points one history answer holds (Prometheus' limit for a range query).
pub(crate) const MAX_POINTS: i64 = 11_000;

/// A sample's history: `start`, `end` (Unix ms; default the last fifteen
/// minutes) and `step` (ms; default what gives about 600 points, at least
/// one second).
pub(crate) async fn history(State(d): State<Dashboard>, q: Result<Query<HistoryQuery>, QueryRejection>) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let end = q.end.unwrap_or_else(|| now_ms() as i64);
    let start = q.start.unwrap_or(end - 15 * 60 * 1000);
    if start > end {
        return bad_request("start is after end");
    }
    let step = q.step.unwrap_or(((end - start) / 600).max(1000));
    if step <= 0 {
        return bad_request("step must be positive");
    }
    if (end - start) / step > MAX_POINTS {
        return bad_request(&format!("more than {MAX_POINTS} points: raise step or narrow the range"));
    }
    let points = if d.0.source.keeps_history() {
        d.0.source.history(&q.id, crate::HistoryRange { start_ms: start, end_ms: end, step_ms: step })
    } else {
        let all = d.0.history.points(&q.id);
        let mut out = crate::Points::default();
        for (t, v) in all.t.into_iter().zip(all.v) {
            if (start..=end).contains(&(t as i64)) {
                out.t.push(t);
                out.v.push(v);
            }
        }
        out
    };
    Json(serde_json::to_value(points).unwrap_or_default()).into_response()
}

#[derive(Deserialize)]
pub(crate) struct HistoryIdsQuery {
    /// The family.
    family: String,
}

/// The ids of a family's series that have history, received now or not
/// (at most 1,000): what a chart can still draw after a restart.
pub(crate) async fn history_ids(
    State(d): State<Dashboard>,
    q: Result<Query<HistoryIdsQuery>, QueryRejection>,
) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    Json(json!({ "ids": d.0.source.history_ids(&q.family, 1000) })).into_response()
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

/// The family a sample id belongs to, among `names`: the id's sample name
/// (before `{`) as it is, or without the suffix its kind adds.
fn family_of<'a>(id: &str, names: &'a HashSet<String>) -> Option<&'a String> {
    let sample = id.split('{').next().unwrap_or(id);
    std::iter::once(sample)
        .chain(["_total", "_count", "_sum", "_bucket"].iter().filter_map(|s| sample.strip_suffix(s)))
        .find_map(|candidate| names.get(candidate))
}

/// Counts one open stream until dropped.
struct OpenStream(Arc<AtomicUsize>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Every 500 ms, the current values of the requested samples as one SSE
/// message `{"t": ms, "v": {id: value}}`. The ids are resolved to their
/// families from the family names (no snapshot), ids whose family does not
/// exist yet again every two seconds; each tick collects only the families
/// found, so a stream costs what it asks for. At most
/// [`Limits::max_streams`] streams and [`Limits::max_stream_ids`] ids each;
/// more streams are answered `503`. The browser's `EventSource` reconnects
/// by itself after a restart.
pub(crate) async fn stream(
    State(d): State<Dashboard>,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Response> {
    let q = query(q).map_err(|r| *r)?;
    let mut ids: Vec<String> =
        serde_json::from_str(&q.ids).map_err(|_| bad_request("ids: a JSON array of sample ids"))?;
    let Limits { max_streams, max_stream_ids, .. } = d.0.limits;
    if ids.len() > max_stream_ids {
        return Err(bad_request(&format!("ids: at most {max_stream_ids} per stream")));
    }
    if d.0.streams.fetch_add(1, Relaxed) >= max_streams {
        d.0.streams.fetch_sub(1, Relaxed);
        let mut busy =
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "too many live streams" }))).into_response();
        busy.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        return Err(busy);
    }
    let open = OpenStream(d.0.streams.clone());
    ids.sort();
    ids.dedup();
    let mut unresolved: Vec<String> = ids;
    let mut families: Vec<String> = Vec::new();
    let mut wanted: HashSet<String> = HashSet::new();
    let mut tick = 0u64;
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(Duration::from_millis(500)));
    let events = futures_util::StreamExt::map(ticks, move |_| {
        let _open = &open;
        if !unresolved.is_empty() && tick.is_multiple_of(4) {
            let names: HashSet<String> = d.0.source.family_names().into_iter().collect();
            let mut by_family: HashMap<String, Vec<String>> = HashMap::new();
            unresolved.retain(|id| match family_of(id, &names) {
                Some(f) => {
                    by_family.entry(f.clone()).or_default().push(id.clone());
                    false
                }
                None => true,
            });
            for (f, ids) in by_family {
                if !families.contains(&f) {
                    families.push(f);
                }
                wanted.extend(ids);
            }
        }
        tick += 1;
        let names: Vec<&str> = families.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        for f in d.0.source.families(&names) {
            family_samples(&f, &mut found);
        }
        let values: Map<String, Value> =
            found.into_iter().filter(|s| wanted.contains(&s.id)).map(|s| (s.id, number(s.value))).collect();
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

pub(crate) async fn traces(State(d): State<Dashboard>, q: Result<Query<TraceQuery>, QueryRejection>) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
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
    let mut out = Bounded::new(d.0.limits.max_answer_bytes);
    for t in d.0.source.traces(&filter) {
        if !out.push(serde_json::to_value(t).unwrap_or_default()) {
            break;
        }
    }
    Json(json!({ "traces": out.items, "truncated": out.truncated })).into_response()
}

/// Most spans one trace answer holds.
const MAX_TRACE_SPANS: usize = 10_000;

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
    let max = d.0.limits.max_answer_bytes;
    let mut kept = Bounded::new(max / 2);
    for s in spans.iter().take(MAX_TRACE_SPANS) {
        if !kept.push(serde_json::to_value(s).unwrap_or_default()) {
            break;
        }
    }
    let mut events = Bounded::new(max / 4);
    for e in d.0.source.trace_events(trace_id).iter() {
        if !events.push(e.to_json()) {
            break;
        }
    }
    let snapshot = d.0.source.snapshot();
    let mut exemplars = Bounded::new(max / 4);
    'families: for f in &snapshot.families {
        for s in f.series() {
            if let Some(e) = s.exemplar().filter(|e| e.trace_id == id) {
                let labels: Map<String, Value> = s.labels().map(|(k, v)| (k.to_owned(), v.into())).collect();
                let item = json!({ "family": f.name, "labels": labels, "value": number(e.value), "spanId": e.span_id });
                if !exemplars.push(item) {
                    break 'families;
                }
            }
        }
    }
    let truncated = kept.truncated || spans.len() > MAX_TRACE_SPANS || events.truncated || exemplars.truncated;
    Json(json!({
        "traceId": id,
        "spans": kept.items,
        "events": events.items,
        "exemplars": exemplars.items,
        "truncated": truncated,
    }))
    .into_response()
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

pub(crate) async fn events(State(d): State<Dashboard>, q: Result<Query<EventQuery>, QueryRejection>) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let min = match q.severity.as_deref().map(severity) {
        None => Severity::Trace,
        Some(Some(s)) => s,
        Some(None) => return bad_request("severity: TRACE, DEBUG, INFO, WARN, ERROR or FATAL"),
    };
    let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
    let search = crate::EventSearch { limit, min_severity: Some(min), text: q.q.filter(|t| !t.trim().is_empty()) };
    let mut out = Bounded::new(d.0.limits.max_answer_bytes);
    for e in d.0.source.search_events(&search).iter().rev() {
        if !out.push(e.to_json()) {
            break;
        }
    }
    out.items.reverse();
    Json(json!({ "events": out.items, "truncated": out.truncated })).into_response()
}
