//! The expanding notation of Prometheus' test files for a series' values
//! (`promtool test rules`' `input_series`): `1 2 _ stale 0+10x5 5-1x3 _x2`.

use crate::engine::STALE_NAN;
use crate::Error;

/// Expands a values string: one entry per interval, `None` where a sample
/// is missing (`_`), Prometheus' staleness marker for `stale`.
///
/// `a+bxn` gives `n + 1` values, from `a` adding `b` each time (added up
/// as Prometheus does, so the floats agree bit for bit); `axn` repeats `a`
/// `n + 1` times; `_xn` is `n` missing samples.
///
/// # Errors
///
/// [`Error::BadData`] for a term that is not one of these.
pub fn parse_values(values: &str) -> Result<Vec<Option<f64>>, Error> {
    let mut out = Vec::new();
    for term in values.split_whitespace() {
        let bad = || Error::BadData(format!("bad series value {term:?}"));
        let (head, times) = match term.rsplit_once('x') {
            Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() => {
                (head, Some(n.parse::<u64>().map_err(|_| bad())?))
            }
            _ => (term, None),
        };
        if times.is_some_and(|n| n > 1_000_000) {
            return Err(Error::BadData(format!("series value {term:?} expands to too many samples")));
        }
        if head == "_" {
            out.extend(std::iter::repeat_n(None, times.map_or(1, |n| n as usize)));
            continue;
        }
        let (start, step) = split_step(head).ok_or_else(bad)?;
        match times {
            None if step.is_none() => out.push(Some(start)),
            None => return Err(bad()),
            Some(n) => {
                let step = step.unwrap_or(0.0);
                let mut v = start;
                for _ in 0..=n {
                    out.push(Some(v));
                    v += step;
                }
            }
        }
    }
    Ok(out)
}

/// `a`, `a+b` or `a-b` (signs and exponents inside numbers allowed).
fn split_step(s: &str) -> Option<(f64, Option<f64>)> {
    let bytes = s.as_bytes();
    let split = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'+' | b'-'));
    match split {
        None => Some((number(s)?, None)),
        Some(i) => {
            let step = number(&s[i + 1..])?;
            Some((number(&s[..i])?, Some(if bytes[i] == b'-' { -step } else { step })))
        }
    }
}

fn number(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "stale" => Some(f64::from_bits(STALE_NAN)),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(v: &str) -> Vec<String> {
        parse_values(v)
            .unwrap()
            .into_iter()
            .map(|x| match x {
                None => "_".into(),
                Some(f) if f.to_bits() == STALE_NAN => "stale".into(),
                Some(f) => f.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_documented_examples_expand_as_promtool_says() {
        assert_eq!(show("-2+4x3"), ["-2", "2", "6", "10"]);
        assert_eq!(show(" 1-2x4"), ["1", "-1", "-3", "-5", "-7"]);
        assert_eq!(show(" 1x4"), ["1", "1", "1", "1", "1"]);
        assert_eq!(show(" 1 _x3 stale"), ["1", "_", "_", "_", "stale"]);
        assert_eq!(show("1e3 -Inf NaN 2e-1+1e-1x1"), ["1000", "-inf", "NaN", "0.2", "0.30000000000000004"]);
    }

    #[test]
    fn what_is_not_notation_is_an_error() {
        for bad in ["a", "1+", "1+2", "1x", "_+1x2"] {
            assert!(parse_values(bad).is_err(), "{bad}");
        }
    }
}
