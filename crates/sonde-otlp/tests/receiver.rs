//! Sonde's OTLP output, decoded by a receiver built on the official Python
//! protobuf classes, over OTLP/HTTP (protobuf, JSON, gzip) and OTLP/gRPC.

use std::time::{Duration, Instant};

use serde_json::Value;
use sonde::events::{EventLog, Severity};
use sonde::trace::{KeyValue, SimpleProcessor, SpanKind, Status, TracerProvider};
use sonde::BatchOptions;
use sonde::{Buckets, Registry};
use sonde_export::Exporter;
use sonde_otlp::{Otlp, OtlpBuilder, Protocol, RetryPolicy, Temporality};
use sonde_testkit::otlp::{spans_of, Receiver};
use sonde_testkit::{finishes_within, ClosedPort};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        max_elapsed: Duration::from_secs(10),
    }
}

fn builder(rx: &Receiver, protocol: Protocol) -> OtlpBuilder {
    let url = if protocol == Protocol::Grpc { rx.grpc_url() } else { rx.http_url() };
    Otlp::builder()
        .endpoint(url)
        .protocol(protocol)
        .service_name("sonde-test")
        .resource_attribute("deployment.environment", "ci")
        .retry(fast_retries())
        .timeout(Duration::from_secs(5))
}

fn metrics_of(body: &Value) -> Vec<Value> {
    body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().cloned().unwrap_or_default()
}

fn metric<'a>(metrics: &'a [Value], name: &str) -> &'a Value {
    metrics.iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no metric {name} in {metrics:#?}"))
}

fn attr(attrs: &Value, key: &str) -> Value {
    attrs
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == key))
        .map(|kv| kv["value"].clone())
        .unwrap_or_default()
}

fn workload() -> Registry {
    let r = Registry::new();
    let jobs = r.counter("jobs_total").help("Jobs run.").labels(["queue"]).register().unwrap();
    jobs.with(&["a"]).add(3.0);
    r.up_down_counter("in_flight").register().unwrap().add(2.0);
    r.gauge("temperature_celsius").register().unwrap().set(21.5);
    let h = r.histogram("latency").unit("seconds").buckets(Buckets::new([0.1, 0.5, 1.0]).unwrap()).register().unwrap();
    for v in [0.05, 0.2, 0.3, 2.0] {
        h.observe(v);
    }
    let s = r.summary("payload_bytes").register().unwrap();
    for v in 1..=100 {
        s.observe(v as f64);
    }
    r
}

