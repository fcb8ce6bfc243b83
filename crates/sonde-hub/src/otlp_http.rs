//! OTLP/HTTP in: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or
//! JSON, gzip or not, decoded off the serving runtime and answered in the
//! request's encoding with a partial success when items were refused.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use sonde_otlp::proto::collector::logs::v1::ExportLogsServiceRequest;
use sonde_otlp::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::receive::{encode_response, BodyError, Encoding, MAX_BODY};

use crate::state::{HubState, Received, Refused};

/// The OTLP/HTTP routes.
pub(crate) fn router(hub: HubState) -> Router {
    Router::new()
        .route("/v1/traces", post(export::<ExportTraceServiceRequest>))
        .route("/v1/metrics", post(export::<ExportMetricsServiceRequest>))
        .route("/v1/logs", post(export::<ExportLogsServiceRequest>))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(hub)
}

/// Counts a refused request and answers it with its status.
fn refuse(hub: &HubState, signal: &str, e: BodyError) -> Response {
    hub.reject(signal, Refused::from(&e), 1);
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, e.to_string()).into_response()
}

fn answer<R: prost::Message + serde::Serialize>(response: &R, encoding: Encoding) -> Response {
    let (content_type, body) = encode_response(response, encoding);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `POST /v1/<signal>`: decode (on the blocking pool), hand to the hub,
/// answer in kind.
async fn export<R: Received>(
    State(hub): State<HubState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let signal = R::SIGNAL.as_str();
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(&hub, signal, BodyError::TooLarge(MAX_BODY))
        }
        Err(e) => return refuse(&hub, signal, BodyError::BadMessage(e.body_text())),
    };
    let header = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok()).map(str::to_owned);
    let decoded =
        hub.decoder().http::<R>(R::SIGNAL, header(header::CONTENT_TYPE), header(header::CONTENT_ENCODING), body).await;
    match decoded {
        Err(e) => refuse(&hub, signal, e),
        Ok((request, encoding)) => {
            let transport = if encoding == Encoding::Json { "http/json" } else { "http/protobuf" };
            match hub.accept_off_runtime(request, transport).await {
                Ok(response) => answer(&response, encoding),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
            }
        }
    }
}
