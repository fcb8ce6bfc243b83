//! The hot path allocates nothing once a series (or a span's pooled storage)
//! exists: a counting global allocator checks every recording call.
//!
//! The count is per thread, so other tests running in parallel do not
//! disturb it.

use sonde::trace::{Sampler, SimpleProcessor, SpanData, SpanExporter, TracerProvider};
use sonde::{Buckets, NativeBuckets, Registry};
use sonde_testkit::alloc::allocations;

#[global_allocator]
static GLOBAL: sonde_testkit::alloc::Counting = sonde_testkit::alloc::Counting;

#[test]
fn the_counter_sees_allocations() {
    // Guards against a test that cannot fail: the allocator does count.
    assert!(allocations(|i| drop(std::hint::black_box(vec![i]))) >= 10_000);
}

#[test]
fn recording_metrics_allocates_nothing() {
    let r = Registry::new();
    let counter = r.counter("c_total").register().unwrap();
    let gauge = r.gauge("g").register().unwrap();
    let histogram = r.histogram("h_seconds").buckets(Buckets::default_seconds()).register().unwrap();
    let family = r.counter("f_total").labels(["method", "code"]).register().unwrap();
    family.with(&["GET", "200"]).inc(); // the series exists from here on
    let bound = family.bind(&["GET", "200"]);
    let timer = r.timer("t_seconds").register().unwrap();

    assert_eq!(allocations(|_| counter.inc()), 0, "counter inc");
    assert_eq!(allocations(|i| counter.add(i as f64)), 0, "counter add");
    assert_eq!(allocations(|i| gauge.set(i as f64)), 0, "gauge set");
    assert_eq!(allocations(|i| histogram.observe(i as f64 / 1e4)), 0, "histogram observe");
    assert_eq!(allocations(|_| family.with(&["GET", "200"]).inc()), 0, "labeled lookup");
    assert_eq!(allocations(|_| bound.inc()), 0, "bound child");
    assert_eq!(allocations(|i| timer.record(std::time::Duration::from_micros(i))), 0, "timer record");
    // Native buckets allocate while the range of values in use grows, then never.
    let native = r.histogram("n_seconds").buckets(Buckets::native(NativeBuckets::new())).register().unwrap();
    let both = r
        .histogram("b_seconds")
        .labels(["route"])
        .buckets(Buckets::default_seconds().with_native(NativeBuckets::new()))
        .register()
        .unwrap();
    let latency = |i: u64| (1 + i % 5000) as f64 * 1e-4 * if i.is_multiple_of(3) { -1.0 } else { 1.0 };
    allocations(|i| native.observe(latency(i)));
    allocations(|i| both.with(&["/a"]).observe(latency(i)));
    assert_eq!(allocations(|i| native.observe(latency(i))), 0, "native observe");
    assert_eq!(allocations(|i| native.observe(latency(i) * 0.0)), 0, "native zero bucket");
    assert_eq!(allocations(|i| both.with(&["/a"]).observe(latency(i))), 0, "classic and native observe");
    assert_eq!(allocations(|_| native.observe(f64::NAN)), 0, "dropped native observation");
    // Bad values are dropped and counted, still without allocating.
    assert_eq!(allocations(|_| histogram.observe(f64::NAN)), 0, "dropped observation");
}

struct Discard;

impl SpanExporter for Discard {
    fn export(&self, batch: &[Box<SpanData>]) -> sonde::Result<()> {
        std::hint::black_box(batch);
        Ok(())
    }
}

#[test]
fn sampled_and_unsampled_spans_allocate_nothing_in_steady_state() {
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(Discard)).build();
    let tracer = provider.tracer("no_alloc");
    let span = |_| {
        let mut s = tracer.start("op");
        s.set_attribute("a", 1);
        s.set_attribute("b", "x");
    };
    allocations(span); // warm up: fills the span pool and the context stack
    assert_eq!(allocations(span), 0, "sampled span, simple processor");

    let nested = |_| {
        tracer.in_span("outer", |_| {
            let mut inner = tracer.start("inner");
            inner.set_attribute("a", 1);
        })
    };
    allocations(nested);
    assert_eq!(allocations(nested), 0, "nested spans through the current-span stack");

    let off = TracerProvider::builder().sampler(Sampler::AlwaysOff).build();
    let tracer = off.tracer("no_alloc");
    let unsampled = |_| {
        let mut s = tracer.start("op");
        s.set_attribute("a", 1);
    };
    allocations(unsampled);
    assert_eq!(allocations(unsampled), 0, "unsampled span");
}
