//! `Gauge`: a value that is set, or moved up and down.

use super::ARC_HEADER;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::Metric;
use crate::snapshot::{FamilySnapshot, SeriesValue};
use crate::MetricKind;

/// A value that goes up and down. `set` is one store; `add` and friends are a
/// compare-and-swap loop on the value's bits. Any `f64`, NaN included, is a
/// valid gauge value.
///
/// ```
/// let queue = sonde::Gauge::new();
/// queue.set(10.0);
/// queue.inc();
/// queue.sub(4.0);
/// assert_eq!(queue.value(), 7.0);
/// ```
#[derive(Clone)]
pub struct Gauge(triomphe::Arc<AtomicU64>);

impl Default for Gauge {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Gauge").field(&self.value()).finish()
    }
}

impl Gauge {
    /// A gauge at 0 outside any registry.
    pub fn new() -> Self {
        Self(triomphe::Arc::new(AtomicU64::new(0f64.to_bits())))
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.add(-v);
    }

    /// Adds `v`.
    #[inline]
    pub fn add(&self, v: f64) {
        let mut cur = self.0.load(Relaxed);
        loop {
            let new = (f64::from_bits(cur) + v).to_bits();
            match self.0.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }
}

impl Metric for Gauge {
    const KIND: MetricKind = MetricKind::Gauge;
    type Layout = ();

    fn default_layout(_: Option<&str>) {}

    fn layout(&self) {}

    fn create(_: &()) -> Self {
        Self::new()
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        out.push(values, SeriesValue::Gauge(self.value()), None, &[], &[]);
    }

    /// Gauges persist across `reset`; only `reset_all` zeroes them.
    fn reset(&self) {
        self.set(0.0);
    }

    fn fingerprint(&self) -> u64 {
        self.0.load(Relaxed)
    }

    fn heap_bytes(&self) -> usize {
        ARC_HEADER + size_of::<AtomicU64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_adds_are_exact() {
        let g = Gauge::new();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        g.inc();
                        g.add(2.0);
                        g.dec();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(g.value(), 80_000.0);
    }
}
