//! `sonde serve` against hostile and careless clients, on loopback, each
//! case bounded in time and bytes: the figure that matters is asserted
//! (resident memory within its budget plus a stated margin, counts of what
//! was refused, answers that keep coming, a stop within its grace).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use sonde_otlp::proto::collector::logs::v1::ExportLogsServiceRequest;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::proto::common::v1::{any_value, AnyValue, KeyValue};
use sonde_otlp::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use sonde_otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use sonde_testkit::hub::sample;
use sonde_testkit::peers::TempDir;
use sonde_testkit::{http, peers, poll_until, statsd, wait_until, Hub};

const SONDE: &str = env!("CARGO_BIN_EXE_sonde");
const MIB: u64 = 1 << 20;

/// `sonde serve` with `config` (TOML) on free loopback ports; the
/// directory holding the config goes when dropped.
fn hub(config: &str) -> (Hub, TempDir) {
    let dir = peers::temp_dir("hostile");
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, config).unwrap();
    (Hub::serve(SONDE, &["--config", path.to_str().unwrap()]), dir)
}

fn metrics(hub: &Hub) -> String {
    http::get(hub.addr("metrics"), "/metrics").text()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn post_gzip(addr: &str, path: &str, body: &[u8]) -> http::Reply {
    let gz = gzip(body);
    http::request(addr, "POST", path, &[("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")], &gz)
}

fn text(s: String) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn span(n: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: [n.to_be_bytes(), 9u64.to_be_bytes()].concat(),
        span_id: (n + 1).to_be_bytes().to_vec(),
        name: "hostile".into(),
        attributes,
        ..Default::default()
    }
}

fn big_attributes(count: usize, size: usize, seed: u64) -> Vec<KeyValue> {
    (0..count)
        .map(|i| KeyValue {
            key: format!("k{i}"),
            value: text(format!("{seed}{}", "x".repeat(size))),
            ..Default::default()
        })
        .collect()
}

/// A few kilobytes of gzip that would decode into gigabytes (millions of
/// empty attributes) are priced and refused before decoding; large spans
/// that are accepted are cut to 128 attributes of 4 KiB and kept within the
/// trace store's byte budget. Resident memory stays within budget + margin.
#[test]
fn amplifying_span_requests_stay_within_the_budget() {
    let (hub, _dir) = hub("[hub]\ntrace_bytes = \"16MiB\"\nhistory_bytes = 0\n");
    let otlp = hub.addr("otlp http").to_owned();
    let before = hub.rss_bytes();
    // 4 million empty attributes: 8 MB of protobuf, about 20 KB of gzip.
    let bomb = traces(vec![span(1, vec![KeyValue::default(); 4_000_000])]).encode_to_vec();
    assert!(gzip(&bomb).len() < 64 << 10, "{} bytes of gzip", gzip(&bomb).len());
    for _ in 0..2 {
        let reply = post_gzip(&otlp, "/v1/traces", &bomb);
        assert_eq!(reply.status, 413, "{}", reply.text());
    }
    // 80 requests of 10 spans with 300 attributes of 8 KiB each: 2 GB if
    // kept as sent; cut to 128 x 4 KiB and held within 16 MiB.
    for batch in 0..80u64 {
        let spans = (0..10).map(|i| span(batch * 100 + i, big_attributes(300, 8192, batch * 100 + i))).collect();
        let reply = post_gzip(&otlp, "/v1/traces", &traces(spans).encode_to_vec());
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let text = metrics(&hub);
    assert_eq!(
        sample(&text, "sonde_hub_rejected_total{signal=\"traces\",reason=\"too_large_decoded\"}"),
        2.0,
        "{text}"
    );
    assert!(sample(&text, "sonde_trace_store_bytes") <= (16 * MIB) as f64);
    assert!(sample(&text, "sonde_trace_store_spans_evicted_total") > 0.0);
    assert_eq!(sample(&text, "sonde_hub_trimmed_total{signal=\"traces\",what=\"attributes\"}"), 800.0 * 172.0);
    let grown = hub.rss_bytes().saturating_sub(before);
    // Budget 16 MiB; margin: two requests being decoded (2 x 64 MiB at most)
    // and allocator slack.
    assert!(grown < 200 * MIB, "resident memory grew by {} MiB", grown / MIB);
    hub.stop();
}

/// Log records with 128 large attributes each: the event log keeps its
/// byte budget, and `/api/events?limit=1000` answers at most 8 MiB.
#[test]
fn large_log_records_stay_within_the_event_budget() {
    let (hub, _dir) = hub("[hub]\nevent_bytes = \"16MiB\"\nhistory_bytes = 0\n");
    let otlp = hub.addr("otlp http").to_owned();
    let before = hub.rss_bytes();
    for batch in 0..40u64 {
        let records = (0..50)
            .map(|i| LogRecord {
                body: text(format!("record {batch}-{i}")),
                attributes: big_attributes(128, 4000, i),
                ..Default::default()
            })
            .collect();
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
                ..Default::default()
            }],
        };
        assert_eq!(post_gzip(&otlp, "/v1/logs", &request.encode_to_vec()).status, 200);
    }
    let text = metrics(&hub);
    assert!(sample(&text, "sonde_events_bytes") <= (16 * MIB) as f64, "{text}");
    assert!(sample(&text, "sonde_events_evicted_total") > 0.0);
    let answer = http::get(hub.addr("metrics"), "/api/events?limit=1000");
    assert_eq!(answer.status, 200);
    assert!(answer.body.len() as u64 <= 9 * MIB, "{} bytes", answer.body.len());
    assert_eq!(answer.json()["truncated"], true);
    let grown = hub.rss_bytes().saturating_sub(before);
    assert!(grown < 200 * MIB, "resident memory grew by {} MiB", grown / MIB);
    hub.stop();
}

