//! Why the hub could not start.

/// Why the hub could not start (or its configuration is unusable).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A listener could not bind its address.
    #[error("{what} at {addr}: {source}")]
    Bind {
        /// Which listener (`http`, `statsd`, `otlp grpc`, `otlp http`).
        what: &'static str,
        /// Its address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is invalid (an option, a file it names).
    #[error("{0}")]
    Config(String),
    /// The TLS certificate or key cannot be used.
    #[error("tls: {0}")]
    Tls(String),
    /// The auth settings cannot be used.
    #[error("auth: {0}")]
    Auth(String),
    /// A self-metric could not be registered.
    #[error(transparent)]
    Metrics(#[from] sonde::Error),
    /// An exporter of the pipeline could not start.
    #[error(transparent)]
    Pipeline(#[from] sonde_config::Error),
    /// The OTLP forwarder could not start.
    #[error(transparent)]
    Otlp(#[from] sonde_otlp::Error),
    /// A forward destination could not start.
    #[error("forwarding: {0}")]
    Forward(String),
    /// Another hub holds the data directory.
    #[error("the data directory {} is in use by another sonde hub (its LOCK file is held); stop that one or choose another --data-dir", .0.display())]
    DataDirLocked(std::path::PathBuf),
    /// The data directory cannot be created or opened.
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The span and event database cannot be created.
    #[error("records database: {0}")]
    Records(#[from] rusqlite::Error),
    /// The runtime or a thread could not start.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}
