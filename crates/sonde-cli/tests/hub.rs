//! `sonde serve` end to end: reference senders (the Python `statsd` client
//! and the OpenTelemetry Python SDK over OTLP/HTTP and OTLP/gRPC) send to
//! the hub; a real Prometheus scrapes it and PromQL returns what was sent;
//! the JSON API returns the spans with their parent links; bad input on
//! every listener is refused with the right status and counted.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sonde_testkit::http::{self, get_json};
use sonde_testkit::otlp::{self as otlp_support};
use sonde_testkit::peers::{self, Prometheus};
use sonde_testkit::{poll_until, statsd, Hub};

/// `sonde serve` on free loopback ports, with `extra` arguments.
fn hub(extra: &[&str]) -> Hub {
    Hub::serve(env!("CARGO_BIN_EXE_sonde"), extra)
}

fn metrics(addr: &str) -> String {
    http::get(addr, "/metrics").text()
}

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    sonde_testkit::wait_until(Duration::from_secs(20), what, f)
}

#[test]
fn reference_senders_reach_prometheus_and_the_api() {
    let Some(python) = peers::python_with("statsd, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc") else {
        return;
    };
    let Some(prometheus) = peers::program("prometheus") else { return };
    let hub = hub(&[]);
    let api = hub.addr("metrics").to_owned();
    let statsd_port = hub.addr("statsd udp").rsplit(':').next().unwrap().to_owned();
    let script = peers::workspace_root().join("tests/peers/otel_sdk_send.py");

    // The Python statsd client: 5 increments, a gauge, a timing.
    let sent = Command::new(&python)
        .args([
            "-c",
            &format!(
                "import statsd\nc = statsd.StatsClient('127.0.0.1', {statsd_port}, prefix='py')\n\
             [c.incr('hits') for _ in range(5)]\nc.gauge('depth', 7)\nc.timing('work', 250)\n"
            ),
        ])
        .status()
        .unwrap();
    assert!(sent.success());
    // The OpenTelemetry SDK, once over each transport.
    let http_url = format!("http://{}", hub.addr("otlp http"));
    let grpc_url = format!("http://{}", hub.addr("otlp grpc"));
    for (url, transport) in [(&http_url, "http"), (&grpc_url, "grpc")] {
        assert!(Command::new(&python).arg(&script).args([url.as_str(), transport]).status().unwrap().success());
    }

    wait_until("statsd lines", || metrics(&api).contains("py_hits_total 5"));
    let text = metrics(&api);
    assert!(text.contains("py_depth 7"), "{text}");
    assert!(text.contains("py_work_seconds_count 1"), "{text}");
    assert_eq!(text.matches("\njobs_total{").count(), 2, "one series per sending process: {text}");

    // Spans come back from the API with their parent links.
    let traces = get_json(&api, "/api/traces");
    let list = traces["traces"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{traces}");
    for t in list {
        assert_eq!(
            (t["name"].as_str(), t["spans"].as_u64(), t["error"].as_bool()),
            (Some("handle"), Some(2), Some(true))
        );
        let detail = get_json(&api, &format!("/api/traces/{}", t["trace_id"].as_str().unwrap()));
        let spans = detail["spans"].as_array().unwrap();
        let root = spans.iter().find(|s| s["span"]["name"] == "handle").unwrap();
        let child = spans.iter().find(|s| s["span"]["name"] == "query").unwrap();
        assert_eq!(child["span"]["parentSpanId"], root["span"]["spanId"], "{detail}");
        assert_eq!(child["span"]["traceId"], t["trace_id"]);
        assert_eq!(root["service"], "sonde-test");
    }
    let slowest = get_json(&api, "/api/traces?order=slowest&limit=1");
    assert_eq!(slowest["traces"].as_array().unwrap().len(), 1);
    assert_eq!(http::request(&api, "GET", "/api/traces/zz", &[], b"").status, 400);
    assert_eq!(http::request(&api, "GET", &format!("/api/traces/{}", "ab".repeat(16)), &[], b"").status, 404);
    let series = get_json(&api, "/api/series");
    assert!(series["families"].as_array().unwrap().iter().any(|f| f["name"] == "py_hits" && f["kind"] == "counter"));
    assert!(get_json(&api, "/api/snapshot").to_string().contains("latency_seconds"));

    // A real Prometheus scrapes the hub (honor_labels keeps the senders'
    // `job`, as for a Pushgateway) and PromQL returns the values sent.
    let prom = Prometheus::start(&prometheus, &api, true, &[]);
    let got = poll_until(Duration::from_secs(45), || {
        Some((
            prom.query_value("py_hits_total")?,
            prom.query_value("sum(jobs_total{job=\"sonde-test\"})")?,
            prom.query_value("max(temperature_celsius)")?,
        ))
    });
    assert_eq!(got, Some((5.0, 6.0, 21.5)), "PromQL over the hub");
    hub.stop();
}

#[test]
fn bad_input_is_refused_counted_and_survived() {
    let hub = hub(&[]);
    let (api, otlp) = (hub.addr("metrics").to_owned(), hub.addr("otlp http").to_owned());
    let proto = [("Content-Type", "application/x-protobuf")];
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        ("/v1/traces", vec![("Content-Type", "text/plain")], b"hello".to_vec(), 415),
        ("/v1/traces", proto.to_vec(), vec![0x0a, 0xff, 0xff, 0xff, 0x0f], 400), // truncated
        ("/v1/metrics", vec![("Content-Type", "application/json")], b"{\"resourceMetrics\": 7}".to_vec(), 400),
        (
            "/v1/logs",
            vec![("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")],
            b"not gzip".to_vec(),
            400,
        ),
        ("/v1/logs", vec![("Content-Type", "application/x-protobuf"), ("Content-Encoding", "zstd")], vec![], 415),
        ("/v1/traces", proto.to_vec(), vec![0u8; 9 << 20], 413),
        ("/v1/nothing", proto.to_vec(), vec![], 404),
    ];
    for (path, headers, body, want) in &cases {
        let reply = http::request(&otlp, "POST", path, headers, body);
        assert_eq!(reply.status, *want, "{path} {headers:?}: {}", reply.text());
    }
    assert_eq!(http::request(&otlp, "GET", "/v1/traces", &[], b"").status, 405);
    // A span with a malformed id is refused inside an accepted request: a
    // partial success, as OTLP prescribes.
    let reply = http::request(
        &otlp,
        "POST",
        "/v1/traces",
        &[("Content-Type", "application/json")],
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102030405060708","name":"x"}]}]}]}"#,
    );
    let status = reply.status;
    let reply: Value = reply.json();
    // Protobuf's JSON mapping allows an int64 as a number or a string.
    let rejected = &reply["partialSuccess"]["rejectedSpans"];
    let rejected = rejected.as_i64().or_else(|| rejected.as_str().and_then(|s| s.parse().ok()));
    assert_eq!((status, rejected), (200, Some(1)), "{reply}");
    // The message names the counter that holds the refusal.
    let message = reply["partialSuccess"]["errorMessage"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("sonde_hub_rejected_total{signal=\"traces\"}"), "{message}");

    // A flood of new label values stops at the cardinality limit.
    let points: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"attributes":[{{"key":"user","value":{{"stringValue":"u{i}"}}}}],"asDouble":1}}"#))
        .collect();
    let flood = format!(
        r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"logins","gauge":{{"dataPoints":[{}]}}}}]}}]}}]}}"#,
        points.join(",")
    );
    let status = http::post(&otlp, "/v1/metrics", "application/json", flood.as_bytes()).status;
    assert_eq!(status, 200);
    // Hostile StatsD names and values cannot inject series.
    statsd::send_udp(hub.addr("statsd udp"), b"evil\nname{x=\"1\"}:1|c\nok.name:1|c|#tag:\"}\\n");

    wait_until("the statsd datagram", || metrics(&api).contains("ok_name_total"));
    let text = metrics(&api);
    for counted in [
        "sonde_hub_rejected_total{signal=\"traces\",reason=\"unsupported_media_type\"} 1",
        "sonde_hub_rejected_total{signal=\"traces\",reason=\"bad_message\"} 1",
        "sonde_hub_rejected_total{signal=\"traces\",reason=\"too_large\"} 1",
        "sonde_hub_rejected_total{signal=\"traces\",reason=\"bad_ids\"} 1",
        "sonde_hub_rejected_total{signal=\"metrics\",reason=\"bad_message\"} 1",
        "sonde_hub_rejected_total{signal=\"logs\",reason=\"bad_gzip\"} 1",
        "sonde_hub_rejected_total{signal=\"logs\",reason=\"unsupported_encoding\"} 1",
        "sonde_cardinality_overflow_total{metric=\"logins\"}",
    ] {
        assert!(text.contains(counted), "missing {counted}");
    }
    let logins = text.lines().filter(|l| l.starts_with("logins{")).count();
    assert!(logins <= 10_001, "{logins} series: the limit (10,000) plus the overflow series");
    // StatsD brings no help text (a promtool lint); nothing may be invalid.
    let findings = sonde_check::check(&text);
    assert!(!sonde_check::has_errors(&findings), "the exposition stays valid after hostile input: {findings:?}");
    assert!(hub.rss_bytes() < 300 << 20, "RSS {} MB", hub.rss_bytes() >> 20);
    hub.stop();
}

