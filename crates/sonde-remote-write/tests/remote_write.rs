//! Remote write: the wire format, fault handling, and a real VictoriaMetrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use prost::Message;
use sonde::{Buckets, Registry};
use sonde_export::{Exporter, PeriodicExporter};
use sonde_remote_write::prompb::WriteRequest;
use sonde_remote_write::{RemoteWriteExporter, STALE_NAN};
use sonde_testkit::{http, peers, poll_until, process, wait_until, ChildGuard, ClosedPort};

/// Requests received: headers (lower-cased names) and the decoded body.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, WriteRequest)>>>;

/// A receiver that answers each request with the next scripted status and
/// records headers and decoded bodies.
struct Receiver {
    url: String,
    seen: Received,
}

fn receiver(statuses: Vec<u16>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    let seen: Received = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap();
                    }
                    headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let raw = snap::raw::Decoder::new().decompress_vec(&body).expect("snappy block format");
            record.lock().unwrap().push((headers, WriteRequest::decode(&raw[..]).expect("protobuf WriteRequest")));
            let status = statuses.get(i).copied().unwrap_or(200);
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    Receiver { url, seen }
}

fn registry() -> Registry {
    let r = Registry::builder().self_metrics(false).build().unwrap();
    r.counter("orders_total").labels(["zone"]).register().unwrap().with(&["b"]).inc_by(7);
    r.gauge("queue_depth").register().unwrap().set(3.0);
    r.histogram("latency_seconds").buckets(Buckets::new([0.1, 1.0]).unwrap()).register().unwrap().observe(0.5);
    r
}

#[test]
fn wire_format_headers_sorted_labels_and_batches() {
    let rx = receiver(vec![]);
    let e = RemoteWriteExporter::builder(&rx.url).label("job", "sonde").max_series_per_request(3).build().unwrap();
    e.export(&registry().snapshot()).unwrap();
    let seen = rx.seen.lock().unwrap();
    let all: Vec<_> = seen.iter().flat_map(|(_, w)| w.timeseries.clone()).collect();
    assert_eq!(all.len(), 1 + 1 + 5, "counter, gauge, 3 buckets + sum + count");
    assert!(seen.iter().all(|(_, w)| w.timeseries.len() <= 3), "batched by series count");
    let (headers, _) = &seen[0];
    let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(h("content-encoding"), Some("snappy"));
    assert_eq!(h("content-type"), Some("application/x-protobuf"));
    assert_eq!(h("x-prometheus-remote-write-version"), Some("0.1.0"));
    for ts in &all {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "labels sorted and unique");
        assert!(names.contains(&"__name__") && names.contains(&"job"));
        assert_eq!(ts.samples.len(), 1);
    }
    let orders = all.iter().find(|t| t.labels.iter().any(|l| l.value == "orders_total")).unwrap();
    assert_eq!(orders.samples[0].value, 7.0);
    assert!(orders.labels.iter().any(|l| l.name == "zone" && l.value == "b"));
}

#[test]
fn vanished_series_get_a_staleness_marker() {
    let rx = receiver(vec![]);
    let e = RemoteWriteExporter::builder(&rx.url).build().unwrap();
    let r = registry();
    e.export(&r.snapshot()).unwrap();
    assert!(r.unregister("queue_depth"));
    e.export(&r.snapshot()).unwrap();
    let seen = rx.seen.lock().unwrap();
    let stale: Vec<_> = seen[1].1.timeseries.iter().filter(|t| t.samples[0].value.to_bits() == STALE_NAN).collect();
    assert_eq!(stale.len(), 1);
    assert!(stale[0].labels.iter().any(|l| l.value == "queue_depth"));
}

