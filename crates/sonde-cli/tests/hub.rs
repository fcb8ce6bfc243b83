//! `sonde serve` end to end: reference senders (the Python `statsd` client
//! and the OpenTelemetry Python SDK over OTLP/HTTP and OTLP/gRPC) send to
//! the hub; a real Prometheus scrapes it and PromQL returns what was sent;
//! the JSON API returns the spans with their parent links; bad input on
//! every listener is refused with the right status and counted.

#[path = "../../sonde-otlp/tests/support/mod.rs"]
mod otlp_support;
#[path = "support/running.rs"]
mod running;

use otlp_support::peers;
use running::Running;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `sonde serve` on free loopback ports, with `extra` arguments.
fn hub(extra: &[&str]) -> Running {
    Running::serve(env!("CARGO_BIN_EXE_sonde"), extra)
}

/// One HTTP/1.1 exchange: (status, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let status =
        String::from_utf8_lossy(&raw[..split]).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = raw.get(split + 4..).unwrap_or_default().to_vec();
    if String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
    out
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path, &[], b"");
    assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn metrics(addr: &str) -> String {
    String::from_utf8(http(addr, "GET", "/metrics", &[], b"").1).unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn query(prom: &str, promql: &str) -> Option<f64> {
    let q: String = promql
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let (_, body) = http(prom, "GET", &format!("/api/v1/query?query={q}"), &[], b"");
    let v: Value = serde_json::from_slice(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
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
    assert_eq!(http(&api, "GET", "/api/traces/zz", &[], b"").0, 400);
    assert_eq!(http(&api, "GET", &format!("/api/traces/{}", "ab".repeat(16)), &[], b"").0, 404);
    let series = get_json(&api, "/api/series");
    assert!(series["families"].as_array().unwrap().iter().any(|f| f["name"] == "py_hits" && f["kind"] == "counter"));
    assert!(get_json(&api, "/api/snapshot").to_string().contains("latency_seconds"));

    // A real Prometheus scrapes the hub (honor_labels keeps the senders'
    // `job`, as for a Pushgateway) and PromQL returns the values sent.
    let (_prometheus, prom, dir) = peers::start_prometheus(&prometheus, &api, true);
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut got = None;
    while Instant::now() < deadline && got.is_none() {
        std::thread::sleep(Duration::from_millis(500));
        if let (Some(hits), Some(jobs), Some(temp)) = (
            query(&prom, "py_hits_total"),
            query(&prom, "sum(jobs_total{job=\"sonde-test\"})"),
            query(&prom, "max(temperature_celsius)"),
        ) {
            got = Some((hits, jobs, temp));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
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
        let (status, reply) = http(&otlp, "POST", path, headers, body);
        assert_eq!(status, *want, "{path} {headers:?}: {}", String::from_utf8_lossy(&reply));
    }
    assert_eq!(http(&otlp, "GET", "/v1/traces", &[], b"").0, 405);
    // A span with a malformed id is refused inside an accepted request: a
    // partial success, as OTLP prescribes.
    let (status, reply) = http(
        &otlp,
        "POST",
        "/v1/traces",
        &[("Content-Type", "application/json")],
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102030405060708","name":"x"}]}]}]}"#,
    );
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    // Protobuf's JSON mapping allows an int64 as a number or a string.
    let rejected = &reply["partialSuccess"]["rejectedSpans"];
    let rejected = rejected.as_i64().or_else(|| rejected.as_str().and_then(|s| s.parse().ok()));
    assert_eq!((status, rejected), (200, Some(1)), "{reply}");

    // A flood of new label values stops at the cardinality limit.
    let points: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"attributes":[{{"key":"user","value":{{"stringValue":"u{i}"}}}}],"asDouble":1}}"#))
        .collect();
    let flood = format!(
        r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"logins","gauge":{{"dataPoints":[{}]}}}}]}}]}}]}}"#,
        points.join(",")
    );
    let (status, _) = http(&otlp, "POST", "/v1/metrics", &[("Content-Type", "application/json")], flood.as_bytes());
    assert_eq!(status, 200);
    // Hostile StatsD names and values cannot inject series.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"evil\nname{x=\"1\"}:1|c\nok.name:1|c|#tag:\"}\\n", hub.addr("statsd udp")).unwrap();

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
    let findings = sonde_check::check(&text);
    assert!(findings.is_empty(), "the exposition stays valid after hostile input: {findings:?}");
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
    assert_eq!(http(hub.addr("metrics"), "GET", "/api/traces", &[], b"").0, 200, "still serving");
    hub.stop();
}

#[test]
fn statsd_over_udp_and_tcp_lands_in_metrics() {
    let hub = hub(&[]);
    let api = hub.addr("metrics").to_owned();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"hits:1|c\nnot a statsd line\nlat:100|ms|#route:/a\ntemp:5|g\ntemp:-2|g", hub.addr("statsd udp"))
        .unwrap();
    let mut t = TcpStream::connect(hub.addr("statsd tcp")).unwrap();
    t.write_all(b"hits:2|c\nusers:alice|s\nusers:bob|s\n").unwrap();
    drop(t);
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

/// With `[otlp]` configured the hub forwards what it receives: spans as
/// they come, events through the log exporter, metrics (StatsD's included)
/// through the periodic export, and a SIGTERM flushes all three.
#[test]
fn forwards_what_it_receives_and_flushes_on_stop() {
    let Some(rx) = otlp_support::Receiver::start() else { return };
    let Some(python) = peers::python_with("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http") else { return };
    let dir = std::env::temp_dir().join(format!("sonde-hub-fwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("hub.toml");
    // An hour's interval: metrics can only arrive through the final flush.
    std::fs::write(&config, format!("[otlp]\nendpoint = \"{}\"\ninterval = \"1h\"\n", rx.http_url())).unwrap();
    let hub = hub(&["--config", config.to_str().unwrap()]);
    let script = peers::workspace_root().join("tests/peers/otel_sdk_send.py");
    let url = format!("http://{}", hub.addr("otlp http"));
    assert!(Command::new(&python).arg(&script).args([url.as_str(), "http"]).status().unwrap().success());
    let mut t = TcpStream::connect(hub.addr("statsd tcp")).unwrap();
    t.write_all(b"fwd.hits:3|c\n").unwrap();
    drop(t);
    let log = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":17,"body":{"stringValue":"disk full"}}]}]}]}"#;
    assert_eq!(http(hub.addr("otlp http"), "POST", "/v1/logs", &[("Content-Type", "application/json")], log).0, 200);
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
    let logs = serde_json::to_string(&rx.wait_for("logs", 1)).unwrap();
    assert!(logs.contains("disk full"), "{logs}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn timer_buckets_come_from_the_configuration() {
    let dir = std::env::temp_dir().join(format!("sonde-hub-buckets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("hub.toml");
    std::fs::write(&config, "[hub]\ntimer_buckets = [0.1, 1.0]\n").unwrap();
    let hub = hub(&["--config", config.to_str().unwrap()]);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"render:250|ms", hub.addr("statsd udp")).unwrap();
    wait_until("the timer", || metrics(hub.addr("metrics")).contains("render_seconds_count 1"));
    let text = metrics(hub.addr("metrics"));
    assert!(text.contains("render_seconds_bucket{le=\"0.1\"} 0\nrender_seconds_bucket{le=\"1\"} 1\n"), "{text}");
    hub.stop();
    std::fs::remove_dir_all(&dir).ok();
}
