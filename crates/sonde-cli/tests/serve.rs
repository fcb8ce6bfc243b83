//! `sonde serve`: StatsD over UDP and TCP into /metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn addr_after(line: &str, marker: &str) -> String {
    line.split(marker).nth(1).unwrap().trim().trim_end_matches("/metrics").to_owned()
}

fn scrape(http: &str) -> String {
    let mut s = std::net::TcpStream::connect(http).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn statsd_over_udp_and_tcp_lands_in_metrics() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--listen", "127.0.0.1:0", "--statsd", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l);
    }
    let http = addr_after(&lines[0], "http://");
    let udp = addr_after(&lines[1], "udp at ");
    let tcp = addr_after(&lines[2], "tcp at ");

    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"hits:1|c\nnot a statsd line\nlat:100|ms|#route:/a\ntemp:5|g\ntemp:-2|g", &udp).unwrap();
    let mut t = std::net::TcpStream::connect(&tcp).unwrap();
    t.write_all(b"hits:2|c\nusers:alice|s\nusers:bob|s\n").unwrap();
    drop(t);

    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let body = scrape(&http);
        if (body.contains("hits_total 3") && body.contains("users 2")) || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.contains("hits_total 3"), "UDP and TCP counts add up: {body}");
    assert!(body.contains("lat_seconds_count{route=\"/a\"} 1"), "{body}");
    assert!(body.contains("temp 3"), "signed gauge delta: {body}");
    assert!(body.contains("users 2"), "{body}");
    assert!(body.contains("sonde_statsd_rejected_total{reason=\"no_value\"} 1"), "{body}");
    assert!(body.contains("sonde_statsd_received_total 8"), "{body}");

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
}
