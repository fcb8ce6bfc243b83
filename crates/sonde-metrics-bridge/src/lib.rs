//! A [`metrics::Recorder`] backed by a Sonde registry, so that code
//! instrumented with `metrics::counter!`, `gauge!` and `histogram!` (in
//! your crate or any library) lands in Sonde with its labels,
//! descriptions and units.
//!
//! ```
//! let registry = sonde::Registry::new();
//! let recorder = sonde_metrics_bridge::SondeRecorder::new(registry.clone());
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("jobs_total", "Jobs run.");
//!     metrics::counter!("jobs_total", "queue" => "email").increment(3);
//!     metrics::histogram!("job_seconds").record(0.25);
//! });
//! let snap = registry.snapshot();
//! let jobs = snap.family("jobs").unwrap();
//! assert_eq!(jobs.help, "Jobs run.");
//! assert_eq!(jobs.find(&["email"]).unwrap().value().as_f64(), 3.0);
//! ```
//!
//! Each `metrics` key becomes a family named after the key, with the key's
//! label names (sorted); the handle a call site receives is a bound Sonde
//! child, so repeated calls through it skip every lookup. Describe metrics
//! before first use to give them help text and, for histograms, a unit
//! whose preset buckets apply (`seconds`, `milliseconds`, `bytes`). A key
//! that reuses a name with a different kind or label set cannot be a
//! Prometheus series; it gets a no-op handle and is counted in
//! [`SondeRecorder::rejected`].

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use sonde::Registry;

/// `metrics::Key` carries a precomputed hash and feeds only that to the
/// hasher; pass it through instead of hashing it again.
#[derive(Default)]
struct KeyHash(u64);

impl std::hash::Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

type KeyMap<V> = RwLock<HashMap<Key, V, BuildHasherDefault<KeyHash>>>;

/// The recorder; install it with `metrics::set_global_recorder`.
pub struct SondeRecorder {
    registry: Registry,
    described: Mutex<HashMap<String, (String, Option<Unit>)>>,
    rejected: AtomicU64,
    counters: KeyMap<Counter>,
    gauges: KeyMap<Gauge>,
    histograms: KeyMap<Histogram>,
}

/// The handle cached for `key`, or `make()`'s, remembered.
fn cached<V: Clone>(map: &KeyMap<V>, key: &Key, make: impl FnOnce() -> V) -> V {
    if let Some(v) = map.read().unwrap_or_else(|p| p.into_inner()).get(key) {
        return v.clone();
    }
    let mut w = map.write().unwrap_or_else(|p| p.into_inner());
    w.entry(key.clone()).or_insert_with(make).clone()
}

impl SondeRecorder {
    /// A recorder that records into `registry`.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            described: Mutex::new(HashMap::new()),
            rejected: AtomicU64::new(0),
            counters: RwLock::default(),
            gauges: RwLock::default(),
            histograms: RwLock::default(),
        }
    }

    /// Keys refused because their name was taken with another kind or label set.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.described
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.as_str().to_owned(), (description.to_string(), unit));
    }

    fn help_and_unit(&self, name: &str) -> (String, Option<Unit>) {
        self.described.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned().unwrap_or_default()
    }

    fn reject(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
}

/// Label names (sorted) and values in the same order.
fn labels(key: &Key) -> (Vec<String>, Vec<String>) {
    let mut pairs: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).unzip()
}

fn values(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

struct CounterHandle(sonde::Counter);

impl CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        self.0.inc_by(value);
    }

    fn absolute(&self, value: u64) {
        let current = self.0.exact().unwrap_or(self.0.value() as u64);
        if value > current {
            self.0.inc_by(value - current);
        }
    }
}

struct GaugeHandle(sonde::Gauge);

impl GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

struct HistogramHandle(sonde::Histogram);

impl HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

fn unit_name(unit: Option<Unit>) -> Option<&'static str> {
    match unit? {
        Unit::Seconds => Some("seconds"),
        Unit::Milliseconds => Some("milliseconds"),
        Unit::Bytes => Some("bytes"),
        _ => None,
    }
}

impl Recorder for SondeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        cached(&self.counters, key, || self.make_counter(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        cached(&self.gauges, key, || self.make_gauge(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        cached(&self.histograms, key, || self.make_histogram(key))
    }
}

impl SondeRecorder {
    fn make_counter(&self, key: &Key) -> Counter {
        let (names, vals) = labels(key);
        let (help, _) = self.help_and_unit(key.name());
        match self.registry.counter(key.name()).help(&help).labels(&names).register() {
            Ok(family) => Counter::from_arc(Arc::new(CounterHandle(family.bind(&values(&vals))))),
            Err(_) => {
                self.reject();
                Counter::noop()
            }
        }
    }

    fn make_gauge(&self, key: &Key) -> Gauge {
        let (names, vals) = labels(key);
        let (help, _) = self.help_and_unit(key.name());
        match self.registry.gauge(key.name()).help(&help).labels(&names).register() {
            Ok(family) => Gauge::from_arc(Arc::new(GaugeHandle(family.bind(&values(&vals))))),
            Err(_) => {
                self.reject();
                Gauge::noop()
            }
        }
    }

    fn make_histogram(&self, key: &Key) -> Histogram {
        let (names, vals) = labels(key);
        let (help, unit) = self.help_and_unit(key.name());
        let buckets = sonde::Buckets::for_unit(unit_name(unit));
        match self.registry.histogram(key.name()).help(&help).labels(&names).buckets(buckets).register() {
            Ok(family) => Histogram::from_arc(Arc::new(HistogramHandle(family.bind(&values(&vals))))),
            Err(_) => {
                self.reject();
                Histogram::noop()
            }
        }
    }
}
