//! A tokio runtime's stable metrics.

use sonde::{Registry, Result};

/// Registers `tokio_workers`, `tokio_alive_tasks` and
/// `tokio_global_queue_depth` for the runtime behind `handle` (tokio's
/// stable `RuntimeMetrics`), read at collection time.
///
/// # Errors
///
/// The registry's error when a `tokio_*` name is already declared as another kind.
pub fn register_tokio_metrics(registry: &Registry, handle: &tokio::runtime::Handle) -> Result<()> {
    let h = handle.clone();
    registry.gauge_fn("tokio_workers", "Worker threads of the runtime.", move || h.metrics().num_workers() as f64)?;
    let h = handle.clone();
    registry.gauge_fn("tokio_alive_tasks", "Tasks spawned and not yet finished.", move || {
        h.metrics().num_alive_tasks() as f64
    })?;
    let h = handle.clone();
    registry.gauge_fn("tokio_global_queue_depth", "Tasks waiting in the runtime's global queue.", move || {
        h.metrics().global_queue_depth() as f64
    })
}
