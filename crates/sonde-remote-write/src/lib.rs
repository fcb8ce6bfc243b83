//! Prometheus remote write 1.0 for Sonde registries.
//!
//! The wire types are generated at build time from the official Prometheus
//! `prompb` protos (vendored in `proto/`), never written by hand.
//!
//! ```no_run
//! use std::time::Duration;
//! use sonde_export::PeriodicExporter;
//! use sonde_remote_write::RemoteWriteExporter;
//!
//! let registry = sonde::Registry::new();
//! let exporter = RemoteWriteExporter::builder("http://127.0.0.1:8428/api/v1/write").label("job", "api").build()?;
//! let _periodic = PeriodicExporter::builder(registry, exporter).interval(Duration::from_secs(15)).start()?;
//! # Ok::<(), sonde_export::Error>(())
//! ```

mod exporter;
mod series;

/// The official remote-write messages (`prometheus` protobuf package).
#[allow(missing_docs, clippy::all)]
pub mod prompb {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

pub use exporter::{RemoteWriteBuilder, RemoteWriteExporter};
pub use series::{to_series, STALE_NAN};