fn check_metrics(metrics: &[Value]) {
    let jobs = metric(metrics, "jobs");
    assert_eq!(jobs["description"], "Jobs run.");
    assert_eq!(jobs["sum"]["isMonotonic"], true);
    assert_eq!(jobs["sum"]["aggregationTemporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
    let point = &jobs["sum"]["dataPoints"][0];
    assert_eq!(point["asInt"], "3");
    assert_eq!(attr(&point["attributes"], "queue")["stringValue"], "a");
    let in_flight = metric(metrics, "in_flight");
    assert_eq!(in_flight["sum"]["isMonotonic"], Value::Null, "false is the default, omitted");
    assert_eq!(in_flight["sum"]["dataPoints"][0]["asDouble"], 2.0);
    assert_eq!(metric(metrics, "temperature_celsius")["gauge"]["dataPoints"][0]["asDouble"], 21.5);
    let latency = metric(metrics, "latency_seconds");
    assert_eq!(latency["unit"], "s");
    let hp = &latency["histogram"]["dataPoints"][0];
    assert_eq!(hp["count"], "4");
    assert_eq!(hp["bucketCounts"], serde_json::json!(["1", "2", "0", "1"]), "per-bucket, not cumulative");
    assert_eq!(hp["explicitBounds"], serde_json::json!([0.1, 0.5, 1.0]));
    assert!((hp["sum"].as_f64().unwrap() - 2.55).abs() < 1e-9);
    let summary = &metric(metrics, "payload_bytes")["summary"]["dataPoints"][0];
    assert_eq!(summary["count"], "100");
    assert!(summary["quantileValues"].as_array().is_some_and(|q| !q.is_empty()));
}

/// One of the exporter's own counters.
fn self_metric(exporter: &sonde_otlp::OtlpMetricExporter, family: &str) -> f64 {
    let counters = Registry::new();
    exporter.register_metrics(&counters).unwrap();
    counters.snapshot().family(family).unwrap().series().next().unwrap().value().as_f64()
}

#[test]
fn metrics_arrive_over_every_transport() {
    let Some(rx) = Receiver::start() else { return };
    let registry = workload();
    for (protocol, gzip, transport) in [
        (Protocol::HttpProtobuf, false, "http/protobuf"),
        (Protocol::HttpJson, true, "http/json"),
        (Protocol::Grpc, true, "grpc"),
    ] {
        rx.reset();
        let otlp = builder(&rx, protocol).gzip(gzip).build().unwrap();
        otlp.metric_exporter().unwrap().export(&registry.snapshot()).unwrap();
        let all = rx.received();
        assert_eq!(all.len(), 1, "{transport}: {all:#?}");
        assert_eq!(all[0]["transport"], transport);
        let body = &all[0]["body"];
        let resource = &body["resourceMetrics"][0]["resource"]["attributes"];
        assert_eq!(attr(resource, "service.name")["stringValue"], "sonde-test");
        assert_eq!(attr(resource, "deployment.environment")["stringValue"], "ci");
        check_metrics(&metrics_of(body));
    }
}

#[test]
fn delta_temporality_sends_changes() {
    let Some(rx) = Receiver::start() else { return };
    let r = Registry::new();
    let c = r.counter("events_total").register().unwrap();
    let h = r.histogram("wait").buckets(Buckets::new([1.0]).unwrap()).register().unwrap();
    let exporter = builder(&rx, Protocol::HttpProtobuf)
        .temporality(Temporality::Delta)
        .build()
        .unwrap()
        .metric_exporter()
        .unwrap();
    c.add(5.0);
    h.observe(0.5);
    exporter.export(&r.snapshot()).unwrap();
    c.add(2.0);
    h.observe(3.0);
    exporter.export(&r.snapshot()).unwrap();
    let bodies = rx.wait_for("metrics", 2);
    let second = metrics_of(&bodies[1]);
    let sum = &metric(&second, "events")["sum"];
    assert_eq!(sum["aggregationTemporality"], "AGGREGATION_TEMPORALITY_DELTA");
    assert_eq!(sum["dataPoints"][0]["asInt"], "2");
    let hp = &metric(&second, "wait")["histogram"]["dataPoints"][0];
    assert_eq!((hp["count"].clone(), hp["bucketCounts"].clone()), ("1".into(), serde_json::json!(["0", "1"])));
    let first = metrics_of(&bodies[0]);
    let first_time = &metric(&first, "events")["sum"]["dataPoints"][0]["timeUnixNano"];
    assert_eq!(&sum["dataPoints"][0]["startTimeUnixNano"], first_time, "a delta starts where the last one ended");
}

#[test]
fn spans_and_events_keep_their_links() {
    let Some(rx) = Receiver::start() else { return };
    for protocol in [Protocol::HttpProtobuf, Protocol::HttpJson, Protocol::Grpc] {
        rx.reset();
        let otlp = builder(&rx, protocol).build().unwrap();
        let provider = TracerProvider::builder()
            .service_name("sonde-test")
            .processor(SimpleProcessor::new(otlp.span_exporter().unwrap()))
            .build();
        let events = EventLog::builder().exporter(otlp.log_exporter().unwrap(), BatchOptions::default()).build();
        let tracer = provider.tracer("checkout");
        let linked = tracer.start("earlier").context().clone();
        let (trace_id, parent_id) = tracer.in_span("handle", |parent| {
            parent.set_attribute("http.route", "/cart");
            let mut child = tracer.span("query").kind(SpanKind::Client).start();
            child.add_event("retry", [KeyValue::new("attempt", 2)]);
            child.add_link(linked.clone(), [KeyValue::new("reason", "batch")]);
            child.set_status(Status::Error { message: "timeout".into() });
            events.record(Severity::Warn, "slow_query", [KeyValue::new("ms", 250)], [("db", "orders")]);
            child.end();
            (parent.context().trace_id.to_string(), parent.context().span_id.to_string())
        });
        events.shutdown(Duration::from_secs(5)).unwrap();
        provider.shutdown(Duration::from_secs(5)).unwrap();

        let spans = spans_of(&rx.wait_for("traces", 3));
        assert_eq!(spans.len(), 3, "{protocol:?}: {spans:#?}");
        let parent = spans.iter().find(|s| s["name"] == "handle").unwrap();
        let child = spans.iter().find(|s| s["name"] == "query").unwrap();
        assert_eq!(parent["traceId"], trace_id.as_str());
        assert_eq!(child["traceId"], trace_id.as_str());
        assert_eq!(parent["spanId"], parent_id.as_str());
        assert_eq!(child["parentSpanId"], parent_id.as_str());
        assert_eq!(parent.get("parentSpanId"), None, "a root span has no parent");
        assert_eq!(child["kind"], "SPAN_KIND_CLIENT");
        assert_eq!(child["status"]["code"], "STATUS_CODE_ERROR");
        assert_eq!(child["status"]["message"], "timeout");
        assert_eq!(child["events"][0]["name"], "retry");
        assert_eq!(attr(&child["events"][0]["attributes"], "attempt")["intValue"], "2");
        assert_eq!(attr(&parent["attributes"], "http.route")["stringValue"], "/cart");
        let link = &child["links"][0];
        assert_eq!(link["traceId"], linked.trace_id.to_string().as_str());
        assert_eq!(link["spanId"], linked.span_id.to_string().as_str());
        assert_eq!(attr(&link["attributes"], "reason")["stringValue"], "batch");
        assert!(child["endTimeUnixNano"].as_str().unwrap().parse::<u64>().unwrap() > 0);

        let logs = rx.wait_for("logs", 1);
        let record = &logs[0]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
        assert_eq!(record["body"]["stringValue"], "slow_query");
        assert_eq!(record["eventName"], "slow_query");
        assert_eq!(record["severityNumber"], "SEVERITY_NUMBER_WARN");
        assert_eq!(record["traceId"], trace_id.as_str());
        assert_eq!(attr(&record["attributes"], "db")["stringValue"], "orders");
        assert_eq!(attr(&record["attributes"], "ms")["intValue"], "250");
    }
}

#[test]
fn a_503_is_retried_and_the_data_arrives_once() {
    let Some(rx) = Receiver::start() else { return };
    let registry = workload();
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        rx.reset();
        rx.script(r#"{"statuses": [503, 503]}"#);
        let exporter = builder(&rx, protocol).build().unwrap().metric_exporter().unwrap();
        exporter.export(&registry.snapshot()).unwrap();
        assert_eq!(rx.attempts(), 3, "{protocol:?}");
        assert_eq!(rx.received().len(), 1, "{protocol:?}: nothing duplicated or lost");
        assert_eq!(self_metric(&exporter, "sonde_otlp_metrics_retries"), 2.0);
    }
}

#[test]
fn a_400_is_not_retried_and_the_failure_is_counted() {
    let Some(rx) = Receiver::start() else { return };
    for protocol in [Protocol::HttpJson, Protocol::Grpc] {
        rx.reset();
        rx.script(r#"{"statuses": [400]}"#);
        let exporter = builder(&rx, protocol).build().unwrap().metric_exporter().unwrap();
        let err = exporter.export(&workload().snapshot()).unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        assert_eq!(rx.attempts(), 1, "{protocol:?}");
        let failures = self_metric(&exporter, "sonde_otlp_metrics_failures");
        assert_eq!(failures, 1.0);
    }
}

#[test]
fn a_partial_success_is_counted_not_retried() {
    let Some(rx) = Receiver::start() else { return };
    for protocol in [Protocol::HttpProtobuf, Protocol::HttpJson, Protocol::Grpc] {
        rx.reset();
        rx.script(r#"{"partial": 2}"#);
        let exporter = builder(&rx, protocol).build().unwrap().metric_exporter().unwrap();
        exporter.export(&workload().snapshot()).unwrap();
        assert_eq!(rx.attempts(), 1);
        let rejected = self_metric(&exporter, "sonde_otlp_metrics_rejected_items");
        assert_eq!(rejected, 2.0, "{protocol:?}");
    }
}

#[test]
fn retry_after_is_honoured() {
    let Some(rx) = Receiver::start() else { return };
    rx.script(r#"{"statuses": [429], "retry_after": "1"}"#);
    let exporter = builder(&rx, Protocol::HttpProtobuf).build().unwrap().metric_exporter().unwrap();
    let started = Instant::now();
    exporter.export(&workload().snapshot()).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(rx.attempts(), 2);
}

/// gRPC throttling: a status carrying `google.rpc.RetryInfo` is retried
/// after the delay it gives (UNAVAILABLE, and RESOURCE_EXHAUSTED, which is
/// retried only with RetryInfo); a delay past the exporter's deadline fails
/// at once instead of waiting.
#[test]
fn grpc_retry_info_sets_the_wait() {
    let Some(rx) = Receiver::start() else { return };
    for status in [503, 429] {
        rx.reset();
        rx.script(&format!(r#"{{"statuses": [{status}], "retry_after": "1.2"}}"#));
        let exporter = builder(&rx, Protocol::Grpc).build().unwrap().metric_exporter().unwrap();
        let started = Instant::now();
        exporter.export(&workload().snapshot()).unwrap_or_else(|e| panic!("{status}: {e}"));
        // The backoff alone would wait about 20 ms.
        assert!(started.elapsed() >= Duration::from_millis(1150), "{status}: waited {:?}", started.elapsed());
        assert_eq!(rx.attempts(), 2, "{status}");
    }
    rx.reset();
    rx.script(r#"{"statuses": [429]}"#);
    let exporter = builder(&rx, Protocol::Grpc).build().unwrap().metric_exporter().unwrap();
    let err = exporter.export(&workload().snapshot()).unwrap_err();
    assert!(!err.is_retryable(), "RESOURCE_EXHAUSTED without RetryInfo is final: {err}");
    assert_eq!(rx.attempts(), 1);
    rx.reset();
    rx.script(r#"{"statuses": [503], "retry_after": "30"}"#);
    let exporter = builder(&rx, Protocol::Grpc)
        .retry(RetryPolicy { max_elapsed: Duration::from_secs(2), ..fast_retries() })
        .build()
        .unwrap()
        .metric_exporter()
        .unwrap();
    let started = Instant::now();
    assert!(exporter.export(&workload().snapshot()).is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "gave up at once, {:?}", started.elapsed());
    assert_eq!(rx.attempts(), 1);
}

#[test]
fn a_slow_receiver_times_out() {
    let Some(rx) = Receiver::start() else { return };
    rx.script(r#"{"delay": 3}"#);
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let exporter = builder(&rx, protocol)
            .timeout(Duration::from_millis(300))
            .retry(RetryPolicy { attempts: 0, ..fast_retries() })
            .build()
            .unwrap()
            .metric_exporter()
            .unwrap();
        // The receiver answers 200 after its delay: only the client's own
        // timeout can make this an error.
        let err = exporter.export(&workload().snapshot()).unwrap_err();
        assert!(err.is_retryable(), "{protocol:?}: a timeout may succeed later: {err}");
    }
}

/// A receiver that never answers (it accepts nothing: connections sit in
/// its backlog) and one that is down: recording never waits on the network
/// (the bounded queue drops and counts), and shutdown returns while the
/// receiver still hangs, in every kind of runtime.
#[test]
fn a_hung_or_missing_receiver_never_blocks_or_hangs() {
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = ClosedPort::bind();
    let cases = [
        (Protocol::HttpProtobuf, hung.local_addr().unwrap().to_string()),
        (Protocol::Grpc, hung.local_addr().unwrap().to_string()),
        (Protocol::HttpProtobuf, down.addr()),
        (Protocol::Grpc, down.addr()),
    ];
    for (protocol, addr) in cases {
        let otlp = Otlp::builder()
            .endpoint(format!("http://{addr}"))
            .protocol(protocol)
            .retry(RetryPolicy {
                attempts: 50,
                initial: Duration::from_millis(50),
                max: Duration::from_millis(200),
                max_elapsed: Duration::from_secs(60),
            })
            .build()
            .unwrap();
        let registry = Registry::new();
        let options = BatchOptions { max_queue: 16, max_batch: 4, delay: Duration::from_millis(10) };
        let provider = TracerProvider::builder().processor(otlp.batch_processor(&registry, options).unwrap()).build();
        let tracer = provider.tracer("t");
        finishes_within(Duration::from_secs(30), "recording with the receiver hung", move || {
            for _ in 0..1000 {
                tracer.start("op").end();
            }
        });
        let dropped =
            registry.snapshot().family("sonde_spans_dropped").unwrap().series().next().unwrap().value().as_f64();
        assert!(dropped > 900.0, "{protocol:?}: dropped {dropped}");

        let shutdown = |p: &TracerProvider| {
            let p = p.clone();
            finishes_within(Duration::from_secs(30), "shutdown with the receiver hung", move || {
                let _ = p.shutdown(Duration::from_millis(500));
            });
        };
        // From a multi-thread runtime, a current-thread one, and none.
        let multi = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        multi.block_on(async { shutdown(&provider) });
        let other =
            TracerProvider::builder().processor(otlp.batch_processor(&Registry::new(), options).unwrap()).build();
        other.tracer("t").start("op").end();
        let current = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        current.block_on(async { shutdown(&other) });
        let plain =
            TracerProvider::builder().processor(otlp.batch_processor(&Registry::new(), options).unwrap()).build();
        plain.tracer("t").start("op").end();
        shutdown(&plain);
    }
}

/// Inside a current-thread runtime, a simple (synchronous) processor over
/// gRPC still delivers: the gRPC work runs on the exporter's own thread.
#[test]
fn grpc_export_from_inside_a_current_thread_runtime() {
    let Some(rx) = Receiver::start() else { return };
    let otlp = builder(&rx, Protocol::Grpc).build().unwrap();
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(otlp.span_exporter().unwrap())).build();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        provider.tracer("t").start("inside").end();
    });
    assert_eq!(spans_of(&rx.wait_for("traces", 1))[0]["name"], "inside");
}

#[test]
fn histogram_exemplars_point_at_their_trace() {
    let Some(rx) = Receiver::start() else { return };
    let r = Registry::new();
    let h = r.histogram("work").unit("seconds").exemplars().register().unwrap();
    let provider = TracerProvider::builder().build();
    let tracer = provider.tracer("t");
    let (trace_id, span_id) = tracer.in_span("op", |s| {
        h.observe(0.25);
        (s.context().trace_id.to_string(), s.context().span_id.to_string())
    });
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        rx.reset();
        builder(&rx, protocol).build().unwrap().metric_exporter().unwrap().export(&r.snapshot()).unwrap();
        let metrics = metrics_of(&rx.wait_for("metrics", 1)[0]);
        let exemplar = &metric(&metrics, "work_seconds")["histogram"]["dataPoints"][0]["exemplars"][0];
        assert_eq!(exemplar["traceId"], trace_id.as_str(), "{protocol:?}");
        assert_eq!(exemplar["spanId"], span_id.as_str());
        assert_eq!(exemplar["asDouble"], 0.25);
    }
}

#[test]
fn periodic_export_runs_on_the_interval_and_flushes_on_stop() {
    let Some(rx) = Receiver::start() else { return };
    let r = Registry::new();
    let c = r.counter("ticks_total").register().unwrap();
    let otlp = builder(&rx, Protocol::HttpProtobuf).metric_interval(Duration::from_millis(200)).build().unwrap();
    let periodic = otlp.periodic_metrics(r.clone()).unwrap();
    c.inc();
    assert!(rx.wait_for("metrics", 2).len() >= 2, "two exports within 10 s at a 200 ms interval");
    c.add(41.0);
    periodic.stop(Duration::from_secs(5)).unwrap();
    let bodies = rx.received();
    let last = metrics_of(&bodies.last().unwrap()["body"]);
    assert_eq!(metric(&last, "ticks")["sum"]["dataPoints"][0]["asInt"], "42", "the final flush has the last value");
}
