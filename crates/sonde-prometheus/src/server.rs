//! A standalone `/metrics` server on its own thread and runtime.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sonde::Registry;
use tokio::sync::watch;

use crate::auth::Auth;
use crate::service::MetricsService;
use crate::Error;

/// Where the server listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// How long `stop` lets open requests finish.
const DRAIN: Duration = Duration::from_secs(2);

/// Options for a [`MetricsServer`].
#[derive(Debug)]
pub struct MetricsServerBuilder {
    registry: Registry,
    listen: SocketAddr,
    path: String,
    auth: Option<Auth>,
    rate: Option<f64>,
}

impl MetricsServerBuilder {
    /// The address to bind (default `127.0.0.1:9464`; port 0 picks one).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The path that serves metrics (default `/metrics`).
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.into();
        self
    }

    /// Requires credentials on every scrape.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Allows at most `per_second` scrapes per second (429 beyond).
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// The server, not yet started.
    pub fn build(self) -> MetricsServer {
        MetricsServer {
            service: MetricsService::with_options(self.registry, self.auth, self.rate),
            listen: self.listen,
            path: Arc::from(self.path),
            running: None,
        }
    }
}

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
}

/// Serves a registry at `http://<listen><path>`.
///
/// `start` binds synchronously (so a bad address fails right away), then
/// serves from a dedicated thread running a current-thread tokio runtime: it
/// neither needs nor blocks the caller's runtime. `start` is idempotent;
/// `stop` (also run on drop) stops accepting, lets requests in flight finish
/// for up to two seconds, and joins the thread.
#[derive(Debug)]
pub struct MetricsServer {
    service: MetricsService,
    listen: SocketAddr,
    path: Arc<str>,
    running: Option<Running>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("addr", &self.addr).finish()
    }
}

impl MetricsServer {
    /// Options for serving `registry`.
    pub fn builder(registry: Registry) -> MetricsServerBuilder {
        MetricsServerBuilder {
            registry,
            listen: DEFAULT_LISTEN.parse().expect("constant address parses"),
            path: "/metrics".into(),
            auth: None,
            rate: None,
        }
    }

    /// Starts serving and returns the bound address; if already running,
    /// returns the address it is serving on.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when the address cannot be bound (taken, or not local), or an error when the server
    /// thread cannot start.
    pub fn start(&mut self) -> Result<SocketAddr, Error> {
        if let Some(r) = &self.running {
            return Ok(r.addr);
        }
        let listener = StdListener::bind(self.listen).map_err(|source| Error::Bind { addr: self.listen, source })?;
        listener.set_nonblocking(true).map_err(Error::Start)?;
        let addr = listener.local_addr().map_err(Error::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Start)?;
        let (stop, stopped) = watch::channel(false);
        let service = self.service.clone();
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-metrics".into())
            .spawn(move || runtime.block_on(serve(listener, service, path, stopped)))
            .map_err(Error::Start)?;
        self.running = Some(Running { addr, stop, thread });
        Ok(addr)
    }

    /// The bound address while running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.addr)
    }

    /// Stops serving (a no-op when not running).
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(true);
            let _ = r.thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: StdListener, service: MetricsService, path: Arc<str>, mut stopped: watch::Receiver<bool>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = service.clone();
                let path = path.clone();
                let mut stop = stopped.clone();
                connections.spawn(async move {
                    let handler = service_fn(move |req: http::Request<Incoming>| {
                        let resp = if req.uri().path() == &*path {
                            service.handle(&req)
                        } else {
                            not_found()
                        };
                        std::future::ready(Ok::<_, std::convert::Infallible>(resp))
                    });
                    let conn = http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), handler);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    connections.abort_all();
}

fn not_found() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
