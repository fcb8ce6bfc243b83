//! HTTP servers from Python: `/metrics` for Prometheus, and the dashboard.
//! Each runs on a thread of its own and stops on `stop()`.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use sonde_dashboard::{ChartKind, Dashboard, LocalSource};

use crate::events::EventLog;
use crate::registry::Registry;
use crate::traces::{Keeper, Source};
use crate::tracing::Tracer;

fn addr(host: &str, port: u16) -> PyResult<SocketAddr> {
    let ip = if host == "localhost" { "127.0.0.1" } else { host };
    format!("{ip}:{port}")
        .parse()
        .or_else(|_| format!("[{ip}]:{port}").parse())
        .map_err(|_| PyValueError::new_err(format!("bad host {host:?}")))
}

/// Prometheus' `/metrics` endpoint over a registry (text, OpenMetrics or
/// protobuf, as the scraper asks).
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct MetricsServer(Mutex<sonde_prometheus::MetricsServer>);

#[pymethods]
impl MetricsServer {
    /// A server for `registry` on `host:port` (port 0: any free port),
    /// not yet started.
    #[new]
    #[pyo3(signature = (registry, port, host = "127.0.0.1"))]
    fn new(registry: &Registry, port: u16, host: &str) -> PyResult<Self> {
        let server = sonde_prometheus::MetricsServer::builder(registry.0.clone()).listen(addr(host, port)?).build();
        Ok(Self(Mutex::new(server)))
    }

    /// Starts serving (a second call does nothing) and returns the port.
    fn start(&self, py: Python<'_>) -> PyResult<u16> {
        py.detach(|| self.0.lock().unwrap_or_else(|p| p.into_inner()).start())
            .map(|a| a.port())
            .map_err(|e| PyOSError::new_err(e.to_string()))
    }

    /// Stops serving.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.0.lock().unwrap_or_else(|p| p.into_inner()).stop());
    }
}

struct Running {
    port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

/// Sonde's live dashboard over a registry and an event log.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct DashboardServer {
    dashboard: Dashboard,
    registry: sonde::Registry,
    keeper: Option<Arc<Keeper>>,
    running: Mutex<Option<Running>>,
}

#[pymethods]
impl DashboardServer {
    /// A dashboard of `registry`, and of `events` and `tracer`'s spans if
    /// given (the tracer keeps its 10,000 most recent spans from now on).
    #[new]
    #[pyo3(signature = (registry, events = None, tracer = None))]
    fn new(registry: &Registry, events: Option<&EventLog>, tracer: Option<&Tracer>) -> Self {
        let mut local = LocalSource::new(registry.0.clone());
        if let Some(events) = events {
            local = local.events(events.0.clone());
        }
        let keeper = tracer.map(|t| t.keeper.clone());
        if let Some(k) = &keeper {
            k.switch_on();
        }
        let source = Source { local, keeper: keeper.clone() };
        Self {
            dashboard: Dashboard::builder(source).build(),
            registry: registry.0.clone(),
            keeper,
            running: Mutex::new(None),
        }
    }

    /// Spans dropped from the dashboard's bounded store (oldest first).
    fn evicted_spans(&self) -> u64 {
        self.keeper.as_ref().map_or(0, |k| k.evicted())
    }

    /// Samples the registry into the dashboard's history now (it also
    /// does so every second), so open pages show the latest values at
    /// their next update (every 500 ms).
    fn update(&self, py: Python<'_>) {
        py.detach(|| {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let snapshot = self.registry.snapshot();
            self.dashboard.history().record(now_ms, &sonde_dashboard::samples(&snapshot));
        });
    }

    /// Shows the family `metric_name` as `chart_type` (`line`,
    /// `stacked_area`, `gauge`, `bar`, `heatmap`, `single_stat`).
    fn register_view(&self, metric_name: &str, chart_type: &str) -> PyResult<()> {
        let kind: ChartKind =
            chart_type.parse().map_err(|e: sonde_dashboard::UnknownChartKind| PyValueError::new_err(e.to_string()))?;
        self.dashboard.register_view(metric_name, kind);
        Ok(())
    }

    /// Serves on `host:port` (port 0: any free port) and returns the port;
    /// when already serving, returns its port.
    #[pyo3(signature = (port, host = "127.0.0.1"))]
    fn start(&self, port: u16, host: &str) -> PyResult<u16> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = running.as_ref() {
            return Ok(r.port);
        }
        let listener = TcpListener::bind(addr(host, port)?).map_err(|e| PyOSError::new_err(e.to_string()))?;
        listener.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let port = listener.local_addr().map_err(|e| PyOSError::new_err(e.to_string()))?.port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let router = self.dashboard.router();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sonde-dashboard".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                })
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        *running = Some(Running { port, stop, thread });
        Ok(port)
    }

    /// Stops serving.
    fn stop(&self, py: Python<'_>) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(r) = running {
            let _ = r.stop.send(());
            py.detach(|| {
                let _ = r.thread.join();
            });
        }
    }
}

/// Periodic OTLP export of a registry's metrics, as the `OTEL_*`
/// environment configures it (interval `OTEL_METRIC_EXPORT_INTERVAL`,
/// retries with backoff, a final export at `stop`).
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct OtlpMetricExport(Mutex<Option<sonde_export::PeriodicExporter>>);

#[pymethods]
impl OtlpMetricExport {
    /// Starts exporting `registry` when the environment asks for OTLP
    /// metrics (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._METRICS_ENDPOINT`,
    /// `OTEL_METRICS_EXPORTER` not `none`); otherwise does nothing.
    #[new]
    #[pyo3(signature = (registry, service_name = None))]
    fn new(registry: &Registry, service_name: Option<String>) -> PyResult<Self> {
        let Some(otlp) = crate::otlp::from_env(service_name.as_deref(), "OTEL_METRICS_EXPORTER", "METRICS")? else {
            return Ok(Self(Mutex::new(None)));
        };
        let exporter = otlp.metric_exporter().map_err(crate::instrument::value_error)?;
        let periodic = sonde_export::PeriodicExporter::builder(registry.0.clone(), exporter)
            .interval(otlp.metric_interval())
            .start()
            .map_err(crate::instrument::value_error)?;
        Ok(Self(Mutex::new(Some(periodic))))
    }

    /// Whether it exports.
    fn active(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Exports once more and stops; waits at most `timeout` seconds.
    #[pyo3(signature = (timeout = 5.0))]
    fn stop(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let periodic = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        let timeout = std::time::Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        match periodic {
            Some(p) => py.detach(|| p.stop(timeout)).map_err(crate::instrument::value_error),
            None => Ok(()),
        }
    }
}