/// 50,000 new StatsD series against a hub holding at most 20,000: the rest
/// are refused (to their families' overflow series) and counted.
#[test]
fn a_series_flood_stops_at_max_series() {
    let (hub, _dir) = hub("[hub]\nmax_series = 20000\nhistory_bytes = 0\n");
    let mut lines = String::new();
    for i in 0..50_000 {
        lines.push_str(&format!("flood.m{}:1|c|#user:u{i}\n", i % 10));
    }
    statsd::send_tcp(hub.addr("statsd tcp"), lines.as_bytes());
    wait_until(Duration::from_secs(60), "every line received", || {
        sample(&metrics(&hub), "sonde_statsd_received_total") >= 50_000.0
    });
    let text = metrics(&hub);
    let refused = sample(&text, "sonde_series_refused_total");
    let series = sample(&text, "sonde_series");
    assert!(refused >= 29_000.0, "refused {refused}");
    assert!(series <= 20_100.0, "series {series}: the limit, the hub's own and the overflow series");
    // Their memory is reported (label keys, cells and index: 104 bytes for
    // these counters), and stays under the per-series figure the docs state.
    let bytes = sample(&text, "sonde_series_bytes");
    assert!(bytes > series * 80.0 && bytes < series * 425.0, "{bytes} bytes for {series} series");
    hub.stop();
}

