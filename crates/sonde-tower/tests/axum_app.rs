//! An axum app with the layer, driven by a real client over TCP.

use std::net::SocketAddr;

use axum::routing::get;
use sonde::trace::{InMemoryExporter, SimpleProcessor, SpanKind, Status, TracerProvider};
use sonde::Registry;
use sonde_tower::HttpMetricsLayer;

/// A real HTTP client (ureq, keep-alive), not a hand-written one.
fn client() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn request(agent: &ureq::Agent, addr: SocketAddr, path: &str, traceparent: Option<&str>) -> u16 {
    let mut req = agent.get(format!("http://{addr}{path}"));
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    req.call().unwrap().status().as_u16()
}

fn value(r: &Registry, family: &str, labels: &[&str]) -> f64 {
    r.snapshot().family(family).and_then(|f| f.find(labels).map(|s| s.value().as_f64())).unwrap_or(0.0)
}

#[test]
fn routes_statuses_cardinality_and_server_spans() {
    let registry = Registry::new();
    let spans = InMemoryExporter::new();
    let provider = TracerProvider::builder().service_name("api").processor(SimpleProcessor::new(spans.clone())).build();
    let tracer = provider.tracer("http");
    let handler_tracer = provider.tracer("handlers");
    let app = axum::Router::new()
        .route(
            "/users/{id}",
            get(move || {
                let t = handler_tracer.clone();
                async move {
                    drop(t.start("load_user")); // a child of the server span
                    "user"
                }
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/fail", get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .layer(HttpMetricsLayer::new(&registry, Some(tracer)).unwrap());

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });

    let agent = client();
    for i in 0..10 {
        assert_eq!(request(&agent, addr, &format!("/users/{i}"), None), 200);
    }
    for _ in 0..3 {
        assert_eq!(request(&agent, addr, "/health", None), 200);
    }
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(request(&agent, addr, "/fail", Some(parent)), 500);
    assert_eq!(request(&agent, addr, "/fail", None), 500);
    for i in 0..10_000 {
        assert_eq!(request(&agent, addr, &format!("/no/such/path/{i}"), None), 404);
    }

    assert_eq!(value(&registry, "http_server_requests", &["GET", "/users/{id}", "200"]), 10.0);
    assert_eq!(value(&registry, "http_server_requests", &["GET", "/health", "200"]), 3.0);
    assert_eq!(value(&registry, "http_server_requests", &["GET", "/fail", "500"]), 2.0);
    assert_eq!(value(&registry, "http_server_requests", &["GET", "unmatched", "404"]), 10_000.0);
    let snap = registry.snapshot();
    assert_eq!(snap.family("http_server_requests").unwrap().len(), 4, "10,000 raw paths are one series");
    let lat = snap.family("http_server_request_duration_seconds").unwrap();
    assert_eq!(lat.find(&["GET", "/users/{id}", "200"]).unwrap().histogram().unwrap().count, 10);
    assert_eq!(value(&registry, "http_server_requests_in_flight", &[]), 0.0);
    assert!(snap.family("http_server_response_size_bytes").unwrap().find(&["GET", "/health"]).is_some());

    let done = spans.spans();
    let failed: Vec<_> = done.iter().filter(|s| s.name == "GET /fail").collect();
    let continued = failed
        .iter()
        .find(|s| s.context.trace_id.to_string() == "4bf92f3577b34da6a3ce929d0e0e4736")
        .expect("continued trace");
    assert_eq!(continued.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(continued.kind, SpanKind::Server);
    assert!(matches!(continued.status, Status::Error { .. }), "5xx is an error");
    assert_eq!(continued.attribute("http.response.status_code"), Some(&sonde::trace::Value::I64(500)));
    let user_span = done.iter().find(|s| s.name == "GET /users/{id}").unwrap();
    assert!(
        done.iter().any(|s| s.name == "load_user" && s.parent_span_id == user_span.context.span_id),
        "handler spans nest"
    );
}
