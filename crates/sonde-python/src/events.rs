//! Structured events on Sonde's event log: a bounded ring of recent events
//! (what the dashboard shows), exported as OTLP log records when the
//! environment asks for it.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sonde::events::{EventLog as Log, Severity};

use crate::instrument::{text, value_error};
use crate::tracing::{current_span, key_values};

/// An event log.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct EventLog(pub(crate) Log);

fn severity(name: &str) -> PyResult<Severity> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "TRACE" => Severity::Trace,
        "DEBUG" => Severity::Debug,
        "INFO" => Severity::Info,
        "WARN" | "WARNING" => Severity::Warn,
        "ERROR" => Severity::Error,
        "FATAL" | "CRITICAL" => Severity::Fatal,
        other => return Err(PyValueError::new_err(format!("unknown severity {other:?}"))),
    })
}

#[pymethods]
impl EventLog {
    /// A log keeping the `retention` most recent events; exported over
    /// OTLP (in batches, by a background thread) when
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` or `..._LOGS_ENDPOINT` is set and
    /// `OTEL_LOGS_EXPORTER` is not `none`.
    #[new]
    #[pyo3(signature = (service_name = None, retention = 10_000))]
    fn new(service_name: Option<String>, retention: usize) -> PyResult<Self> {
        let mut builder = Log::builder().retention(retention);
        if let Some(otlp) = crate::otlp::from_env(service_name.as_deref(), "OTEL_LOGS_EXPORTER", "LOGS")? {
            builder = builder.exporter(otlp.log_exporter().map_err(value_error)?, sonde::BatchOptions::default());
        }
        Ok(Self(builder.build()))
    }

    /// Records an event: `fields` (a dict of structured values), `labels`
    /// (a dict of low-cardinality strings), stamped with the time and the
    /// current span's trace and span ids.
    #[pyo3(signature = (name, fields = None, labels = None, severity = "INFO"))]
    fn record(
        &self,
        py: Python<'_>,
        name: &str,
        fields: Option<&Bound<'_, PyDict>>,
        labels: Option<&Bound<'_, PyDict>>,
        severity: &str,
    ) -> PyResult<()> {
        let fields = key_values(fields)?;
        let mut pairs = Vec::new();
        if let Some(labels) = labels {
            for (k, v) in labels.iter() {
                pairs.push((text(&k)?, text(&v)?));
            }
        }
        let context = current_span(py)?.map(|s| s.borrow(py).span_context());
        self.0.record_in(
            context.as_ref(),
            self::severity(severity)?,
            name,
            fields,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        Ok(())
    }

    /// Events recorded since the log was made.
    fn recorded(&self) -> u64 {
        self.0.recorded()
    }

    /// The `limit` most recent events, oldest first, as dicts (`name`,
    /// `severity`, `time_unix_nano`, `fields`, `labels`, `trace_id`, `span_id`).
    #[pyo3(signature = (limit = 100))]
    fn recent<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyList>> {
        let loads = py.import("json")?.getattr("loads")?;
        let out = PyList::empty(py);
        for e in self.0.recent(limit) {
            out.append(loads.call1((e.to_json().to_string(),))?)?;
        }
        Ok(out)
    }

    /// Sends every queued event now; waits at most `timeout` seconds.
    #[pyo3(signature = (timeout = 5.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        py.detach(|| self.0.flush(timeout)).map_err(value_error)
    }
}
