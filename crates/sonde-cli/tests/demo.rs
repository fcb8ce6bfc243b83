//! `sonde demo` serves live metrics on the given address and exits cleanly
//! on SIGTERM.

use std::time::Duration;

use sonde_testkit::{http, poll_until, Hub};

const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

#[test]
fn demo_serves_metrics_and_stops_on_sigterm() {
    let mut demo = Hub::start(SONDE, &["demo", "--listen", "127.0.0.1:0"]);
    let api = demo.addr("metrics").to_owned();
    // The workload records its first request, latency and payload at
    // slightly different moments: wait until every series is there.
    let wanted = [
        "demo_http_requests_total{method=",
        "demo_http_request_duration_seconds_bucket{route=",
        "demo_payload_size_bytes{quantile=\"0.5\"}",
    ];
    let body = poll_until(Duration::from_secs(10), || {
        let body = http::get(&api, "/metrics").text();
        wanted.iter().all(|w| body.contains(w)).then_some(body)
    });
    let body = body.unwrap_or_else(|| http::get(&api, "/metrics").text());
    for w in wanted {
        assert!(body.contains(w), "missing {w} in:\n{body}");
    }
    // A protobuf scrape (as Prometheus with native histograms asks) shows
    // the latency a second time in native buckets.
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
    let reply = http::request(&api, "GET", "/metrics", &[("Accept", accept)], b"");
    let families = sonde_prometheus::decode_protobuf(&reply.body).expect("delimited MetricFamily messages");
    let native =
        families.iter().find(|f| f.name == "demo_http_request_duration_native_seconds").expect("the native one");
    let h = native.metric[0].histogram.as_ref().unwrap();
    assert!(h.sample_count > 0 && !h.positive_span.is_empty() && h.bucket.is_empty(), "{h:?}");
    assert_eq!(native.metric[0].label[0].name, "route");
    // The API is alive too: the workload's traces, with server and child spans.
    let traces = http::get(&api, "/api/traces?limit=5").text();
    assert!(traces.contains("\"trace_id\"") && traces.contains("\"service\":\"sonde-demo\""), "{traces}");
    let id = traces.split("\"trace_id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let trace = http::get(&api, &format!("/api/traces/{id}")).text();
    assert!(trace.contains("db.query") && trace.contains("parentSpanId"), "{trace}");
    // POST traces continue on the mailer thread: a span started there from
    // the request's context joins the same trace, with its event.
    let crossed = poll_until(Duration::from_secs(10), || {
        let posts = http::get(&api, "/api/traces?name=POST&limit=20").text();
        posts.split("\"trace_id\":\"").skip(1).filter_map(|t| t.split('"').next()).find_map(|id| {
            let t = http::get(&api, &format!("/api/traces/{id}")).text();
            (t.contains("email.send") && t.contains("email_sent")).then_some(t)
        })
    })
    .expect("a POST trace reached the mailer");
    assert!(crossed.contains("SPAN_KIND_CONSUMER") || crossed.contains("\"kind\":5"), "{crossed}");

    let (status, _) = demo.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn demo_config_switches_on_push_exporters() {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dir = sonde_testkit::peers::temp_dir("demo-config");
    let config = dir.path().join("sonde.toml");
    std::fs::write(
        &config,
        format!(
            "flush_interval = \"1h\"\n[prometheus]\nlisten = \"127.0.0.1:0\"\n[statsd]\naddress = \"127.0.0.1:{}\"\n[textfile]\npath = \"{}\"\n",
            rx.local_addr().unwrap().port(),
            dir.path().join("demo.prom").display()
        ),
    )
    .unwrap();
    let demo = Hub::start(SONDE, &["demo", "--config", config.to_str().unwrap()]);
    assert!(demo.output().contains("2 push exporter(s) running"), "{}", demo.output());
    // Let the workload record a request before the final flush.
    let api = demo.addr("metrics").to_owned();
    poll_until(Duration::from_secs(10), || {
        http::get(&api, "/metrics").text().contains("demo_http_requests_total{").then_some(())
    })
    .expect("the workload records requests");
    demo.stop();
    // The final flush at shutdown delivered to both exporters.
    let text = std::fs::read_to_string(dir.path().join("demo.prom")).unwrap();
    assert!(text.contains("demo_http_requests_total{"), "{text}");
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 65536];
    let n = rx.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("demo_"), "statsd lines arrived");
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let dir = sonde_testkit::peers::temp_dir("demo-bad");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[statsd]\nsample_rate = 2.0\n").unwrap();
    let out = std::process::Command::new(SONDE).args(["demo", "--config", config.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("statsd.sample_rate"), "{err}");
}
