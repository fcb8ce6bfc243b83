//! The one error type of `sonde-statsd`.

/// What can fail when setting up a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address did not resolve.
    #[error("cannot resolve StatsD address {addr:?}: {source}")]
    Resolve {
        /// The address given.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The socket could not be created or connected.
    #[error("cannot open a socket to StatsD at {addr}: {source}")]
    Socket {
        /// Where to.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// An option is out of range.
    #[error("invalid StatsD option: {0}")]
    Option(String),
    /// A port in `STATSD_PORT` that is not a number.
    #[error("STATSD_PORT {0:?} is not a port number")]
    Port(String),
}
