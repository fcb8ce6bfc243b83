//! A live web dashboard for Sonde: every metric family with sparklines and
//! history, views registered from code or the page (of a metric family,
//! or of a PromQL expression), traces with waterfalls, events, and the
//! links between them, updated by server-sent events every 500 ms. Where
//! Prometheus' query API is served beside it (`/api/v1`, as the hub does),
//! its Explore page runs PromQL (completing names, labels and values; a
//! chart or a table), its Alerts page lists the alerting rules, and PromQL
//! views draw. Its assets (and the vendored uPlot charts) are embedded; it
//! needs no network at run time.
//!
//! ```no_run
//! use sonde::Registry;
//! use sonde_dashboard::{ChartKind, Dashboard, LocalSource};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new();
//! let latency = registry.histogram("request_seconds").register()?;
//! let dashboard = Dashboard::builder(LocalSource::new(registry.clone())).build();
//! dashboard.register_view("request_seconds", ChartKind::Heatmap);
//! latency.observe(0.2);
//! dashboard.serve("127.0.0.1:9465".parse()?).await?; // or mount dashboard.router() in an app
//! // With defaults: sonde_dashboard::serve(addr, LocalSource::new(registry)).await
//! # Ok(()) }
//! ```
//!
//! It is read-only, binds where it is told (127.0.0.1 in the examples and
//! the binary), can require basic or bearer auth, renders every string
//! from the data as text (never HTML) and sends a Content-Security-Policy
//! that allows only its own scripts.

mod api;
mod assets;
mod history;
mod samples;
mod source;
mod traces;
mod views;

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sonde_prometheus::Auth;

pub use history::{History, Points, BYTES_PER_SERIES, COARSE, FINE};
pub use samples::{samples, Sample};
pub use source::{DataSource, EventSearch, HistoryRange, LocalSource};
pub use traces::{SpanRecord, SpanSummary, TraceFilter, TraceSummary};
pub use views::{ChartKind, UnknownChartKind, View, Views};

/// Default memory budget of the history (200 MB).
pub const DEFAULT_HISTORY_BYTES: usize = 200 << 20;

/// Bounds on what the API answers (see `docs/api.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON list answer in bytes (default 8 MiB): longer lists are
    /// cut and say `"truncated": true`; `/api/snapshot` pages.
    pub max_answer_bytes: usize,
    /// Live-update streams open at once (default 64); more get `503`.
    pub max_streams: usize,
    /// Sample ids one live-update stream may follow (default 5,000).
    pub max_stream_ids: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_answer_bytes: 8 << 20, max_streams: 64, max_stream_ids: 5000 }
    }
}

struct Inner {
    source: Arc<dyn DataSource>,
    history: History,
    views: Views,
    auth: Option<Auth>,
    limits: Limits,
    streams: Arc<std::sync::atomic::AtomicUsize>,
}

/// The dashboard: a [`DataSource`], its history and its registered views.
/// Cheap to clone. A background thread samples the source once a second
/// into the history while any clone is alive.
#[derive(Clone)]
pub struct Dashboard(Arc<Inner>);

/// Options for a [`Dashboard`].
#[must_use = "call build"]
pub struct DashboardBuilder {
    source: Arc<dyn DataSource>,
    history_bytes: usize,
    auth: Option<Auth>,
    limits: Limits,
}

