//! Snapshots as `ExportMetricsServiceRequest`s.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use sonde::trace::{SpanId, TraceId};
use sonde::{
    ExponentialBuckets, FamilySnapshot, MetricKind, NativeHistogramSnapshot, SeriesRef, SeriesValue, Snapshot,
};

use super::common::unix_nanos;
use super::wire::Wire;
use crate::config::Temporality;

/// What the previous exports sent, by series (delta temporality).
type Previous = HashMap<(String, Vec<String>), Last>;

/// What encoding keeps from one call to the next.
#[derive(Default)]
struct State {
    previous: Previous,
    /// One histogram series' bucket counts as they go on the wire (per
    /// bucket, not cumulative), reused from series to series.
    buckets: Vec<u64>,
}

/// What the previous export sent for one series (delta temporality).
#[derive(Clone, Debug, Default)]
struct Last {
    value: f64,
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
    native: Option<Box<NativeHistogramSnapshot>>,
    time: u64,
}

/// Turns snapshots into OTLP metric requests, written straight to protobuf
/// bytes (no message tree in between). With [`Temporality::Delta`] it
/// remembers what it sent, so counters and histograms carry only the change
/// since the previous call (a total that went down is a reset: the new
/// total is the change).
pub struct MetricEncoder {
    temporality: Temporality,
    resource: Vec<(String, String)>,
    state: Mutex<State>,
    /// The bytes of the previous request: [`MetricEncoder::encode_with`]
    /// writes over them.
    cache: Mutex<Vec<u8>>,
}

/// OpenTelemetry units are UCUM: Prometheus' `seconds` is `s`.
fn ucum(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "us",
        "nanoseconds" => "ns",
        "bytes" => "By",
        "kilobytes" => "kBy",
        "megabytes" => "MBy",
        "ratio" => "1",
        "percent" => "%",
        "celsius" => "Cel",
        "hertz" => "Hz",
        "volts" => "V",
        "joules" => "J",
        "meters" => "m",
        other => other,
    }
}

/// The series' exemplar, if any (`exemplars` of every data point kind).
fn exemplar(w: &mut Wire<'_>, field: u32, series: &SeriesRef<'_>) {
    let Some(e) = series.exemplar() else { return };
    w.message(field, |w| {
        w.fixed64(2, unix_nanos(e.timestamp));
        w.present_double(3, e.value);
        if let Some(span) = SpanId::from_hex(&e.span_id) {
            w.bytes(4, &span.to_bytes());
        }
        if let Some(trace) = TraceId::from_hex(&e.trace_id) {
            w.bytes(5, &trace.to_bytes());
        }
    });
}

impl MetricEncoder {
    /// An encoder for `resource` (its attributes, `service.name` first).
    pub fn new(temporality: Temporality, resource: &[(String, String)]) -> Self {
        Self { temporality, resource: resource.to_vec(), state: Mutex::default(), cache: Mutex::default() }
    }

    /// Encodes every family of `snapshot` into a new request, as a message
    /// tree (for inspection and OTLP/JSON; the exporter sends the bytes of
    /// [`MetricEncoder::encode_into`]).
    pub fn encode(&self, snapshot: &Snapshot) -> ExportMetricsServiceRequest {
        super::decode_own(&self.encode_to_vec(snapshot))
    }

    /// Encodes every family of `snapshot` into the protobuf bytes of an
    /// `ExportMetricsServiceRequest`.
    pub fn encode_to_vec(&self, snapshot: &Snapshot) -> Vec<u8> {
        let mut buf = Vec::new();
        self.encode_into(snapshot, &mut buf);
        buf
    }

    /// Like [`MetricEncoder::encode_to_vec`], appending to `buf`.
    pub fn encode_into(&self, snapshot: &Snapshot, buf: &mut Vec<u8>) {
        let now = unix_nanos(snapshot.timestamp);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let State { previous, buckets } = &mut *state;
        let mut w = Wire::new(buf);
        // ExportMetricsServiceRequest.resource_metrics
        w.large_message(1, |w| {
            // ResourceMetrics.resource
            w.message(1, |w| super::common::write_string_attributes(w, 1, &self.resource));
            // ResourceMetrics.scope_metrics
            w.large_message(2, |w| {
                w.message(1, |w| super::common::write_scope(w, "sonde"));
                // A family with no series yet has nothing to say (OTLP wants points).
                for f in snapshot.families.iter().filter(|f| !f.is_empty()) {
                    w.large_message(2, |w| self.metric(w, f, now, previous, buckets));
                }
            });
        });
    }

