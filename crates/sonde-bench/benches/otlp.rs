//! Encoding 10,000 metric series and 10,000 spans to OTLP protobuf bytes:
//! Sonde's encoders against the conversions `opentelemetry-otlp` uses
//! (`opentelemetry-proto`'s `transform` module) on the SDK's collected data.
//! Collection is not timed on either side: both start from data in hand.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use prost::Message;
use std::hint::black_box;

const SERIES: usize = 10_000;
const SPANS: usize = 10_000;

fn sonde_snapshot() -> sonde::Snapshot {
    let r = sonde::Registry::builder().self_metrics(false).build().unwrap();
    let c = r.counter("requests_total").labels(["route", "code"]).register().unwrap();
    let h =
        r.histogram("latency_seconds").labels(["route"]).buckets(sonde::Buckets::default_seconds()).register().unwrap();
    for i in 0..SERIES / 2 {
        c.with(&[&format!("/r{i}"), "200"]).add(i as f64);
        h.with(&[&format!("/r{i}")]).observe(i as f64 / 1e4);
    }
    r.snapshot()
}

fn otel_metrics() -> opentelemetry_sdk::metrics::data::ResourceMetrics {
    let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter.clone()).build();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(reader)
        .with_view(|i: &opentelemetry_sdk::metrics::Instrument| {
            // Room for 10,000 series (the SDK's default limit is 2,000).
            opentelemetry_sdk::metrics::Stream::builder()
                .with_cardinality_limit(20_000)
                .build()
                .ok()
                .filter(|_| !i.name().is_empty())
        })
        .build();
    let meter = provider.meter("bench");
    let c = meter.u64_counter("requests").build();
    let h = meter
        .f64_histogram("latency")
        .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        .build();
    for i in 0..SERIES / 2 {
        c.add(i as u64, &[KeyValue::new("route", format!("/r{i}")), KeyValue::new("code", "200")]);
        h.record(i as f64 / 1e4, &[KeyValue::new("route", format!("/r{i}"))]);
    }
    provider.force_flush().unwrap();
    exporter.get_finished_metrics().unwrap().pop().unwrap()
}

fn sonde_spans() -> Vec<sonde::trace::SpanData> {
    let mem = sonde::trace::InMemoryExporter::default();
    let provider = sonde::trace::TracerProvider::builder()
        .service_name("bench")
        .processor(sonde::trace::SimpleProcessor::new(mem.clone()))
        .build();
    let t = provider.tracer("bench");
    for _ in 0..SPANS {
        let mut s = t.start("op");
        s.set_attribute("http.route", "/orders");
        s.set_attribute("http.response.status_code", 200);
        s.add_event("retry", [sonde::trace::KeyValue::new("attempt", 1)]);
    }
    mem.spans()
}

fn otel_spans() -> Vec<opentelemetry_sdk::trace::SpanData> {
    let mem = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_simple_exporter(mem.clone()).build();
    let t = provider.tracer("bench");
    for _ in 0..SPANS {
        let mut s = t.start("op");
        s.set_attribute(KeyValue::new("http.route", "/orders"));
        s.set_attribute(KeyValue::new("http.response.status_code", 200));
        s.add_event("retry", vec![KeyValue::new("attempt", 1)]);
        s.end();
    }
    mem.get_finished_spans().unwrap()
}

fn otlp(c: &mut Criterion) {
    let mut g = c.benchmark_group("otlp_encode_10k_series");
    g.throughput(Throughput::Elements(SERIES as u64));
    let snapshot = sonde_snapshot();
    assert_eq!(snapshot.series_count(), SERIES);
    let encoder =
        sonde_otlp::MetricEncoder::new(sonde_otlp::Temporality::Cumulative, &[("service.name".into(), "bench".into())]);
    // A first export: a new buffer, grown as it fills.
    g.bench_function("sonde", |b| b.iter(|| encoder.encode_to_vec(&snapshot)));
    // The exporter's steady state: the previous request's buffer reused.
    g.bench_function("sonde_reused", |b| b.iter(|| encoder.encode_with(&snapshot, |bytes| bytes.len())));
    let rm = otel_metrics();
    let points: usize = opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(&rm)
        .resource_metrics[0]
        .scope_metrics[0]
        .metrics
        .iter()
        .map(|m| match &m.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(s)) => s.data_points.len(),
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) => h.data_points.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(points, SERIES, "the SDK kept every series");
    g.bench_function("opentelemetry_otlp", |b| {
        b.iter(|| {
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(&rm).encode_to_vec()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("otlp_encode_10k_spans");
    g.throughput(Throughput::Elements(SPANS as u64));
    let spans = sonde_spans();
    assert_eq!(spans.len(), SPANS);
    // A first export: a new encoder and buffer.
    g.bench_function("sonde", |b| b.iter(|| sonde_otlp::TraceEncoder::default().encode(spans.iter(), &[]).len()));
    // The exporter's steady state: the previous batch's buffer reused.
    let mut encoder = sonde_otlp::TraceEncoder::default();
    g.bench_function("sonde_reused", |b| b.iter(|| encoder.encode(spans.iter(), &[]).len()));
    let spans = otel_spans();
    assert_eq!(spans.len(), SPANS);
    let resource = opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema::from(
        &opentelemetry_sdk::Resource::builder().with_service_name("bench").build(),
    );
    g.bench_function("opentelemetry_otlp", |b| {
        b.iter_batched(
            || spans.clone(),
            |spans| {
                opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
                    resource_spans: opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                        spans, &resource,
                    ),
                }
                .encode_to_vec()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The hub's side, as `sonde serve` does it per request: an OTLP/HTTP
/// protobuf body of 1,000 spans priced (the schema walk), decoded, cut to
/// the per-item limits, measured in heap bytes and kept in the bounded
/// trace store (which evicts as it goes); per span.
fn ingest(c: &mut Criterion) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use sonde_otlp::receive::{decoded_cost, heap_bytes, limit_span, ItemLimits};
    let spans = sonde_spans();
    let body = sonde_otlp::traces_request(spans.iter().take(1000), &[]).encode_to_vec();
    let store = sonde_otlp::receive::TraceStore::new(1_000_000, 256 << 20);
    let limits = ItemLimits::default();
    let mut g = c.benchmark_group("otlp_ingest_spans");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("sonde_1000_spans", |b| {
        b.iter(|| {
            let cost = decoded_cost(sonde_otlp::Signal::Traces, &body).unwrap();
            assert!(cost < 64 << 20);
            let (mut request, _) = sonde_otlp::receive::decode_request::<ExportTraceServiceRequest>(
                Some("application/x-protobuf"),
                None,
                &body,
            )
            .unwrap();
            let mut bytes = 0;
            for span in request.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
                limit_span(span, &limits);
                bytes += heap_bytes::span(span);
            }
            black_box(bytes);
            store.add_request(request)
        })
    });
    g.finish();
}

criterion_group!(benches, otlp, ingest);
criterion_main!(benches);
