//! Snapshots as `ExportMetricsServiceRequest`s.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, summary_data_point::ValueAtQuantile, AggregationTemporality, Exemplar, Gauge,
    Histogram, Metric, Sum, Summary,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sonde::trace::{SpanId, TraceId};
use sonde::{FamilySnapshot, MetricKind, SeriesRef, SeriesValue, Snapshot};

use super::common::{scope, unix_nanos};
use crate::config::Temporality;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};

/// What the previous exports sent, by series (delta temporality).
type Previous = HashMap<(String, Vec<String>), Last>;

/// What the previous export sent for one series (delta temporality).
#[derive(Clone, Debug, Default)]
struct Last {
    value: f64,
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
    time: u64,
}

/// Turns snapshots into OTLP metric requests. With [`Temporality::Delta`]
/// it remembers what it sent, so counters and histograms carry only the
/// change since the previous call (a total that went down is a reset: the
/// new total is the change).
pub struct MetricEncoder {
    temporality: Temporality,
    resource: Resource,
    previous: Mutex<Previous>,
    /// The previous request, rewritten by [`MetricEncoder::encode_with`].
    cache: Mutex<ExportMetricsServiceRequest>,
}

/// OpenTelemetry units are UCUM: Prometheus' `seconds` is `s`.
fn ucum(unit: &str) -> String {
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
    .to_owned()
}

fn exemplars(series: &SeriesRef<'_>) -> Vec<Exemplar> {
    let Some(e) = series.exemplar() else { return Vec::new() };
    vec![Exemplar {
        time_unix_nano: unix_nanos(e.timestamp),
        trace_id: TraceId::from_hex(&e.trace_id).map(|t| t.to_bytes().to_vec()).unwrap_or_default(),
        span_id: SpanId::from_hex(&e.span_id).map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Default::default()
    }]
}

impl MetricEncoder {
    /// An encoder for `resource` (its attributes, `service.name` first).
    pub fn new(temporality: Temporality, resource: &[(String, String)]) -> Self {
        Self { temporality, resource: super::resource(resource), previous: Mutex::default(), cache: Mutex::default() }
    }

    /// Encodes every family of `snapshot` into a new request.
    pub fn encode(&self, snapshot: &Snapshot) -> ExportMetricsServiceRequest {
        let mut out = ExportMetricsServiceRequest::default();
        self.fill(&mut out, snapshot);
        out
    }

    /// Encodes `snapshot` over the previous request (reusing its strings
    /// and vectors, so a steady export allocates almost nothing for the
    /// tree) and hands it to `f`; what the metric exporter does.
    pub fn encode_with<R>(&self, snapshot: &Snapshot, f: impl FnOnce(&ExportMetricsServiceRequest) -> R) -> R {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.fill(&mut cache, snapshot);
        f(&cache)
    }

    fn fill(&self, out: &mut ExportMetricsServiceRequest, snapshot: &Snapshot) {
        let now = unix_nanos(snapshot.timestamp);
        let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        resize(&mut out.resource_metrics, 1);
        let rm = &mut out.resource_metrics[0];
        if rm.resource.is_none() {
            rm.resource = Some(self.resource.clone());
        }
        resize(&mut rm.scope_metrics, 1);
        let sm = &mut rm.scope_metrics[0];
        if sm.scope.is_none() {
            sm.scope = Some(scope("sonde"));
        }
        // A family with no series yet has nothing to say (OTLP wants points).
        let families: Vec<&FamilySnapshot> = snapshot.families.iter().filter(|f| !f.is_empty()).collect();
        resize(&mut sm.metrics, families.len());
        for (m, f) in sm.metrics.iter_mut().zip(families) {
            self.fill_metric(m, f, now, &mut previous);
        }
    }

