//! PromQL for Sonde: Prometheus' query language, evaluated over any
//! [`Source`] of samples with Prometheus 2.42's semantics (lookback and
//! staleness, rate extrapolation, counter resets, `__name__` dropping,
//! vector matching) and its limits (samples per query, a time limit,
//! points per series).
//!
//! The parser is `promql-parser`'s; the evaluator is Sonde's.
//!
//! ```
//! use sonde_promql::{Engine, Labels, MemorySource, Value};
//!
//! let mut source = MemorySource::new();
//! let labels = Labels::new([("__name__", "requests_total"), ("route", "/")]);
//! for minute in 0..=10 {
//!     source.push(&labels, minute * 60_000, (minute * 120) as f64);
//! }
//! let engine = Engine::default();
//! let Value::Vector(v) = engine.instant(&source, "sum by (route) (rate(requests_total[5m]))", 600_000)? else {
//!     unreachable!()
//! };
//! assert_eq!(v[0].labels.get("route"), Some("/"));
//! assert!((v[0].v - 2.0).abs() < 1e-9);
//! # Ok::<(), sonde_promql::Error>(())
//! ```

mod aggregate;
mod binary;
mod engine;
mod error;
mod float;
mod functions;
mod labels;
mod parse;
mod series_values;
mod source;
mod sweep;
mod value;

pub use engine::{is_stale, unix_millis, Engine, EngineOptions, STALE_NAN};
pub use error::Error;
pub use labels::{Labels, METRIC_NAME};
pub use parse::{parse, parse_duration, selectors, MAX_DEPTH, MAX_QUERY_BYTES, MAX_TOKENS};
pub use promql_parser::parser::Expr;
pub use series_values::parse_values;
pub use source::{MatchOp, Matcher, MemorySource, Source};
pub use value::{format_value, Sample, Series, Value};
