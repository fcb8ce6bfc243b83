//! A native (exponential) histogram's state as a plain value.

use crate::metrics::exponential::{
    downscale_index, lower_bound, range_coarser, range_span, range_union, upper_bound, MAX_DENSE_SPAN, MIN_SCHEMA,
};

/// One sign's buckets: consecutive counts, the first at Prometheus index
/// `offset` (see [`crate::exponential`] for the numbering).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExponentialBuckets {
    /// The index of `counts[0]`.
    pub offset: i32,
    /// Per-bucket (not cumulative) counts.
    pub counts: Vec<u64>,
}

impl ExponentialBuckets {
    /// The sum of the counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.wrapping_add(c))
    }

    /// `(index, count)` of every bucket, empty ones included, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts.iter().enumerate().map(move |(i, &c)| (self.offset + i as i32, c))
    }

    /// The lowest and highest index holding a count.
    pub(crate) fn counted_range(&self) -> Option<(i32, i32)> {
        let first = self.counts.iter().position(|&c| c != 0)?;
        let last = self.counts.iter().rposition(|&c| c != 0).unwrap_or(first);
        Some((self.offset + first as i32, self.offset + last as i32))
    }

    /// Adds `count` to bucket `index`, growing the run as needed. The run
    /// is dense: its memory follows the distance between the lowest and
    /// highest index (the snapshots Sonde makes keep it within
    /// [`MAX_DENSE_SPAN`](crate::exponential::MAX_DENSE_SPAN) by lowering the schema).
    pub fn add(&mut self, index: i32, count: u64) {
        if count == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(count);
            return;
        }
        if index < self.offset {
            let grow = (i64::from(self.offset) - i64::from(index)) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = (i64::from(index) - i64::from(self.offset)) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] = self.counts[at].wrapping_add(count);
    }

    /// The same buckets `by` schemas coarser.
    pub fn downscale(&mut self, by: u32) {
        if by == 0 || self.counts.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.counts);
        let offset = self.offset;
        for (i, c) in old.into_iter().enumerate() {
            self.add(downscale_index(offset + i as i32, by), c);
        }
    }

    /// Drops empty buckets at both ends.
    pub fn trim(&mut self) {
        let Some(first) = self.counts.iter().position(|&c| c != 0) else {
            self.counts.clear();
            self.offset = 0;
            return;
        };
        let last = self.counts.iter().rposition(|&c| c != 0).unwrap_or(first);
        self.counts.truncate(last + 1);
        self.counts.drain(..first);
        self.offset += first as i32;
    }

    /// Prometheus' sparse form, as its protobuf exposition and remote write
    /// carry it: spans `(offset, length)`, each offset the gap from the end
    /// of the previous span (from index 0 for the first), split where more
    /// than two empty buckets lie between counted ones, as client_golang
    /// does; and each covered bucket's count as its difference from the
    /// previous covered one (from 0 for the first).
    ///
    /// ```
    /// use sonde::ExponentialBuckets;
    /// let b = ExponentialBuckets { offset: -2, counts: vec![0, 3, 0, 0, 1, 0, 0, 0, 2] };
    /// let (spans, deltas) = b.spans();
    /// assert_eq!(spans, vec![(-1, 4), (3, 1)]);
    /// assert_eq!(deltas, vec![3, -3, 0, 1, 1]);
    /// ```
    pub fn spans(&self) -> (Vec<(i32, u32)>, Vec<i64>) {
        let mut spans = Vec::new();
        let mut deltas = Vec::new();
        let mut previous = 0i64;
        for (gap, range) in self.runs() {
            spans.push((gap, range.len() as u32));
            for &c in &self.counts[range] {
                deltas.push((c as i64).wrapping_sub(previous));
                previous = c as i64;
            }
        }
        (spans, deltas)
    }

    /// The buckets Prometheus' sparse form describes, the inverse of
    /// [`ExponentialBuckets::spans`]; `None` when it is malformed: spans
    /// that overlap or go backwards (a negative offset after the first),
    /// deltas that do not match the spans' lengths, a count below zero, or
    /// indexes beyond `i32`.
    ///
    /// ```
    /// use sonde::ExponentialBuckets;
    /// let b = ExponentialBuckets::from_spans(&[(-1, 4), (3, 1)], &[3, -3, 0, 1, 1]).unwrap();
    /// assert_eq!((b.offset, b.counts), (-1, vec![3, 0, 0, 1, 0, 0, 0, 2]));
    /// assert!(ExponentialBuckets::from_spans(&[(0, 2), (-1, 1)], &[1, 0, 0]).is_none(), "overlap");
    /// ```
    pub fn from_spans(spans: &[(i32, u32)], deltas: &[i64]) -> Option<Self> {
        if spans.iter().map(|&(_, l)| u64::from(l)).sum::<u64>() != deltas.len() as u64 {
            return None;
        }
        let mut out = ExponentialBuckets::default();
        let (mut index, mut count, mut d) = (0i64, 0i64, deltas.iter());
        for (n, &(gap, length)) in spans.iter().enumerate() {
            if n > 0 && gap < 0 {
                return None;
            }
            index += i64::from(gap);
            for _ in 0..length {
                count = count.checked_add(*d.next()?)?;
                let at = i32::try_from(index).ok()?;
                if count < 0 {
                    return None;
                }
                if out.counts.is_empty() {
                    out.offset = at;
                }
                let slot = usize::try_from(i64::from(at) - i64::from(out.offset)).ok()?;
                out.counts.resize(slot + 1, 0);
                out.counts[slot] = count as u64;
                index += 1;
            }
        }
        out.trim();
        Some(out)
    }

    /// Runs of buckets for [`ExponentialBuckets::spans`]: `(gap, range of
    /// `counts`)`.
    fn runs(&self) -> Vec<(i32, std::ops::Range<usize>)> {
        let mut out: Vec<(i32, std::ops::Range<usize>)> = Vec::new();
        let mut next_index = 0i32;
        let mut i = 0;
        while i < self.counts.len() {
            if self.counts[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i + 1;
            let mut zeros = 0;
            let mut j = i + 1;
            while j < self.counts.len() {
                if self.counts[j] == 0 {
                    zeros += 1;
                    if zeros > 2 {
                        break;
                    }
                } else {
                    zeros = 0;
                    end = j + 1;
                }
                j += 1;
            }
            let index = self.offset + start as i32;
            out.push((index - next_index, start..end));
            next_index = self.offset + end as i32;
            i = end;
        }
        out
    }
}

