//! Go's ways of writing floats, where templates and the API must read as
//! Prometheus writes them: `%v`, `%e`, `%g` with a precision, `%.Nf`.

/// Decimal digits of `v`'s shortest round-trip form (or to `precision`
/// significant digits), and its decimal exponent: `v = 0.d1d2.. × 10^exp`.
fn digits(v: f64, precision: Option<usize>) -> (String, i32) {
    let s = match precision {
        None => format!("{:e}", v.abs()),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// `%e` form from digits: `d.ddde+XX`.
fn exponent_form(negative: bool, digits: &str, exp: i32) -> String {
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let e = exp - 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(first);
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
    out
}

/// Plain form from digits: `ddd.ddd`.
fn plain_form(negative: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp) as usize));
        out.push_str(digits);
    } else if exp as usize >= digits.len() {
        out.push_str(digits);
        out.push_str(&"0".repeat(exp as usize - digits.len()));
    } else {
        out.push_str(&digits[..exp as usize]);
        out.push('.');
        out.push_str(&digits[exp as usize..]);
    }
    out
}

/// Go's `%g` (`strconv.FormatFloat(v, 'g', precision, 64)`; `None` for the
/// shortest form, as `%v` writes a float64).
pub(crate) fn g(v: f64, precision: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (mut digits, exp) = digits(v, precision.map(|p| p.max(1)));
    // Go's decimal form keeps no trailing zeros.
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let eprec = match precision {
        // The shortest form switches to an exponent at 10^6 (and 10^-5).
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd >= exp {
                nd
            } else {
                p
            }
        }
    };
    let x = exp - 1;
    if x < -4 || x >= eprec {
        exponent_form(v < 0.0, &digits, exp)
    } else {
        plain_form(v < 0.0, &digits, exp)
    }
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`).
pub(crate) fn v(x: f64) -> String {
    g(x, None)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as the alerts API writes
/// values.
pub(crate) fn e(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0e+00" } else { "0e+00" }.into();
    }
    let (digits, exp) = digits(v, None);
    exponent_form(v < 0.0, &digits, exp)
}

/// Go's `%.Nf`.
pub(crate) fn f(v: f64, precision: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.precision$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_as_go_writes_them() {
        let cases: &[(f64, &str, &str, &str)] = &[
            // (value, %v, %.4g, %e -1)
            (1.0, "1", "1", "1e+00"),
            (0.5, "0.5", "0.5", "5e-01"),
            (21.5, "21.5", "21.5", "2.15e+01"),
            (20.0, "20", "20", "2e+01"),
            (123456.0, "123456", "1.235e+05", "1.23456e+05"),
            (1e6, "1e+06", "1e+06", "1e+06"),
            (1234567.0, "1.234567e+06", "1.235e+06", "1.234567e+06"),
            (0.0001, "0.0001", "0.0001", "1e-04"),
            (0.00001234, "1.234e-05", "1.234e-05", "1.234e-05"),
            (-3.25, "-3.25", "-3.25", "-3.25e+00"),
            (1.0 / 3.0, "0.3333333333333333", "0.3333", "3.333333333333333e-01"),
            (f64::NAN, "NaN", "NaN", "NaN"),
            (f64::INFINITY, "+Inf", "+Inf", "+Inf"),
            (0.0, "0", "0", "0e+00"),
        ];
        for (x, want_v, want_g4, want_e) in cases {
            assert_eq!(v(*x), *want_v, "%v of {x}");
            assert_eq!(g(*x, Some(4)), *want_g4, "%.4g of {x}");
            assert_eq!(e(*x), *want_e, "%e of {x}");
        }
        assert_eq!(f(2.0 / 3.0, 2), "0.67");
    }
}
