//! `Summary`: sliding-window quantiles plus all-time count and sum.

use super::ARC_HEADER;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dropped::{drop_value, DropReason};
use super::quantile_sketch::{Sketch, MIN_MAGNITUDE};
use super::sum_cell::SumCell;
use super::Metric;
use crate::snapshot::{from_unix_nanos, now_unix_nanos, FamilySnapshot, SeriesValue};
use crate::{Error, MetricKind, Result};

/// What a summary reports and over which window.
///
/// Defaults follow Prometheus' client_golang: quantiles 0.5, 0.9 and 0.99
/// over the last 10 minutes, in 5 age buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOptions {
    quantiles: Arc<[f64]>,
    max_age: Duration,
    age_buckets: u32,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self { quantiles: Arc::from([0.5, 0.9, 0.99]), max_age: Duration::from_secs(600), age_buckets: 5 }
    }
}

impl SummaryOptions {
    /// Sets the reported quantiles (each in `[0, 1]`; sorted and de-duplicated).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuantile`](crate::Error::InvalidQuantile) for a quantile outside [0, 1] or NaN.
    pub fn quantiles(mut self, qs: impl IntoIterator<Item = f64>) -> Result<Self> {
        let mut v: Vec<f64> = qs.into_iter().collect();
        if let Some(&bad) = v.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::InvalidQuantile(bad));
        }
        v.sort_by(f64::total_cmp);
        v.dedup();
        self.quantiles = v.into();
        Ok(self)
    }

    /// Sets the window: observations older than `max_age` stop counting
    /// toward quantiles; the window slides in `age_buckets` steps.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) when `max_age` is zero or `age_buckets` is zero.
    pub fn max_age(mut self, max_age: Duration, age_buckets: u32) -> Result<Self> {
        if max_age.is_zero() || age_buckets == 0 {
            return Err(Error::InvalidOption {
                metric: String::new(),
                reason: "a summary needs max_age > 0 and at least one age bucket".into(),
            });
        }
        self.max_age = max_age;
        self.age_buckets = age_buckets;
        Ok(self)
    }

    /// The reported quantiles.
    pub fn reported_quantiles(&self) -> &[f64] {
        &self.quantiles
    }
}

/// Quantiles over a sliding time window, with all-time `count` and `sum`.
///
/// Quantiles come from a DDSketch with **1 % relative error**: for every
/// quantile `q`, the answer `x'` satisfies `|x' − x_q| ≤ 0.01·|x_q|`, where
/// `x_q` is the exact `q`-quantile of the observations in the window, for
/// magnitudes between 1e-9 and 1e12. The window is `max_age` long and slides
/// in `age_buckets` steps (each observation enters every age bucket; the
/// oldest bucket is answered and the next to expire is cleared). An empty
/// window answers NaN, never 0. Observing costs a clock read and one atomic
/// add per age bucket.
///
/// ```
/// use sonde::{Summary, SummaryOptions};
/// let s = Summary::new(SummaryOptions::default().quantiles([0.5, 0.99]).unwrap());
/// assert!(s.quantile(0.5).is_nan(), "empty window");
/// for i in 1..=1000 {
///     s.observe(i as f64);
/// }
/// let median = s.quantile(0.5);
/// assert!((median - 500.0).abs() <= 0.01 * 500.0 + 1.0);
/// assert_eq!(s.count(), 1000);
/// ```
#[derive(Clone)]
pub struct Summary(triomphe::Arc<SummaryCore>);

struct SummaryCore {
    options: SummaryOptions,
    totals: SumCell,
    windows: Box<[Sketch]>,
    started: Instant,
    period_ns: u64,
    rotations: AtomicU64,
    created_ns: AtomicU64,
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary").field("count", &self.count()).field("sum", &self.sum()).finish()
    }
}

impl Summary {
    /// A summary outside any registry.
    pub fn new(options: SummaryOptions) -> Self {
        let n = options.age_buckets.max(1);
        let period_ns = (options.max_age.as_nanos() / n as u128).max(1) as u64;
        Self(triomphe::Arc::new(SummaryCore {
            windows: (0..n).map(|_| Sketch::new()).collect(),
            options,
            totals: SumCell::new(),
            started: Instant::now(),
            period_ns,
            rotations: AtomicU64::new(0),
            created_ns: AtomicU64::new(now_unix_nanos()),
        }))
    }

