//! Base-2 exponential bucket arithmetic, shared by native histograms,
//! their encoders and their receivers.
//!
//! At schema `s` every power of two is split into `2^s` buckets whose
//! boundaries grow by the factor `2^(2^-s)`. Bucket `i` holds the values in
//! `(2^((i-1)/2^s), 2^(i/2^s)]`: Prometheus' numbering (OTLP's bucket `i`
//! is Prometheus' bucket `i + 1`). Lowering the schema by one merges buckets
//! `2k-1` and `2k` into bucket `k`, so an index at schema `s - d` is
//! `ceil(i / 2^d)`.
//!
//! Schemas from -4 to 8 take their boundaries from one correctly rounded
//! table (`exponential_bounds.rs`), so a value at a boundary lands in the
//! bucket client_golang puts it in; schemas above 8 (OTLP allows up to 20)
//! use `log2` and correct the answer against `exp2` boundaries.

use super::exponential_bounds::BOUNDS_256;

/// Most buckets per sign a snapshot made by Sonde holds (from the lowest to
/// the highest counted): reading a histogram whose threads' rows sit far
/// apart, or merging two snapshots, lowers the schema until the buckets fit
/// (at the coarsest schema every double fits in 133).
pub const MAX_DENSE_SPAN: u32 = 1 << 16;

/// The coarsest schema: each bucket spans a factor of `2^16`.
pub const MIN_SCHEMA: i8 = -4;
/// The finest schema Prometheus stores (each bucket a factor of `2^(1/256)`).
pub const MAX_PROMETHEUS_SCHEMA: i8 = 8;
/// The finest schema (OTLP's scale) Sonde records at.
pub const MAX_SCHEMA: i8 = 20;

/// `LOWEST[t]`: the first `k` with `BOUNDS_256[k] >= 1 + t/512`. Boundaries
/// are more than `2^-9` apart, so a mantissa slice of width `2^-9` holds at
/// most one of them: one lookup and one comparison find the bucket.
static LOWEST: [u16; 512] = lowest_table();

const fn lowest_table() -> [u16; 512] {
    let mut out = [0u16; 512];
    let mut t = 0;
    let mut k = 0;
    while t < 512 {
        let start = 1.0 + t as f64 / 512.0;
        while BOUNDS_256[k] < start {
            k += 1;
        }
        out[t] = k as u16;
        t += 1;
    }
    out
}

const MANTISSA: u64 = (1 << 52) - 1;

/// `|v| = m · 2^e` with `m` in `[1, 2)` as its 52 fraction bits, for finite
/// `v != 0` (subnormals normalised).
#[inline(always)]
fn split(a: f64) -> (u64, i32) {
    let bits = a.to_bits();
    let field = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & MANTISSA;
    if field == 0 {
        return split_subnormal(fraction);
    }
    (fraction, field - 1023)
}

#[cold]
fn split_subnormal(fraction: u64) -> (u64, i32) {
    let shift = fraction.leading_zeros() as i32 - 11;
    ((fraction << shift) & MANTISSA, -1022 - shift)
}

/// The schema-8 index of a finite `a > 0`.
#[inline(always)]
fn index_256(a: f64) -> i32 {
    let (fraction, e) = split(a);
    let lowest = LOWEST[(fraction >> 43) as usize] as usize;
    let m = f64::from_bits(fraction | (1023 << 52));
    e * 256 + lowest as i32 + (m > BOUNDS_256[lowest]) as i32
}

/// The index of the bucket holding `a` (a magnitude: `a > 0`, `+Inf`
/// allowed) at `schema` (`MIN_SCHEMA..=MAX_SCHEMA`). `+Inf` lands one bucket
/// past `f64::MAX`'s, as client_golang puts it.
#[inline(always)]
pub fn bucket_index(a: f64, schema: i8) -> i32 {
    if a.is_infinite() {
        return bucket_index(f64::MAX, schema) + 1;
    }
    if schema <= MAX_PROMETHEUS_SCHEMA {
        let shift = (MAX_PROMETHEUS_SCHEMA - schema) as u32;
        (index_256(a) + (1 << shift) - 1) >> shift
    } else {
        index_fine(a, schema)
    }
}

