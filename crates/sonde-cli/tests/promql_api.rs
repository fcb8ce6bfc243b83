//! Prometheus' query API on `sonde serve`: `promtool query instant`,
//! `range`, `series` and `labels` against the hub give what they give
//! against a real Prometheus that scraped the same hub (its own `job` and
//! `instance` labels dropped), and the API's errors are Prometheus' types.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sonde_testkit::http::{self, get_json};
use sonde_testkit::peers::{self, Prometheus};
use sonde_testkit::{statsd, Hub};

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    sonde_testkit::wait_until(Duration::from_secs(30), what, f)
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// `promtool query ARGS...` with JSON output, parsed.
fn promtool(args: &[&str]) -> Value {
    let out = Command::new("promtool").arg("query").args(["-o", "json"]).args(args).output().expect("promtool runs");
    assert!(out.status.success(), "promtool query {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A JSON array sorted by each element's text, for set comparisons.
fn sorted(v: Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().cloned().unwrap_or_default().iter().map(Value::to_string).collect();
    out.sort();
    out
}

#[test]
fn promtool_gets_from_the_hub_what_it_gets_from_prometheus() {
    let (Some(prometheus), Some(_)) = (peers::program("prometheus"), peers::program("promtool")) else {
        return peers::missing("prometheus and promtool (Debian package prometheus)");
    };
    let hub = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &[]);
    let api = hub.addr("metrics").to_owned();
    let lines = "room_temp:21|g|#room:kitchen,floor:0\nroom_temp:18.5|g|#room:garage,floor:-1\n\
                 room_temp:24|g|#room:attic,floor:2\norders:5|c|#shop:a\norders:7|c|#shop:b\n";
    statsd::send_udp(hub.addr("statsd udp"), lines.as_bytes());
    let prom = Prometheus::start_job(
        &prometheus,
        &api,
        "honor_labels: true\nmetric_relabel_configs:\n  - action: labeldrop\n    regex: job|instance",
        &[],
    );
    let sonde_url = format!("http://{api}");
    let prom_url = format!("http://{}", prom.addr);
    let has = |url: &str| {
        let v = promtool(&["instant", url, "count(room_temp) + count(orders_total)"]);
        v[0]["value"][1] == "5"
    };
    wait_until("both hold the series", || has(&sonde_url) && has(&prom_url));
    let from = now();
    // Some seconds of samples in both.
    std::thread::sleep(Duration::from_secs(4));
    let at = format!("{:.3}", now() - 1.0);

    for expr in [
        "room_temp",
        "sum by (floor) (room_temp)",
        "room_temp > 20",
        "room_temp * on(room) group_left avg by (room) (room_temp)",
        "count(room_temp) by (room)",
        "sort_desc(orders_total)",
        "rate(orders_total[3s])",
        "max_over_time(room_temp[3s])",
        "label_replace(room_temp, \"where\", \"$1\", \"room\", \"(.).*\")",
        "histogram_quantile(0.5, rate(nothing_bucket[1m]))",
        "vector(1) + 1",
        "scalar(count(orders_total))",
    ] {
        let s = promtool(&["instant", "--time", &at, &sonde_url, expr]);
        let p = promtool(&["instant", "--time", &at, &prom_url, expr]);
        assert_eq!(sorted(s), sorted(p), "instant {expr}");
    }

    let (start, end) = (format!("{:.3}", from + 1.0), format!("{:.3}", now() - 1.0));
    for expr in ["room_temp", "sum(orders_total)", "avg_over_time(room_temp[2s])"] {
        let args = |url| ["range", "--start", &start, "--end", &end, "--step", "1s", url, expr].map(str::to_owned);
        let s = promtool(&args(&sonde_url).each_ref().map(String::as_str));
        let p = promtool(&args(&prom_url).each_ref().map(String::as_str));
        assert_eq!(sorted(s), sorted(p), "range {expr}");
    }

    for matcher in ["room_temp", "{__name__=~\"room_temp|orders_total\"}", "{room=~\"k.*|g.*\"}"] {
        let s = promtool(&["series", "--match", matcher, &sonde_url]);
        let p = promtool(&["series", "--match", matcher, &prom_url]);
        assert_eq!(sorted(s), sorted(p), "series {matcher}");
    }
    for name in ["room", "floor", "shop"] {
        assert_eq!(promtool(&["labels", &sonde_url, name]), promtool(&["labels", &prom_url, name]), "labels {name}");
    }
    hub.stop();
}

#[test]
fn the_api_answers_in_prometheus_shapes_and_error_types() {
    let hub = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &[]);
    let api = hub.addr("metrics").to_owned();
    statsd::send_udp(hub.addr("statsd udp"), b"jobs:3|g|#queue:mail\n");
    wait_until("the gauge is stored", || {
        get_json(&api, "/api/v1/query?query=jobs")["data"]["result"].as_array().is_some_and(|r| !r.is_empty())
    });
    // GET and POST form bodies.
    let got = get_json(&api, "/api/v1/query?query=jobs*2");
    assert_eq!(got["status"], "success");
    assert_eq!(got["data"]["resultType"], "vector");
    assert_eq!(got["data"]["result"][0]["metric"], serde_json::json!({ "queue": "mail" }));
    assert_eq!(got["data"]["result"][0]["value"][1], "6");
    let posted = http::post(&api, "/api/v1/query", "application/x-www-form-urlencoded", b"query=scalar(jobs)&time=100");
    let posted = posted.json();
    assert_eq!(posted["data"]["resultType"], "scalar");
    assert_eq!(posted["data"]["result"][0], 100.0);
    let first = now();
    wait_until("two seconds are stored", || now() > first + 2.5);
    let t = now();
    let range = get_json(&api, &format!("/api/v1/query_range?query=jobs&start={}&end={}&step=1", first, t));
    assert_eq!(range["data"]["resultType"], "matrix");
    assert!(range["data"]["result"][0]["values"].as_array().unwrap().len() >= 2, "{range}");
    assert_eq!(get_json(&api, "/api/v1/label/queue/values")["data"], serde_json::json!(["mail"]));
    let labels = get_json(&api, "/api/v1/labels")["data"].clone();
    assert!(labels.as_array().unwrap().iter().any(|l| l == "queue"), "{labels}");
    let meta = get_json(&api, "/api/v1/metadata?metric=jobs");
    assert_eq!(meta["data"]["jobs"][0]["type"], "gauge", "{meta}");
    assert_eq!(get_json(&api, "/api/v1/status/buildinfo")["data"]["version"], "2.42.0");

    // Errors: Prometheus' types and statuses.
    for (path, status, kind) in [
        ("/api/v1/query?query=sum(", 400, "bad_data"),
        ("/api/v1/query?query=up&time=yesterday", 400, "bad_data"),
        ("/api/v1/query_range?query=up&start=10&end=0&step=1", 400, "bad_data"),
        ("/api/v1/query_range?query=up&start=0&end=100000&step=1", 400, "bad_data"),
        ("/api/v1/query_range?query=up&start=0&end=10", 400, "bad_data"),
        ("/api/v1/series", 400, "bad_data"),
        ("/api/v1/series?match[]=rate(x[5m])", 400, "bad_data"),
        ("/api/v1/query?query=max_over_time(jobs[1y:1ms])", 400, "bad_data"),
        (
            "/api/v1/query?query=(jobs or label_replace(jobs, \"x\", \"y\", \"\", \"\")) + on() vector(1)",
            422,
            "execution",
        ),
    ] {
        let (path, query) = path.split_once("query=").map_or((path, ""), |(p, q)| (p, q));
        let path = if query.is_empty() { path.to_owned() } else { format!("{path}query={}", http::escape(query)) };
        let reply = http::get(&api, &path);
        let body = reply.json();
        assert_eq!((reply.status, body["errorType"].as_str()), (status, Some(kind)), "{path}: {body}");
        assert_eq!(body["status"], "error");
    }
    let parse = http::get(&api, "/api/v1/query?query=foo%20bar").json();
    assert!(parse["error"].as_str().unwrap().starts_with("1:5: parse error"), "{parse}");
    hub.stop();
}
