//! `UpDownCounter`: a total that may go down, summed like a counter.

use super::ARC_HEADER;

use super::dropped::{drop_value, DropReason};
use super::sum_cell::SumCell;
use super::Metric;
use crate::snapshot::{FamilySnapshot, SeriesValue};
use crate::MetricKind;

/// A sum of increments that may be negative (OpenTelemetry's
/// `UpDownCounter`): active requests, queue depth. Unlike a [`super::Gauge`]
/// it is never set, so it shards like a counter and adds cost the same.
/// Exposed to Prometheus as a gauge. NaN or infinite adds are dropped and
/// counted.
///
/// ```
/// let in_flight = sonde::UpDownCounter::new();
/// in_flight.inc();
/// in_flight.inc();
/// in_flight.dec();
/// in_flight.add(-3.0);
/// assert_eq!(in_flight.value(), -2.0);
/// ```
#[derive(Clone)]
pub struct UpDownCounter(triomphe::Arc<SumCell>);

impl Default for UpDownCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for UpDownCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UpDownCounter").field(&self.value()).finish()
    }
}

impl UpDownCounter {
    /// A new up-down counter at 0 outside any registry.
    pub fn new() -> Self {
        Self(triomphe::Arc::new(SumCell::new()))
    }

    /// Adds one.
    #[inline(always)]
    pub fn inc(&self) {
        self.0.add_int(1);
    }

    /// Subtracts one.
    #[inline(always)]
    pub fn dec(&self) {
        self.0.add_int(u64::MAX);
    }

    /// Adds `v` (negative allowed). Integral values stay exact.
    #[inline(always)]
    pub fn add(&self, v: f64) {
        if !v.is_finite() {
            return drop_value(DropReason::InvalidUpDownAdd);
        }
        if v == (v as i64) as f64 {
            self.0.add_int(v as i64 as u64);
        } else {
            self.0.add_float(v);
        }
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        let (int, float) = self.0.read();
        int as i64 as f64 + float
    }
}

impl Metric for UpDownCounter {
    const KIND: MetricKind = MetricKind::UpDownCounter;
    type Layout = ();

    fn default_layout(_: Option<&str>) {}

    fn layout(&self) {}

    fn create(_: &()) -> Self {
        Self::new()
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        out.push(values, SeriesValue::Gauge(self.value()), None, &[], &[]);
    }

    /// Like gauges, up-down counters persist across `reset`.
    fn reset(&self) {
        self.0.reset();
    }

    fn fingerprint(&self) -> u64 {
        self.value().to_bits()
    }

    fn heap_bytes(&self) -> usize {
        ARC_HEADER + size_of::<SumCell>() + self.0.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    #[test]
    fn adds_both_ways_exactly_and_drops_non_finite() {
        let c = UpDownCounter::new();
        c.inc();
        c.inc();
        c.dec();
        c.add(-3.0);
        c.add(0.5);
        assert_eq!(c.value(), -1.5);
        let before = DropReason::InvalidUpDownAdd.count();
        c.add(f64::NAN);
        c.add(f64::INFINITY);
        assert_eq!(c.value(), -1.5);
        assert!(DropReason::InvalidUpDownAdd.count() >= before + 2);
        assert_eq!(format!("{c:?}"), "UpDownCounter(-1.5)");
    }

    #[test]
    fn exposed_as_a_gauge_that_persists_across_reset_but_not_reset_all() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        let f = r.up_down_counter("in_flight").help("Busy.").labels(["pool"]).register().unwrap();
        f.with(&["a"]).add(4.0);
        f.with(&["a"]).dec();
        let value = |r: &Registry| r.snapshot().family("in_flight").unwrap().find(&["a"]).unwrap().value().as_f64();
        assert_eq!(r.snapshot().family("in_flight").unwrap().kind, MetricKind::UpDownCounter);
        assert_eq!(value(&r), 3.0);
        r.reset();
        assert_eq!(value(&r), 3.0, "reset keeps it, as it keeps gauges");
        r.reset_all();
        assert_eq!(value(&r), 0.0);
        f.with(&["a"]).dec();
        assert_eq!(value(&r), -1.0, "counts on from the new zero");
    }

    #[test]
    fn concurrent_adds_are_exact() {
        let c = UpDownCounter::new();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 50 } else { 10_000 } {
                        if t % 2 == 0 {
                            c.inc()
                        } else {
                            c.add(-2.0)
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let n = if cfg!(miri) { 50.0 } else { 10_000.0 };
        assert_eq!(c.value(), 2.0 * n - 4.0 * n);
    }
}