    /// Encodes `snapshot` over the previous request's bytes and hands them
    /// to `f`; what the metric exporter does. A steady cumulative export
    /// allocates nothing; delta temporality allocates each series' lookup
    /// key (its name and label values).
    pub fn encode_with<R>(&self, snapshot: &Snapshot, f: impl FnOnce(&[u8]) -> R) -> R {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.clear();
        self.encode_into(snapshot, &mut cache);
        f(&cache)
    }

    /// One `Metric`, fields in prost's order (by number).
    fn metric(&self, w: &mut Wire<'_>, f: &FamilySnapshot, now: u64, previous: &mut Previous, buckets: &mut Vec<u64>) {
        let delta = self.temporality == Temporality::Delta;
        let temporality = if delta { AggregationTemporality::Delta } else { AggregationTemporality::Cumulative } as i32;
        let start = |s: &SeriesRef<'_>| s.created().map(unix_nanos).unwrap_or(now);
        let key = |s: &SeriesRef<'_>| (f.name.clone(), s.label_values().map(str::to_owned).collect::<Vec<_>>());
        w.string(1, &f.name);
        w.string(2, &f.help);
        w.string(3, f.unit.as_deref().map(ucum).unwrap_or_default());
        match f.kind {
            MetricKind::Counter | MetricKind::UpDownCounter => {
                let monotonic = f.kind == MetricKind::Counter;
                // Metric.sum
                w.large_message(7, |w| {
                    for s in f.series() {
                        let (total, exact) = match *s.value() {
                            SeriesValue::Counter { value, exact } => (value, exact),
                            ref other => (other.as_f64(), None),
                        };
                        let (mut start_time, mut value) = (start(&s), total);
                        if delta && monotonic {
                            let last = previous.entry(key(&s)).or_default();
                            if total >= last.value && last.time != 0 {
                                value = total - last.value;
                                start_time = last.time;
                            }
                            *last = Last { value: total, time: now, ..Last::default() };
                        }
                        let exact_value = exact.filter(|_| value.fract() == 0.0).map(|_| value as i64);
                        // NumberDataPoint
                        w.message(1, |w| {
                            w.fixed64(2, start_time);
                            w.fixed64(3, now);
                            match exact_value {
                                Some(i) => w.oneof_sfixed64(6, i),
                                None => w.present_double(4, value),
                            }
                            exemplar(w, 5, &s);
                            write_labels(w, 7, &s);
                        });
                    }
                    w.int64(2, if monotonic { temporality } else { AggregationTemporality::Cumulative as i32 }.into());
                    w.bool(3, monotonic);
                });
            }
            MetricKind::Gauge => {
                // Metric.gauge
                w.large_message(5, |w| {
                    for s in f.series() {
                        w.message(1, |w| {
                            w.fixed64(3, now);
                            w.present_double(4, s.value().as_f64());
                            exemplar(w, 5, &s);
                            write_labels(w, 7, &s);
                        });
                    }
                });
            }
            MetricKind::Histogram if f.has_native() => {
                // Metric.exponential_histogram
                w.large_message(10, |w| {
                    for s in f.series() {
                        let Some(native) = s.native() else { continue };
                        let mut start_time = start(&s);
                        let mut change = None;
                        if delta {
                            let last = previous.entry(key(&s)).or_default();
                            if let Some(before) = last.native.as_deref().filter(|b| native.count >= b.count) {
                                let mut d = native.clone();
                                d.subtract(before);
                                (d.min, d.max) = (None, None);
                                change = Some(d);
                                start_time = last.time;
                            }
                            last.native = Some(Box::new(native.clone()));
                            last.time = now;
                        }
                        exponential_point(w, change.as_ref().unwrap_or(native), start_time, now, &s);
                    }
                    w.int64(2, temporality.into());
                });
            }
            MetricKind::Histogram => {
                // Metric.histogram
                w.large_message(9, |w| {
                    for s in f.series() {
                        let (mut count, mut sum) = counted(s.value());
                        let mut start_time = start(&s);
                        buckets.clear();
                        let mut below = 0u64;
                        buckets.extend(s.buckets().iter().map(|&c| {
                            let n = c.saturating_sub(below);
                            below = c;
                            n
                        }));
                        if delta {
                            let last = previous.entry(key(&s)).or_default();
                            let (total_count, total_sum) = (count, sum);
                            if count >= last.count && last.time != 0 && last.buckets.len() == buckets.len() {
                                count -= last.count;
                                sum -= last.sum;
                                start_time = last.time;
                                // Each bucket becomes its change; the total is kept.
                                for (c, b) in buckets.iter_mut().zip(&mut last.buckets) {
                                    (*c, *b) = (c.saturating_sub(*b), *c);
                                }
                            } else {
                                last.buckets.clone_from(buckets);
                            }
                            (last.count, last.sum, last.time, last.value) = (total_count, total_sum, now, 0.0);
                        }
                        // HistogramDataPoint
                        w.message(1, |w| {
                            w.fixed64(2, start_time);
                            w.fixed64(3, now);
                            w.fixed64(4, count);
                            w.present_double(5, sum);
                            w.packed_fixed64(6, buckets.iter().copied());
                            w.packed_double(7, &f.bounds);
                            exemplar(w, 8, &s);
                            write_labels(w, 9, &s);
                        });
                    }
                    w.int64(2, temporality.into());
                });
            }
            MetricKind::Summary => {
                // Metric.summary
                w.large_message(11, |w| {
                    for s in f.series() {
                        let (count, sum) = counted(s.value());
                        // SummaryDataPoint
                        w.message(1, |w| {
                            w.fixed64(2, start(&s));
                            w.fixed64(3, now);
                            w.fixed64(4, count);
                            w.double(5, sum);
                            for (&quantile, &value) in f.quantiles.iter().zip(s.quantiles()) {
                                // ValueAtQuantile
                                w.message(6, |w| {
                                    w.double(1, quantile);
                                    w.double(2, value);
                                });
                            }
                            write_labels(w, 7, &s);
                        });
                    }
                });
            }
        }
    }
}