/// Schemas above 8: `ceil(log2(a) · 2^s)`, corrected by one against the
/// boundaries either side.
#[cold]
fn index_fine(a: f64, schema: i8) -> i32 {
    let (fraction, e) = split(a);
    let per_octave = 1i32 << schema;
    if fraction == 0 {
        return e * per_octave;
    }
    let m = f64::from_bits(fraction | (1023 << 52));
    let n = f64::from(per_octave);
    let mut j = ((m.log2() * n).ceil() as i32).clamp(1, per_octave);
    if j > 1 && (f64::from(j - 1) / n).exp2() >= m {
        j -= 1;
    } else if (f64::from(j) / n).exp2() < m {
        j += 1;
    }
    e * per_octave + j
}

/// The index bucket `index` falls into at a schema `by` steps coarser.
#[inline]
pub fn downscale_index(index: i32, by: u32) -> i32 {
    if by == 0 {
        return index;
    }
    if by >= 31 {
        return i32::from(index > 0);
    }
    ((i64::from(index) + (1i64 << by) - 1) >> by) as i32
}

/// A range of bucket indexes in use, lowest and highest, at some schema;
/// `None` when no bucket is.
pub(crate) type IndexRange = Option<(i32, i32)>;

/// Buckets from the lowest to the highest of `range`, computed wide: at
/// schema 20 the smallest subnormal's and infinity's indexes are more than
/// `i32::MAX` apart.
pub(crate) fn range_span(range: IndexRange) -> u64 {
    range.map_or(0, |(lo, hi)| (i64::from(hi) - i64::from(lo) + 1).max(0) as u64)
}

/// The smallest range holding both.
pub(crate) fn range_union(a: IndexRange, b: IndexRange) -> IndexRange {
    match (a, b) {
        (Some((a_lo, a_hi)), Some((b_lo, b_hi))) => Some((a_lo.min(b_lo), a_hi.max(b_hi))),
        (a, b) => a.or(b),
    }
}

/// `range` at a schema lower by `by`.
pub(crate) fn range_coarser(range: IndexRange, by: u32) -> IndexRange {
    range.map(|(lo, hi)| (downscale_index(lo, by), downscale_index(hi, by)))
}

/// The upper (inclusive) boundary of bucket `index` at `schema`:
/// `2^(index / 2^schema)`, `+Inf` past the largest double.
pub fn upper_bound(index: i32, schema: i8) -> f64 {
    if schema <= MAX_PROMETHEUS_SCHEMA {
        let at_256 = i64::from(index) << (MAX_PROMETHEUS_SCHEMA - schema) as u32;
        let (e, k) = (at_256.div_euclid(256), at_256.rem_euclid(256) as usize);
        scale_by_power_of_two(BOUNDS_256[k], e)
    } else {
        // 2^e exactly, times 2^(k / 2^schema) in [1, 2): powers of two stay exact.
        let per_octave = 1i64 << schema;
        let (e, k) = (i64::from(index).div_euclid(per_octave), i64::from(index).rem_euclid(per_octave));
        let fraction = if k == 0 { 1.0 } else { (k as f64 / per_octave as f64).exp2() };
        scale_by_power_of_two(fraction, e)
    }
}

/// The lower (exclusive) boundary of bucket `index` at `schema`.
pub fn lower_bound(index: i32, schema: i8) -> f64 {
    upper_bound(index.saturating_sub(1), schema)
}

/// `x · 2^e`, exact while the result is representable (gradual underflow
/// included), `±Inf` or 0 beyond.
fn scale_by_power_of_two(x: f64, e: i64) -> f64 {
    let e = e.clamp(-2200, 2200) as i32;
    // Two halves keep every factor representable.
    let (a, b) = (e / 2, e - e / 2);
    x * power_of_two(a) * power_of_two(b)
}

fn power_of_two(e: i32) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e.min(1024) + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074).max(0))
    }
}

