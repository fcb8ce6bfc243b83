//! The traces the dashboard shows, as it asks for them: a filter for the
//! trace list, a line of it, and one span of a trace. Sources map their
//! own stores onto these.

use serde::Serialize;

/// Which traces to list, and in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Only this service (of the root span).
    pub service: Option<String>,
    /// Only root names containing this text.
    pub name: Option<String>,
    /// Only traces with an error.
    pub errors_only: bool,
    /// Only traces at least this long.
    pub min_duration_nanos: u64,
    /// Slowest first instead of latest first.
    pub slowest_first: bool,
    /// At most this many (0 means 100).
    pub limit: usize,
}

/// One line of the trace list.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TraceSummary {
    /// Lowercase hex.
    pub trace_id: String,
    /// The root span's name (or the earliest span's, while the root is
    /// missing).
    pub name: String,
    /// The root span's service.
    pub service: String,
    /// Earliest start (Unix ns).
    pub start_unix_nanos: u64,
    /// Latest end minus earliest start.
    pub duration_nanos: u64,
    /// Spans kept for this trace.
    pub spans: usize,
    /// Whether any span has status Error.
    pub error: bool,
}

/// One span of a trace: the sender's service, and the span in OTLP/JSON
/// (hex ids, lowerCamelCase fields), as the page draws it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SpanRecord {
    /// The sender's `service.name`.
    pub service: String,
    /// The span.
    pub span: serde_json::Value,
}
