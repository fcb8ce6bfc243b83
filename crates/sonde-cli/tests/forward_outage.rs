//! Forwarding that survives: the downstream (the OTLP receiver on the
//! official protobuf classes, and VictoriaMetrics for remote write) is down
//! for a minute while spans and samples arrive, and the hub is restarted in
//! the middle of it; once the downstream is back, everything is delivered,
//! in order, from the disk queue. A byte budget smaller than the backlog
//! drops the oldest, counted.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sonde_testkit::hub::sample;
use sonde_testkit::otlp::Receiver;
use sonde_testkit::port::ClosedPort;
use sonde_testkit::process::ChildGuard;
use sonde_testkit::{http, peers, poll_until, statsd, Hub};

const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

/// A trace request of spans `from..to`, span id = index + 1.
fn spans(from: u64, to: u64) -> Vec<u8> {
    let spans = (from..to)
        .map(|n| Span {
            trace_id: [(n / 100 + 1).to_be_bytes(), 7u64.to_be_bytes()].concat(),
            span_id: (n + 1).to_be_bytes().to_vec(),
            name: "outage".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000 + n,
            end_time_unix_nano: 1_700_000_000_000_000_000 + n + 1000,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn post(hub: &Hub, body: &[u8]) {
    let reply = http::post(hub.addr("otlp http"), "/v1/traces", "application/x-protobuf", body);
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn serve(data: &std::path::Path, config: &std::path::Path) -> Hub {
    Hub::serve(SONDE, &["--data-dir", data.to_str().unwrap(), "--config", config.to_str().unwrap()])
}

/// The span ids the receiver accepted, repeats included, as indexes.
fn received_spans(rx: &Receiver) -> Vec<u64> {
    let reply = http::get(&format!("127.0.0.1:{}", rx.http), "/span_ids");
    let ids: Vec<String> = serde_json::from_slice(&reply.body).unwrap_or_default();
    ids.iter().filter_map(|h| u64::from_str_radix(h, 16).ok()).map(|id| id - 1).collect()
}

fn victoria_metrics(port: u16, dir: &std::path::Path) -> Option<ChildGuard> {
    let vm = peers::program("victoria-metrics")?;
    Some(ChildGuard::spawn(
        Command::new(vm)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.display()))
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    ))
}

const SPANS: u64 = 100_000;
const PER_REQUEST: u64 = 500;
const OUTAGE: Duration = Duration::from_secs(60);
const PACE: Duration = Duration::from_millis(1200);

#[test]
fn a_minute_long_outage_and_a_restart_lose_nothing() {
    if peers::python_with("opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc, grpc").is_none()
        || peers::program("victoria-metrics").is_none()
    {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (data, config) = (scratch.path().join("data"), scratch.path().join("hub.toml"));
    // The downstreams' ports, refusing connections until they start.
    let (otlp_http, otlp_grpc, vm_port) = (ClosedPort::bind(), ClosedPort::bind(), ClosedPort::bind());
    std::fs::write(
        &config,
        format!(
            "[otlp]\nendpoint = \"http://127.0.0.1:{}\"\ninterval = \"1s\"\n\
             [remote_write]\nurl = \"http://127.0.0.1:{}/api/v1/write\"\ninterval = \"1s\"\n\
             [hub]\nshutdown_grace = \"2s\"\n",
            otlp_http.port(),
            vm_port.port()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let hub = serve(&data, &config);
    let mut tick = 0u64;
    let mut send_tick = |hub: &Hub| {
        tick += 1;
        statsd::send_udp(hub.addr("statsd udp"), format!("outage.tick:{tick}|g").as_bytes());
    };
    // Half the spans, a sample stream, then a restart, all while down.
    let requests = SPANS / PER_REQUEST;
    for r in 0..requests / 2 {
        post(&hub, &spans(r * PER_REQUEST, (r + 1) * PER_REQUEST));
    }
    while started.elapsed() < OUTAGE / 2 {
        send_tick(&hub);
        // The stream's pace (not a wait for a result): each value is held
        // longer than the 1 s export interval, so every one is sampled.
        std::thread::sleep(PACE);
    }
    let waiting = hub.sample("sonde_forward_queue_items{destination=\"otlp_traces\"}");
    assert_eq!(waiting, (SPANS / 2) as f64, "every span waits in the queue");
    assert!(hub.sample("sonde_forward_queue_age_seconds{destination=\"otlp_traces\"}") > 10.0);
    hub.stop();

    let hub = serve(&data, &config);
    assert_eq!(
        hub.sample("sonde_forward_queue_items{destination=\"otlp_traces\"}"),
        (SPANS / 2) as f64,
        "the queue is back after the restart"
    );
    for r in requests / 2..requests {
        post(&hub, &spans(r * PER_REQUEST, (r + 1) * PER_REQUEST));
    }
    while started.elapsed() < OUTAGE {
        send_tick(&hub);
        std::thread::sleep(PACE);
    }
    let last_tick = tick;

    // The downstream comes back on the same ports.
    let (http_port, grpc_port) = (otlp_http.port(), otlp_grpc.port());
    drop((otlp_http, otlp_grpc));
    let rx = Receiver::start_with(&["--http-port", &http_port.to_string(), "--grpc-port", &grpc_port.to_string()])
        .expect("the receiver's peer was checked above");
    let vm_dir = scratch.path().join("vm");
    let port = vm_port.port();
    drop(vm_port);
    let _vm = victoria_metrics(port, &vm_dir).expect("checked above");

    let got = poll_until(Duration::from_secs(120), || {
        let got = received_spans(&rx);
        (got.iter().collect::<HashSet<_>>().len() as u64 == SPANS).then_some(got)
    })
    .unwrap_or_else(|| received_spans(&rx));
    let distinct: HashSet<u64> = got.iter().copied().collect();
    assert_eq!(distinct.len() as u64, SPANS, "every span delivered ({} received)", got.len());
    assert!(got.len() as u64 - SPANS <= 2 * PER_REQUEST, "repeats only at a resume point: {}", got.len());
    let mut firsts: Vec<u64> = Vec::new();
    for id in got {
        if firsts.last().is_none_or(|last| id > *last) {
            firsts.push(id);
        }
    }
    assert_eq!(firsts.len() as u64, SPANS, "delivered in the order received");

    // The samples of the whole outage reach VictoriaMetrics.
    let vm = format!("127.0.0.1:{port}");
    let query = |promql: &str| -> Option<f64> {
        let reply = http::get(&vm, &format!("/api/v1/query?query={}", http::escape(promql)));
        let v: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let (first, last) = poll_until(Duration::from_secs(60), || {
        let first = query("min_over_time(outage_tick[10m])")?;
        let last = query("max_over_time(outage_tick[10m])")?;
        (last == last_tick as f64).then_some((first, last))
    })
    .unwrap_or_else(|| (query("min_over_time(outage_tick[10m])").unwrap_or(-1.0), -1.0));
    assert_eq!((first, last), (1.0, last_tick as f64), "the first and last samples of the outage");
    let samples = query("count_over_time(outage_tick[10m])").unwrap_or(0.0);
    assert!(samples >= 50.0, "about one sample a second through the outage: {samples}");

    let text = http::get(hub.addr("metrics"), "/metrics").text();
    let delivered = sample(&text, "sonde_forward_delivered_total{destination=\"otlp_traces\"}");
    assert_eq!(delivered, SPANS as f64, "the second hub delivered both halves: {text}");
    assert_eq!(sample(&text, "sonde_forward_queue_items{destination=\"otlp_traces\"}"), 0.0);
    assert_eq!(sample(&text, "sonde_forward_dropped_total{destination=\"otlp_traces\",reason=\"budget\"}"), 0.0);
    hub.stop();
}

#[test]
fn a_budget_smaller_than_the_backlog_drops_the_oldest_counted() {
    if peers::python_with("opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc, grpc").is_none() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (data, config) = (scratch.path().join("data"), scratch.path().join("hub.toml"));
    let (otlp_http, otlp_grpc) = (ClosedPort::bind(), ClosedPort::bind());
    // Three OTLP destinations share 3 MiB: 1 MiB for spans, about 20 B a span.
    std::fs::write(
        &config,
        format!(
            "[otlp]\nendpoint = \"http://127.0.0.1:{}\"\ninterval = \"1h\"\n[forward]\nmax_disk_bytes = \"3MiB\"\n",
            otlp_http.port()
        ),
    )
    .unwrap();
    let hub = serve(&data, &config);
    let total = 200 * PER_REQUEST;
    for r in 0..200 {
        post(&hub, &spans(r * PER_REQUEST, (r + 1) * PER_REQUEST));
    }
    let text = http::get(hub.addr("metrics"), "/metrics").text();
    let dropped = sample(&text, "sonde_forward_dropped_total{destination=\"otlp_traces\",reason=\"budget\"}");
    let queued = sample(&text, "sonde_forward_queued_total{destination=\"otlp_traces\"}");
    let waiting = sample(&text, "sonde_forward_queue_items{destination=\"otlp_traces\"}");
    assert_eq!(queued, total as f64, "{text}");
    assert!(dropped > 0.0 && dropped.rem_euclid(PER_REQUEST as f64) == 0.0, "whole requests dropped: {dropped}");
    assert_eq!(waiting + dropped, queued, "every span waits or was dropped");
    assert!(sample(&text, "sonde_forward_queue_bytes{destination=\"otlp_traces\"}") <= (1 << 20) as f64);

    let (http_port, grpc_port) = (otlp_http.port(), otlp_grpc.port());
    drop((otlp_http, otlp_grpc));
    let rx = Receiver::start_with(&["--http-port", &http_port.to_string(), "--grpc-port", &grpc_port.to_string()])
        .expect("checked above");
    let got = poll_until(Duration::from_secs(60), || {
        let got = received_spans(&rx);
        (got.len() as f64 >= waiting).then_some(got)
    })
    .unwrap_or_else(|| received_spans(&rx));
    assert_eq!(got.len() as f64, waiting, "what waited is delivered");
    assert_eq!(got.first().copied(), Some(dropped as u64), "the oldest were the ones dropped");
    assert_eq!(got.last().copied(), Some(total - 1), "the newest were kept");
    hub.stop();
}