    /// Records one observation; NaN is dropped and counted.
    #[inline]
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return drop_value(DropReason::NanObservation);
        }
        let c = &self.0;
        c.totals.add_int(1);
        c.totals.add_float(v);
        self.rotate();
        let m = v.abs();
        let idx = (m >= MIN_MAGNITUDE).then(|| Sketch::index_of(m));
        for w in c.windows.iter() {
            w.add_indexed(v < 0.0, idx);
        }
    }

    /// Clears the age buckets whose time is up.
    fn rotate(&self) {
        let c = &self.0;
        let due = c.started.elapsed().as_nanos() as u64 / c.period_ns;
        let done = c.rotations.load(Relaxed);
        if due > done && c.rotations.compare_exchange(done, due, Relaxed, Relaxed).is_ok() {
            let n = c.windows.len() as u64;
            for r in (done + 1..=due).rev().take(n as usize) {
                c.windows[(r % n) as usize].clear();
            }
        }
    }

    fn oldest_window(&self) -> &Sketch {
        self.rotate();
        let n = self.0.windows.len() as u64;
        &self.0.windows[((self.0.rotations.load(Relaxed) + 1) % n) as usize]
    }

    /// The `q`-quantile over the window (NaN when empty or `q` ∉ [0, 1]).
    pub fn quantile(&self, q: f64) -> f64 {
        if !(0.0..=1.0).contains(&q) {
            return f64::NAN;
        }
        let mut out = Vec::with_capacity(1);
        self.oldest_window().quantiles(&[q], &mut out);
        out[0]
    }

    /// Observations since creation or the last reset.
    pub fn count(&self) -> u64 {
        self.0.totals.read().0
    }

    /// Sum of observations since creation or the last reset.
    pub fn sum(&self) -> f64 {
        self.0.totals.read().1
    }

    /// The configured quantiles.
    pub fn options(&self) -> &SummaryOptions {
        &self.0.options
    }
}

impl Metric for Summary {
    const KIND: MetricKind = MetricKind::Summary;
    type Layout = SummaryOptions;

    fn default_layout(_: Option<&str>) -> SummaryOptions {
        SummaryOptions::default()
    }

    fn layout(&self) -> SummaryOptions {
        self.options().clone()
    }

    fn create(layout: &SummaryOptions) -> Self {
        Self::new(layout.clone())
    }

    fn empty_family(
        name: &str,
        help: &str,
        unit: Option<&str>,
        labels: Arc<[Box<str>]>,
        layout: &SummaryOptions,
    ) -> FamilySnapshot {
        FamilySnapshot::new(name, help, unit.map(str::to_owned), Self::KIND, labels)
            .with_quantiles(layout.quantiles.clone())
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        let mut qv = Vec::with_capacity(self.0.options.quantiles.len());
        self.oldest_window().quantiles(&self.0.options.quantiles, &mut qv);
        out.push(
            values,
            SeriesValue::Summary { count: self.count(), sum: self.sum() },
            from_unix_nanos(self.0.created_ns.load(Relaxed)),
            &[],
            &qv,
        );
    }

    fn reset(&self) {
        let c = &self.0;
        c.totals.reset();
        for w in c.windows.iter() {
            w.clear();
        }
        c.created_ns.store(now_unix_nanos(), Relaxed);
    }

    fn fingerprint(&self) -> u64 {
        self.count() ^ self.sum().to_bits().rotate_left(17)
    }

    fn heap_bytes(&self) -> usize {
        let windows: usize = self.0.windows.iter().map(|w| size_of::<Sketch>() + w.heap_bytes()).sum();
        ARC_HEADER + size_of::<SummaryCore>() + self.0.totals.heap_bytes() + windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let opts = SummaryOptions::default().max_age(Duration::from_millis(200), 2).unwrap();
        let s = Summary::new(opts);
        s.observe(5.0);
        assert!((s.quantile(0.5) - 5.0).abs() < 0.1);
        std::thread::sleep(Duration::from_millis(250));
        assert!(s.quantile(0.5).is_nan(), "old observations leave the window");
        assert_eq!(s.count(), 1, "count and sum are all-time");
    }

    #[test]
    fn reset_clears_everything() {
        let s = Summary::new(SummaryOptions::default());
        s.observe(1.0);
        s.reset();
        assert_eq!((s.count(), s.sum()), (0, 0.0));
        assert!(s.quantile(0.9).is_nan());
    }

    #[test]
    fn invalid_options() {
        assert_eq!(SummaryOptions::default().quantiles([1.5]), Err(Error::InvalidQuantile(1.5)));
        assert!(SummaryOptions::default().max_age(Duration::ZERO, 5).is_err());
    }
}