    fn fill_metric(&self, m: &mut Metric, f: &FamilySnapshot, now: u64, previous: &mut Previous) {
        let delta = self.temporality == Temporality::Delta;
        let temporality = if delta { AggregationTemporality::Delta } else { AggregationTemporality::Cumulative } as i32;
        let start = |s: &SeriesRef<'_>| s.created().map(unix_nanos).unwrap_or(now);
        let key = |s: &SeriesRef<'_>| (f.name.clone(), s.label_values().map(str::to_owned).collect::<Vec<_>>());
        set_str(&mut m.name, &f.name);
        set_str(&mut m.description, &f.help);
        set_str(&mut m.unit, &f.unit.as_deref().map(ucum).unwrap_or_default());
        match f.kind {
            MetricKind::Counter | MetricKind::UpDownCounter => {
                let monotonic = f.kind == MetricKind::Counter;
                if !matches!(m.data, Some(metric::Data::Sum(_))) {
                    m.data = Some(metric::Data::Sum(Sum::default()));
                }
                let Some(metric::Data::Sum(sum)) = &mut m.data else { return };
                sum.is_monotonic = monotonic;
                sum.aggregation_temporality =
                    if monotonic { temporality } else { AggregationTemporality::Cumulative as i32 };
                resize(&mut sum.data_points, f.len());
                for (p, s) in sum.data_points.iter_mut().zip(f.series()) {
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
                    fill_labels(&mut p.attributes, s.labels());
                    p.start_time_unix_nano = start_time;
                    p.time_unix_nano = now;
                    fill_exemplars(&mut p.exemplars, &s);
                    p.value = Some(match exact_value {
                        Some(i) => number_data_point::Value::AsInt(i),
                        None => number_data_point::Value::AsDouble(value),
                    });
                }
            }
            MetricKind::Gauge => {
                if !matches!(m.data, Some(metric::Data::Gauge(_))) {
                    m.data = Some(metric::Data::Gauge(Gauge::default()));
                }
                let Some(metric::Data::Gauge(g)) = &mut m.data else { return };
                resize(&mut g.data_points, f.len());
                for (p, s) in g.data_points.iter_mut().zip(f.series()) {
                    fill_labels(&mut p.attributes, s.labels());
                    p.start_time_unix_nano = 0;
                    p.time_unix_nano = now;
                    fill_exemplars(&mut p.exemplars, &s);
                    p.value = Some(number_data_point::Value::AsDouble(s.value().as_f64()));
                }
            }
            MetricKind::Histogram => {
                if !matches!(m.data, Some(metric::Data::Histogram(_))) {
                    m.data = Some(metric::Data::Histogram(Histogram::default()));
                }
                let Some(metric::Data::Histogram(h)) = &mut m.data else { return };
                h.aggregation_temporality = temporality;
                resize(&mut h.data_points, f.len());
                for (p, s) in h.data_points.iter_mut().zip(f.series()) {
                    let (mut count, mut sum) = counted(s.value());
                    let mut start_time = start(&s);
                    p.bucket_counts.clear();
                    let mut below = 0u64;
                    p.bucket_counts.extend(s.buckets().iter().map(|&c| {
                        let n = c.saturating_sub(below);
                        below = c;
                        n
                    }));
                    if delta {
                        let last = previous.entry(key(&s)).or_default();
                        let total = (count, sum, p.bucket_counts.clone());
                        if count >= last.count && last.time != 0 && last.buckets.len() == p.bucket_counts.len() {
                            count -= last.count;
                            sum -= last.sum;
                            p.bucket_counts.iter_mut().zip(&last.buckets).for_each(|(c, b)| *c = c.saturating_sub(*b));
                            start_time = last.time;
                        }
                        *last = Last { count: total.0, sum: total.1, buckets: total.2, time: now, value: 0.0 };
                    }
                    fill_labels(&mut p.attributes, s.labels());
                    p.start_time_unix_nano = start_time;
                    p.time_unix_nano = now;
                    p.count = count;
                    p.sum = Some(sum);
                    p.explicit_bounds.clear();
                    p.explicit_bounds.extend_from_slice(&f.bounds);
                    fill_exemplars(&mut p.exemplars, &s);
                }
            }
            MetricKind::Summary => {
                if !matches!(m.data, Some(metric::Data::Summary(_))) {
                    m.data = Some(metric::Data::Summary(Summary::default()));
                }
                let Some(metric::Data::Summary(sm)) = &mut m.data else { return };
                resize(&mut sm.data_points, f.len());
                for (p, s) in sm.data_points.iter_mut().zip(f.series()) {
                    let (count, sum) = counted(s.value());
                    fill_labels(&mut p.attributes, s.labels());
                    p.start_time_unix_nano = start(&s);
                    p.time_unix_nano = now;
                    p.count = count;
                    p.sum = sum;
                    p.quantile_values.clear();
                    p.quantile_values.extend(
                        f.quantiles
                            .iter()
                            .zip(s.quantiles())
                            .map(|(&quantile, &value)| ValueAtQuantile { quantile, value }),
                    );
                }
            }
        }
    }
}

