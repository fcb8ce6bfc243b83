//! The snapshot model: what collection produces and encoders consume.
//!
//! A [`Snapshot`] is a plain value: families sorted by name, each with its
//! series sorted by label values. Each family keeps its label values, bucket
//! counts and quantiles in flat buffers, so collecting a family allocates a
//! few vectors, not one per series.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::MetricKind;

mod native;
pub use native::{ExponentialBuckets, NativeHistogramSnapshot};

/// All families of a registry at one instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When the snapshot was taken.
    pub timestamp: SystemTime,
    /// Families, sorted by name.
    pub families: Vec<FamilySnapshot>,
}

impl Snapshot {
    /// The family called `name`, if present.
    pub fn family(&self, name: &str) -> Option<&FamilySnapshot> {
        self.families.binary_search_by(|f| f.name.as_str().cmp(name)).ok().map(|i| &self.families[i])
    }

    /// Total number of series across families.
    pub fn series_count(&self) -> usize {
        self.families.iter().map(|f| f.len()).sum()
    }
}

/// An exemplar: one observation tagged with the trace that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The observed value.
    pub value: f64,
    /// Hex trace id (32 lowercase hex digits).
    pub trace_id: String,
    /// Hex span id (16 lowercase hex digits).
    pub span_id: String,
    /// When it was observed.
    pub timestamp: SystemTime,
}

/// The numbers of one series.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesValue {
    /// A counter: the exact integer total when it has no fractional part.
    Counter {
        /// The total.
        value: f64,
        /// The same total as an exact integer, when the counter only saw
        /// integral increments.
        exact: Option<u64>,
    },
    /// A gauge or up-down counter.
    Gauge(f64),
    /// A histogram: bucket counts live in the family (see
    /// [`SeriesRef::buckets`]).
    Histogram {
        /// Number of observations (equals the `+Inf` bucket).
        count: u64,
        /// Sum of observations.
        sum: f64,
    },
    /// A summary: quantile values live in the family (see
    /// [`SeriesRef::quantiles`]).
    Summary {
        /// Number of observations, all time.
        count: u64,
        /// Sum of observations, all time.
        sum: f64,
    },
}

impl SeriesValue {
    /// The headline number: a counter or gauge value, or a histogram or
    /// summary's sum.
    pub fn as_f64(&self) -> f64 {
        match *self {
            Self::Counter { value, .. } | Self::Gauge(value) => value,
            Self::Histogram { sum, .. } | Self::Summary { sum, .. } => sum,
        }
    }
}

#[derive(Clone, Debug)]
struct SeriesData {
    labels: Range<u32>,
    value: SeriesValue,
    created: Option<SystemTime>,
    exemplar: Option<Box<Exemplar>>,
    native: Option<Box<NativeHistogramSnapshot>>,
}

/// One metric family: its metadata and its series.
#[derive(Clone, Debug)]
pub struct FamilySnapshot {
    /// The family name. For counters it carries no `_total` suffix: encoders
    /// add it to the sample.
    pub name: String,
    /// The help text, unescaped.
    pub help: String,
    /// The unit, if declared.
    pub unit: Option<String>,
    /// What kind of metric this is.
    pub kind: MetricKind,
    /// Label names, shared by every series.
    pub label_names: Arc<[Box<str>]>,
    /// Finite bucket bounds, for histograms.
    pub bounds: Arc<[f64]>,
    /// Quantiles reported, for summaries.
    pub quantiles: Arc<[f64]>,
    text: String,
    spans: Vec<(u32, u32)>,
    series: Vec<SeriesData>,
    buckets: Vec<u64>,
    quantile_values: Vec<f64>,
}

