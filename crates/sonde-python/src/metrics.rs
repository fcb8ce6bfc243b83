//! `Counter`, `Gauge` and `Histogram`: Python handles over Sonde's
//! instruments. One class per kind carries the method names every document
//! uses for it (prometheus_client's `inc`, spec 003's `increment`,
//! OpenTelemetry's `add` and `record`), so each module hands out the same
//! handles; a handle bound to one series (`labels()`, or an instrument
//! without labels) records without any lookup.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use sonde::Metric;

use crate::instrument::{Instrument, MAX_CHILDREN};

/// A counter: a total that only goes up.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct Counter {
    pub(crate) instrument: Arc<Instrument<sonde::Counter>>,
    pub(crate) series: Option<sonde::Counter>,
}

/// A gauge: a value that is set, or goes up and down.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct Gauge {
    pub(crate) instrument: Arc<Instrument<sonde::Gauge>>,
    pub(crate) series: Option<sonde::Gauge>,
}

/// A histogram: observations counted into buckets, with their sum.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct Histogram {
    pub(crate) instrument: Arc<Instrument<sonde::Histogram>>,
    pub(crate) series: Option<sonde::Histogram>,
}

fn non_negative(amount: f64) -> PyResult<f64> {
    if amount < 0.0 {
        return Err(PyValueError::new_err(format!("counters only go up: cannot add {amount}")));
    }
    Ok(amount)
}

macro_rules! shared_methods {
    ($class:ident, $metric:ty, $kind:literal) => {
        impl $class {
            pub(crate) fn bound(instrument: Arc<Instrument<$metric>>) -> Self {
                let series = instrument.family().and_then(|d| d.unlabeled.clone());
                Self { instrument, series }
            }

            #[inline]
            fn with<R>(&self, attributes: Option<&Bound<'_, PyDict>>, f: impl FnOnce(&$metric) -> R) -> PyResult<R> {
                match (&self.series, attributes) {
                    (Some(series), None) => Ok(f(series)),
                    _ => self.instrument.with_attributes(attributes, f),
                }
            }
        }

        #[pymethods]
        impl $class {
            /// The metric's name.
            #[getter]
            fn name(&self) -> &str {
                &self.instrument.name
            }

            /// The kind: `counter`, `gauge` or `histogram`.
            #[getter]
            fn kind(&self) -> &'static str {
                $kind
            }

            /// The label names (empty before a lazily declared instrument's
            /// first use).
            #[getter]
            fn label_names(&self) -> Vec<String> {
                self.instrument.family().map(|d| d.label_names.clone()).unwrap_or_default()
            }

            /// The handle of one series, by label values in declared order or
            /// by name (prometheus_client's `labels()`).
            /// Handles made from values by position are kept for reuse.
            #[pyo3(signature = (*values, **names))]
            fn labels(
                &self,
                py: Python<'_>,
                values: &Bound<'_, PyTuple>,
                names: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Py<Self>> {
                let by_position = names.is_none_or(|n| n.is_empty()) && !values.is_empty();
                let children = self.instrument.children.bind(py);
                if by_position {
                    if let Some(hit) = children.get_item(values)? {
                        return Ok(hit.cast_into::<Self>()?.unbind());
                    }
                }
                let series = self.instrument.bind(values, names)?;
                let child = Py::new(py, Self { instrument: self.instrument.clone(), series: Some(series) })?;
                if by_position {
                    if children.len() >= MAX_CHILDREN {
                        children.clear();
                    }
                    children.set_item(values, &child)?;
                }
                Ok(child)
            }

            /// Zeroes this handle's series (or, for a family handle, the
            /// series without labels).
            fn reset(&self) -> PyResult<()> {
                self.with(None, |s| s.reset())
            }

            fn __repr__(&self) -> String {
                format!("{}({:?})", stringify!($class), self.instrument.name)
            }
        }
    };
}

shared_methods!(Counter, sonde::Counter, "counter");
shared_methods!(Gauge, sonde::Gauge, "gauge");
shared_methods!(Histogram, sonde::Histogram, "histogram");

#[pymethods]
impl Counter {
    /// Adds `amount` (default 1); a negative amount raises `ValueError`.
    #[pyo3(signature = (amount = 1.0))]
    #[inline]
    fn inc(&self, amount: f64) -> PyResult<()> {
        let amount = non_negative(amount)?;
        self.with(None, |s| s.add(amount))
    }

    /// Adds `value` (default 1), as spec 003 names it.
    #[pyo3(signature = (value = 1.0))]
    fn increment(&self, value: f64) -> PyResult<()> {
        self.inc(value)
    }

    /// Adds `amount` to the series of `attributes` (OpenTelemetry's
    /// `add`). A negative or NaN amount is dropped and counted in
    /// `sonde_dropped_values_total`.
    #[pyo3(signature = (amount, attributes = None))]
    fn add(&self, amount: f64, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.with(attributes, |s| s.add(amount))
    }

