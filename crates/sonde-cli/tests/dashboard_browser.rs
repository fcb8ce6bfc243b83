//! The dashboard of a running `sonde demo` in a real browser: Debian's
//! Chromium driven by playwright-core (`tests/browser/dashboard.mjs`). The
//! script checks live updates (and measures their latency), a view added
//! from the page, a trace's waterfall, event → trace and exemplar → trace
//! links, and that hostile strings render as text; its screenshots land in
//! `test-artifacts/dashboard/`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use sonde_testkit::{peers, Hub};

/// Starts `sonde demo` with these arguments and waits until it is ready.
fn demo(args: &[&str]) -> Hub {
    let mut all = vec!["demo"];
    all.extend(args);
    Hub::start(env!("CARGO_BIN_EXE_sonde"), &all)
}

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
    // Ports the kernel picks; the restart below binds the same ones again.
    let any = "127.0.0.1:0";
    let first = demo(&["--listen", any, "--statsd", any, "--otlp-grpc", any, "--otlp-http", any]);
    let (http, statsd_addr, grpc, otlp) = (
        first.addr("metrics").to_owned(),
        first.addr("statsd udp").to_owned(),
        first.addr("otlp grpc").to_owned(),
        first.addr("otlp http").to_owned(),
    );
    let statsd = statsd_addr.rsplit(':').next().unwrap().to_owned();
    let args = ["--listen", &http, "--statsd", &statsd_addr, "--otlp-grpc", &grpc, "--otlp-http", &otlp];
    let artifacts = root.join("test-artifacts/dashboard");
    let _ = std::fs::remove_dir_all(&artifacts);
    let run = Command::new("node")
        .current_dir(&root)
        .env("CHROMIUM", &chromium)
        .arg("tests/browser/dashboard.mjs")
        .arg(format!("http://{http}"))
        .arg(&statsd)
        .arg(format!("http://{otlp}"))
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

    // 1,000 live series on screen, then a server restart the page rides out.
    let mut script = Command::new("node")
        .current_dir(&root)
        .env("CHROMIUM", &chromium)
        .arg("tests/browser/many_and_reconnect.mjs")
        .arg(format!("http://{http}"))
        .arg(&statsd)
        .arg(&artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(script.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "LIVE", "the many-series page did not get live: {line}");
    drop(first); // killed by PID
    let _second = demo(&args);
    writeln!(script.stdin.take().unwrap(), "RESTARTED").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(script.wait().unwrap().success(), "many-series/reconnect check failed: {rest}");
    let more: serde_json::Value = serde_json::from_str(rest.lines().last().unwrap_or("{}")).unwrap();
    println!("1,000 series and a restart: {more}");
    assert!(more["resumed_after_ms"].as_f64().is_some(), "{more}");
}
