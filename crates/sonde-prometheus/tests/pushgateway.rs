//! The real Pushgateway (Debian `prometheus-pushgateway`) receives pushes
//! with job and grouping labels; values are read back from its API; delete
//! on shutdown removes the group.

use std::process::{Command, Stdio};
use std::time::Duration;

use sonde::Registry;
use sonde_export::Exporter;
use sonde_prometheus::{PushMethod, PushgatewayExporter};
use sonde_testkit::{http, peers, process, ChildGuard, ClosedPort};

/// The metric groups the Pushgateway holds, from `/api/v1/metrics`.
fn groups(addr: &str) -> serde_json::Value {
    http::get_json(addr, "/api/v1/metrics")["data"].clone()
}

fn value_in(groups: &serde_json::Value, job: &str, metric: &str) -> Option<(serde_json::Value, String)> {
    groups.as_array()?.iter().filter(|g| g["labels"]["job"] == job).find_map(|g| {
        let m = &g[metric]["metrics"][0];
        m["value"].as_str().map(|v| (g["labels"].clone(), v.to_owned()))
    })
}

#[test]
fn pushes_are_grouped_read_back_and_deleted_on_shutdown() {
    let Some(bin) = peers::program("prometheus-pushgateway") else { return };
    let gw = ChildGuard::spawn(
        Command::new(bin).arg("--web.listen-address=127.0.0.1:0").stdout(Stdio::null()).stderr(Stdio::null()),
    );
    let addr = &format!("127.0.0.1:{}", process::wait_for_tcp_listener(&gw, Duration::from_secs(15)));

    let r = Registry::builder().self_metrics(false).build().unwrap();
    let jobs = r.counter("batch_jobs_total").help("Jobs.").register().unwrap();
    jobs.inc_by(3);
    r.gauge("batch_last_duration_seconds").help("Last run.").register().unwrap().set(12.5);
    let exporter = PushgatewayExporter::builder(&format!("http://{addr}"), "sonde_test")
        .grouping("instance", "host/with/slashes")
        .grouping("region", "")
        .delete_on_shutdown(true)
        .build()
        .unwrap();
    exporter.export(&r.snapshot()).unwrap();

    let g = groups(addr);
    let (labels, value) = value_in(&g, "sonde_test", "batch_jobs_total").expect("the group is there");
    assert_eq!(value, "3");
    assert_eq!(labels["instance"], "host/with/slashes", "base64-encoded grouping value decoded by the gateway");
    assert_eq!(labels["region"], "");
    assert_eq!(value_in(&g, "sonde_test", "batch_last_duration_seconds").unwrap().1, "12.5");

    // POST replaces same-named metrics only; PUT would replace the group.
    jobs.inc_by(2);
    let post = PushgatewayExporter::builder(&format!("http://{addr}"), "sonde_test")
        .grouping("instance", "host/with/slashes")
        .grouping("region", "")
        .method(PushMethod::Post)
        .build()
        .unwrap();
    post.export(&r.snapshot()).unwrap();
    assert_eq!(value_in(&groups(addr), "sonde_test", "batch_jobs_total").unwrap().1, "5");

    exporter.shutdown().unwrap();
    assert!(value_in(&groups(addr), "sonde_test", "batch_jobs_total").is_none(), "deleted on shutdown");
}

#[test]
fn a_gateway_that_is_down_is_a_retryable_failure() {
    let down = ClosedPort::bind();
    let e = PushgatewayExporter::builder(&format!("http://{}", down.addr()), "j")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = e.export(&Registry::new().snapshot()).unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
