//! Sonde's core: instruments, labels, a registry, snapshots and encoders.
//!
//! ```
//! use sonde::{encode, Buckets, Registry};
//!
//! let registry = Registry::new();
//! let requests = registry
//!     .counter("http_requests_total")
//!     .help("Requests served.")
//!     .labels(["method", "code"])
//!     .register()?;
//! let latency = registry
//!     .histogram("http_request_duration_seconds")
//!     .help("Request latency.")
//!     .buckets(Buckets::default_seconds())
//!     .register()?;
//!
//! requests.with(&["GET", "200"]).inc();
//! latency.observe(0.042);
//!
//! let text = encode::prometheus_text(&registry.snapshot());
//! assert!(text.contains("http_requests_total{method=\"GET\",code=\"200\"} 1\n"));
//! # Ok::<(), sonde::Error>(())
//! ```
//!
//! # Concepts, in order
//!
//! 1. **Instruments** ([`Counter`], [`UpDownCounter`], [`Gauge`],
//!    [`Histogram`], [`Summary`], [`Timer`]) are cheap `Clone` handles. They
//!    record without locks or allocation: the first thread to write a series
//!    owns it and updates it with plain stores; a second writer spreads the
//!    series over per-thread stripes. Bad values (a negative counter
//!    increment, a NaN observation) are dropped and counted, never panicked on.
//! 2. **Families** ([`Family`]) hold one series per label-value combination.
//!    `family.with(&["GET", "200"])` looks a series up without locking;
//!    `family.bind(..)` returns an owned handle that skips the lookup. A
//!    cardinality limit sends excess combinations to one overflow series.
//! 3. **The registry** ([`Registry`]) names families, enforces one
//!    definition per name (get-or-create), scopes names and constant labels,
//!    and, in strict mode, accepts only declared [`MetricSpec`]s.
//! 4. **Snapshots** ([`Snapshot`]) are plain values collected from the
//!    registry; **encoders** ([`encode`]) turn them into Prometheus text,
//!    OpenMetrics or JSON. Nothing on the recording path knows about them.
//!
//! This crate does no I/O and needs no async runtime: HTTP exposition and
//! textfiles live in `sonde-prometheus`.

pub mod encode;
mod error;
pub mod events;
pub mod ingest;
mod labels;
pub mod metric_sets;
mod metrics;
mod pipeline;
mod registry;
mod snapshot;
mod sync;
pub mod trace;

/// loom models of the concurrent core (`RUSTFLAGS="--cfg loom"`).
#[cfg(all(test, loom))]
mod models;

pub use error::{Error, Result};
pub use labels::{
    sanitize_label_name, sanitize_label_value, sanitize_metric_name, MAX_LABEL_NAMES, MAX_LABEL_VALUE_LEN,
    OVERFLOW_LABEL_VALUE,
};
pub use metrics::exponential;
pub use metrics::NativeBuckets;
pub use metrics::{
    Buckets, Counter, CounterFn, DropReason, Gauge, GaugeFn, Histogram, Metric, MetricKind, Stopwatch, Summary,
    SummaryOptions, Timer, UpDownCounter,
};
pub use pipeline::{BatchOptions, BatchStats};
pub use registry::{
    Child, Family, FamilyBuilder, MetricBuilder, MetricSpec, Registry, RegistryBuilder, DEFAULT_CARDINALITY_LIMIT,
};
pub use snapshot::{
    Exemplar, ExponentialBuckets, FamilySnapshot, HistogramSnapshot, NativeHistogramSnapshot, SeriesRef, SeriesValue,
    Snapshot,
};
