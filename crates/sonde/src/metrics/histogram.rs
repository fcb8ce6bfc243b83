//! `Histogram`: observations counted into fixed buckets.

use super::ARC_HEADER;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::snapshot::Exemplar;
use crate::trace::current::with_current;
use crate::trace::{SpanId, TraceId};

use super::bucket_cell::BucketCell;
use super::buckets::{bucket_index, Buckets};
use super::dropped::{drop_value, DropReason};
use super::native_cell::NativeCell;
use super::Metric;
use crate::snapshot::{from_unix_nanos, now_unix_nanos, FamilySnapshot, HistogramSnapshot, NativeHistogramSnapshot};
use crate::MetricKind;

/// A distribution of observations over classic buckets, native
/// (exponential) buckets, or both ([`Buckets`], [`crate::NativeBuckets`]).
///
/// `observe` finds the bucket (a branch-free scan for up to 16 bounds; a
/// table lookup for native buckets) and updates a thread-owned row: no lock,
/// no allocation, no atomic read-modify-write on the uncontended path. NaN
/// observations are dropped and counted. Native buckets allocate only when a
/// value falls outside the range of buckets a row has room for (see
/// [`crate::NativeBuckets`]; counted as `sonde_native_bucket_resizes_total`).
///
/// ```
/// use sonde::{Buckets, Histogram};
/// let latency = Histogram::new(Buckets::new([0.1, 0.5, 1.0]).unwrap());
/// for v in [0.05, 0.2, 0.3, 0.7, 3.0] {
///     latency.observe(v);
/// }
/// let s = latency.snapshot();
/// assert_eq!(s.count, 5);
/// assert_eq!(s.cumulative, vec![1, 3, 4, 5]);
/// assert!((s.mean() - 0.85).abs() < 1e-9);
/// assert!((s.quantile(0.5) - 0.4).abs() < 1e-9); // interpolated in (0.1, 0.5]
/// ```
#[derive(Clone)]
pub struct Histogram(triomphe::Arc<HistogramCore>);

struct HistogramCore {
    bounds: Arc<[f64]>,
    cell: BucketCell,
    /// Native buckets, when the layout has them.
    native: Option<Box<NativeCell>>,
    /// The latest exemplar, when the layout asks for them.
    exemplar: Option<Box<Mutex<Option<RawExemplar>>>>,
    created_ns: AtomicU64,
    /// What the last `reset` read, subtracted on read.
    baseline: Mutex<Baseline>,
}

#[derive(Default)]
struct Baseline {
    /// Classic counts, then the sum's bits.
    classic: Option<Box<[u64]>>,
    native: Option<Box<NativeHistogramSnapshot>>,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.snapshot();
        f.debug_struct("Histogram").field("count", &s.count).field("sum", &s.sum).finish()
    }
}

impl Histogram {
    /// A histogram with the given buckets, outside any registry.
    pub fn new(buckets: Buckets) -> Self {
        let bounds = buckets.shared();
        let exemplar = buckets.exemplars().then(|| Box::new(Mutex::new(None)));
        Self(triomphe::Arc::new(HistogramCore {
            cell: BucketCell::new(bounds.len() + 1),
            native: buckets.native_buckets().map(|n| Box::new(NativeCell::new(n))),
            exemplar,
            bounds,
            created_ns: AtomicU64::new(now_unix_nanos()),
            baseline: Mutex::new(Baseline::default()),
        }))
    }

