//! The `sonde` binary.

mod demo;

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
    /// Run an instrumented workload and serve its metrics until interrupted.
    Demo {
        /// HTTP address for /metrics (loopback by default; overrides the file).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A TOML configuration (see the sonde-config crate docs): switches on
        /// push exporters (StatsD, Pushgateway, remote write, textfile...).
        /// SONDE_* and STATSD_HOST/STATSD_PORT environment variables apply.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { listen, config } => demo::run(listen, config.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e}");
            ExitCode::FAILURE
        }
    }
}
