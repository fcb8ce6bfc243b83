//! Recording costs: Sonde against prometheus, prometheus-client, metrics and
//! opentelemetry_sdk, in the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use prometheus_client::encoding::EncodeLabelSet;
use sonde_bench::{shared, AddFn};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    method: String,
    code: String,
}

fn otel_meter() -> opentelemetry::metrics::Meter {
    let reader = opentelemetry_sdk::metrics::ManualReader::builder().build();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().with_reader(reader).build();
    let meter = provider.meter("bench");
    std::mem::forget(provider);
    meter
}

fn metrics_recorder() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::set_global_recorder(recorder).expect("one recorder");
    });
}

fn counter_add(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_add");
    let sonde = sonde::Registry::new().counter("c_total").register().unwrap();
    g.bench_function("sonde", |b| b.iter(|| black_box(&sonde).inc()));
    let prom = prometheus::IntCounter::new("c", "c").unwrap();
    g.bench_function("prometheus", |b| b.iter(|| black_box(&prom).inc()));
    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    g.bench_function("prometheus-client", |b| b.iter(|| black_box(&pc).inc()));
    metrics_recorder();
    let m = metrics::counter!("bench_counter");
    g.bench_function("metrics", |b| b.iter(|| black_box(&m).increment(1)));
    let otel = otel_meter().u64_counter("c").build();
    g.bench_function("opentelemetry_sdk", |b| b.iter(|| black_box(&otel).add(1, &[])));
    g.finish();
}

fn labeled_add(c: &mut Criterion) {
    let mut g = c.benchmark_group("labeled_add_2_labels");
    let fam = sonde::Registry::new().counter("c_total").labels(["method", "code"]).register().unwrap();
    g.bench_function("sonde", |b| b.iter(|| fam.with(black_box(&["GET", "200"])).inc()));
    let bound = fam.bind(&["GET", "200"]);
    g.bench_function("sonde_bound_child", |b| b.iter(|| black_box(&bound).inc()));
    let prom = prometheus::IntCounterVec::new(prometheus::Opts::new("c", "c"), &["method", "code"]).unwrap();
    g.bench_function("prometheus", |b| b.iter(|| prom.with_label_values(black_box(&["GET", "200"])).inc()));
    let pc =
        prometheus_client::metrics::family::Family::<Labels, prometheus_client::metrics::counter::Counter>::default();
    let labels = Labels { method: "GET".into(), code: "200".into() };
    g.bench_function("prometheus-client", |b| b.iter(|| pc.get_or_create(black_box(&labels)).inc()));
    metrics_recorder();
    g.bench_function("metrics", |b| {
        b.iter(|| {
            metrics::counter!("bench_labeled", "method" => black_box("GET"), "code" => black_box("200")).increment(1)
        })
    });
    let otel = otel_meter().u64_counter("c").build();
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| otel.add(1, &[KeyValue::new("method", black_box("GET")), KeyValue::new("code", black_box("200"))]))
    });
    g.finish();
}

fn histogram_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram_observe");
    let sonde = sonde::Registry::new().histogram("h").register().unwrap();
    g.bench_function("sonde", |b| b.iter(|| black_box(&sonde).observe(black_box(0.042))));
    let prom = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("h", "h")).unwrap();
    g.bench_function("prometheus", |b| b.iter(|| black_box(&prom).observe(black_box(0.042))));
    let pc = prometheus_client::metrics::histogram::Histogram::new(
        prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 11),
    );
    g.bench_function("prometheus-client", |b| b.iter(|| black_box(&pc).observe(black_box(0.042))));
    metrics_recorder();
    let m = metrics::histogram!("bench_hist");
    g.bench_function("metrics", |b| b.iter(|| black_box(&m).record(black_box(0.042))));
    let otel = otel_meter().f64_histogram("h").build();
    g.bench_function("opentelemetry_sdk", |b| b.iter(|| black_box(&otel).record(black_box(0.042), &[])));
    g.finish();
}

fn contended(c: &mut Criterion) {
    let sonde = sonde::Registry::new().counter("c_total").register().unwrap();
    let prom = prometheus::IntCounter::new("c", "c").unwrap();
    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    let peers: Vec<(&str, AddFn)> = vec![
        ("sonde", Arc::new(move || black_box(&sonde).inc())),
        ("prometheus", Arc::new(move || black_box(&prom).inc())),
        (
            "prometheus-client",
            Arc::new(move || {
                black_box(&pc).inc();
            }),
        ),
    ];
    shared(c, "counter_add_shared", peers);

    let sonde = sonde::Registry::new().histogram("h").register().unwrap();
    let prom = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("h", "h")).unwrap();
    let pc = prometheus_client::metrics::histogram::Histogram::new(
        prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 11),
    );
    let peers: Vec<(&str, AddFn)> = vec![
        ("sonde", Arc::new(move || black_box(&sonde).observe(black_box(0.042)))),
        ("prometheus", Arc::new(move || black_box(&prom).observe(black_box(0.042)))),
        ("prometheus-client", Arc::new(move || black_box(&pc).observe(black_box(0.042)))),
    ];
    shared(c, "histogram_observe_shared", peers);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = counter_add, labeled_add, histogram_observe, contended
}
criterion_main!(benches);
