//! Spans, context and processors, end to end.

use std::collections::HashMap;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use sonde::trace::propagation::{extract, inject, Baggage};
use sonde::trace::*;
use sonde::BatchOptions;

fn setup(sampler: Sampler) -> (TracerProvider, InMemoryExporter) {
    let spans = InMemoryExporter::new();
    let provider = TracerProvider::builder()
        .service_name("test")
        .sampler(sampler)
        .processor(SimpleProcessor::new(spans.clone()))
        .build();
    (provider, spans)
}

fn by_name(spans: &[SpanData], name: &str) -> SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}")).clone()
}

#[test]
fn nesting_on_one_thread() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    t.in_span("outer", |_| {
        t.in_span("middle", |_| {
            drop(t.start("inner"));
        });
        drop(t.start("sibling"));
    });
    drop(t.start("after"));
    let s = spans.spans();
    let (outer, middle, inner, sibling, after) = (
        by_name(&s, "outer"),
        by_name(&s, "middle"),
        by_name(&s, "inner"),
        by_name(&s, "sibling"),
        by_name(&s, "after"),
    );
    assert!(!outer.parent_span_id.is_valid());
    assert_eq!(middle.parent_span_id, outer.context.span_id);
    assert_eq!(inner.parent_span_id, middle.context.span_id);
    assert_eq!(sibling.parent_span_id, outer.context.span_id);
    assert!(!after.parent_span_id.is_valid(), "the current span was restored");
    assert_ne!(after.context.trace_id, outer.context.trace_id);
    assert!([&middle, &inner, &sibling].iter().all(|x| x.context.trace_id == outer.context.trace_id));
    assert!(outer.end_unix_nanos >= inner.end_unix_nanos && inner.start_unix_nanos >= outer.start_unix_nanos);
}

#[test]
fn explicit_parent_across_threads_and_no_leak_between_threads() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    let parent = t.start("request");
    let ctx = parent.context().clone();
    let _entered = parent.enter();
    let t2 = t.clone();
    std::thread::spawn(move || {
        assert!(current_span_context().is_none(), "another thread does not see this thread's span");
        drop(t2.span("worker").parent(&ctx).start());
        drop(t2.start("unrelated"));
    })
    .join()
    .unwrap();
    drop(_entered);
    drop(parent);
    let s = spans.spans();
    assert_eq!(by_name(&s, "worker").parent_span_id, by_name(&s, "request").context.span_id);
    assert!(!by_name(&s, "unrelated").parent_span_id.is_valid());
}

#[test]
fn futures_carry_their_span_across_awaits_and_worker_threads() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..8 {
            let (t, threads) = (t.clone(), threads.clone());
            let root = t.span("job").root().attribute("job", i as i64).start();
            handles.push(tokio::spawn(
                async move {
                    for step in 0..5 {
                        threads.lock().unwrap().insert(std::thread::current().id());
                        let child = t.start(format!("step{step}"));
                        tokio::task::yield_now().await;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        drop(child);
                    }
                }
                .instrument(root),
            ));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    let s = spans.spans();
    let jobs: Vec<&SpanData> = s.iter().filter(|x| x.name == "job").collect();
    assert_eq!(jobs.len(), 8);
    for job in jobs {
        let children: Vec<&SpanData> = s.iter().filter(|x| x.parent_span_id == job.context.span_id).collect();
        assert_eq!(children.len(), 5, "each job's five steps are its children");
        assert!(children.iter().all(|c| c.context.trace_id == job.context.trace_id));
        assert!(job.end_unix_nanos >= children.iter().map(|c| c.end_unix_nanos).max().unwrap());
    }
    // Which worker threads ran them is tokio's choice (it promises no
    // spread); the next test moves a future between threads on purpose.
    assert!(!threads.lock().unwrap().is_empty());
}

/// Pending once, then ready: a future that must be polled twice.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