/// A native histogram: exponential buckets at one schema, a zero bucket,
/// count, sum, and the smallest and largest observation.
///
/// ```
/// use sonde::{Buckets, Histogram, NativeBuckets};
/// let h = Histogram::new(Buckets::native(NativeBuckets::new().schema(0).unwrap()));
/// for v in [0.0, 1.5, 3.0, 4.0, -2.0] {
///     h.observe(v);
/// }
/// let n = h.native().unwrap();
/// assert_eq!((n.schema, n.count, n.zero_count, n.sum), (0, 5, 1, 6.5));
/// // Schema 0: bucket i holds (2^(i-1), 2^i].
/// assert_eq!(n.positive.offset, 1);
/// assert_eq!(n.positive.counts, vec![1, 2]); // 1.5 in (1, 2]; 3 and 4 in (2, 4]
/// assert_eq!((n.negative.offset, n.negative.counts.clone()), (1, vec![1]));
/// assert_eq!((n.min, n.max), (Some(-2.0), Some(4.0)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NativeHistogramSnapshot {
    /// Each power of two holds `2^schema` buckets (-4 to 20).
    pub schema: i8,
    /// Observations with `|v| <= zero_threshold` count in the zero bucket.
    pub zero_threshold: f64,
    /// The zero bucket's count.
    pub zero_count: u64,
    /// Number of observations: the zero bucket plus every bucket.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
    /// The smallest observation, when there was one.
    pub min: Option<f64>,
    /// The largest observation, when there was one.
    pub max: Option<f64>,
    /// Buckets of positive observations.
    pub positive: ExponentialBuckets,
    /// Buckets of negative observations, by magnitude.
    pub negative: ExponentialBuckets,
}