#[test]
fn server_errors_are_retried_client_errors_are_not() {
    // 503 then 200: delivered once, after one retry.
    let rx = receiver(vec![503, 200]);
    let r = registry();
    let p = PeriodicExporter::builder(r.clone(), RemoteWriteExporter::builder(&rx.url).build().unwrap())
        .interval(Duration::from_millis(50))
        .retries(3, Duration::from_millis(10), Duration::from_millis(20))
        .start()
        .unwrap();
    wait_until(Duration::from_secs(5), "the retried request", || rx.seen.lock().unwrap().len() >= 2);
    p.stop(Duration::from_secs(5)).unwrap();
    let snap = r.snapshot();
    let failures = snap.family("sonde_export_failures").map(|f| f.series().next().unwrap().value().as_f64());
    assert_eq!(failures, Some(0.0), "the retry succeeded");

    // 400: a permanent error, not retried.
    let rx = receiver(vec![400, 400, 400]);
    let e = RemoteWriteExporter::builder(&rx.url).build().unwrap();
    let err = e.export(&registry().snapshot()).unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let rx429 = receiver(vec![429]);
    let err = RemoteWriteExporter::builder(&rx429.url).build().unwrap().export(&registry().snapshot()).unwrap_err();
    assert!(err.is_retryable(), "429 is retryable");
}

