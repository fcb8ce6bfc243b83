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

/// Chromium's path, when Chromium, node and playwright-core are all here
/// (else `None`, after [`peers::missing`]).
fn browser() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let playwright = peers::workspace_root().join("tests/peers/node_modules/playwright-core");
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !std::path::Path::new(&chromium).exists() || !playwright.is_dir() || !node_ok {
        peers::missing("chromium, node and playwright-core (scripts/install-peers.sh)");
        return None;
    }
    Some(chromium)
}

/// Runs a browser script (`tests/browser/<script>` with `args`) that
/// prints `ready` once its page shows what it checks, calls `restart`,
/// tells the script, and returns the JSON of its last line.
fn across_a_restart(
    chromium: &str,
    script: &str,
    args: &[String],
    ready: &str,
    restart: impl FnOnce(),
) -> serde_json::Value {
    let mut child = Command::new("node")
        .current_dir(peers::workspace_root())
        .env("CHROMIUM", chromium)
        .arg(format!("tests/browser/{script}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), ready, "{script} did not get ready: {line}");
    restart();
    writeln!(child.stdin.take().unwrap(), "RESTARTED").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{script} failed: {rest}");
    serde_json::from_str(rest.lines().last().unwrap_or("{}")).unwrap()
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let Some(chromium) = browser() else { return };
    let root = peers::workspace_root();
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
    let mut second = None;
    let script_args = [format!("http://{http}"), statsd.clone(), artifacts.display().to_string()];
    let more = across_a_restart(&chromium, "many_and_reconnect.mjs", &script_args, "LIVE", || {
        drop(first); // killed by PID
        second = Some(demo(&args));
    });
    drop(second);
    println!("1,000 series and a restart: {more}");
    assert!(more["resumed_after_ms"].as_f64().is_some(), "{more}");
}

/// Stored history in the browser: two hours backfilled into the data
/// directory's sample store before the hub starts; the range picker's
/// "last 6h" shows them (in the metric's unit), the event search finds an
/// event by a word of its text, and both are back after a restart of the
/// hub on the same directory (`tests/browser/history.mjs`).
#[test]
fn stored_history_and_search_in_the_browser_across_a_restart() {
    let Some(chromium) = browser() else { return };
    let root = peers::workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let id = "backfill_memory_bytes{job=\"backfill\"}";
    {
        let store = sonde_hub::store::SampleStore::open(&data.join("samples"), Default::default()).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let mut t = now - 2 * 3600 * 1000;
        while t < now - 3 * 60 * 1000 {
            let mib = 40.0 + ((t / 60_000) % 20) as f64;
            store.append(t, [("backfill_memory_bytes", id, mib * 1048576.0)]);
            t += 10_000;
        }
        store.seal(t);
        store.sync();
    }
    let serve = |addrs: [&str; 4]| {
        let d = data.to_str().unwrap();
        let [http, statsd, grpc, otlp] = addrs;
        let args =
            ["serve", "--listen", http, "--statsd", statsd, "--otlp-grpc", grpc, "--otlp-http", otlp, "--data-dir", d];
        Hub::start(env!("CARGO_BIN_EXE_sonde"), &args)
    };
    let any = "127.0.0.1:0";
    let first = serve([any; 4]);
    let addrs = ["metrics", "statsd udp", "otlp grpc", "otlp http"].map(|w| first.addr(w).to_owned());
    let gauge = br#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"backfill"}}]},
        "scopeMetrics":[{"metrics":[{"name":"backfill.memory","unit":"By","gauge":{"dataPoints":[{"asInt":52428800}]}}]}]}]}"#;
    let status = sonde_testkit::http::post(first.addr("otlp http"), "/v1/metrics", "application/json", gauge).status;
    assert_eq!(status, 200);
    let word = "zebrastripe";
    let (title, text) = ("disk alarm", format!("volume {word} failing"));
    let event = format!("_e{{{},{}}}:{title}|{text}|t:error", title.len(), text.len());
    sonde_testkit::statsd::send_udp(first.addr("statsd udp"), event.as_bytes());

    let artifacts = root.join("test-artifacts/history");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut second = None;
    let script_args = [format!("http://{}", addrs[0]), artifacts.display().to_string(), word.to_owned()];
    let seen = across_a_restart(&chromium, "history.mjs", &script_args, "SHOWN", || {
        first.stop();
        second = Some(serve([&addrs[0], &addrs[1], &addrs[2], &addrs[3]]));
    });
    println!("stored history in the browser: {seen}");
    assert!(seen["after"]["reaches_back_minutes"].as_f64().is_some_and(|m| m > 100.0), "{seen}");
    for shot in ["10-history-6h.png", "11-event-search.png", "12-history-after-restart.png"] {
        let size = std::fs::metadata(artifacts.join(shot)).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes: a blank page?");
    }
}

