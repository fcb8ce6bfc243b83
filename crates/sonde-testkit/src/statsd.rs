//! StatsD senders, and the StatsD daemon (npm `statsd`) as a peer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{self, ChildGuard};
use crate::wait::poll_until;

/// Sends one datagram to `addr`.
pub fn send_udp(addr: &str, payload: &[u8]) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    sock.send_to(payload, addr).unwrap_or_else(|e| panic!("send to {addr}: {e}"));
}

/// Writes `payload` on one TCP connection to `addr`, then closes it.
pub fn send_tcp(addr: &str, payload: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.write_all(payload).unwrap();
}

/// The Etsy StatsD daemon (npm `statsd` in `tests/peers`), on ports the
/// kernel picks (ports given as the string "0": the daemon reads a
/// numeric 0 as "use the default"), flushing to its console backend once an hour (so its
/// management port shows everything received).
pub struct Daemon {
    /// The node process (killed when dropped).
    pub process: ChildGuard,
    /// The UDP port it receives on.
    pub udp: u16,
    /// Its management (TCP) port.
    pub mgmt: u16,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts the daemon, or `None` after [`crate::peers::missing`].
    pub fn start() -> Option<Self> {
        let package = crate::peers::node_package("statsd")?;
        let dir = crate::peers::temp_dir("statsd");
        let config = dir.path().join("config.js");
        std::fs::write(
            &config,
            "{ port: '0', address: '127.0.0.1', mgmt_port: '0', mgmt_address: '127.0.0.1', \
             flushInterval: 3600000, backends: ['./backends/console'], deleteIdleStats: false }",
        )
        .expect("write the daemon's config");
        let process = ChildGuard::spawn(
            Command::new("node")
                .arg(package.join("stats.js"))
                .arg(&config)
                .current_dir(&package)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let mgmt = process::wait_for_tcp_listener(&process, Duration::from_secs(20));
        let udp = poll_until(Duration::from_secs(20), || process::udp_sockets(process.pid()).first().copied())
            .expect("the daemon bound no UDP port");
        Some(Self { process, udp, mgmt, _dir: dir })
    }

    /// Runs a management command (`counters`, `gauges`, `timers`) and
    /// returns its output up to `END`.
    pub fn mgmt(&self, command: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.mgmt)).expect("management port");
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
}

/// The number after `name` in the daemon's `util.inspect` output
/// (`'app.hits': 13`).
pub fn value_of(dump: &str, name: &str) -> Option<f64> {
    let at = dump.find(&format!("'{name}'"))? + name.len() + 2;
    let rest = dump[at..].trim_start_matches([':', ' ']);
    let end = rest.find([',', ' ', '\n', '}']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}
