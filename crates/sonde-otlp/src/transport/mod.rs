//! Sending one encoded request: OTLP/HTTP or OTLP/gRPC, with retries.

mod grpc;
mod http;
mod retry;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::config::{Endpoint, Protocol, RetryPolicy, Signal};
use crate::Error;

pub use grpc::ExportRequest;

/// Counts kept per signal, exposed as `sonde_otlp_*` self-metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub retries: AtomicU64,
    pub rejected: AtomicU64,
}

/// What one attempt came to.
pub(crate) enum Attempt {
    /// Accepted; a partial success says how many items were rejected.
    Done { rejected: i64, message: String },
    /// Failed in a way OTLP says to retry, maybe after a given wait.
    Retry(Error, Option<std::time::Duration>),
    /// Failed for good.
    Fail(Error),
}

/// Sends requests for one signal.
pub(crate) struct Client {
    signal: Signal,
    endpoint: Endpoint,
    retry: RetryPolicy,
    http: Option<http::HttpSender>,
    grpc: Option<grpc::GrpcSender>,
    pub stats: Arc<Stats>,
}

impl Client {
    pub(crate) fn new(signal: Signal, endpoint: Endpoint, retry: RetryPolicy) -> Result<Self, Error> {
        let (http, grpc) = match endpoint.protocol {
            Protocol::Grpc => (None, Some(grpc::GrpcSender::start(signal, &endpoint)?)),
            _ => (Some(http::HttpSender::new(&endpoint)?), None),
        };
        Ok(Self { signal, endpoint, retry, http, grpc, stats: Arc::default() })
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    /// Sends `request`, retrying as the policy allows.
    pub(crate) fn send<R: ExportRequest>(&self, request: &R) -> Result<(), Error> {
        let body = match self.endpoint.protocol {
            Protocol::HttpProtobuf => Some(prost::Message::encode_to_vec(request)),
            Protocol::HttpJson => Some(serde_json::to_vec(request).map_err(|e| Error::Transport {
                signal: self.signal.as_str(),
                message: format!("JSON encoding failed: {e}"),
            })?),
            Protocol::Grpc => None,
        };
        self.stats.requests.fetch_add(1, Relaxed);
        let result = retry::run(&self.retry, &self.stats, || match (&self.http, &self.grpc, &body) {
            (Some(h), _, Some(body)) => h.post::<R>(self.signal, &self.endpoint, body),
            (_, Some(g), _) => g.call(request.clone(), self.endpoint.timeout),
            _ => Attempt::Fail(Error::Config("no transport".into())),
        });
        match result {
            Ok((rejected, message)) => {
                if rejected > 0 || !message.is_empty() {
                    self.stats.rejected.fetch_add(rejected.max(0) as u64, Relaxed);
                    log::warn!(
                        target: "sonde::otlp",
                        "{}: partial success, {rejected} item(s) rejected: {message}",
                        self.signal.as_str()
                    );
                }
                Ok(())
            }
            Err(e) => {
                self.stats.failures.fetch_add(1, Relaxed);
                Err(e)
            }
        }
    }
}
