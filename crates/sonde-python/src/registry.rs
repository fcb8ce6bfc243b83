//! `Registry`: where a module's instruments are declared, and what its
//! exposition, textfile, snapshot and servers read.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sonde::{Family, Metric};
use std::path::PathBuf;

use crate::instrument::{text, value_error, Instrument};
use crate::metrics::{histogram_dict, Counter, Gauge, Histogram};

/// A registry of instruments (Sonde's `Registry`).
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct Registry(pub(crate) sonde::Registry);

fn const_labels(registry: &sonde::Registry, labels: Option<&Bound<'_, PyDict>>) -> PyResult<sonde::Registry> {
    let Some(labels) = labels.filter(|l| !l.is_empty()) else { return Ok(registry.clone()) };
    let mut pairs = Vec::with_capacity(labels.len());
    for (k, v) in labels.iter() {
        pairs.push((text(&k)?, text(&v)?));
    }
    registry.with_labels(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(value_error)
}

fn buckets_of(bounds: Option<Vec<f64>>) -> PyResult<Option<sonde::Buckets>> {
    bounds.map(|b| sonde::Buckets::new(b).map_err(value_error)).transpose()
}

impl Registry {
    /// An instrument `declare` makes in this registry (with `const_labels`
    /// on every series), now or at first use (see `Instrument`).
    fn instrument<M: Metric + Clone>(
        &self,
        py: Python<'_>,
        name: &str,
        help: &str,
        labels: Option<Vec<String>>,
        const_labels: Option<&Bound<'_, PyDict>>,
        declare: impl Fn(&sonde::Registry, &str, &str, &[String]) -> sonde::Result<Family<M>> + Send + Sync + 'static,
    ) -> PyResult<Arc<Instrument<M>>> {
        let registry = self::const_labels(&self.0, const_labels)?;
        let (name_owned, help) = (name.to_owned(), help.to_owned());
        Instrument::new(py, name, labels, Box::new(move |names| declare(&registry, &name_owned, &help, names)))
    }
}

#[pymethods]
impl Registry {
    /// An empty registry; with `self_metrics`, Sonde's own `sonde_*`
    /// metrics are in its snapshots too.
    #[new]
    #[pyo3(signature = (self_metrics = false))]
    fn new(self_metrics: bool) -> PyResult<Self> {
        sonde::Registry::builder().self_metrics(self_metrics).build().map(Self).map_err(value_error)
    }

    /// Declares (or gets) a counter. `labels`: the label names (None:
    /// taken from the first attributes it records with); `const_labels`:
    /// labels every series carries.
    #[pyo3(signature = (name, help = "", labels = None, const_labels = None))]
    fn counter(
        &self,
        py: Python<'_>,
        name: &str,
        help: &str,
        labels: Option<Vec<String>>,
        const_labels: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Counter> {
        let instrument = self.instrument(py, name, help, labels, const_labels, |r, name, help, names| {
            r.counter(name).help(help).labels(names).register()
        })?;
        Ok(Counter::bound(instrument))
    }

    /// Declares (or gets) a gauge; arguments as for `counter`.
    #[pyo3(signature = (name, help = "", labels = None, const_labels = None))]
    fn gauge(
        &self,
        py: Python<'_>,
        name: &str,
        help: &str,
        labels: Option<Vec<String>>,
        const_labels: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Gauge> {
        let instrument = self.instrument(py, name, help, labels, const_labels, |r, name, help, names| {
            r.gauge(name).help(help).labels(names).register()
        })?;
        Ok(Gauge::bound(instrument))
    }

    /// Declares (or gets) a histogram with these finite upper bounds (a
    /// trailing `inf` is implied; default: Prometheus' default seconds
    /// buckets); other arguments as for `counter`.
    #[pyo3(signature = (name, help = "", labels = None, buckets = None, const_labels = None))]
    fn histogram(
        &self,
        py: Python<'_>,
        name: &str,
        help: &str,
        labels: Option<Vec<String>>,
        buckets: Option<Vec<f64>>,
        const_labels: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Histogram> {
        let buckets = buckets_of(buckets)?.unwrap_or_else(sonde::Buckets::default_seconds);
        let instrument = self.instrument(py, name, help, labels, const_labels, move |r, name, help, names| {
            r.histogram(name).help(help).buckets(buckets.clone()).labels(names).register()
        })?;
        Ok(Histogram::bound(instrument))
    }

    /// Removes the family `name`; true if it existed. Handles to it keep
    /// working but are no longer exported.
    fn unregister(&self, name: &str) -> bool {
        self.0.unregister(name)
    }

    /// Names of the declared families.
    fn names(&self) -> Vec<String> {
        self.0.names()
    }

    /// Zeroes counters and histograms; gauges keep their values.
    fn reset(&self) {
        self.0.reset();
    }

    /// Zeroes every series, gauges included.
    fn reset_all(&self) {
        self.0.reset_all();
    }

    /// Per-second rate of the counter `name` since its first increment
    /// (None if there is no such counter).
    fn counter_rate(&self, name: &str) -> Option<f64> {
        self.0.counter_rate(name)
    }

    /// The Prometheus text exposition (0.0.4) of every family.
    fn prometheus_text(&self, py: Python<'_>) -> String {
        py.detach(|| sonde::encode::prometheus_text(&self.0.snapshot()))
    }

    /// The OpenMetrics text exposition of every family.
    fn openmetrics_text(&self, py: Python<'_>) -> String {
        py.detach(|| sonde::encode::openmetrics(&self.0.snapshot()))
    }

    /// Writes the Prometheus text exposition to `path` atomically (through
    /// `<path>.tmp`, fsynced, renamed over `path`), creating missing
    /// directories. Raises `OSError` when it cannot.
    fn write_textfile(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| sonde_prometheus::write_textfile(&self.0.snapshot(), &path))
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
    }

    /// Every family as a dict: `name`, `kind`, `help`, and `series`, a list
    /// of `{"labels": {..}, "value": v}` (histograms: `buckets`, `counts`,
    /// `sum`, `count` instead of `value`).
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snap = py.detach(|| self.0.snapshot());
        let out = PyList::empty(py);
        for family in &snap.families {
            let f = PyDict::new(py);
            f.set_item("name", &family.name)?;
            f.set_item("kind", family.kind.as_str())?;
            f.set_item("help", &family.help)?;
            let series = PyList::empty(py);
            for s in family.series() {
                let d = PyDict::new(py);
                let labels = PyDict::new(py);
                for (k, v) in s.labels() {
                    labels.set_item(k, v)?;
                }
                match s.value() {
                    sonde::SeriesValue::Counter { value, .. } | sonde::SeriesValue::Gauge(value) => {
                        d.set_item("value", *value)?;
                    }
                    sonde::SeriesValue::Histogram { .. } => {
                        if let Some(h) = s.histogram() {
                            d.update(histogram_dict(py, &h)?.as_mapping())?;
                        }
                    }
                    _ => {}
                }
                d.set_item("labels", labels)?;
                series.append(d)?;
            }
            f.set_item("series", series)?;
            out.append(f)?;
        }
        Ok(out)
    }
}
