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

/// What the trace list needs of one span (sources map their spans to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanSummary<'a> {
    /// The trace id's 16 bytes.
    pub trace_id: &'a [u8],
    /// The span's name.
    pub name: &'a str,
    /// The sender's service.
    pub service: &'a str,
    /// Start (Unix ns).
    pub start_unix_nanos: u64,
    /// End (Unix ns).
    pub end_unix_nanos: u64,
    /// Whether it has no parent.
    pub root: bool,
    /// Whether its status is Error.
    pub error: bool,
}

impl TraceFilter {
    /// The traces among `groups` (each one trace's spans) that this filter
    /// matches, latest (or slowest) first, at most `limit`: the trace list
    /// of a source that keeps spans in memory.
    pub fn list<'a>(&self, groups: impl IntoIterator<Item = Vec<SpanSummary<'a>>>) -> Vec<TraceSummary> {
        let mut out: Vec<TraceSummary> = groups
            .into_iter()
            .filter_map(|spans| {
                let first = spans.first()?;
                let root = spans.iter().find(|s| s.root).or_else(|| spans.iter().min_by_key(|s| s.start_unix_nanos));
                let start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
                let end = spans.iter().map(|s| s.end_unix_nanos).max().unwrap_or(0);
                Some(TraceSummary {
                    trace_id: first.trace_id.iter().map(|b| format!("{b:02x}")).collect(),
                    name: root.map(|s| s.name.to_owned()).unwrap_or_default(),
                    service: root.map(|s| s.service.to_owned()).unwrap_or_default(),
                    start_unix_nanos: start,
                    duration_nanos: end.saturating_sub(start),
                    spans: spans.len(),
                    error: spans.iter().any(|s| s.error),
                })
            })
            .filter(|t| self.service.as_ref().is_none_or(|s| &t.service == s))
            .filter(|t| self.name.as_ref().is_none_or(|n| t.name.contains(n.as_str())))
            .filter(|t| !self.errors_only || t.error)
            .filter(|t| t.duration_nanos >= self.min_duration_nanos)
            .collect();
        if self.slowest_first {
            out.sort_by_key(|t| std::cmp::Reverse(t.duration_nanos));
        } else {
            out.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nanos));
        }
        out.truncate(if self.limit == 0 { 100 } else { self.limit });
        out
    }
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
