//! PromQL on the hub against the Prometheus 2.42 binary, on the same
//! samples, in one run: each side answers the same `/api/v1/query_range`
//! (or `/api/v1/query`) over HTTP on loopback, timed from the same client.
//!
//! The samples: 10,000 counter series (`bench_requests_total`, 100 routes ×
//! 100 instances, some reset) and 1,000 classic histograms of 12 buckets
//! (`bench_latency_seconds_bucket`), one sample every 15 s for 65 minutes,
//! written into a hub data directory's sample store and, as OpenMetrics
//! text, into Prometheus blocks by `promtool tsdb create-blocks-from
//! openmetrics`. Before timing, both answers are compared (same series,
//! values within 1e-9 relative). A third family of 100,000 series over the
//! last 10 minutes (`bench_wide_total`) is in the hub only: the instant
//! queries a dashboard panel makes at that size.
//!
//! ```sh
//! cargo bench -p sonde-bench --bench promql
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use sonde_hub::store::{SampleOptions, SampleStore};
use sonde_hub::{Addresses, Hub, HubOptions, Storage};
use sonde_testkit::http::{escape, get};
use sonde_testkit::process::wait_for_tcp_listener;
use sonde_testkit::{peers, ChildGuard};

const STEP_S: i64 = 15;
const RANGE_S: i64 = 65 * 60;
const ROUTES: usize = 100;
const INSTANCES: usize = 100;
const HISTOGRAMS: usize = 1000;
const LE: [&str; 12] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
/// Share of observations at or below each bound.
const CUMULATIVE: [f64; 12] = [0.01, 0.03, 0.08, 0.2, 0.4, 0.6, 0.75, 0.85, 0.93, 0.97, 0.99, 1.0];
const WIDE_ROUTES: usize = 100;
const WIDE_PODS: usize = 1000;
const WIDE_S: i64 = 10 * 60;

/// One series' samples as (name, labels, value at step k).
struct Family {
    name: &'static str,
    series: Vec<String>,
    value: fn(usize, i64) -> f64,
}

fn requests(s: usize, k: i64) -> f64 {
    // Some series restart (a counter reset) part-way.
    let k = if s.is_multiple_of(10) && k >= 100 + (s % 50) as i64 { k - 100 - (s % 50) as i64 } else { k };
    (k * (1 + (s % 7) as i64)) as f64
}

fn latency(s: usize, k: i64) -> f64 {
    let per_step = (10 + (s / 12) % 5) as f64;
    (CUMULATIVE[s % 12] * per_step * k as f64).round()
}