/// Explore, PromQL views and the Alerts page in the browser
/// (`tests/browser/explore.mjs`): a hub that receives a StatsD counter for
/// two routes, evaluates a rule file with a firing, a pending and an
/// inactive alert, and shows a PromQL view from its configuration.
#[test]
fn explore_promql_views_and_alerts_in_the_browser() {
    let Some(chromium) = browser() else { return };
    let root = peers::workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    let rules = scratch.path().join("browser.rules.yml");
    std::fs::write(
        &rules,
        r#"groups:
- name: browser
  interval: 1s
  rules:
  - alert: BrowserTestFiring
    expr: vector(1) > 0
    labels: {severity: page}
    annotations: {summary: "fired at {{ $value }}"}
  - alert: BrowserTestPending
    expr: vector(2) > 0
    for: 1h
  - alert: BrowserTestInactive
    expr: vector(0) > 1
"#,
    )
    .unwrap();
    let config = scratch.path().join("sonde.toml");
    std::fs::write(
        &config,
        format!(
            "[hub]\nsample_interval = \"1s\"\n[rules]\nfiles = [{:?}]\n[[dashboard.views]]\ntitle = \"ingest rate\"\n\
             query = \"sum by (transport) (rate(sonde_hub_received_total[1m]))\"\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    let any = "127.0.0.1:0";
    let config_arg = config.display().to_string();
    let args = ["serve", "--ephemeral", "--config", &config_arg, "--listen", any, "--statsd", any, "--otlp-grpc", any];
    let hub = Hub::start(env!("CARGO_BIN_EXE_sonde"), &[&args[..], &["--otlp-http", any]].concat());
    // Orders keep arriving while the browser looks: /a at 5/s, /b at 10/s.
    let statsd = hub.addr("statsd udp").to_owned();
    let sending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = {
        let (sending, statsd) = (sending.clone(), statsd.clone());
        std::thread::spawn(move || {
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                sonde_testkit::statsd::send_udp(&statsd, b"shop.orders:1|c|#route:/a\nshop.orders:2|c|#route:/b");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    };
    // Enough samples (eight seconds' worth) for the rate to have points.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let url = format!("http://{}", hub.addr("metrics"));
    while std::time::Instant::now() < deadline {
        let reply = sonde_testkit::http::get(
            hub.addr("metrics"),
            "/api/v1/query?query=min(count_over_time(shop_orders_total[1m]))",
        );
        let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        let samples = answer["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok());
        if samples.is_some_and(|n| n >= 8.0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let artifacts = root.join("test-artifacts/explore");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let run = Command::new("node")
        .current_dir(&root)
        .env("CHROMIUM", &chromium)
        .arg("tests/browser/explore.mjs")
        .arg(&url)
        .arg(&artifacts)
        .output()
        .unwrap();
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    let results: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    println!("explore, views and alerts in the browser: {results}");
    assert_eq!(results["completed"], "shop_orders_total{route=\"/b\"}");
    assert_eq!(results["graph"]["series"], 2);
    assert_eq!(results["alert_expr"], "vector(1) > 0");
    let shots = results["screenshots"].as_array().unwrap();
    assert_eq!(shots.len(), 5, "{results}");
    for shot in shots {
        let size = std::fs::metadata(artifacts.join(shot.as_str().unwrap())).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes: a blank page?");
    }
}
