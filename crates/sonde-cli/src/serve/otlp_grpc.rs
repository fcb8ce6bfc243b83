//! OTLP/gRPC in: the three collector services on one tonic server.

use bytes::Bytes;
use http_body::Frame;
use sonde_otlp::proto::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use sonde_otlp::proto::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use sonde_otlp::proto::collector::metrics::v1::metrics_service_server::{MetricsService, MetricsServiceServer};
use sonde_otlp::proto::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use sonde_otlp::proto::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use sonde_otlp::proto::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use sonde_otlp::receive::MAX_DECODED;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::hub::Hub;

/// Serves the three OTLP services on `listener` until `stop` resolves.
pub(super) async fn serve(
    hub: Hub,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let receiver = Receiver(hub);
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(too_large_is_resource_exhausted))
        .add_service(
            TraceServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_DECODED),
        )
        .add_service(
            MetricsServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_DECODED),
        )
        .add_service(
            LogsServiceServer::new(receiver)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_DECODED),
        )
        .serve_with_incoming_shutdown(tokio_stream_of(listener), stop)
        .await
}

type FrameMap = fn(Frame<Bytes>) -> Frame<Bytes>;

/// tonic answers a message over the size limit with OUT_OF_RANGE, which
/// OTLP clients retry; gRPC's convention (and grpc-go's answer) is
/// RESOURCE_EXHAUSTED, which they retry only when told to, so the same
/// oversized request is not sent again and again.
fn too_large_is_resource_exhausted<B>(
    mut response: http::Response<B>,
) -> http::Response<http_body_util::combinators::MapFrame<B, FrameMap>>
where
    B: http_body::Body<Data = Bytes>,
{
    rewrite(response.headers_mut());
    response.map(|body| {
        http_body_util::BodyExt::map_frame(
            body,
            (|mut frame: Frame<Bytes>| {
                if let Some(trailers) = frame.trailers_mut() {
                    rewrite(trailers);
                }
                frame
            }) as fn(Frame<Bytes>) -> Frame<Bytes>,
        )
    })
}

/// The status lives in the headers of a trailers-only answer, else in the
/// trailers; `grpc-message` is percent-encoded.
fn rewrite(headers: &mut http::HeaderMap) {
    let too_large = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.replace("%20", " ").contains("message length too large"));
    if too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}

fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}

#[derive(Clone)]
struct Receiver(Hub);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        Ok(Response::new(self.0.accept(request.into_inner(), "grpc")))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        Ok(Response::new(self.0.accept(request.into_inner(), "grpc")))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        Ok(Response::new(self.0.accept(request.into_inner(), "grpc")))
    }
}
