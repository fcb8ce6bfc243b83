//! Exporters: where snapshots go, and the machinery that drives them.
//!
//! - [`Exporter`]: one trait for every destination (StatsD, Pushgateway,
//!   textfile, JSON file, logger, OTLP...).
//! - [`MultiExporter`]: fans one snapshot out to several; one failing does
//!   not stop the others; failures are counted per child.
//! - [`PeriodicExporter`]: exports a registry on an interval with jitter,
//!   retries with exponential backoff, records `sonde_export_runs_total`,
//!   `sonde_export_failures_total` and `sonde_export_duration_seconds` per
//!   exporter, and exports once more when stopped.
//! - [`LoggerExporter`] and [`JsonFileExporter`].
//!
//! ```
//! use std::time::Duration;
//! use sonde::Registry;
//! use sonde_export::{JsonFileExporter, PeriodicExporter};
//!
//! let registry = Registry::new();
//! registry.counter("jobs_total").register()?.inc();
//! let path = std::env::temp_dir().join(format!("sonde-doc-{}.json", std::process::id()));
//! let periodic = PeriodicExporter::builder(registry, JsonFileExporter::new(&path))
//!     .interval(Duration::from_secs(60))
//!     .start()?;
//! periodic.stop(Duration::from_secs(5))?; // exports once more on the way out
//! assert!(std::fs::read_to_string(&path)?.contains("jobs_total"));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod file;
mod logger;
mod multi;
mod periodic;

pub use error::Error;
pub use file::{write_atomic, JsonFileExporter};
pub use logger::LoggerExporter;
pub use multi::MultiExporter;
pub use periodic::{PeriodicBuilder, PeriodicExporter};

use sonde::Snapshot;

/// A destination for snapshots.
pub trait Exporter: Send + Sync {
    /// A short name, used as the `exporter` label of self-metrics.
    fn name(&self) -> &str;
    /// Sends one snapshot.
    ///
    /// # Errors
    ///
    /// [`Error`] saying whether the failure is worth retrying ([`Error::is_retryable`]); the periodic
    /// exporter retries, counts and reports it.
    fn export(&self, snapshot: &Snapshot) -> Result<(), Error>;
    /// Releases resources (and, for push exporters, may delete what was
    /// pushed); called once when the driver stops.
    ///
    /// # Errors
    ///
    /// [`Error`] when releasing the exporter's resources fails (a final push that cannot be delivered).
    fn shutdown(&self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        (**self).export(snapshot)
    }
    fn shutdown(&self) -> Result<(), Error> {
        (**self).shutdown()
    }
}

impl<E: Exporter + ?Sized> Exporter for std::sync::Arc<E> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        (**self).export(snapshot)
    }
    fn shutdown(&self) -> Result<(), Error> {
        (**self).shutdown()
    }
}
