//! The real StatsD daemon (npm `statsd`) receives our metrics; its
//! management port reports the values.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sonde_statsd::StatsdClient;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn statsd_js() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/node_modules/statsd/stats.js");
    let ok = p.is_file() && Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("SONDE_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("peer statsd (npm) is required (SONDE_REQUIRE_PEERS=1) but missing; run scripts/install-peers.sh");
        }
        eprintln!("skipping: the statsd daemon is not installed (scripts/install-peers.sh installs it)");
        return None;
    }
    Some(p)
}

fn mgmt(port: u16, command: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    writeln!(s, "{command}").unwrap();
    let mut out = String::new();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.starts_with("END") {
            break;
        }
        out.push_str(&line);
    }
    let _ = s.write_all(b"quit\n");
    let _ = s.read_to_string(&mut String::new());
    out
}

/// The number after `name` in util.inspect output (`'app.hits': 13`).
fn value_of(dump: &str, name: &str) -> Option<f64> {
    let at = dump.find(&format!("'{name}'"))? + name.len() + 2;
    let rest = dump[at..].trim_start_matches([':', ' ']);
    let end = rest.find([',', ' ', '\n', '}']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[test]
fn the_statsd_daemon_receives_counters_gauges_timers_and_sampled_counts() {
    let Some(js) = statsd_js() else { return };
    let udp_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mgmt_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = std::env::temp_dir().join(format!("sonde-statsd-{}.js", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "{{ port: {udp_port}, address: '127.0.0.1', mgmt_port: {mgmt_port}, mgmt_address: '127.0.0.1', \
             flushInterval: 600000, backends: ['./backends/console'], deleteIdleStats: false }}"
        ),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new("node")
            .arg(&js)
            .arg(&config)
            .current_dir(js.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", mgmt_port)).is_err() {
        assert!(Instant::now() < deadline, "statsd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

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
    let deadline = Instant::now() + Duration::from_secs(10);
    let counters = loop {
        let c = mgmt(mgmt_port, "counters");
        if value_of(&c, "sonde.sampled") == Some(sent_sampled * 2.0) || Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let gauges = mgmt(mgmt_port, "gauges");
    let timers = mgmt(mgmt_port, "timers");
    std::fs::remove_file(&config).ok();
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
