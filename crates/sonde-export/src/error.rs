//! The one error type of `sonde-export`.

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or socket operation failed.
    #[error("{exporter}: I/O error: {source}")]
    Io {
        /// Which exporter.
        exporter: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The receiver answered with an error status.
    #[error("{exporter}: the receiver answered {status}: {message}")]
    Status {
        /// Which exporter.
        exporter: String,
        /// The status code (HTTP or gRPC).
        status: u16,
        /// What it said.
        message: String,
        /// Whether trying again may succeed (429, 5xx, unavailable).
        retryable: bool,
    },
    /// Some of a multi exporter's children failed (the others succeeded).
    #[error("exporters failed: {0:?}")]
    Partial(Vec<String>),
    /// Anything else, with whether a retry may help.
    #[error("{exporter}: {message}")]
    Other {
        /// Which exporter.
        exporter: String,
        /// What went wrong.
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
}

impl Error {
    /// The error for a receiver's non-2xx `status`, retryable exactly for
    /// 429 and 5xx (the rule every push exporter follows).
    pub fn from_status(exporter: &str, status: u16, message: &str) -> Self {
        Self::Status {
            exporter: exporter.into(),
            status,
            message: message.chars().take(512).collect(),
            retryable: status == 429 || status >= 500,
        }
    }

    /// A failure to reach the receiver at all (refused, reset, timed out):
    /// retryable.
    pub fn transport(exporter: &str, message: impl std::fmt::Display) -> Self {
        Self::Other { exporter: exporter.into(), message: message.to_string(), retryable: true }
    }

    /// Whether the periodic exporter should retry.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { .. } => true,
            Self::Status { retryable, .. } | Self::Other { retryable, .. } => *retryable,
            Self::Partial(_) => false,
        }
    }
}
