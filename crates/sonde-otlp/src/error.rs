//! The one error type of `sonde-otlp`.

/// Why configuring or exporting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option or `OTEL_*` variable has a bad value.
    #[error("OTLP configuration: {0}")]
    Config(String),
    /// The receiver answered with an error status (HTTP status, or gRPC
    /// code as a number).
    #[error("OTLP {signal}: the receiver answered {status}: {message}")]
    Status {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// HTTP status or gRPC code.
        status: u16,
        /// What it said (at most 512 characters).
        message: String,
        /// Whether the status is one OTLP says to retry.
        retryable: bool,
    },
    /// The receiver could not be reached, or did not answer in time.
    #[error("OTLP {signal}: {message}")]
    Transport {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Config(_) => false,
            Self::Status { retryable, .. } => *retryable,
            Self::Transport { .. } => true,
        }
    }
}

impl From<Error> for sonde_export::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Status { signal, status, message, retryable } => {
                Self::Status { exporter: format!("otlp_{signal}"), status, message, retryable }
            }
            other => {
                let retryable = other.is_retryable();
                Self::Other { exporter: "otlp".into(), message: other.to_string(), retryable }
            }
        }
    }
}

impl From<Error> for sonde::Error {
    fn from(e: Error) -> Self {
        Self::Export { exporter: "otlp".into(), reason: e.to_string() }
    }
}
