//! Prometheus' HTTP query API on the hub's port (`/api/v1/query`,
//! `query_range`, `series`, `labels`, `label/<name>/values`, `metadata`,
//! `query_exemplars`, `status/buildinfo`, `rules`, `alerts`): GET or POST
//! form bodies in, Prometheus' JSON shapes and error types out, so
//! Grafana's Prometheus data source and `promtool query` work unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value as Json_};
use sonde::{MetricKind, Registry};
use sonde_promql::{
    format_value, parse, parse_duration, selectors, unix_millis, Engine, Error, Expr, Labels, Matcher, Source, Value,
};

use crate::query::StoreSource;
use crate::rules::SharedGroups;

/// Largest form body read (queries are short; Grafana's longest fit).
const MAX_FORM_BYTES: usize = 1 << 20;

/// What the API answers from.
#[derive(Clone)]
pub(crate) struct QueryApi {
    pub(crate) source: StoreSource,
    pub(crate) engine: Engine,
    pub(crate) registry: Registry,
    /// The rule groups, when `[rules]` names files.
    pub(crate) groups: Option<SharedGroups>,
}

/// The API's routes, every one answering GET and POST.
pub(crate) fn router(api: QueryApi) -> Router {
    Router::new()
        .route("/api/v1/query", get(instant).post(instant))
        .route("/api/v1/query_range", get(range).post(range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/query_exemplars", get(exemplars).post(exemplars))
        .route("/api/v1/status/buildinfo", get(buildinfo))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .with_state(api)
}

/// A failed answer: Prometheus' `errorType` and HTTP status.
struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.kind() {
            "bad_data" => StatusCode::BAD_REQUEST,
            "execution" => StatusCode::UNPROCESSABLE_ENTITY,
            "timeout" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = json!({ "status": "error", "errorType": self.0.kind(), "error": self.0.to_string() });
        (status, Json(body)).into_response()
    }
}

fn success(data: Json_) -> Response {
    Json(json!({ "status": "success", "data": data })).into_response()
}

fn bad(message: String) -> ApiError {
    ApiError(Error::BadData(message))
}

/// The request's parameters: the query string, then a form body.
struct Params(Vec<(String, String)>);

impl Params {
    async fn read(request: Request) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if request.method() == Method::POST && is_form {
            let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
                .await
                .map_err(|e| bad(format!("reading the form body: {e}")))?;
            pairs.extend(form_urlencoded::parse(&body).into_owned());
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    fn time(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|s| {
                parse_time(s)
                    .ok_or_else(|| bad(format!("invalid parameter {name:?}: cannot parse {s:?} to a valid timestamp")))
            })
            .transpose()
    }

    fn duration(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        self.get(name)
            .map(|s| {
                parse_step(s)
                    .ok_or_else(|| bad(format!("invalid parameter {name:?}: cannot parse {s:?} to a valid duration")))
            })
            .transpose()
    }

    /// The series selectors of `match[]`.
    fn matches(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .into_iter()
            .map(|m| match parse(m) {
                Ok(Expr::VectorSelector(vs)) => Ok(selectors(&Expr::VectorSelector(vs)).remove(0)),
                Ok(_) => Err(bad(format!("invalid parameter \"match[]\": {m:?} is not a series selector"))),
                Err(e) => Err(bad(format!("invalid parameter \"match[]\": {e}"))),
            })
            .collect()
    }
}

/// Prometheus' timestamps: Unix seconds (to the millisecond) or RFC 3339.
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return f.is_finite().then(|| (f * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

/// A step or timeout: seconds as a float, or a Prometheus duration.
fn parse_step(s: &str) -> Option<Duration> {
    if let Ok(f) = s.parse::<f64>() {
        return (f.is_finite() && (0.0..1e10).contains(&f)).then(|| Duration::from_secs_f64(f));
    }
    parse_duration(s).ok()
}

fn now_ms() -> i64 {
    unix_millis(SystemTime::now())
}

fn seconds(t_ms: i64) -> Json_ {
    json!(t_ms as f64 / 1000.0)
}

fn metric(labels: &Labels) -> Json_ {
    Json_::Object(labels.iter().map(|(k, v)| (k.to_owned(), Json_::String(v.to_owned()))).collect::<Map<_, _>>())
}

fn result(value: Value, t_ms: i64) -> Json_ {
    let data = match &value {
        Value::Scalar(v) => json!([seconds(t_ms), format_value(*v)]),
        Value::String(s) => json!([seconds(t_ms), s]),
        Value::Vector(v) => Json_::Array(
            v.iter()
                .map(|s| json!({ "metric": metric(&s.labels), "value": [seconds(t_ms), format_value(s.v)] }))
                .collect(),
        ),
        Value::Matrix(m) => Json_::Array(
            m.iter()
                .map(|s| {
                    let values: Vec<Json_> =
                        s.samples.iter().map(|(t, v)| json!([seconds(*t), format_value(*v)])).collect();
                    json!({ "metric": metric(&s.labels), "values": values })
                })
                .collect(),
        ),
    };
    json!({ "resultType": value.kind(), "result": data })
}

/// The engine with the request's `timeout`, when shorter than its own.
fn engine_for(api: &QueryApi, params: &Params) -> Result<Engine, ApiError> {
    let mut options = api.engine.options().clone();
    if let Some(t) = params.duration("timeout")? {
        options.timeout = options.timeout.min(t);
    }
    Ok(Engine::new(options))
}

/// Runs `work` off the async threads (evaluation is CPU-bound).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError(Error::Source(e.to_string())))?.map_err(ApiError)
}

async fn instant(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let query = params.get("query").unwrap_or_default().to_owned();
    let t = params.time("time")?.unwrap_or_else(now_ms);
    let engine = engine_for(&api, &params)?;
    let value = blocking(move || engine.instant(&api.source, &query, t)).await?;
    Ok(success(result(value, t)))
}

async fn range(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let query = params.get("query").unwrap_or_default().to_owned();
    let missing = |n: &str| bad(format!("invalid parameter {n:?}: cannot parse \"\" to a valid timestamp"));
    let start = params.time("start")?.ok_or_else(|| missing("start"))?;
    let end = params.time("end")?.ok_or_else(|| missing("end"))?;
    let step = params
        .duration("step")?
        .ok_or_else(|| bad("invalid parameter \"step\": cannot parse \"\" to a valid duration".into()))?;
    let step_ms = step.as_millis().min(i64::MAX as u128) as i64;
    let engine = engine_for(&api, &params)?;
    let value = blocking(move || engine.range(&api.source, &query, start, end, step_ms)).await?;
    Ok(success(result(value, end)))
}

/// The labels of the series `match[]` selects (all series without one) in
/// the request's time range (all time without one).
async fn selected(api: &QueryApi, params: &Params, need_match: bool) -> Result<Vec<Labels>, ApiError> {
    let matches = params.matches()?;
    if need_match && matches.is_empty() {
        return Err(bad("no match[] parameter provided".into()));
    }
    let (start, end) = (params.time("start")?, params.time("end")?);
    let source = api.source.clone();
    blocking(move || {
        let mut found = BTreeSet::new();
        let everything = vec![Vec::new()];
        for m in if matches.is_empty() { &everything } else { &matches } {
            let labels = match (start, end) {
                (None, None) => source.labels_of(m),
                (s, e) => source.series(m, s.unwrap_or(i64::MIN), e.unwrap_or(i64::MAX))?,
            };
            found.extend(labels);
        }
        Ok(found.into_iter().collect())
    })
    .await
}

async fn series(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let found = selected(&api, &params, true).await?;
    Ok(success(Json_::Array(found.iter().map(metric).collect())))
}

async fn labels(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let found = selected(&api, &params, false).await?;
    let names: BTreeSet<&str> = found.iter().flat_map(|l| l.iter().map(|(k, _)| k)).collect();
    Ok(success(json!(names)))
}

async fn label_values(
    State(api): State<QueryApi>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let found = selected(&api, &params, false).await?;
    let values: BTreeSet<&str> = found.iter().filter_map(|l| l.get(&name)).collect();
    Ok(success(json!(values)))
}

fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "counter",
        MetricKind::UpDownCounter | MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
        MetricKind::Summary => "summary",
    }
}