#[test]
fn grpc_garbage_gets_a_grpc_error_and_the_hub_keeps_serving() {
    let Some(python) = peers::python_with("grpc") else { return };
    let hub = hub(&[]);
    let probe = format!(
        "import grpc\nch = grpc.insecure_channel('{}')\n\
         call = ch.unary_unary('/opentelemetry.proto.collector.trace.v1.TraceService/Export')\n\
         for body in [b'\\x0a\\xff\\xff\\xff\\x0f', b'\\x0a' * (33 << 20)]:\n\
         \x20   try:\n        call(body, timeout=20)\n        print('OK')\n\
         \x20   except grpc.RpcError as e:\n        print(e.code().name)\n",
        hub.addr("otlp grpc")
    );
    let out = Command::new(python).args(["-c", &probe]).output().unwrap();
    let codes: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(codes.len(), 2, "{codes:?}: {stderr}");
    assert!(["INTERNAL", "INVALID_ARGUMENT"].contains(&codes[0].as_str()), "truncated: {codes:?}: {stderr}");
    assert_eq!(codes[1], "RESOURCE_EXHAUSTED", "over the 32 MiB limit: {stderr}");
    assert_eq!(http::request(hub.addr("metrics"), "GET", "/api/traces", &[], b"").status, 200, "still serving");
    hub.stop();
}

