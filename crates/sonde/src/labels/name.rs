//! Validation of names per the Prometheus data model.

use std::borrow::Cow;

use crate::{Error, Result};

/// Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn validate_metric_name(name: &str) -> Result<()> {
    let err = |reason| Err(Error::InvalidMetricName { name: name.into(), reason });
    let mut chars = name.chars();
    match chars.next() {
        None => return err("a name must not be empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_' || c == ':') => {
            return err("a name starts with a letter, '_' or ':'")
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return err("a name holds only letters, digits, '_' and ':'");
    }
    Ok(())
}

/// Label names: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
pub(crate) fn validate_label_name(name: &str) -> Result<()> {
    let err = |reason| Err(Error::InvalidLabelName { name: name.into(), reason });
    let mut chars = name.chars();
    match chars.next() {
        None => return err("a label name must not be empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => return err("a label name starts with a letter or '_'"),
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return err("a label name holds only letters, digits and '_'");
    }
    if name.starts_with("__") {
        return err("label names starting with '__' are reserved");
    }
    Ok(())
}

/// Units: `[a-zA-Z0-9_]+`.
pub(crate) fn validate_unit(unit: &str) -> Result<()> {
    if unit.is_empty() || !unit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::InvalidUnit { unit: unit.into() });
    }
    Ok(())
}

/// Turns a foreign name (`api.latency-ms`, an OpenTelemetry `http.server.duration`)
/// into a valid metric name: every other character becomes `_`, and a
/// leading digit gets a `_` in front; empty input gives `_`.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Turns a foreign key (a StatsD tag, an OpenTelemetry attribute) into a
/// valid label name: other characters become `_`; an empty name, a leading
/// digit or the reserved `__` prefix gets `key_` in front.
pub fn sanitize_label_name(key: &str) -> String {
    let mut out: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) || out.starts_with("__") {
        out.insert_str(0, "key_");
    }
    out
}

/// Makes a foreign value (a StatsD tag value, an OpenTelemetry attribute)
/// safe as a label value: every control character (Unicode category Cc:
/// NUL, the other C0 controls, DEL and the C1 controls, newline and tab
/// included) becomes U+FFFD `\u{FFFD}`. Everything else is kept as given;
/// the encoders escape `\`, `"` and newlines as each format requires.
/// Borrows when there is nothing to replace.
///
/// ```
/// assert_eq!(sonde::sanitize_label_value("GET /a"), "GET /a");
/// assert_eq!(sonde::sanitize_label_value("a\0b\n"), "a\u{FFFD}b\u{FFFD}");
/// ```
pub fn sanitize_label_value(value: &str) -> Cow<'_, str> {
    if value.chars().any(char::is_control) {
        value.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect::<String>().into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_metric_names_keep_colons_and_underscores() {
        assert_eq!(sanitize_metric_name("ns:sub_name.x-y"), "ns:sub_name_x_y");
        assert_eq!(sanitize_metric_name("9lives"), "_9lives");
        assert_eq!(sanitize_metric_name(""), "_");
    }

    #[test]
    fn label_values_lose_control_characters_only() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("tab\there", "tab\u{FFFD}here"),
            ("nul\0", "nul\u{FFFD}"),
            ("del\u{7f}c1\u{85}", "del\u{FFFD}c1\u{FFFD}"),
            ("quote\"back\\slash é ✓", "quote\"back\\slash é ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_label_value(input), want, "{input:?}");
        }
        assert!(matches!(sanitize_label_value("ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn metric_names() {
        for ok in ["a", "_a", ":a", "http_requests_total", "a:b_c9"] {
            assert!(validate_metric_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a\n", "a{b}"] {
            assert!(validate_metric_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sanitized_names_validate() {
        for raw in ["api.latency-ms", "9lives", "", "http.server.duration", "ok_name:x", "é"] {
            assert!(validate_metric_name(&sanitize_metric_name(raw)).is_ok(), "{raw:?}");
            assert!(validate_label_name(&sanitize_label_name(raw)).is_ok(), "{raw:?}");
        }
        assert_eq!(sanitize_metric_name("api.latency-ms"), "api_latency_ms");
        assert_eq!(sanitize_label_name("__name__"), "key___name__");
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_a", "method", "a9_"] {
            assert!(validate_label_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a:b", "__name__", "__x", "a-b", "ü"] {
            assert!(validate_label_name(bad).is_err(), "{bad:?}");
        }
    }
}
