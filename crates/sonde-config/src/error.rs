//! The one error type of `sonde-config`.

/// A configuration that cannot be read, is invalid, or cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// TOML that does not parse, or has unknown keys or wrong types (the
    /// message names the key and the line).
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// A value that parses but is not acceptable.
    #[error("invalid configuration: `{key}`: {reason}")]
    Invalid {
        /// The dotted key (`statsd.max_packet_size`).
        key: String,
        /// What is wrong, with the value.
        reason: String,
    },
    /// An environment variable with a bad value.
    #[error("invalid environment variable {var}={value:?}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A part of the pipeline failed to start.
    #[error("cannot start {part}: {reason}")]
    Start {
        /// Which part.
        part: String,
        /// Why.
        reason: String,
    },
}