#[test]
fn statsd_over_udp_and_tcp_lands_in_metrics() {
    let hub = hub(&[]);
    let api = hub.addr("metrics").to_owned();
    statsd::send_udp(hub.addr("statsd udp"), b"hits:1|c\nnot a statsd line\nlat:100|ms|#route:/a\ntemp:5|g\ntemp:-2|g");
    statsd::send_tcp(hub.addr("statsd tcp"), b"hits:2|c\nusers:alice|s\nusers:bob|s\n");
    wait_until("both transports", || {
        let body = metrics(&api);
        body.contains("hits_total 3") && body.contains("users 2")
    });
    let body = metrics(&api);
    assert!(body.contains("lat_seconds_count{route=\"/a\"} 1"), "{body}");
    assert!(body.contains("temp 3"), "signed gauge delta: {body}");
    assert!(body.contains("sonde_statsd_rejected_total{reason=\"no_value\"} 1"), "{body}");
    assert!(body.contains("sonde_statsd_received_total 8"), "{body}");
    hub.stop();
}

/// DogStatsD events and service checks land as events and gauges; metrics
/// sent without a description get a generated HELP line, so the hub's
/// whole exposition passes `promtool check metrics` with no lint finding.
#[test]
fn dogstatsd_events_checks_and_a_clean_promtool_lint() {
    let hub = hub(&[]);
    let api = hub.addr("metrics").to_owned();
    statsd::send_udp(
        hub.addr("statsd udp"),
        b"_e{13,20}:deploy failed|rollback to v1\\ndone|t:error|p:low|h:web-1|#env:prod\n\
          _sc|payments.db|2|h:db-1|#env:prod|m:replica lag\nqueue.depth:4|g\nbytes.sent:10|c",
    );
    let gauge = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"pool.size","gauge":{"dataPoints":[{"asInt":3}]}}]}]}]}"#;
    assert_eq!(http::post(hub.addr("otlp http"), "/v1/metrics", "application/json", gauge).status, 200);
    wait_until("the datagram", || metrics(&api).contains("bytes_sent_total 10"));
    let text = metrics(&api);
    assert!(text.contains("payments_db{env=\"prod\",host=\"db-1\"} 2"), "{text}");
    // Items, not requests, for every signal: four lines, one point.
    assert!(text.contains("sonde_hub_received_total{signal=\"metrics\",transport=\"statsd/udp\"} 4"), "{text}");
    assert!(text.contains("sonde_hub_received_total{signal=\"metrics\",transport=\"http/json\"} 1"), "{text}");
    let events = get_json(&api, "/api/events?q=rollback");
    let found = &events["events"][0];
    assert_eq!(
        (found["name"].as_str(), found["severity"].as_str()),
        (Some("deploy failed"), Some("ERROR")),
        "{events}"
    );
    assert_eq!(found["fields"]["text"], "rollback to v1\ndone", "{events}");
    assert_eq!(found["labels"]["env"], "prod", "{events}");

    if let Some(verdict) = sonde_testkit::exposition::promtool_check(&text) {
        assert_eq!(verdict.code, 0, "promtool check metrics on the hub's /metrics: {}", verdict.report);
    }
    hub.stop();
}

