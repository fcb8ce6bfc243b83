//! The dashboard of a running `sonde demo` in a real browser: Debian's
//! Chromium driven by playwright-core (`tests/browser/dashboard.mjs`). The
//! script checks live updates (and measures their latency), a view added
//! from the page, a trace's waterfall, event → trace and exemplar → trace
//! links, and that hostile strings render as text; its screenshots land in
//! `test-artifacts/dashboard/`.

#[allow(dead_code)]
#[path = "../../sonde-prometheus/tests/support/peers.rs"]
mod peers;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let root = peers::workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let playwright = root.join("tests/peers/node_modules/playwright-core");
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !std::path::Path::new(&chromium).exists() || !playwright.is_dir() || !node_ok {
        peers::missing("chromium, node and playwright-core (scripts/install-peers.sh)");
        return;
    }
    let port = |_| peers::free_port();
    let (http, statsd, grpc, otlp) = (port(0), port(1), port(2), port(3));
    let mut demo = peers::Peer(
        Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args(["demo", "--listen", &format!("127.0.0.1:{http}")])
            .args(["--statsd", &format!("127.0.0.1:{statsd}"), "--otlp-grpc", &format!("127.0.0.1:{grpc}")])
            .args(["--otlp-http", &format!("127.0.0.1:{otlp}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(demo.0.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "sonde demo exited early");
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    let artifacts = root.join("test-artifacts/dashboard");
    let _ = std::fs::remove_dir_all(&artifacts);
    let run = Command::new("node")
        .current_dir(&root)
        .env("CHROMIUM", &chromium)
        .arg("tests/browser/dashboard.mjs")
        .arg(format!("http://127.0.0.1:{http}"))
        .arg(statsd.to_string())
        .arg(format!("http://127.0.0.1:{otlp}"))
        .arg(&artifacts)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    let results: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    println!("dashboard in the browser: {results}");
    let median = results["update_latency_median_ms"].as_f64().unwrap();
    assert!(median < 1000.0, "a value change took {median} ms to show");
    assert_eq!(results["screenshots"].as_array().map(|s| s.len()), Some(9), "{results}");
    for shot in results["screenshots"].as_array().unwrap() {
        let size = std::fs::metadata(artifacts.join(shot.as_str().unwrap())).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes: a blank page?");
    }
}
