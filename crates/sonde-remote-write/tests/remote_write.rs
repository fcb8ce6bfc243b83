//! Remote write: the wire format, fault handling, and a real VictoriaMetrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use sonde::{Buckets, Registry};
use sonde_export::{Exporter, PeriodicExporter};
use sonde_remote_write::prompb::WriteRequest;
use sonde_remote_write::{RemoteWriteExporter, STALE_NAN};

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
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.seen.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
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

fn require_peer(name: &str) -> Option<std::path::PathBuf> {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        if std::env::var("SONDE_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("peer {name} is required (SONDE_REQUIRE_PEERS=1) but missing; run scripts/install-peers.sh");
        }
        eprintln!("skipping: {name} is not installed");
    }
    found
}

fn query(port: u16, promql: &str) -> serde_json::Value {
    let q: String = promql
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET /api/v1/query?query={q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

#[test]
fn victoria_metrics_stores_and_serves_what_we_write() {
    let Some(vm) = require_peer("victoria-metrics") else { return };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("sonde-vm-{}", std::process::id()));
    let mut child = Command::new(vm)
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", dir.display()))
        .arg("-search.latencyOffset=0s")
        .arg("-search.disableCache")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "victoria-metrics did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = registry();
    let e = RemoteWriteExporter::builder(&format!("http://127.0.0.1:{port}/api/v1/write"))
        .label("job", "sonde")
        .build()
        .unwrap();
    e.export(&r.snapshot()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut orders, mut quantile) = (serde_json::Value::Null, serde_json::Value::Null);
    while Instant::now() < deadline {
        orders = query(port, "orders_total{job=\"sonde\",zone=\"b\"}");
        quantile = query(port, "histogram_quantile(0.5, latency_seconds_bucket{job=\"sonde\"})");
        if orders["data"]["result"][0]["value"][1].is_string() && quantile["data"]["result"][0]["value"][1].is_string()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(orders["data"]["result"][0]["value"][1], "7", "{orders}");
    let q: f64 = quantile["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((q - 0.55).abs() < 1e-9, "{quantile}");
}

#[test]
fn a_slow_receiver_times_out_as_a_retryable_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        // Accept and say nothing for longer than the client waits.
        let held: Vec<_> = listener.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    let e = RemoteWriteExporter::builder(&url).timeout(Duration::from_millis(300)).build().unwrap();
    let started = Instant::now();
    let err = e.export(&registry().snapshot()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "bounded by the timeout");
    assert!(err.is_retryable(), "{err}");
}

#[test]
fn shutdown_delivers_when_the_receiver_comes_back_in_time() {
    // Reserve a port, start with nothing listening on it.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let r = registry();
    let p = PeriodicExporter::builder(r.clone(), RemoteWriteExporter::builder(&url).build().unwrap())
        .interval(Duration::from_millis(50))
        .retries(0, Duration::from_millis(10), Duration::from_millis(10))
        .start()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300)); // several failed runs
    let failures = r.snapshot().family("sonde_export_failures").unwrap().series().next().unwrap().value().as_f64();
    assert!(failures >= 1.0, "the receiver was down: failures counted");
    // The receiver comes back; shutdown's final export reaches it.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
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
