//! Process, system and tokio runtime metrics, read at collection time.
//!
//! ```
//! let registry = sonde::Registry::new();
//! sonde_process::register_process_metrics(&registry)?;
//! sonde_process::register_system_metrics(&registry)?;
//! let snap = registry.snapshot();
//! # #[cfg(target_os = "linux")]
//! assert!(snap.family("process_resident_memory_bytes").unwrap().series().next().unwrap().value().as_f64() > 0.0);
//! # Ok::<(), sonde::Error>(())
//! ```
//!
//! Names and units follow Prometheus' client conventions:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
//! `process_threads`, `process_start_time_seconds`; system metrics are
//! `system_load1`/`5`/`15`, `system_memory_total_bytes`,
//! `system_memory_available_bytes` and `system_cpu_seconds_total{mode}`.
//! Values come from Linux `/proc`; elsewhere the families are registered
//! but report nothing.

mod proc_fs;
#[cfg(feature = "tokio")]
mod tokio_metrics;

#[cfg(feature = "tokio")]
pub use tokio_metrics::register_tokio_metrics;

use sonde::{Registry, Result};

/// A gauge or counter read from `/proc`; NaN (dropped for counters) when
/// the value cannot be read.
fn or_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// Registers the standard `process_*` metrics of this process.
///
/// # Errors
///
/// The registry's error when a `process_*` name is already declared as another kind.
pub fn register_process_metrics(registry: &Registry) -> Result<()> {
    let tps = proc_fs::ticks_per_second();
    let page = proc_fs::page_size();
    registry.counter_fn(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        move || {
            or_nan(
                proc_fs::self_stat()
                    .and_then(|f| Some((proc_fs::stat_field(&f, 14)? + proc_fs::stat_field(&f, 15)?) / tps)),
            )
        },
    )?;
    registry.gauge_fn("process_resident_memory_bytes", "Resident memory size in bytes.", move || {
        or_nan(proc_fs::self_stat().and_then(|f| proc_fs::stat_field(&f, 24)).map(|p| p * page))
    })?;
    registry.gauge_fn("process_virtual_memory_bytes", "Virtual memory size in bytes.", || {
        or_nan(proc_fs::self_stat().and_then(|f| proc_fs::stat_field(&f, 23)))
    })?;
    registry.gauge_fn("process_open_fds", "Number of open file descriptors.", || or_nan(proc_fs::open_fds()))?;
    registry.gauge_fn("process_max_fds", "Maximum number of open file descriptors.", || or_nan(proc_fs::max_fds()))?;
    registry.gauge_fn("process_threads", "Number of OS threads in the process.", || {
        or_nan(proc_fs::self_stat().and_then(|f| proc_fs::stat_field(&f, 20)))
    })?;
    let start = proc_fs::self_stat()
        .and_then(|f| proc_fs::stat_field(&f, 22))
        .and_then(|ticks| Some(proc_fs::boot_time()? + ticks / tps));
    registry.gauge_fn(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        move || or_nan(start),
    )
}

/// Registers system-wide load, memory and CPU-time metrics.
///
/// # Errors
///
/// The registry's error when a `system_*` name is already declared as another kind.
pub fn register_system_metrics(registry: &Registry) -> Result<()> {
    for (i, name) in ["system_load1", "system_load5", "system_load15"].into_iter().enumerate() {
        registry.gauge_fn(name, "System load average.", move || or_nan(proc_fs::loadavg().map(|l| l[i])))?;
    }
    registry
        .gauge_fn("system_memory_total_bytes", "Total memory in bytes.", || or_nan(proc_fs::meminfo("MemTotal")))?;
    registry.gauge_fn("system_memory_available_bytes", "Memory available for new work, in bytes.", || {
        or_nan(proc_fs::meminfo("MemAvailable"))
    })?;
    let modes = registry
        .counter("system_cpu_seconds_total")
        .help("CPU time spent in each mode, all CPUs, in seconds.")
        .labels(["mode"])
        .register()?;
    // Counters by mode need labels: keep them in step with /proc at each
    // collection through a callback that adds the increase.
    let last = std::sync::Mutex::new(std::collections::HashMap::<&'static str, f64>::new());
    registry.gauge_fn("system_cpu_count", "Online CPUs.", move || {
        if let Some(cpu) = proc_fs::cpu_seconds() {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            for (mode, secs) in cpu {
                let before = last.insert(mode, secs).unwrap_or(0.0);
                if secs > before {
                    modes.with(&[mode]).add(secs - before);
                }
            }
        }
        std::thread::available_parallelism().map(|n| n.get() as f64).unwrap_or(f64::NAN)
    })
}