/// One `ExponentialHistogramDataPoint`, fields by number. OTLP's bucket
/// `i` is Prometheus' bucket `i + 1`, hence the offsets one lower.
fn exponential_point(w: &mut Wire<'_>, n: &NativeHistogramSnapshot, start_time: u64, now: u64, s: &SeriesRef<'_>) {
    let buckets = |w: &mut Wire<'_>, field: u32, b: &ExponentialBuckets| {
        w.message(field, |w| {
            if !b.counts.is_empty() {
                w.sint32(1, b.offset.wrapping_sub(1));
            }
            w.packed_uint64(2, &b.counts);
        });
    };
    w.message(1, |w| {
        write_labels(w, 1, s);
        w.fixed64(2, start_time);
        w.fixed64(3, now);
        w.fixed64(4, n.count);
        w.present_double(5, n.sum);
        w.sint32(6, i32::from(n.schema));
        w.fixed64(7, n.zero_count);
        buckets(w, 8, &n.positive);
        buckets(w, 9, &n.negative);
        exemplar(w, 11, s);
        if let Some(min) = n.min {
            w.present_double(12, min);
        }
        if let Some(max) = n.max {
            w.present_double(13, max);
        }
        w.double(14, n.zero_threshold);
    });
}

/// A series' labels as string attributes (`KeyValue`s in `field`).
fn write_labels(w: &mut Wire<'_>, field: u32, s: &SeriesRef<'_>) {
    for (k, v) in s.labels() {
        super::common::write_string_attribute(w, field, k, v);
    }
}

