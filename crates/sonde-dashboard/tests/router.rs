//! The dashboard's router, in process: page and assets with their safety
//! headers, auth, the JSON API, the live stream, and the history's budget.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sonde::trace::{SimpleProcessor, TracerProvider};
use sonde::Registry;
use sonde_dashboard::{ChartKind, Dashboard, History, LocalSource, Sample, BYTES_PER_SERIES};
use sonde_dashboard::{DataSource, SpanRecord, TraceFilter, TraceSummary};
use tower::ServiceExt;

async fn get(d: &Dashboard, path: &str, auth: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = d.router().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn page_assets_and_safety_headers() {
    let d = Dashboard::builder(LocalSource::new(Registry::new())).build();
    let (status, headers, body) = get(&d, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("/assets/app.js"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    for asset in ["app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"] {
        assert_eq!(get(&d, &format!("/assets/{asset}"), None).await.0, StatusCode::OK, "{asset}");
    }
    assert_eq!(get(&d, "/assets/../Cargo.toml", None).await.0, StatusCode::NOT_FOUND);
    // The page never builds markup from data.
    let (_, _, js) = get(&d, "/assets/app.js", None).await;
    assert!(!js.contains("innerHTML") && !js.contains("insertAdjacentHTML") && !js.contains("eval("));
}

#[tokio::test]
async fn auth_is_required_when_configured() {
    let auth = sonde_prometheus::Auth::Bearer("s3cret".into());
    let d = Dashboard::builder(LocalSource::new(Registry::new())).auth(auth).build();
    assert_eq!(get(&d, "/api/series", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&d, "/", Some("Bearer wrong")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&d, "/api/series", Some("Bearer s3cret")).await.0, StatusCode::OK);
}

/// The registry's metrics and one trace of one span: a source of the
/// dashboard's own read model, as the hub's is.
struct OneTrace {
    local: LocalSource,
    trace_id: String,
}

impl DataSource for OneTrace {
    fn snapshot(&self) -> sonde::Snapshot {
        self.local.snapshot()
    }
    fn traces(&self, filter: &TraceFilter) -> Vec<TraceSummary> {
        assert!(filter.slowest_first, "the order reaches the source");
        vec![TraceSummary {
            trace_id: self.trace_id.clone(),
            name: "job".into(),
            service: "t".into(),
            start_unix_nanos: 1,
            duration_nanos: 2,
            spans: 1,
            error: false,
        }]
    }
    fn trace(&self, trace_id: sonde::trace::TraceId) -> Vec<SpanRecord> {
        if trace_id.to_string() != self.trace_id {
            return Vec::new();
        }
        let span = serde_json::json!({ "traceId": self.trace_id, "spanId": "0102030405060708", "name": "job" });
        vec![SpanRecord { service: "t".into(), span }]
    }
}

#[tokio::test]
async fn api_views_samples_history_traces_and_stream() {
    let registry = Registry::new();
    let h = registry.histogram("work_seconds").exemplars().register().unwrap();
    let provider =
        TracerProvider::builder().processor(SimpleProcessor::new(sonde::trace::InMemoryExporter::default())).build();
    let tracer = provider.tracer("t");
    let trace_id = tracer.in_span("job", |s| {
        h.observe(0.2);
        s.context().trace_id.to_string()
    });
    let source = OneTrace { local: LocalSource::new(registry.clone()), trace_id: trace_id.clone() };
    let d = Dashboard::builder(source).build();
    let (_, _, list) = get(&d, "/api/traces?order=slowest", None).await;
    assert!(list.contains(&format!("\"trace_id\":\"{trace_id}\"")), "{list}");
    d.register_view("work_seconds", ChartKind::Heatmap);
    let (_, _, views) = get(&d, "/api/views", None).await;
    assert_eq!(views, r#"{"views":[{"kind":"heatmap","metric":"work_seconds","title":"work_seconds"}]}"#);
    d.register_query_view("p99", "histogram_quantile(0.99, rate(work_seconds_bucket[5m]))", ChartKind::Line);
    let (_, _, views) = get(&d, "/api/views", None).await;
    assert!(
        views.ends_with(
            r#"{"kind":"line","query":"histogram_quantile(0.99, rate(work_seconds_bucket[5m]))","title":"p99"}]}"#
        ),
        "{views}"
    );

    let (_, _, samples) = get(&d, "/api/samples?family=work_seconds", None).await;
    assert!(samples.contains("work_seconds_count") && samples.contains(&trace_id), "{samples}");

    let (_, _, trace) = get(&d, &format!("/api/traces/{trace_id}"), None).await;
    assert!(
        trace.contains("\"name\":\"job\"") && trace.contains("\"exemplars\":[{\"family\":\"work_seconds\""),
        "{trace}"
    );
    assert_eq!(get(&d, "/api/traces/nothex", None).await.0, StatusCode::BAD_REQUEST);

    // The history samples every second: wait (with a deadline) for a tick.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let history = loop {
        let (_, _, history) = get(&d, "/api/history?id=work_seconds_count", None).await;
        if history.contains("1.0") || tokio::time::Instant::now() > deadline {
            break history;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(history.contains("1.0"), "{history}");
    // A range picks points by time; bad ranges are refused.
    let (status, _, old) = get(&d, "/api/history?id=work_seconds_count&start=0&end=1000", None).await;
    assert_eq!((status, old.as_str()), (StatusCode::OK, r#"{"t":[],"v":[]}"#));
    for bad in ["start=10&end=5", "start=0&end=100000000&step=1", "start=0&end=10&step=0"] {
        let (status, _, body) = get(&d, &format!("/api/history?id=work_seconds_count&{bad}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    let ids = urlencode(r#"["work_seconds_count"]"#);
    let resp =
        d.router().oneshot(Request::get(format!("/api/stream?ids={ids}")).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(2), body.frame()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(frame.data_ref().unwrap()).into_owned();
    assert!(text.starts_with("data: ") && text.contains("\"work_seconds_count\":1.0"), "{text}");
    assert_eq!(get(&d, "/api/stream?ids=notjson", None).await.0, StatusCode::BAD_REQUEST);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The history's budget holds with 100,000 series: the default 200 MB
/// keeps them all; a smaller budget keeps what fits and counts the rest.
#[test]
fn history_budget_holds_with_100k_series() {
    let samples: Vec<Sample> =
        (0..100_000).map(|i| Sample { id: format!("m{{i=\"{i}\"}}"), family: "m".into(), value: i as f64 }).collect();
    let full = History::new(sonde_dashboard::DEFAULT_HISTORY_BYTES);
    full.record(1000, &samples);
    assert_eq!(full.usage(), (100_000, 0, 100_000 * BYTES_PER_SERIES));
    const { assert!(100_000 * BYTES_PER_SERIES < sonde_dashboard::DEFAULT_HISTORY_BYTES) };
    let small = History::new(20 << 20);
    for t in 0..3 {
        small.record(1000 * (t + 1), &samples);
    }
    let (tracked, untracked, bytes) = small.usage();
    assert_eq!(tracked, (20 << 20) / BYTES_PER_SERIES);
    assert_eq!(tracked as u64 + untracked, 100_000);
    assert!(bytes <= 20 << 20);
}

/// Served on its own port.
#[tokio::test]
async fn serves_on_its_own() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let registry = Registry::new();
    registry.gauge("alone").register().unwrap().set(3.0);
    let server = tokio::spawn(sonde_dashboard::serve(addr, LocalSource::new(registry)));
    let mut reply = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            s.write_all(b"GET /api/series HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
            s.read_to_string(&mut reply).await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reply.contains("\"name\":\"alone\""), "{reply}");
    server.abort();
}
