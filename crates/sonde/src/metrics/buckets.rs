//! Histogram bucket layouts: validated, with the usual presets.

use std::sync::Arc;

use super::exponential::{MAX_SCHEMA, MIN_SCHEMA};
use crate::{Error, Result};

/// A histogram's buckets: classic upper bounds (strictly increasing and
/// finite), native exponential buckets ([`NativeBuckets`]), or both.
///
/// The classic `+Inf` bucket is implicit: it is always there and never
/// listed. A native-only layout ([`Buckets::native`]) has no finite bound,
/// so a text scrape shows its `+Inf` bucket, `_sum` and `_count` only.
/// Cloning is cheap (the bounds are shared).
///
/// ```
/// use sonde::Buckets;
/// let b = Buckets::new([0.1, 0.5, 1.0]).unwrap();
/// assert_eq!(b.bounds(), &[0.1, 0.5, 1.0]);
/// assert!(Buckets::new([1.0, 1.0]).is_err());
/// assert_eq!(Buckets::linear(1.0, 1.0, 3).unwrap().bounds(), &[1.0, 2.0, 3.0]);
/// assert_eq!(Buckets::exponential(1.0, 10.0, 3).unwrap().bounds(), &[1.0, 10.0, 100.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    bounds: Arc<[f64]>,
    exemplars: bool,
    native: Option<NativeBuckets>,
}

/// Native (exponential) buckets: base-2 buckets at a schema, a zero bucket
/// and a limit on the buckets in use.
///
/// At schema `s` each power of two holds `2^s` buckets, each boundary the
/// previous one times `2^(2^-s)`. Recording starts at [`schema`](Self::schema)
/// (8 by default, the finest Prometheus stores) and lowers it whenever more
/// than [`max_buckets`](Self::max_buckets) buckets (160 by default, as the
/// OpenTelemetry SDKs) would be in use: the limit counts, per sign, every
/// bucket from the lowest to the highest one holding a count, as
/// OpenTelemetry's `max_size` does (client_golang counts only the buckets
/// holding a count, so it keeps a finer schema for values far apart). Values with
/// `|v| <= zero_threshold` (2^-128 by default, as client_golang) count in
/// the zero bucket.
///
/// **Reset policy.** The schema only ever falls: like client_golang with its
/// default `NativeHistogramMinResetDuration` of zero, Sonde never resets a
/// histogram to regain resolution. A registry reset subtracts, and keeps the
/// schema reached.
///
/// ```
/// use sonde::NativeBuckets;
/// let n = NativeBuckets::new().schema(3).unwrap().max_buckets(100).unwrap();
/// assert_eq!((n.initial_schema(), n.bucket_limit()), (3, 100));
/// assert_eq!(NativeBuckets::from_factor(1.1).unwrap().initial_schema(), 3);
/// assert!(NativeBuckets::new().schema(21).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeBuckets {
    pub(crate) schema: i8,
    pub(crate) zero_threshold: f64,
    pub(crate) max_buckets: u32,
}

/// The most buckets [`NativeBuckets::max_buckets`] accepts.
const MAX_BUCKET_LIMIT: u32 = 1 << 16;

impl Default for NativeBuckets {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeBuckets {
    /// Schema 8, zero threshold 2^-128, at most 160 buckets.
    pub fn new() -> Self {
        Self { schema: 8, zero_threshold: 2f64.powi(-128), max_buckets: 160 }
    }

    /// The schema recording starts at, from -4 to 20 (above 8 only OTLP
    /// carries the resolution; Prometheus output is lowered to 8).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) outside -4..=20.
    pub fn schema(mut self, schema: i8) -> Result<Self> {
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
            return Err(Error::InvalidBuckets(format!("native schema {schema} is outside -4..=20")));
        }
        self.schema = schema;
        Ok(self)
    }

    /// The finest schema whose bucket growth factor is at most `factor`, as
    /// client_golang's `NativeHistogramBucketFactor` picks it (1.1 gives
    /// schema 3, a factor of 1.0905).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) unless `factor > 1`.
    pub fn from_factor(factor: f64) -> Result<Self> {
        if factor.is_nan() || factor <= 1.0 {
            return Err(Error::InvalidBuckets(format!("a native bucket factor must be above 1, not {factor}")));
        }
        // client_golang's pickSchema: -floor(log2(log2(factor))), within -4..=8.
        let floor = factor.log2().log2().floor();
        let schema = (-floor).clamp(f64::from(MIN_SCHEMA), f64::from(super::exponential::MAX_PROMETHEUS_SCHEMA)) as i8;
        Self::new().schema(schema)
    }