fn families() -> Vec<Family> {
    let mut requests_series = Vec::new();
    for r in 0..ROUTES {
        for i in 0..INSTANCES {
            requests_series.push(format!(r#"route="r{r}",instance="i{i}""#));
        }
    }
    let mut latency_series = Vec::new();
    for h in 0..HISTOGRAMS {
        for le in LE {
            latency_series.push(format!(r#"instance="h{h}",le="{le}""#));
        }
    }
    vec![
        Family { name: "bench_requests_total", series: requests_series, value: requests },
        Family { name: "bench_latency_seconds_bucket", series: latency_series, value: latency },
    ]
}

fn wide() -> Family {
    let mut series = Vec::new();
    for r in 0..WIDE_ROUTES {
        for p in 0..WIDE_PODS {
            series.push(format!(r#"route="r{r}",pod="p{p}""#));
        }
    }
    Family { name: "bench_wide_total", series, value: requests }
}

/// Writes the samples into a hub's data directory.
fn fill_store(dir: &Path, families: &[Family], wide: &Family, start_s: i64) {
    let store = SampleStore::open(&dir.join("samples"), SampleOptions::default()).expect("open the sample store");
    let ids: Vec<Vec<String>> = families
        .iter()
        .chain([wide])
        .map(|f| f.series.iter().map(|l| format!("{}{{{l}}}", f.name)).collect())
        .collect();
    let steps = RANGE_S / STEP_S;
    let wide_from = steps - WIDE_S / STEP_S;
    for k in 0..=steps {
        let t = (start_s + k * STEP_S) * 1000;
        let mut tick = Vec::new();
        for (f, family) in families.iter().chain([wide]).enumerate() {
            if family.name == wide.name && k < wide_from {
                continue;
            }
            for (s, id) in ids[f].iter().enumerate() {
                tick.push((family.name, id.as_str(), (family.value)(s, k)));
            }
        }
        store.append(t, tick);
    }
    store.seal((start_s + steps * STEP_S) * 1000 + 1);
    store.sync();
}

/// Writes the samples as OpenMetrics and makes Prometheus blocks of them.
fn fill_prometheus(promtool: &Path, dir: &Path, families: &[Family], start_s: i64) {
    let text = dir.join("samples.om");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&text).unwrap());
    for f in families {
        let (family, kind) = match f.name.strip_suffix("_total") {
            Some(base) => (base, "counter"),
            None => (f.name.strip_suffix("_bucket").unwrap(), "histogram"),
        };
        writeln!(out, "# TYPE {family} {kind}").unwrap();
        for (s, labels) in f.series.iter().enumerate() {
            for k in 0..=RANGE_S / STEP_S {
                writeln!(out, "{}{{{labels}}} {} {}", f.name, (f.value)(s, k), start_s + k * STEP_S).unwrap();
            }
        }
    }
    writeln!(out, "# EOF").unwrap();
    drop(out);
    let made = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&text)
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "promtool tsdb create-blocks-from openmetrics failed");
    std::fs::remove_file(text).unwrap();
}

fn start_prometheus(binary: &Path, dir: &Path) -> (ChildGuard, String) {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
    let child = ChildGuard::spawn(
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let port = wait_for_tcp_listener(&child, Duration::from_secs(60));
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while get(&addr, "/-/ready").status != 200 {
        assert!(std::time::Instant::now() < deadline, "Prometheus did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, addr)
}

fn start_hub(dir: &Path) -> (Hub, String) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let addresses = Addresses { http: any, statsd: any, otlp_grpc: any, otlp_http: any };
    let mut options = HubOptions::from_config(sonde_config::Config::default(), addresses).unwrap();
    options.storage = Storage::Dir(dir.to_owned());
    let hub = Hub::start(options).expect("start the hub");
    let addr = hub.bound().http.unwrap().to_string();
    (hub, addr)
}

/// The answer's series and values, by the series' labels.
fn answer(addr: &str, path: &str) -> BTreeMap<String, Vec<(f64, f64)>> {
    let reply = get(addr, path);
    assert_eq!(reply.status, 200, "{addr}{path}: {}", reply.text());
    let json = reply.json();
    let mut out = BTreeMap::new();
    for s in json["data"]["result"].as_array().unwrap() {
        let points: Vec<&serde_json::Value> = match s.get("values") {
            Some(v) => v.as_array().unwrap().iter().collect(),
            None => vec![&s["value"]],
        };
        let points = points.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().parse().unwrap())).collect();
        out.insert(s["metric"].to_string(), points);
    }
    out
}

fn assert_same(ours: &BTreeMap<String, Vec<(f64, f64)>>, theirs: &BTreeMap<String, Vec<(f64, f64)>>, what: &str) {
    assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "{what}: series differ");
    for (k, a) in ours {
        let b = &theirs[k];
        assert_eq!(a.len(), b.len(), "{what} {k}: point counts differ");
        for ((ta, va), (tb, vb)) in a.iter().zip(b) {
            let close = va == vb || (va - vb).abs() <= 1e-9 * va.abs().max(vb.abs()) || (va.is_nan() && vb.is_nan());
            assert!(ta == tb && close, "{what} {k}: {ta} {va} against {tb} {vb}");
        }
    }
}

fn main() {
    let (Some(prometheus), Some(promtool)) = (peers::program("prometheus"), peers::program("promtool")) else {
        return;
    };
    let now_s = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let end_s = now_s / STEP_S * STEP_S - STEP_S;
    let start_s = end_s - RANGE_S;
    let scratch = tempfile::tempdir().unwrap();
    let families = families();
    let wide = wide();
    eprintln!(
        "promql: writing {} + {} series into the hub's store",
        families.iter().map(|f| f.series.len()).sum::<usize>(),
        wide.series.len()
    );
    fill_store(&scratch.path().join("hub"), &families, &wide, start_s);
    eprintln!("promql: writing the same into Prometheus blocks (promtool)");
    std::fs::create_dir_all(scratch.path().join("prometheus")).unwrap();
    fill_prometheus(&promtool, &scratch.path().join("prometheus"), &families, start_s);
    let (_prometheus, prom) = start_prometheus(&prometheus, &scratch.path().join("prometheus"));
    let (_hub, hub) = start_hub(&scratch.path().join("hub"));

    let range = |q: &str| {
        format!("/api/v1/query_range?query={}&start={}&end={end_s}&step={STEP_S}", escape(q), start_s + 5 * 60)
    };
    let mut c = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10)).configure_from_args();
    for (name, query) in [
        ("promql/sum_by_route_rate_10k_series_1h_15s", "sum by (route) (rate(bench_requests_total[5m]))"),
        (
            "promql/histogram_quantile_1k_histograms_1h_15s",
            "histogram_quantile(0.99, sum by (le) (rate(bench_latency_seconds_bucket[5m])))",
        ),
    ] {
        let path = range(query);
        let (ours, theirs) = (answer(&hub, &path), answer(&prom, &path));
        assert!(!ours.is_empty(), "{name}: an empty answer");
        assert_same(&ours, &theirs, name);
        let mut group = c.benchmark_group(name);
        group.bench_function("sonde", |b| b.iter(|| get(&hub, &path)));
        group.bench_function("prometheus_2_42", |b| b.iter(|| get(&prom, &path)));
        group.finish();
    }
    // Dashboard panels over 100,000 series: instant queries, the hub alone.
    let at = end_s;
    let mut group = c.benchmark_group("promql/instant_100k_series");
    for (name, query) in [
        ("sum_by_route_rate", "sum by (route) (rate(bench_wide_total[5m]))"),
        ("topk_rate", "topk(10, rate(bench_wide_total[5m]))"),
        ("count", "count(bench_wide_total)"),
        ("one_route", r#"sum(rate(bench_wide_total{route="r7"}[5m]))"#),
    ] {
        let path = format!("/api/v1/query?query={}&time={at}", escape(query));
        assert!(!answer(&hub, &path).is_empty(), "{name}: an empty answer");
        group.bench_function(name, |b| b.iter(|| get(&hub, &path)));
    }
    group.finish();
    c.final_summary();
}
