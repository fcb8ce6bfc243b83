//! Sends snapshots with remote write 1.0.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use prost::Message;
use sonde::Snapshot;
use sonde_export::{Error, Exporter};

use crate::prompb::{Histogram, Label, Sample, TimeSeries, WriteRequest};
use crate::series::{identity, to_series, STALE_NAN};

/// Options for a [`RemoteWriteExporter`].
#[derive(Clone, Debug)]
pub struct RemoteWriteBuilder {
    url: String,
    labels: Vec<(String, String)>,
    max_series: usize,
    timeout: Duration,
    auth: Option<String>,
}

impl RemoteWriteBuilder {
    /// Adds a label to every series (such as `job` or `instance`).
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// Series per request (default 2,000).
    pub fn max_series_per_request(mut self, n: usize) -> Self {
        self.max_series = n.max(1);
        self
    }

    /// Request timeout (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// HTTP basic auth.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.auth = Some(format!("Basic {token}"));
        self
    }

    /// Bearer token auth.
    pub fn bearer(mut self, token: &str) -> Self {
        self.auth = Some(format!("Bearer {token}"));
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    ///
    /// [`Error`] when the URL or a header is invalid, or the batch size is zero.
    pub fn build(self) -> Result<RemoteWriteExporter, Error> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::Other {
                exporter: "remote_write".into(),
                message: format!("the remote-write URL must start with http:// or https://, got {:?}", self.url),
                retryable: false,
            });
        }
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(self.timeout)).http_status_as_error(false).build().into();
        Ok(RemoteWriteExporter { options: self, agent, previous: Mutex::new(HashMap::new()) })
    }
}

/// Sends each snapshot to a remote-write 1.0 receiver (Prometheus with
/// `--web.enable-remote-write-receiver`, VictoriaMetrics, Mimir, Thanos,
/// Cortex): protobuf from the official schema, snappy block compression,
/// `Content-Encoding: snappy`, `Content-Type: application/x-protobuf`,
/// `X-Prometheus-Remote-Write-Version: 0.1.0`; labels sorted and unique;
/// requests of at most `max_series_per_request` series. A series that was
/// sent before and is gone now gets a staleness marker, so queries stop
/// returning it at once. 5xx and 429 answers are retryable, other 4xx are
/// not. Drive it with `sonde_export::PeriodicExporter`.
pub struct RemoteWriteExporter {
    options: RemoteWriteBuilder,
    agent: ureq::Agent,
    /// Series sent last time, by identity (for staleness markers).
    previous: Mutex<HashMap<String, (Vec<Label>, bool)>>,
}

impl RemoteWriteExporter {
    /// Options for sending to `url` (like `http://127.0.0.1:8428/api/v1/write`).
    pub fn builder(url: &str) -> RemoteWriteBuilder {
        RemoteWriteBuilder {
            url: url.into(),
            labels: Vec::new(),
            max_series: 2000,
            timeout: Duration::from_secs(10),
            auth: None,
        }
    }

    /// Encodes one request body: protobuf, then snappy (block format).
    pub fn encode(series: Vec<TimeSeries>) -> Vec<u8> {
        let request = WriteRequest { timeseries: series, metadata: vec![] };
        let raw = request.encode_to_vec();
        snap::raw::Encoder::new().compress_vec(&raw).unwrap_or_default()
    }

    /// Sends one encoded request body (from [`RemoteWriteExporter::bodies`]
    /// or [`RemoteWriteExporter::encode`]).
    ///
    /// # Errors
    ///
    /// The receiver's status (5xx and 429 retryable, other 4xx not) or the transport's failure.
    pub fn send_body(&self, body: &[u8]) -> Result<(), Error> {
        self.post(body)
    }

    /// The request bodies for `snapshot`, as [`Exporter::export`] would send
    /// them, each with its number of series: the snapshot's series (with
    /// staleness markers for the series gone since the previous call) in
    /// requests of at most `max_series_per_request`. For a sender that
    /// queues bodies before sending them.
    pub fn bodies(&self, snapshot: &Snapshot) -> Vec<(Vec<u8>, u64)> {
        let ts = snapshot.timestamp.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut series = to_series(snapshot, &self.options.labels, ts);
        let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        let current: HashMap<String, (Vec<Label>, bool)> =
            series.iter().map(|s| (identity(s), (s.labels.clone(), !s.histograms.is_empty()))).collect();
        let stale_ts = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(ts).max(ts);
        for (id, (labels, native)) in previous.iter() {
            if !current.contains_key(id) {
                // A native histogram goes stale as a histogram whose sum is the marker.
                let stale = if *native {
                    TimeSeries {
                        labels: labels.clone(),
                        histograms: vec![Histogram {
                            sum: f64::from_bits(STALE_NAN),
                            timestamp: stale_ts,
                            ..Histogram::default()
                        }],
                        ..TimeSeries::default()
                    }
                } else {
                    TimeSeries {
                        labels: labels.clone(),
                        samples: vec![Sample { value: f64::from_bits(STALE_NAN), timestamp: stale_ts }],
                        ..TimeSeries::default()
                    }
                };
                series.push(stale);
            }
        }
        *previous = current;
        let mut bodies = Vec::new();
        let mut rest = series;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(self.options.max_series));
            let chunk = std::mem::replace(&mut rest, tail);
            let n = chunk.len() as u64;
            bodies.push((Self::encode(chunk), n));
        }
        bodies
    }

    fn post(&self, body: &[u8]) -> Result<(), Error> {
        let mut request = self
            .agent
            .post(&self.options.url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header("User-Agent", concat!("sonde/", env!("CARGO_PKG_VERSION")));
        if let Some(a) = &self.options.auth {
            request = request.header("Authorization", a);
        }
        let response = request.send(body).map_err(|e| Error::transport("remote_write", e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(Error::from_status("remote_write", status, &response.into_body().read_to_string().unwrap_or_default()))
    }
}

impl Exporter for RemoteWriteExporter {
    fn name(&self) -> &str {
        "remote_write"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        for (body, _) in self.bodies(snapshot) {
            self.post(&body)?;
        }
        Ok(())
    }
}