async fn metadata(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let only = params.get("metric");
    let limit = params.get("limit").and_then(|l| l.parse::<i64>().ok()).filter(|l| *l > 0);
    let mut out = BTreeMap::new();
    for f in api.registry.snapshot().families {
        if only.is_some_and(|m| m != f.name) {
            continue;
        }
        let entry = json!([{ "type": kind_name(f.kind), "help": f.help, "unit": f.unit.clone().unwrap_or_default() }]);
        out.insert(f.name.clone(), entry);
    }
    let out: Map<String, Json_> = out.into_iter().take(limit.map_or(usize::MAX, |l| l as usize)).collect();
    Ok(success(Json_::Object(out)))
}

/// The exemplars the hub holds (the latest of each series) on series the
/// query selects, within `start..=end`.
async fn exemplars(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let query = params.get("query").unwrap_or_default();
    let wanted = selectors(&parse(query)?);
    let (start, end) = (params.time("start")?.unwrap_or(i64::MIN), params.time("end")?.unwrap_or(i64::MAX));
    let mut out = Vec::new();
    for f in api.registry.snapshot().families {
        for s in f.series() {
            let Some(e) = s.exemplar() else { continue };
            let t = unix_millis(e.timestamp);
            if t < start || t > end {
                continue;
            }
            let mut labels = Labels::new(s.labels());
            let name = match f.kind {
                MetricKind::Counter => format!("{}_total", f.name),
                MetricKind::Histogram => {
                    let le = f.bounds.iter().find(|b| e.value <= **b).map_or("+Inf".to_owned(), |b| format_value(*b));
                    labels.set("le", le);
                    format!("{}_bucket", f.name)
                }
                _ => f.name.clone(),
            };
            labels.set(sonde_promql::METRIC_NAME, name);
            if !wanted.iter().any(|m| m.iter().all(|m| m.matches_labels(&labels))) {
                continue;
            }
            out.push(json!({
                "seriesLabels": metric(&labels),
                "exemplars": [{
                    "labels": { "trace_id": e.trace_id, "span_id": e.span_id },
                    "value": format_value(e.value),
                    "timestamp": seconds(t),
                }],
            }));
        }
    }
    Ok(success(Json_::Array(out)))
}

