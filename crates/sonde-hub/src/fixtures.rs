//! Received spans for the unit tests.

use std::sync::Arc;

use sonde_otlp::proto::trace::v1::{status::StatusCode, Span, Status};
use sonde_otlp::receive::StoredSpan;

/// Span `id` of trace `trace` (every byte of both ids that number), from
/// service `svc<trace>`, named `s<id>`, failed when `error`.
pub(crate) fn span(trace: u8, id: u8, parent: Option<u8>, start: u64, end: u64, error: bool) -> Arc<StoredSpan> {
    Arc::new(StoredSpan {
        service: format!("svc{trace}"),
        span: Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: format!("s{id}"),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status: error.then(|| Status { code: StatusCode::Error as i32, message: "x".into() }),
            ..Default::default()
        },
    })
}
