//! `sonde serve` with `[rules]`: recording rules' outputs are queryable,
//! alerting rules go pending and fire, reach a real Alertmanager with
//! their labels and annotations, and resolve there when they stop.

use std::time::Duration;

use serde_json::Value;
use sonde_testkit::http::{self, get_json};
use sonde_testkit::peers::{self, Alertmanager};
use sonde_testkit::{statsd, Hub};

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    sonde_testkit::wait_until(Duration::from_secs(30), what, f)
}

fn query(api: &str, q: &str) -> Value {
    get_json(api, &format!("/api/v1/query?query={}", http::escape(q)))["data"]["result"].clone()
}

#[test]
fn alerts_reach_alertmanager_and_resolve_there() {
    let Some(binary) = peers::program("prometheus-alertmanager") else {
        return peers::missing("prometheus-alertmanager (Debian package prometheus-alertmanager)");
    };
    let am = Alertmanager::start(&binary);
    let dir = peers::temp_dir("rules");
    let rules = dir.path().join("queue.rules.yml");
    std::fs::write(
        &rules,
        r#"groups:
  - name: queues
    interval: 1s
    rules:
      - record: queue:depth:max
        expr: max by (queue) (queue_depth)
      - alert: QueueBacklog
        expr: queue:depth:max > 5
        for: 3s
        labels: { severity: page }
        annotations:
          summary: "{{ $labels.queue }} has {{ $value }} items"
"#,
    )
    .unwrap();
    let config = dir.path().join("sonde.toml");
    std::fs::write(
        &config,
        format!("[rules]\nfiles = [{:?}]\nalertmanager = \"http://{}\"\n", rules.display().to_string(), am.addr),
    )
    .unwrap();
    let hub = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &["--config", config.to_str().unwrap()]);
    let api = hub.addr("metrics").to_owned();
    statsd::send_udp(hub.addr("statsd udp"), b"queue_depth:9|g|#queue:mail\nqueue_depth:2|g|#queue:sms\n");

    // The recording rule's output is stored and queryable like any series.
    wait_until("the recording rule writes", || query(&api, "queue:depth:max").as_array().is_some_and(|r| r.len() == 2));
    let mail = query(&api, "queue:depth:max{queue=\"mail\"}");
    assert_eq!(mail[0]["value"][1], "9", "{mail}");

    // Pending, then firing; ALERTS records both.
    wait_until("the alert fires", || {
        get_json(&api, "/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["state"] == "firing"))
    });
    let pending = query(&api, "count_over_time(ALERTS{alertstate=\"pending\"}[1m])");
    assert!(!pending.as_array().unwrap().is_empty(), "pending before firing: {pending}");
    let alerts = get_json(&api, "/api/v1/alerts")["data"]["alerts"].clone();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["labels"]["alertname"], "QueueBacklog");
    assert_eq!(alerts[0]["annotations"]["summary"], "mail has 9 items");
    let rules_api = get_json(&api, "/api/v1/rules");
    let group = &rules_api["data"]["groups"][0];
    assert_eq!(group["name"], "queues", "{rules_api}");
    assert_eq!(group["rules"][0]["type"], "recording");
    assert_eq!(group["rules"][1]["state"], "firing");
    assert_eq!(group["rules"][1]["health"], "ok");

    // In Alertmanager, with the labels and annotations.
    wait_until("Alertmanager holds the alert", || am.alerts().as_array().is_some_and(|a| !a.is_empty()));
    let held = am.alerts();
    let alert = &held[0];
    assert_eq!(alert["labels"]["alertname"], "QueueBacklog", "{held}");
    assert_eq!(alert["labels"]["queue"], "mail");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "mail has 9 items");
    assert!(alert["generatorURL"].as_str().unwrap().contains("/graph?g0.expr="), "{alert}");

    // Resolved in the hub and in Alertmanager.
    statsd::send_udp(hub.addr("statsd udp"), b"queue_depth:1|g|#queue:mail\n");
    wait_until("the hub resolves it", || {
        get_json(&api, "/api/v1/alerts")["data"]["alerts"].as_array().is_some_and(Vec::is_empty)
    });
    wait_until("Alertmanager resolves it", || am.alerts().as_array().is_some_and(Vec::is_empty));
    let sent = hub.sample("sonde_rules_notifications_sent_total");
    assert!(sent >= 2.0, "firing and resolved were sent: {sent}");
    hub.stop();
}