impl FamilySnapshot {
    /// An empty family.
    pub fn new(
        name: impl Into<String>,
        help: impl Into<String>,
        unit: Option<String>,
        kind: MetricKind,
        label_names: Arc<[Box<str>]>,
    ) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            unit,
            kind,
            label_names,
            bounds: Arc::from([]),
            quantiles: Arc::from([]),
            text: String::new(),
            spans: Vec::new(),
            series: Vec::new(),
            buckets: Vec::new(),
            quantile_values: Vec::new(),
        }
    }

    /// Sets the bucket bounds (histograms).
    pub fn with_bounds(mut self, bounds: Arc<[f64]>) -> Self {
        self.bounds = bounds;
        self
    }

    /// Sets the reported quantiles (summaries).
    pub fn with_quantiles(mut self, quantiles: Arc<[f64]>) -> Self {
        self.quantiles = quantiles;
        self
    }

    /// Reserves room for `n` series.
    pub fn reserve(&mut self, n: usize) {
        self.series.reserve(n);
        self.spans.reserve(n * self.label_names.len());
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when the family has no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Appends a series. `values` must yield one value per label name.
    /// Histograms pass cumulative `buckets` (one per bound plus `+Inf`);
    /// summaries pass one value per quantile.
    pub fn push<'a>(
        &mut self,
        values: impl IntoIterator<Item = &'a str>,
        value: SeriesValue,
        created: Option<SystemTime>,
        buckets: &[u64],
        quantile_values: &[f64],
    ) {
        let start = self.spans.len() as u32;
        for v in values {
            let s = self.text.len() as u32;
            self.text.push_str(v);
            self.spans.push((s, self.text.len() as u32));
        }
        self.buckets.extend_from_slice(buckets);
        self.quantile_values.extend_from_slice(quantile_values);
        self.series.push(SeriesData {
            labels: start..self.spans.len() as u32,
            value,
            created,
            exemplar: None,
            native: None,
        });
    }

    /// Appends a histogram series whose per-bucket (non-cumulative) counts
    /// `fill` writes into the zeroed slice it is given, returning the sum.
    /// Allocates nothing per series beyond amortized buffer growth.
    pub fn push_histogram<'a>(
        &mut self,
        values: impl IntoIterator<Item = &'a str>,
        created: Option<SystemTime>,
        fill: impl FnOnce(&mut [u64]) -> f64,
    ) {
        let n = self.bounds.len() + 1;
        let start = self.buckets.len();
        self.buckets.resize(start + n, 0);
        let counts = &mut self.buckets[start..];
        let sum = fill(counts);
        let mut total = 0u64;
        for c in counts.iter_mut() {
            total = total.wrapping_add(*c);
            *c = total;
        }
        self.push(values, SeriesValue::Histogram { count: total, sum }, created, &[], &[]);
    }

    /// Attaches an exemplar to the series pushed last.
    pub fn set_last_exemplar(&mut self, exemplar: Exemplar) {
        if let Some(s) = self.series.last_mut() {
            s.exemplar = Some(Box::new(exemplar));
        }
    }

    /// Attaches native buckets to the histogram series pushed last.
    pub fn set_last_native(&mut self, native: NativeHistogramSnapshot) {
        if let Some(s) = self.series.last_mut() {
            s.native = Some(Box::new(native));
        }
    }

    /// Whether any series carries native buckets.
    pub fn has_native(&self) -> bool {
        self.series.iter().any(|s| s.native.is_some())
    }

    /// Sorts series by their label values (encoders want a stable order).
    pub fn sort(&mut self) {
        let nb = if self.kind.is_histogram() { self.bounds.len() + 1 } else { 0 };
        let nq = if self.kind == MetricKind::Summary { self.quantiles.len() } else { 0 };
        let sorted_already = (1..self.series.len()).all(|i| self.cmp_series(i - 1, i).is_le());
        if sorted_already {
            return;
        }
        let mut order: Vec<usize> = (0..self.series.len()).collect();
        order.sort_by(|&a, &b| self.cmp_series(a, b));
        let mut series = Vec::with_capacity(order.len());
        let mut buckets = Vec::with_capacity(self.buckets.len());
        let mut qv = Vec::with_capacity(self.quantile_values.len());
        for &i in &order {
            series.push(self.series[i].clone());
            buckets.extend_from_slice(&self.buckets[i * nb..(i + 1) * nb]);
            qv.extend_from_slice(&self.quantile_values[i * nq..(i + 1) * nq]);
        }
        self.series = series;
        self.buckets = buckets;
        self.quantile_values = qv;
    }

    fn cmp_series(&self, a: usize, b: usize) -> std::cmp::Ordering {
        self.series_ref(a).label_values().cmp(self.series_ref(b).label_values())
    }

    fn series_ref(&self, i: usize) -> SeriesRef<'_> {
        SeriesRef { family: self, index: i }
    }

    /// The series, in order.
    pub fn series(&self) -> impl ExactSizeIterator<Item = SeriesRef<'_>> + '_ {
        (0..self.series.len()).map(|i| self.series_ref(i))
    }

    /// The series whose label values equal `values`.
    pub fn find(&self, values: &[&str]) -> Option<SeriesRef<'_>> {
        self.series().find(|s| s.label_values().eq(values.iter().copied()))
    }
}

/// A borrowed view of one series in a [`FamilySnapshot`].
#[derive(Clone, Copy)]
pub struct SeriesRef<'a> {
    family: &'a FamilySnapshot,
    index: usize,
}

