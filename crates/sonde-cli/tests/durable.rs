//! `sonde serve --data-dir`: what the hub received survives a stop and a
//! SIGKILL; a second hub on the same directory is refused; damaged files
//! never stop it from starting.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sonde_testkit::http::{self, get_json};
use sonde_testkit::{poll_until, statsd, Hub};

const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

/// A scratch directory with a configuration sampling every 200 ms, and the
/// data directory to use in it.
fn scratch() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "[hub]\nsample_interval = \"200ms\"\n").unwrap();
    let data = dir.path().join("data");
    (dir, data, config)
}

fn serve(data: &std::path::Path, config: &std::path::Path) -> Hub {
    let (data, config) = (data.to_str().unwrap(), config.to_str().unwrap());
    Hub::serve(SONDE, &["--data-dir", data, "--config", config])
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// An OTLP/JSON trace request with one root span.
fn span_json(trace: &str, name: &str) -> String {
    let t = now_ns();
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"durable"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"00000000000000a1","name":"{name}",
        "startTimeUnixNano":"{t}","endTimeUnixNano":"{}","kind":2}}]}}]}}]}}"#,
        t + 5_000_000
    )
}

fn log_json(body: &str) -> String {
    format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"{}","severityNumber":17,
        "severityText":"ERROR","body":{{"stringValue":"{body}"}},
        "attributes":[{{"key":"disk","value":{{"stringValue":"sda1 nearly full"}}}}]}}]}}]}}]}}"#,
        now_ns()
    )
}

fn post_json(addr: &str, path: &str, body: &str) -> u16 {
    http::post(addr, path, "application/json", body.as_bytes()).status
}

fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// Points of `id` in the five minutes before `end` (Unix ms).
fn history_points_until(api: &str, id: &str, end: u64) -> usize {
    let start = end - 5 * 60 * 1000;
    let path = format!("/api/history?id={}&start={start}&end={end}&step=200", http::escape(id));
    let v = get_json(api, &path);
    v["v"].as_array().map_or(0, |a| a.iter().filter(|x| !x.is_null()).count())
}

fn history_points(api: &str, id: &str) -> usize {
    history_points_until(api, id, now_ms())
}

