//! Every datagram, captured raw: grammar, size limit, no injection, drops.

use std::net::UdpSocket;
use std::time::Duration;

use sonde_statsd::{Kind, StatsdClient};

/// `name:value|type[|@rate][|#tags]` with nothing that could split a line.
fn valid_line(l: &str) -> bool {
    let mut fields = l.split('|');
    let Some((name, value)) = fields.next().and_then(|f| f.split_once(':')) else { return false };
    let name_ok = !name.is_empty() && !name.contains([':', '|', '@', '#', ',']) && !name.contains(char::is_whitespace);
    let Some(kind) = fields.next() else { return false };
    let kind_ok = ["c", "g", "ms", "s", "h", "d"].contains(&kind);
    let value_ok = kind == "s" || value.trim_start_matches(['+', '-']).parse::<f64>().is_ok();
    let rest_ok = fields.all(|f| {
        f.strip_prefix('@').is_some_and(|r| r.parse::<f64>().is_ok_and(|r| r > 0.0 && r <= 1.0))
            || f.strip_prefix('#').is_some_and(|t| !t.is_empty() && t.split(',').all(|tag| !tag.is_empty()))
    });
    name_ok && kind_ok && value_ok && rest_ok
}

fn receive_all(sock: &UdpSocket, want_lines: usize) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut datagrams = Vec::new();
    let mut lines = 0;
    let mut buf = [0u8; 65536];
    while lines < want_lines {
        let Ok(n) = sock.recv(&mut buf) else { break };
        lines += buf[..n].split(|b| *b == b'\n').count();
        datagrams.push(buf[..n].to_vec());
    }
    datagrams
}

#[test]
fn datagrams_respect_grammar_size_and_never_inject() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let client =
        StatsdClient::builder("127.0.0.1", port).prefix("app").max_packet_size(200).tag("env", "test").build().unwrap();
    let hostile = ["ok", "evil:1|c\ninjected:999|c", "sp ace", "pipe|#tag", "at@rate", "ü-ñ"];
    let mut sent = 0;
    for i in 0..400 {
        let name = hostile[i % hostile.len()];
        match i % 6 {
            0 => client.incr(name, 1, 1.0),
            1 => client.gauge(name, i as f64, 1.0),
            2 => client.timing(name, 1.5, 1.0),
            3 => client.set(name, "member"),
            4 => client.send_tagged(name, 2.0, Kind::Distribution, 1.0, &[("k|x", "v\n,y"), ("bare", "")]),
            _ => client.gauge_delta(name, -3.0, 1.0),
        }
        sent += 1;
    }
    assert!(client.flush(Duration::from_secs(5)));
    let datagrams = receive_all(&rx, sent);
    let mut lines = 0;
    for d in &datagrams {
        assert!(d.len() <= 200, "datagram of {} bytes", d.len());
        let text = std::str::from_utf8(d).unwrap();
        for l in text.split('\n') {
            assert!(valid_line(l), "invalid line {l:?}");
            assert!(l.starts_with("app.") && l.contains("|#env:test"), "{l}");
            assert!(!l.contains("injected:999"), "{l}");
            lines += 1;
        }
    }
    assert_eq!(lines, sent, "one line per call, none injected");
    assert!(datagrams.len() > 1, "lines were batched into several datagrams");
}

#[test]
fn sampling_adds_the_rate_and_sends_about_that_share() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port()).build().unwrap();
    for _ in 0..2000 {
        client.incr("s", 1, 0.25);
    }
    client.flush(Duration::from_secs(5));
    let queued = client.stats().queued.load(std::sync::atomic::Ordering::Relaxed) as usize;
    let skipped = client.stats().sampled_out.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert_eq!(queued + skipped, 2000);
    assert!((300..700).contains(&queued), "{queued}");
    let text: String =
        receive_all(&rx, queued).iter().map(|d| String::from_utf8_lossy(d).into_owned() + "\n").collect();
    assert!(text.lines().all(|l| l == "s:1|c|@0.25"), "{text}");
}

#[test]
fn a_full_buffer_drops_and_counts_without_blocking() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port())
        .capacity(10)
        .flush_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..100 {
        client.incr("x", 1, 1.0);
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    let stats = client.stats();
    assert_eq!(stats.queued.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert_eq!(stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 90);
}

#[test]
fn negative_gauges_are_set_not_subtracted() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port()).build().unwrap();
    client.gauge("t", -7.0, 1.0);
    client.flush(Duration::from_secs(5));
    let d = receive_all(&rx, 2);
    assert_eq!(String::from_utf8_lossy(&d.concat()), "t:0|g\nt:-7|g");
}

#[cfg(unix)]
#[test]
fn unix_datagram_socket() {
    let path = std::env::temp_dir().join(format!("sonde-statsd-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let client = StatsdClient::builder("unused", 0).unix_socket(&path).build().unwrap();
    client.incr("via_unix", 3, 1.0);
    client.flush(Duration::from_secs(5));
    let mut buf = [0u8; 512];
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"via_unix:3|c");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn defaults_come_from_the_environment() {
    // The only test that touches STATSD_*.
    std::env::remove_var("STATSD_HOST");
    std::env::remove_var("STATSD_PORT");
    assert_eq!(sonde_statsd::env_target().unwrap(), ("localhost".to_string(), 8125));
    std::env::set_var("STATSD_HOST", "127.0.0.1");
    std::env::set_var("STATSD_PORT", "9125");
    assert_eq!(sonde_statsd::env_target().unwrap(), ("127.0.0.1".to_string(), 9125));
    std::env::set_var("STATSD_PORT", "not-a-port");
    assert!(matches!(sonde_statsd::env_target(), Err(sonde_statsd::Error::Port(_))));
    std::env::remove_var("STATSD_HOST");
    std::env::remove_var("STATSD_PORT");
    assert!(StatsdClient::builder("127.0.0.1", 8125).max_packet_size(10).build().is_err());
}
