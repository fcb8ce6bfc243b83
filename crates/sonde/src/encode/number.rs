//! Number spelling and escaping shared by the text encoders.

/// Writes a sample value: `NaN`, `+Inf`, `-Inf`, integers without a
/// fraction, other values in the shortest form that reads back exactly.
#[inline]
pub(super) fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v.is_sign_positive() { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// Writes an exact integer.
#[inline]
pub(super) fn write_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Writes a float in OpenMetrics' canonical form for `le` and `quantile`
/// label values: always with a fraction or exponent (`1.0`, `0.25`,
/// `1.0e21`), `+Inf`/`-Inf`/`NaN` spelled out.
pub(super) fn write_canonical(out: &mut String, v: f64) {
    if !v.is_finite() {
        return write_value(out, v);
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    out.push_str(s);
    if !s.contains(['.', 'e', 'E']) {
        out.push_str(".0");
    }
}

/// Escapes a label value: `\` `"` and newline.
#[inline]
pub(super) fn write_label_value(out: &mut String, v: &str) {
    if !v.contains(['\\', '"', '\n']) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes HELP text: `\` and newline, plus `"` when `quote` (OpenMetrics).
pub(super) fn write_help(out: &mut String, v: &str, quote: bool) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Seconds since the epoch as a float, for timestamps.
pub(super) fn unix_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: f64) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    fn canonical(v: f64) -> String {
        let mut s = String::new();
        write_canonical(&mut s, v);
        s
    }

    #[test]
    fn values() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (0.5, "0.5"),
            (1e20, "1e20"),
            // Integers are spelled out below 1e15; from there on, ryu's form.
            (999_999_999_999_999.0, "999999999999999"),
            (1e15, "1000000000000000.0"),
            (-1e15, "-1000000000000000.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(value(v), want);
            if v.is_finite() {
                assert_eq!(value(v).parse::<f64>().unwrap(), v, "round trip");
            }
        }
    }

    #[test]
    fn canonical_floats() {
        assert_eq!(canonical(1.0), "1.0");
        assert_eq!(canonical(0.005), "0.005");
        assert_eq!(canonical(10.0), "10.0");
        assert_eq!(canonical(1e21), "1e21");
        assert_eq!(canonical(f64::INFINITY), "+Inf");
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        write_label_value(&mut s, "a\\\"b\nc");
        assert_eq!(s, r#"a\\\"b\nc"#);
        let mut h = String::new();
        write_help(&mut h, "a\\\"\n", false);
        assert_eq!(h, "a\\\\\"\\n");
        let mut h = String::new();
        write_help(&mut h, "\"", true);
        assert_eq!(h, "\\\"");
    }
}
