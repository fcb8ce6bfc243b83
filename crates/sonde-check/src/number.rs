//! Number spellings as each reference parser reads them.

/// A sample value or bucket bound in the text format, as Prometheus' text
/// parser reads it: Go's `strconv.ParseFloat` without hexadecimal or `_`
/// (`inf`, `infinity` with an optional sign and `nan` without one, in any
/// case; a value out of range is an error, one that underflows is zero).
pub(crate) fn text_float(s: &str) -> Option<f64> {
    if s.contains(['_', 'p', 'P', 'x', 'X']) {
        return None;
    }
    let unsigned = s.strip_prefix(['+', '-']);
    if unsigned.is_some_and(|u| u.eq_ignore_ascii_case("nan")) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    let spelled_infinite = unsigned.unwrap_or(s).to_ascii_lowercase().starts_with("inf");
    (!v.is_infinite() || spelled_infinite).then_some(v)
}

/// A timestamp in the text format: Go's `strconv.ParseInt(s, 10, 64)`.
/// Rust's integer parsing has the same grammar (an optional sign, then
/// decimal digits only) and range.
pub(crate) fn text_timestamp(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// OpenMetrics' `realnumber`: an optional sign, digits with an optional
/// fraction (at least one digit on one side of the point) and an optional
/// exponent. No infinities, no NaN.
pub(crate) fn openmetrics_real(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    // Rust's parser has the same grammar but also reads `inf`, `infinity`
    // and `NaN`; the digits before any point or exponent rule those out.
    let int = unsigned.split(['.', 'e', 'E']).next().unwrap_or("");
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// OpenMetrics' `number`: a `realnumber`, `inf` or `infinity` with an
/// optional sign, or `nan` (case-insensitive).
pub(crate) fn openmetrics_number(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']);
    let word = unsigned.unwrap_or(s);
    if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
        return Some(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    openmetrics_real(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_floats_follow_go() {
        for (s, ok) in [
            ("1", true),
            ("+5", true),
            (".5", true),
            ("5.", true),
            ("1e5", true),
            ("1E+5", true),
            ("007", true),
            ("Inf", true),
            ("+inf", true),
            ("-Infinity", true),
            ("NaN", true),
            ("nan", true),
            ("1e-400", true),
            ("+NaN", false),
            ("-nan", false),
            ("1e400", false),
            ("0x10", false),
            ("0x1p-2", false),
            ("1_000", false),
            ("1e", false),
            ("e5", false),
            ("", false),
            ("1.5.5", false),
            ("infinit", false),
        ] {
            assert_eq!(text_float(s).is_some(), ok, "{s:?}");
        }
        assert_eq!(text_float("-Inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn text_timestamps_follow_go() {
        for (s, ok) in [
            ("5", true),
            ("+5", true),
            ("-5", true),
            ("007", true),
            ("1e3", false),
            ("1.5", false),
            ("", false),
            ("+", false),
            ("--5", false),
            ("+-5", false),
            (" 5", false),
            ("5 ", false),
            ("1_000", false),
            ("0x10", false),
        ] {
            assert_eq!(text_timestamp(s).is_some(), ok, "{s:?}");
        }
        assert_eq!(text_timestamp("99999999999999999999"), None, "beyond int64");
    }

    #[test]
    fn openmetrics_numbers_follow_the_grammar() {
        for (s, ok) in [
            ("1", true),
            ("-1.5", true),
            ("1.", true),
            (".5", true),
            ("1e3", true),
            ("1E-3", true),
            ("+Inf", true),
            ("-infinity", true),
            ("NaN", true),
            ("-NaN", false),
            ("+nan", false),
            (".", false),
            ("1e", false),
            ("1e+", false),
            ("1e+05", true),
            ("1e5.5", false),
            ("1einf", false),
            ("1ee5", false),
            ("1e 5", false),
            ("e1", false),
            ("1_0", false),
            ("0x1", false),
            ("", false),
        ] {
            assert_eq!(openmetrics_number(s).is_some(), ok, "{s:?}");
        }
        assert_eq!(openmetrics_real("Inf"), None, "timestamps are real numbers");
        assert_eq!(openmetrics_real("1.5"), Some(1.5));
        for (s, ok) in [
            ("-.5e-3", true),
            ("+1.", true),
            ("inf", false),
            ("infinity", false),
            ("nan", false),
            ("+-1", false),
            ("1.x", false),
            ("1.5.5", false),
            (".e5", false),
            ("1.inf", false),
        ] {
            assert_eq!(openmetrics_real(s).is_some(), ok, "{s:?}");
        }
    }
}