#[test]
fn a_restart_keeps_history_traces_and_events_and_a_second_hub_is_refused() {
    let (_dir, data, config) = scratch();
    let hub = serve(&data, &config);
    let api = hub.addr("metrics").to_owned();
    let otlp = hub.addr("otlp http").to_owned();
    statsd::send_udp(hub.addr("statsd udp"), b"durable.hits:3|c\ndurable.depth:7|g");
    let trace = "5b8efff798038103d269b633813fc60c";
    assert_eq!(post_json(&otlp, "/v1/traces", &span_json(trace, "checkout")), 200);
    assert_eq!(post_json(&otlp, "/v1/logs", &log_json("volume check failed")), 200);
    let gauge = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"durable.otlp","gauge":{"dataPoints":[{"asInt":42}]}}]}]}]}"#;
    assert_eq!(post_json(&otlp, "/v1/metrics", gauge), 200);
    let before = poll_until(Duration::from_secs(20), || {
        let n = history_points(&api, "durable_depth");
        (n >= 5).then_some(n)
    })
    .expect("history of the StatsD gauge");

    // A second hub on the same directory is refused, clearly, and changes nothing.
    let out = std::process::Command::new(SONDE)
        .args(["serve", "--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0", "--statsd", "127.0.0.1:0"])
        .args(["--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("in use by another sonde hub"), "{said}");

    let stopped_at = now_ms();
    hub.stop();
    let hub = serve(&data, &config);
    let api = hub.addr("metrics").to_owned();
    assert!(history_points_until(&api, "durable_depth", stopped_at) >= before, "the history is back");
    // The OTLP metric's history too (its id carries the sender's job label).
    let ids = get_json(&api, "/api/history/ids?family=durable_otlp");
    let id = ids["ids"][0].as_str().unwrap_or_else(|| panic!("the OTLP gauge has history: {ids}")).to_owned();
    let path =
        format!("/api/history?id={}&start={}&end={stopped_at}&step=200", http::escape(&id), stopped_at - 300_000);
    let otlp_history = get_json(&api, &path);
    assert!(otlp_history["v"].as_array().unwrap().iter().any(|v| v.as_f64() == Some(42.0)), "{otlp_history}");
    let traces = get_json(&api, "/api/traces");
    assert_eq!(traces["traces"][0]["trace_id"], trace, "{traces}");
    assert_eq!(traces["traces"][0]["name"], "checkout");
    let one = get_json(&api, &format!("/api/traces/{trace}"));
    assert_eq!(one["spans"][0]["span"]["name"], "checkout", "{one}");
    let events = get_json(&api, "/api/events?q=nearly%20sda1");
    assert_eq!(events["events"].as_array().map(Vec::len), Some(1), "{events}");
    assert_eq!(get_json(&api, "/api/events?q=absent")["events"].as_array().map(Vec::len), Some(0));
    hub.stop();
}

#[test]
fn a_sigkill_loses_nothing_that_was_acknowledged() {
    let (_dir, data, config) = scratch();
    let hub = serve(&data, &config);
    let otlp = hub.addr("otlp http").to_owned();
    // Senders keep sending until the kill; every acknowledged trace id is noted.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..3)
        .map(|sender| {
            let (otlp, acked, stop) = (otlp.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                for i in 0u64.. {
                    if stop.load(Relaxed) {
                        break;
                    }
                    let trace = format!("{:016x}{:016x}", sender + 1, i + 1);
                    let reply = std::panic::catch_unwind(|| post_json(&otlp, "/v1/traces", &span_json(&trace, "load")));
                    match reply {
                        Ok(200) => acked.lock().unwrap().push(trace),
                        _ => break, // the hub is gone
                    }
                }
            })
        })
        .collect();
    // And one sender of metric points: a gauge counting up, each value
    // acknowledged once the sampler wrote it.
    let last_gauge = Arc::new(Mutex::new(None));
    let gauges = {
        let (otlp, last, stop) = (otlp.clone(), last_gauge.clone(), stop.clone());
        std::thread::spawn(move || {
            for i in 1u64.. {
                if stop.load(Relaxed) {
                    break;
                }
                let body = format!(
                    r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"kill.progress","gauge":{{"dataPoints":[{{"asInt":{i}}}]}}}}]}}]}}]}}"#
                );
                match std::panic::catch_unwind(|| post_json(&otlp, "/v1/metrics", &body)) {
                    Ok(200) => *last.lock().unwrap() = Some(i),
                    _ => break,
                }
            }
        })
    };
    // Kill at a moment that depends on the run (the clock's nanoseconds).
    let wait = 300 + (now_ns() % 700);
    std::thread::sleep(Duration::from_millis(wait));
    hub.kill();
    stop.store(true, Relaxed);
    for s in senders {
        let _ = s.join();
    }
    let _ = gauges.join();
    let last_gauge = last_gauge.lock().unwrap().expect("a metric point was acknowledged before the kill");
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 10, "only {} requests were acknowledged before the kill", acked.len());

    let started = std::time::Instant::now();
    let hub = serve(&data, &config);
    let recovery = started.elapsed();
    let api = hub.addr("metrics").to_owned();
    let mut missing = Vec::new();
    for trace in &acked {
        let reply = http::get(&api, &format!("/api/traces/{trace}"));
        if reply.status != 200 {
            missing.push(trace.clone());
        }
    }
    eprintln!("{} acknowledged before SIGKILL after {wait} ms; restarted in {recovery:?}", acked.len());
    assert!(recovery < Duration::from_secs(10), "serving again took {recovery:?} (target 10 s)");
    let ids = get_json(&api, "/api/history/ids?family=kill_progress");
    let id = ids["ids"][0].as_str().unwrap_or_else(|| panic!("the gauge has history: {ids}")).to_owned();
    let since = now_ms() - 60_000;
    let history = get_json(&api, &format!("/api/history?id={}&start={since}&step=100", http::escape(&id)));
    let highest = history["v"].as_array().unwrap().iter().filter_map(|v| v.as_f64()).fold(0.0, f64::max);
    assert!(
        highest >= last_gauge as f64,
        "the last acknowledged point ({last_gauge}) is in the history (highest {highest})"
    );
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged traces lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    hub.stop();
}

#[test]
fn damaged_files_never_stop_the_hub_from_starting() {
    let (_dir, data, config) = scratch();
    let hub = serve(&data, &config);
    statsd::send_udp(hub.addr("statsd udp"), b"damage.gauge:1|g");
    let api = hub.addr("metrics").to_owned();
    poll_until(Duration::from_secs(20), || (history_points(&api, "damage_gauge") >= 3).then_some(()))
        .expect("some history");
    hub.kill();
    // Garbage at the end of the log, in the series list and over the database.
    for name in ["samples/wal.log", "samples/series.log"] {
        let mut f = std::fs::OpenOptions::new().append(true).open(data.join(name)).unwrap();
        f.write_all(b"\x10\x00\x00\x00garbage-garbage-garbage").unwrap();
    }
    std::fs::write(data.join("records.db"), b"this is not a database").unwrap();
    std::fs::write(data.join("records.db-wal"), b"").unwrap(); // else SQLite heals page 1 from its log
    let hub = serve(&data, &config);
    let told = poll_until(Duration::from_secs(10), || {
        let said = hub.output();
        (said.contains("damaged bytes cut away") && said.contains("span and event database")).then_some(())
    });
    assert!(told.is_some(), "the repairs are reported: {}", hub.output());
    let api = hub.addr("metrics").to_owned();
    assert!(history_points(&api, "damage_gauge") >= 3, "the good samples are kept");
    assert!(data.join("damaged").read_dir().unwrap().count() >= 2, "damaged files are kept aside");
    hub.stop();
}

const MIB: u64 = 1 << 20;