/// Decode-heavy uploads and twenty live streams asking for ids that never
/// appear: `/metrics` keeps answering (every scrape within 2 s; it took 5
/// to 10 s when decoding ran on the serving runtime and streams expanded
/// every family each tick).
#[test]
fn metrics_keep_answering_under_decode_and_stream_load() {
    let (hub, _dir) = hub("[hub]\nhistory_bytes = 0\n");
    let (otlp, api) = (hub.addr("otlp http").to_owned(), hub.addr("metrics").to_owned());
    // 100,000 series for the streams to (not) look through.
    let mut lines = String::new();
    for i in 0..100_000 {
        lines.push_str(&format!("many.m{}:1|g|#n:{i}\n", i % 20));
    }
    statsd::send_tcp(hub.addr("statsd tcp"), lines.as_bytes());
    wait_until(Duration::from_secs(60), "the series", || sample(&metrics(&hub), "sonde_series") >= 100_000.0);
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for t in 0..2u64 {
        let (otlp, stop) = (otlp.clone(), stop.clone());
        let body =
            traces((0..2000).map(|i| span(t * 10_000 + i, big_attributes(40, 200, i))).collect()).encode_to_vec();
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                post_gzip(&otlp, "/v1/traces", &body);
            }
        }));
    }
    let ids =
        http::escape(&serde_json::to_string(&(0..1000).map(|i| format!("missing_{i}")).collect::<Vec<_>>()).unwrap());
    let streams: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&api).unwrap();
            write!(s, "GET /api/stream?ids={ids} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s
        })
        .collect();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(http::get(&api, "/metrics").status, 200);
        worst = worst.max(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    load.into_iter().for_each(|t| t.join().unwrap());
    drop(streams);
    assert!(worst < Duration::from_secs(2), "the slowest scrape took {worst:?}");
    println!("slowest /metrics under load: {worst:?}");
    hub.stop();
}

/// Silent connections (no request, or a request's headers never finished)
/// are closed after the header timeout, on every port, and the hub's
/// descriptors come back down.
#[test]
fn silent_connections_are_closed() {
    let (hub, _dir) = hub("[hub]\nheader_timeout = \"1s\"\nidle_timeout = \"2s\"\n");
    let baseline = hub.process.open_fds();
    let mut held = Vec::new();
    for what in ["metrics", "otlp http", "otlp grpc", "statsd tcp"] {
        for i in 0..150 {
            let mut s = TcpStream::connect(hub.addr(what)).unwrap();
            if i % 2 == 0 && what != "statsd tcp" {
                let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"); // never finished
            }
            held.push(s);
        }
    }
    wait_until(Duration::from_secs(30), "silent connections closed", || hub.process.open_fds() <= baseline + 5);
    // The closed connections read EOF, and the hub still answers.
    let mut probe = held.remove(0);
    probe.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(probe.read(&mut [0u8; 16]).unwrap_or(0), 0);
    assert_eq!(http::get(hub.addr("metrics"), "/metrics").status, 200);
    hub.stop();
}

/// Connections beyond a listener's cap are closed at once and counted.
#[test]
fn connections_beyond_the_cap_are_refused_and_counted() {
    let (hub, _dir) = hub("[hub]\nheader_timeout = \"60s\"\nmax_connections = 20\nmax_statsd_connections = 10\n");
    let mut held = Vec::new();
    for what in ["otlp http", "otlp grpc"] {
        for _ in 0..60 {
            held.push(TcpStream::connect(hub.addr(what)).unwrap());
        }
    }
    for _ in 0..30 {
        held.push(TcpStream::connect(hub.addr("statsd tcp")).unwrap());
    }
    let refused =
        |t: &str, listener: &str| sample(t, &format!("sonde_hub_connections_refused_total{{listener=\"{listener}\"}}"));
    wait_until(Duration::from_secs(20), "every connection accepted or refused", || {
        let t = metrics(&hub);
        refused(&t, "otlp_http") >= 40.0 && refused(&t, "otlp_grpc") >= 40.0 && refused(&t, "statsd") >= 20.0
    });
    let t = metrics(&hub);
    assert_eq!((refused(&t, "otlp_http"), refused(&t, "otlp_grpc"), refused(&t, "statsd")), (40.0, 40.0, 20.0), "{t}");
    assert_eq!(sample(&t, "sonde_hub_connections{listener=\"otlp_http\"}"), 20.0);
    drop(held);
    hub.stop();
}

