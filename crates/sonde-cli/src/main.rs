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
        /// HTTP address for /metrics (loopback by default).
        #[arg(long, default_value = sonde_prometheus::DEFAULT_LISTEN)]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { listen } => demo::run(listen),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e}");
            ExitCode::FAILURE
        }
    }
}