/// Count and sum of a histogram or summary series (a family's kind and its
/// series' values always agree; anything else reads as empty).
fn counted(v: &SeriesValue) -> (u64, f64) {
    match *v {
        SeriesValue::Histogram { count, sum } | SeriesValue::Summary { count, sum } => (count, sum),
        _ => (0, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
    use prost::Message;
    use sonde::{Buckets, NativeBuckets, Registry};

    /// Native histograms go out as exponential histograms: OTLP offsets one
    /// below Prometheus' indexes, the recorded counts, min and max; delta
    /// temporality sends the change, at the schema reached.
    #[test]
    fn native_histograms_are_exponential_histograms() {
        use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;
        let registry = Registry::builder().self_metrics(false).build().unwrap();
        let n = registry
            .histogram("latency")
            .buckets(Buckets::native(NativeBuckets::new().schema(1).unwrap()))
            .register()
            .unwrap();
        for v in [0.0, 1.5, 1.5, 3.0, -0.75] {
            n.observe(v);
        }
        let point = |tree: ExportMetricsServiceRequest| -> (i32, ExponentialHistogramDataPoint) {
            let m = tree.resource_metrics[0].scope_metrics[0].metrics[0].clone();
            let Some(metric::Data::ExponentialHistogram(e)) = m.data else { panic!("exponential: {m:?}") };
            (e.aggregation_temporality, e.data_points[0].clone())
        };
        let cumulative = MetricEncoder::new(Temporality::Cumulative, &[]);
        let (t, p) = point(cumulative.encode(&registry.snapshot()));
        assert_eq!(t, AggregationTemporality::Cumulative as i32);
        assert_eq!((p.count, p.sum, p.scale, p.zero_count), (5, Some(5.25), 1, 1));
        // schema 1, Prometheus index i = (2^((i-1)/2), 2^(i/2)]: 1.5 -> 2, 3 -> 4, 0.75 -> 0
        let positive = p.positive.unwrap();
        assert_eq!((positive.offset, positive.bucket_counts), (1, vec![2, 0, 1]));
        let negative = p.negative.unwrap();
        assert_eq!((negative.offset, negative.bucket_counts), (-1, vec![1]));
        assert_eq!((p.min, p.max), (Some(-0.75), Some(3.0)));
        assert_eq!(p.zero_threshold, 2f64.powi(-128));

        let delta = MetricEncoder::new(Temporality::Delta, &[]);
        delta.encode(&registry.snapshot());
        n.observe(3.0);
        let (t, p) = point(delta.encode(&registry.snapshot()));
        assert_eq!(t, AggregationTemporality::Delta as i32);
        assert_eq!((p.count, p.sum, p.zero_count), (1, Some(3.0), 0));
        let positive = p.positive.unwrap();
        assert_eq!((positive.offset, positive.bucket_counts), (3, vec![1]));
        assert_eq!((p.min, p.max), (None, None), "an interval's extremes are unknown");

        // The exemplar of a native histogram rides on its point.
        let e =
            registry.histogram("traced").buckets(Buckets::native(NativeBuckets::new())).exemplars().register().unwrap();
        sonde::trace::TracerProvider::builder().build().tracer("t").in_span("op", |_| e.observe(0.3));
        let tree = cumulative.encode(&registry.snapshot());
        let m = tree.resource_metrics[0].scope_metrics[0].metrics.iter().find(|m| m.name == "traced").unwrap().clone();
        let Some(metric::Data::ExponentialHistogram(h)) = m.data else { panic!("exponential") };
        let exemplar = &h.data_points[0].exemplars[0];
        assert_eq!((exemplar.trace_id.len(), exemplar.span_id.len()), (16, 8));
    }

    /// Writing over the previous request gives the same bytes as a fresh
    /// one, as families and series come and go and kinds change places;
    /// and the bytes are canonical: decoding them and encoding the message
    /// tree again with prost gives the same bytes (nothing lost, fields in
    /// prost's order, minimal lengths).
    #[test]
    fn reuse_matches_a_fresh_build() {
        let resource = [("service.name".to_string(), "t".to_string())];
        for temporality in [Temporality::Cumulative, Temporality::Delta] {
            let (reused, fresh) =
                (MetricEncoder::new(temporality, &resource), MetricEncoder::new(temporality, &resource));
            let registry = Registry::builder().self_metrics(false).build().unwrap();
            let check = |r: &Registry| {
                let snapshot = r.snapshot();
                let a = reused.encode_with(&snapshot, <[u8]>::to_vec);
                assert_eq!(a, fresh.encode_to_vec(&snapshot), "{temporality:?}");
                let tree = ExportMetricsServiceRequest::decode(&a[..]).unwrap();
                assert_eq!(tree.encode_to_vec(), a, "{temporality:?}");
            };
            let c = registry.counter("c_total").labels(["a"]).register().unwrap();
            c.with(&["x"]).add(2.0);
            check(&registry);
            let h =
                registry.histogram("h").buckets(Buckets::new([1.0, 2.0]).unwrap()).labels(["k"]).register().unwrap();
            h.with(&["p"]).observe(1.5);
            let e = registry.histogram("e").unit("seconds").exemplars().register().unwrap();
            sonde::trace::TracerProvider::builder().build().tracer("t").in_span("op", |_| e.observe(0.25));
            e.observe(0.5);
            registry.summary("s").register().unwrap().observe(3.0);
            c.with(&["y"]).add(1.5);
            check(&registry);
            let n = registry
                .histogram("n")
                .labels(["k"])
                .buckets(Buckets::native(NativeBuckets::new().schema(20).unwrap()))
                .register()
                .unwrap();
            for v in [0.0, 1.5, -2.0, 1e-3, 7.0] {
                n.with(&["a"]).observe(v);
            }
            check(&registry);
            n.with(&["a"]).observe(1e6); // the schema falls
            n.with(&["b"]).observe(0.5);
            check(&registry);
            registry.unregister("c_total");
            registry.gauge("g").labels(["a", "b"]).register().unwrap().with(&["1", "2"]).set(4.0);
            h.with(&["q"]).observe(0.5);
            check(&registry);
            registry.unregister("h");
            check(&registry);
        }
    }

    proptest::proptest! {
        /// Any values and label values (NaN, infinities, -0, whole and
        /// fractional totals, long and odd strings) give canonical bytes
        /// whose tree holds what was recorded.
        #[test]
        fn any_values_give_canonical_bytes(
            label in "\\PC{0,40}",
            adds in proptest::collection::vec(proptest::num::f64::POSITIVE | proptest::num::f64::ZERO, 0..4),
            whole in 0u32..1_000_000,
            gauge in proptest::num::f64::ANY,
            observations in proptest::collection::vec(proptest::num::f64::ANY, 0..6),
        ) {
            let registry = Registry::builder().self_metrics(false).build().unwrap();
            let c = registry.counter("c_total").labels(["k"]).register().unwrap();
            for &a in &adds {
                c.with(&[&label]).add(a);
            }
            c.with(&["whole"]).add(f64::from(whole));
            registry.gauge("g").labels(["k"]).register().unwrap().with(&[&label]).set(gauge);
            let h = registry.histogram("h").buckets(Buckets::new([0.5, 1.0]).unwrap()).register().unwrap();
            let q = registry.summary("q").register().unwrap();
            let n = registry.histogram("n").buckets(Buckets::native(NativeBuckets::new())).register().unwrap();
            for &o in &observations {
                h.observe(o);
                q.observe(o);
                n.observe(o);
            }
            let encoder = MetricEncoder::new(Temporality::Cumulative, &[("service.name".into(), label.clone())]);
            let bytes = encoder.encode_to_vec(&registry.snapshot());
            let tree = ExportMetricsServiceRequest::decode(&bytes[..]).unwrap();
            proptest::prop_assert_eq!(tree.encode_to_vec(), bytes);
            let metrics = &tree.resource_metrics[0].scope_metrics[0].metrics;
            proptest::prop_assert_eq!(metrics.len(), 5);
            let Some(metric::Data::Sum(sum)) = &metrics[0].data else { panic!("a sum") };
            let whole_point = sum.data_points.iter().find(|p| p.attributes[0].value.as_ref().unwrap().value
                == Some(any_value::Value::StringValue("whole".into())));
            proptest::prop_assert_eq!(
                whole_point.and_then(|p| p.value),
                Some(number_data_point::Value::AsInt(i64::from(whole)))
            );
        }
    }
}
