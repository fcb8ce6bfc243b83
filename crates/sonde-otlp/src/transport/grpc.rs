//! OTLP/gRPC through tonic, on a thread of its own: a small current-thread
//! runtime owned by the sender. Callers block on a reply with a deadline,
//! so sending works (and never hangs) from a multi-thread tokio runtime, a
//! current-thread one, or no runtime at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::{
    logs_service_client::LogsServiceClient, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    metrics_service_client::MetricsServiceClient, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_client::TraceServiceClient, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::sync::mpsc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic::Code;
use tonic_types::StatusExt;

use super::Attempt;
use crate::config::{Endpoint, Signal};
use crate::Error;

/// The longest server-given wait honoured (as for HTTP's `Retry-After`).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

type Reply<R> = Result<R, tonic::Status>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Job = Box<dyn FnOnce(Channel) -> BoxFuture<()> + Send>;

/// One of the three OTLP export requests (traces, metrics, logs): its
/// response type and how to send it over gRPC. Implemented here for those
/// three only.
pub trait ExportRequest: prost::Message + serde::Serialize + Clone + Send + 'static {
    /// What the receiver answers.
    type Response: prost::Message + Default + Send + 'static;
    /// Rejected items and the message of a partial success.
    fn partial(response: &Self::Response) -> (i64, String);
    /// One unary call.
    fn call(channel: Channel, request: tonic::Request<Self>, gzip: bool) -> BoxFuture<Reply<Self::Response>>;
}

macro_rules! grpc_request {
    ($req:ty, $resp:ty, $client:ident, $rejected:ident) => {
        impl ExportRequest for $req {
            type Response = $resp;
            fn partial(r: &$resp) -> (i64, String) {
                r.partial_success.as_ref().map(|p| (p.$rejected, p.error_message.clone())).unwrap_or_default()
            }
            fn call(channel: Channel, request: tonic::Request<Self>, gzip: bool) -> BoxFuture<Reply<$resp>> {
                Box::pin(async move {
                    let mut client = $client::new(channel);
                    if gzip {
                        client = client.send_compressed(CompressionEncoding::Gzip);
                    }
                    client.export(request).await.map(tonic::Response::into_inner)
                })
            }
        }
    };
}

grpc_request!(ExportTraceServiceRequest, ExportTraceServiceResponse, TraceServiceClient, rejected_spans);
grpc_request!(ExportMetricsServiceRequest, ExportMetricsServiceResponse, MetricsServiceClient, rejected_data_points);
grpc_request!(ExportLogsServiceRequest, ExportLogsServiceResponse, LogsServiceClient, rejected_log_records);

pub(crate) struct GrpcSender {
    signal: Signal,
    jobs: mpsc::UnboundedSender<Job>,
    metadata: MetadataMap,
    gzip: bool,
}

impl GrpcSender {
    pub(super) fn start(signal: Signal, endpoint: &Endpoint) -> Result<Self, Error> {
        let config = |m: String| Error::Config(format!("OTLP/gRPC {}: {m}", endpoint.url));
        let mut metadata = MetadataMap::new();
        for (k, v) in &endpoint.headers {
            let key = MetadataKey::from_bytes(k.as_bytes()).map_err(|_| config(format!("bad header name {k:?}")))?;
            let value =
                MetadataValue::try_from(v.as_str()).map_err(|_| config(format!("bad value for header {k:?}")))?;
            metadata.insert(key, value);
        }
        let mut target = tonic::transport::Endpoint::from_shared(endpoint.url.clone())
            .map_err(|e| config(e.to_string()))?
            .connect_timeout(endpoint.timeout)
            .timeout(endpoint.timeout);
        if endpoint.url.starts_with("https://") {
            let mut tls = match &endpoint.ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(tonic::transport::Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_webpki_roots(),
            };
            if let Some((cert, key)) = &endpoint.client_pem {
                tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
            }
            target = target.tls_config(tls).map_err(|e| config(format!("TLS: {e}")))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config(format!("cannot start the gRPC runtime: {e}")))?;
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name(format!("sonde-otlp-grpc-{}", signal.as_str()))
            .spawn(move || {
                runtime.block_on(async move {
                    let channel = target.connect_lazy();
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job(channel.clone()));
                    }
                });
            })
            .map_err(|e| config(format!("cannot start the gRPC thread: {e}")))?;
        Ok(Self { signal, jobs, metadata, gzip: endpoint.gzip })
    }

    /// One call; waits at most `timeout` (plus a second of slack).
    pub(super) fn call<R: ExportRequest>(&self, request: R, timeout: Duration) -> Attempt {
        let (tx, rx) = std_mpsc::sync_channel::<Reply<R::Response>>(1);
        let mut request = tonic::Request::new(request);
        *request.metadata_mut() = self.metadata.clone();
        request.set_timeout(timeout);
        let gzip = self.gzip;
        let job: Job = Box::new(move |channel| {
            Box::pin(async move {
                let reply = match tokio::time::timeout(timeout, R::call(channel, request, gzip)).await {
                    Ok(r) => r,
                    Err(_) => Err(tonic::Status::deadline_exceeded("no answer in time")),
                };
                let _ = tx.send(reply);
            })
        });
        let signal = self.signal.as_str();
        if self.jobs.send(job).is_err() {
            return Attempt::Fail(Error::Transport { signal, message: "the gRPC thread has stopped".into() });
        }
        match rx.recv_timeout(timeout + Duration::from_secs(1)) {
            Ok(Ok(response)) => {
                let (rejected, message) = R::partial(&response);
                Attempt::Done { rejected, message }
            }
            Ok(Err(status)) => {
                // The server's own wait (google.rpc.RetryInfo in the status
                // details), as OTLP throttling prescribes.
                let delay = status.get_details_retry_info().and_then(|r| r.retry_delay);
                // OTLP/gRPC: these codes are retryable, every other is final;
                // RESOURCE_EXHAUSTED only when the server says when to retry.
                let retryable = match status.code() {
                    Code::Cancelled
                    | Code::DeadlineExceeded
                    | Code::Aborted
                    | Code::OutOfRange
                    | Code::Unavailable
                    | Code::DataLoss => true,
                    Code::ResourceExhausted => delay.is_some(),
                    _ => false,
                };
                let message: String = status.message().chars().take(512).collect();
                let e = Error::Status { signal, status: status.code() as u16, message, retryable };
                if retryable {
                    Attempt::Retry(e, delay.map(|d| d.min(MAX_RETRY_DELAY)))
                } else {
                    Attempt::Fail(e)
                }
            }
            Err(_) => Attempt::Retry(Error::Transport { signal, message: "no answer in time".into() }, None),
        }
    }
}
