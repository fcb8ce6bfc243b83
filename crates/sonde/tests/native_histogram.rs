//! Native histograms, from outside: every value in the bucket that contains
//! it, at every schema, through downscaling and merging.

use proptest::prelude::*;
use sonde::exponential::{bucket_index, lower_bound, upper_bound, MAX_SCHEMA, MIN_SCHEMA};
use sonde::{Buckets, Histogram, NativeBuckets, NativeHistogramSnapshot, Registry};

fn native(schema: i8, zero_threshold: f64, max_buckets: u32) -> Histogram {
    let options = NativeBuckets::new()
        .schema(schema)
        .unwrap()
        .zero_threshold(zero_threshold)
        .unwrap()
        .max_buckets(max_buckets)
        .unwrap();
    Histogram::new(Buckets::native(options))
}

/// Values of every shape: ordinary, subnormal, exact powers of two and
/// their boundaries, negative, zero, tiny (zero bucket), infinite.
fn value() -> impl Strategy<Value = f64> {
    let magnitude = prop_oneof![
        (1e-9f64..1e9),
        (1u64..(1 << 52)).prop_map(f64::from_bits),
        (-1022i32..1023).prop_map(|e| 2f64.powi(e)),
        (0u32..257, -30i32..30).prop_map(|(k, e)| (f64::from(k) / 256.0).exp2() * 2f64.powi(e)),
        Just(0.0),
        Just(f64::INFINITY),
        Just(f64::MAX),
    ];
    (magnitude, any::<bool>()).prop_map(|(m, negative)| if negative { -m } else { m })
}

/// What a histogram at `schema` must hold for `values`: the bucket of each
/// value found by checking bounds, not by the recording path.
/// `(index, count)` of every counted bucket.
type Counted = Vec<(i32, u64)>;

