//! Sending a line allocates nothing once the thread's datagram exists
//! (the datagram's buffer is reused after each send).

use std::time::Duration;

use sonde_statsd::StatsdClient;
use sonde_testkit::alloc::allocations;

#[global_allocator]
static GLOBAL: sonde_testkit::alloc::Counting = sonde_testkit::alloc::Counting;

#[test]
fn sending_lines_allocates_nothing() {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", sink.local_addr().unwrap().port())
        .prefix("app")
        .tag("env", "ci")
        .build()
        .unwrap();
    // The thread's datagram and its scratch line grow to their sizes here.
    client.incr("warm", 1, 1.0);
    client.gauge("warm_depth_two_lines", -1.0, 1.0);
    assert_eq!(allocations(|_| client.incr("requests", 1, 1.0)), 0, "incr");
    assert_eq!(allocations(|i| client.gauge("depth", i as f64 - 5000.0, 1.0)), 0, "gauge, negatives included");
    assert_eq!(allocations(|i| client.timing("db", i as f64 / 10.0, 1.0)), 0, "timing");
    assert_eq!(
        allocations(|_| client.send_tagged("hits", 1.0, sonde_statsd::Kind::Counter, 1.0, &[("route", "/a")])),
        0
    );
    assert!(client.flush(Duration::from_secs(5)));
}
