//! `sonde serve`: the hub (crate `sonde-hub`) from the command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sonde_config::Config;
use sonde_hub::{Addresses, Hub, HubOptions, Storage};

use crate::terminal::{say, Signals};

/// The configuration of `demo` and `serve`: the file (if any), then the
/// environment.
fn load(file: Option<&Path>) -> Result<Config, sonde_config::Error> {
    let config = match file {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    }
    .with_env(None)?;
    config.validate()?;
    Ok(config)
}

/// Where the hub listens and keeps its data; `None` takes the
/// configuration's or the default. (`sonde demo` skips a default ingest
/// port that is taken.)
#[derive(Debug, Default, clap::Args)]
pub(crate) struct HubArgs {
    /// HTTP address for /metrics, the dashboard and the JSON API under
    /// /api/ (default 127.0.0.1:9464; overrides the file).
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
    /// StatsD address, UDP and TCP (default 127.0.0.1:8125).
    #[arg(long)]
    pub(crate) statsd: Option<SocketAddr>,
    /// OTLP/gRPC address for traces, metrics and logs (default 127.0.0.1:4317).
    #[arg(long)]
    pub(crate) otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP address, protobuf or JSON (default 127.0.0.1:4318).
    #[arg(long)]
    pub(crate) otlp_http: Option<SocketAddr>,
    /// Listening beyond loopback without auth is meant: no warning (the
    /// same as `[hub] insecure_listen = true`).
    #[arg(long)]
    pub(crate) insecure_listen: bool,
    /// Where received samples, spans and events are kept across restarts
    /// (default `$XDG_DATA_HOME/sonde`, else `~/.local/share/sonde`, for
    /// serve; a fresh temporary directory for demo).
    #[arg(long, conflicts_with = "ephemeral")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Keep everything in memory only: nothing survives a restart.
    #[arg(long)]
    pub(crate) ephemeral: bool,
}

/// The hub's options from the configuration file (if any), the
/// environment, and the command line (which wins).
pub(crate) fn options(
    args: &HubArgs,
    file: Option<&Path>,
    service: &str,
) -> Result<HubOptions, Box<dyn std::error::Error>> {
    let config = load(file)?;
    let defaults = Addresses::default();
    let http = match (args.listen, &config.prometheus) {
        (Some(a), _) => a,
        (None, Some(p)) => p.listen.parse().map_err(|_| format!("bad listen address {:?}", p.listen))?,
        (None, None) => defaults.http,
    };
    let addresses = Addresses {
        http,
        statsd: args.statsd.unwrap_or(defaults.statsd),
        otlp_grpc: args.otlp_grpc.unwrap_or(defaults.otlp_grpc),
        otlp_http: args.otlp_http.unwrap_or(defaults.otlp_http),
    };
    let mut options = HubOptions::from_config(config, addresses)?;
    options.insecure_listen |= args.insecure_listen;
    if args.ephemeral {
        options.storage = Storage::Memory;
    } else if let Some(dir) = &args.data_dir {
        options.storage = Storage::Dir(dir.clone());
    }
    options.service_name = service.into();
    Ok(options)
}

/// Starts the hub and prints every bound address (`sonde <mode>: <what> at <addr>`).
pub(crate) fn start(options: HubOptions, mode: &str) -> Result<Hub, Box<dyn std::error::Error>> {
    for addr in options.exposed_without_auth() {
        eprintln!(
            "sonde {mode}: warning: {addr} is reachable beyond this machine and no [hub.auth] is configured; \
             anyone who can reach it can read and send telemetry (--insecure-listen to say this is meant)"
        );
    }
    let enabled = options.config.enabled;
    let tls = options.tls.is_some();
    match &options.storage {
        Storage::Dir(dir) => say(&format!("sonde {mode}: data in {}", dir.display())),
        Storage::Memory => say(&format!("sonde {mode}: data in memory only (nothing survives a restart)")),
    }
    let hub = Hub::start(options)?;
    let line = |what: &str, addr: Option<SocketAddr>| {
        if let Some(a) = addr {
            say(&format!("sonde {mode}: {what} at {a}"));
        }
    };
    if !enabled {
        say(&format!("sonde {mode}: telemetry disabled by the configuration (enabled = false)"));
        return Ok(hub);
    }
    let b = hub.bound().clone();
    let scheme = if tls { "https" } else { "http" };
    if let Some(http) = b.http {
        say(&format!("sonde {mode}: metrics at {scheme}://{http}/metrics"));
        if hub.exporter_count() > 0 {
            say(&format!("sonde {mode}: {} push exporter(s) running", hub.exporter_count()));
        }
        say(&format!("sonde {mode}: dashboard at {scheme}://{http}/"));
        say(&format!("sonde {mode}: api at {scheme}://{http}/api/"));
    }
    line("statsd udp", b.statsd_udp);
    line("statsd tcp", b.statsd_tcp);
    line("otlp grpc", b.otlp_grpc);
    if let Some(a) = b.otlp_http {
        say(&format!("sonde {mode}: otlp http at http://{a}"));
    }
    for s in &b.skipped {
        say(&format!("sonde {mode}: not started: {s}"));
    }
    if hub.otlp().is_some() {
        say(&format!("sonde {mode}: forwarding metrics, traces and events over OTLP"));
    }
    Ok(hub)
}

/// Stops the hub and says what it could not deliver.
pub(crate) fn stop(hub: Hub, mode: &str) {
    let report = hub.stop();
    let lost = report.undelivered;
    if (lost.spans > 0 || lost.events > 0) && lost.on_disk {
        eprintln!(
            "sonde {mode}: {} span(s) and {} event(s) not yet forwarded (downstream unreachable or too slow) \
             wait in the disk queue and are sent after the next start",
            lost.spans, lost.events
        );
    } else if lost.spans > 0 || lost.events > 0 {
        eprintln!(
            "sonde {mode}: {} span(s) and {} event(s) could not be forwarded (downstream unreachable or too slow); \
             counted in sonde_forward_dropped_total{{reason=\"shutdown\"}}",
            lost.spans, lost.events
        );
    }
    if !report.drained {
        eprintln!("sonde {mode}: some requests were still in flight at the end of the grace period");
    }
    say(&format!("sonde {mode}: stopped in {:.1} s", report.took.as_secs_f64()));
}

/// `sonde serve`: runs until SIGINT or SIGTERM.
pub(crate) fn run(args: HubArgs, file: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let signals = Signals::install()?;
    let hub = start(options(&args, file.as_deref(), "sonde-serve")?, "serve")?;
    say("sonde serve: ready; press Ctrl-C to stop");
    signals.wait();
    stop(hub, "serve");
    Ok(())
}
