//! The reference implementation (the OpenTelemetry Python SDK) and Sonde
//! send an equivalent workload to the same receiver; the structure that
//! arrives is the same: metric names, kinds, monotonicity, temporality,
//! units, buckets, attributes; span names, kinds, parentage, status, events.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sonde::trace::{KeyValue, SimpleProcessor, SpanKind, Status, TracerProvider};
use sonde::{Buckets, Registry};
use sonde_export::Exporter;
use sonde_otlp::{Otlp, Protocol};
use sonde_testkit::otlp::{self, Receiver};
use sonde_testkit::peers;

/// What must agree, per metric: kind, monotonic, temporality, unit,
/// bounds, bucket counts, point count and attribute keys.
fn metric_shape(bodies: &[Value]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for b in bodies {
        for rm in b["resourceMetrics"].as_array().into_iter().flatten() {
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                // Sonde's own `sonde_*` self-metrics have no counterpart.
                let metrics = sm["metrics"].as_array().into_iter().flatten();
                for m in metrics.filter(|m| !m["name"].as_str().unwrap().starts_with("sonde_")) {
                    let (kind, data) = ["sum", "gauge", "histogram", "summary"]
                        .iter()
                        .find_map(|k| m.get(*k).map(|d| (*k, d)))
                        .expect("a metric has data");
                    let points = data["dataPoints"].as_array().cloned().unwrap_or_default();
                    let p = &points[0];
                    let keys: Vec<Value> =
                        p["attributes"].as_array().into_iter().flatten().map(|kv| kv["key"].clone()).collect();
                    let value = p.get("asInt").or(p.get("asDouble")).cloned().unwrap_or_default();
                    let value = value.as_str().map(|s| Value::from(s.parse::<f64>().unwrap())).unwrap_or(value);
                    out.insert(
                        m["name"].as_str().unwrap().to_owned(),
                        serde_json::json!({
                            "kind": kind,
                            "monotonic": data["isMonotonic"],
                            "temporality": data["aggregationTemporality"],
                            "unit": m["unit"],
                            "points": points.len(),
                            "attribute_keys": keys,
                            "value": value.as_f64(),
                            "bounds": p["explicitBounds"],
                            "buckets": p["bucketCounts"],
                            "count": p["count"],
                        }),
                    );
                }
            }
        }
    }
    out
}

