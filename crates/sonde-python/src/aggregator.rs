//! Spec 000's `MetricAggregator` and `HistogramBucket`: in-process
//! counters, gauges and histograms by name, on Sonde's instruments.
//! Unlike the document's (which is not thread-safe), this aggregator may be
//! shared between threads: every series is a Sonde instrument, and the maps
//! from names to them are behind read-write locks taken only to look up.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::instrument::{text, value_error};

/// Spec 000's default boundaries: 5 ms to 10 s.
const DEFAULT_BOUNDARIES: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A histogram with fixed boundaries and an overflow slot (spec 000).
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct HistogramBucket {
    /// The boundaries as given (their `str()` names the `le_*` keys).
    boundaries: Py<PyList>,
    histogram: sonde::Histogram,
}

impl HistogramBucket {
    fn with_defaults(py: Python<'_>) -> PyResult<Self> {
        Self::new(py, None)
    }
}

#[pymethods]
impl HistogramBucket {
    /// A histogram with these ascending boundaries (default
    /// `[0.005, ..., 10.0]`); values above the last go to the overflow slot.
    #[new]
    #[pyo3(signature = (boundaries = None))]
    fn new(py: Python<'_>, boundaries: Option<Bound<'_, PyList>>) -> PyResult<Self> {
        let boundaries = match boundaries {
            Some(b) => b,
            None => PyList::new(py, DEFAULT_BOUNDARIES)?,
        };
        let bounds: Vec<f64> = boundaries.extract()?;
        let histogram = sonde::Histogram::new(sonde::Buckets::new(bounds).map_err(value_error)?);
        Ok(Self { boundaries: boundaries.unbind(), histogram })
    }

    /// Counts `value` into the first bucket whose boundary is at least it,
    /// or the overflow slot.
    fn observe(&self, value: f64) {
        self.histogram.observe(value);
    }

    /// The boundaries.
    #[getter]
    fn boundaries<'py>(&self, py: Python<'py>) -> Bound<'py, PyList> {
        self.boundaries.bind(py).clone()
    }

    /// Observations per bucket (not cumulative): one per boundary, then the
    /// overflow slot.
    #[getter]
    fn counts(&self) -> Vec<u64> {
        per_bucket(&self.histogram.snapshot())
    }

    /// Number of observations.
    #[getter]
    fn total_count(&self) -> u64 {
        self.histogram.snapshot().count
    }

    /// Sum of observations.
    #[getter]
    fn total_sum(&self) -> f64 {
        self.histogram.snapshot().sum
    }

    /// Mean observation (0 before the first).
    #[getter]
    fn mean(&self) -> f64 {
        let s = self.histogram.snapshot();
        s.sum / (s.count.max(1) as f64)
    }

    /// `{"buckets": {"le_0.005": n, ..., "le_inf": n}, "count", "sum", "mean"}`,
    /// bucket counts per bucket as in `counts`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.histogram.snapshot();
        let counts = per_bucket(&s);
        let buckets = PyDict::new(py);
        for (b, c) in self.boundaries.bind(py).iter().zip(&counts) {
            buckets.set_item(format!("le_{}", b.str()?), c)?;
        }
        buckets.set_item("le_inf", counts.last().copied().unwrap_or(0))?;
        let d = PyDict::new(py);
        d.set_item("buckets", buckets)?;
        d.set_item("count", s.count)?;
        d.set_item("sum", s.sum)?;
        let mean = s.sum / (s.count.max(1) as f64);
        d.set_item("mean", (mean * 1e6).round() / 1e6)?;
        Ok(d)
    }
}

fn per_bucket(s: &sonde::HistogramSnapshot) -> Vec<u64> {
    let mut previous = 0;
    s.cumulative
        .iter()
        .map(|&c| {
            let n = c - previous;
            previous = c;
            n
        })
        .collect()
}

#[derive(Default)]
struct Counters {
    totals: HashMap<String, sonde::Counter>,
    /// Per name, per `k=v,k=v` key (label names sorted).
    labeled: HashMap<String, HashMap<String, sonde::Counter>>,
}

/// Spec 000's local aggregator of counters (with optional labels), gauges
/// and histograms, keyed by name. Thread-safe.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct MetricAggregator {
    counters: RwLock<Counters>,
    gauges: RwLock<HashMap<String, sonde::Gauge>>,
    histograms: RwLock<HashMap<String, Py<HistogramBucket>>>,
}

fn label_key(labels: &Bound<'_, PyDict>) -> PyResult<String> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(labels.len());
    for (k, v) in labels.iter() {
        pairs.push((text(&k)?, text(&v)?));
    }
    pairs.sort_unstable();
    Ok(pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn get_or_insert<'m, T: Clone>(map: &'m mut HashMap<String, T>, name: &str, make: impl FnOnce() -> T) -> &'m T {
    if !map.contains_key(name) {
        map.insert(name.to_owned(), make());
    }
    &map[name]
}

#[pymethods]
impl MetricAggregator {
    #[new]
    fn new() -> Self {
        Self { counters: RwLock::default(), gauges: RwLock::default(), histograms: RwLock::default() }
    }