    /// Records one observation.
    #[inline(always)]
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return drop_value(DropReason::NanObservation);
        }
        match &self.0.native {
            Some(native) if self.0.bounds.is_empty() => native.observe(v),
            Some(native) => {
                native.observe(v);
                self.0.cell.observe(bucket_index(&self.0.bounds, v), v);
            }
            None => self.0.cell.observe(bucket_index(&self.0.bounds, v), v),
        }
        if let Some(slot) = &self.0.exemplar {
            capture_exemplar(slot, v);
        }
    }

    /// Adds observations that arrive already bucketed (an OTLP histogram
    /// point, say): `counts` per bucket, non-cumulative, one per bound plus
    /// `+Inf`, and their `sum`. Counts of a different layout are refused.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) when `counts` does not have one entry per
    /// bucket (the `+Inf` bucket included), or the histogram has native
    /// buckets (which classic counts cannot fill).
    pub fn add_bucket_counts(&self, counts: &[u64], sum: f64) -> crate::Result<()> {
        if self.0.native.is_some() {
            return Err(crate::Error::InvalidOption {
                metric: String::new(),
                reason: "classic bucket counts cannot fill a histogram with native buckets".into(),
            });
        }
        if counts.len() != self.0.bounds.len() + 1 {
            return Err(crate::Error::InvalidOption {
                metric: String::new(),
                reason: format!("{} bucket counts for {} buckets", counts.len(), self.0.bounds.len() + 1),
            });
        }
        if sum.is_nan() {
            drop_value(DropReason::NanObservation);
            return Ok(());
        }
        self.0.cell.add_counts(counts, sum);
        Ok(())
    }

    /// Adds observations that arrive already in native buckets (a received
    /// OTLP exponential histogram point, say), at their schema or the
    /// coarser one this histogram reached. The zero bucket keeps this
    /// histogram's threshold.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) when the
    /// histogram is not native-only, the schema is outside -4..=20, or the
    /// sum is NaN.
    pub fn add_native(&self, data: &NativeHistogramSnapshot) -> crate::Result<()> {
        let Some(native) = self.0.native.as_ref().filter(|_| self.0.bounds.is_empty()) else {
            return Err(crate::Error::InvalidBuckets("native data needs a native-only histogram".into()));
        };
        if !(super::exponential::MIN_SCHEMA..=super::exponential::MAX_SCHEMA).contains(&data.schema) {
            return Err(crate::Error::InvalidBuckets(format!("native schema {} is outside -4..=20", data.schema)));
        }
        if data.sum.is_nan() {
            return Err(crate::Error::InvalidBuckets("native data with a NaN sum".into()));
        }
        native.add(data);
        Ok(())
    }

    /// Count, sum, cumulative buckets; with `mean()` and `quantile(q)`. A
    /// native-only histogram has just the `+Inf` bucket here: its buckets
    /// are in [`Histogram::native`].
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = vec![0u64; self.0.bounds.len() + 1];
        let native = if self.0.bounds.is_empty() { self.native() } else { None };
        let sum = self.read(&mut counts, native.as_ref());
        let mut total = 0u64;
        for c in counts.iter_mut() {
            total += *c;
            *c = total;
        }
        HistogramSnapshot { bounds: self.0.bounds.clone(), cumulative: counts, count: total, sum }
    }

    /// Fills per-bucket (non-cumulative) counts; returns the sum. A
    /// native-only histogram answers from its `native` state (read by the
    /// caller, once), all in the `+Inf` bucket.
    ///
    /// The baseline's lock is held across the cell read, and `reset` reads
    /// the cell under the same lock: a reader never subtracts a baseline
    /// taken after the counts it read (which would wrap them).
    fn read(&self, counts: &mut [u64], native: Option<&NativeHistogramSnapshot>) -> f64 {
        if let Some(native) = native.filter(|_| self.0.bounds.is_empty()) {
            counts[0] = native.count;
            return native.sum;
        }
        let baseline = self.0.baseline.lock().unwrap_or_else(|p| p.into_inner());
        let mut sum = self.0.cell.read_into(counts);
        if let Some(base) = baseline.classic.as_deref() {
            for (c, b) in counts.iter_mut().zip(base) {
                *c = c.wrapping_sub(*b);
            }
            sum -= f64::from_bits(base[counts.len()]);
        }
        sum
    }

    /// The native buckets, count, sum, min and max, when the layout has
    /// native buckets.
    pub fn native(&self) -> Option<NativeHistogramSnapshot> {
        let native = self.0.native.as_ref()?;
        let baseline = self.0.baseline.lock().unwrap_or_else(|p| p.into_inner());
        let mut now = native.read();
        if let Some(base) = baseline.native.as_deref() {
            now.subtract(base);
        }
        Some(now)
    }

    pub(crate) fn bounds(&self) -> &Arc<[f64]> {
        &self.0.bounds
    }

    /// The latest exemplar, if exemplars are on and one was captured.
    pub fn exemplar(&self) -> Option<Exemplar> {
        let slot = self.0.exemplar.as_ref()?;
        let raw = *slot.lock().unwrap_or_else(|p| p.into_inner());
        raw.map(RawExemplar::to_exemplar)
    }
}

/// An exemplar as captured on the recording path: no allocation.
#[derive(Clone, Copy)]
struct RawExemplar {
    value: f64,
    trace_id: TraceId,
    span_id: SpanId,
    time_unix_nanos: u64,
}

impl RawExemplar {
    fn to_exemplar(self) -> Exemplar {
        Exemplar {
            value: self.value,
            trace_id: self.trace_id.to_string(),
            span_id: self.span_id.to_string(),
            timestamp: from_unix_nanos(self.time_unix_nanos).unwrap_or(std::time::UNIX_EPOCH),
        }
    }
}

/// Keeps `v` as the exemplar when a sampled span is current. Never waits:
/// if another thread is storing one, this observation is simply not kept.
fn capture_exemplar(slot: &Mutex<Option<RawExemplar>>, v: f64) {
    let ctx = with_current(|c| c.filter(|c| c.is_sampled()).map(|c| (c.trace_id, c.span_id)));
    if let (Some((trace_id, span_id)), Ok(mut slot)) = (ctx, slot.try_lock()) {
        *slot = Some(RawExemplar { value: v, trace_id, span_id, time_unix_nanos: now_unix_nanos() });
    }
}

