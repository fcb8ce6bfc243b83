//! Client side: inject the current span's context into outgoing requests.

use std::task::{Context, Poll};

use sonde::trace::propagation::{inject, Baggage};

/// Adds `traceparent`/`tracestate` of the current span to each request.
#[derive(Clone, Copy, Debug, Default)]
pub struct PropagateLayer;

impl<S> tower::Layer<S> for PropagateLayer {
    type Service = Propagate<S>;

    fn layer(&self, inner: S) -> Propagate<S> {
        Propagate { inner }
    }
}

/// The service [`PropagateLayer`] makes.
#[derive(Clone, Debug)]
pub struct Propagate<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Propagate<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> S::Future {
        if let Some(ctx) = sonde::trace::current_span_context() {
            inject(&ctx, &Baggage::default(), req.headers_mut());
        }
        self.inner.call(req)
    }
}
