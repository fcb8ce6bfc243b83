//! Why a query failed, in Prometheus' error types.

/// Why a query failed. [`Error::kind`] gives the `errorType` Prometheus'
/// HTTP API would answer with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query does not parse; `position` is the byte offset of the
    /// offending token when it is known.
    #[error("{}parse error: {message}", position.map(|p| format!("1:{}: ", p + 1)).unwrap_or_default())]
    Parse {
        /// What is wrong.
        message: String,
        /// Where (byte offset into the query).
        position: Option<usize>,
    },
    /// The query parses but cannot be run as asked (a bad parameter, a
    /// range too fine, a function Sonde does not have).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (duplicate label sets, bad function arguments).
    #[error("{0}")]
    Execution(String),
    /// The query would hold more samples than allowed at once.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query ran past its time limit.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The sample source could not be read.
    #[error("reading samples: {0}")]
    Source(String),
}

impl Error {
    /// Prometheus' `errorType` for this error: `bad_data`, `execution`,
    /// `timeout` or `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse { .. } | Error::BadData(_) => "bad_data",
            Error::Execution(_) | Error::TooManySamples(_) => "execution",
            Error::Timeout(_) => "timeout",
            Error::Source(_) => "internal",
        }
    }
}