impl DashboardBuilder {
    /// The history's memory budget (default [`DEFAULT_HISTORY_BYTES`]).
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }

    /// Bounds on what the API answers (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Requires this basic or bearer credential on every request.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Builds the dashboard and starts its sampling thread.
    pub fn build(self) -> Dashboard {
        let d = Dashboard(Arc::new(Inner {
            source: self.source,
            history: History::new(self.history_bytes),
            views: Views::default(),
            auth: self.auth,
            limits: self.limits,
            streams: Arc::default(),
        }));
        if !d.0.source.keeps_history() {
            let weak = Arc::downgrade(&d.0);
            let _ = std::thread::Builder::new().name("sonde-dashboard-history".into()).spawn(move || sample_loop(weak));
        }
        d
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn sample_loop(dashboard: Weak<Inner>) {
    loop {
        let Some(d) = dashboard.upgrade() else { return };
        if d.history.is_enabled() {
            let snapshot = d.source.snapshot();
            d.history.record(now_ms(), &samples(&snapshot));
        }
        drop(d);
        std::thread::sleep(Duration::from_secs(1));
    }
}

impl Dashboard {
    /// Options for a dashboard over `source`.
    pub fn builder(source: impl DataSource) -> DashboardBuilder {
        DashboardBuilder {
            source: Arc::new(source),
            history_bytes: DEFAULT_HISTORY_BYTES,
            auth: None,
            limits: Limits::default(),
        }
    }

    /// Shows the family `metric` as `kind` on the views page.
    pub fn register_view(&self, metric: &str, kind: ChartKind) {
        self.0.views.register(View::metric(metric, kind));
    }

    /// Shows the PromQL expression `query` as `kind` on the views page,
    /// headed `title` (replacing an earlier view with that title). The
    /// page evaluates it through `/api/v1/query_range` (instant queries for
    /// gauge, bar and single stat), which the hub serves.
    pub fn register_query_view(&self, title: &str, query: &str, kind: ChartKind) {
        self.0.views.register(View::query(title, query, kind));
    }

    /// Adds `view` (from configuration, say), replacing an earlier view
    /// with its title.
    pub fn add_view(&self, view: View) {
        self.0.views.register(view);
    }

    /// The history store.
    pub fn history(&self) -> &History {
        &self.0.history
    }

    /// The page, its assets and the JSON API under `/api/`, to serve alone
    /// or merge into an existing axum app.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(assets::index))
            .route("/assets/{file}", get(assets::file))
            .route("/api/series", get(api::series))
            .route("/api/snapshot", get(api::snapshot))
            .route("/api/samples", get(api::list_samples))
            .route("/api/history", get(api::history))
            .route("/api/history/ids", get(api::history_ids))
            .route("/api/stream", get(api::stream))
            .route("/api/views", get(api::views))
            .route("/api/traces", get(api::traces))
            .route("/api/traces/{trace_id}", get(api::trace))
            .route("/api/events", get(api::events))
            .layer(axum::middleware::from_fn_with_state(self.clone(), guard))
            .with_state(self.clone())
    }
}

/// Auth first, then the safety headers on every answer.
async fn guard(State(d): State<Dashboard>, request: Request, next: Next) -> Response {
    if let Some(auth) = &d.0.auth {
        let header = request.headers().get(axum::http::header::AUTHORIZATION).map(|v| v.as_bytes());
        if !auth.check(header) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, auth.challenge())],
                "unauthorized\n",
            )
                .into_response();
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
    headers.insert(axum::http::header::REFERRER_POLICY, axum::http::HeaderValue::from_static("no-referrer"));
    response
}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound, or the server failed.
    #[error("dashboard at {addr}: {source}")]
    Io {
        /// Where.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Serves a dashboard with default options over `source` on `addr`, on the
/// caller's tokio runtime, until the task is dropped.
///
/// # Errors
///
/// [`Error`] when `addr` cannot be bound, or when the server fails while running.
pub async fn serve(addr: std::net::SocketAddr, source: impl DataSource) -> Result<(), Error> {
    Dashboard::builder(source).build().serve(addr).await
}

impl Dashboard {
    /// Serves this dashboard on `addr` until the task is dropped.
    ///
    /// # Errors
    ///
    /// [`Error`] when `addr` cannot be bound, or when the server fails while running.
    pub async fn serve(self, addr: std::net::SocketAddr) -> Result<(), Error> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| Error::Io { addr, source })?;
        axum::serve(listener, self.router()).await.map_err(|source| Error::Io { addr, source })
    }
}
