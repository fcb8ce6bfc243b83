//! `sonde demo` honours the standard `OTEL_EXPORTER_OTLP_*` variables: with
//! an endpoint set it exports metrics, traces and events there, over HTTP
//! or gRPC, and flushes them when stopped.

use std::time::Duration;

use sonde_testkit::otlp::{log_records_of, spans_of, Receiver};
use sonde_testkit::{http, poll_until, Hub};

#[test]
fn demo_exports_over_otlp_when_the_environment_says_so() {
    let Some(rx) = Receiver::start() else { return };
    for (protocol, url) in [("http/protobuf", rx.http_url()), ("grpc", rx.grpc_url())] {
        rx.reset();
        let demo = Hub::start_with_env(
            env!("CARGO_BIN_EXE_sonde"),
            &["demo", "--listen", "127.0.0.1:0"],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &url),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
                ("OTEL_SERVICE_NAME", "demo-under-test"),
            ],
        );
        assert!(demo.output().contains("over OTLP"), "{}", demo.output());
        // Metrics arrive on the interval, while the demo runs.
        let metrics = rx.wait_for("metrics", 1);
        assert!(!metrics.is_empty(), "{protocol}: no metrics while running");
        // Run until a request has failed (about 3 % do), so that its
        // `request_failed` event is among the records the stop flushes.
        let api = demo.addr("metrics").to_owned();
        poll_until(Duration::from_secs(20), || {
            http::get(&api, "/metrics").text().contains("code=\"500\"").then_some(())
        })
        .expect("a failed request");
        demo.stop();

        let names: Vec<String> = rx
            .wait_for("metrics", 1)
            .iter()
            .flat_map(|b| b["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().cloned().unwrap_or_default())
            .map(|m| m["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(names.iter().any(|n| n == "demo_http_requests"), "{protocol}: {names:?}");
        let service = &rx.wait_for("metrics", 1)[0]["resourceMetrics"][0]["resource"]["attributes"];
        assert!(service.to_string().contains("demo-under-test"), "{service}");

        let spans = spans_of(&rx.wait_for("traces", 1));
        let server = spans.iter().find(|s| s["kind"] == "SPAN_KIND_SERVER").expect("server spans");
        let db = spans
            .iter()
            .find(|s| s["name"] == "db.query" && s["traceId"] == server["traceId"])
            .unwrap_or_else(|| panic!("{protocol}: no db.query child of {server}"));
        assert_eq!(db["parentSpanId"], server["spanId"]);
        // Events go out as log records: about 3 % of the hundreds of
        // requests made by now failed, each recording `request_failed`.
        let records = log_records_of(&rx.wait_for("logs", 1));
        let record = records
            .iter()
            .find(|r| r["eventName"] == "request_failed")
            .unwrap_or_else(|| panic!("{protocol}: no request_failed among {} records", records.len()));
        assert_eq!(record["severityText"], "ERROR");
        assert_eq!(record["traceId"].as_str().map(str::len), Some(32), "correlated with its trace: {record}");
    }
}