/// With `[hub.auth]`, every route of every HTTP port answers 401 without the
/// credential or with a wrong one, and normally with it; gRPC calls need it
/// in their metadata; the OpenTelemetry SDK sends with it over both.
#[test]
fn auth_covers_every_route_and_the_sdk_sends_with_it() {
    let dir = peers::temp_dir("auth");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let (hub, _config) = hub(&format!("[hub.auth]\nbearer_token_file = \"{}\"\n", token_file.display()));
    let api = hub.addr("metrics").to_owned();
    let otlp = hub.addr("otlp http").to_owned();
    let good = [("Authorization", "Bearer s3cret-token")];
    let routes = [
        "/metrics",
        "/",
        "/assets/app.js",
        "/api/series",
        "/api/snapshot",
        "/api/samples",
        "/api/history?id=x",
        "/api/views",
        "/api/traces",
        "/api/events",
        "/api/traces/0af7651916cd43dd8448eb211c80319c",
    ];
    for path in routes {
        for bad in
            [&[][..], &[("Authorization", "Bearer wrong")][..], &[("Authorization", "Basic czNjcmV0LXRva2Vu")][..]]
        {
            let reply = http::request(&api, "GET", path, bad, b"");
            assert_eq!(reply.status, 401, "{path} with {bad:?}");
            assert!(reply.header("www-authenticate").is_some_and(|c| c.starts_with("Bearer")), "{path}");
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
        }
        let reply = http::request(&api, "GET", path, &good, b"");
        assert!(reply.status == 200 || reply.status == 404, "{path}: {}", reply.status);
    }
    let empty = ExportTraceServiceRequest::default().encode_to_vec();
    let proto = ("Content-Type", "application/x-protobuf");
    assert_eq!(http::request(&otlp, "POST", "/v1/traces", &[proto], &empty).status, 401);
    assert_eq!(http::request(&otlp, "POST", "/v1/traces", &[proto, good[0]], &empty).status, 200);

    let Some(python) = peers::python_with("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, grpc") else {
        return;
    };
    let probe = format!(
        "import grpc\nch = grpc.insecure_channel('{}')\n\
         call = ch.unary_unary('/opentelemetry.proto.collector.trace.v1.TraceService/Export')\n\
         for md in [(), (('authorization', 'Bearer wrong'),), (('authorization', 'Bearer s3cret-token'),)]:\n\
         \x20   try:\n        call(b'', metadata=md, timeout=10)\n        print('OK')\n\
         \x20   except grpc.RpcError as e:\n        print(e.code().name)\n",
        hub.addr("otlp grpc")
    );
    let out = Command::new(&python).args(["-c", &probe]).output().unwrap();
    let codes = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(codes.split_whitespace().collect::<Vec<_>>(), ["UNAUTHENTICATED", "UNAUTHENTICATED", "OK"], "{codes}");
    let script = peers::workspace_root().join("tests/peers/otel_sdk_send.py");
    for (url, transport) in [(format!("http://{otlp}"), "http"), (format!("http://{}", hub.addr("otlp grpc")), "grpc")]
    {
        let status = Command::new(&python)
            .arg(&script)
            .args([url.as_str(), transport])
            .env("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret-token")
            .status()
            .unwrap();
        assert!(status.success(), "{transport}");
    }
    let text = http::request(&api, "GET", "/metrics", &good, b"").text();
    assert_eq!(sample(&text, "sonde_hub_received_total{signal=\"traces\",transport=\"grpc\"}"), 2.0, "{text}");
    assert_eq!(sample(&text, "sonde_hub_received_total{signal=\"traces\",transport=\"http/protobuf\"}"), 2.0);
    assert!(sample(&text, "sonde_hub_rejected_total{signal=\"traces\",reason=\"unauthenticated\"}") >= 2.0);
    hub.stop();
}

/// Basic auth against a bcrypt hash from the configuration.
#[test]
fn basic_auth_with_a_password_hash() {
    let hash = bcrypt::hash("hunter2", 4).unwrap();
    let (hub, _dir) = hub(&format!("[hub.auth]\nbasic_user = \"prom\"\nbasic_password_hash = \"{hash}\"\n"));
    let api = hub.addr("metrics");
    let header = |user: &str, password: &str| {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    };
    assert_eq!(http::request(api, "GET", "/metrics", &[("Authorization", &header("prom", "nope"))], b"").status, 401);
    assert_eq!(
        http::request(api, "GET", "/metrics", &[("Authorization", &header("prom", "hunter2"))], b"").status,
        200
    );
    hub.stop();
}

