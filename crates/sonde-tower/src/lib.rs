//! Tower middleware: HTTP server metrics and spans, client propagation.
//!
//! [`HttpMetricsLayer`] records, per request, `http_server_requests_total`
//! and `http_server_request_duration_seconds` by method, route template
//! and status code, `http_server_requests_in_flight`, and
//! `http_server_response_size_bytes`; and runs the inner service inside a
//! server span that continues the incoming `traceparent`, carries the HTTP
//! semantic-convention attributes, and is `Error` on 5xx.
//!
//! The route label is the route *template*: axum's `MatchedPath` when the
//! layer runs inside a router (add it with `Router::layer`), otherwise a
//! constant `"unmatched"`; raw paths never become labels, so `/users/1`
//! through `/users/10000` stay one series. [`PropagateLayer`] starts a
//! client span per outgoing request and injects its `traceparent`.

mod client;
mod server;

pub use client::{Propagate, PropagateLayer};
pub use server::{HttpMetrics, HttpMetricsLayer};
