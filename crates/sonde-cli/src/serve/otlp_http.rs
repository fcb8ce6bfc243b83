//! OTLP/HTTP in: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or
//! JSON, gzip or not, answered in the request's encoding with a partial
//! success when items were refused.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use sonde_otlp::proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use sonde_otlp::proto::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use sonde_otlp::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use sonde_otlp::receive::{decode_request, encode_response, BodyError, Encoding, MAX_BODY};

use super::hub::{partial_message, Hub};

/// The OTLP/HTTP routes.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(hub)
}

/// The decoded request, or why it was refused.
fn decode<R>(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<(R, Encoding), BodyError>
where
    R: prost::Message + Default + serde::de::DeserializeOwned,
{
    let header = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(BodyError::TooLarge(MAX_BODY)),
        Err(e) => return Err(BodyError::BadMessage(e.body_text())),
    };
    decode_request(header(header::CONTENT_TYPE), header(header::CONTENT_ENCODING), &body)
}

/// Counts a refused request and answers it with its status.
fn refuse(hub: &Hub, signal: &str, e: BodyError) -> Response {
    hub.reject(signal, e.reason(), 1);
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, e.to_string()).into_response()
}

fn answer<R: prost::Message + serde::Serialize>(response: &R, encoding: Encoding) -> Response {
    let (content_type, body) = encode_response(response, encoding);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn traces(State(hub): State<Hub>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match decode::<ExportTraceServiceRequest>(&headers, body) {
        Err(e) => refuse(&hub, "traces", e),
        Ok((request, encoding)) => {
            let transport = if encoding == Encoding::Json { "http/json" } else { "http/protobuf" };
            let rejected = hub.on_traces(request, transport);
            let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: partial_message(rejected),
            });
            answer(&ExportTraceServiceResponse { partial_success: partial }, encoding)
        }
    }
}

async fn metrics(State(hub): State<Hub>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match decode::<ExportMetricsServiceRequest>(&headers, body) {
        Err(e) => refuse(&hub, "metrics", e),
        Ok((request, encoding)) => {
            let transport = if encoding == Encoding::Json { "http/json" } else { "http/protobuf" };
            let rejected = hub.on_metrics(&request, transport);
            let partial = (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: partial_message(rejected),
            });
            answer(&ExportMetricsServiceResponse { partial_success: partial }, encoding)
        }
    }
}

async fn logs(State(hub): State<Hub>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match decode::<ExportLogsServiceRequest>(&headers, body) {
        Err(e) => refuse(&hub, "logs", e),
        Ok((request, encoding)) => {
            let transport = if encoding == Encoding::Json { "http/json" } else { "http/protobuf" };
            let rejected = hub.on_logs(&request, transport);
            let partial = (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: partial_message(rejected),
            });
            answer(&ExportLogsServiceResponse { partial_success: partial }, encoding)
        }
    }
}
