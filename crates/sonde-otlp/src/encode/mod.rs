//! Sonde's data as OTLP messages (the official generated types).

mod common;
mod logs;
mod metrics;
mod traces;

pub(crate) use common::resource;
pub use logs::logs_request;
pub use metrics::MetricEncoder;
pub use traces::{traces_request, TraceEncoder};
