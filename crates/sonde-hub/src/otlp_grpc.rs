//! OTLP/gRPC in: the three collector services' `Export` methods, served by
//! the hub's own accept loop (so the connection cap, timeouts, auth and
//! graceful stop are the same as for HTTP). tonic frames the messages and
//! inflates gzip; the hub prices and decodes them off the serving runtime.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use http::{Request, Response};
use hyper::body::Incoming;
use sonde_otlp::proto::collector::logs::v1::ExportLogsServiceRequest;
use sonde_otlp::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::receive::{BodyError, MAX_DECODED};
use sonde_prometheus::Auth;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder};
use tonic::{Code, Status};

use crate::net::server::Body;
use crate::state::{HubState, Received, Refused};

/// Messages as bytes: the hub decodes requests itself (priced, off the
/// runtime) and encodes responses before handing them to tonic.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The three services on one tower service.
#[derive(Clone)]
pub(crate) struct GrpcReceiver {
    hub: HubState,
    auth: Option<Auth>,
}

impl GrpcReceiver {
    pub(crate) fn new(hub: HubState, auth: Option<Auth>) -> Self {
        Self { hub, auth }
    }
}

/// A trailers-only gRPC answer with `status`.
fn status_response(status: &Status) -> Response<Body> {
    let mut response = status.clone().into_http::<Body>();
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    response
}

impl tower::Service<Request<Incoming>> for GrpcReceiver {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let (hub, auth) = (self.hub.clone(), self.auth.clone());
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let signal = match path.as_str() {
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export" => "traces",
                "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" => "metrics",
                "/opentelemetry.proto.collector.logs.v1.LogsService/Export" => "logs",
                _ => return Ok(status_response(&Status::unimplemented(format!("no method {path}")))),
            };
            if let Some(auth) = &auth {
                if !auth.check(request.headers().get(http::header::AUTHORIZATION).map(|v| v.as_bytes())) {
                    hub.reject(signal, Refused::Unauthenticated, 1);
                    return Ok(status_response(&Status::unauthenticated("credentials required")));
                }
            }
            let response = match signal {
                "traces" => export::<ExportTraceServiceRequest>(&hub, request).await,
                "metrics" => export::<ExportMetricsServiceRequest>(&hub, request).await,
                _ => export::<ExportLogsServiceRequest>(&hub, request).await,
            };
            Ok(response)
        })
    }
}

/// One unary `Export`: tonic frames and inflates; the hub decodes, takes
/// the request in and encodes the answer. Refusals made before the hub saw
/// the message (too large, bad gzip, bad framing) are counted here from
/// the status tonic answered with.
async fn export<R: Received>(hub: &HubState, request: Request<Incoming>) -> Response<Body> {
    let signal = R::SIGNAL.as_str();
    let reached = Arc::new(AtomicBool::new(false));
    let service = {
        let (hub, reached) = (hub.clone(), reached.clone());
        tower::service_fn(move |message: tonic::Request<Bytes>| {
            let hub = hub.clone();
            reached.store(true, Relaxed);
            async move {
                let decoded = hub.decoder().grpc::<R>(R::SIGNAL, message.into_inner()).await;
                match decoded {
                    Ok(request) => match hub.accept_off_runtime(request, "grpc").await {
                        Ok(answer) => Ok(tonic::Response::new(Bytes::from(prost::Message::encode_to_vec(&answer)))),
                        Err(e) => Err(Status::internal(e)),
                    },
                    Err(e) => {
                        hub.reject(R::SIGNAL.as_str(), Refused::from(&e), 1);
                        Err(match e {
                            BodyError::TooCostly { .. } | BodyError::TooLarge(_) => {
                                Status::resource_exhausted(e.to_string())
                            }
                            _ => Status::invalid_argument(e.to_string()),
                        })
                    }
                }
            }
        })
    };
    let mut gzip = EnabledCompressionEncodings::default();
    gzip.enable(CompressionEncoding::Gzip);
    let mut grpc = tonic::server::Grpc::new(RawCodec)
        .apply_compression_config(gzip, EnabledCompressionEncodings::default())
        .apply_max_message_size_config(Some(MAX_DECODED), None);
    let mut response = grpc.unary(service, request).await.map(Body::new);
    if !reached.load(Relaxed) {
        if let Some(reason) = refusal_reason(response.headers()) {
            hub.reject(signal, reason, 1);
        }
    }
    too_large_is_resource_exhausted(response.headers_mut());
    response
}

/// Why tonic refused a message before the hub saw it, from its trailers-only
/// answer (the status lives in the headers then).
fn refusal_reason(headers: &http::HeaderMap) -> Option<Refused> {
    let code = Code::from_bytes(headers.get("grpc-status")?.as_bytes());
    let message = headers.get("grpc-message").and_then(|m| m.to_str().ok()).unwrap_or("").replace("%20", " ");
    Some(match code {
        Code::Ok => return None,
        _ if message.contains("message length too large") || message.contains("size limit") => Refused::TooLarge,
        Code::Unimplemented => Refused::UnsupportedEncoding,
        _ if message.contains("decompress") => Refused::BadGzip,
        _ => Refused::BadMessage,
    })
}

/// tonic answers a message over the size limit with OUT_OF_RANGE, which
/// OTLP clients retry; gRPC's convention (and grpc-go's answer) is
/// RESOURCE_EXHAUSTED, which they retry only when told to, so the same
/// oversized request is not sent again and again.
fn too_large_is_resource_exhausted(headers: &mut http::HeaderMap) {
    let too_large = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.replace("%20", " ").contains("message length too large"));
    if too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}
