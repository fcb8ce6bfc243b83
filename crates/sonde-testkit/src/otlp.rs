//! The Python OTLP receiver (`tests/peers/otlp_receiver.py`, on the official
//! protobuf classes), started per test on ports it picks and killed by PID
//! when dropped; OTLP/HTTP posts; flattening of decoded requests.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::http;
use crate::process::ChildGuard;
use crate::wait::poll_until;

/// The receiver: its HTTP, gRPC and (with TLS) HTTPS ports.
pub struct Receiver {
    /// The Python process (killed when dropped).
    pub process: ChildGuard,
    /// OTLP/HTTP port (also serves the control endpoints).
    pub http: u16,
    /// OTLP/gRPC port.
    pub grpc: u16,
    /// OTLP/HTTP over TLS, when started with a certificate.
    pub https: Option<u16>,
}

impl Receiver {
    /// Starts the receiver, or returns `None` (after reporting) when the
    /// Python peer is missing.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts the receiver with extra command-line arguments (see the
    /// script's docstring: `--tls-cert`, `--tls-key`, ...).
    pub fn start_with(args: &[&str]) -> Option<Self> {
        let python = crate::peers::python_with("opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc, grpc")?;
        let script = crate::peers::workspace_root().join("tests/peers/otlp_receiver.py");
        let mut process = ChildGuard::spawn(Command::new(python).arg(script).args(args).stdout(Stdio::piped()));
        let mut line = String::new();
        BufReader::new(process.0.stdout.take().expect("piped stdout")).read_line(&mut line).unwrap();
        let port =
            |key: &str| -> Option<u16> { line.split_whitespace().find_map(|kv| kv.strip_prefix(key))?.parse().ok() };
        let (Some(http), Some(grpc)) = (port("http="), port("grpc=")) else {
            panic!("the receiver did not print its ports: {line:?}");
        };
        Some(Self { process, http, grpc, https: port("https=") })
    }

    /// `http://127.0.0.1:PORT` of the OTLP/HTTP port.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// `http://127.0.0.1:PORT` of the OTLP/gRPC port.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    fn control(&self, method: &str, path: &str, body: &str) -> http::Reply {
        http::request(&format!("127.0.0.1:{}", self.http), method, path, &[], body.as_bytes())
    }

    /// Every accepted request so far (`{"signal": .., "body": ..}`).
    pub fn received(&self) -> Vec<Value> {
        serde_json::from_slice(&self.control("GET", "/received", "").body).unwrap_or_default()
    }

    /// Accepted request bodies of one signal, waiting up to `timeout` for at
    /// least `n` of them (returns what arrived either way).
    pub fn wait_for_within(&self, signal: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let of_signal = || -> Vec<Value> {
            self.received().into_iter().filter(|r| r["signal"] == signal).map(|r| r["body"].clone()).collect()
        };
        poll_until(timeout, || Some(of_signal()).filter(|got| got.len() >= n)).unwrap_or_else(of_signal)
    }

    /// [`Receiver::wait_for_within`] ten seconds.
    pub fn wait_for(&self, signal: &str, n: usize) -> Vec<Value> {
        self.wait_for_within(signal, n, Duration::from_secs(10))
    }

    /// Export requests that arrived, accepted or not.
    pub fn attempts(&self) -> u64 {
        self.control("GET", "/attempts", "").text().trim().parse().unwrap_or(0)
    }

    /// Scripts the next answers (see the receiver's docstring).
    pub fn script(&self, json: &str) {
        self.control("POST", "/control", json);
    }

    /// Forgets everything received.
    pub fn reset(&self) {
        self.control("POST", "/reset", "");
    }
}

/// Posts an OTLP/HTTP protobuf body to `addr` (`host:port`) at `path`
/// (`/v1/traces`...).
pub fn post_protobuf(addr: &str, path: &str, body: &[u8]) -> http::Reply {
    http::post(addr, path, "application/x-protobuf", body)
}

/// Posts an OTLP/JSON body.
pub fn post_json(addr: &str, path: &str, body: &str) -> http::Reply {
    http::post(addr, path, "application/json", body.as_bytes())
}

/// Every span in decoded export requests.
pub fn spans_of(bodies: &[Value]) -> Vec<Value> {
    items(bodies, ["resourceSpans", "scopeSpans", "spans"])
}

/// Every log record in decoded export requests.
pub fn log_records_of(bodies: &[Value]) -> Vec<Value> {
    items(bodies, ["resourceLogs", "scopeLogs", "logRecords"])
}

/// Every metric in decoded export requests.
pub fn metrics_of(bodies: &[Value]) -> Vec<Value> {
    items(bodies, ["resourceMetrics", "scopeMetrics", "metrics"])
}

fn items(bodies: &[Value], [outer, middle, inner]: [&str; 3]) -> Vec<Value> {
    bodies
        .iter()
        .flat_map(|b| b[outer].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r[middle].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s[inner].as_array().cloned().unwrap_or_default())
        .collect()
}
