//! Server side: metrics and a span per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use sonde::trace::propagation::extract;
use sonde::trace::{InCurrentSpan, Instrument, Span, SpanKind, Status, Tracer};
use sonde::{Buckets, Counter, Family, Histogram, Registry, UpDownCounter};

/// Most distinct route templates per family; beyond it, the overflow series.
const ROUTE_LIMIT: usize = 500;

struct Instruments {
    requests: Family<Counter>,
    duration: Family<Histogram>,
    size: Family<Histogram>,
    in_flight: UpDownCounter,
    tracer: Option<Tracer>,
}

/// Records HTTP server metrics and spans; see the crate docs.
#[derive(Clone)]
pub struct HttpMetricsLayer {
    instruments: Arc<Instruments>,
}

impl HttpMetricsLayer {
    /// Metrics on `registry`; spans on `tracer` when given.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the `http_server_*` names is already declared differently.
    pub fn new(registry: &Registry, tracer: Option<Tracer>) -> sonde::Result<Self> {
        let labels = ["method", "route", "status"];
        Ok(Self {
            instruments: Arc::new(Instruments {
                requests: registry
                    .counter("http_server_requests_total")
                    .help("HTTP requests served, by method, route template and status.")
                    .labels(labels)
                    .cardinality_limit(ROUTE_LIMIT * 16)
                    .register()?,
                duration: registry
                    .histogram("http_server_request_duration_seconds")
                    .help("HTTP request duration, by method, route template and status.")
                    .labels(labels)
                    .buckets(Buckets::default_seconds())
                    .exemplars()
                    .cardinality_limit(ROUTE_LIMIT * 16)
                    .register()?,
                size: registry
                    .histogram("http_server_response_size_bytes")
                    .help("HTTP response body size (when known), by method and route template.")
                    .labels(["method", "route"])
                    .buckets(Buckets::exponential(64.0, 4.0, 10).expect("constant buckets"))
                    .cardinality_limit(ROUTE_LIMIT * 8)
                    .register()?,
                in_flight: registry
                    .up_down_counter("http_server_requests_in_flight")
                    .help("HTTP requests being served.")
                    .register()?,
                tracer,
            }),
        })
    }
}

impl<S> tower::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> HttpMetrics<S> {
        HttpMetrics { inner, instruments: self.instruments.clone() }
    }
}

/// The service [`HttpMetricsLayer`] makes.
#[derive(Clone)]
pub struct HttpMetrics<S> {
    inner: S,
    instruments: Arc<Instruments>,
}

/// The route template, without allocating: axum's `MatchedPath` holds an
/// `Arc<str>`, so cloning it is a reference-count increment.
#[derive(Clone)]
enum Route {
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
    Unmatched,
}

impl Route {
    fn of<B>(req: &http::Request<B>) -> Self {
        #[cfg(feature = "axum")]
        if let Some(m) = req.extensions().get::<axum::extract::MatchedPath>() {
            return Self::Matched(m.clone());
        }
        let _ = req;
        Self::Unmatched
    }

    fn as_str(&self) -> &str {
        match self {
            #[cfg(feature = "axum")]
            Self::Matched(m) => m.as_str(),
            Self::Unmatched => "unmatched",
        }
    }
}

/// Decrements the in-flight count however the request ends.
struct InFlight(UpDownCounter);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl<S, B, RB> tower::Service<http::Request<B>> for HttpMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: http_body::Body,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req.method().clone();
        let route = Route::of(&req);
        let span = self.instruments.tracer.as_ref().map(|t| {
            let parent = extract(req.headers()).context;
            let builder = t
                .span(format!("{} {}", method.as_str(), route.as_str()))
                .kind(SpanKind::Server)
                .attribute("http.request.method", method.as_str().to_owned())
                .attribute("http.route", route.as_str().to_owned())
                .attribute("url.path", req.uri().path().to_owned());
            match &parent {
                Some(p) => builder.parent(p).start(),
                None => builder.root().start(),
            }
        });
        self.instruments.in_flight.inc();
        let in_flight = InFlight(self.instruments.in_flight.clone());
        let context = span.as_ref().map(|s| s.context().clone());
        let inner = match context {
            Some(ctx) => self.inner.call(req).in_context(ctx),
            None => self.inner.call(req).in_current_span(),
        };
        ResponseFuture {
            inner,
            state: Some((self.instruments.clone(), method, route, Instant::now(), span, in_flight)),
        }
    }
}

type State = (Arc<Instruments>, http::Method, Route, Instant, Option<Span>, InFlight);

pin_project_lite::pin_project! {
    /// The response future of [`HttpMetrics`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: InCurrentSpan<F>,
        state: Option<State>,
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    RB: http_body::Body,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let Some((ins, method, route, started, span, _in_flight)) = this.state.take() {
            let status = match &out {
                Ok(resp) => resp.status(),
                Err(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
            };
            let labels = [method.as_str(), route.as_str(), status.as_str()];
            let status = status.as_u16();
            ins.requests.with(&labels).inc();
            if let Some(mut s) = span {
                s.set_attribute("http.response.status_code", status as i64);
                if status >= 500 {
                    s.set_status(Status::Error { message: format!("HTTP {status}").into() });
                }
                // The duration histogram's exemplar points at this span.
                let _current = s.enter();
                ins.duration.with(&labels).observe(started.elapsed().as_secs_f64());
                drop(_current);
                s.end();
            } else {
                ins.duration.with(&labels).observe(started.elapsed().as_secs_f64());
            }
            if let Ok(resp) = &out {
                if let Some(n) = resp.body().size_hint().exact() {
                    ins.size.with(&[method.as_str(), route.as_str()]).observe(n as f64);
                }
            }
        }
        Poll::Ready(out)
    }
}
