//! The real StatsD daemon (npm `statsd`) receives our metrics; its
//! management port reports the values.

use std::time::Duration;

use sonde_statsd::StatsdClient;
use sonde_testkit::poll_until;
use sonde_testkit::statsd::{value_of, Daemon};

#[test]
fn the_statsd_daemon_receives_counters_gauges_timers_and_sampled_counts() {
    let Some(daemon) = Daemon::start() else { return };
    let udp_port = daemon.udp;
    let client = StatsdClient::new("127.0.0.1", udp_port, "sonde").unwrap();
    for _ in 0..10 {
        client.incr("hits", 1, 1.0);
    }
    client.incr("hits", 5, 1.0);
    client.decr("hits", 2, 1.0);
    client.gauge("temp", 21.5, 1.0);
    client.gauge_delta("temp", 1.0, 1.0);
    client.gauge("below_zero", -7.0, 1.0);
    client.timing("db", 12.5, 1.0);
    client.timing("db", 30.0, 1.0);
    {
        let _t = client.timer("block", 1.0);
    }
    let sampler = StatsdClient::new("127.0.0.1", udp_port, "sonde").unwrap();
    for _ in 0..1000 {
        sampler.incr("sampled", 1, 0.5);
    }
    assert!(client.flush(Duration::from_secs(5)) && sampler.flush(Duration::from_secs(5)));
    let sent_sampled = sampler.stats().queued.load(std::sync::atomic::Ordering::Relaxed) as f64;

    // UDP on loopback: give the daemon a moment to read what is in flight.
    let counters = poll_until(Duration::from_secs(10), || {
        Some(daemon.mgmt("counters")).filter(|c| value_of(c, "sonde.sampled") == Some(sent_sampled * 2.0))
    })
    .unwrap_or_else(|| daemon.mgmt("counters"));
    let gauges = daemon.mgmt("gauges");
    let timers = daemon.mgmt("timers");
    eprintln!("statsd counters: {counters}");
    assert_eq!(value_of(&counters, "sonde.hits"), Some(13.0), "{counters}");
    assert_eq!(
        value_of(&counters, "sonde.sampled"),
        Some(sent_sampled * 2.0),
        "the daemon scales by 1/rate: {counters}"
    );
    assert_eq!(value_of(&counters, "statsd.bad_lines_seen"), Some(0.0), "{counters}");
    assert_eq!(value_of(&gauges, "sonde.temp"), Some(22.5), "{gauges}");
    assert_eq!(value_of(&gauges, "sonde.below_zero"), Some(-7.0), "{gauges}");
    assert!(timers.contains("'sonde.db': [ 12.5, 30 ]"), "{timers}");
    assert!(timers.contains("'sonde.block'"), "{timers}");
}

/// Without tags, label values are folded into names the daemon keeps as
/// sent: no bad lines, no rewritten names.
#[test]
fn the_daemon_keeps_folded_names_as_sent() {
    use sonde_export::Exporter;
    let Some(daemon) = Daemon::start() else { return };
    let client = StatsdClient::new("127.0.0.1", daemon.udp, "sonde").unwrap();
    let exporter = sonde_statsd::StatsdExporter::new(client.clone()).tags(false);
    let r = sonde::Registry::builder().self_metrics(false).build().unwrap();
    let req = r.counter("demo_http_requests_total").labels(["method", "path", "code"]).register().unwrap();
    req.with(&["GET", "/api/orders", "200"]).inc_by(4);
    req.with(&["POST", "/api/orders/{id} x", "500"]).inc();
    r.gauge("queue_depth").labels(["queue"]).register().unwrap().with(&["emails: high|prio"]).set(7.0);
    exporter.export(&r.snapshot()).unwrap();
    assert!(client.flush(Duration::from_secs(5)));
    let counters = poll_until(Duration::from_secs(10), || {
        Some(daemon.mgmt("counters"))
            .filter(|c| value_of(c, "sonde.demo_http_requests.POST._api_orders_id_x.500").is_some())
    })
    .unwrap_or_else(|| daemon.mgmt("counters"));
    let gauges = daemon.mgmt("gauges");
    assert_eq!(value_of(&counters, "sonde.demo_http_requests.GET._api_orders.200"), Some(4.0), "{counters}");
    assert_eq!(value_of(&counters, "sonde.demo_http_requests.POST._api_orders_id_x.500"), Some(1.0), "{counters}");
    assert_eq!(value_of(&gauges, "sonde.queue_depth.emails_high_prio"), Some(7.0), "{gauges}");
    assert_eq!(value_of(&counters, "statsd.bad_lines_seen"), Some(0.0), "{counters}");
}
