//! Validates a Prometheus text or OpenMetrics exposition (the engine of
//! `sonde check`), with line-numbered findings.
//!
//! Beyond what `promtool check metrics` reports (syntax, one HELP/TYPE per
//! family before its samples, names, missing help, counters without
//! `_total`), it checks histogram semantics: buckets sorted by `le` with
//! non-decreasing counts, a `+Inf` bucket, and `_count` equal to it; and
//! duplicate series.
//!
//! ```
//! let text = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 3\n";
//! assert!(sonde_check::check(text).is_empty());
//!
//! let bad = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n";
//! let findings = sonde_check::check(bad);
//! assert!(findings.iter().any(|f| f.message.contains("+Inf")));
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

/// One finding: a line number (0 for the whole input) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// 1-based line, or 0 for the whole input.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn valid_metric_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok().filter(|_| !s.contains(['_', ' '])),
    }
}

/// A parsed sample line.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses `name{labels} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut r = r;
        loop {
            r = r.trim_start();
            if let Some(after) = r.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = r.find('=').ok_or("expected '=' after a label name")?;
            let lname = r[..eq].trim();
            if !valid_label_name(lname) {
                return Err(format!("invalid label name {lname:?}"));
            }
            let v = r[eq + 1..].trim_start().strip_prefix('"').ok_or("expected '\"' to open a label value")?;
            let mut value = String::new();
            let mut chars = v.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, other)) => return Err(format!("invalid escape sequence '\\{other}'")),
                        None => return Err(format!("unexpected end of label value {value:?}")),
                    },
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| format!("unexpected end of label value {value:?}"))?;
            if labels.iter().any(|(n, _): &(String, String)| n == lname) {
                return Err(format!("duplicate label name {lname:?}"));
            }
            labels.push((lname.to_owned(), value));
            r = v[end + 1..].trim_start();
            if let Some(after) = r.strip_prefix(',') {
                r = after;
            } else if !r.starts_with('}') {
                return Err("expected ',' or '}' after a label value".into());
            }
        }
        rest = r;
    }
    let mut fields = rest.split_whitespace();
    let v = fields.next().ok_or("expected a value")?;
    let value = parse_float(v).ok_or_else(|| format!("expected float as value, got {v:?}"))?;
    if let Some(ts) = fields.next() {
        if ts.parse::<f64>().is_err() {
            return Err(format!("expected timestamp, got {ts:?}"));
        }
    }
    if let Some(extra) = fields.next() {
        if extra != "#" {
            return Err(format!("unexpected {extra:?} after the value"));
        }
    }
    Ok(Sample { name: name.to_owned(), labels, value })
}

/// The family a sample name belongs to, given the declared types: a
/// suffixed name joins its base family only when the base's type has that
/// suffix (`_bucket` for histograms, `_sum`/`_count` for histograms and
/// summaries, `_total` for counters, `_created` for all three) and the name
/// is not declared as a family of its own, as Prometheus' parser does.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    if types.contains_key(name) {
        return name;
    }
    for (suffix, kinds) in [
        ("_bucket", &["histogram", "gaugehistogram"][..]),
        ("_count", &["histogram", "summary", "gaugehistogram"][..]),
        ("_sum", &["histogram", "summary", "gaugehistogram"][..]),
        ("_total", &["counter"][..]),
        ("_created", &["counter", "histogram", "summary"][..]),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|t| kinds.contains(&t.as_str()) || t == "untyped" || t == "unknown") {
                return base;
            }
        }
    }
    name
}

/// (histogram family, labels other than `le`).
type SeriesKey = (String, String);
/// (le, cumulative count, line).
type Bucket = (f64, f64, usize);