impl<'a> SeriesRef<'a> {
    fn data(&self) -> &'a SeriesData {
        &self.family.series[self.index]
    }

    /// Label values, in label-name order.
    pub fn label_values(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        let f = self.family;
        let r = self.data().labels.clone();
        f.spans[r.start as usize..r.end as usize].iter().map(move |&(s, e)| &f.text[s as usize..e as usize])
    }

    /// `(name, value)` label pairs.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + Clone + 'a {
        self.family.label_names.iter().map(|n| &**n).zip(self.label_values())
    }

    /// The value of the label `name`.
    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.labels().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The series' numbers.
    pub fn value(&self) -> &'a SeriesValue {
        &self.data().value
    }

    /// When the series was created or last reset.
    pub fn created(&self) -> Option<SystemTime> {
        self.data().created
    }

    /// The latest exemplar, if any.
    pub fn exemplar(&self) -> Option<&'a Exemplar> {
        self.data().exemplar.as_deref()
    }

    /// The native (exponential) buckets, for a native histogram.
    pub fn native(&self) -> Option<&'a NativeHistogramSnapshot> {
        self.data().native.as_deref()
    }

    /// Cumulative bucket counts, one per bound and a last one for `+Inf`
    /// (histograms; empty otherwise).
    pub fn buckets(&self) -> &'a [u64] {
        if !self.family.kind.is_histogram() {
            return &[];
        }
        let n = self.family.bounds.len() + 1;
        &self.family.buckets[self.index * n..(self.index + 1) * n]
    }

    /// Quantile values in the order of [`FamilySnapshot::quantiles`]
    /// (summaries; NaN for an empty window).
    pub fn quantiles(&self) -> &'a [f64] {
        if self.family.kind != MetricKind::Summary {
            return &[];
        }
        let n = self.family.quantiles.len();
        &self.family.quantile_values[self.index * n..(self.index + 1) * n]
    }

    /// A histogram view with mean and quantile estimates, for histograms.
    pub fn histogram(&self) -> Option<HistogramSnapshot> {
        match *self.value() {
            SeriesValue::Histogram { count, sum } => Some(HistogramSnapshot {
                bounds: self.family.bounds.clone(),
                cumulative: self.buckets().to_vec(),
                count,
                sum,
            }),
            _ => None,
        }
    }
}

/// A histogram's state: bucket bounds, cumulative counts, count and sum.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// Finite upper bounds (the `+Inf` bucket is implicit).
    pub bounds: Arc<[f64]>,
    /// Cumulative counts: one per bound, then `+Inf`.
    pub cumulative: Vec<u64>,
    /// Number of observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
}

impl HistogramSnapshot {
    /// `sum / count`, or NaN with no observations.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }

    /// `(upper bound, cumulative count)` pairs, `+Inf` last.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds.iter().copied().chain(std::iter::once(f64::INFINITY)).zip(self.cumulative.iter().copied())
    }

    /// The `q`-quantile estimated by linear interpolation inside the bucket
    /// holding the rank, exactly as PromQL's `histogram_quantile` does: the
    /// first bucket interpolates from 0 (or from its bound if that is
    /// negative), and a rank in the `+Inf` bucket returns the highest finite
    /// bound. NaN with no observations or `q` outside `[0, 1]`.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return f64::NAN;
        }
        let total = *self.cumulative.last().unwrap_or(&0) as f64;
        if total == 0.0 {
            return f64::NAN;
        }
        let rank = q * total;
        let i = self.cumulative.iter().position(|&c| c as f64 >= rank).unwrap_or(self.cumulative.len() - 1);
        if i == self.bounds.len() {
            return self.bounds.last().copied().unwrap_or(f64::NAN);
        }
        let upper = self.bounds[i];
        let (lower, below) = if i == 0 {
            (if upper <= 0.0 { upper } else { 0.0 }, 0.0)
        } else {
            (self.bounds[i - 1], self.cumulative[i - 1] as f64)
        };
        let in_bucket = self.cumulative[i] as f64 - below;
        if in_bucket == 0.0 {
            return upper;
        }
        lower + (upper - lower) * ((rank - below) / in_bucket)
    }
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// The `SystemTime` of a Unix-nanosecond stamp (None for 0).
pub(crate) fn from_unix_nanos(ns: u64) -> Option<SystemTime> {
    (ns != 0).then(|| UNIX_EPOCH + Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(bounds: &[f64], cumulative: &[u64]) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: bounds.into(),
            cumulative: cumulative.to_vec(),
            count: *cumulative.last().unwrap(),
            sum: 0.0,
        }
    }

    #[test]
    fn quantile_interpolates_like_promql() {
        // 10 observations in (0,1], 10 in (1,2]
        let h = hist(&[1.0, 2.0], &[10, 20, 20]);
        assert_eq!(h.quantile(0.5), 1.0);
        assert_eq!(h.quantile(0.25), 0.5);
        assert_eq!(h.quantile(0.75), 1.5);
        assert_eq!(h.quantile(1.0), 2.0);
        // rank in +Inf bucket returns the highest finite bound
        let h = hist(&[1.0, 2.0], &[0, 0, 5]);
        assert_eq!(h.quantile(0.5), 2.0);
        assert!(hist(&[1.0], &[0, 0]).quantile(0.5).is_nan());
        assert!(h.quantile(1.5).is_nan());
    }

    #[test]
    fn family_sorts_series_with_their_buckets() {
        let names: Arc<[Box<str>]> = vec!["k".into()].into();
        let mut f = FamilySnapshot::new("h", "", None, MetricKind::Histogram, names).with_bounds(vec![1.0].into());
        f.push(["b"], SeriesValue::Histogram { count: 2, sum: 2.0 }, None, &[1, 2], &[]);
        f.push(["a"], SeriesValue::Histogram { count: 5, sum: 5.0 }, None, &[4, 5], &[]);
        f.sort();
        let first = f.series().next().unwrap();
        assert_eq!(first.label("k"), Some("a"));
        assert_eq!(first.buckets(), &[4, 5]);
        assert_eq!(f.find(&["b"]).unwrap().buckets(), &[1, 2]);
    }
}
