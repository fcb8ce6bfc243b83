//! The `sonde` binary.

mod check;
mod demo;
mod lint;
mod rules;
mod serve;
mod terminal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sonde: telemetry you can see. `demo` runs the hub with a workload; `serve`
/// runs the hub; `check` validates an exposition; `lint` keeps metric call
/// sites in step with a spec list.
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
        #[command(flatten)]
        addrs: serve::HubArgs,
        /// A TOML configuration (see the sonde-config crate docs): switches on
        /// push exporters (StatsD, Pushgateway, remote write, textfile, OTLP...).
        /// SONDE_*, STATSD_HOST/STATSD_PORT and OTEL_* environment variables apply.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Run the hub: receive StatsD/DogStatsD (UDP and newline-delimited
    /// TCP) and OTLP (gRPC; HTTP with protobuf or JSON) metrics, traces and
    /// logs; serve /metrics, the dashboard and the JSON API under /api/ (docs/api.md);
    /// forward through the exporters the configuration enables (OTLP,
    /// remote write, Pushgateway, StatsD). Everything listens on 127.0.0.1
    /// unless told otherwise. Prints every bound address; stops cleanly,
    /// flushing the forwarders, on SIGINT or SIGTERM.
    Serve {
        #[command(flatten)]
        addrs: serve::HubArgs,
        /// A TOML configuration (the same as `demo --config`).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Validate a Prometheus text or OpenMetrics exposition (a file, an
    /// http(s) URL, or - for stdin), with line numbers. Text is read as
    /// Prometheus' parser reads it and linted as `promtool check metrics`
    /// lints it; OpenMetrics by its specification (exemplars, UNIT, info,
    /// stateset, gauge histograms, created, sample names by type, # EOF).
    /// Both also get histogram bucket, duplicate series and grouping checks.
    /// The format comes from --format, else the URL's Content-Type, else a
    /// `# EOF` line. Exit status (as promtool's): 0 clean, 1 errors, 3 lint
    /// findings only, 2 usage errors.
    Check {
        /// File, URL or -.
        target: String,
        /// `text` or `openmetrics` (default: detected).
        #[arg(long, value_parser = ["text", "openmetrics"])]
        format: Option<String>,
    },
    /// Check metric names in Rust sources against a spec list (TOML
    /// `[[metric]]` entries with name, kind, unit, help): reports undeclared
    /// names (file:line), declared specs never used, kind mismatches, and
    /// specs that break the naming rules (a unit the name does not end in,
    /// `_total` on a non-counter, a suffix the exposition adds, no help).
    /// Exit status: 0 clean, 1 findings, 2 usage errors.
    Lint {
        /// The spec list.
        #[arg(long)]
        specs: std::path::PathBuf,
        /// Files or directories to scan.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Prometheus rule files (recording and alerting rules), as `sonde
    /// serve` evaluates them from `[rules] files`.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { addrs, config } => demo::run(addrs, config.as_deref()),
        Command::Serve { addrs, config } => serve::run(addrs, config),
        Command::Lint { specs, paths } => return ExitCode::from(lint::run(&specs, &paths)),
        Command::Check { target, format } => return ExitCode::from(check::run(&target, format.as_deref())),
        Command::Rules { command } => return ExitCode::from(rules::run(command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e}");
            ExitCode::FAILURE
        }
    }
}
