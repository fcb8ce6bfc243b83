//! The hub's HTTP side on one port: `/metrics` (text or OpenMetrics, by
//! `Accept`), and the dashboard with its JSON API under `/api/`
//! (`docs/api.md`).

use axum::Router;
use sonde_dashboard::Dashboard;
use sonde_prometheus::MetricsService;

use super::hub::Hub;

/// `/metrics`, the dashboard page and `/api/*`.
pub(super) fn router(hub: &Hub, dashboard: &Dashboard) -> Router {
    dashboard.router().route_service("/metrics", MetricsService::new(hub.registry().clone()))
}