    /// Observations with `|v| <= threshold` count in the zero bucket.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) for a negative or non-finite threshold.
    pub fn zero_threshold(mut self, threshold: f64) -> Result<Self> {
        if !threshold.is_finite() || threshold < 0.0 {
            return Err(Error::InvalidBuckets(format!("zero threshold {threshold} must be finite and >= 0")));
        }
        self.zero_threshold = threshold;
        Ok(self)
    }

    /// At most `max` buckets in use (the schema falls to keep within it),
    /// from 1 to 65,536 (a 512 KiB row of counters).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) outside 1..=65,536.
    pub fn max_buckets(mut self, max: u32) -> Result<Self> {
        if !(1..=MAX_BUCKET_LIMIT).contains(&max) {
            return Err(Error::InvalidBuckets(format!("a native histogram allows 1 to 65536 buckets, not {max}")));
        }
        self.max_buckets = max;
        Ok(self)
    }

    /// The schema recording starts at.
    pub fn initial_schema(&self) -> i8 {
        self.schema
    }

    /// The zero bucket's threshold.
    pub fn zero_bucket_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// The limit on buckets in use.
    pub fn bucket_limit(&self) -> u32 {
        self.max_buckets
    }
}

impl Buckets {
    /// Validates `bounds`: at least one, all finite, strictly increasing.
    /// A trailing `+Inf` is accepted and dropped, since it is implicit.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) when there is no finite bound, a bound is NaN
    /// or infinite, or the bounds are not strictly increasing.
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Result<Self> {
        let mut v: Vec<f64> = bounds.into_iter().collect();
        if v.last() == Some(&f64::INFINITY) {
            v.pop();
        }
        if v.is_empty() {
            return Err(Error::InvalidBuckets("at least one finite bound is required".into()));
        }
        if let Some(bad) = v.iter().find(|b| !b.is_finite()) {
            return Err(Error::InvalidBuckets(format!("bound {bad} is not finite")));
        }
        if let Some(w) = v.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::InvalidBuckets(format!(
                "bounds must increase strictly, but {} is followed by {}",
                w[0], w[1]
            )));
        }
        Ok(Self { bounds: v.into(), exemplars: false, native: None })
    }

    /// `count` bounds `start, start + width, ...`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) when `count` is zero, `width` is not positive,
    /// or a bound is not finite.
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Self> {
        if width.is_nan() || width <= 0.0 || count == 0 {
            return Err(Error::InvalidBuckets(format!(
                "linear buckets need width > 0 and count >= 1 (width {width}, count {count})"
            )));
        }
        Self::new((0..count).map(|i| start + width * i as f64))
    }

    /// `count` bounds `start, start * factor, ...`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`](crate::Error::InvalidBuckets) when `count` is zero, `start` is not positive,
    /// `factor` is not above 1, or a bound is not finite.
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self> {
        if start.is_nan() || start <= 0.0 || factor.is_nan() || factor <= 1.0 || count == 0 {
            return Err(Error::InvalidBuckets(format!(
                "exponential buckets need start > 0, factor > 1, count >= 1 (start {start}, factor {factor}, count {count})"
            )));
        }
        Self::new((0..count).map(|i| start * factor.powi(i as i32)))
    }

    /// Prometheus' default buckets, in seconds: `0.005, 0.01, 0.025, 0.05,
    /// 0.1, 0.25, 0.5, 1, 2.5, 5, 10`. This is also the `0.005..10` set that
    /// in-process aggregators default to.
    pub fn default_seconds() -> Self {
        Self::preset(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
    }

    /// Latency buckets in milliseconds: `0.5, 1, 2, 5, ..., 10000`.
    pub fn default_milliseconds() -> Self {
        Self::preset(&[0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0])
    }

    /// Size buckets in bytes: `1e6, 1e7, 1e8, 5e8, 1e9, 5e9, 1e10, 5e10, 1e11`.
    pub fn default_bytes() -> Self {
        Self::preset(&[1e6, 1e7, 1e8, 5e8, 1e9, 5e9, 1e10, 5e10, 1e11])
    }

    /// The preset matching a unit: `"bytes"`, `"ms"`/`"milliseconds"`, else seconds.
    pub fn for_unit(unit: Option<&str>) -> Self {
        match unit {
            Some("bytes") => Self::default_bytes(),
            Some("ms" | "milliseconds") => Self::default_milliseconds(),
            _ => Self::default_seconds(),
        }
    }

    fn preset(bounds: &[f64]) -> Self {
        Self { bounds: bounds.into(), exemplars: false, native: None }
    }

    /// The same layout, with exemplar capture: an observation made while a
    /// sampled span is current keeps that span's trace and span ids as the
    /// series' exemplar (the latest one wins). Off by default, so plain
    /// histograms never look at the current span.
    pub fn with_exemplars(mut self) -> Self {
        self.exemplars = true;
        self
    }

    /// Native buckets only: no classic bound, so a text scrape shows the
    /// `+Inf` bucket, `_sum` and `_count`, and the protobuf exposition, OTLP
    /// and remote write carry the buckets.
    ///
    /// ```
    /// use sonde::{Buckets, NativeBuckets};
    /// let b = Buckets::native(NativeBuckets::new());
    /// assert!(b.bounds().is_empty() && b.native_buckets().is_some());
    /// ```
    pub fn native(native: NativeBuckets) -> Self {
        Self { bounds: Arc::from([]), exemplars: false, native: Some(native) }
    }

    /// These classic buckets and native ones too (Prometheus accepts both on
    /// one histogram while dashboards move from one to the other).
    pub fn with_native(mut self, native: NativeBuckets) -> Self {
        self.native = Some(native);
        self
    }

    /// The native buckets, when the histogram has them.
    pub fn native_buckets(&self) -> Option<NativeBuckets> {
        self.native
    }

    /// Whether observations capture exemplars.
    pub fn exemplars(&self) -> bool {
        self.exemplars
    }

    /// The finite upper bounds, without the implicit `+Inf` (none for a
    /// native-only layout).
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    pub(crate) fn shared(&self) -> Arc<[f64]> {
        self.bounds.clone()
    }

    /// Number of buckets, the `+Inf` bucket included.
    pub fn len(&self) -> usize {
        self.bounds.len() + 1
    }

    /// Always false: a layout has at least the `+Inf` bucket.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Self::default_seconds()
    }
}