impl Metric for Histogram {
    const KIND: MetricKind = MetricKind::Histogram;
    type Layout = Buckets;

    fn native_layout(native: crate::NativeBuckets) -> Option<Buckets> {
        Some(Buckets::native(native))
    }

    fn default_layout(unit: Option<&str>) -> Buckets {
        Buckets::for_unit(unit)
    }

    fn layout(&self) -> Buckets {
        let native = self.0.native.as_ref().map(|n| n.options());
        let buckets = match (Buckets::new(self.bounds().iter().copied()), native) {
            (Ok(classic), Some(n)) => classic.with_native(n),
            (Ok(classic), None) => classic,
            (Err(_), Some(n)) => Buckets::native(n),
            (Err(_), None) => Buckets::default(),
        };
        if self.0.exemplar.is_some() {
            buckets.with_exemplars()
        } else {
            buckets
        }
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
        FamilySnapshot::new(name, help, unit.map(str::to_owned), Self::KIND, labels).with_bounds(layout.shared())
    }

    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot) {
        let created = from_unix_nanos(self.0.created_ns.load(Relaxed));
        let native = self.native();
        out.push_histogram(values, created, |counts| self.read(counts, native.as_ref()));
        if let Some(native) = native {
            out.set_last_native(native);
        }
        if let Some(e) = self.exemplar() {
            out.set_last_exemplar(e);
        }
    }

    fn reset(&self) {
        let n = self.0.bounds.len() + 1;
        let mut raw = vec![0u64; n + 1];
        let mut baseline = self.0.baseline.lock().unwrap_or_else(|p| p.into_inner());
        let sum = self.0.cell.read_into(&mut raw[..n]);
        raw[n] = sum.to_bits();
        baseline.classic = Some(raw.into_boxed_slice());
        baseline.native = self.0.native.as_ref().map(|n| Box::new(n.read()));
        drop(baseline);
        self.0.created_ns.store(now_unix_nanos(), Relaxed);
    }

    fn fingerprint(&self) -> u64 {
        // A native-only histogram's snapshot counts from its native buckets;
        // with classic buckets too, the classic count moves with every value.
        let s = self.snapshot();
        s.count ^ s.sum.to_bits().rotate_left(17)
    }

    fn heap_bytes(&self) -> usize {
        // The bounds are shared by the family's series: not counted here.
        let exemplar = if self.0.exemplar.is_some() { size_of::<Mutex<Option<RawExemplar>>>() } else { 0 };
        let native = self.0.native.as_ref().map_or(0, |n| size_of::<NativeCell>() + n.heap_bytes());
        ARC_HEADER + size_of::<HistogramCore>() + self.0.cell.heap_bytes() + exemplar + native
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucketed_data_merges_with_observations() {
        let h = Histogram::new(Buckets::new([1.0, 2.0]).unwrap());
        h.observe(0.5); // this thread now owns the single-writer cell
        h.add_bucket_counts(&[1, 2, 3], 10.0).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| h.add_bucket_counts(&[0, 1, 0], 1.5).unwrap());
        });
        h.observe(1.5);
        let snap = h.snapshot();
        assert_eq!(snap.cumulative, vec![2, 6, 9]);
        assert_eq!((snap.count, snap.sum), (9, 13.5));
        assert!(h.add_bucket_counts(&[1, 2], 1.0).is_err(), "wrong layout");
    }

    #[test]
    fn nan_is_dropped_infinities_are_kept() {
        let h = Histogram::new(Buckets::new([1.0]).unwrap());
        let before = DropReason::NanObservation.count();
        h.observe(f64::NAN);
        h.observe(f64::INFINITY);
        h.observe(f64::NEG_INFINITY);
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![1, 2]);
        assert!(DropReason::NanObservation.count() > before);
    }

    #[test]
    fn reset_zeroes_counts_and_sum() {
        let h = Histogram::new(Buckets::default_seconds());
        h.observe(0.3);
        h.observe(0.1);
        h.reset();
        let s = h.snapshot();
        assert_eq!((s.count, s.sum), (0, 0.0));
        h.observe(2.0);
        assert_eq!(h.snapshot().count, 1);
        assert_eq!(h.snapshot().sum, 2.0);
    }

    #[test]
    fn count_always_equals_inf_bucket_under_concurrency() {
        let rounds: u64 = if cfg!(miri) { 100 } else { 100_000 };
        let h = Histogram::new(Buckets::default_seconds());
        let writers: Vec<_> = (0..3)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || (0..rounds).for_each(|i| h.observe(i as f64 * 1e-4)))
            })
            .collect();
        for _ in 0..if cfg!(miri) { 5 } else { 100 } {
            let s = h.snapshot();
            assert_eq!(s.count, *s.cumulative.last().unwrap());
        }
        writers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(h.snapshot().count, 3 * rounds);
    }
}