#[test]
fn an_instrumented_future_polled_on_two_threads_keeps_its_span() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    let root = t.span("job").root().start();
    let (t1, t2) = (t.clone(), t.clone());
    let fut = Box::pin(
        async move {
            drop(t1.start("before"));
            YieldOnce(false).await;
            drop(t2.start("after"));
        }
        .instrument(root),
    );
    let poll = |fut: &mut std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
        fut.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    };
    let mut fut: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = fut;
    // First poll here, second on another thread; nothing is current between.
    assert!(poll(&mut fut).is_pending());
    assert!(t.start("outside").context().is_valid());
    let second = std::thread::spawn(move || poll(&mut fut).is_ready()).join().unwrap();
    assert!(second);
    let s = spans.spans();
    let job = by_name(&s, "job");
    assert_eq!(by_name(&s, "before").parent_span_id, job.context.span_id);
    assert_eq!(by_name(&s, "after").parent_span_id, job.context.span_id, "the span followed the future");
    assert_ne!(by_name(&s, "outside").parent_span_id, job.context.span_id, "not current between polls");
}

#[test]
fn status_rules_and_errors() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    let mut failed = t.start("failed");
    failed.record_error(&std::io::Error::other("disk full"));
    drop(failed);
    let mut ok = t.start("ok");
    ok.set_status(Status::Ok);
    ok.set_status(Status::Error { message: "late".into() });
    drop(ok);
    let mut unset = t.start("unset");
    unset.set_status(Status::Error { message: "x".into() });
    unset.set_status(Status::Unset);
    drop(unset);
    let s = spans.spans();
    assert_eq!(by_name(&s, "failed").status, Status::Error { message: "disk full".into() });
    assert_eq!(by_name(&s, "failed").events[0].name, "exception");
    assert_eq!(by_name(&s, "ok").status, Status::Ok, "Ok is final");
    assert!(matches!(by_name(&s, "unset").status, Status::Error { .. }), "Unset never clears a status");
}

#[test]
fn a_span_ends_exactly_once() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let mut s = p.tracer("t").start("once");
    s.end();
    s.end();
    s.set_attribute("after.end", true);
    assert!(!s.is_recording());
    drop(s);
    let all = spans.spans();
    assert_eq!(all.len(), 1);
    assert!(all[0].attribute("after.end").is_none());
}

#[test]
fn limits_drop_and_count() {
    let spans = InMemoryExporter::new();
    let limits = Limits { attributes: 3, events: 2, links: 1, attributes_per_item: 1 };
    let p = TracerProvider::builder().limits(limits).processor(SimpleProcessor::new(spans.clone())).build();
    let t = p.tracer("t");
    let mut s = t.start("limited");
    for i in 0..5 {
        s.set_attribute(format!("k{i}"), i as i64);
    }
    s.set_attribute("k0", "replaced in place, not counted");
    for _ in 0..4 {
        s.add_event("e", [KeyValue::new("a", 1), KeyValue::new("b", 2)]);
    }
    let other = t.start("other");
    s.add_link(other.context().clone(), vec![]);
    s.add_link(other.context().clone(), vec![]);
    drop(s);
    let d = by_name(&spans.spans(), "limited");
    assert_eq!((d.attributes.len(), d.dropped_attributes), (3, 2));
    assert_eq!((d.events.len(), d.dropped_events), (2, 2));
    assert_eq!(d.events[0].dropped_attributes, 1);
    assert_eq!((d.links.len(), d.dropped_links), (1, 1));
    assert_eq!(d.attribute("k0"), Some(&Value::from("replaced in place, not counted")));
}