impl NativeHistogramSnapshot {
    /// An empty histogram at `schema`.
    pub fn empty(schema: i8, zero_threshold: f64) -> Self {
        Self {
            schema,
            zero_threshold,
            zero_count: 0,
            count: 0,
            sum: 0.0,
            min: None,
            max: None,
            positive: ExponentialBuckets::default(),
            negative: ExponentialBuckets::default(),
        }
    }

    /// Lowers the schema to `schema` (never raises it), merging buckets.
    pub fn downscale_to(&mut self, schema: i8) {
        if schema >= self.schema {
            return;
        }
        let by = (self.schema - schema) as u32;
        self.positive.downscale(by);
        self.negative.downscale(by);
        self.schema = schema;
    }

    /// Buckets in use: from the lowest to the highest counted one, per sign.
    pub fn bucket_span(&self) -> usize {
        (range_span(self.positive.counted_range()) + range_span(self.negative.counted_range())) as usize
    }

    /// Lowers the schema (to at most `schema`, and further while needed) so
    /// that buckets counted at `schema` in `positive` and `negative` can be
    /// added to this histogram's within `MAX_DENSE_SPAN` per sign.
    pub(crate) fn make_room(&mut self, schema: i8, positive: Option<(i32, i32)>, negative: Option<(i32, i32)>) {
        let mut target = self.schema.min(schema);
        let fits = |target: i8| {
            let (mine, theirs) = ((self.schema - target) as u32, (schema - target) as u32);
            [(self.positive.counted_range(), positive), (self.negative.counted_range(), negative)].into_iter().all(
                |(a, b)| {
                    range_span(range_union(range_coarser(a, mine), range_coarser(b, theirs)))
                        <= u64::from(MAX_DENSE_SPAN)
                },
            )
        };
        while target > MIN_SCHEMA && !fits(target) {
            target -= 1;
        }
        self.downscale_to(target);
    }

    /// Lowers the schema until at most `max_buckets` buckets are in use (or
    /// the coarsest schema is reached).
    pub fn limit_buckets(&mut self, max_buckets: usize) {
        while self.bucket_span() > max_buckets && self.schema > MIN_SCHEMA {
            self.downscale_to(self.schema - 1);
        }
    }

    /// Adds `other` (another series, or another part of this one) at the
    /// coarser of the two schemas; the wider zero bucket absorbs the other's
    /// buckets inside it.
    pub fn merge(&mut self, other: &NativeHistogramSnapshot) {
        let mut other = other.clone();
        self.make_room(other.schema, other.positive.counted_range(), other.negative.counted_range());
        let schema = self.schema;
        other.downscale_to(schema);
        if other.zero_threshold > self.zero_threshold {
            self.widen_zero_bucket(other.zero_threshold);
        } else if other.zero_threshold < self.zero_threshold {
            other.widen_zero_bucket(self.zero_threshold);
        }
        self.zero_count = self.zero_count.wrapping_add(other.zero_count);
        self.count = self.count.wrapping_add(other.count);
        self.sum += other.sum;
        self.min = min_option(self.min, other.min, f64::min);
        self.max = min_option(self.max, other.max, f64::max);
        for (i, c) in other.positive.iter() {
            self.positive.add(i, c);
        }
        for (i, c) in other.negative.iter() {
            self.negative.add(i, c);
        }
    }