/// A stop with a connection held open on every port (one in the middle of
/// a request) exits 0 within its grace period.
#[test]
fn sigterm_with_connections_held_open_exits_within_the_grace() {
    let (mut hub, _dir) = hub("[hub]\nshutdown_grace = \"3s\"\n");
    let mut held = Vec::new();
    for what in ["metrics", "otlp http", "otlp grpc", "statsd tcp"] {
        let mut s = TcpStream::connect(hub.addr(what)).unwrap();
        let _ = s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
        held.push(s);
    }
    let (status, took) = hub.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", hub.output());
    assert!(took < Duration::from_secs(6), "took {took:?} with a 3 s grace");
}

/// A downstream that accepts connections and never answers: the forward
/// queue (in memory here) stays within its bytes (the oldest dropped,
/// counted), and a stop
/// exits 0 within its deadline, counting and saying how many spans it
/// could not deliver.
#[test]
fn sigterm_with_the_downstream_hung_counts_every_undelivered_span() {
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = format!(
        "[otlp]\nendpoint = \"http://{}\"\ninterval = \"1h\"\n[hub]\nforward_bytes = \"4MiB\"\nshutdown_grace = \"3s\"\nhistory_bytes = 0\n",
        hung.local_addr().unwrap()
    );
    let (mut hub, _dir) = hub(&config);
    let otlp = hub.addr("otlp http").to_owned();
    for batch in 0..40u64 {
        let spans = (0..500).map(|i| span(batch * 1000 + i, big_attributes(4, 100, i))).collect();
        assert_eq!(post_gzip(&otlp, "/v1/traces", &traces(spans).encode_to_vec()).status, 200);
    }
    let text = metrics(&hub);
    let queued = sample(&text, "sonde_forward_queued_total{destination=\"otlp_traces\"}");
    let full = sample(&text, "sonde_forward_dropped_total{destination=\"otlp_traces\",reason=\"budget\"}");
    assert_eq!(queued, 20_000.0, "every span queued: {text}");
    assert!(full > 0.0, "4 MiB holds fewer than 20,000 spans, so the oldest went: {text}");
    assert!(sample(&text, "sonde_forward_queue_bytes{destination=\"otlp_traces\"}") <= (4 * MIB) as f64);
    let (status, took) = hub.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status}: {}", hub.output());
    assert!(took < Duration::from_secs(6), "took {took:?} with a 3 s grace");
    let said = hub.output();
    let line = said.lines().find(|l| l.contains("could not be forwarded")).unwrap_or_else(|| panic!("{said}"));
    assert!(line.contains(&format!("{} span(s)", (queued - full) as u64)), "what was held at the stop: {line}");
    drop(hung);
}