/// With `[otlp]` configured the hub forwards what it receives: spans as
/// they come, events through the log exporter, metrics (StatsD's included)
/// through the periodic export, and a SIGTERM flushes all three.
#[test]
fn forwards_what_it_receives_and_flushes_on_stop() {
    let Some(rx) = otlp_support::Receiver::start() else { return };
    let Some(python) = peers::python_with("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http") else { return };
    let dir = peers::temp_dir("hub-fwd");
    let config = dir.path().join("hub.toml");
    // An hour's interval: metrics can only arrive through the final flush.
    // StatsD timers become native histograms: they go out as exponential ones.
    let toml =
        format!("[otlp]\nendpoint = \"{}\"\ninterval = \"1h\"\n[hub]\ntimer_histogram = \"native\"\n", rx.http_url());
    std::fs::write(&config, toml).unwrap();
    let hub = hub(&["--config", config.to_str().unwrap()]);
    let script = peers::workspace_root().join("tests/peers/otel_sdk_send.py");
    let url = format!("http://{}", hub.addr("otlp http"));
    assert!(Command::new(&python).arg(&script).args([url.as_str(), "http"]).status().unwrap().success());
    statsd::send_tcp(hub.addr("statsd tcp"), b"fwd.hits:3|c\nfwd.render:25|ms\n");
    let log = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":17,"body":{"stringValue":"disk full"}}]}]}]}"#;
    assert_eq!(http::post(hub.addr("otlp http"), "/v1/logs", "application/json", log).status, 200);
    wait_until("the statsd line", || metrics(hub.addr("metrics")).contains("fwd_hits_total 3"));
    hub.stop();

    let names: Vec<String> = otlp_support::spans_of(&rx.wait_for("traces", 1))
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(names.contains(&"handle".to_owned()) && names.contains(&"query".to_owned()), "{names:?}");
    let metrics_out = rx.wait_for("metrics", 1);
    let text = serde_json::to_string(&metrics_out).unwrap();
    assert!(text.contains("\"fwd_hits\"") && text.contains("\"jobs\""), "StatsD and OTLP metrics forwarded: {text}");
    let native = metrics_out
        .iter()
        .flat_map(|b| b["resourceMetrics"].as_array().cloned().unwrap_or_default())
        .flat_map(|rm| rm["scopeMetrics"].as_array().cloned().unwrap_or_default())
        .flat_map(|sm| sm["metrics"].as_array().cloned().unwrap_or_default())
        .find(|m| m["name"] == "fwd_render_seconds")
        .unwrap_or_else(|| panic!("the native timer forwarded: {text}"));
    assert_eq!(native["exponentialHistogram"]["dataPoints"][0]["count"], "1", "{native}");
    let logs = serde_json::to_string(&rx.wait_for("logs", 1)).unwrap();
    assert!(logs.contains("disk full"), "{logs}");
}