/// Makes `v` hold `n` elements, keeping (and so reusing) the first ones.
fn resize<T: Default>(v: &mut Vec<T>, n: usize) {
    v.truncate(n);
    v.resize_with(n, T::default);
}

fn set_str(dst: &mut String, s: &str) {
    dst.clear();
    dst.push_str(s);
}

/// A series' labels as string attributes, written over `dst`.
fn fill_labels<'a>(dst: &mut Vec<KeyValue>, labels: impl Iterator<Item = (&'a str, &'a str)> + Clone) {
    resize(dst, labels.clone().count());
    for (kv, (k, v)) in dst.iter_mut().zip(labels) {
        set_str(&mut kv.key, k);
        match kv.value.as_mut().and_then(|a| a.value.as_mut()) {
            Some(any_value::Value::StringValue(s)) => set_str(s, v),
            _ => kv.value = Some(AnyValue { value: Some(any_value::Value::StringValue(v.to_owned())) }),
        }
    }
}

fn fill_exemplars(dst: &mut Vec<Exemplar>, s: &SeriesRef<'_>) {
    if s.exemplar().is_none() {
        dst.clear();
    } else {
        *dst = exemplars(s);
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
    use prost::Message;
    use sonde::{Buckets, Registry};

    /// Writing over the previous request gives the same bytes as a fresh
    /// one, as families and series come and go and kinds change places.
    #[test]
    fn reuse_matches_a_fresh_build() {
        let resource = [("service.name".to_string(), "t".to_string())];
        for temporality in [Temporality::Cumulative, Temporality::Delta] {
            let (reused, fresh) =
                (MetricEncoder::new(temporality, &resource), MetricEncoder::new(temporality, &resource));
            let registry = Registry::builder().self_metrics(false).build().unwrap();
            let check = |r: &Registry| {
                let snapshot = r.snapshot();
                let a = reused.encode_with(&snapshot, |req| req.encode_to_vec());
                assert_eq!(a, fresh.encode(&snapshot).encode_to_vec(), "{temporality:?}");
            };
            let c = registry.counter("c_total").labels(["a"]).register().unwrap();
            c.with(&["x"]).add(2.0);
            check(&registry);
            let h =
                registry.histogram("h").buckets(Buckets::new([1.0, 2.0]).unwrap()).labels(["k"]).register().unwrap();
            h.with(&["p"]).observe(1.5);
            registry.summary("s").register().unwrap().observe(3.0);
            c.with(&["y"]).add(1.5);
            check(&registry);
            registry.unregister("c_total");
            registry.gauge("g").labels(["a", "b"]).register().unwrap().with(&["1", "2"]).set(4.0);
            h.with(&["q"]).observe(0.5);
            check(&registry);
            registry.unregister("h");
            check(&registry);
        }
    }
}