/// The smaller points: gRPC refusals counted, JSON errors for bad
/// parameters, security headers on `/metrics` and OTLP answers, a long
/// StatsD TCP line counted once and skipped, colliding tags counted,
/// control characters in tag values replaced.
#[test]
fn smaller_points() {
    let (hub, _dir) = hub("");
    let api = hub.addr("metrics").to_owned();
    let reply = http::get(&api, "/api/traces?limit=many");
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error"].is_string(), "{}", reply.text());
    assert!(http::get(&api, "/api/snapshot?offset=-1").json()["error"].is_string());
    for reply in [http::get(&api, "/metrics"), http::post(hub.addr("otlp http"), "/v1/traces", "text/plain", b"x")] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert!(reply.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    }
    let mut long = format!("x:{}|c", "9".repeat(20_000));
    long.push_str("\nok.after:1|c\ncollide:1|c|#a.b:1,a_b:2\nctl:1|c|#k:a\u{0}b\n");
    statsd::send_tcp(hub.addr("statsd tcp"), long.as_bytes());
    wait_until(Duration::from_secs(10), "the lines", || metrics(&hub).contains("ctl_total"));
    let text = metrics(&hub);
    assert_eq!(sample(&text, "sonde_statsd_rejected_total{reason=\"too_long\"}"), 1.0, "{text}");
    assert_eq!(sample(&text, "ok_after_total"), 1.0);
    assert_eq!(sample(&text, "sonde_statsd_tag_collisions_total"), 1.0);
    assert!(text.contains("ctl_total{k=\"a\u{FFFD}b\"} 1"), "{text}");

    let Some(python) = peers::python_with("grpc") else { return };
    let probe = format!(
        "import grpc\nch = grpc.insecure_channel('{}')\n\
         call = ch.unary_unary('/opentelemetry.proto.collector.trace.v1.TraceService/Export')\n\
         for body in [b'\\x0a\\xff\\xff\\xff\\x0f', b'\\x0a' * (33 << 20)]:\n\
         \x20   try:\n        call(body, timeout=20)\n    except grpc.RpcError as e:\n        print(e.code().name)\n",
        hub.addr("otlp grpc")
    );
    let out = Command::new(python).args(["-c", &probe]).output().unwrap();
    let codes = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(codes.split_whitespace().collect::<Vec<_>>(), ["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"], "{codes}");
    let text = poll_until(Duration::from_secs(5), || {
        let t = metrics(&hub);
        t.contains("reason=\"too_large\"").then_some(t)
    })
    .unwrap_or_else(|| metrics(&hub));
    assert_eq!(sample(&text, "sonde_hub_rejected_total{signal=\"traces\",reason=\"bad_message\"}"), 1.0, "{text}");
    assert_eq!(sample(&text, "sonde_hub_rejected_total{signal=\"traces\",reason=\"too_large\"}"), 1.0, "{text}");
    hub.stop();
}

/// `[hub.tls]` serves the HTTP port over TLS (with the auth still asked);
/// a plain-HTTP request there gets no answer.
#[test]
fn the_http_port_over_tls() {
    let dir = peers::temp_dir("tls");
    let Some((cert, key)) = peers::self_signed_certificate(dir.path(), "hub") else { return };
    let Some(python) = peers::python_with("ssl") else { return };
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken").unwrap();
    let (hub, _config) = hub(&format!(
        "[hub.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n[hub.auth]\nbearer_token_file = \"{}\"\n",
        cert.display(),
        key.display(),
        token.display()
    ));
    assert!(hub.output().contains("metrics at https://"), "{}", hub.output());
    let fetch = format!(
        "import ssl, urllib.request\nctx = ssl.create_default_context(cafile='{}')\n\
         for auth in [None, 'Bearer t0ken']:\n\
         \x20   req = urllib.request.Request('https://{}/metrics', headers={{'Authorization': auth}} if auth else {{}})\n\
         \x20   try:\n        r = urllib.request.urlopen(req, context=ctx, timeout=10)\n        print(r.status, 'sonde_series' in r.read().decode())\n\
         \x20   except urllib.error.HTTPError as e:\n        print(e.code, False)\n",
        cert.display(),
        hub.addr("metrics")
    );
    let out = Command::new(python).args(["-c", &fetch]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        ["401 False", "200 True"],
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(http::get(hub.addr("metrics"), "/metrics").status, 0, "no plain-HTTP answer on the TLS port");
    hub.stop();
}

/// Listening beyond loopback without auth is said at start, unless meant.
#[test]
fn an_exposed_listener_without_auth_is_warned_about() {
    let exposed = |extra: &[&str]| {
        let mut args = vec!["serve", "--ephemeral", "--listen", "0.0.0.0:0"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--statsd",
            "127.0.0.1:0",
            "--otlp-grpc",
            "127.0.0.1:0",
            "--otlp-http",
            "127.0.0.1:0",
        ]);
        Hub::start(SONDE, &args)
    };
    let hub = exposed(&[]);
    let said = hub.output();
    assert!(said.contains("warning: 0.0.0.0:") && said.contains("no [hub.auth]"), "{said}");
    hub.stop();
    let quiet = exposed(&["--insecure-listen"]);
    assert!(!quiet.output().contains("warning"), "{}", quiet.output());
    quiet.stop();
}
