//! Sonde from Python: `#[pyclass]`es over Sonde's handles, exposed as the
//! `sonde._native` extension module. The Python modules in `python/sonde/`
//! give each specification document its own names on top of them:
//! `sonde.aggregator` (spec 000), `sonde.telemetry` (002),
//! `sonde.collector` (003) and `sonde.specs` (004).
//!
//! Recording (`inc`, `observe`, `incr`) holds the GIL for the few
//! nanoseconds Sonde's instruments take; exposition, textfile writes,
//! flushes and server start and stop release it.

mod aggregator;
mod events;
mod instrument;
mod metrics;
mod otlp;
mod registry;
mod servers;
mod statsd;
mod traces;
mod tracing;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<registry::Registry>()?;
    m.add_class::<metrics::Counter>()?;
    m.add_class::<metrics::Gauge>()?;
    m.add_class::<metrics::Histogram>()?;
    m.add_class::<aggregator::MetricAggregator>()?;
    m.add_class::<aggregator::HistogramBucket>()?;
    m.add_class::<statsd::StatsdClient>()?;
    m.add_class::<tracing::Tracer>()?;
    m.add_class::<tracing::Span>()?;
    m.add_class::<tracing::SpanContextHandle>()?;
    m.add_function(wrap_pyfunction!(tracing::current_span, m)?)?;
    m.add_class::<events::EventLog>()?;
    m.add_class::<servers::MetricsServer>()?;
    m.add_class::<servers::DashboardServer>()?;
    m.add_class::<servers::OtlpMetricExport>()?;
    Ok(())
}
