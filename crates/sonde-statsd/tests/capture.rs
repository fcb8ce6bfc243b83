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

/// A receiver that stops reading: once its socket queue is full the
/// caller's sends would block, the sender's queue of handed-over datagrams
/// fills, and further lines are dropped and counted; the caller never waits.
#[cfg(unix)]
#[test]
fn a_full_socket_drops_and_counts_without_blocking() {
    let dir = sonde_testkit::peers::temp_dir("statsd-full");
    let path = dir.path().join("rx.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap(); // not read while writing
    let client = StatsdClient::builder("unused", 0)
        .unix_socket(&path)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    const LINES: u64 = 200_000;
    let writer = client.clone();
    sonde_testkit::finishes_within(Duration::from_secs(10), "writing to a full socket", move || {
        for _ in 0..LINES {
            writer.incr("x", 1, 1.0);
        }
    });
    let stats = client.stats();
    drop(client); // a stop on a congested socket: what is left is counted
    let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let mut delivered = 0u64;
    let mut buf = [0u8; 2048];
    rx.set_nonblocking(true).unwrap();
    while let Ok(n) = rx.recv(&mut buf) {
        delivered += buf[..n].split(|&b| b == b'\n').count() as u64;
    }
    assert!(dropped > 0, "the socket filled: some lines dropped");
    assert_eq!(delivered + dropped, LINES, "every line delivered or counted as dropped ({stats:?})");
}

/// Lines from more threads than have buffers of their own go through the
/// bounded queue: with a queue of 10 and nothing sent, the rest is dropped
/// and counted, and nobody waits.
#[test]
fn threads_beyond_their_buffers_share_a_bounded_queue() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port())
        .capacity(10)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    // 80 threads alive at once: at least 16 have no buffer of their own.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(80));
    let threads: Vec<_> = (0..80)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..10 {
                    client.incr("x", 1, 1.0);
                }
                barrier.wait();
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let stats = client.stats();
    let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped >= 16 * 10 - 10, "the shared queue holds 10 lines: {dropped} dropped");
    // Lines in the threads' own datagrams count as queued once they leave.
    assert!(client.flush(Duration::from_secs(5)));
    let queued = stats.queued.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(queued + dropped, 800);
    assert_eq!(
        receive_all(&rx, queued as usize).iter().map(|d| d.split(|&b| b == b'\n').count()).sum::<usize>(),
        queued as usize
    );
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

/// Each thread's lines arrive in the order it wrote them, whichever path
/// they took: its own datagram, the hand-over to the sender, or the shared
/// queue while the sender (flushing every millisecond) holds its datagram.
#[test]
fn each_threads_lines_keep_their_order() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let client = StatsdClient::builder("127.0.0.1", rx.local_addr().unwrap().port())
        .flush_interval(Duration::from_millis(1))
        .build()
        .unwrap();
    // Few enough datagrams (about 60) that the receiver's socket buffer
    // holds them all even if the reader is not scheduled.
    const THREADS: usize = 4;
    const LINES: usize = 2_000;
    // The reader only copies datagrams (parsing comes after), to keep up.
    let reader = std::thread::spawn(move || {
        let mut datagrams = Vec::new();
        let mut buf = [0u8; 65536];
        while let Ok(n) = rx.recv(&mut buf) {
            datagrams.push(buf[..n].to_vec());
        }
        let mut got: Vec<Vec<usize>> = vec![Vec::new(); THREADS];
        for d in &datagrams {
            for line in String::from_utf8_lossy(d).lines() {
                let (name, rest) = line.split_once(':').unwrap();
                let t: usize = name.trim_start_matches('t').parse().unwrap();
                got[t].push(rest.trim_end_matches("|g").parse().unwrap());
            }
        }
        got
    });
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for seq in 0..LINES {
                    client.gauge(&format!("t{t}"), seq as f64, 1.0);
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    assert!(client.flush(Duration::from_secs(5)));
    let got = reader.join().unwrap();
    let s = client.stats();
    eprintln!(
        "queued {} dropped {} datagrams {} send errors {}",
        s.queued.load(std::sync::atomic::Ordering::Relaxed),
        s.dropped.load(std::sync::atomic::Ordering::Relaxed),
        s.datagrams.load(std::sync::atomic::Ordering::Relaxed),
        s.send_errors.load(std::sync::atomic::Ordering::Relaxed)
    );
    for (t, seqs) in got.iter().enumerate() {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "thread {t}: out of order");
        assert!(seqs.len() * 10 >= LINES * 9, "thread {t}: {} of {LINES} lines arrived", seqs.len());
    }
}
