//! Every bound the hub keeps, with defaults that fit a hub in 1 GiB.
//!
//! Memory is counted in decoded bytes (what items hold once decoded, as
//! `heap_bytes` measures them), never in wire bytes: a few kilobytes of
//! gzip can decode into gigabytes. The defaults add up as follows:
//!
//! | what | default | how it is bounded |
//! | --- | --- | --- |
//! | spans kept for the API | 256 MiB | `trace_bytes`, oldest evicted (counted) |
//! | events kept for the API | 64 MiB | `event_bytes`, oldest evicted (counted) |
//! | the forward queues in memory (`--ephemeral`; on disk: `[forward] max_disk_bytes`, 1 GiB) | 128 MiB | `forward_bytes`, the oldest dropped (counted) |
//! | metric series | 300,000 | `max_series`: about 425 bytes each in the hub (cells, labels and index, which `sonde_series_bytes` reports: 104 bytes for a one-tag StatsD counter, more for histograms, plus a scrape's share), so about 128 MiB; new series beyond it go to their family's overflow series (counted) |
//! | the metric history, when kept in memory (`--ephemeral`) | 200 MB | `history_bytes` |
//! | requests being decoded | 2 × 64 MiB | `decode_concurrency` × `max_decoded_request`: a body is priced before it is decoded, and refused when its decoded form would exceed the budget |
//! | request bodies | 8 MiB wire, 32 MiB decompressed | OTLP/HTTP and gRPC caps |

use std::time::Duration;

use sonde_otlp::receive::ItemLimits;

/// The hub's bounds (see the module docs for what each default buys).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Bytes of spans kept for the API and dashboard.
    pub trace_bytes: usize,
    /// Most spans kept, whatever their size.
    pub trace_spans: usize,
    /// Bytes of events (received log records, the demo's own) kept.
    pub event_bytes: usize,
    /// Most events kept, whatever their size.
    pub event_count: usize,
    /// Bytes of encoded requests queued for forwarding in memory (`--ephemeral`), all destinations together.
    pub forward_bytes: usize,
    /// Series in the registry, all families together.
    pub max_series: usize,
    /// Largest decoded form of one OTLP request.
    pub max_decoded_request: usize,
    /// OTLP requests decoded at once (off the serving runtime).
    pub decode_concurrency: usize,
    /// Per-item limits on spans and log records (OpenTelemetry's).
    pub items: ItemLimits,
    /// Open connections per HTTP or gRPC listener.
    pub max_connections: usize,
    /// Open StatsD TCP connections.
    pub max_statsd_connections: usize,
    /// A connection that sends or receives nothing for this long is closed.
    pub idle_timeout: Duration,
    /// The time a client has to send a request's headers (or finish a TLS
    /// handshake); also how long an idle HTTP/1 keep-alive connection stays.
    pub header_timeout: Duration,
    /// Longest a request may take, its body included.
    pub request_timeout: Duration,
    /// Expensive API answers (snapshots, expositions, trace lists) computed
    /// at once; more are answered 503 with `Retry-After`.
    pub expensive_concurrency: usize,
    /// Live-update streams (`/api/stream`) open at once.
    pub max_streams: usize,
    /// Sample ids one live-update stream may follow.
    pub max_stream_ids: usize,
    /// Largest JSON answer of the API, in bytes: longer lists are cut and
    /// say so (`"truncated": true`).
    pub max_answer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            trace_bytes: 256 << 20,
            trace_spans: 1_000_000,
            event_bytes: 64 << 20,
            event_count: 100_000,
            forward_bytes: 128 << 20,
            max_series: 300_000,
            max_decoded_request: 64 << 20,
            decode_concurrency: 2,
            items: ItemLimits::default(),
            max_connections: 1024,
            max_statsd_connections: 256,
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            expensive_concurrency: 4,
            max_streams: 64,
            max_stream_ids: 5000,
            max_answer_bytes: 8 << 20,
        }
    }
}
