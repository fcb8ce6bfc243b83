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
    let mut client = PropagateLayer.layer(client);
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
