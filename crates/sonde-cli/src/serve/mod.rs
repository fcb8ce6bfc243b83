//! `sonde serve`: the hub. It receives StatsD (UDP, TCP) and OTLP (HTTP
//! protobuf/JSON, gRPC) for metrics, traces and logs; folds metrics into a
//! registry served at `/metrics`; keeps spans and events in bounded stores
//! for the JSON API under `/api/`; and forwards through the exporters its
//! configuration enables.

mod api;
pub(crate) mod hub;
mod otlp_grpc;
mod otlp_http;
mod statsd;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sonde::{Buckets, Registry};
use sonde_config::Pipeline;
use sonde_otlp::Otlp;
use sonde_statsd::StatsdIngest;

/// Default StatsD address (the StatsD convention, on loopback).
pub(crate) const DEFAULT_STATSD: &str = "127.0.0.1:8125";
/// Default OTLP/gRPC address (the OpenTelemetry convention, on loopback).
pub(crate) const DEFAULT_OTLP_GRPC: &str = "127.0.0.1:4317";
/// Default OTLP/HTTP address (the OpenTelemetry convention, on loopback).
pub(crate) const DEFAULT_OTLP_HTTP: &str = "127.0.0.1:4318";

/// Where the hub listens; `None` takes the configuration's or the default.
/// (`sonde demo` skips a default ingest port that is taken.)
#[derive(Debug, Default, clap::Args)]
pub(crate) struct Addresses {
    /// HTTP address for /metrics, the dashboard and the JSON API under
    /// /api/ (default 127.0.0.1:9464; overrides the file).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// StatsD address, UDP and TCP (default 127.0.0.1:8125).
    #[arg(long)]
    pub statsd: Option<SocketAddr>,
    /// OTLP/gRPC address for traces, metrics and logs (default 127.0.0.1:4317).
    #[arg(long)]
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP address, protobuf or JSON (default 127.0.0.1:4318).
    #[arg(long)]
    pub otlp_http: Option<SocketAddr>,
}

fn or_default(addr: Option<SocketAddr>, default: &str) -> SocketAddr {
    addr.unwrap_or_else(|| default.parse().expect("constant address"))
}

/// How strictly the ingest listeners bind: `serve` fails when a port is
/// taken; the demo skips that listener with a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `sonde serve`.
    Serve,
    /// `sonde demo`.
    Demo,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Serve => "serve",
            Self::Demo => "demo",
        }
    }
}