    /// Moves every bucket whose upper bound is at most `threshold` into the
    /// zero bucket, and sets the threshold.
    fn widen_zero_bucket(&mut self, threshold: f64) {
        let schema = self.schema;
        let mut moved = 0u64;
        for b in [&mut self.positive, &mut self.negative] {
            for (i, c) in b.counts.iter_mut().enumerate() {
                if upper_bound(b.offset + i as i32, schema) <= threshold {
                    moved = moved.wrapping_add(std::mem::take(c));
                }
            }
            b.trim();
        }
        self.zero_count = self.zero_count.wrapping_add(moved);
        self.zero_threshold = threshold;
    }

    /// This histogram minus an earlier state of the same series (what a
    /// reset subtracts, what a delta export sends): buckets at the coarser
    /// schema; min and max are kept, since they cannot be un-observed.
    pub fn subtract(&mut self, earlier: &NativeHistogramSnapshot) {
        let mut earlier = earlier.clone();
        let schema = self.schema.min(earlier.schema);
        self.downscale_to(schema);
        earlier.downscale_to(schema);
        self.zero_count = self.zero_count.wrapping_sub(earlier.zero_count);
        self.count = self.count.wrapping_sub(earlier.count);
        self.sum -= earlier.sum;
        for (i, c) in earlier.positive.iter() {
            self.positive.add(i, c.wrapping_neg());
        }
        for (i, c) in earlier.negative.iter() {
            self.negative.add(i, c.wrapping_neg());
        }
        self.positive.trim();
        self.negative.trim();
    }

    /// Every bucket as `(lower, upper, count)`, from the most negative
    /// through the zero bucket to the most positive; negative buckets
    /// have negative bounds.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, f64, u64)> + '_ {
        let schema = self.schema;
        let negative =
            self.negative.iter().rev().map(move |(i, c)| (-upper_bound(i, schema), -lower_bound(i, schema), c));
        let zero = std::iter::once((-self.zero_threshold, self.zero_threshold, self.zero_count));
        let positive = self.positive.iter().map(move |(i, c)| (lower_bound(i, schema), upper_bound(i, schema), c));
        negative.chain(zero).chain(positive).filter(|&(_, _, c)| c > 0)
    }

    /// The `q`-quantile as Prometheus 2.42's `histogram_quantile` estimates
    /// it: the bucket holding the rank, linear inside it (the zero bucket
    /// starts at 0 when only positive buckets exist). For observations in
    /// buckets, the estimate's relative error is at most
    /// [`relative_error(schema)`](crate::exponential::relative_error)
    /// (`2^(2^-schema) - 1`, 9.05 % at schema 3, 0.27 % at schema 8). NaN
    /// with no observations or `q` outside `[0, 1]`.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return f64::NAN;
        }
        let total = self.count as f64;
        let rank = q * total;
        let mut seen = 0.0;
        let mut hit = None;
        for (lower, upper, c) in self.buckets() {
            seen += c as f64;
            hit = Some((lower, upper, c as f64));
            if seen >= rank {
                break;
            }
        }
        let Some((mut lower, mut upper, in_bucket)) = hit else {
            return f64::NAN;
        };
        if lower < 0.0 && upper > 0.0 {
            if self.negative.total() == 0 && self.positive.total() > 0 {
                lower = 0.0;
            } else if self.positive.total() == 0 && self.negative.total() > 0 {
                upper = 0.0;
            }
        }
        let seen = seen.min(total);
        if seen < rank {
            return upper;
        }
        let rank_in = rank - (seen - in_bucket);
        lower + (upper - lower) * (rank_in / in_bucket)
    }
}

