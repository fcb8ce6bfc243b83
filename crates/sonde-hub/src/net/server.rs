//! One accept loop for every HTTP listener of the hub (the API and
//! dashboard, OTLP/HTTP, OTLP/gRPC): a connection cap, an idle timeout, a
//! header-read timeout, a whole-request timeout, optional TLS, HTTP/1 and
//! HTTP/2 (gRPC), and a graceful stop that lets in-flight requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sonde::{Counter, Gauge};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::watched::Watched;

/// How a listener treats its connections.
#[derive(Clone)]
pub(crate) struct ConnectionRules {
    pub(crate) max_connections: usize,
    pub(crate) idle: Duration,
    pub(crate) header_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A listener's connection counts, as self-metrics.
#[derive(Clone)]
pub(crate) struct ConnectionStats {
    /// Open connections.
    pub(crate) open: Gauge,
    /// Connections closed at once because the listener held its maximum.
    pub(crate) refused: Counter,
    /// TLS handshakes that failed or took too long.
    pub(crate) handshake_failed: Counter,
}

/// The body every answer of the hub has.
pub(crate) type Body = axum::body::Body;

/// A service the accept loop can serve.
pub(crate) trait HttpService:
    tower::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone + Send + 'static
{
}

impl<S> HttpService for S where
    S: tower::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// Answers 503 when `inner` takes longer than `limit` (its body included,
/// since handlers read their bodies inside their future).
#[derive(Clone)]
struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S: HttpService> tower::Service<Request<Incoming>> for Deadline<S> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let call = self.inner.call(request);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, call).await {
                Ok(answer) => answer,
                Err(_) => {
                    let mut answer = Response::new(Body::from("request took too long\n"));
                    *answer.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    Ok(answer)
                }
            }
        })
    }
}

/// A running listener: [`Serving::stop`] stops accepting, and lets open
/// connections finish until the deadline.
pub(crate) struct Serving {
    task: JoinHandle<()>,
}

impl Serving {
    /// Waits for the accept loop and its connections, at most `grace`;
    /// true if everything finished in time.
    pub(crate) async fn finish(self, grace: Duration) -> bool {
        tokio::time::timeout(grace, self.task).await.is_ok()
    }
}

/// Serves `service` on `listener` until `stop` turns true.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    service: impl HttpService,
    rules: ConnectionRules,
    stats: ConnectionStats,
    mut stop: watch::Receiver<bool>,
) -> Serving {
    let permits = Arc::new(Semaphore::new(rules.max_connections.max(1)));
    let service = Deadline { inner: service, limit: rules.request_timeout };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(rules.header_timeout).max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(rules.idle / 2))
        .keep_alive_timeout(rules.header_timeout)
        .max_concurrent_streams(256)
        .max_header_list_size(64 * 1024);
    let builder = Arc::new(builder);
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|s| *s) => break,
            };
            let Ok((stream, _peer)) = accepted else {
                // Out of descriptors, say: wait a little instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                stats.refused.inc();
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let io = Watched::new(stream, rules.idle, permit);
            let open = stats.open.clone();
            open.inc();
            let hyper_service = TowerToHyperService::new(service.clone());
            match &rules.tls {
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), hyper_service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                        open.dec();
                    });
                }
                Some(acceptor) => {
                    // The handshake happens on the connection's own task;
                    // graceful shutdown covers it once it is serving.
                    let (acceptor, builder, watcher) = (acceptor.clone(), builder.clone(), graceful.watcher());
                    let (timeout, failed) = (rules.header_timeout, stats.handshake_failed.clone());
                    tokio::spawn(async move {
                        match tokio::time::timeout(timeout, acceptor.accept(io)).await {
                            Ok(Ok(tls)) => {
                                let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), hyper_service);
                                let _ = watcher.watch(conn.into_owned()).await;
                            }
                            _ => failed.inc(),
                        }
                        open.dec();
                    });
                }
            }
        }
        drop(listener);
        graceful.shutdown().await;
    });
    Serving { task }
}