fn resource_keys(bodies: &[Value], kind: &str) -> Vec<String> {
    let mut keys: Vec<String> = bodies
        .iter()
        .flat_map(|b| b[kind].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["resource"]["attributes"].as_array().cloned().unwrap_or_default())
        .map(|kv| format!("{}={}", kv["key"].as_str().unwrap(), kv["value"]["stringValue"].as_str().unwrap_or("")))
        .filter(|k| !k.starts_with("telemetry.sdk"))
        // Random per process: only its presence can agree.
        .map(|k| if k.starts_with("service.instance.id=") { "service.instance.id=*".into() } else { k })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Span name → (kind, parent's name, status code, event names, attribute keys).
fn span_shape(bodies: &[Value]) -> BTreeMap<String, Value> {
    let spans = otlp::spans_of(bodies);
    let name_of = |id: &Value| spans.iter().find(|s| &s["spanId"] == id).map(|s| s["name"].clone());
    spans
        .iter()
        .map(|s| {
            let attrs: Vec<Value> =
                s["attributes"].as_array().into_iter().flatten().map(|kv| kv["key"].clone()).collect();
            let events: Vec<Value> = s["events"].as_array().into_iter().flatten().map(|e| e["name"].clone()).collect();
            (
                s["name"].as_str().unwrap().to_owned(),
                serde_json::json!({
                    "kind": s["kind"],
                    "parent": s.get("parentSpanId").and_then(name_of),
                    "status": s["status"]["code"],
                    "message": s["status"]["message"],
                    "events": events,
                    "attributes": attrs,
                    "same_trace": spans.iter().all(|o| o["traceId"] == s["traceId"]),
                }),
            )
        })
        .collect()
}

fn sonde_sends(rx: &Receiver, protocol: Protocol) {
    let url = if protocol == Protocol::Grpc { rx.grpc_url() } else { rx.http_url() };
    let otlp = Otlp::builder()
        .endpoint(url)
        .protocol(protocol)
        .service_name("sonde-test")
        .resource_attribute("deployment.environment", "ci")
        .build()
        .unwrap();
    let r = Registry::new();
    r.counter("jobs_total").help("Jobs run.").labels(["queue"]).register().unwrap().with(&["a"]).add(3.0);
    r.up_down_counter("in_flight").register().unwrap().add(2.0);
    r.gauge("temperature_celsius").register().unwrap().set(21.5);
    let h = r.histogram("latency").unit("seconds").buckets(Buckets::new([0.1, 0.5, 1.0]).unwrap()).register().unwrap();
    for v in [0.05, 0.2, 0.3, 2.0] {
        h.observe(v);
    }
    otlp.metric_exporter().unwrap().export(&r.snapshot()).unwrap();

    let provider = TracerProvider::builder()
        .service_name("sonde-test")
        .processor(SimpleProcessor::new(otlp.span_exporter().unwrap()))
        .build();
    let tracer = provider.tracer("checkout");
    tracer.in_span("handle", |parent| {
        parent.set_attribute("http.route", "/cart");
        let mut child = tracer.span("query").kind(SpanKind::Client).start();
        child.add_event("retry", [KeyValue::new("attempt", 2)]);
        child.set_status(Status::Error { message: "timeout".into() });
    });
    provider.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn sonde_sends_what_the_reference_sdk_sends() {
    let Some(rx) = Receiver::start() else { return };
    let Some(python) = peers::python_with("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http") else { return };
    let script = peers::workspace_root().join("tests/peers/otel_sdk_send.py");
    for (protocol, transport, url) in
        [(Protocol::HttpProtobuf, "http", rx.http_url()), (Protocol::Grpc, "grpc", rx.grpc_url())]
    {
        rx.reset();
        let status = Command::new(&python).arg(&script).args([url.as_str(), transport]).status().unwrap();
        assert!(status.success(), "the reference SDK failed");
        let reference = rx.received().into_iter().map(|r| r["body"].clone()).collect::<Vec<_>>();
        rx.reset();
        sonde_sends(&rx, protocol);
        let ours = rx.received().into_iter().map(|r| r["body"].clone()).collect::<Vec<_>>();

        let (want, got) = (metric_shape(&reference), metric_shape(&ours));
        assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>(), "{transport}: metric names");
        for (name, shape) in &want {
            assert_eq!(&got[name], shape, "{transport}: metric {name}");
        }
        assert_eq!(resource_keys(&reference, "resourceMetrics"), resource_keys(&ours, "resourceMetrics"));
        assert_eq!(span_shape(&reference), span_shape(&ours), "{transport}: spans");
        assert_eq!(resource_keys(&reference, "resourceSpans"), resource_keys(&ours, "resourceSpans"));
    }
}

/// The data point of `name` as the receiver's official classes decoded it.
fn exponential_point(bodies: &[Value], name: &str) -> Value {
    bodies
        .iter()
        .flat_map(|b| b["resourceMetrics"].as_array().cloned().unwrap_or_default())
        .flat_map(|rm| rm["scopeMetrics"].as_array().cloned().unwrap_or_default())
        .flat_map(|sm| sm["metrics"].as_array().cloned().unwrap_or_default())
        .find(|m| m["name"] == name)
        .map(|m| m["exponentialHistogram"].clone())
        .unwrap_or_else(|| panic!("{name} in {bodies:?}"))
}

/// A JSON uint64 (a string in OTLP/JSON) or int as a number.
fn number(v: &Value) -> i64 {
    v.as_str().map(|s| s.parse().unwrap()).or(v.as_i64()).unwrap_or(0)
}

#[test]
fn native_histograms_decode_in_the_official_classes() {
    let Some(rx) = Receiver::start() else { return };
    for temporality in [sonde_otlp::Temporality::Cumulative, sonde_otlp::Temporality::Delta] {
        rx.reset();
        let otlp = Otlp::builder()
            .endpoint(rx.http_url())
            .protocol(Protocol::HttpProtobuf)
            .temporality(temporality)
            .build()
            .unwrap();
        let r = Registry::builder().self_metrics(false).build().unwrap();
        let h = r
            .histogram("latency")
            .unit("seconds")
            .buckets(Buckets::native(sonde::NativeBuckets::new().schema(4).unwrap()))
            .register()
            .unwrap();
        let exporter = otlp.metric_exporter().unwrap();
        for v in [0.0, 0.012, 0.013, 0.1, 0.1, 2.5, -1.0] {
            h.observe(v);
        }
        exporter.export(&r.snapshot()).unwrap();
        let first = h.native().unwrap();
        for v in [0.1, 7.0] {
            h.observe(v);
        }
        exporter.export(&r.snapshot()).unwrap();
        let second = h.native().unwrap();
        let bodies = rx.wait_for("metrics", 2);
        let points = |b: &Value| b["dataPoints"][0].clone();
        let (one, two) =
            (exponential_point(&bodies[..1], "latency_seconds"), exponential_point(&bodies[1..], "latency_seconds"));
        let want_temporality = if temporality == sonde_otlp::Temporality::Delta {
            "AGGREGATION_TEMPORALITY_DELTA"
        } else {
            "AGGREGATION_TEMPORALITY_CUMULATIVE"
        };
        assert_eq!(one["aggregationTemporality"], want_temporality);
        // What was recorded, in OTLP's numbering (one below Prometheus').
        let expect = |p: &Value, n: &sonde::NativeHistogramSnapshot| {
            assert_eq!(number(&p["count"]), n.count as i64, "{temporality:?} count");
            assert_eq!(number(&p["zeroCount"]), n.zero_count as i64);
            assert_eq!(p["scale"], 4);
            assert_eq!(number(&p["positive"]["offset"]), i64::from(n.positive.offset - 1));
            let counts: Vec<i64> = p["positive"]["bucketCounts"].as_array().unwrap().iter().map(number).collect();
            assert_eq!(counts, n.positive.counts.iter().map(|&c| c as i64).collect::<Vec<_>>(), "{temporality:?}");
            let negative: Vec<i64> =
                p["negative"]["bucketCounts"].as_array().cloned().unwrap_or_default().iter().map(number).collect();
            assert_eq!(negative, n.negative.counts.iter().map(|&c| c as i64).collect::<Vec<_>>());
        };
        expect(&points(&one), &first);
        assert_eq!(points(&one)["min"], -1.0);
        assert_eq!(points(&one)["max"], 2.5);
        if temporality == sonde_otlp::Temporality::Delta {
            let mut change = second.clone();
            change.subtract(&first);
            expect(&points(&two), &change);
            assert_eq!(number(&points(&two)["count"]), 2);
        } else {
            expect(&points(&two), &second);
        }
    }
}
