//! The Python OTLP receiver (`tests/peers/otlp_receiver.py`), started per
//! test on free loopback ports and killed by PID when dropped.

#![allow(dead_code)]

#[path = "../../../sonde-prometheus/tests/support/peers.rs"]
pub mod peers;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Receiver {
    _peer: peers::Peer,
    pub http: u16,
    pub grpc: u16,
    /// OTLP/HTTP over TLS, when started with a certificate.
    pub https: Option<u16>,
}

/// A plain HTTP/1.1 exchange with the receiver's control endpoints.
fn exchange(port: u16, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

impl Receiver {
    /// Starts the receiver, or returns `None` (after reporting) when the
    /// Python peer is missing.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Serves TLS on both ports with this certificate and key (PEM files).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Option<Self> {
        Self::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
    }

    fn start_with(args: &[&str]) -> Option<Self> {
        let python = peers::python_with("opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc, grpc")?;
        let script = peers::workspace_root().join("tests/peers/otlp_receiver.py");
        let mut child = Command::new(python).arg(script).args(args).stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = |key: &str| -> u16 {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("receiver did not print its ports: {line:?}"))
        };
        let (http, grpc) = (port("http="), port("grpc="));
        let https = line.split_whitespace().find_map(|kv| kv.strip_prefix("https=")).and_then(|p| p.parse().ok());
        Some(Self { _peer: peers::Peer(child), http, grpc, https })
    }

    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// Every accepted request so far.
    pub fn received(&self) -> Vec<Value> {
        serde_json::from_str(&exchange(self.http, "GET", "/received", "")).unwrap()
    }

    /// Accepted requests of one signal, waiting up to 10 s for `n` of them.
    pub fn wait_for(&self, signal: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got: Vec<Value> =
                self.received().into_iter().filter(|r| r["signal"] == signal).map(|r| r["body"].clone()).collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Export requests that arrived, accepted or not.
    pub fn attempts(&self) -> u64 {
        exchange(self.http, "GET", "/attempts", "").trim().parse().unwrap()
    }

    /// Scripts the next answers (see the receiver's docstring).
    pub fn script(&self, json: &str) {
        exchange(self.http, "POST", "/control", json);
    }

    pub fn reset(&self) {
        exchange(self.http, "POST", "/reset", "");
    }
}

/// Every span in decoded export requests.
pub fn spans_of(bodies: &[Value]) -> Vec<Value> {
    items(bodies, ["resourceSpans", "scopeSpans", "spans"])
}

/// Every log record in decoded export requests.
pub fn log_records_of(bodies: &[Value]) -> Vec<Value> {
    items(bodies, ["resourceLogs", "scopeLogs", "logRecords"])
}

fn items(bodies: &[Value], [outer, middle, inner]: [&str; 3]) -> Vec<Value> {
    bodies
        .iter()
        .flat_map(|b| b[outer].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r[middle].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s[inner].as_array().cloned().unwrap_or_default())
        .collect()
}
