//! The one error type of the `sonde` crate.

/// Everything that can go wrong when declaring or looking up metrics.
///
/// Recording never returns an error: a value that cannot be recorded (a
/// negative counter increment, a NaN observation) is dropped and counted in
/// the `sonde_dropped_values_total` self-metric instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric name outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {name:?}: {reason}")]
    InvalidMetricName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`, reserved, or repeated.
    #[error("invalid label name {name:?}: {reason}")]
    InvalidLabelName {
        /// The rejected label name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A unit outside `[a-zA-Z0-9_]+`.
    #[error("invalid unit {unit:?}: units use only letters, digits and '_'")]
    InvalidUnit {
        /// The rejected unit.
        unit: String,
    },
    /// A lookup passed the wrong number of label values.
    #[error("metric {metric:?} has {expected} label(s), got {got} value(s)")]
    LabelCount {
        /// The family's name.
        metric: String,
        /// Label names the family declares.
        expected: usize,
        /// Values the caller passed.
        got: usize,
    },
    /// A label value longer than [`crate::MAX_LABEL_VALUE_LEN`].
    #[error("label value of {len} bytes for {metric:?} exceeds the {limit}-byte limit")]
    LabelValueTooLong {
        /// The family's name.
        metric: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More label names than [`crate::MAX_LABEL_NAMES`].
    #[error("metric {metric:?} declares {count} labels; the limit is {limit}")]
    TooManyLabels {
        /// The family's name.
        metric: String,
        /// How many label names were declared.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The family holds as many series as its cardinality limit allows.
    #[error("metric {metric:?} reached its cardinality limit of {limit} series")]
    CardinalityLimit {
        /// The family's name.
        metric: String,
        /// The limit.
        limit: usize,
    },
    /// The registry holds its maximum number of series (all families
    /// together), so a new series was refused.
    #[error("metric {metric:?}: the registry holds its limit of {limit} series")]
    SeriesLimit {
        /// The family that asked for a new series.
        metric: String,
        /// The registry's limit.
        limit: usize,
    },
    /// Bucket boundaries that are empty, unsorted, repeated or not finite.
    #[error("invalid buckets: {0}")]
    InvalidBuckets(String),
    /// A summary quantile outside `[0, 1]`.
    #[error("invalid quantile {0}: quantiles lie in [0, 1]")]
    InvalidQuantile(f64),
    /// The name is taken by a metric of another kind, labels or layout.
    #[error("metric {name:?} is already registered differently: {existing}; requested: {requested}")]
    Conflict {
        /// The contested name.
        name: String,
        /// What is registered.
        existing: String,
        /// What was asked for.
        requested: String,
    },
    /// A strict registry was asked for a name it does not declare.
    #[error("metric {name:?} is not declared in this strict registry")]
    Undeclared {
        /// The undeclared name.
        name: String,
    },
    /// A strict registry declares the name with another kind.
    #[error("metric {name:?} is declared as a {declared}, not a {requested}")]
    KindMismatch {
        /// The name.
        name: String,
        /// The declared kind.
        declared: crate::MetricKind,
        /// The requested kind.
        requested: crate::MetricKind,
    },
    /// A list of metric specs that repeats a name.
    #[error("metric spec {name:?} is declared twice")]
    DuplicateSpec {
        /// The repeated name.
        name: String,
    },
    /// An exporter failed, or a flush did not finish in time.
    #[error("export through {exporter} failed: {reason}")]
    Export {
        /// Which exporter or processor.
        exporter: String,
        /// What went wrong.
        reason: String,
    },
    /// An invalid option value, such as a zero cardinality limit.
    #[error("invalid option for {metric:?}: {reason}")]
    InvalidOption {
        /// The family's name.
        metric: String,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
