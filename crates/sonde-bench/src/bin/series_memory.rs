//! Resident memory per labeled series: 100,000 counter series with two
//! labels, label strings included, measured as the RSS delta of a fresh
//! process after one scrape (the state of a process that is being scraped:
//! what a library builds or frees at its first exposition is counted), with
//! the allocator's free pages returned to the system before each reading
//! (`malloc_trim`), so that only memory in use counts. Run one library per
//! process:
//!
//! `cargo run --release -p sonde-bench --bin series-memory -- <sonde|prometheus|prometheus-client|prometheus-client-pairs|metrics>`
//!
//! With `sonde-native` or `prometheus-client-native`: 10,000 native
//! histogram series (same labels), each with 160 buckets in use (schema 3,
//! values over 20 powers of two).
//!
//! `prometheus-client` keys its family by a derived label struct;
//! `prometheus-client-pairs` by a `Vec<(String, String)>`, the shape code
//! without a struct per label set uses.

use prometheus_client::encoding::EncodeLabelSet;

const SERIES: usize = 100_000;
/// Native histogram series in the native modes.
const NATIVE_SERIES: usize = 10_000;

/// 160 values, one per bucket of schema 3 over 20 powers of two from 1 ms.
fn native_values() -> Vec<f64> {
    (0..160).map(|k| 0.001 * 2f64.powf((f64::from(k) + 0.5) / 8.0)).collect()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    instance: String,
    method: String,
}

fn rss_bytes() -> usize {
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe { libc::malloc_trim(0) };
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}

/// Registers `family` in a registry, encodes it once (in the protobuf
/// exposition for native histograms, which the text format cannot carry),
/// and returns the registry (which holds the family).
fn scraped_prometheus_client(
    family: impl prometheus_client::registry::Metric,
    protobuf: bool,
) -> prometheus_client::registry::Registry {
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register("requests", "r", family);
    if protobuf {
        drop(prometheus_client::encoding::prometheus_protobuf::encode_to_vec(&registry).unwrap());
    } else {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        drop(out);
    }
    registry
}

fn label(i: usize) -> (String, &'static str) {
    (format!("instance-{i}"), if i.is_multiple_of(2) { "GET" } else { "POST" })
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "sonde".into());
    // Warm the allocator and formatting so the baseline is fair.
    let warm: Vec<String> = (0..1000).map(|i| format!("warm-{i}")).collect();
    drop(warm);
    let before = rss_bytes();
    let keep: Box<dyn std::any::Any> = match which.as_str() {
        "sonde" => {
            let r = sonde::Registry::builder().cardinality_limit(SERIES + 1).build().unwrap();
            let f = r.counter("requests_total").labels(["instance", "method"]).register().unwrap();
            for i in 0..SERIES {
                let (inst, m) = label(i);
                f.with(&[&inst, m]).inc();
            }
            assert_eq!(f.len(), SERIES);
            drop(sonde::encode::prometheus_text(&r.snapshot()));
            Box::new((r, f))
        }
        "prometheus" => {
            let v =
                prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "r"), &["instance", "method"])
                    .unwrap();
            for i in 0..SERIES {
                let (inst, m) = label(i);
                v.with_label_values(&[inst.as_str(), m]).inc();
            }
            let mut out = String::new();
            prometheus::TextEncoder::new().encode_utf8(&prometheus::core::Collector::collect(&v), &mut out).unwrap();
            drop(out);
            Box::new(v)
        }
        "prometheus-client" => {
            let f = prometheus_client::metrics::family::Family::<
                Labels,
                prometheus_client::metrics::counter::Counter,
            >::default();
            for i in 0..SERIES {
                let (inst, m) = label(i);
                f.get_or_create(&Labels { instance: inst, method: m.into() }).inc();
            }
            Box::new(scraped_prometheus_client(f, false))
        }
        "prometheus-client-pairs" => {
            let f = prometheus_client::metrics::family::Family::<
                Vec<(String, String)>,
                prometheus_client::metrics::counter::Counter,
            >::default();
            for i in 0..SERIES {
                let (inst, m) = label(i);
                f.get_or_create(&vec![("instance".into(), inst), ("method".into(), m.into())]).inc();
            }
            Box::new(scraped_prometheus_client(f, false))
        }
        "metrics" => {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            metrics::with_local_recorder(&recorder, || {
                for i in 0..SERIES {
                    let (inst, m) = label(i);
                    metrics::counter!("requests_total", "instance" => inst, "method" => m).increment(1);
                }
            });
            drop(recorder.handle().render());
            Box::new(recorder)
        }
        "sonde-native" => {
            let r = sonde::Registry::builder().cardinality_limit(NATIVE_SERIES + 1).build().unwrap();
            let native = sonde::NativeBuckets::new().schema(3).unwrap();
            let f = r
                .histogram("latency_seconds")
                .labels(["instance", "method"])
                .buckets(sonde::Buckets::native(native))
                .register()
                .unwrap();
            let values = native_values();
            for i in 0..NATIVE_SERIES {
                let (inst, m) = label(i);
                let h = f.with(&[&inst, m]);
                values.iter().for_each(|&v| h.observe(v));
            }
            let n = f.with(&["instance-0", "GET"]).native().unwrap();
            assert_eq!((n.schema, n.bucket_span()), (3, 160));
            drop(sonde_prometheus::encode_protobuf(&r.snapshot()));
            Box::new((r, f))
        }
        "prometheus-client-native" => {
            use prometheus_client::metrics::histogram::{Histogram, NativeHistogramConfig};
            let f = prometheus_client::metrics::family::Family::<Labels, Histogram>::new_with_constructor(|| {
                Histogram::new_native(NativeHistogramConfig::with_schema(3).max_buckets(160))
            });
            let values = native_values();
            for i in 0..NATIVE_SERIES {
                let (inst, m) = label(i);
                let h = f.get_or_create(&Labels { instance: inst, method: m.into() });
                values.iter().for_each(|&v| h.observe(v));
            }
            Box::new(scraped_prometheus_client(f, true))
        }
        other => panic!("unknown library {other}"),
    };
    let after = rss_bytes();
    let series = if which.ends_with("-native") { NATIVE_SERIES } else { SERIES };
    println!(
        "{which}: {} bytes per series ({} series, RSS +{} KiB)",
        (after - before) / series,
        series,
        (after - before) / 1024
    );
    drop(keep);
}
