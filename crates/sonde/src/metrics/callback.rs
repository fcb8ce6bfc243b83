//! Gauges and counters whose value a closure computes at collection time.

use std::sync::Arc;

/// A gauge read by calling a closure when the registry is collected.
///
/// ```
/// let r = sonde::Registry::new();
/// r.gauge_fn("pool_connections", "Open connections.", || 3.0).unwrap();
/// let snap = r.snapshot();
/// assert_eq!(snap.family("pool_connections").unwrap().series().next().unwrap().value().as_f64(), 3.0);
/// ```
#[derive(Clone)]
pub struct GaugeFn(pub(crate) Arc<dyn Fn() -> f64 + Send + Sync>);

/// A counter read by calling a closure when the registry is collected (for
/// totals kept elsewhere, such as a process' CPU seconds).
#[derive(Clone)]
pub struct CounterFn(pub(crate) Arc<dyn Fn() -> f64 + Send + Sync>);

impl GaugeFn {
    /// Wraps a closure.
    pub fn new(f: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl CounterFn {
    /// Wraps a closure.
    pub fn new(f: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for GaugeFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GaugeFn")
    }
}

impl std::fmt::Debug for CounterFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CounterFn")
    }
}