/// Checks `text`; returns every finding.
pub fn check(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let openmetrics = text.lines().any(|l| l == "# EOF");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut sampled: HashSet<String> = HashSet::new();
    let mut order: Vec<String> = Vec::new();
    let mut series: HashSet<String> = HashSet::new();
    // histogram family -> series key (labels without le) -> (le, count, line) + count
    let mut buckets: BTreeMap<SeriesKey, Vec<Bucket>> = BTreeMap::new();
    let mut counts: HashMap<(String, String), (f64, usize)> = HashMap::new();
    let mut last_family: Option<String> = None;
    let mut closed: HashSet<String> = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut err = |m: String| out.push(Finding { line: n, message: m });
        if line.trim().is_empty() {
            continue;
        }
        if let Some(meta) = line.strip_prefix('#') {
            let meta = meta.trim_start();
            let mut parts = meta.splitn(3, [' ', '\t']);
            let keyword = parts.next().unwrap_or("");
            if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
                continue;
            }
            let Some(name) = parts.next().filter(|n| !n.is_empty()) else {
                err(format!("{keyword} line without a metric name"));
                continue;
            };
            if !valid_metric_name(name) {
                err(format!("invalid metric name {name:?} in {keyword} line"));
                continue;
            }
            let arg = parts.next().unwrap_or("").trim();
            match keyword {
                "HELP" if !helps.insert(name.to_owned()) => {
                    err(format!("second HELP line for metric name {name:?}"));
                }
                "TYPE" => {
                    let known = [
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "untyped",
                        "unknown",
                        "info",
                        "stateset",
                        "gaugehistogram",
                    ];
                    if !known.contains(&arg) {
                        err(format!("unknown metric type {arg:?}"));
                    } else if types.contains_key(name) || sampled.contains(name) {
                        err(format!("second TYPE line for metric name {name:?}, or TYPE reported after samples"));
                    } else {
                        types.insert(name.to_owned(), arg.to_owned());
                    }
                }
                _ => {}
            }
            continue;
        }
        let s = match parse_sample(line) {
            Ok(s) => s,
            Err(m) => {
                err(m);
                continue;
            }
        };
        let family = family_of(&s.name, &types).to_owned();
        if last_family.as_deref() != Some(family.as_str()) {
            if let Some(prev) = last_family.take() {
                closed.insert(prev);
            }
            if closed.contains(&family) {
                err(format!("samples of {family:?} are not grouped together"));
            }
            last_family = Some(family.clone());
        }
        if sampled.insert(family.clone()) {
            order.push(family.clone());
        }
        let mut key_labels: Vec<&(String, String)> = s.labels.iter().filter(|(k, _)| k != "le").collect();
        key_labels.sort();
        let key = format!("{key_labels:?}");
        if !series.insert(format!("{}{:?}", s.name, {
            let mut all = s.labels.clone();
            all.sort();
            all
        })) {
            err(format!("duplicate series {}{{...}}", s.name));
        }
        if types.get(&family).map(String::as_str) == Some("histogram") {
            if s.name.ends_with("_bucket") {
                match s.labels.iter().find(|(k, _)| k == "le").map(|(_, v)| parse_float(v)) {
                    Some(Some(le)) => buckets.entry((family.clone(), key)).or_default().push((le, s.value, n)),
                    Some(None) => err("invalid le label value".into()),
                    None => err(format!("histogram bucket {} without an le label", s.name)),
                }
            } else if s.name.ends_with("_count") {
                counts.insert((family.clone(), key), (s.value, n));
            }
        }
    }
    for ((family, key), bs) in &buckets {
        let line = bs.first().map(|b| b.2).unwrap_or(0);
        if bs.windows(2).any(|w| w[0].0 >= w[1].0) {
            out.push(Finding { line, message: format!("histogram {family}: buckets not sorted by le") });
        }
        if bs.windows(2).any(|w| w[1].1 < w[0].1) {
            out.push(Finding { line, message: format!("histogram {family}: bucket counts are not cumulative") });
        }
        match bs.iter().find(|b| b.0 == f64::INFINITY) {
            None => out.push(Finding { line, message: format!("histogram {family}: no +Inf bucket") }),
            Some(inf) => {
                if let Some((count, cl)) = counts.get(&(family.clone(), key.clone())) {
                    if count != &inf.1 {
                        out.push(Finding {
                            line: *cl,
                            message: format!(
                                "histogram {family}: _count {count} differs from the +Inf bucket {}",
                                inf.1
                            ),
                        });
                    }
                }
            }
        }
    }
    // promtool's lints: help text, and the counter suffix.
    for family in &order {
        let t = types.get(family).map(String::as_str).unwrap_or("untyped");
        let documented = helps.contains(family) || helps.contains(&format!("{family}_total"));
        if !documented && !openmetrics {
            out.push(Finding { line: 0, message: format!("{family} no help text") });
        }
        if t == "counter" && !openmetrics && !family.ends_with("_total") {
            out.push(Finding { line: 0, message: format!("{family}: counter metrics should have \"_total\" suffix") });
        }
    }
    if openmetrics && text.lines().rev().find(|l| !l.is_empty()) != Some("# EOF") {
        out.push(Finding { line: 0, message: "OpenMetrics input must end with # EOF".into() });
    }
    out.sort_by_key(|f| f.line);
    out
}

#[cfg(test)]
mod tests {
    use super::check;
    use proptest::prelude::*;

    const SEED: &str = "# HELP h Lat.\n# TYPE h histogram\nh_bucket{le=\"0.5\",k=\"a\\\"b\"} 1\nh_bucket{le=\"+Inf\",k=\"a\\\"b\"} 2\nh_sum 1.5\nh_count 2\n# EOF\n";

    proptest! {
        /// Untrusted input never panics the checker.
        #[test]
        fn never_panics_on_arbitrary_text(text in ".{0,400}") {
            let _ = check(&text);
        }

        /// Nor on near-valid input: a real exposition with bytes changed.
        #[test]
        fn never_panics_on_mutated_expositions(edits in proptest::collection::vec((0usize..SEED.len(), any::<char>()), 0..12)) {
            let mut chars: Vec<char> = SEED.chars().collect();
            for (at, c) in edits {
                let at = at % chars.len();
                chars[at] = c;
            }
            let _ = check(&chars.into_iter().collect::<String>());
        }
    }

    #[test]
    fn the_seed_is_clean() {
        assert_eq!(check(SEED), vec![]);
    }
}
