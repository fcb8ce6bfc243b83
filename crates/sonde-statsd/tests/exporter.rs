//! A registry pushed as StatsD lines: deltas, gauges, histograms, tags.

use std::net::UdpSocket;
use std::time::Duration;

use sonde::{Buckets, Registry};
use sonde_export::Exporter;
use sonde_statsd::{StatsdClient, StatsdExporter};

fn lines(rx: &UdpSocket) -> Vec<String> {
    rx.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = rx.recv(&mut buf) {
        out.extend(String::from_utf8_lossy(&buf[..n]).lines().map(str::to_owned));
    }
    out.sort();
    out
}

#[test]
fn counters_go_as_deltas_and_labels_as_tags() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port()).prefix("app").build().unwrap();
    let exporter = StatsdExporter::new(client);
    let r = Registry::builder().self_metrics(false).build().unwrap();
    let hits = r.counter("hits_total").labels(["code"]).register().unwrap();
    let temp = r.gauge("temp").register().unwrap();
    r.gauge("cold").labels(["room"]).register().unwrap().with(&["attic"]).set(-3.0);
    let lat = r.histogram("lat_seconds").buckets(Buckets::new([1.0]).unwrap()).register().unwrap();
    hits.with(&["200"]).inc_by(5);
    temp.set(21.5);
    lat.observe(0.5);
    lat.observe(0.25);
    exporter.export(&r.snapshot()).unwrap();
    assert_eq!(
        lines(&rx),
        [
            "app.cold:-3|g|#room:attic",
            "app.cold:0|g|#room:attic",
            "app.hits:5|c|#code:200",
            "app.lat_seconds.count:2|c",
            "app.lat_seconds.sum:0.75|c",
            "app.temp:21.5|g"
        ]
    );
    hits.with(&["200"]).inc_by(3);
    exporter.export(&r.snapshot()).unwrap();
    assert_eq!(
        lines(&rx),
        ["app.cold:-3|g|#room:attic", "app.cold:0|g|#room:attic", "app.hits:3|c|#code:200", "app.temp:21.5|g"],
        "only the increase, nothing for idle histograms"
    );
    r.reset();
    hits.with(&["200"]).inc();
    exporter.export(&r.snapshot()).unwrap();
    assert!(lines(&rx).contains(&"app.hits:1|c|#code:200".to_string()), "a reset sends the new total");
}

#[test]
fn plain_statsd_folds_labels_into_names() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port()).build().unwrap();
    let exporter = StatsdExporter::new(client).tags(false);
    let r = Registry::builder().self_metrics(false).build().unwrap();
    r.counter("req_total").labels(["method", "code"]).register().unwrap().with(&["GET", "200"]).inc();
    r.gauge("below").register().unwrap().set(-2.0);
    exporter.export(&r.snapshot()).unwrap();
    assert_eq!(lines(&rx), ["below:-2|g", "below:0|g", "req.GET.200:1|c"]);
}

/// Without tags, label values become name segments in StatsD's alphabet:
/// each run of other characters is one `_`, empty segments are dropped.
#[test]
fn folded_label_values_keep_to_the_name_alphabet() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port()).prefix("demo").build().unwrap();
    let exporter = StatsdExporter::new(client).tags(false);
    let r = Registry::builder().self_metrics(false).build().unwrap();
    let req = r.counter("http_requests_total").labels(["method", "path", "code"]).register().unwrap();
    req.with(&["GET", "/api/orders", "200"]).inc();
    req.with(&["POST", "/api/orders/{id} x", "500"]).inc_by(2);
    req.with(&["GET", "", "404"]).inc();
    r.gauge("queue_depth").labels(["queue"]).register().unwrap().with(&["a:b|c@d#e,f"]).set(3.0);
    exporter.export(&r.snapshot()).unwrap();
    let got = lines(&rx);
    assert_eq!(
        got,
        [
            "demo.http_requests.GET.404:1|c",
            "demo.http_requests.GET._api_orders.200:1|c",
            "demo.http_requests.POST._api_orders_id_x.500:2|c",
            "demo.queue_depth.a_b_c_d_e_f:3|g",
        ]
    );
    for l in &got {
        let name = l.split(':').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')), "{name}");
        assert!(!name.contains(".."), "{name}");
    }
}
