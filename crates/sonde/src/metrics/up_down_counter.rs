//! `UpDownCounter`: a total that may go down, summed like a counter.

use std::sync::Arc;

use super::dropped::{drop_value, DropReason};
use super::sum_cell::{Baseline, SumCell};
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
pub struct UpDownCounter(Arc<(SumCell, Baseline)>);

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
        Self(Arc::new((SumCell::new(), Baseline::default())))
    }

    /// Adds one.
    #[inline(always)]
    pub fn inc(&self) {
        self.0 .0.add_int(1);
    }

    /// Subtracts one.
    #[inline(always)]
    pub fn dec(&self) {
        self.0 .0.add_int(u64::MAX);
    }

    /// Adds `v` (negative allowed). Integral values stay exact.
    #[inline(always)]
    pub fn add(&self, v: f64) {
        if !v.is_finite() {
            return drop_value(DropReason::InvalidUpDownAdd);
        }
        if v == (v as i64) as f64 {
            self.0 .0.add_int(v as i64 as u64);
        } else {
            self.0 .0.add_float(v);
        }
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        let (int, float) = self.0 .1.read(&self.0 .0);
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
        self.0 .1.reset(&self.0 .0);
    }

    fn fingerprint(&self) -> u64 {
        self.value().to_bits()
    }
}
