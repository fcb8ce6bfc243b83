//! Naming conventions, as `promtool check metrics` lints them (its
//! `promlint` rules): help text, base units, the counter suffix, names
//! reserved for histograms and summaries, types in names, colons, camelCase
//! and abbreviated units. They report style, not a broken exposition.

use crate::text::Kind;
use crate::Finding;

/// What the lints need of a parsed family.
pub(crate) struct LintedFamily<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: Kind,
    pub(crate) has_help: bool,
    /// Label names of its series (`le` of histograms and `quantile` of
    /// summaries excluded, as the parser stores them apart).
    pub(crate) label_names: &'a [String],
}

/// Units and the base unit each should be (a unit that is its own base is fine).
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi",
    "tera", "tebi", "peta", "pebi",
];

const ABBREVIATIONS: &[&str] = &["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];

const TYPE_NAMES: &[&str] = &["counter", "gauge", "summary", "histogram", "gauge_histogram"];

/// Whether `name` has `word` as an `_`-separated part after its first.
fn has_part(name: &str, word: &str) -> bool {
    name.match_indices(word).any(|(at, _)| {
        at > 0 && name.as_bytes()[at - 1] == b'_' && {
            let end = at + word.len();
            end == name.len() || name.as_bytes()[end] == b'_'
        }
    })
}

fn camel_case(s: &str) -> bool {
    s.as_bytes().windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// The unit `name` spells and its base, if it spells one.
fn unit_of(name: &str) -> Option<(String, &'static str)> {
    for part in name.split('_') {
        for &(unit, base) in UNITS {
            if let Some(prefix) = part.strip_suffix(unit) {
                if prefix.is_empty() || UNIT_PREFIXES.contains(&prefix) {
                    return Some((part.to_owned(), base));
                }
            }
        }
    }
    None
}

/// Appends the lints for `f` (each at line 0: they concern the family).
pub(crate) fn lint(f: &LintedFamily<'_>, out: &mut Vec<Finding>) {
    let name = f.name;
    let mut say = |m: String| out.push(Finding::lint(0, format!("{name}: {m}")));
    if !f.has_help {
        say("no help text".into());
    }
    if let Some((unit, base)) = unit_of(name) {
        if unit != base {
            say(format!("use base unit {base:?} instead of {unit:?}"));
        }
    }
    let total = name.ends_with("_total");
    match f.kind {
        Kind::Counter if !total => say("counter metrics should have \"_total\" suffix".into()),
        Kind::Untyped | Kind::Counter => {}
        _ if total => say("non-counter metrics should not have \"_total\" suffix".into()),
        _ => {}
    }
    if f.kind != Kind::Untyped {
        let (histogram, summary) = (f.kind == Kind::Histogram, f.kind == Kind::Summary);
        if !histogram && name.ends_with("_bucket") {
            say("non-histogram metrics should not have \"_bucket\" suffix".into());
        }
        for suffix in ["_count", "_sum"] {
            if !histogram && !summary && name.ends_with(suffix) {
                say(format!("non-histogram and non-summary metrics should not have {suffix:?} suffix"));
            }
        }
        for label in f.label_names {
            if !histogram && label == "le" {
                say("non-histogram metrics should not have \"le\" label".into());
            }
            if !summary && label == "quantile" {
                say("non-summary metrics should not have \"quantile\" label".into());
            }
        }
    }
    let lower = name.to_ascii_lowercase();
    for t in TYPE_NAMES {
        if has_part(&lower, t) {
            say(format!("metric name should not include type '{t}'"));
        }
    }
    if name.contains(':') {
        say("metric names should not contain ':'".into());
    }
    if camel_case(name) {
        say("metric names should be written in 'snake_case' not 'camelCase'".into());
    }
    for label in f.label_names.iter().filter(|l| camel_case(l)) {
        say(format!("label name {label:?} should be written in 'snake_case' not 'camelCase'"));
    }
    if ABBREVIATIONS.iter().any(|a| has_part(&lower, a)) {
        say("metric names should not contain abbreviated units".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lints(name: &str, kind: Kind, labels: &[&str]) -> Vec<String> {
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        let mut out = Vec::new();
        lint(&LintedFamily { name, kind, has_help: true, label_names: &labels }, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    /// One row per promlint rule, and names each rule must leave alone.
    #[test]
    fn each_rule() {
        for (name, kind, labels, want) in [
            ("a_kilobytes", Kind::Gauge, &[][..], Some("use base unit \"bytes\" instead of \"kilobytes\"")),
            ("a_millivolts", Kind::Gauge, &[], Some("use base unit \"volts\" instead of \"millivolts\"")),
            ("a_kelvins", Kind::Gauge, &[], Some("use base unit \"kelvin\" instead of \"kelvins\"")),
            ("a_thermometers", Kind::Gauge, &[], None),
            ("a_volts", Kind::Gauge, &[], None),
            ("a", Kind::Counter, &[], Some("counter metrics should have \"_total\" suffix")),
            ("a_total", Kind::Gauge, &[], Some("non-counter metrics should not have \"_total\" suffix")),
            ("a_total", Kind::Untyped, &[], None),
            ("a_bucket", Kind::Gauge, &[], Some("non-histogram metrics should not have \"_bucket\" suffix")),
            ("a_count", Kind::Gauge, &[], Some("should not have \"_count\" suffix")),
            ("a_sum", Kind::Summary, &[], None),
            ("a", Kind::Gauge, &["le"], Some("non-histogram metrics should not have \"le\" label")),
            ("a", Kind::Histogram, &["quantile"], Some("non-summary metrics should not have \"quantile\" label")),
            ("a", Kind::Untyped, &["le", "quantile"], None),
            ("a_gauge", Kind::Gauge, &[], Some("should not include type 'gauge'")),
            ("a_gauge_histogram_x", Kind::Gauge, &[], Some("should not include type 'gauge_histogram'")),
            ("a_gaugehistogram", Kind::Gauge, &[], None),
            ("gauge_a", Kind::Gauge, &[], None),
            ("a:b", Kind::Gauge, &[], Some("should not contain ':'")),
            ("aB", Kind::Gauge, &[], Some("'snake_case' not 'camelCase'")),
            ("a", Kind::Gauge, &["fooBar"], Some("label name \"fooBar\"")),
            ("AB", Kind::Gauge, &[], None),
            ("a_ms", Kind::Gauge, &[], Some("abbreviated units")),
            ("a_M_x", Kind::Gauge, &[], Some("abbreviated units")),
            ("a_msg", Kind::Gauge, &[], None),
            ("s_a", Kind::Gauge, &[], None),
        ] {
            let got = lints(name, kind, labels);
            match want {
                Some(w) => assert!(got.iter().any(|g| g.contains(w)), "{name} {kind:?} {labels:?}: {got:?}"),
                None => assert!(got.is_empty(), "{name} {kind:?} {labels:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn help_is_required() {
        let mut out = Vec::new();
        lint(&LintedFamily { name: "a", kind: Kind::Gauge, has_help: false, label_names: &[] }, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "a: no help text");
    }
}
