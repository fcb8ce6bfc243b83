//! The one error type of `sonde-prometheus`.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can fail when serving or writing metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server thread or its runtime could not start.
    #[error("cannot start the metrics server: {0}")]
    Start(std::io::Error),
    /// Writing a textfile failed.
    #[error("cannot write textfile {path}: {source}")]
    Textfile {
        /// The destination.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