#[test]
fn timer_buckets_come_from_the_configuration() {
    let dir = peers::temp_dir("hub-buckets");
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "[hub]\ntimer_buckets = [0.1, 1.0]\n").unwrap();
    let hub = hub(&["--config", config.to_str().unwrap()]);
    statsd::send_udp(hub.addr("statsd udp"), b"render:250|ms");
    wait_until("the timer", || metrics(hub.addr("metrics")).contains("render_seconds_count 1"));
    let text = metrics(hub.addr("metrics"));
    assert!(text.contains("render_seconds_bucket{le=\"0.1\"} 0\nrender_seconds_bucket{le=\"1\"} 1\n"), "{text}");
    hub.stop();
}

/// The SDK's exported point as native data (OTLP bucket `i` is Prometheus'
/// bucket `i + 1`).
fn sdk_point(p: &Value) -> sonde::NativeHistogramSnapshot {
    let run = |b: &Value| sonde::ExponentialBuckets {
        offset: b["offset"].as_i64().unwrap() as i32 + 1,
        counts: b["bucket_counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect(),
    };
    let mut n = sonde::NativeHistogramSnapshot::empty(p["scale"].as_i64().unwrap() as i8, 0.0);
    n.count = p["count"].as_u64().unwrap();
    n.sum = p["sum"].as_f64().unwrap();
    n.zero_count = p["zero_count"].as_u64().unwrap();
    n.positive = run(&p["positive"]);
    n.negative = run(&p["negative"]);
    n.positive.trim();
    n.negative.trim();
    n
}

/// `(index, count)` of every counted bucket of Prometheus' span form.
fn from_spans(spans: &[sonde_prometheus::client::BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let spans: Vec<(i32, u32)> = spans.iter().map(|s| (s.offset, s.length)).collect();
    counted(&sonde::ExponentialBuckets::from_spans(&spans, deltas).expect("well-formed spans"))
}

fn counted(b: &sonde::ExponentialBuckets) -> Vec<(i32, u64)> {
    b.iter().filter(|&(_, c)| c > 0).collect()
}

#[test]
fn exponential_histograms_from_the_reference_sdk_arrive_bucket_for_bucket() {
    let Some(python) = peers::python_with("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc") else {
        return;
    };
    let hub = hub(&[]);
    let api = hub.addr("metrics").to_owned();
    let script = peers::workspace_root().join("tests/peers/otel_sdk_exponential.py");
    for (transport, addr) in [("http", "otlp http"), ("grpc", "otlp grpc")] {
        let service = format!("exp-{transport}");
        let url = format!("http://{}", hub.addr(addr));
        let out =
            Command::new(&python).arg(&script).args([url.as_str(), transport, service.as_str()]).output().unwrap();
        assert!(out.status.success(), "the SDK failed: {}", String::from_utf8_lossy(&out.stderr));
        let sent = sdk_point(&serde_json::from_slice(&out.stdout).unwrap());
        assert!(sent.positive.counts.len() > 20 && sent.zero_count == 1, "{sent:?}");

        // A protobuf scrape of the hub: the same native histogram.
        let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
        let scraped = poll_until(Duration::from_secs(20), || {
            let reply = http::request(&api, "GET", "/metrics", &[("Accept", accept)], b"");
            let families = sonde_prometheus::decode_protobuf(&reply.body).ok()?;
            let family = families.into_iter().find(|f| f.name == "rpc_duration_seconds")?;
            family.metric.into_iter().find(|m| m.label.iter().any(|l| l.name == "job" && l.value == service))
        });
        let metric = scraped.unwrap_or_else(|| panic!("{transport}: no native series in the hub's protobuf scrape"));
        let h = metric.histogram.unwrap();
        let mut want = sent.clone();
        want.downscale_to(8);
        assert_eq!((h.sample_count, h.zero_count, h.schema), (sent.count, sent.zero_count, i32::from(want.schema)));
        assert!((h.sample_sum - sent.sum).abs() <= 1e-12 * sent.sum.abs(), "{transport}: sum");
        assert_eq!(from_spans(&h.positive_span, &h.positive_delta), counted(&want.positive), "{transport}");
        assert_eq!(from_spans(&h.negative_span, &h.negative_delta), counted(&want.negative), "{transport}");

        // The JSON API serves the same buckets.
        let doc = get_json(&api, "/api/snapshot?family=rpc_duration_seconds");
        let entry = doc["metrics"]
            .as_object()
            .unwrap()
            .values()
            .find(|m| m["labels"]["job"] == service.as_str())
            .unwrap_or_else(|| panic!("{doc}"))
            .clone();
        let native = &entry["value"]["native"];
        assert_eq!(native["schema"], i64::from(sent.schema), "{transport}: the hub keeps the SDK's scale");
        assert_eq!(native["zero_count"], sent.zero_count);
        assert_eq!(native["positive"]["offset"], sent.positive.offset);
        assert_eq!(native["positive"]["counts"], serde_json::json!(sent.positive.counts), "{transport}");
        assert_eq!(entry["value"]["count"], sent.count);
    }
    hub.stop();
}

#[test]
fn statsd_timers_can_become_native_histograms() {
    let dir = peers::temp_dir("hub-native-timers");
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "[hub]\ntimer_histogram = \"native\"\n").unwrap();
    let hub = hub(&["--config", config.to_str().unwrap()]);
    statsd::send_udp(hub.addr("statsd udp"), b"render:250|ms\nrender:4|ms\nrender:0|ms");
    wait_until("the timer", || metrics(hub.addr("metrics")).contains("render_seconds_count 3"));
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
    let reply = http::request(hub.addr("metrics"), "GET", "/metrics", &[("Accept", accept)], b"");
    let families = sonde_prometheus::decode_protobuf(&reply.body).unwrap();
    let h = families.iter().find(|f| f.name == "render_seconds").unwrap().metric[0].histogram.clone().unwrap();
    // 4 ms to 250 ms span 6 powers of two: 1,536 buckets at schema 8, 96 at
    // schema 4, the finest within 160 (the limit counts the range in use, as
    // OpenTelemetry's max_size does).
    assert_eq!((h.sample_count, h.zero_count, h.schema), (3, 1, 4));
    let want: Vec<(i32, u64)> = [0.004, 0.25].iter().map(|&v| (sonde::exponential::bucket_index(v, 4), 1)).collect();
    assert_eq!(from_spans(&h.positive_span, &h.positive_delta), want);
    assert!(h.bucket.is_empty(), "native only: no classic buckets");
    hub.stop();
}
