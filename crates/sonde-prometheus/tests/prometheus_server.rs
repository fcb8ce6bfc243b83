//! A real Prometheus server scrapes the endpoint; PromQL returns our values.

mod support;

use std::time::{Duration, Instant};

use sonde::{Buckets, Registry};
use sonde_prometheus::MetricsServer;
use support::http_client::get;
use support::peers;

fn query(prom: std::net::SocketAddr, promql: &str) -> Option<f64> {
    let q: String = promql
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let reply = get(prom, &format!("/api/v1/query?query={q}"), &[]);
    let v: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_and_queries_our_values() {
    let Some(prometheus) = peers::program("prometheus") else {
        return;
    };
    let r = Registry::new();
    let orders = r.counter("shop_orders_total").help("Orders.").register().unwrap();
    orders.inc_by(42);
    let temp = r.gauge("room_temperature_celsius").help("Temperature.").labels(["room"]).register().unwrap();
    temp.with(&["kitchen"]).set(21.5);
    temp.with(&["attic"]).set(-3.0);
    let latency = r
        .histogram("api_latency_seconds")
        .help("Latency.")
        .buckets(Buckets::new([0.1, 0.2, 0.5, 1.0]).unwrap())
        .register()
        .unwrap();
    for v in [0.05, 0.15, 0.15, 0.3, 0.3, 0.3, 0.7, 2.0] {
        latency.observe(v);
    }
    let want_median = latency.snapshot().quantile(0.5);

    let mut server = MetricsServer::builder(r).listen("127.0.0.1:0".parse().unwrap()).build();
    let target = server.start().unwrap();

    let (_peer, prom, dir) = peers::start_prometheus(&prometheus, &target.to_string(), false);
    let prom: std::net::SocketAddr = prom.parse().unwrap();

    let deadline = Instant::now() + Duration::from_secs(45);
    let mut got = None;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        if std::net::TcpStream::connect(prom).is_err() {
            continue;
        }
        if let (Some(c), Some(g), Some(q)) = (
            query(prom, "shop_orders_total"),
            query(prom, "room_temperature_celsius{room=\"attic\"}"),
            query(prom, "histogram_quantile(0.5, api_latency_seconds_bucket)"),
        ) {
            got = Some((c, g, q));
            break;
        }
    }
    let up = query(prom, "up{job=\"sonde\"}");
    std::fs::remove_dir_all(&dir).ok();
    let (c, g, q) = got.unwrap_or_else(|| panic!("Prometheus never returned our series (up = {up:?})"));
    assert_eq!(c, 42.0);
    assert_eq!(g, -3.0);
    assert!((q - want_median).abs() < 1e-9, "PromQL {q} vs our estimate {want_median}");
    assert_eq!(up, Some(1.0));
}