#[test]
fn sampling_and_flags() {
    let (p, spans) = setup(Sampler::AlwaysOff);
    let t = p.tracer("t");
    let root = t.start("dropped");
    assert!(root.context().is_valid() && !root.context().is_sampled());
    assert!(root.context().flags.contains(TraceFlags::RANDOM), "new roots set the Level-2 random flag");
    drop(root);
    assert!(spans.spans().is_empty());

    // Parent-based: a sampled remote parent makes a sampled child, keeping flags.
    let (p, spans) = setup(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let mut headers = HashMap::new();
    headers.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
    let remote = extract(&headers).context.unwrap();
    let child = p.tracer("t").span("server").kind(SpanKind::Server).parent(&remote).start();
    assert!(child.context().is_sampled());
    assert!(!child.context().flags.contains(TraceFlags::RANDOM), "the flag is kept as received for this trace");
    drop(child);
    let d = by_name(&spans.spans(), "server");
    assert_eq!(d.context.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(d.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(d.parent_remote);

    // A sampler that says no under a sampled parent: the child keeps the
    // trace and the parent's other flags, without the sampled one.
    let (p, spans) = setup(Sampler::AlwaysOff);
    let child = p.tracer("t").span("declined").parent(&remote).start();
    assert_eq!(child.context().trace_id, remote.trace_id);
    assert!(!child.context().is_sampled() && !child.context().flags.contains(TraceFlags::RANDOM));
    drop(child);
    assert!(spans.spans().is_empty());
}

#[test]
fn context_round_trips_between_processes() {
    let (p, spans) = setup(Sampler::AlwaysOn);
    let t = p.tracer("t");
    let client = t.span("call").kind(SpanKind::Client).start();
    let mut wire: HashMap<String, String> = HashMap::new();
    let ctx = client.context().clone();
    inject(&ctx, &Baggage::parse("tenant=acme"), &mut wire);
    // "the other process"
    let got = extract(&wire);
    assert_eq!(got.baggage.get("tenant"), Some("acme"));
    drop(t.span("handle").kind(SpanKind::Server).parent(&got.context.unwrap()).start());
    drop(client);
    let s = spans.spans();
    assert_eq!(by_name(&s, "handle").parent_span_id, by_name(&s, "call").context.span_id);
    assert_eq!(by_name(&s, "handle").context.trace_id, by_name(&s, "call").context.trace_id);
}

/// An exporter that blocks until released, and counts what it exported.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<(Mutex<bool>, std::sync::Condvar)>,
    got: Arc<Mutex<u64>>,
}

impl SpanExporter for Gate {
    fn export(&self, batch: &[Box<SpanData>]) -> sonde::Result<()> {
        let (lock, cv) = &*self.open;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        *self.got.lock().unwrap() += batch.len() as u64;
        Ok(())
    }
}

impl Gate {
    fn release(&self) {
        *self.open.0.lock().unwrap() = true;
        self.open.1.notify_all();
    }
}

#[test]
fn batch_processor_loses_nothing_with_room() {
    let gate = Gate::default();
    gate.release();
    let opts = BatchOptions { max_queue: 100_000, max_batch: 512, delay: Duration::from_millis(50) };
    let provider = TracerProvider::builder().processor(BatchProcessor::new(gate.clone(), opts)).build();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (t, b) = (provider.tracer("t"), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..5_000 {
                    let mut s = t.start("work");
                    s.set_attribute("n", 1);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    provider.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(*gate.got.lock().unwrap(), 40_000);
}

#[test]
fn batch_processor_counts_drops_exactly_and_flushes_on_shutdown() {
    let gate = Gate::default();
    let processor = BatchProcessor::new(
        gate.clone(),
        BatchOptions { max_queue: 100, max_batch: 1000, delay: Duration::from_secs(60) },
    );
    let registry = sonde::Registry::new();
    processor.register_metrics(&registry).unwrap();
    let provider = TracerProvider::builder().processor(processor).build();
    let t = provider.tracer("t");
    for _ in 0..250 {
        drop(t.start("queued"));
    }
    let snap = registry.snapshot();
    assert_eq!(snap.family("sonde_spans_dropped").unwrap().series().next().unwrap().value().as_f64(), 150.0);
    gate.release();
    provider.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(*gate.got.lock().unwrap(), 100, "shutdown exported everything queued");
    let snap = registry.snapshot();
    assert_eq!(snap.family("sonde_spans_exported").unwrap().series().next().unwrap().value().as_f64(), 100.0);
}

#[test]
fn shutdown_with_a_stuck_exporter_returns_within_its_deadline() {
    let gate = Gate::default(); // never released
    let provider = TracerProvider::builder()
        .processor(BatchProcessor::new(gate.clone(), BatchOptions { max_batch: 1, ..Default::default() }))
        .build();
    drop(provider.tracer("t").start("stuck"));
    let started = std::time::Instant::now();
    assert!(provider.shutdown(Duration::from_millis(200)).is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    gate.release(); // let the worker finish so the test exits cleanly
}

#[test]
fn json_lines_exporter_writes_one_object_per_span() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let p = TracerProvider::builder()
        .service_name("svc")
        .processor(SimpleProcessor::new(JsonLinesExporter::new(buf.clone())))
        .build();
    let t = p.tracer("scope");
    t.in_span("parent", |s| {
        s.set_attribute("http.method", "GET");
        drop(t.start("child"));
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["name"], "child");
    assert_eq!(lines[0]["parentSpanId"], lines[1]["spanId"]);
    assert_eq!(lines[1]["attributes"]["http.method"], "GET");
    assert_eq!(lines[1]["service"], "svc");
    assert_eq!(lines[1]["traceId"].as_str().unwrap().len(), 32);
}
