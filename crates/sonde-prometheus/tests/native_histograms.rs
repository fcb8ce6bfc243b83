//! Native histograms reach a real Prometheus (2.42, `native-histograms` on)
//! over the protobuf exposition; PromQL's histogram functions return what
//! was recorded. Text scrapes of the same endpoint keep working.

use std::time::Duration;

use sonde::exponential::relative_error;
use sonde::{Buckets, NativeBuckets, Registry};
use sonde_prometheus::MetricsServer;
use sonde_testkit::peers::{self, Prometheus};
use sonde_testkit::poll_until;

fn workload(r: &Registry) -> Vec<f64> {
    let native = r
        .histogram("native_latency_seconds")
        .help("Latency, native buckets only.")
        .labels(["route"])
        .buckets(Buckets::native(NativeBuckets::new()))
        .register()
        .unwrap();
    let both = r
        .histogram("migrating_seconds")
        .help("Latency, classic and native buckets.")
        .buckets(Buckets::new([0.01, 0.1, 1.0]).unwrap().with_native(NativeBuckets::new().schema(3).unwrap()))
        .register()
        .unwrap();
    let values: Vec<f64> = (0..1000).map(|i| 0.001 * 1.01f64.powi(i % 600) + f64::from(i % 7) * 1e-4).collect();
    for &v in &values {
        native.with(&["/api"]).observe(v);
        both.observe(v);
    }
    native.with(&["/api"]).observe(0.0); // the zero bucket
    native.with(&["/neg"]).observe(-2.5);
    r.counter("requests_total").help("Requests.").register().unwrap().inc_by(7);
    r.gauge("inflight").help("In flight.").register().unwrap().set(3.0);
    values
}

fn exact_quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[test]
fn prometheus_reads_native_histograms_over_protobuf() {
    let Some(prometheus) = peers::program("prometheus") else {
        return;
    };
    let r = Registry::new();
    let mut values = workload(&r);
    let recorded = {
        let h = r.snapshot();
        let f = h.family("native_latency_seconds").unwrap();
        f.find(&["/api"]).unwrap().native().unwrap().clone()
    };
    let mut server = MetricsServer::builder(r).listen("127.0.0.1:0".parse().unwrap()).build();
    let target = server.start().unwrap().to_string();

    let native = Prometheus::start(&prometheus, &target, false, &["--enable-feature=native-histograms"]);
    let classic = Prometheus::start(&prometheus, &target, false, &[]);
    let got = poll_until(Duration::from_secs(45), || {
        Some((
            native.query_value("histogram_count(native_latency_seconds{route=\"/api\"})")?,
            native.query_value("histogram_sum(native_latency_seconds{route=\"/api\"})")?,
            native.query_value("histogram_quantile(0.5, native_latency_seconds{route=\"/api\"})")?,
            native.query_value("histogram_quantile(0.9, native_latency_seconds{route=\"/api\"})")?,
            native.query_value("histogram_count(native_latency_seconds{route=\"/neg\"})")?,
            native.query_value("histogram_count(migrating_seconds)")?,
            native.query_value("requests_total")?,
            classic.query_value("migrating_seconds_bucket{le=\"0.1\"}")?,
        ))
    });
    let up = native.query_value("up");
    let (count, sum, median, p90, negatives, both_count, requests, classic_bucket) =
        got.unwrap_or_else(|| panic!("Prometheus never returned the native series (up = {up:?})"));
    assert_eq!(count, 1001.0, "1000 values and one zero");
    assert!((sum - recorded.sum).abs() <= 1e-9 * recorded.sum, "sum {sum} vs {}", recorded.sum);
    values.push(0.0);
    let bound = relative_error(recorded.schema);
    for (q, got) in [(0.5, median), (0.9, p90)] {
        let exact = exact_quantile(&values, q);
        assert!((got - exact).abs() <= bound * exact, "q{q}: PromQL {got}, exact {exact}, bound {bound}");
        assert!((got - recorded.quantile(q)).abs() <= 1e-12 * got, "q{q}: PromQL {got} vs Sonde's estimate");
    }
    assert_eq!(negatives, 1.0);
    assert_eq!(both_count, 1000.0, "the classic-and-native metric is native over protobuf");
    assert_eq!(requests, 7.0, "counters travel in protobuf too");
    let in_classic = values.iter().filter(|&&v| v > 0.0 && v <= 0.1).count() as f64;
    assert_eq!(classic_bucket, in_classic, "the same metric's classic buckets over text");
    assert_eq!(native.query_value("inflight"), Some(3.0));
}

#[test]
fn a_text_scrape_of_native_histograms_validates_with_promtool() {
    let r = Registry::new();
    workload(&r);
    let text = sonde::encode::prometheus_text(&r.snapshot());
    assert!(text.contains("native_latency_seconds_bucket{route=\"/api\",le=\"+Inf\"} 1001\n"), "{text}");
    let Some(verdict) = sonde_testkit::exposition::promtool_check(&text) else { return };
    assert_eq!(verdict.code, 0, "promtool: {}", verdict.report);
}