    /// Adds `value` to the counter `name`; with `labels`, also to its
    /// series for those labels (kept separately, keyed `k=v,k=v`). A
    /// negative or NaN value is dropped and counted, as by any Sonde counter.
    #[pyo3(signature = (name, value = 1.0, labels = None))]
    fn increment(&self, name: &str, value: f64, labels: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let key = labels.filter(|l| !l.is_empty()).map(label_key).transpose()?;
        {
            let c = read(&self.counters);
            if let Some(total) = c.totals.get(name) {
                let labeled = key.as_ref().map(|k| c.labeled.get(name).and_then(|m| m.get(k)));
                match labeled {
                    None => {
                        total.add(value);
                        return Ok(());
                    }
                    Some(Some(series)) => {
                        total.add(value);
                        series.add(value);
                        return Ok(());
                    }
                    Some(None) => {}
                }
            }
        }
        let mut c = write(&self.counters);
        get_or_insert(&mut c.totals, name, sonde::Counter::new).add(value);
        if let Some(key) = key {
            let by_key = c.labeled.entry(name.to_owned()).or_default();
            get_or_insert(by_key, &key, sonde::Counter::new).add(value);
        }
        Ok(())
    }

    /// Sets the gauge `name` to `value`.
    fn set_gauge(&self, name: &str, value: f64) {
        if let Some(g) = read(&self.gauges).get(name) {
            g.set(value);
            return;
        }
        get_or_insert(&mut write(&self.gauges), name, sonde::Gauge::new).set(value);
    }

    /// Counts `value` into the histogram `name` (default boundaries).
    fn observe(&self, py: Python<'_>, name: &str, value: f64) -> PyResult<()> {
        if let Some(h) = read(&self.histograms).get(name) {
            h.get().observe(value);
            return Ok(());
        }
        let fresh = Py::new(py, HistogramBucket::with_defaults(py)?)?;
        let mut map = write(&self.histograms);
        map.entry(name.to_owned()).or_insert(fresh).get().observe(value);
        Ok(())
    }

    /// The counter's total (0 if it was never incremented).
    fn get_counter(&self, name: &str) -> f64 {
        read(&self.counters).totals.get(name).map_or(0.0, |c| c.value())
    }

    /// The gauge's value (0 if it was never set).
    fn get_gauge(&self, name: &str) -> f64 {
        read(&self.gauges).get(name).map_or(0.0, |g| g.value())
    }

    /// The histogram `name`, or None.
    fn get_histogram(&self, py: Python<'_>, name: &str) -> Option<Py<HistogramBucket>> {
        read(&self.histograms).get(name).map(|h| h.clone_ref(py))
    }

    /// The counter's labeled series: `{"k=v,k=v": total}`.
    fn get_labeled_counters(&self, name: &str) -> HashMap<String, f64> {
        read(&self.counters)
            .labeled
            .get(name)
            .map(|m| m.iter().map(|(k, c)| (k.clone(), c.value())).collect())
            .unwrap_or_default()
    }

    /// Per-second rate of the counter since its first increment (0 if it
    /// was never incremented).
    fn counter_rate(&self, name: &str) -> f64 {
        read(&self.counters).totals.get(name).map_or(0.0, |c| c.rate())
    }

    /// `{"counters", "gauges", "histograms", "labeled_counters", "timestamp"}`:
    /// values by name, histograms as `HistogramBucket.to_dict()`, the time
    /// of the snapshot in Unix seconds.
    fn get_snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let counters = PyDict::new(py);
        let labeled = PyDict::new(py);
        {
            let c = read(&self.counters);
            for (name, counter) in &c.totals {
                counters.set_item(name, counter.value())?;
            }
            for (name, by_key) in &c.labeled {
                let m = PyDict::new(py);
                for (k, counter) in by_key {
                    m.set_item(k, counter.value())?;
                }
                labeled.set_item(name, m)?;
            }
        }
        let gauges = PyDict::new(py);
        for (name, g) in read(&self.gauges).iter() {
            gauges.set_item(name, g.value())?;
        }
        let histograms = PyDict::new(py);
        let held: Vec<(String, Py<HistogramBucket>)> =
            read(&self.histograms).iter().map(|(k, v)| (k.clone(), v.clone_ref(py))).collect();
        for (name, h) in held {
            histograms.set_item(name, h.get().to_dict(py)?)?;
        }
        d.set_item("counters", counters)?;
        d.set_item("gauges", gauges)?;
        d.set_item("histograms", histograms)?;
        d.set_item("labeled_counters", labeled)?;
        d.set_item("timestamp", now())?;
        Ok(d)
    }

    /// Clears counters (with their labeled series and first-increment
    /// times) and histograms; gauges keep their values.
    fn reset(&self) {
        *write(&self.counters) = Counters::default();
        write(&self.histograms).clear();
    }

    /// Clears everything, gauges included.
    fn reset_all(&self) {
        self.reset();
        write(&self.gauges).clear();
    }

    /// Every name in use, sorted.
    #[getter]
    fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.counters).totals.keys().cloned().collect();
        names.extend(read(&self.gauges).keys().cloned());
        names.extend(read(&self.histograms).keys().cloned());
        names.sort_unstable();
        names.dedup();
        names
    }
}
