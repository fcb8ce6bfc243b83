//! Periodic, multi, logger and JSON-file exporters.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonde::{Registry, Snapshot};

use sonde_export::{Error, Exporter, JsonFileExporter, LoggerExporter, MultiExporter, PeriodicExporter};

/// An exporter that fails its first `fail_first` calls, then succeeds, and
/// remembers every counter value it saw.
#[derive(Clone)]
struct Scripted {
    name: &'static str,
    fail_first: u32,
    retryable: bool,
    calls: Arc<AtomicU32>,
    seen: Arc<Mutex<Vec<f64>>>,
    delay: Duration,
}

impl Scripted {
    fn new(name: &'static str, fail_first: u32, retryable: bool) -> Self {
        Self { name, fail_first, retryable, calls: Arc::default(), seen: Arc::default(), delay: Duration::ZERO }
    }
}

impl Exporter for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        std::thread::sleep(self.delay);
        let n = self.calls.fetch_add(1, Relaxed);
        if n < self.fail_first {
            return Err(Error::Status {
                exporter: self.name.into(),
                status: 503,
                message: "busy".into(),
                retryable: self.retryable,
            });
        }
        let v = snapshot.family("work").map(|f| f.series().next().unwrap().value().as_f64()).unwrap_or(-1.0);
        self.seen.lock().unwrap().push(v);
        Ok(())
    }
}

fn metric(r: &Registry, family: &str, exporter: &str) -> f64 {
    let snap = r.snapshot();
    snap.family(family).and_then(|f| f.find(&[exporter]).map(|s| s.value().as_f64())).unwrap_or(0.0)
}

#[test]
fn retryable_failures_are_retried_with_backoff_then_delivered_once() {
    let r = Registry::new();
    r.counter("work_total").register().unwrap().inc_by(5);
    let e = Scripted::new("flaky", 2, true);
    let p = PeriodicExporter::builder(r.clone(), e.clone())
        .interval(Duration::from_millis(50))
        .retries(3, Duration::from_millis(10), Duration::from_millis(40))
        .start()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while e.seen.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    p.stop(Duration::from_secs(5)).unwrap();
    assert_eq!(e.seen.lock().unwrap()[0], 5.0);
    assert!(e.calls.load(Relaxed) >= 3, "two failures then a success");
    assert_eq!(metric(&r, "sonde_export_failures", "flaky"), 0.0, "retries absorbed the failures");
    assert!(metric(&r, "sonde_export_runs", "flaky") >= 1.0);
}

#[test]
fn permanent_failures_are_not_retried_and_are_counted() {
    let r = Registry::new();
    let e = Scripted::new("rejecting", u32::MAX, false);
    let p = PeriodicExporter::builder(r.clone(), e.clone())
        .interval(Duration::from_millis(30))
        .retries(5, Duration::from_millis(5), Duration::from_millis(5))
        .start()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&r, "sonde_export_runs", "rejecting") < 2.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = p.stop(Duration::from_secs(5));
    let runs = metric(&r, "sonde_export_runs", "rejecting");
    assert!(runs >= 2.0);
    assert_eq!(e.calls.load(Relaxed) as f64, runs, "one attempt per run: no retries");
    assert_eq!(metric(&r, "sonde_export_failures", "rejecting"), runs);
}

#[test]
fn stop_exports_once_more() {
    let r = Registry::new();
    let c = r.counter("work_total").register().unwrap();
    let e = Scripted::new("final", 0, true);
    let p = PeriodicExporter::builder(r, e.clone()).interval(Duration::from_secs(3600)).start().unwrap();
    c.inc_by(7);
    p.stop(Duration::from_secs(5)).unwrap();
    assert_eq!(*e.seen.lock().unwrap(), vec![7.0], "the value at stop time was exported");
}

#[test]
fn a_stuck_exporter_does_not_hang_stop() {
    let r = Registry::new();
    let mut e = Scripted::new("stuck", 0, true);
    e.delay = Duration::from_secs(30);
    let p = PeriodicExporter::builder(r, e.clone()).interval(Duration::from_secs(3600)).start().unwrap();
    assert!(p.stop(Duration::from_millis(100)).is_err());
    // Stop returned while the final export was still stuck in the exporter.
    assert_eq!(e.calls.load(Relaxed), 0, "stop waited for the stuck export");
}