#[test]
fn victoria_metrics_stores_and_serves_what_we_write() {
    let Some(vm) = peers::program("victoria-metrics") else { return };
    let dir = peers::temp_dir("victoria-metrics");
    let vm = ChildGuard::spawn(
        Command::new(vm)
            .arg("-httpListenAddr=127.0.0.1:0")
            .arg(format!("-storageDataPath={}", dir.path().display()))
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let addr = format!("127.0.0.1:{}", process::wait_for_tcp_listener(&vm, Duration::from_secs(20)));
    let query = |promql: &str| -> serde_json::Value {
        let reply = http::get(&addr, &format!("/api/v1/query?query={}", http::escape(promql)));
        serde_json::from_slice(&reply.body).unwrap_or(serde_json::Value::Null)
    };
    let r = registry();
    let e = RemoteWriteExporter::builder(&format!("http://{addr}/api/v1/write")).label("job", "sonde").build().unwrap();
    e.export(&r.snapshot()).unwrap();
    let both = || {
        (
            query("orders_total{job=\"sonde\",zone=\"b\"}"),
            query("histogram_quantile(0.5, latency_seconds_bucket{job=\"sonde\"})"),
        )
    };
    let (orders, quantile) = poll_until(Duration::from_secs(20), || {
        let (o, q) = both();
        (o["data"]["result"][0]["value"][1].is_string() && q["data"]["result"][0]["value"][1].is_string())
            .then_some((o, q))
    })
    .unwrap_or_else(both);
    assert_eq!(orders["data"]["result"][0]["value"][1], "7", "{orders}");
    let q: f64 = quantile["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((q - 0.55).abs() < 1e-9, "{quantile}");
}

#[test]
fn a_slow_receiver_times_out_as_a_retryable_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    let (release, released_rx) = mpsc::channel::<()>();
    let released = Arc::new(AtomicBool::new(false));
    let flag = released.clone();
    std::thread::spawn(move || {
        // Accept and say nothing until the test is done (at most 60 s).
        let _held = listener.accept();
        let _ = released_rx.recv_timeout(Duration::from_secs(60));
        flag.store(true, Ordering::SeqCst);
    });
    let e = RemoteWriteExporter::builder(&url).timeout(Duration::from_millis(300)).build().unwrap();
    let err = e.export(&registry().snapshot()).unwrap_err();
    // The export gave up while the receiver still held the connection:
    // its own timeout ended it, not the receiver.
    assert!(!released.load(Ordering::SeqCst), "the export waited for the receiver");
    release.send(()).unwrap();
    assert!(err.is_retryable(), "{err}");
}

#[test]
fn shutdown_delivers_when_the_receiver_comes_back_in_time() {
    // A port that is ours but refuses connections: the receiver is down.
    let down = ClosedPort::bind();
    let url = format!("http://{}/api/v1/write", down.addr());
    let r = registry();
    let p = PeriodicExporter::builder(r.clone(), RemoteWriteExporter::builder(&url).build().unwrap())
        .interval(Duration::from_millis(50))
        .retries(0, Duration::from_millis(10), Duration::from_millis(10))
        .start()
        .unwrap();
    let failures = || {
        let snapshot = r.snapshot();
        snapshot.family("sonde_export_failures").and_then(|f| f.series().next().map(|s| s.value().as_f64()))
    };
    wait_until(Duration::from_secs(10), "a failure counted while the receiver is down", || {
        failures().is_some_and(|f| f >= 1.0)
    });
    // The receiver comes back on the same port; shutdown's final export reaches it.
    let listener = down.listen();
    let got = Arc::new(Mutex::new(0usize));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            *g.lock().unwrap() += 1;
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    p.stop(Duration::from_secs(5)).unwrap();
    assert!(*got.lock().unwrap() >= 1, "the final flush was delivered");
}

/// Native histograms go in remote write's `histograms` field; a real
/// Prometheus (2.42, receiver and native histograms on) stores them and
/// PromQL's histogram functions read them back; when the series vanishes,
/// the histogram staleness marker is accepted too.
#[test]
fn prometheus_stores_the_native_histograms_we_write() {
    let Some(prometheus) = peers::program("prometheus") else { return };
    let closed = ClosedPort::bind();
    let prom = peers::Prometheus::start(
        &prometheus,
        &closed.addr(),
        false,
        &["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"],
    );
    let r = Registry::builder().self_metrics(false).build().unwrap();
    let h = r
        .histogram("rpc_seconds")
        .labels(["route"])
        .buckets(Buckets::new([0.1, 1.0]).unwrap().with_native(sonde::NativeBuckets::new().schema(3).unwrap()))
        .register()
        .unwrap();
    let values: Vec<f64> = (1..=200).map(|i| f64::from(i) * 0.005).collect();
    for &v in &values {
        h.with(&["/a"]).observe(v);
    }
    h.with(&["/a"]).observe(0.0);
    h.with(&["/a"]).observe(-0.25);
    let recorded = r.snapshot().family("rpc_seconds").unwrap().find(&["/a"]).unwrap().native().unwrap().clone();
    let e = RemoteWriteExporter::builder(&format!("http://{}/api/v1/write", prom.addr))
        .label("job", "sonde")
        .build()
        .unwrap();
    let write = poll_until(Duration::from_secs(20), || e.export(&r.snapshot()).ok());
    assert!(write.is_some(), "Prometheus' receiver never accepted the write");
    let got = poll_until(Duration::from_secs(20), || {
        Some((
            prom.query_value("histogram_count(rpc_seconds{job=\"sonde\",route=\"/a\"})")?,
            prom.query_value("histogram_sum(rpc_seconds{job=\"sonde\",route=\"/a\"})")?,
            prom.query_value("histogram_quantile(0.5, rpc_seconds{job=\"sonde\",route=\"/a\"})")?,
            prom.query_value("rpc_seconds_bucket{job=\"sonde\",route=\"/a\",le=\"0.1\"}")?,
        ))
    });
    let (count, sum, median, classic) = got.expect("PromQL over the written native histogram");
    assert_eq!(count, 202.0);
    assert!((sum - recorded.sum).abs() < 1e-9, "{sum} vs {}", recorded.sum);
    assert!(
        (median - recorded.quantile(0.5)).abs() <= 1e-12 * median,
        "PromQL {median} vs Sonde {}",
        recorded.quantile(0.5)
    );
    assert_eq!(classic, 22.0, "the classic buckets go too: 20 values up to 0.1, a zero and a negative");
    // The series vanishes: its staleness marker is a histogram, and accepted.
    drop(h);
    r.unregister("rpc_seconds");
    e.export(&r.snapshot()).expect("the staleness marker is accepted");
}
