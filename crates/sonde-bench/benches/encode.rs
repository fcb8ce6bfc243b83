//! Scrape cost: collecting and encoding 10,000 series to Prometheus text,
//! and to the protobuf exposition.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use prometheus_client::encoding::EncodeLabelSet;
use sonde_bench::*;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    instance: String,
    method: String,
}

fn sonde_registry() -> sonde::Registry {
    let r = sonde::Registry::builder().self_metrics(false).build().unwrap();
    for f in 0..COUNTER_FAMILIES {
        let fam = r
            .counter(&format!("counter_{f}_total"))
            .help("A counter.")
            .labels(["instance", "method"])
            .register()
            .unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            fam.with(&[&inst, m]).inc_by(i as u64 * 7 + 1);
        }
    }
    for f in 0..GAUGE_FAMILIES {
        let fam = r.gauge(&format!("gauge_{f}")).help("A gauge.").labels(["instance", "method"]).register().unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            fam.with(&[&inst, m]).set(i as f64 * 0.5);
        }
    }
    for f in 0..HISTOGRAM_FAMILIES {
        let fam = r
            .histogram(&format!("histogram_{f}_seconds"))
            .help("A histogram.")
            .labels(["instance", "method"])
            .register()
            .unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            fam.with(&[&inst, m]).observe(i as f64 * 0.01);
        }
    }
    r
}

fn prometheus_registry() -> prometheus::Registry {
    let r = prometheus::Registry::new();
    for f in 0..COUNTER_FAMILIES {
        let v = prometheus::IntCounterVec::new(
            prometheus::Opts::new(format!("counter_{f}_total"), "A counter."),
            &["instance", "method"],
        )
        .unwrap();
        r.register(Box::new(v.clone())).unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            v.with_label_values(&[inst.as_str(), m]).inc_by(i as u64 * 7 + 1);
        }
    }
    for f in 0..GAUGE_FAMILIES {
        let v =
            prometheus::GaugeVec::new(prometheus::Opts::new(format!("gauge_{f}"), "A gauge."), &["instance", "method"])
                .unwrap();
        r.register(Box::new(v.clone())).unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            v.with_label_values(&[inst.as_str(), m]).set(i as f64 * 0.5);
        }
    }
    for f in 0..HISTOGRAM_FAMILIES {
        let v = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(format!("histogram_{f}_seconds"), "A histogram."),
            &["instance", "method"],
        )
        .unwrap();
        r.register(Box::new(v.clone())).unwrap();
        for i in 0..SERIES_PER_FAMILY {
            let (inst, m) = labels(i);
            v.with_label_values(&[inst.as_str(), m]).observe(i as f64 * 0.01);
        }
    }
    r
}

fn prometheus_client_registry() -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram};
    let mut r = prometheus_client::registry::Registry::default();
    let lab = |i: usize| {
        let (inst, m) = labels(i);
        Labels { instance: inst, method: m.into() }
    };
    for f in 0..COUNTER_FAMILIES {
        let fam = Family::<Labels, Counter>::default();
        r.register(format!("counter_{f}"), "A counter.", fam.clone());
        for i in 0..SERIES_PER_FAMILY {
            fam.get_or_create(&lab(i)).inc_by(i as u64 * 7 + 1);
        }
    }
    for f in 0..GAUGE_FAMILIES {
        let fam = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        r.register(format!("gauge_{f}"), "A gauge.", fam.clone());
        for i in 0..SERIES_PER_FAMILY {
            fam.get_or_create(&lab(i)).set(i as f64 * 0.5);
        }
    }
    for f in 0..HISTOGRAM_FAMILIES {
        let fam = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        r.register(format!("histogram_{f}_seconds"), "A histogram.", fam.clone());
        for i in 0..SERIES_PER_FAMILY {
            fam.get_or_create(&lab(i)).observe(i as f64 * 0.01);
        }
    }
    r
}

fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for f in 0..COUNTER_FAMILIES {
            for i in 0..SERIES_PER_FAMILY {
                let (inst, m) = labels(i);
                metrics::counter!(format!("counter_{f}_total"), "instance" => inst, "method" => m)
                    .increment(i as u64 * 7 + 1);
            }
        }
        for f in 0..GAUGE_FAMILIES {
            for i in 0..SERIES_PER_FAMILY {
                let (inst, m) = labels(i);
                metrics::gauge!(format!("gauge_{f}"), "instance" => inst, "method" => m).set(i as f64 * 0.5);
            }
        }
        for f in 0..HISTOGRAM_FAMILIES {
            for i in 0..SERIES_PER_FAMILY {
                let (inst, m) = labels(i);
                metrics::histogram!(format!("histogram_{f}_seconds"), "instance" => inst, "method" => m)
                    .record(i as f64 * 0.01);
            }
        }
    });
    handle
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_10k_series_text");
    let s = sonde_registry();
    assert_eq!(s.snapshot().series_count(), 10_000);
    g.bench_function("sonde", |b| b.iter(|| black_box(sonde::encode::prometheus_text(&s.snapshot()))));
    let p = prometheus_registry();
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let mut out = String::new();
            prometheus::TextEncoder::new().encode_utf8(&p.gather(), &mut out).unwrap();
            black_box(out)
        })
    });
    let pc = prometheus_client_registry();
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &pc).unwrap();
            black_box(out)
        })
    });
    let m = metrics_handle();
    g.bench_function("metrics-exporter-prometheus", |b| b.iter(|| black_box(m.render())));
    g.finish();
}

fn encode_protobuf(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_10k_series_protobuf");
    let s = sonde_registry();
    g.bench_function("sonde protobuf", |b| b.iter(|| black_box(sonde_prometheus::encode_protobuf(&s.snapshot()))));
    g.bench_function("sonde text", |b| b.iter(|| black_box(sonde::encode::prometheus_text(&s.snapshot()))));
    let pc = prometheus_client_registry();
    g.bench_function("prometheus-client protobuf", |b| {
        b.iter(|| black_box(prometheus_client::encoding::prometheus_protobuf::encode_to_vec(&pc).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = encode, encode_protobuf
}
criterion_main!(benches);
