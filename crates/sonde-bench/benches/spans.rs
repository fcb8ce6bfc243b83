//! Span cost: Sonde against opentelemetry_sdk and tracing, same run.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};

#[derive(Debug)]
struct NoopOtel;

impl opentelemetry_sdk::trace::SpanExporter for NoopOtel {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        black_box(batch);
        std::future::ready(Ok(()))
    }
}

struct NoopSonde;

impl sonde::trace::SpanExporter for NoopSonde {
    fn export(&self, batch: &[Box<sonde::trace::SpanData>]) -> sonde::Result<()> {
        black_box(batch);
        Ok(())
    }
}

fn spans(c: &mut Criterion) {
    let mut g = c.benchmark_group("span_2_attributes");
    use sonde::trace::{BatchProcessor, Sampler, SimpleProcessor, TracerProvider};
    use sonde::BatchOptions;
    let batch = TracerProvider::builder().processor(BatchProcessor::new(NoopSonde, BatchOptions::default())).build();
    let t = batch.tracer("bench");
    g.bench_function("sonde_batch", |b| {
        b.iter(|| {
            let mut s = t.start("op");
            s.set_attribute("a", 1);
            s.set_attribute("b", "x");
        })
    });
    let simple = TracerProvider::builder().processor(SimpleProcessor::new(NoopSonde)).build();
    let t = simple.tracer("bench");
    g.bench_function("sonde_simple", |b| {
        b.iter(|| {
            let mut s = t.start("op");
            s.set_attribute("a", 1);
            s.set_attribute("b", "x");
        })
    });
    let off = TracerProvider::builder().sampler(Sampler::AlwaysOff).build();
    let t = off.tracer("bench");
    g.bench_function("sonde_unsampled", |b| {
        b.iter(|| {
            let mut s = t.start("op");
            s.set_attribute("a", 1);
            s.set_attribute("b", "x");
        })
    });

    let otel_simple = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_simple_exporter(NoopOtel).build();
    let ot = otel_simple.tracer("bench");
    g.bench_function("opentelemetry_sdk_simple", |b| {
        b.iter(|| {
            let mut s = ot.start("op");
            s.set_attribute(opentelemetry::KeyValue::new("a", 1));
            s.set_attribute(opentelemetry::KeyValue::new("b", "x"));
            s.end();
        })
    });
    let otel_batch = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_batch_exporter(NoopOtel).build();
    let ot = otel_batch.tracer("bench");
    g.bench_function("opentelemetry_sdk_batch", |b| {
        b.iter(|| {
            let mut s = ot.start("op");
            s.set_attribute(opentelemetry::KeyValue::new("a", 1));
            s.set_attribute(opentelemetry::KeyValue::new("b", "x"));
            s.end();
        })
    });

    let subscriber = tracing_subscriber::registry();
    tracing::subscriber::with_default(subscriber, || {
        g.bench_function("tracing_registry", |b| {
            b.iter(|| {
                let span = tracing::info_span!("op", a = 1, b = "x");
                let _e = span.enter();
            })
        });
    });
    g.finish();
    let _ = otel_batch.shutdown();
    let _ = batch.shutdown(Duration::from_secs(5));
}

fn propagation(c: &mut Criterion) {
    let mut g = c.benchmark_group("traceparent_extract_inject");
    let mut incoming: HashMap<String, String> = HashMap::new();
    incoming.insert("traceparent".into(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
    incoming.insert("tracestate".into(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".into());
    g.bench_function("sonde", |b| {
        b.iter(|| {
            let got = sonde::trace::propagation::extract(black_box(&incoming));
            let mut out: HashMap<String, String> = HashMap::new();
            sonde::trace::propagation::inject(got.context.as_ref().unwrap(), &got.baggage, &mut out);
            black_box(out)
        })
    });
    let prop = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| {
            let cx = prop.extract(black_box(&incoming));
            let mut out: HashMap<String, String> = HashMap::new();
            prop.inject_context(&cx, &mut out);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = spans, propagation
}
criterion_main!(benches);