    /// The series' total.
    #[pyo3(signature = (attributes = None))]
    fn value(&self, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<f64> {
        self.with(attributes, |s| s.value())
    }

    /// Per-second rate of the series since its first increment.
    fn rate(&self) -> PyResult<f64> {
        self.with(None, |s| s.rate())
    }

    /// A context manager and decorator that counts the blocks (or calls)
    /// raising `exception` (default: any `Exception`), as
    /// prometheus_client's `count_exceptions`.
    #[pyo3(signature = (exception = None))]
    fn count_exceptions<'py>(
        slf: &Bound<'py, Self>,
        exception: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let kind = match exception {
            Some(e) => e,
            None => py.get_type::<pyo3::exceptions::PyException>().into_any(),
        };
        guard(py, "ExceptionCounter", (slf.getattr("inc")?, kind))
    }
}

/// One of `sonde._guards`' context managers over a bound method.
fn guard<'py>(py: Python<'py>, class: &str, args: impl pyo3::call::PyCallArgs<'py>) -> PyResult<Bound<'py, PyAny>> {
    py.import("sonde._guards")?.getattr(class)?.call1(args)
}

#[pymethods]
impl Gauge {
    /// Sets the value (of the series of `attributes`, if given).
    #[pyo3(signature = (value, attributes = None))]
    #[inline]
    fn set(&self, value: f64, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.with(attributes, |s| s.set(value))
    }

    /// Adds `amount` (default 1).
    #[pyo3(signature = (amount = 1.0))]
    fn inc(&self, amount: f64) -> PyResult<()> {
        self.with(None, |s| s.add(amount))
    }

    /// Subtracts `amount` (default 1).
    #[pyo3(signature = (amount = 1.0))]
    fn dec(&self, amount: f64) -> PyResult<()> {
        self.with(None, |s| s.sub(amount))
    }

    /// Adds `value` (default 1), as spec 003 names it.
    #[pyo3(signature = (value = 1.0))]
    fn increment(&self, value: f64) -> PyResult<()> {
        self.inc(value)
    }

    /// Subtracts `value` (default 1), as spec 003 names it.
    #[pyo3(signature = (value = 1.0))]
    fn decrement(&self, value: f64) -> PyResult<()> {
        self.dec(value)
    }

    /// Adds `amount` to the series of `attributes` (an up-down counter's
    /// `add`).
    #[pyo3(signature = (amount, attributes = None))]
    fn add(&self, amount: f64, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.with(attributes, |s| s.add(amount))
    }

    /// Sets the value to the current Unix time in seconds.
    fn set_to_current_time(&self) -> PyResult<()> {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        self.with(None, |s| s.set(now))
    }

    /// The series' value.
    #[pyo3(signature = (attributes = None))]
    fn value(&self, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<f64> {
        self.with(attributes, |s| s.value())
    }

    /// A context manager and decorator that sets the gauge to the seconds
    /// a block (or call) took, as prometheus_client's `Gauge.time()`.
    fn time<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        guard(slf.py(), "Timer", (slf.getattr("set")?,))
    }

    /// A context manager and decorator that adds one while a block (or
    /// call) runs, as prometheus_client's `track_inprogress`.
    fn track_inprogress<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        guard(slf.py(), "InProgress", (slf.getattr("inc")?,))
    }
}

#[pymethods]
impl Histogram {
    /// Counts `value` into its bucket. NaN is dropped and counted.
    #[inline]
    fn observe(&self, value: f64) -> PyResult<()> {
        self.with(None, |s| s.observe(value))
    }

    /// A context manager and decorator that observes the seconds a block
    /// (or call) took, as prometheus_client's `Histogram.time()`.
    fn time<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        guard(slf.py(), "Timer", (slf.getattr("observe")?,))
    }

    /// Counts `value` into the series of `attributes` (OpenTelemetry's
    /// `record`).
    #[pyo3(signature = (value, attributes = None))]
    fn record(&self, value: f64, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.with(attributes, |s| s.observe(value))
    }

    /// The series' upper bounds (ending with `inf`), cumulative counts,
    /// sum and count: `{"buckets": (..), "counts": [..], "sum": s, "count": n}`.
    #[pyo3(signature = (attributes = None))]
    fn snapshot<'py>(&self, py: Python<'py>, attributes: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyDict>> {
        let snap = self.with(attributes, |s| s.snapshot())?;
        histogram_dict(py, &snap)
    }
}

/// A histogram snapshot as spec 004's `HistogramSnapshot`.
pub(crate) fn histogram_dict<'py>(py: Python<'py>, snap: &sonde::HistogramSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let mut bounds: Vec<f64> = snap.bounds.to_vec();
    bounds.push(f64::INFINITY);
    let mut counts = snap.cumulative.clone();
    if counts.len() < bounds.len() {
        counts.push(snap.count);
    }
    d.set_item("buckets", PyTuple::new(py, bounds)?)?;
    d.set_item("counts", counts)?;
    d.set_item("sum", snap.sum)?;
    d.set_item("count", snap.count)?;
    Ok(d)
}
