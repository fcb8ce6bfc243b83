//! Spec 000's `StatsDClient` on Sonde's StatsD client: lines are written
//! into a per-thread datagram and sent by the caller when it is full, or by
//! a sender thread every 100 ms; nothing on the calling path waits for the
//! network.

use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

/// A StatsD client over UDP.
#[pyclass(frozen, subclass, module = "sonde._native")]
pub(crate) struct StatsdClient {
    client: sonde_statsd::StatsdClient,
    host: String,
    port: u16,
    prefix: String,
}

#[pymethods]
impl StatsdClient {
    /// A client sending to `host:port` (defaults: `$STATSD_HOST`, else
    /// `localhost`; `$STATSD_PORT`, else 8125), every name prefixed with
    /// `prefix.` (when not empty). Raises `OSError` when `host` does not
    /// resolve or the socket cannot be made, `ValueError` for a bad
    /// `$STATSD_PORT`.
    #[new]
    #[pyo3(signature = (host = None, port = None, prefix = ""))]
    fn new(host: Option<String>, port: Option<u16>, prefix: &str) -> PyResult<Self> {
        let (env_host, env_port) = sonde_statsd::env_target().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let host = host.filter(|h| !h.is_empty()).unwrap_or(env_host);
        let port = port.filter(|&p| p != 0).unwrap_or(env_port);
        let client =
            sonde_statsd::StatsdClient::new(&host, port, prefix).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(Self { client, host, port, prefix: prefix.to_owned() })
    }

    /// The host lines go to.
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// The port lines go to.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// The prefix of every name.
    #[getter]
    fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Adds `count` to a counter (`name:count|c`, sampled at `rate`).
    #[pyo3(signature = (name, count = 1, rate = 1.0))]
    fn incr(&self, name: &str, count: i64, rate: f64) {
        self.client.incr(name, count, rate);
    }

    /// Subtracts `count` from a counter.
    #[pyo3(signature = (name, count = 1, rate = 1.0))]
    fn decr(&self, name: &str, count: i64, rate: f64) {
        self.client.decr(name, count, rate);
    }

    /// Sets a gauge (`name:value|g`).
    #[pyo3(signature = (name, value, rate = 1.0, delta = false))]
    fn gauge(&self, name: &str, value: f64, rate: f64, delta: bool) {
        if delta {
            self.client.gauge_delta(name, value, rate);
        } else {
            self.client.gauge(name, value, rate);
        }
    }

    /// Records a timing in milliseconds (`name:ms|ms`).
    #[pyo3(signature = (name, ms, rate = 1.0))]
    fn timing(&self, name: &str, ms: f64, rate: f64) {
        self.client.timing(name, ms, rate);
    }

    /// Adds `member` to a set (`name:member|s`).
    fn set(&self, name: &str, member: &str) {
        self.client.set(name, member);
    }

    /// Sends everything queued; waits at most `timeout` seconds. True when
    /// everything went.
    #[pyo3(signature = (timeout = 1.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> bool {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        py.detach(|| self.client.flush(timeout))
    }

    /// `{"queued", "dropped", "sampled_out", "datagrams", "send_errors"}`:
    /// what the client has done since it was made.
    fn stats(&self) -> std::collections::HashMap<&'static str, u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.client.stats();
        [
            ("queued", s.queued.load(Relaxed)),
            ("dropped", s.dropped.load(Relaxed)),
            ("sampled_out", s.sampled_out.load(Relaxed)),
            ("datagrams", s.datagrams.load(Relaxed)),
            ("send_errors", s.send_errors.load(Relaxed)),
        ]
        .into_iter()
        .collect()
    }
}