fn expected(values: &[f64], schema: i8, zero_threshold: f64) -> (u64, Counted, Counted) {
    let (mut zero, mut pos, mut neg) = (0u64, std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    for &v in values {
        let a = v.abs();
        if a <= zero_threshold {
            zero += 1;
            continue;
        }
        let i = bucket_index(a, schema);
        if a.is_finite() && a >= f64::MIN_POSITIVE && schema <= 8 {
            assert!(lower_bound(i, schema) < a && a <= upper_bound(i, schema), "{a} outside bucket {i}");
        }
        *if v > 0.0 { &mut pos } else { &mut neg }.entry(i).or_insert(0u64) += 1;
    }
    (zero, pos.into_iter().collect(), neg.into_iter().collect())
}

fn counted(b: &sonde::ExponentialBuckets) -> Counted {
    b.iter().filter(|&(_, c)| c > 0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Each value is in its bucket at the schema the histogram reached
    /// (the most buckets allowed keep schema 8 over a wide range).
    #[test]
    fn every_value_lands_in_its_bucket(values in prop::collection::vec(value(), 1..200), schema in MIN_SCHEMA..=MAX_SCHEMA, threshold in prop_oneof![Just(0.0), Just(2f64.powi(-128)), Just(1e-3)]) {
        let h = native(schema, threshold, 65_536);
        values.iter().for_each(|&v| h.observe(v));
        let n = h.native().unwrap();
        prop_assert!(n.schema <= schema);
        let (zero, pos, neg) = expected(&values, n.schema, threshold);
        prop_assert_eq!(n.zero_count, zero);
        prop_assert_eq!(counted(&n.positive), pos);
        prop_assert_eq!(counted(&n.negative), neg);
        prop_assert_eq!(n.count, values.len() as u64);
        let sum = values.iter().fold(0.0, |a, v| a + v);
        prop_assert!(n.sum == sum || (n.sum.is_nan() && sum.is_nan()));
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        prop_assert_eq!(n.min, Some(min));
    }

    /// With a small limit the schema falls, and the buckets are exactly
    /// those of the values at the schema reached.
    #[test]
    fn downscaling_keeps_every_value_in_its_bucket(values in prop::collection::vec(value(), 1..300), schema in 0i8..=8, limit in 1u32..40) {
        let h = native(schema, 0.0, limit);
        values.iter().for_each(|&v| h.observe(v));
        let n = h.native().unwrap();
        prop_assert!(n.schema <= schema);
        prop_assert!(n.bucket_span() <= limit as usize || n.schema == MIN_SCHEMA);
        let (zero, pos, neg) = expected(&values, n.schema, 0.0);
        prop_assert_eq!(n.zero_count, zero);
        prop_assert_eq!(counted(&n.positive), pos);
        prop_assert_eq!(counted(&n.negative), neg);
        prop_assert_eq!(n.count, values.len() as u64);
        let sum = values.iter().fold(0.0, |a, v| a + v);
        prop_assert!(n.sum == sum || (n.sum.is_nan() && sum.is_nan()), "downscaling keeps the sum");
    }

    /// Merging two histograms equals one that saw both sets of values.
    #[test]
    fn merging_keeps_count_sum_and_buckets(a in prop::collection::vec(value(), 0..100), b in prop::collection::vec(value(), 0..100), sa in 0i8..=8, sb in 0i8..=8) {
        let (ha, hb) = (native(sa, 0.0, 2_048), native(sb, 0.0, 2_048));
        a.iter().for_each(|&v| ha.observe(v));
        b.iter().for_each(|&v| hb.observe(v));
        let mut merged: NativeHistogramSnapshot = ha.native().unwrap();
        merged.merge(&hb.native().unwrap());
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let (zero, pos, neg) = expected(&all, merged.schema, 0.0);
        prop_assert_eq!(merged.count, all.len() as u64);
        prop_assert_eq!(merged.zero_count, zero);
        prop_assert_eq!(counted(&merged.positive), pos);
        prop_assert_eq!(counted(&merged.negative), neg);
        // The same through the recording side: `add_native` on a live histogram
        // (which refuses a NaN sum, as +Inf and -Inf observed together give).
        let from_b = hb.native().unwrap();
        prop_assume!(!from_b.sum.is_nan());
        ha.add_native(&from_b).unwrap();
        let added = ha.native().unwrap();
        let (zero, pos, neg) = expected(&all, added.schema, 0.0);
        prop_assert_eq!(added.count, all.len() as u64);
        prop_assert_eq!(added.zero_count, zero);
        prop_assert_eq!(counted(&added.positive), pos);
        prop_assert_eq!(counted(&added.negative), neg);
    }

    /// The quantile estimate is within the schema's relative error of the
    /// exact quantile, for positive values away from the zero bucket.
    #[test]
    fn quantiles_are_within_the_schema_error(values in prop::collection::vec(1e-3f64..1e3, 1..300), q in 0.0f64..=1.0, schema in 0i8..=8) {
        let h = native(schema, 0.0, 65_536);
        values.iter().for_each(|&v| h.observe(v));
        let n = h.native().unwrap();
        prop_assert_eq!(n.schema, schema, "20 powers of two fit");
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // the observation at rank ceil(q * n), as the bucket search finds it
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let exact = sorted[rank - 1];
        let estimate = n.quantile(q);
        let bound = sonde::exponential::relative_error(n.schema);
        prop_assert!((estimate - exact).abs() <= bound * exact * (1.0 + 1e-12), "q {} estimate {} exact {} bound {}", q, estimate, exact, bound);
    }
}

#[test]
fn schemas_above_8_keep_their_resolution_where_it_fits() {
    let h = native(20, 0.0, 65_536);
    let values: Vec<f64> = (0..5000).map(|i| 1.0 + f64::from(i) * 6e-6).collect();
    values.iter().for_each(|&v| h.observe(v));
    let n = h.native().unwrap();
    assert_eq!(n.schema, 20, "log2(1.03) of an octave is 44,700 buckets at schema 20");
    let (_, pos, _) = expected(&values, 20, 0.0);
    assert_eq!(counted(&n.positive), pos);
    for &v in &values {
        let i = bucket_index(v, 20);
        assert!(lower_bound(i, 20) < v && v <= upper_bound(i, 20) * (1.0 + 1e-15));
    }
}

#[test]
fn a_registry_collects_native_buckets_per_series_and_resets_them() {
    let r = Registry::new();
    let h = r
        .histogram("rpc_seconds")
        .labels(["method"])
        .buckets(Buckets::default_seconds().with_native(NativeBuckets::new().schema(3).unwrap()))
        .register()
        .unwrap();
    h.with(&["get"]).observe(0.3);
    h.with(&["get"]).observe(0.3);
    h.with(&["put"]).observe(2.0);
    let snap = r.snapshot();
    let family = snap.family("rpc_seconds").unwrap();
    assert!(family.has_native());
    let get = family.find(&["get"]).unwrap();
    let n = get.native().unwrap();
    assert_eq!((n.count, n.schema), (2, 3));
    assert_eq!(counted(&n.positive), vec![(bucket_index(0.3, 3), 2)]);
    assert_eq!(get.histogram().unwrap().count, 2, "the classic buckets are there too");
    r.reset();
    h.with(&["get"]).observe(4.0);
    let n = r.snapshot().family("rpc_seconds").unwrap().find(&["get"]).unwrap().native().unwrap().clone();
    assert_eq!(n.count, 1);
    assert!((n.sum - 4.0).abs() < 1e-12, "a reset subtracts the sum it read: {}", n.sum);
    assert_eq!(counted(&n.positive), vec![(16, 1)]);
}

#[test]
fn a_native_only_histogram_shows_count_and_sum_in_text() {
    let r = Registry::new();
    let h = r.histogram("only_native_seconds").buckets(Buckets::native(NativeBuckets::new())).register().unwrap();
    h.observe(0.25);
    h.observe(1.5);
    let text = sonde::encode::prometheus_text(&r.snapshot());
    assert!(text.contains("only_native_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
    assert!(text.contains("only_native_seconds_sum 1.75\n"), "{text}");
    assert!(text.contains("only_native_seconds_count 2\n"), "{text}");
    assert!(h.add_bucket_counts(&[1], 1.0).is_err(), "classic counts cannot fill native buckets");
}

#[test]
fn bound_children_time_to_live_and_strict_specs_work_as_for_classic_histograms() {
    let r = Registry::builder()
        .self_metrics(false)
        .specs([sonde::MetricSpec::new("queue_wait_seconds", sonde::MetricKind::Histogram, "Wait.")])
        .build()
        .unwrap();
    let f = r
        .histogram("queue_wait_seconds")
        .help("Wait.")
        .labels(["queue"])
        .buckets(Buckets::native(NativeBuckets::new()))
        .time_to_live(std::time::Duration::ZERO)
        .register()
        .unwrap();
    let bound = f.bind(&["mail"]);
    bound.observe(0.5);
    f.with(&["idle"]).observe(1.0);
    r.snapshot(); // first sighting of both
    bound.observe(0.25); // changed since: stays
    let snap = r.snapshot();
    let family = snap.family("queue_wait_seconds").unwrap();
    assert_eq!(family.find(&["mail"]).unwrap().native().unwrap().count, 2, "the bound child records");
    assert!(family.find(&["idle"]).is_none(), "an unchanged native series expires like any other");
    assert!(r.histogram("not_declared").buckets(Buckets::native(NativeBuckets::new())).register().is_err());
}