fn min_option(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exponential::bucket_index;
    use proptest::prelude::Just;

    fn run(offset: i32, counts: &[u64]) -> ExponentialBuckets {
        ExponentialBuckets { offset, counts: counts.to_vec() }
    }

    #[test]
    fn runs_split_at_more_than_two_empty_buckets() {
        let b = run(-2, &[0, 3, 0, 0, 1, 0, 0, 0, 2, 0]);
        // index -1 (gap -1 from 0), length 4 [3,0,0,1]; then index 6: gap 6-3=3, length 1.
        assert_eq!(b.runs(), vec![(-1, 1..5), (3, 8..9)]);
        assert!(run(0, &[0, 0]).runs().is_empty());
    }

    proptest::proptest! {
        /// Prometheus' sparse form round-trips any run of counts.
        #[test]
        fn spans_round_trip(offset in -2000i32..2000, counts in proptest::collection::vec(proptest::prop_oneof![Just(0u64), 0u64..1_000_000, Just(u64::from(u32::MAX))], 0..40)) {
            let mut b = ExponentialBuckets { offset, counts };
            b.trim();
            let (spans, deltas) = b.spans();
            proptest::prop_assert_eq!(ExponentialBuckets::from_spans(&spans, &deltas), Some(b));
        }
    }

    #[test]
    fn downscale_merges_pairs_and_keeps_totals() {
        let mut b = run(-1, &[1, 2, 3, 4]); // indexes -1, 0, 1, 2
        b.downscale(1); // -1 -> 0 (ceil(-0.5) = 0), 0 -> 0, 1 -> 1, 2 -> 1
        assert_eq!(b, run(0, &[3, 7]));
        assert_eq!(b.total(), 10);
    }

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        let mut h = NativeHistogramSnapshot::empty(0, 0.0);
        h.positive = run(1, &[10, 10]); // (1,2]: 10, (2,4]: 10
        h.count = 20;
        assert_eq!(h.quantile(0.5), 2.0);
        assert_eq!(h.quantile(0.25), 1.5);
        assert_eq!(h.quantile(0.75), 3.0);
        assert!(h.quantile(2.0).is_nan());
        assert!(NativeHistogramSnapshot::empty(0, 0.0).quantile(0.5).is_nan());
    }

    #[test]
    fn merging_histograms_far_apart_lowers_the_schema_to_fit() {
        let one = |index: i32| {
            let mut h = NativeHistogramSnapshot::empty(20, 0.0);
            h.positive.add(index, 1);
            h.count = 1;
            h
        };
        let (high, low) = (bucket_index(f64::INFINITY, 20), bucket_index(5e-324, 20));
        let mut a = one(high);
        a.merge(&one(low));
        assert_eq!(a.count, 2);
        assert!(a.bucket_span() <= crate::exponential::MAX_DENSE_SPAN as usize, "{}", a.bucket_span());
        let by = (20 - a.schema) as u32;
        let counted: Vec<(i32, u64)> = a.positive.iter().filter(|&(_, c)| c > 0).collect();
        assert_eq!(counted, vec![(downscale_index(low, by), 1), (downscale_index(high, by), 1)]);
        // Buckets close together keep the finest schema.
        let mut b = one(high);
        b.merge(&one(high - 1000));
        assert_eq!(b.schema, 20);
    }

    #[test]
    fn merge_widens_the_zero_bucket_and_coarsens() {
        let mut a = NativeHistogramSnapshot::empty(2, 0.0);
        a.positive = run(0, &[1]); // (2^-0.25, 1]
        a.count = 1;
        let mut b = NativeHistogramSnapshot::empty(0, 1.0);
        b.positive = run(2, &[2]);
        b.count = 2;
        a.merge(&b);
        assert_eq!((a.schema, a.zero_threshold, a.zero_count, a.count), (0, 1.0, 1, 3));
        assert_eq!(a.positive, run(2, &[2]));
    }

    #[test]
    fn limit_lowers_the_schema_until_the_buckets_fit() {
        let mut h = NativeHistogramSnapshot::empty(3, 0.0);
        h.positive = run(0, &[1; 40]);
        h.count = 40;
        h.limit_buckets(10);
        assert!(h.bucket_span() <= 10);
        assert_eq!((h.schema, h.positive.total()), (0, 40));
    }
}