#[test]
fn multi_keeps_going_when_a_child_fails_and_counts_per_child() {
    let good = Scripted::new("good", 0, true);
    let bad = Scripted::new("bad", u32::MAX, true);
    let multi = MultiExporter::new(vec![Box::new(bad.clone()), Box::new(good.clone())]);
    let r = Registry::new();
    r.counter("work_total").register().unwrap().inc();
    for _ in 0..3 {
        let err = multi.export(&r.snapshot()).unwrap_err();
        assert!(matches!(&err, Error::Partial(names) if names == &["bad".to_string()]));
        assert!(!err.is_retryable(), "no duplicates for the children that succeeded");
    }
    assert_eq!(good.seen.lock().unwrap().len(), 3);
    assert_eq!(multi.failures("bad"), Some(3));
    assert_eq!(multi.failures("good"), Some(0));
    assert_eq!(multi.failures("absent"), None);
    assert_eq!(multi.name(), "multi[bad,good]");
    assert!(multi.shutdown().is_ok(), "both children shut down");

    // Exporters behind a Box or an Arc behave as themselves.
    let shared: Arc<dyn Exporter> = Arc::new(good.clone());
    let boxed: Box<dyn Exporter> = Box::new(shared.clone());
    assert_eq!((shared.name(), boxed.name()), ("good", "good"));
    boxed.export(&r.snapshot()).unwrap();
    assert!(boxed.shutdown().is_ok() && shared.shutdown().is_ok());
    assert_eq!(good.seen.lock().unwrap().len(), 4);
}

/// A child whose shutdown fails is named in the multi exporter's error.
#[test]
fn multi_reports_children_whose_shutdown_fails() {
    struct FailsShutdown;
    impl Exporter for FailsShutdown {
        fn name(&self) -> &str {
            "stubborn"
        }
        fn export(&self, _: &Snapshot) -> Result<(), Error> {
            Ok(())
        }
        fn shutdown(&self) -> Result<(), Error> {
            Err(Error::Status { exporter: "stubborn".into(), status: 500, message: "no".into(), retryable: false })
        }
    }
    let multi = MultiExporter::new(vec![Box::new(FailsShutdown), Box::new(Scripted::new("fine", 0, true))]);
    assert!(matches!(multi.shutdown(), Err(Error::Partial(names)) if names == ["stubborn"]));
}

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.target() == "sonde::metrics" {
            self.0.lock().unwrap().push(format!("{}", record.args()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn logger_writes_one_readable_line_per_series() {
    static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let r = Registry::builder().self_metrics(false).build().unwrap();
    r.counter("requests_total").labels(["method"]).register().unwrap().with(&["GET"]).inc_by(1027);
    r.histogram("latency_seconds").register().unwrap().observe(0.5);
    r.histogram("idle_seconds").register().unwrap();
    r.counter("ratio_total").register().unwrap().add(0.25);
    r.gauge("temperature_celsius").register().unwrap().set(-3.5);
    let sizes = r.summary("payload_bytes").register().unwrap();
    sizes.observe(10.0);
    LoggerExporter::new().export(&r.snapshot()).unwrap();
    LoggerExporter::new().level(log::Level::Warn).export(&r.snapshot()).unwrap();
    let lines = CAPTURE.0.lock().unwrap().clone();
    assert!(lines.contains(&"requests_total{method=\"GET\"} 1027".to_string()), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("latency_seconds count=1 sum=0.5 mean=0.5")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "idle_seconds count=0 sum=0 mean=NaN"), "{lines:?}");
    assert!(lines.contains(&"ratio_total 0.25".to_string()), "{lines:?}");
    assert!(lines.contains(&"temperature_celsius -3.5".to_string()), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("payload_bytes count=1 sum=10 p0.5=")), "{lines:?}");
    assert_eq!(lines.len(), 12, "six series, logged twice (info, then warn): {lines:?}");
}

#[test]
fn json_file_is_written_atomically_with_the_collector_shape() {
    let path = std::env::temp_dir().join(format!("sonde-export-{}.json", std::process::id()));
    let r = Registry::new();
    r.counter("requests_total").register().unwrap().inc_by(3);
    let e = JsonFileExporter::new(&path);
    e.export(&r.snapshot()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["metrics"]["requests_total"]["value"], 3);
    assert_eq!(doc["running"], true);
    assert!(doc["timestamp"].as_f64().unwrap() > 1.6e9);
    std::fs::remove_file(&path).unwrap();
    let blocked = JsonFileExporter::new(std::env::temp_dir());
    assert!(matches!(blocked.export(&r.snapshot()), Err(Error::Io { .. })), "a directory in the way is an error");
}
