//! `Counter`: a monotonic total, integer-exact with fractional adds allowed.

use super::ARC_HEADER;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::dropped::{drop_value, DropReason};
use super::sum_cell::SumCell;
use super::Metric;
use crate::snapshot::{from_unix_nanos, now_unix_nanos, FamilySnapshot, SeriesValue};
use crate::MetricKind;

/// Largest integer an `f64` holds exactly; integral adds below it stay exact.
const EXACT_F64_INT: f64 = 9_007_199_254_740_992.0;

/// A monotonically increasing total.
///
/// Integral increments go to an exact `u64`; fractional ones to an `f64`
/// part; [`Counter::value`] adds the two. A negative, NaN or infinite
/// increment is dropped and counted in `sonde_dropped_values_total`.
///
/// ```
/// let requests = sonde::Counter::new();
/// requests.inc();
/// requests.add(2.0);
/// requests.inc_by(3);
/// assert_eq!(requests.value(), 6.0);
/// requests.add(-1.0); // rejected: counters never go down
/// assert_eq!(requests.value(), 6.0);
/// ```
#[derive(Clone)]
pub struct Counter(triomphe::Arc<CounterCore>);

struct CounterCore {
    cell: SumCell,
    created_ns: AtomicU64,
    first_add_ns: AtomicU64,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Counter").field(&self.value()).finish()
    }
}

impl Counter {
    /// A counter outside any registry (register it with
    /// [`crate::Registry::register`] to expose it).
    pub fn new() -> Self {
        Self(triomphe::Arc::new(CounterCore {
            cell: SumCell::new(),
            created_ns: AtomicU64::new(now_unix_nanos()),
            first_add_ns: AtomicU64::new(0),
        }))
    }

    /// Adds one.
    #[inline(always)]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds an integer amount (exact up to `u64::MAX`).
    #[inline(always)]
    pub fn inc_by(&self, n: u64) {
        self.0.cell.add_int(n);
        self.note_first_add();
    }

    /// Adds `v`. Integral values take the exact integer path; a negative,
    /// NaN or infinite `v` is dropped and counted.
    #[inline(always)]
    pub fn add(&self, v: f64) {
        if (0.0..EXACT_F64_INT).contains(&v) {
            if v == (v as u64) as f64 {
                return self.inc_by(v as u64);
            }
            self.0.cell.add_float(v);
            self.note_first_add();
        } else if v >= EXACT_F64_INT && v.is_finite() {
            self.0.cell.add_float(v);
            self.note_first_add();
        } else {
            drop_value(DropReason::InvalidCounterAdd);
        }
    }

    #[inline(always)]
    fn note_first_add(&self) {
        if self.0.first_add_ns.load(Relaxed) == 0 {
            self.set_first_add();
        }
    }

    #[cold]
    fn set_first_add(&self) {
        let _ = self.0.first_add_ns.compare_exchange(0, now_unix_nanos(), Relaxed, Relaxed);
    }

    /// The current total.
    pub fn value(&self) -> f64 {
        let (int, float) = self.parts();
        int as f64 + float
    }

    /// The total as an exact integer, when no fractional increment was made.
    pub fn exact(&self) -> Option<u64> {
        let (int, float) = self.parts();
        (float == 0.0).then_some(int)
    }

    fn parts(&self) -> (u64, f64) {
        let (int, float) = self.0.cell.read();
        // Float parts only grow between resets; clamp rounding residue.
        (int, float.max(0.0))
    }

    /// Per-second rate since the first increment (since the last reset, if
    /// any). Zero before the first increment.
    pub fn rate(&self) -> f64 {
        let first = self.0.first_add_ns.load(Relaxed);
        if first == 0 {
            return 0.0;
        }
        let elapsed = now_unix_nanos().saturating_sub(first) as f64 / 1e9;
        if elapsed <= 0.0 {
            return 0.0;
        }
        self.value() / elapsed
    }

    pub(crate) fn created_ns(&self) -> u64 {
        self.0.created_ns.load(Relaxed)
    }
}

impl Metric for Counter {
    const KIND: MetricKind = MetricKind::Counter;
    type Layout = ();

    fn default_layout(_: Option<&str>) {}

    fn layout(&self) {}

    fn create(_: &()) -> Self {
        Self::new()
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        out.push(
            values,
            SeriesValue::Counter { value: self.value(), exact: self.exact() },
            from_unix_nanos(self.created_ns()),
            &[],
            &[],
        );
    }

    fn reset(&self) {
        let c = &self.0;
        c.cell.reset();
        c.created_ns.store(now_unix_nanos(), Relaxed);
        c.first_add_ns.store(0, Relaxed);
    }

    fn fingerprint(&self) -> u64 {
        let (int, float) = self.parts();
        int ^ float.to_bits().rotate_left(17)
    }

    fn heap_bytes(&self) -> usize {
        ARC_HEADER + size_of::<CounterCore>() + self.0.cell.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_and_float_parts() {
        let c = Counter::new();
        c.inc();
        c.add(0.5);
        c.add(2.0);
        assert_eq!(c.value(), 3.5);
        assert_eq!(c.exact(), None);
        let d = Counter::new();
        d.inc_by(u64::MAX - 1);
        d.inc();
        assert_eq!(d.exact(), Some(u64::MAX), "integer counters are exact past 2^53");
    }

    #[test]
    fn invalid_adds_are_dropped_and_counted() {
        let c = Counter::new();
        let before = DropReason::InvalidCounterAdd.count();
        for v in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0001] {
            c.add(v);
        }
        assert_eq!(c.value(), 0.0);
        assert!(DropReason::InvalidCounterAdd.count() >= before + 5);
    }

    #[test]
    fn reset_is_exact() {
        let c = Counter::new();
        c.add(0.1);
        c.add(0.2);
        c.inc_by(7);
        c.reset();
        assert_eq!(c.value(), 0.0);
        assert_eq!(c.exact(), Some(0));
        c.inc();
        assert_eq!(c.value(), 1.0);
    }

    #[test]
    fn rate_since_first_increment() {
        let c = Counter::new();
        assert_eq!(c.rate(), 0.0);
        c.inc_by(100);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let r = c.rate();
        assert!(r > 0.0 && r <= 100.0 / 0.02 + 1.0, "{r}");
    }
}