/// A running hub; [`Running::stop`] shuts it down, flushing the forwarders.
pub(crate) struct Running {
    pub hub: hub::Hub,
    pub dashboard: sonde_dashboard::Dashboard,
    pub pipeline: Pipeline,
    pub otlp: Option<Otlp>,
    env_metrics: Option<sonde_export::PeriodicExporter>,
    runtime: tokio::runtime::Runtime,
    servers: Vec<tokio::task::JoinHandle<()>>,
    stop_servers: tokio::sync::watch::Sender<bool>,
    stop_workers: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// Binds a TCP listener; in demo mode a taken port is skipped with a note.
fn bind(
    runtime: &tokio::runtime::Runtime,
    mode: Mode,
    what: &str,
    addr: SocketAddr,
) -> std::io::Result<Option<tokio::net::TcpListener>> {
    match runtime.block_on(tokio::net::TcpListener::bind(addr)) {
        Ok(l) => Ok(Some(l)),
        Err(e) if mode == Mode::Demo => {
            crate::demo::say(&format!("sonde demo: {what} not started: {addr}: {e}"));
            Ok(None)
        }
        Err(e) => Err(std::io::Error::new(e.kind(), format!("{what} at {addr}: {e}"))),
    }
}

/// Starts the hub: the pipeline's exporters, the HTTP side, and the StatsD
/// and OTLP listeners; prints every bound address.
pub(crate) fn start(addrs: Addresses, file: Option<&Path>, mode: Mode) -> Result<Running, Box<dyn std::error::Error>> {
    let name = mode.name();
    let say = |line: String| crate::demo::say(&format!("sonde {name}: {line}"));
    let mut config = crate::demo::load(addrs.listen, file)?;
    // The hub serves /metrics itself, next to the API; the pipeline only
    // runs the push exporters.
    let http: SocketAddr = match config.prometheus.take() {
        Some(p) => p.listen.parse().map_err(|_| format!("bad listen address {:?}", p.listen))?,
        None => or_default(None, "127.0.0.1:9464"),
    };
    let pipeline = Pipeline::start(&config, Registry::new())?;
    let registry = pipeline.registry().clone();
    let (otlp, env_metrics) = match pipeline.otlp() {
        Some(o) => (Some(o.clone()), None),
        None => match crate::otlp_env::from_env(&format!("sonde-{name}"))? {
            Some(o) => {
                let periodic = o.periodic_metrics(registry.clone())?;
                (Some(o), Some(periodic))
            }
            None => (None, None),
        },
    };
    let hub = hub::Hub::new(&registry, otlp.as_ref())?;
    let source =
        sonde_dashboard::LocalSource::new(registry.clone()).traces(hub.traces().clone()).events(hub.events().clone());
    let history = config.hub.as_ref().and_then(|h| h.history_bytes).unwrap_or(sonde_dashboard::DEFAULT_HISTORY_BYTES);
    let dashboard = sonde_dashboard::Dashboard::builder(source).history_bytes(history).build();
    dashboard.history().register_metrics(&registry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (stop_servers, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut servers = Vec::new();
    let stop_workers = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    if !config.enabled {
        say("telemetry disabled by the configuration (enabled = false)".into());
    } else {
        let http_listener = runtime.block_on(tokio::net::TcpListener::bind(http))?;
        let http = http_listener.local_addr()?;
        say(format!("metrics at http://{http}/metrics"));
        if pipeline.exporter_count() > 0 {
            say(format!("{} push exporter(s) running", pipeline.exporter_count()));
        }
        say(format!("dashboard at http://{http}/"));
        say(format!("api at http://{http}/api/"));
        servers.push(runtime.spawn(serve_axum(http_listener, api::router(&hub, &dashboard), stopped())));
        let statsd_addr = or_default(addrs.statsd, DEFAULT_STATSD);
        match statsd::Listeners::bind(statsd_addr) {
            Ok(statsd) => {
                let (udp, tcp) = statsd.addrs()?;
                say(format!("statsd udp at {udp}"));
                say(format!("statsd tcp at {tcp}"));
                let buckets = match config.hub.as_ref().and_then(|h| h.timer_buckets.clone()) {
                    Some(b) => Buckets::new(b)?,
                    None => Buckets::default_seconds(),
                };
                let ingest = Arc::new(StatsdIngest::new(registry.clone(), buckets)?);
                workers = statsd.start(ingest, config.flush_interval.0, stop_workers.clone());
            }
            Err(e) if mode == Mode::Demo => say(format!("statsd not started: {statsd_addr}: {e}")),
            Err(e) => return Err(format!("statsd at {statsd_addr}: {e}").into()),
        }
        if let Some(l) = bind(&runtime, mode, "otlp grpc", or_default(addrs.otlp_grpc, DEFAULT_OTLP_GRPC))? {
            say(format!("otlp grpc at {}", l.local_addr()?));
            let (hub, stop) = (hub.clone(), stopped());
            servers.push(runtime.spawn(async move {
                if let Err(e) = otlp_grpc::serve(hub, l, stop).await {
                    eprintln!("sonde: otlp grpc stopped: {e}");
                }
            }));
        }
        if let Some(l) = bind(&runtime, mode, "otlp http", or_default(addrs.otlp_http, DEFAULT_OTLP_HTTP))? {
            say(format!("otlp http at http://{}", l.local_addr()?));
            servers.push(runtime.spawn(serve_axum(l, otlp_http::router(hub.clone()), stopped())));
        }
        if otlp.is_some() {
            say("forwarding metrics, traces and events over OTLP".into());
        }
    }
    Ok(Running { hub, dashboard, pipeline, otlp, env_metrics, runtime, servers, stop_servers, stop_workers, workers })
}

impl Running {
    /// Stops the listeners, then flushes the forwarders and exporters
    /// (each within five seconds).
    pub(crate) fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        self.stop_workers.store(true, Ordering::Relaxed);
        let _ = self.stop_servers.send(true);
        self.runtime.block_on(async {
            for s in self.servers {
                let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
            }
        });
        for w in self.workers {
            let _ = w.join();
        }
        self.hub.shutdown(Duration::from_secs(5));
        if let Some(m) = &self.env_metrics {
            let _ = m.stop(Duration::from_secs(5));
        }
        self.pipeline.shutdown(Duration::from_secs(5))?;
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        Ok(())
    }
}

/// `sonde serve`: runs until SIGINT or SIGTERM.
pub(crate) fn run(addrs: Addresses, file: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let running = start(addrs, file.as_deref(), Mode::Serve)?;
    crate::demo::say("sonde serve: ready; press Ctrl-C to stop");
    crate::demo::wait_for_signal()?;
    running.stop()?;
    crate::demo::say("sonde serve: stopped");
    Ok(())
}

async fn serve_axum(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
        eprintln!("sonde serve: http server stopped: {e}");
    }
}
