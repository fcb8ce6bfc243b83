//! Encoders: pure functions from a [`crate::Snapshot`] to bytes.
//!
//! - [`prometheus_text`]: the Prometheus text format 0.0.4.
//! - [`openmetrics`]: OpenMetrics 1.0 text (`# EOF`, `_created`, units, exemplars).
//! - [`json`]: a JSON document (`timestamp`, `metrics`, ...).
//!
//! Output is deterministic: families by name, series by label values.

mod json;
mod number;
mod openmetrics;
mod prometheus_text;

pub use json::{json, json_with};
pub use openmetrics::{openmetrics, openmetrics_into};
pub use prometheus_text::{prometheus_text, prometheus_text_into};

/// `Content-Type` of [`prometheus_text`] output.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of [`openmetrics`] output.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
