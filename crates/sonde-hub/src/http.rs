//! The hub's HTTP side: `/metrics` (text or OpenMetrics, by `Accept`), the
//! dashboard and its JSON API under `/api/` (`docs/api.md`), Prometheus'
//! query API under `/api/v1/`, and the guard
//! every route of every HTTP listener passes: auth when configured, a cap
//! on expensive answers computed at once, and the security headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use sonde_dashboard::Dashboard;
use sonde_prometheus::{Auth, MetricsService};
use tokio::sync::Semaphore;

use crate::prometheus_api::{self, QueryApi};
use crate::state::{HubState, Refused};

/// What the guard checks.
#[derive(Clone)]
pub(crate) struct Guard {
    auth: Option<Auth>,
    expensive: Arc<Semaphore>,
    hub: HubState,
}

impl Guard {
    pub(crate) fn new(hub: &HubState, auth: Option<Auth>) -> Self {
        let expensive = Arc::new(Semaphore::new(hub.limits().expensive_concurrency.max(1)));
        Self { auth, expensive, hub: hub.clone() }
    }

    /// `router` behind this guard.
    pub(crate) fn wrap(&self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), guard))
    }
}

/// `/metrics`, the dashboard page, `/api/*` and Prometheus' `/api/v1/*`,
/// behind the guard.
pub(crate) fn router(hub: &HubState, dashboard: &Dashboard, api: QueryApi, guard: &Guard) -> Router {
    let routes = dashboard.router().merge(prometheus_api::router(api));
    guard.wrap(routes.route_service("/metrics", MetricsService::new(hub.registry().clone())))
}

/// Answers that cost in proportion to everything the hub holds.
fn is_expensive(path: &str) -> bool {
    matches!(path, "/metrics" | "/api/snapshot" | "/api/series" | "/api/samples" | "/api/traces" | "/api/events")
        || path.starts_with("/api/v1/")
}

/// A JSON error answer, as `docs/api.md` documents them.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Auth first, then the cap on expensive answers, then the safety headers
/// on every answer (401s and 503s included).
async fn guard(State(g): State<Guard>, request: Request, next: Next) -> Response {
    let mut response = 'answer: {
        if let Some(auth) = &g.auth {
            if !auth.check(request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes())) {
                let signal = if request.uri().path().starts_with("/v1/") { "otlp_http" } else { "http" };
                g.hub.reject(signal, Refused::Unauthenticated, 1);
                let mut r = json_error(StatusCode::UNAUTHORIZED, "credentials required");
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(auth.challenge()));
                break 'answer r;
            }
        }
        let _permit = if is_expensive(request.uri().path()) {
            match g.expensive.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    g.hub.reject("http", Refused::Busy, 1);
                    let mut r = json_error(StatusCode::SERVICE_UNAVAILABLE, "busy: try again shortly");
                    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    break 'answer r;
                }
            }
        } else {
            None
        };
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
