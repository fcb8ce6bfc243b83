//! `sonde serve`: the hub. It receives StatsD (UDP, TCP) and OTLP (HTTP
//! protobuf/JSON, gRPC) for metrics, traces and logs; folds metrics into a
//! registry served at `/metrics`; keeps spans and events in bounded stores
//! for the JSON API under `/api/`; and forwards through the exporters its
//! configuration enables.

mod api;
pub mod hub;
mod otlp_grpc;
mod otlp_http;
mod statsd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sonde::{Buckets, Registry};
use sonde_config::Pipeline;
use sonde_statsd::StatsdIngest;

/// Default StatsD address (the StatsD convention, on loopback).
pub const DEFAULT_STATSD: &str = "127.0.0.1:8125";
/// Default OTLP/gRPC address (the OpenTelemetry convention, on loopback).
pub const DEFAULT_OTLP_GRPC: &str = "127.0.0.1:4317";
/// Default OTLP/HTTP address (the OpenTelemetry convention, on loopback).
pub const DEFAULT_OTLP_HTTP: &str = "127.0.0.1:4318";

/// Where the hub listens; `None` takes the configuration's or the default.
#[derive(Debug, Default)]
pub struct Addresses {
    /// `/metrics` and `/api/`.
    pub listen: Option<SocketAddr>,
    /// StatsD, UDP and TCP.
    pub statsd: Option<SocketAddr>,
    /// OTLP/gRPC.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP.
    pub otlp_http: Option<SocketAddr>,
}

fn or_default(addr: Option<SocketAddr>, default: &str) -> SocketAddr {
    addr.unwrap_or_else(|| default.parse().expect("constant address"))
}

pub fn run(addrs: Addresses, file: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = crate::demo::load(addrs.listen, file.as_deref())?;
    // The hub serves /metrics itself, next to the API; the pipeline only
    // runs the push exporters.
    let http: SocketAddr = match config.prometheus.take() {
        Some(p) => p.listen.parse().map_err(|_| format!("bad listen address {:?}", p.listen))?,
        None => or_default(None, "127.0.0.1:9464"),
    };
    let root = Registry::new();
    let pipeline = Pipeline::start(&config, root.clone())?;
    let hub = hub::Hub::new(pipeline.registry(), pipeline.otlp())?;
    let ingest = Arc::new(StatsdIngest::new(pipeline.registry().clone(), Buckets::default_seconds())?);
    let statsd = statsd::Listeners::bind(or_default(addrs.statsd, DEFAULT_STATSD))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (http_listener, grpc_listener, otlp_http_listener) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            tokio::net::TcpListener::bind(http).await?,
            tokio::net::TcpListener::bind(or_default(addrs.otlp_grpc, DEFAULT_OTLP_GRPC)).await?,
            tokio::net::TcpListener::bind(or_default(addrs.otlp_http, DEFAULT_OTLP_HTTP)).await?,
        ))
    })?;
    let say = crate::demo::say;
    let http = http_listener.local_addr()?;
    let (udp, tcp) = statsd.addrs()?;
    say(&format!("sonde serve: metrics at http://{http}/metrics"));
    say(&format!("sonde serve: statsd udp at {udp}"));
    say(&format!("sonde serve: statsd tcp at {tcp}"));
    say(&format!("sonde serve: otlp grpc at {}", grpc_listener.local_addr()?));
    say(&format!("sonde serve: otlp http at http://{}", otlp_http_listener.local_addr()?));
    say(&format!("sonde serve: api at http://{http}/api/"));
    if pipeline.exporter_count() > 0 {
        say(&format!("sonde serve: {} forwarding exporter(s) running", pipeline.exporter_count()));
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let servers = vec![
        runtime.spawn(serve_axum(http_listener, api::router(hub.clone()), stopped())),
        runtime.spawn(serve_axum(otlp_http_listener, otlp_http::router(hub.clone()), stopped())),
        runtime.spawn({
            let (hub, stop) = (hub.clone(), stopped());
            async move {
                if let Err(e) = otlp_grpc::serve(hub, grpc_listener, stop).await {
                    eprintln!("sonde serve: otlp grpc stopped: {e}");
                }
            }
        }),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let workers = statsd.start(ingest, config.flush_interval.0, stop.clone());
    say("sonde serve: ready; press Ctrl-C to stop");

    crate::demo::wait_for_signal()?;
    stop.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    runtime.block_on(async {
        for s in servers {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
    });
    for w in workers {
        let _ = w.join();
    }
    hub.shutdown(Duration::from_secs(5));
    pipeline.shutdown(Duration::from_secs(5))?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    say("sonde serve: stopped");
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
