//! Label names, label values and the keys that identify a series.

mod key;
mod name;

pub(crate) use key::{encode_len, LabelKeyRef, LabelLookup};
pub use name::{sanitize_label_name, sanitize_label_value, sanitize_metric_name};
pub(crate) use name::{validate_label_name, validate_metric_name, validate_unit};

/// Longest label value accepted, in bytes. Longer values go to the overflow
/// series (and [`crate::Family::try_with`] returns an error).
pub const MAX_LABEL_VALUE_LEN: usize = 4096;

/// Most label names one family may declare (constant labels included).
pub const MAX_LABEL_NAMES: usize = 64;

/// The value every label takes in a family's overflow series.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";
