//! A request handler instrumented with labeled metrics and spans: a counter
//! by method and status, a latency histogram with exemplars, a server span
//! per request with a child span for the database call.
//!
//! `cargo run -p sonde --example service` prints the exposition and the spans.

use std::time::{Duration, Instant};

use sonde::trace::{InMemoryExporter, SimpleProcessor, Status, TracerProvider};
use sonde::{encode, Buckets, Registry};

fn main() -> Result<(), sonde::Error> {
    let registry = Registry::new();
    let requests =
        registry.counter("http_requests_total").help("Requests served.").labels(["method", "code"]).register()?;
    let latency = registry
        .histogram("http_request_duration_seconds")
        .help("Request latency.")
        .buckets(Buckets::default_seconds())
        .exemplars()
        .register()?;
    let spans = InMemoryExporter::default();
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(spans.clone())).build();
    let tracer = provider.tracer("service");

    for (i, method) in ["GET", "GET", "POST", "GET"].into_iter().enumerate() {
        let started = Instant::now();
        let code = tracer.in_span("handle", |span| {
            span.set_attribute("http.request.method", method);
            tracer.in_span("db.query", |db| {
                db.set_attribute("db.statement", "SELECT 1");
                std::thread::sleep(Duration::from_millis(2));
            });
            let code = if i == 2 { "500" } else { "200" };
            if code == "500" {
                span.set_status(Status::Error { message: "insert failed".into() });
            }
            // Observed inside the span: the bucket keeps its trace as exemplar.
            latency.observe(started.elapsed().as_secs_f64());
            code
        });
        requests.with(&[method, code]).inc();
    }

    print!("{}", encode::openmetrics(&registry.snapshot()));
    for s in spans.spans() {
        println!("span {:8} trace {} parent {} {:?}", s.name, s.context.trace_id, s.parent_span_id, s.status);
    }
    Ok(())
}
