//! Snapshots as `ExportMetricsServiceRequest`s.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, summary_data_point::ValueAtQuantile, AggregationTemporality, Exemplar, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sonde::trace::{SpanId, TraceId};
use sonde::{FamilySnapshot, MetricKind, SeriesRef, SeriesValue, Snapshot};

use super::common::{scope, string_attributes, unix_nanos};
use crate::config::Temporality;

/// What the previous export sent for one series (delta temporality).
#[derive(Clone, Debug, Default)]
struct Previous {
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
    previous: Mutex<HashMap<(String, Vec<String>), Previous>>,
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
        Self { temporality, resource: super::resource(resource), previous: Mutex::default() }
    }

    /// Encodes every family of `snapshot`.
    pub fn encode(&self, snapshot: &Snapshot) -> ExportMetricsServiceRequest {
        let now = unix_nanos(snapshot.timestamp);
        let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        // A family with no series yet has nothing to say (OTLP wants points).
        let metrics =
            snapshot.families.iter().filter(|f| !f.is_empty()).map(|f| self.metric(f, now, &mut previous)).collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics { scope: Some(scope("sonde")), metrics, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn metric(&self, f: &FamilySnapshot, now: u64, previous: &mut HashMap<(String, Vec<String>), Previous>) -> Metric {
        let delta = self.temporality == Temporality::Delta;
        let temporality = if delta { AggregationTemporality::Delta } else { AggregationTemporality::Cumulative } as i32;
        let start = |s: &SeriesRef<'_>| s.created().map(unix_nanos).unwrap_or(now);
        let key = |s: &SeriesRef<'_>| (f.name.clone(), s.label_values().map(str::to_owned).collect::<Vec<_>>());
        let attrs = |s: &SeriesRef<'_>| string_attributes(s.labels());
        let data = match f.kind {
            MetricKind::Counter => metric::Data::Sum(Sum {
                aggregation_temporality: temporality,
                is_monotonic: true,
                data_points: f
                    .series()
                    .map(|s| {
                        let (total, exact) = match *s.value() {
                            SeriesValue::Counter { value, exact } => (value, exact),
                            ref other => (other.as_f64(), None),
                        };
                        let (mut start_time, mut value) = (start(&s), total);
                        if delta {
                            let p = previous.entry(key(&s)).or_default();
                            if total >= p.value && p.time != 0 {
                                value = total - p.value;
                                start_time = p.time;
                            }
                            *p = Previous { value: total, time: now, ..Previous::default() };
                        }
                        let exact_value = exact.filter(|_| value.fract() == 0.0).map(|_| value as i64);
                        NumberDataPoint {
                            attributes: attrs(&s),
                            start_time_unix_nano: start_time,
                            time_unix_nano: now,
                            exemplars: exemplars(&s),
                            value: Some(match exact_value {
                                Some(i) => number_data_point::Value::AsInt(i),
                                None => number_data_point::Value::AsDouble(value),
                            }),
                            ..Default::default()
                        }
                    })
                    .collect(),
            }),
            MetricKind::UpDownCounter => metric::Data::Sum(Sum {
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: false,
                data_points: f.series().map(|s| number(&s, start(&s), now, attrs(&s))).collect(),
            }),
            MetricKind::Gauge => {
                metric::Data::Gauge(Gauge { data_points: f.series().map(|s| number(&s, 0, now, attrs(&s))).collect() })
            }
            MetricKind::Histogram => metric::Data::Histogram(Histogram {
                aggregation_temporality: temporality,
                data_points: f
                    .series()
                    .map(|s| {
                        let (count, sum) = counted(s.value());
                        let cumulative = s.buckets();
                        let mut counts: Vec<u64> = cumulative
                            .iter()
                            .scan(0u64, |below, &c| {
                                let n = c.saturating_sub(*below);
                                *below = c;
                                Some(n)
                            })
                            .collect();
                        let (mut count, mut sum, mut start_time) = (count, sum, start(&s));
                        if delta {
                            let p = previous.entry(key(&s)).or_default();
                            let total = (count, sum, counts.clone());
                            if count >= p.count && p.time != 0 && p.buckets.len() == counts.len() {
                                count -= p.count;
                                sum -= p.sum;
                                counts.iter_mut().zip(&p.buckets).for_each(|(c, b)| *c = c.saturating_sub(*b));
                                start_time = p.time;
                            }
                            *p = Previous { count: total.0, sum: total.1, buckets: total.2, time: now, value: 0.0 };
                        }
                        HistogramDataPoint {
                            attributes: attrs(&s),
                            start_time_unix_nano: start_time,
                            time_unix_nano: now,
                            count,
                            sum: Some(sum),
                            bucket_counts: counts,
                            explicit_bounds: f.bounds.to_vec(),
                            exemplars: exemplars(&s),
                            ..Default::default()
                        }
                    })
                    .collect(),
            }),
            MetricKind::Summary => metric::Data::Summary(Summary {
                data_points: f
                    .series()
                    .map(|s| {
                        let (count, sum) = counted(s.value());
                        SummaryDataPoint {
                            attributes: attrs(&s),
                            start_time_unix_nano: start(&s),
                            time_unix_nano: now,
                            count,
                            sum,
                            quantile_values: f
                                .quantiles
                                .iter()
                                .zip(s.quantiles())
                                .map(|(&quantile, &value)| ValueAtQuantile { quantile, value })
                                .collect(),
                            ..Default::default()
                        }
                    })
                    .collect(),
            }),
        };
        Metric {
            name: f.name.clone(),
            description: f.help.clone(),
            unit: f.unit.as_deref().map(ucum).unwrap_or_default(),
            data: Some(data),
            ..Default::default()
        }
    }
}

fn number(
    s: &SeriesRef<'_>,
    start: u64,
    now: u64,
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        exemplars: exemplars(s),
        value: Some(number_data_point::Value::AsDouble(s.value().as_f64())),
        ..Default::default()
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