/// Index of the bucket that counts `v`: the first whose bound is `>= v`, or
/// `bounds.len()` (the `+Inf` bucket). `v` must not be NaN.
#[inline(always)]
pub(crate) fn bucket_index(bounds: &[f64], v: f64) -> usize {
    if bounds.len() <= 16 {
        // Branch-free: counting is cheaper than a mispredicted search.
        bounds.iter().map(|&b| (b < v) as usize).sum()
    } else {
        bounds.partition_point(|&b| b < v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let cases: &[(&[f64], bool)] = &[
            (&[1.0], true),
            (&[1.0, 2.0, f64::INFINITY], true),
            (&[], false),
            (&[f64::INFINITY], false),
            (&[2.0, 1.0], false),
            (&[1.0, 1.0], false),
            (&[f64::NAN], false),
            (&[1.0, f64::NAN], false),
            (&[f64::NEG_INFINITY, 0.0], false),
        ];
        for (bounds, ok) in cases {
            assert_eq!(Buckets::new(bounds.iter().copied()).is_ok(), *ok, "{bounds:?}");
        }
        assert!(Buckets::linear(0.0, 0.0, 3).is_err());
        assert!(Buckets::exponential(0.0, 2.0, 3).is_err());
        assert!(Buckets::exponential(1.0, 1.0, 3).is_err());
    }

    #[test]
    fn index_matches_le_semantics() {
        let b = [1.0, 2.0, 5.0];
        assert_eq!(bucket_index(&b, 0.5), 0);
        assert_eq!(bucket_index(&b, 1.0), 0, "a value on a bound belongs to that bucket");
        assert_eq!(bucket_index(&b, 1.5), 1);
        assert_eq!(bucket_index(&b, 5.0), 2);
        assert_eq!(bucket_index(&b, 7.0), 3);
        assert_eq!(bucket_index(&b, f64::INFINITY), 3);
        let many: Vec<f64> = (0..40).map(f64::from).collect();
        for v in [-1.0, 0.0, 0.5, 17.0, 39.0, 39.5] {
            assert_eq!(bucket_index(&many, v), many.iter().filter(|&&x| x < v).count());
        }
    }

    #[test]
    fn presets_are_valid() {
        for b in [Buckets::default_seconds(), Buckets::default_milliseconds(), Buckets::default_bytes()] {
            Buckets::new(b.bounds().iter().copied()).unwrap();
        }
        assert_eq!(Buckets::for_unit(Some("bytes")), Buckets::default_bytes());
    }
}
