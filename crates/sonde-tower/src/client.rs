//! Client side: a span per outgoing request, its context injected.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sonde::trace::propagation::{inject, Baggage};
use sonde::trace::{Span, SpanKind, Status, Tracer};

/// Injects trace context into outgoing requests.
///
/// [`PropagateLayer::traced`] starts a client span for each request (a
/// child of the current span) and sends its context, so every request
/// carries its own `parent-id`, as W3C Trace Context expects, and the span
/// records the method, URL and status code (an error from 400 up). The
/// default layer sends the current span's context as it is.
///
/// ```
/// use sonde::trace::TracerProvider;
/// use sonde_tower::PropagateLayer;
/// use tower::Layer;
///
/// let provider = TracerProvider::builder().build();
/// let send = tower::service_fn(|req: http::Request<()>| async move {
///     assert!(req.headers().contains_key("traceparent"));
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// });
/// let _client = PropagateLayer::traced(provider.tracer("http-client")).layer(send);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PropagateLayer {
    tracer: Option<Tracer>,
}

impl PropagateLayer {
    /// A layer that starts a client span per request on `tracer`.
    pub fn traced(tracer: Tracer) -> Self {
        Self { tracer: Some(tracer) }
    }
}

impl<S> tower::Layer<S> for PropagateLayer {
    type Service = Propagate<S>;

    fn layer(&self, inner: S) -> Propagate<S> {
        Propagate { inner, tracer: self.tracer.clone() }
    }
}

/// The service [`PropagateLayer`] makes.
#[derive(Clone, Debug)]
pub struct Propagate<S> {
    inner: S,
    tracer: Option<Tracer>,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Propagate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let span = self.tracer.as_ref().map(|t| {
            let uri = req.uri();
            let mut b = t
                .span(req.method().as_str().to_owned())
                .kind(SpanKind::Client)
                .attribute("http.request.method", req.method().as_str().to_owned())
                .attribute("url.full", uri.to_string());
            if let Some(host) = uri.host() {
                b = b.attribute("server.address", host.to_owned());
            }
            if let Some(port) = uri.port_u16() {
                b = b.attribute("server.port", i64::from(port));
            }
            b.start()
        });
        let context = match &span {
            Some(s) => Some(s.context().clone()),
            None => sonde::trace::current_span_context(),
        };
        if let Some(ctx) = context.filter(|c| c.is_valid()) {
            inject(&ctx, &Baggage::default(), req.headers_mut());
        }
        ResponseFuture { inner: self.inner.call(req), span }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Propagate`]: ends the client span with the
    /// status code.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let Some(mut span) = this.span.take() {
            match &out {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    span.set_attribute("http.response.status_code", i64::from(status));
                    if status >= 400 {
                        span.set_status(Status::Error { message: format!("HTTP {status}").into() });
                    }
                }
                Err(_) => span.set_status(Status::Error { message: "the request failed".into() }),
            }
            span.end();
        }
        Poll::Ready(out)
    }
}