/// The Prometheus version whose query semantics the hub follows, for
/// clients that pick features by it (Grafana).
async fn buildinfo() -> Response {
    success(json!({
        "version": "2.42.0",
        "revision": concat!("sonde-", env!("CARGO_PKG_VERSION")),
        "branch": "sonde",
        "buildUser": "sonde",
        "buildDate": "",
        "goVersion": "none (Sonde is written in Rust)",
    }))
}

fn rfc3339(t_ms: Option<i64>) -> String {
    // Prometheus writes Go's zero time for "never".
    t_ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn alert_json(a: &sonde_rules::Alert) -> Json_ {
    json!({
        "labels": metric(&a.labels),
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339(Some(a.active_at)),
        "value": sonde_rules::alert_value(a.value),
    })
}

fn string_map(m: &BTreeMap<String, String>) -> Json_ {
    json!(m)
}

/// `/api/v1/rules` (`type=alert|record` filters), in Prometheus' shape.
async fn rules(State(api): State<QueryApi>, request: Request) -> Result<Response, ApiError> {
    let params = Params::read(request).await?;
    let only = params.get("type");
    if only.is_some_and(|t| t != "alert" && t != "record") {
        return Err(bad(format!("invalid parameter \"type\": unknown rule type {:?}", only.unwrap_or_default())));
    }
    let mut out = Vec::new();
    if let Some(groups) = &api.groups {
        for g in groups.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let rules: Vec<Json_> = g
                .rules
                .iter()
                .filter(|r| match only {
                    Some("alert") => r.is_alerting(),
                    Some("record") => !r.is_alerting(),
                    _ => true,
                })
                .map(|r| {
                    let (health, error) = match &r.health {
                        sonde_rules::Health::Unknown => ("unknown", None),
                        sonde_rules::Health::Ok => ("ok", None),
                        sonde_rules::Health::Err(e) => ("err", Some(e.clone())),
                    };
                    let mut rule = json!({
                        "name": r.name(),
                        "query": r.rule.spec.expr,
                        "labels": string_map(&r.rule.spec.labels),
                        "health": health,
                        "evaluationTime": r.evaluation_time.as_secs_f64(),
                        "lastEvaluation": rfc3339(r.last_evaluation),
                        "type": if r.is_alerting() { "alerting" } else { "recording" },
                    });
                    if let Some(e) = error {
                        rule["lastError"] = json!(e);
                    }
                    if r.is_alerting() {
                        rule["state"] = json!(r.state().as_str());
                        rule["duration"] = json!(r.rule.hold.as_secs_f64());
                        rule["keepFiringFor"] = json!(r.rule.keep_firing_for.as_secs_f64());
                        rule["annotations"] = string_map(&r.rule.spec.annotations);
                        rule["alerts"] = Json_::Array(
                            r.active
                                .values()
                                .filter(|a| a.state != sonde_rules::AlertState::Inactive)
                                .map(alert_json)
                                .collect(),
                        );
                    }
                    rule
                })
                .collect();
            out.push(json!({
                "name": g.name,
                "file": g.file,
                "rules": rules,
                "interval": g.interval.as_secs_f64(),
                "limit": g.limit,
                "evaluationTime": g.evaluation_time.as_secs_f64(),
                "lastEvaluation": rfc3339(g.last_evaluation),
            }));
        }
    }
    Ok(success(json!({ "groups": out })))
}

/// `/api/v1/alerts`: every pending and firing alert.
async fn alerts(State(api): State<QueryApi>) -> Response {
    let mut out = Vec::new();
    if let Some(groups) = &api.groups {
        for g in groups.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            for r in &g.rules {
                out.extend(r.active.values().filter(|a| a.state != sonde_rules::AlertState::Inactive).map(alert_json));
            }
        }
    }
    success(json!({ "alerts": out }))
}
