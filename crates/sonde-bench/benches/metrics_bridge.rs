//! `metrics` macros recorded by Sonde's bridge against
//! metrics-exporter-prometheus's recorder, same run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn bridge(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics_facade");
    let sonde = sonde_metrics_bridge::SondeRecorder::new(sonde::Registry::new());
    let prom = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&sonde, || {
        g.bench_function("sonde/counter_macro_2_labels", |b| {
            b.iter(|| metrics::counter!("requests_total", "method" => black_box("GET"), "code" => "200").increment(1))
        });
        let h = metrics::counter!("held_total");
        g.bench_function("sonde/counter_handle", |b| b.iter(|| black_box(&h).increment(1)));
        let hist = metrics::histogram!("latency_seconds");
        g.bench_function("sonde/histogram_handle", |b| b.iter(|| black_box(&hist).record(0.042)));
    });
    metrics::with_local_recorder(&prom, || {
        g.bench_function("metrics-exporter-prometheus/counter_macro_2_labels", |b| {
            b.iter(|| metrics::counter!("requests_total", "method" => black_box("GET"), "code" => "200").increment(1))
        });
        let h = metrics::counter!("held_total");
        g.bench_function("metrics-exporter-prometheus/counter_handle", |b| b.iter(|| black_box(&h).increment(1)));
        let hist = metrics::histogram!("latency_seconds");
        g.bench_function("metrics-exporter-prometheus/histogram_handle", |b| b.iter(|| black_box(&hist).record(0.042)));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bridge
}
criterion_main!(benches);
