//! `Timer`: a histogram of durations in seconds, with a stopwatch guard.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::buckets::Buckets;
use super::histogram::Histogram;
use super::Metric;
use crate::snapshot::{FamilySnapshot, HistogramSnapshot};
use crate::MetricKind;

/// Records durations into a histogram in seconds.
///
/// ```
/// use std::time::Duration;
/// let t = sonde::Timer::new(sonde::Buckets::default_seconds());
/// t.record(Duration::from_millis(30));
/// let answer = t.time(|| 6 * 7);
/// {
///     let _watch = t.start(); // records when dropped
/// }
/// assert_eq!(answer, 42);
/// assert_eq!(t.snapshot().count, 3);
/// ```
#[derive(Clone, Debug)]
pub struct Timer(Histogram);

impl Timer {
    /// A timer with the given buckets (in seconds), outside any registry.
    pub fn new(buckets: Buckets) -> Self {
        Self(Histogram::new(buckets))
    }

    /// Records a duration.
    #[inline]
    pub fn record(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }

    /// Runs `f`, records how long it took, and returns its result.
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _watch = self.start();
        f()
    }

    /// Starts a stopwatch that records when stopped or dropped.
    pub fn start(&self) -> Stopwatch {
        Stopwatch { timer: Some(self.clone()), started: Instant::now() }
    }

    /// The underlying histogram's state (values in seconds).
    pub fn snapshot(&self) -> HistogramSnapshot {
        self.0.snapshot()
    }
}

/// A running measurement of a [`Timer`]; records exactly once, on
/// [`Stopwatch::stop`] or on drop.
#[must_use = "a stopwatch records when dropped; bind it to a variable"]
pub struct Stopwatch {
    timer: Option<Timer>,
    started: Instant,
}

impl Stopwatch {
    /// Records the elapsed time now and returns it.
    pub fn stop(mut self) -> Duration {
        self.finish()
    }

    /// Restarts the measurement from now.
    pub fn reset(&mut self) {
        self.started = Instant::now();
    }

    /// Time since start (or the last reset), without recording.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn finish(&mut self) -> Duration {
        let d = self.started.elapsed();
        if let Some(t) = self.timer.take() {
            t.record(d);
        }
        d
    }
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Metric for Timer {
    const KIND: MetricKind = MetricKind::Histogram;
    type Layout = Buckets;

    fn native_layout(native: crate::NativeBuckets) -> Option<Buckets> {
        Some(Buckets::native(native))
    }

    fn default_layout(_: Option<&str>) -> Buckets {
        Buckets::default_seconds()
    }

    fn layout(&self) -> Buckets {
        Metric::layout(&self.0)
    }

    fn with_exemplars(layout: Buckets) -> Buckets {
        layout.with_exemplars()
    }

    fn create(layout: &Buckets) -> Self {
        Self::new(layout.clone())
    }

    fn empty_family(
        name: &str,
        help: &str,
        unit: Option<&str>,
        labels: Arc<[Box<str>]>,
        layout: &Buckets,
    ) -> FamilySnapshot {
        Histogram::empty_family(name, help, unit, labels, layout)
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        self.0.collect_into(values, out)
    }

    fn reset(&self) {
        self.0.reset()
    }

    fn fingerprint(&self) -> u64 {
        self.0.fingerprint()
    }

    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwatch_records_once() {
        let t = Timer::new(Buckets::default_seconds());
        let w = t.start();
        let d = w.stop();
        assert_eq!(t.snapshot().count, 1);
        assert!(d < Duration::from_secs(1));
        let mut w = t.start();
        w.reset();
        drop(w);
        assert_eq!(t.snapshot().count, 2);
    }
}
