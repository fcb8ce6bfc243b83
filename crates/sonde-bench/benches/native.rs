//! Native (exponential) histograms: recording against Sonde's classic
//! histogram, prometheus-client's native histogram and opentelemetry_sdk's
//! base-2 exponential histogram; two threads on one series; in the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use prometheus_client::metrics::histogram::{Histogram as PcHistogram, NativeHistogramConfig};
use sonde::{Buckets, NativeBuckets};
use sonde_bench::{shared, AddFn};

/// 1,024 latencies from 0.5 ms to about 2 s, in a scrambled order, so the
/// bucket found changes from call to call as in a real service.
fn latencies() -> Arc<[f64]> {
    (0..1024u32).map(|i| 0.0005 * 1.0083f64.powi(((i * 617) % 1024) as i32)).collect()
}

fn sonde_native() -> sonde::Histogram {
    sonde::Histogram::new(Buckets::native(NativeBuckets::new()))
}

fn sonde_classic() -> sonde::Histogram {
    sonde::Histogram::new(Buckets::default_seconds())
}

fn prometheus_client_native() -> PcHistogram {
    PcHistogram::new_native(NativeHistogramConfig::with_schema(8).max_buckets(160))
}

fn otel_exponential() -> opentelemetry::metrics::Histogram<f64> {
    let reader = opentelemetry_sdk::metrics::ManualReader::builder().build();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(reader)
        .with_view(|_: &opentelemetry_sdk::metrics::Instrument| {
            opentelemetry_sdk::metrics::Stream::builder()
                .with_aggregation(opentelemetry_sdk::metrics::Aggregation::Base2ExponentialHistogram {
                    max_size: 160,
                    max_scale: 20,
                    record_min_max: true,
                })
                .build()
                .ok()
        })
        .build();
    let h = provider.meter("bench").f64_histogram("h").build();
    std::mem::forget(provider);
    h
}

fn observe(c: &mut Criterion) {
    let values = latencies();
    // Every peer has seen every value once: bucket ranges exist.
    let (native, classic, pc, otel) = (sonde_native(), sonde_classic(), prometheus_client_native(), otel_exponential());
    for &v in values.iter() {
        native.observe(v);
        classic.observe(v);
        pc.observe(v);
        otel.record(v, &[]);
    }
    let mut g = c.benchmark_group("native_observe");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) & 1023;
        values[i]
    };
    g.bench_function("sonde classic", |b| b.iter(|| black_box(&classic).observe(black_box(next()))));
    g.bench_function("sonde native", |b| b.iter(|| black_box(&native).observe(black_box(next()))));
    g.bench_function("prometheus-client native", |b| b.iter(|| black_box(&pc).observe(black_box(next()))));
    g.bench_function("opentelemetry_sdk exponential", |b| b.iter(|| black_box(&otel).record(black_box(next()), &[])));
    g.finish();
}

fn contended(c: &mut Criterion) {
    let values = latencies();
    let (native, classic, pc) = (sonde_native(), sonde_classic(), prometheus_client_native());
    for &v in values.iter() {
        native.observe(v);
        classic.observe(v);
        pc.observe(v);
    }
    let cycling = |values: Arc<[f64]>, f: Box<dyn Fn(f64) + Send + Sync>| -> AddFn {
        Arc::new(move || {
            // Each thread walks the values on its own (a shared position
            // would be a contended counter of its own).
            thread_local!(static I: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
            let i = I.with(|c| {
                let i = (c.get() + 1) & 1023;
                c.set(i);
                i
            });
            f(black_box(values[i]))
        })
    };
    let peers: Vec<(&str, AddFn)> = vec![
        ("sonde classic", cycling(values.clone(), Box::new(move |v| classic.observe(v)))),
        ("sonde native", cycling(values.clone(), Box::new(move |v| native.observe(v)))),
        ("prometheus-client native", cycling(values.clone(), Box::new(move |v| pc.observe(v)))),
    ];
    shared(c, "native_observe_shared", peers);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = observe, contended
}
criterion_main!(benches);
