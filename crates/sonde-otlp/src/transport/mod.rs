//! Sending one encoded request: OTLP/HTTP or OTLP/gRPC, with retries.

mod grpc;
mod http;
mod retry;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::config::{Endpoint, Protocol, RetryPolicy, Signal};
use crate::Error;

pub use grpc::ExportRequest;

/// What one send carries: a request as a message tree (forwarded, or built
/// that way) or as the protobuf bytes Sonde's encoders write.
pub(crate) enum Body<'a, R> {
    /// A message tree.
    Tree(&'a R),
    /// The request's protobuf bytes.
    Protobuf(&'a [u8]),
}

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
    pub(crate) fn send<R: ExportRequest>(&self, request: Body<'_, R>) -> Result<(), Error> {
        let json_failed = |e: serde_json::Error| Error::Transport {
            signal: self.signal.as_str(),
            message: format!("JSON encoding failed: {e}"),
        };
        let (body, grpc_body) = match (self.endpoint.protocol, request) {
            (Protocol::HttpProtobuf, Body::Protobuf(b)) => (Some(Cow::Borrowed(b)), None),
            (Protocol::HttpProtobuf, Body::Tree(r)) => (Some(Cow::Owned(r.encode_to_vec())), None),
            // OTLP/JSON is written from the tree (decoded when only bytes are at hand).
            (Protocol::HttpJson, Body::Tree(r)) => {
                (Some(Cow::Owned(serde_json::to_vec(r).map_err(json_failed)?)), None)
            }
            (Protocol::HttpJson, Body::Protobuf(b)) => {
                let tree = R::decode(b).map_err(|e| Error::Transport {
                    signal: self.signal.as_str(),
                    message: format!("cannot read the encoded request: {e}"),
                })?;
                (Some(Cow::Owned(serde_json::to_vec(&tree).map_err(json_failed)?)), None)
            }
            (Protocol::Grpc, Body::Protobuf(b)) => (None, Some(bytes::Bytes::copy_from_slice(b))),
            (Protocol::Grpc, Body::Tree(r)) => (None, Some(bytes::Bytes::from(r.encode_to_vec()))),
        };
        self.stats.requests.fetch_add(1, Relaxed);
        let result = retry::run(&self.retry, &self.stats, || match (&self.http, &self.grpc, &body, &grpc_body) {
            (Some(h), _, Some(body), _) => h.post::<R>(self.signal, &self.endpoint, body),
            (_, Some(g), _, Some(body)) => g.call::<R>(body.clone(), self.endpoint.timeout),
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
