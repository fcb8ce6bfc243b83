//! OTLP/gRPC through tonic, on a thread of its own: a small current-thread
//! runtime owned by the sender. Callers block on a reply with a deadline,
//! so sending works (and never hangs) from a multi-thread tokio runtime, a
//! current-thread one, or no runtime at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tokio::sync::mpsc;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
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
/// response type and its gRPC method. Implemented here for those three only.
pub trait ExportRequest: prost::Message + Default + serde::Serialize + Clone + Send + 'static {
    /// What the receiver answers.
    type Response: prost::Message + Default + Send + Sync + 'static;
    /// The gRPC method's path.
    const PATH: &'static str;
    /// Rejected items and the message of a partial success.
    fn partial(response: &Self::Response) -> (i64, String);
}

macro_rules! grpc_request {
    ($req:ty, $resp:ty, $path:literal, $rejected:ident) => {
        impl ExportRequest for $req {
            type Response = $resp;
            const PATH: &'static str = $path;
            fn partial(r: &$resp) -> (i64, String) {
                r.partial_success.as_ref().map(|p| (p.$rejected, p.error_message.clone())).unwrap_or_default()
            }
        }
    };
}

grpc_request!(
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    rejected_spans
);
grpc_request!(
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    rejected_data_points
);
grpc_request!(
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    rejected_log_records
);

/// A request's protobuf bytes, sent as they are (the encoders write them
/// directly; tonic's prost codec frames them without a second encoding).
#[derive(Clone, Debug, Default)]
struct Encoded(Bytes);

impl prost::Message for Encoded {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        buf.put_slice(&self.0);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // Never decoded: only sent.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// One unary call of `R`'s method with `body` as the request.
async fn unary<R: ExportRequest>(channel: Channel, request: tonic::Request<Encoded>, gzip: bool) -> Reply<R::Response> {
    let mut grpc = tonic::client::Grpc::new(channel);
    if gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("not ready: {e}")))?;
    let codec = tonic_prost::ProstCodec::<Encoded, R::Response>::default();
    grpc.unary(request, PathAndQuery::from_static(R::PATH), codec).await.map(tonic::Response::into_inner)
}

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

    /// One call with `body` (a request's protobuf bytes); waits at most
    /// `timeout` (plus a second of slack).
    pub(super) fn call<R: ExportRequest>(&self, body: Bytes, timeout: Duration) -> Attempt {
        let (tx, rx) = std_mpsc::sync_channel::<Reply<R::Response>>(1);
        let mut request = tonic::Request::new(Encoded(body));
        *request.metadata_mut() = self.metadata.clone();
        request.set_timeout(timeout);
        let gzip = self.gzip;
        let job: Job = Box::new(move |channel| {
            Box::pin(async move {
                let reply = match tokio::time::timeout(timeout, unary::<R>(channel, request, gzip)).await {
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
