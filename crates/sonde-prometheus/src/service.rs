//! The scrape handler as a `tower::Service`.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::io::Write;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use sonde::{encode, Registry};

use crate::auth::Auth;
use crate::negotiate::{negotiate, Format};
use crate::rate_limit::RateLimit;

/// Answers scrapes of one registry: `GET`/`HEAD` only, content negotiation,
/// gzip when accepted, optional auth (401 without it) and rate limit (429
/// with `Retry-After`). Cheap to clone.
///
/// Mount it in axum with `Router::new().route_service("/metrics", service)`.
#[derive(Clone)]
pub struct MetricsService {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    auth: Option<Auth>,
    rate: Option<RateLimit>,
}

impl std::fmt::Debug for MetricsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsService").field("auth", &self.inner.auth).finish_non_exhaustive()
    }
}

impl MetricsService {
    /// A service for `registry` with no auth and no rate limit.
    pub fn new(registry: Registry) -> Self {
        Self::with_options(registry, None, None)
    }

    /// A service requiring `auth` and allowing `rate` scrapes per second.
    pub fn with_options(registry: Registry, auth: Option<Auth>, rate: Option<f64>) -> Self {
        Self { inner: Arc::new(Inner { registry, auth, rate: rate.filter(|r| *r > 0.0).map(RateLimit::new) }) }
    }

    /// Handles one request synchronously (encoding is CPU work only).
    pub fn handle<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return status(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n", &[(ALLOW, "GET, HEAD")]);
        }
        if let Some(rate) = &self.inner.rate {
            if let Err(wait) = rate.try_take() {
                let wait = wait.to_string();
                return status(StatusCode::TOO_MANY_REQUESTS, "too many scrapes\n", &[(RETRY_AFTER, &wait)]);
            }
        }
        if let Some(auth) = &self.inner.auth {
            if !auth.check(req.headers().get(AUTHORIZATION).map(|v| v.as_bytes())) {
                return status(StatusCode::UNAUTHORIZED, "unauthorized\n", &[(WWW_AUTHENTICATE, auth.challenge())]);
            }
        }
        let header = |name| req.headers().get(name).and_then(|v: &http::HeaderValue| v.to_str().ok());
        let format = negotiate(header(ACCEPT));
        let snapshot = self.inner.registry.snapshot();
        let body = match format {
            Format::PrometheusText => encode::prometheus_text(&snapshot).into_bytes(),
            Format::OpenMetrics => encode::openmetrics(&snapshot).into_bytes(),
            Format::Protobuf => crate::protobuf::encode_protobuf(&snapshot),
        };
        let mut resp =
            Response::builder().header(CONTENT_TYPE, format.content_type()).header(VARY, "Accept, Accept-Encoding");
        let body = if accepts_gzip(header(ACCEPT_ENCODING)) {
            resp = resp.header(CONTENT_ENCODING, "gzip");
            gzip(&body)
        } else {
            Bytes::from(body)
        };
        let body = if req.method() == Method::HEAD { Bytes::new() } else { body };
        resp.body(Full::new(body)).unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

fn status(code: StatusCode, text: &'static str, headers: &[(http::HeaderName, &str)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(code).header(CONTENT_TYPE, "text/plain; charset=utf-8");
    for (k, v) in headers {
        b = b.header(k, *v);
    }
    b.body(Full::new(Bytes::from_static(text.as_bytes()))).unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a non-zero q.
fn accepts_gzip(header: Option<&str>) -> bool {
    header.is_some_and(|h| {
        h.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .map(|q| q.parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
        })
    })
}

fn gzip(data: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    Bytes::from(enc.finish().unwrap_or_default())
}

impl<B> tower::Service<Request<B>> for MetricsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.handle(&req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