/// With a three-second retention and a small disk budget, ingest goes on
/// for ten seconds: nothing older than the retention is served, and the
/// data directory stays within its budgets all along.
#[test]
fn retention_by_time_and_bytes_while_ingest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    // max_disk_bytes bounds the samples, and separately the spans and events.
    std::fs::write(&config, "[hub]\nsample_interval = \"50ms\"\nretention = \"3s\"\nmax_disk_bytes = \"1MiB\"\n")
        .unwrap();
    let data = dir.path().join("data");
    let hub = serve(&data, &config);
    let (api, otlp) = (hub.addr("metrics").to_owned(), hub.addr("otlp http").to_owned());
    let started = now_ms();
    let mut largest = 0;
    let (mut n, mut spans, mut last_span) = (0u64, 0u64, 0);
    while now_ms() - started < 10_000 {
        n += 1;
        let lines: String = (0..300).map(|s| format!("keep.series:{}|g|#s:{s}\n", n + s)).collect();
        statsd::send_udp(hub.addr("statsd udp"), lines.as_bytes());
        // A span every 100 ms: few enough that one page lists them all.
        if now_ms() - last_span >= 100 {
            last_span = now_ms();
            spans += 1;
            assert_eq!(post_json(&otlp, "/v1/traces", &span_json(&format!("{spans:032x}"), "kept")), 200);
        }
        largest = largest.max(sonde_testkit::disk::bytes_under(&data));
        // Two budgets, plus the logs between their checkpoints and the series list.
        assert!(largest <= 3 * MIB, "the data directory grew to {largest} bytes");
    }
    let now = now_ms();
    // Spans: only those of the last few seconds remain.
    let traces = get_json(&api, "/api/traces?limit=1000");
    let list = traces["traces"].as_array().unwrap();
    assert!(!list.is_empty() && (list.len() as u64) < spans / 2, "{} of {spans} spans left", list.len());
    let oldest = list.iter().filter_map(|t| t["start_unix_nanos"].as_u64()).min().unwrap() / 1_000_000;
    // The retention, plus the upkeep's period (a quarter of it) and the request's own time.
    assert!(now - oldest < 3_000 + 750 + 1_000, "a span {} ms old is still served", now - oldest);
    // Samples: nothing older than the retention comes back.
    let id = "keep_series{s=\"0\"}";
    let since = now - 60_000;
    let h = get_json(&api, &format!("/api/history?id={}&start={since}&step=50", http::escape(id)));
    let t = h["t"].as_array().unwrap();
    let v = h["v"].as_array().unwrap();
    let first = t.iter().zip(v).find(|(_, v)| !v.is_null()).map(|(t, _)| t.as_u64().unwrap()).unwrap();
    assert!(now - first <= 3_000 + 200, "a sample {} ms old is still served", now - first);
    eprintln!(
        "retention: largest data directory {largest} bytes; oldest span {} ms, oldest sample {} ms",
        now - oldest,
        now - first
    );
    hub.stop();
}

/// With a long retention and a 1 MiB budget (for the samples, and again
/// for the spans and events), spans of 2 KiB and 2,000 series arrive for
/// eight seconds: the data directory stays within the budgets, and the
/// oldest spans are the ones that went.
#[test]
fn the_byte_budget_holds_while_ingest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "[hub]\nsample_interval = \"50ms\"\nretention = \"1h\"\nmax_disk_bytes = \"1MiB\"\n")
        .unwrap();
    let data = dir.path().join("data");
    let hub = serve(&data, &config);
    let (api, otlp) = (hub.addr("metrics").to_owned(), hub.addr("otlp http").to_owned());
    let started = now_ms();
    let (mut largest, mut spans) = (0, 0u64);
    let name = "n".repeat(2048);
    while now_ms() - started < 8_000 {
        spans += 1;
        let lines: String = (0..2000).map(|s| format!("budget.series:{}|g|#s:{s}\n", spans + s)).collect();
        for chunk in lines.as_bytes().chunks(8000) {
            statsd::send_udp(hub.addr("statsd udp"), chunk);
        }
        assert_eq!(post_json(&otlp, "/v1/traces", &span_json(&format!("{spans:032x}"), &name)), 200);
        largest = largest.max(sonde_testkit::disk::bytes_under(&data));
        // Two budgets, plus the logs between their checkpoints and the series list.
        assert!(largest <= 3 * MIB, "the data directory grew to {largest} bytes");
    }
    let traces = get_json(&api, "/api/traces?limit=1000");
    let ids: Vec<u64> = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| u64::from_str_radix(t["trace_id"].as_str()?, 16).ok())
        .collect();
    let (first, last) = (ids.iter().min().copied().unwrap_or(0), ids.iter().max().copied().unwrap_or(0));
    eprintln!(
        "byte budget: {spans} spans sent, {} kept ({first}..={last}); largest data directory {largest} bytes",
        ids.len()
    );
    assert!(first > 1 && last == spans, "the oldest went, the newest stayed: {first}..={last} of {spans}");
    hub.stop();
}