/// The relative error bound of a value estimated inside one bucket at
/// `schema`: a bucket's width over its lower boundary, `2^(2^-schema) - 1`.
pub fn relative_error(schema: i8) -> f64 {
    2f64.powi(-i32::from(schema)).exp2() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_monotonic_and_within_an_ulp_of_exp2() {
        for k in 0..=256 {
            let exp2 = (k as f64 / 256.0).exp2();
            assert!((BOUNDS_256[k] - exp2).abs() <= f64::EPSILON * 2.0, "{k}");
            if k > 0 {
                assert!(BOUNDS_256[k] > BOUNDS_256[k - 1] + 1.0 / 512.0);
            }
        }
        assert_eq!(BOUNDS_256[256], 2.0);
    }

    #[test]
    fn table_matches_client_golangs_boundaries() {
        // client_golang's nativeHistogramBounds (halved): schema 3's second
        // boundary and schema 2's second.
        assert_eq!(BOUNDS_256[32] / 2.0, 0.5452538663326288);
        assert_eq!(BOUNDS_256[64] / 2.0, 0.5946035575013605);
        assert_eq!(BOUNDS_256[128], std::f64::consts::SQRT_2);
    }

    #[test]
    fn powers_of_two_are_upper_bounds() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            // (Below 2^-1022 the boundaries themselves round to subnormals.)
            for e in [-1022, -3, -1, 0, 1, 2, 10, 1023] {
                let v = power_of_two(e);
                let i = bucket_index(v, schema);
                assert!(v <= upper_bound(i, schema), "schema {schema} 2^{e}");
                assert!(v > lower_bound(i, schema), "schema {schema} 2^{e}");
            }
        }
        assert_eq!(bucket_index(1.0, 0), 0);
        assert_eq!(bucket_index(2.0, 0), 1);
        assert_eq!(bucket_index(3.0, 0), 2);
        assert_eq!(bucket_index(4.0, 0), 2);
        assert_eq!(bucket_index(1.5, 1), 2); // (sqrt 2, 2]
        assert_eq!(bucket_index(1.4, 1), 1); // (1, sqrt 2]
        assert_eq!(bucket_index(0.75, -1), 0); // (1/4, 1]
        assert_eq!(bucket_index(5.0, -1), 2); // (4, 16]
    }

    #[test]
    fn infinity_is_one_past_the_largest_double() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            assert_eq!(bucket_index(f64::INFINITY, schema), bucket_index(f64::MAX, schema) + 1);
        }
        assert_eq!(upper_bound(bucket_index(f64::MAX, 8), 8), f64::INFINITY);
    }

    #[test]
    fn relative_error_is_the_growth_factor_minus_one() {
        assert!((relative_error(0) - 1.0).abs() < 1e-12);
        assert!((relative_error(1) - (std::f64::consts::SQRT_2 - 1.0)).abs() < 1e-12);
        assert!((relative_error(-1) - 3.0).abs() < 1e-12);
        assert!((relative_error(8) - (BOUNDS_256[1] - 1.0)).abs() < 1e-12);
    }

    fn magnitude() -> impl Strategy<Value = f64> {
        prop_oneof![
            (1e-300f64..1e300),
            (0.0f64..10.0).prop_filter("positive", |v| *v > 0.0),
            (1u64..(1 << 52)).prop_map(f64::from_bits), // subnormals
            (-1074i32..1024).prop_map(power_of_two),
            (0usize..257, -60i64..60).prop_map(|(k, e)| scale_by_power_of_two(BOUNDS_256[k], e)),
            any::<u64>()
                .prop_map(|b| f64::from_bits(b & !(1 << 63)))
                .prop_filter("finite, > 0", |v| v.is_finite() && *v > 0.0),
        ]
    }

    proptest! {
        #[test]
        fn every_value_lands_in_the_bucket_that_contains_it(a in magnitude(), schema in MIN_SCHEMA..=MAX_SCHEMA) {
            let i = bucket_index(a, schema);
            let (lo, hi) = (lower_bound(i, schema), upper_bound(i, schema));
            if a < f64::MIN_POSITIVE {
                // subnormal boundaries are rounded to the nearest subnormal
                prop_assert!(lo <= a && a <= hi, "{a} in bucket {i} ({lo}, {hi}] at schema {schema}");
            } else if schema <= MAX_PROMETHEUS_SCHEMA {
                prop_assert!(lo < a && a <= hi, "{a} in bucket {i} ({lo}, {hi}] at schema {schema}");
            } else {
                // exp2 may be an ulp off near a boundary above schema 8.
                let ulp = |x: f64| f64::from_bits(x.to_bits() + 1) - x;
                prop_assert!(lo - ulp(lo) < a && a <= hi + ulp(hi), "{a} in ({lo}, {hi}] at schema {schema}");
            }
        }

        #[test]
        fn coarser_schemas_merge_neighbouring_buckets(a in magnitude(), schema in (MIN_SCHEMA + 1)..=MAX_PROMETHEUS_SCHEMA, by in 1u32..=12) {
            let by = by.min((schema - MIN_SCHEMA) as u32);
            let coarse = schema - by as i8;
            prop_assert_eq!(downscale_index(bucket_index(a, schema), by), bucket_index(a, coarse));
        }
    }
}
