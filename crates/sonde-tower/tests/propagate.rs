//! The client layer injects the current span's context.

use std::sync::{Arc, Mutex};

use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};
use sonde_tower::PropagateLayer;
use tower::{Layer, Service, ServiceExt};

#[test]
fn outgoing_requests_carry_the_current_traceparent() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let client = tower::service_fn(move |req: http::Request<()>| {
        let tp = req.headers().get("traceparent").map(|v| v.to_str().unwrap().to_owned());
        record.lock().unwrap().push(tp);
        async { Ok::<_, std::convert::Infallible>(http::Response::new(())) }
    });
    let mut client = PropagateLayer::default().layer(client);
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(InMemoryExporter::new())).build();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let ctx = provider.tracer("t").in_span("outgoing", |span| {
        rt.block_on(async { client.ready().await.unwrap().call(http::Request::new(())).await.unwrap() });
        span.context().clone()
    });
    rt.block_on(async { client.ready().await.unwrap().call(http::Request::new(())).await.unwrap() });
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].as_deref(), Some(format!("00-{}-{}-03", ctx.trace_id, ctx.span_id).as_str()));
    assert_eq!(seen[1], None, "no current span, no header");
}

/// With a tracer, each request gets a client span of its own (a child of
/// the current span): distinct parent ids on the wire, the span ended with
/// the method, URL and status code, and an error from 400 up.
#[test]
fn traced_requests_get_a_client_span_each() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let send = tower::service_fn(move |req: http::Request<()>| {
        record.lock().unwrap().push(req.headers()["traceparent"].to_str().unwrap().to_owned());
        let status = if req.uri().path() == "/missing" { 404 } else { 200 };
        async move {
            let mut resp = http::Response::new(());
            *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let spans = InMemoryExporter::new();
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(spans.clone())).build();
    let mut client = PropagateLayer::traced(provider.tracer("client")).layer(send);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let parent = provider.tracer("t").in_span("handler", |span| {
        for path in ["/a", "/b", "/missing"] {
            let req = http::Request::get(format!("http://api.local:8080{path}")).body(()).unwrap();
            rt.block_on(async { client.ready().await.unwrap().call(req).await.unwrap() });
        }
        span.context().clone()
    });
    let finished = spans.spans();
    let clients: Vec<_> = finished.iter().filter(|s| s.kind == sonde::trace::SpanKind::Client).collect();
    assert_eq!(clients.len(), 3);
    let seen = seen.lock().unwrap();
    for (c, header) in clients.iter().zip(seen.iter()) {
        assert_eq!(c.context.trace_id, parent.trace_id);
        assert_eq!(c.parent_span_id, parent.span_id);
        assert_eq!(
            header,
            &format!("00-{}-{}-03", c.context.trace_id, c.context.span_id),
            "the header names the client span"
        );
        assert_eq!(c.name, "GET");
    }
    let third = clients[2];
    let attr = |k: &str| third.attributes.iter().find(|a| a.key == k).map(|a| format!("{:?}", a.value));
    assert!(attr("url.full").unwrap().contains("http://api.local:8080/missing"));
    assert!(attr("server.port").unwrap().contains("8080"));
    assert!(attr("http.response.status_code").unwrap().contains("404"));
    assert!(matches!(third.status, sonde::trace::Status::Error { .. }), "404 is an error for a client");
    assert!(matches!(clients[0].status, sonde::trace::Status::Unset));
}
