//! A real Prometheus server scrapes the endpoint; PromQL returns our values.

use std::time::Duration;

use sonde::{Buckets, Registry};
use sonde_prometheus::MetricsServer;
use sonde_testkit::peers::{self, Prometheus};
use sonde_testkit::poll_until;

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

    let prom = Prometheus::start(&prometheus, &target.to_string(), false, &[]);
    let got = poll_until(Duration::from_secs(45), || {
        Some((
            prom.query_value("shop_orders_total")?,
            prom.query_value("room_temperature_celsius{room=\"attic\"}")?,
            prom.query_value("histogram_quantile(0.5, api_latency_seconds_bucket)")?,
        ))
    });
    let up = prom.query_value("up{job=\"sonde\"}");
    let (c, g, q) = got.unwrap_or_else(|| panic!("Prometheus never returned our series (up = {up:?})"));
    assert_eq!(c, 42.0);
    assert_eq!(g, -3.0);
    assert!((q - want_median).abs() < 1e-9, "PromQL {q} vs our estimate {want_median}");
    assert_eq!(up, Some(1.0));
}
