//! A snapshot as remote-write time series.

use sonde::exponential::MAX_PROMETHEUS_SCHEMA;
use sonde::{ExponentialBuckets, NativeHistogramSnapshot, SeriesValue, Snapshot};

use crate::prompb::{histogram, BucketSpan, Histogram, Label, Sample, TimeSeries};

/// Prometheus' staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn float(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// One time series per sample line the text format would have: counters as
/// `_total`, histograms as `_bucket{le}`, `_sum`, `_count`, summaries as
/// `{quantile}`, `_sum`, `_count`; and one series per native histogram,
/// named as its family, carrying it in `histograms` (schema lowered to 8
/// where finer, spans and deltas as Prometheus writes them; a native-only
/// histogram has no classic series). Labels are sorted by name and unique,
/// `__name__` included; `extra` labels (such as `job`) are added unless the
/// series already has them.
pub fn to_series(snapshot: &Snapshot, extra: &[(String, String)], timestamp_ms: i64) -> Vec<TimeSeries> {
    let mut out = Vec::new();
    for f in &snapshot.families {
        for s in f.series() {
            let labels_of = |name: String, add: Option<(&str, String)>| {
                let mut labels: Vec<Label> = vec![Label { name: "__name__".into(), value: name }];
                labels.extend(s.labels().map(|(k, v)| Label { name: k.into(), value: v.into() }));
                if let Some((k, v)) = add {
                    labels.push(Label { name: k.into(), value: v });
                }
                for (k, v) in extra {
                    if !labels.iter().any(|l| &l.name == k) {
                        labels.push(Label { name: k.clone(), value: v.clone() });
                    }
                }
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                labels.dedup_by(|a, b| a.name == b.name);
                labels
            };
            let push = |out: &mut Vec<TimeSeries>, name: String, add: Option<(&str, String)>, value: f64| {
                out.push(TimeSeries {
                    labels: labels_of(name, add),
                    samples: vec![Sample { value, timestamp: timestamp_ms }],
                    ..TimeSeries::default()
                });
            };
            match *s.value() {
                SeriesValue::Counter { value, .. } => push(&mut out, format!("{}_total", f.name), None, value),
                SeriesValue::Gauge(v) => push(&mut out, f.name.clone(), None, v),
                SeriesValue::Histogram { .. } if f.bounds.is_empty() && s.native().is_some() => {}
                SeriesValue::Histogram { count, sum } => {
                    let bounds = f.bounds.iter().copied().chain([f64::INFINITY]);
                    for (le, n) in bounds.zip(s.buckets()) {
                        push(&mut out, format!("{}_bucket", f.name), Some(("le", float(le))), *n as f64);
                    }
                    push(&mut out, format!("{}_sum", f.name), None, sum);
                    push(&mut out, format!("{}_count", f.name), None, count as f64);
                }
                SeriesValue::Summary { count, sum } => {
                    for (q, v) in f.quantiles.iter().zip(s.quantiles()) {
                        push(&mut out, f.name.clone(), Some(("quantile", float(*q))), *v);
                    }
                    push(&mut out, format!("{}_sum", f.name), None, sum);
                    push(&mut out, format!("{}_count", f.name), None, count as f64);
                }
            }
            if let Some(native) = s.native() {
                out.push(TimeSeries {
                    labels: labels_of(f.name.clone(), None),
                    histograms: vec![native_histogram(native, timestamp_ms)],
                    ..TimeSeries::default()
                });
            }
        }
    }
    out
}

/// A native histogram as remote write's `Histogram` (integer counts).
pub(crate) fn native_histogram(native: &NativeHistogramSnapshot, timestamp_ms: i64) -> Histogram {
    let mut n = native.clone();
    n.downscale_to(MAX_PROMETHEUS_SCHEMA);
    let sparse = |b: &ExponentialBuckets| {
        let (spans, deltas) = b.spans();
        (spans.into_iter().map(|(offset, length)| BucketSpan { offset, length }).collect::<Vec<_>>(), deltas)
    };
    let (positive_spans, positive_deltas) = sparse(&n.positive);
    let (negative_spans, negative_deltas) = sparse(&n.negative);
    Histogram {
        count: Some(histogram::Count::CountInt(n.count)),
        sum: n.sum,
        schema: i32::from(n.schema),
        zero_threshold: n.zero_threshold,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(n.zero_count)),
        negative_spans,
        negative_deltas,
        positive_spans,
        positive_deltas,
        timestamp: timestamp_ms,
        ..Histogram::default()
    }
}

/// A stable identity for a series: its sorted labels.
pub(crate) fn identity(series: &TimeSeries) -> String {
    let mut id = String::new();
    for l in &series.labels {
        id.push_str(&l.name);
        id.push('\u{0}');
        id.push_str(&l.value);
        id.push('\u{0}');
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use sonde::{Buckets, NativeBuckets, Registry};

    fn buckets(spans: &[BucketSpan], deltas: &[i64]) -> Option<ExponentialBuckets> {
        let spans: Vec<(i32, u32)> = spans.iter().map(|s| (s.offset, s.length)).collect();
        ExponentialBuckets::from_spans(&spans, deltas)
    }

    proptest::proptest! {
        /// Any native histogram survives the write request's encode and
        /// decode: one series named as the family, count, sum, zero bucket
        /// and every bucket at the schema lowered to at most 8.
        #[test]
        fn native_histograms_round_trip(
            values in proptest::collection::vec(proptest::num::f64::NORMAL | proptest::num::f64::ZERO, 0..80),
            schema in -4i8..=20,
        ) {
            let r = Registry::builder().self_metrics(false).build().unwrap();
            let h = r.histogram("h").buckets(Buckets::native(NativeBuckets::new().schema(schema).unwrap())).register().unwrap();
            values.iter().for_each(|&v| h.observe(v));
            let request = crate::prompb::WriteRequest { timeseries: to_series(&r.snapshot(), &[], 7), metadata: vec![] };
            let decoded = crate::prompb::WriteRequest::decode(&request.encode_to_vec()[..]).unwrap();
            proptest::prop_assert_eq!(decoded.timeseries.len(), 1, "a native-only histogram has no classic series");
            let series = &decoded.timeseries[0];
            proptest::prop_assert_eq!(&series.labels[0].value, "h");
            let got = &series.histograms[0];
            let mut want = h.native().unwrap();
            want.downscale_to(8);
            proptest::prop_assert_eq!(got.count, Some(histogram::Count::CountInt(want.count)));
            proptest::prop_assert_eq!(got.zero_count, Some(histogram::ZeroCount::ZeroCountInt(want.zero_count)));
            proptest::prop_assert_eq!((got.schema, got.timestamp), (i32::from(want.schema), 7));
            proptest::prop_assert_eq!(buckets(&got.positive_spans, &got.positive_deltas), Some(want.positive));
            proptest::prop_assert_eq!(buckets(&got.negative_spans, &got.negative_deltas), Some(want.negative));
        }
    }
}
