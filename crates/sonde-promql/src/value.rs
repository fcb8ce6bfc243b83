//! What a query gives: a scalar, an instant vector, a range vector
//! (matrix) or a string.

use crate::Labels;

/// One series' sample at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// The sample's own time (milliseconds) where a selector read it, else
    /// the evaluation time.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A series with samples over time, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// `(milliseconds, value)`, oldest first.
    pub samples: Vec<(i64, f64)>,
}

/// A query's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// One sample per series at one instant.
    Vector(Vec<Sample>),
    /// Samples over time per series (a range query's result, or a range
    /// selector's).
    Matrix(Vec<Series>),
    /// A string literal.
    String(String),
}

impl Value {
    /// The name Prometheus' HTTP API gives this kind of result
    /// (`resultType`).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
            Value::String(_) => "string",
        }
    }
}

/// Prometheus' way of writing a sample value: `NaN`, `+Inf`, `-Inf`, or
/// the shortest decimal that reads back as the same float, without an
/// exponent.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Go's strconv.FormatFloat(v, 'f', -1, 64), as the API writes values:
        // the shortest digits that read back, never an exponent.
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_prometheus_writes_them() {
        for (v, want) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1e22, "10000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (123456789.0, "123456789"),
        ] {
            assert_eq!(format_value(v), want);
        }
    }
}
