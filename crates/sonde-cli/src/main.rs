//! The `sonde` binary.

mod check;
mod demo;
mod lint;
mod otlp_env;
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sonde: telemetry you can see.
#[derive(Parser)]
#[command(name = "sonde", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub with an instrumented workload (requests, errors, nested
    /// spans, events, queues, a summary, a timer) until interrupted, and
    /// print where to look: /metrics and the API. OTEL_EXPORTER_OTLP_*
    /// variables send everything to an OpenTelemetry collector too.
    Demo {
        /// HTTP address for /metrics and the API (default 127.0.0.1:9464;
        /// overrides the file). The demo also receives StatsD and OTLP on the
        /// default ports when they are free.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A TOML configuration (see the sonde-config crate docs): switches on
        /// push exporters (StatsD, Pushgateway, remote write, textfile...).
        /// SONDE_* and STATSD_HOST/STATSD_PORT environment variables apply.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// StatsD address for the hub, UDP and TCP (default 127.0.0.1:8125, skipped if taken).
        #[arg(long)]
        statsd: Option<SocketAddr>,
        /// OTLP/gRPC address for the hub (default 127.0.0.1:4317, skipped if taken).
        #[arg(long)]
        otlp_grpc: Option<SocketAddr>,
        /// OTLP/HTTP address for the hub (default 127.0.0.1:4318, skipped if taken).
        #[arg(long)]
        otlp_http: Option<SocketAddr>,
    },
    /// Run the hub: receive StatsD/DogStatsD (UDP and newline-delimited
    /// TCP) and OTLP (gRPC; HTTP with protobuf or JSON) metrics, traces and
    /// logs; serve /metrics and the JSON API under /api/ (docs/api.md);
    /// forward through the exporters the configuration enables (OTLP,
    /// remote write, Pushgateway, StatsD). Everything listens on 127.0.0.1
    /// unless told otherwise. Prints every bound address; stops cleanly,
    /// flushing the forwarders, on SIGINT or SIGTERM.
    Serve {
        /// HTTP address for /metrics and the JSON API under /api/ (default
        /// 127.0.0.1:9464; overrides the file).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// StatsD address, UDP and TCP (default 127.0.0.1:8125).
        #[arg(long)]
        statsd: Option<SocketAddr>,
        /// OTLP/gRPC address for traces, metrics and logs (default 127.0.0.1:4317).
        #[arg(long)]
        otlp_grpc: Option<SocketAddr>,
        /// OTLP/HTTP address, protobuf or JSON (default 127.0.0.1:4318).
        #[arg(long)]
        otlp_http: Option<SocketAddr>,
        /// A TOML configuration (the same as `demo --config`).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Validate a Prometheus text or OpenMetrics exposition (a file, an
    /// http(s) URL, or - for stdin): syntax with line numbers, HELP/TYPE
    /// misuse, names, duplicates, histogram buckets, missing help.
    /// Exit status: 0 clean, 1 findings, 2 usage errors.
    Check {
        /// File, URL or -.
        target: String,
    },
    /// Check metric names in Rust sources against a spec list (TOML
    /// `[[metric]]` entries with name, kind, unit, help): reports undeclared
    /// names (file:line), declared specs never used, and kind mismatches.
    /// Exit status: 0 clean, 1 findings, 2 usage errors.
    Lint {
        /// The spec list.
        #[arg(long)]
        specs: std::path::PathBuf,
        /// Files or directories to scan.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { listen, config, statsd, otlp_grpc, otlp_http } => {
            demo::run(serve::Addresses { listen, statsd, otlp_grpc, otlp_http }, config.as_deref())
        }
        Command::Serve { listen, statsd, otlp_grpc, otlp_http, config } => {
            serve::run(serve::Addresses { listen, statsd, otlp_grpc, otlp_http }, config)
        }
        Command::Lint { specs, paths } => return ExitCode::from(lint::run(&specs, &paths)),
        Command::Check { target } => return ExitCode::from(check::run(&target)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e}");
            ExitCode::FAILURE
        }
    }
}