/// A pending alert's wait survives a restart: the hub restores its `for`
/// state from the stored `ALERTS_FOR_STATE` after its second evaluation,
/// as Prometheus does, so it keeps the time it became active (moved by the
/// downtime) instead of starting over.
#[test]
fn a_pending_alert_keeps_its_wait_across_a_restart() {
    let dir = peers::temp_dir("rules-restart");
    let rules = dir.path().join("slow.rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - alert: SlowBurn\n        expr: vector(1)\n        for: 1h\n",
    )
    .unwrap();
    let config = dir.path().join("sonde.toml");
    std::fs::write(
        &config,
        format!("[rules]\nfiles = [{:?}]\nfor_grace_period = \"1s\"\n", rules.display().to_string()),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--config", config.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    // The alert's start as ALERTS_FOR_STATE holds it (seconds), and how
    // many of those samples the last minute holds.
    let for_state = |api: &str| -> Option<(i64, f64)> {
        let latest = query(api, "ALERTS_FOR_STATE{alertname=\"SlowBurn\"}");
        let at = latest.as_array()?.first()?["value"][1].as_str()?.parse::<i64>().ok()?;
        let count = query(api, "count_over_time(ALERTS_FOR_STATE[1m])");
        Some((at, count.as_array()?.first()?["value"][1].as_str()?.parse::<f64>().ok()?))
    };
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let first = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &args);
    let api = first.addr("metrics").to_owned();
    // Pending for a while, its start written every second.
    wait_until("eight seconds of ALERTS_FOR_STATE", || for_state(&api).is_some_and(|(_, n)| n >= 8.0));
    let (began, _) = for_state(&api).unwrap();
    first.stop();

    let restarted = now();
    let second = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &args);
    let api = second.addr("metrics").to_owned();
    // Restored after the second evaluation: active since before the
    // restart (its time pending kept, moved by the downtime), where a
    // fresh start would say since now.
    wait_until("the alert written again", || for_state(&api).is_some_and(|(at, _)| at != began));
    let (restored, _) = for_state(&api).unwrap();
    assert!(restored > began && restored <= restarted - 4, "began {began}, restarted {restarted}, restored {restored}");
    let alerts = get_json(&api, "/api/v1/alerts")["data"]["alerts"].clone();
    assert_eq!(alerts[0]["state"], "pending", "{alerts}");
    second.stop();
}

#[test]
fn bad_rule_files_stop_the_hub_with_the_findings() {
    let dir = peers::temp_dir("rules");
    let rules = dir.path().join("bad.rules.yml");
    std::fs::write(&rules, "groups:\n  - name: x\n    rules:\n      - record: 'bad name'\n        expr: up\n").unwrap();
    let config = dir.path().join("sonde.toml");
    std::fs::write(&config, format!("[rules]\nfiles = [{:?}]\n", rules.display().to_string())).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(Hub::serve_args(&["--config", config.to_str().unwrap()]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid recording rule name: bad name"), "{err}");
}

#[test]
fn sonde_rules_check_and_test_exit_as_promtool_does() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sonde-rules/tests/promtool");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sonde")).args(args).current_dir(&dir).output().unwrap()
    };
    let ok = run(&["rules", "check", "telemetry.rules.yml"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("SUCCESS: 5 rules found"));
    assert_eq!(run(&["rules", "check", "bad_rules.yml"]).status.code(), Some(1));
    assert_eq!(run(&["rules", "test", "alerts_pass.test.yml"]).status.code(), Some(0));
    let failed = run(&["rules", "test", "wrong_value_fail.test.yml"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr)
        .contains("exp: {__name__=\"job:http_requests:rate5m\", job=\"api\"} 2E+00"));
    assert_eq!(run(&["rules"]).status.code(), Some(2));
    assert_eq!(run(&["rules", "test"]).status.code(), Some(2));
}
