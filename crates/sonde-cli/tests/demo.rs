//! `sonde demo` serves live metrics on the given address and exits cleanly
//! on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_serves_metrics_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains(&format!("http://127.0.0.1:{port}/metrics")), "{first}");

    let deadline = Instant::now() + Duration::from_secs(10);
    // The workload records its first request, latency and payload at
    // slightly different moments: wait until every series is there.
    let wanted = [
        "demo_http_requests_total{method=",
        "demo_http_request_duration_seconds_bucket{route=",
        "demo_payload_size_bytes{quantile=\"0.5\"}",
    ];
    let body = loop {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        if wanted.iter().all(|w| body.contains(w)) || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for w in wanted {
        assert!(body.contains(w), "missing {w} in:\n{body}");
    }
    // The API is alive too: the workload's traces, with server and child spans.
    let traces = get(port, "/api/traces?limit=5");
    assert!(traces.contains("\"trace_id\"") && traces.contains("\"service\":\"sonde-demo\""), "{traces}");
    let id = traces.split("\"trace_id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let trace = get(port, &format!("/api/traces/{id}"));
    assert!(trace.contains("db.query") && trace.contains("parentSpanId"), "{trace}");
    // POST traces continue on the mailer thread: a span started there from
    // the request's context joins the same trace, with its event.
    let deadline = Instant::now() + Duration::from_secs(10);
    let crossed = loop {
        let posts = get(port, "/api/traces?name=POST&limit=20");
        let found = posts.split("\"trace_id\":\"").skip(1).filter_map(|t| t.split('"').next()).find_map(|id| {
            let t = get(port, &format!("/api/traces/{id}"));
            (t.contains("email.send") && t.contains("email_sent")).then_some(t)
        });
        if let Some(t) = found {
            break t;
        }
        assert!(Instant::now() < deadline, "no POST trace reached the mailer: {posts}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(crossed.contains("SPAN_KIND_CONSUMER") || crossed.contains("\"kind\":5"), "{crossed}");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "demo did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// The body of a GET on the demo's HTTP port.
fn get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

#[test]
fn demo_config_switches_on_push_exporters() {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dir = std::env::temp_dir().join(format!("sonde-demo-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sonde.toml");
    std::fs::write(
        &config,
        format!(
            "flush_interval = \"1h\"\n[prometheus]\nlisten = \"127.0.0.1:0\"\n[statsd]\naddress = \"127.0.0.1:{}\"\n[textfile]\npath = \"{}\"\n",
            rx.local_addr().unwrap().port(),
            dir.join("demo.prom").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["demo", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("metrics at http://127.0.0.1:"), "{first}");
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    assert!(second.contains("2 push exporter(s) running"), "{second}");
    std::thread::sleep(Duration::from_millis(500)); // let the workload record something
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
    // The final flush at shutdown delivered to both exporters.
    let text = std::fs::read_to_string(dir.join("demo.prom")).unwrap();
    assert!(text.contains("demo_http_requests_total{"), "{text}");
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 65536];
    let n = rx.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("demo_"), "statsd lines arrived");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sonde-demo-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bad.toml");
    std::fs::write(&config, "[statsd]\nsample_rate = 2.0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["demo", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("statsd.sample_rate"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
