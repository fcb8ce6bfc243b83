//! Whatever arrives over OTLP, the receiving side neither panics nor lets
//! it break the exposition: arbitrary metric requests (hostile names,
//! attribute keys and values, NaN and infinite values, mismatched buckets,
//! exponential histograms of any scale, offset and count, every
//! temporality) fold into a registry whose Prometheus text
//! `sonde check` accepts; arbitrary spans and log records are kept or
//! refused by count.

use proptest::prelude::*;
use sonde::Registry;
use sonde_otlp::proto::collector::logs::v1::ExportLogsServiceRequest;
use sonde_otlp::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::proto::common::v1::{any_value, AnyValue, KeyValue};
use sonde_otlp::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use sonde_otlp::proto::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point, summary_data_point::ValueAtQuantile,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use sonde_otlp::proto::resource::v1::Resource;
use sonde_otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sonde_otlp::receive::{events_from, MetricIngest, TraceStore};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z_.]{1,8}", Just("job".to_string()), Just("__name__".to_string()), Just(String::new())]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), -10.0..1000.0f64, Just(f64::NAN), Just(f64::INFINITY), Just(0.0)]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        (text(), text()).prop_map(|(k, v)| KeyValue {
            key: k,
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v)) }),
            ..Default::default()
        }),
        0..3,
    )
}

fn number_point() -> impl Strategy<Value = NumberDataPoint> {
    (attributes(), number(), any::<bool>()).prop_map(|(attributes, v, int)| NumberDataPoint {
        attributes,
        value: Some(if int {
            number_data_point::Value::AsInt(v as i64)
        } else {
            number_data_point::Value::AsDouble(v)
        }),
        ..Default::default()
    })
}

fn data() -> impl Strategy<Value = Option<Data>> {
    let points = || proptest::collection::vec(number_point(), 0..3);
    prop_oneof![
        (points(), 0..3i32, any::<bool>()).prop_map(|(data_points, t, m)| Some(Data::Sum(Sum {
            data_points,
            aggregation_temporality: t,
            is_monotonic: m
        }))),
        points().prop_map(|data_points| Some(Data::Gauge(Gauge { data_points }))),
        (
            attributes(),
            proptest::collection::vec(number(), 0..4),
            proptest::collection::vec(0..1000u64, 0..5),
            proptest::option::of(number()),
            0..3i32
        )
            .prop_map(|(attributes, explicit_bounds, bucket_counts, sum, t)| Some(Data::Histogram(
                Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes,
                        count: bucket_counts.iter().sum(),
                        sum,
                        bucket_counts,
                        explicit_bounds,
                        ..Default::default()
                    }],
                    aggregation_temporality: t,
                }
            ))),
        (
            attributes(),
            -12..24i32,
            (any::<i32>(), -40..40i32),
            proptest::collection::vec(0..1000u64, 0..6),
            proptest::collection::vec(0..1000u64, 0..3),
            (0..5u64, 0..3u64, proptest::option::of(number()), number()),
            0..3i32
        )
            .prop_map(
                |(attributes, scale, (wild, near), positive, negative, (zero, skew, sum, threshold), t)| {
                    let total = zero + positive.iter().sum::<u64>() + negative.iter().sum::<u64>();
                    let offset = if wild % 4 == 0 { wild } else { near };
                    Some(Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: vec![ExponentialHistogramDataPoint {
                            attributes,
                            scale,
                            // mostly consistent, sometimes not
                            count: if skew == 0 { total + 1 } else { total },
                            zero_count: zero,
                            sum,
                            zero_threshold: threshold,
                            positive: Some(Buckets { offset, bucket_counts: positive }),
                            negative: Some(Buckets { offset: near, bucket_counts: negative }),
                            ..Default::default()
                        }],
                        aggregation_temporality: t,
                    }))
                }
            ),
        (attributes(), number(), proptest::collection::vec((number(), number()), 0..3)).prop_map(
            |(attributes, sum, q)| {
                Some(Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes,
                        sum,
                        count: 3,
                        quantile_values: q
                            .into_iter()
                            .map(|(quantile, value)| ValueAtQuantile { quantile, value })
                            .collect(),
                        ..Default::default()
                    }],
                }))
            }
        ),
        Just(None),
    ]
}

fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let metric = (text(), prop_oneof![Just("s".to_string()), Just("By".to_string()), text()], text(), data())
        .prop_map(|(name, unit, description, data)| Metric { name, unit, description, data, ..Default::default() });
    (attributes(), proptest::collection::vec(metric, 0..6)).prop_map(|(resource, metrics)| {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource { attributes: resource, ..Default::default() }),
                scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
                ..Default::default()
            }],
        }
    })
}

/// Points in a request, as the ingest counts them (a metric without data is
/// one refusal; a summary point is one per quantile plus sum and count).
fn points(r: &ExportMetricsServiceRequest) -> i64 {
    let metrics = r.resource_metrics.iter().flat_map(|rm| &rm.scope_metrics).flat_map(|sm| &sm.metrics);
    metrics
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.quantile_values.len() + 2).sum(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            None => 1,
        })
        .sum::<usize>() as i64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_metrics_keep_the_exposition_valid(requests in proptest::collection::vec(metrics_request(), 1..4)) {
        let registry = Registry::new();
        let ingest = MetricIngest::new(registry.clone()).unwrap();
        for r in &requests {
            let refused = ingest.ingest(r);
            prop_assert!((0..=points(r)).contains(&refused), "{refused} refused of {} points", points(r));
        }
        let snapshot = registry.snapshot();
        for text in [sonde::encode::prometheus_text(&snapshot), sonde::encode::openmetrics(&snapshot)] {
            // Names come from the sender, so promtool's style lints may fire;
            // the exposition itself must be valid.
            let findings = sonde_check::check(&text);
            prop_assert!(!sonde_check::has_errors(&findings), "{findings:?}\n{text}");
        }
    }

    #[test]
    fn any_spans_are_kept_or_refused_by_count(
        spans in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..20), proptest::collection::vec(any::<u8>(), 0..10),
             proptest::collection::vec(any::<u8>(), 0..10), text(), any::<u64>(), any::<u64>()),
            0..40,
        )
    ) {
        let store = TraceStore::new(16, 4096);
        let n = spans.len();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: spans
                        .into_iter()
                        .map(|(trace_id, span_id, parent_span_id, name, start, end)| Span {
                            trace_id, span_id, parent_span_id, name,
                            start_time_unix_nano: start, end_time_unix_nano: end,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let refused = store.add_request(request);
        let (stored, evicted, rejected) = store.counts();
        prop_assert_eq!(stored + rejected, n as u64);
        prop_assert_eq!(refused as u64, rejected);
        prop_assert_eq!(store.len() as u64 + evicted, stored);
        prop_assert!(store.len() <= 16);
        prop_assert_eq!(store.groups().iter().map(Vec::len).sum::<usize>(), store.len());
    }

    #[test]
    fn any_log_records_become_events(
        records in proptest::collection::vec(
            (any::<i32>(), text(), attributes(), proptest::collection::vec(any::<u8>(), 0..20), any::<u64>()),
            0..20,
        )
    ) {
        let n = records.len();
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: records
                        .into_iter()
                        .map(|(severity_number, body, attributes, trace_id, t)| LogRecord {
                            severity_number,
                            body: Some(AnyValue { value: Some(any_value::Value::StringValue(body)) }),
                            attributes,
                            trace_id,
                            time_unix_nano: t,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        prop_assert_eq!(events_from(&request).len(), n);
    }
}
