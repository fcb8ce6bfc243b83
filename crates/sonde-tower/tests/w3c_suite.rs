//! The official W3C Trace Context test suite (`tests/peers/w3c-trace-context`,
//! Level 2, strict) against a test service built from Sonde's layers: an axum
//! app whose `HttpMetricsLayer` continues the incoming context in a server
//! span, and whose outgoing calls go through `PropagateLayer` to a real HTTP
//! client.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use sonde::trace::{Tracer, TracerProvider};
use sonde::Registry;
use sonde_testkit::{peers, ChildGuard};
use sonde_tower::{HttpMetricsLayer, PropagateLayer};
use tower::{Layer, Service, ServiceExt};

/// The harness's instructions: for each element, POST its `arguments` to its
/// `url`, from inside the request's span.
async fn test_endpoint(State(tracer): State<Tracer>, body: String) -> http::StatusCode {
    let Ok(serde_json::Value::Array(actions)) = serde_json::from_str::<serde_json::Value>(&body) else {
        return http::StatusCode::BAD_REQUEST;
    };
    let send = tower::service_fn(|req: http::Request<String>| async move {
        let (parts, body) = req.into_parts();
        tokio::task::spawn_blocking(move || {
            let mut call = ureq::post(parts.uri.to_string());
            for (name, value) in &parts.headers {
                call = call.header(name.as_str(), value.to_str().unwrap_or_default());
            }
            let resp = call.send(body.as_str()).map_err(|e| e.to_string())?;
            let mut out = http::Response::new(());
            *out.status_mut() = resp.status();
            Ok::<_, String>(out)
        })
        .await
        .map_err(|e| e.to_string())?
    });
    let mut client = PropagateLayer::traced(tracer).layer(send);
    for action in actions {
        let url = action["url"].as_str().unwrap_or_default();
        let arguments = action.get("arguments").cloned().unwrap_or(serde_json::Value::Array(Vec::new()));
        let req = http::Request::post(url)
            .header("content-type", "application/json")
            .body(arguments.to_string())
            .expect("a valid request");
        let sent = match client.ready().await {
            Ok(c) => c.call(req).await,
            Err(e) => Err(e),
        };
        if sent.is_err() {
            return http::StatusCode::BAD_GATEWAY;
        }
    }
    http::StatusCode::OK
}

fn start_service(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let registry = Registry::new();
    let provider = TracerProvider::builder().service_name("w3c-test-service").build();
    let app = axum::Router::new()
        .route("/test", post(test_endpoint))
        .with_state(provider.tracer("w3c-client"))
        .layer(HttpMetricsLayer::new(&registry, Some(provider.tracer("w3c"))).unwrap());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    addr
}

#[test]
fn the_w3c_trace_context_suite_passes_at_level_2() {
    let Some(python) = peers::python_with("aiohttp") else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let service = start_service(&rt);
    let suite = peers::workspace_root().join("tests/peers/w3c-trace-context");
    // The harness needs a port it binds itself: pick a free one, and try
    // again with another if something took it in between.
    let dir = peers::temp_dir("w3c");
    let log = dir.path().join("suite.log");
    let mut output = String::new();
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = ChildGuard::spawn(
            Command::new(&python)
                .arg("test.py")
                .arg(format!("http://{service}/test"))
                .current_dir(&suite)
                .env("SPEC_LEVEL", "2")
                .env("STRICT_LEVEL", "2")
                .env("HARNESS_PORT", port.to_string())
                .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
                .stderr(Stdio::from(std::fs::OpenOptions::new().append(true).open(&log).unwrap())),
        );
        let status = child.wait_timeout(Duration::from_secs(300)).expect("the suite finishes within 5 minutes");
        output = std::fs::read_to_string(&log).unwrap_or_default();
        if output.contains("Address already in use") {
            continue;
        }
        assert!(status.success(), "the W3C suite failed:\n{output}");
        break;
    }
    let ran: usize = output
        .lines()
        .find_map(|l| l.strip_prefix("Ran ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    assert!(ran >= 40, "{ran} tests ran:\n{output}");
    assert!(output.contains("test_propagates_random_flag") && !output.contains("skipped"), "{output}");
}
