//! The Prometheus text format 0.0.4, read as Prometheus' own text parser
//! reads it (the one `promtool check metrics` runs), then linted as promtool
//! lints it, then checked for what both let through: histogram buckets,
//! duplicate series and families split apart.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::histogram;
use crate::lint::{lint, LintedFamily};
use crate::number::{text_float, text_timestamp};
use crate::quoted::{quoted, OtherEscapes, QuotedError};
use crate::Finding;

/// A family's type, as a `# TYPE` line gives it (or untyped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
    GaugeHistogram,
}

impl Kind {
    /// The parser upper-cases the word and looks it up among the protobuf
    /// enum's names, so `COUNTER` and `gauge_histogram` are types too.
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_uppercase().as_str() {
            "COUNTER" => Self::Counter,
            "GAUGE" => Self::Gauge,
            "SUMMARY" => Self::Summary,
            "UNTYPED" => Self::Untyped,
            "HISTOGRAM" => Self::Histogram,
            "GAUGE_HISTOGRAM" => Self::GaugeHistogram,
            _ => return None,
        })
    }
}

#[derive(Default)]
struct Family {
    kind: Option<Kind>,
    help: bool,
    samples: usize,
    label_names: Vec<String>,
}

fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blank(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// The leading run of bytes that `ok(first, byte)` accepts.
fn token(s: &str, ok: impl Fn(bool, u8) -> bool) -> (&str, &str) {
    let end = s.bytes().enumerate().find(|&(i, b)| !ok(i == 0, b)).map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

fn metric_name(s: &str) -> (&str, &str) {
    token(s, |first, b| b.is_ascii_alphabetic() || b == b'_' || b == b':' || (!first && b.is_ascii_digit()))
}

fn label_name(s: &str) -> (&str, &str) {
    token(s, |first, b| b.is_ascii_alphabetic() || b == b'_' || (!first && b.is_ascii_digit()))
}

fn until_blank(s: &str) -> (&str, &str) {
    token(s, |_, b| !blank(b))
}

/// A parsed sample line.
struct Sample<'a> {
    name: &'a str,
    labels: Vec<(&'a str, String)>,
    value: f64,
}

/// The reader's state: families by name, in the parser's sense.
#[derive(Default)]
struct Reader {
    families: HashMap<String, Family>,
    /// Families in the order their first sample came.
    order: Vec<String>,
}

impl Reader {
    /// The family a name belongs to, created if new: `x_count` and `x_sum`
    /// join a declared summary `x`, and `x_bucket` too a declared histogram.
    fn resolve(&mut self, name: &str) -> String {
        if self.families.contains_key(name) {
            return name.to_owned();
        }
        let declared = |base: &str, kinds: &[Kind]| {
            self.families.get(base).and_then(|f| f.kind).is_some_and(|k| kinds.contains(&k))
        };
        let base = name.strip_suffix("_count").or_else(|| name.strip_suffix("_sum"));
        if let Some(b) = base.filter(|b| declared(b, &[Kind::Summary, Kind::Histogram])) {
            return b.to_owned();
        }
        if let Some(b) = name.strip_suffix("_bucket").filter(|b| declared(b, &[Kind::Histogram])) {
            return b.to_owned();
        }
        self.families.insert(name.to_owned(), Family::default());
        name.to_owned()
    }

    /// A `#` line (after the `#`).
    fn comment(&mut self, c: &str) -> Result<(), String> {
        let (keyword, rest) = until_blank(skip_blank(c));
        if rest.is_empty() || !matches!(keyword, "HELP" | "TYPE") {
            return Ok(()); // a plain comment, or a keyword alone on its line
        }
        let (name, rest) = metric_name(skip_blank(rest));
        if rest.is_empty() {
            return Ok(()); // a name alone: not an error, and not a HELP or TYPE
        }
        if !rest.starts_with([' ', '\t']) {
            return Err("invalid metric name in comment".into());
        }
        let family = self.resolve(name);
        let rest = skip_blank(rest);
        if rest.is_empty() {
            return Ok(());
        }
        let f = self.families.get_mut(&family).expect("resolved");
        if keyword == "HELP" {
            if f.help {
                return Err(format!("second HELP line for metric name {family:?}"));
            }
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('\\' | 'n') => {}
                        Some(other) => return Err(format!("invalid escape sequence '\\{other}'")),
                        None => return Err("invalid escape sequence at the end of the HELP text".into()),
                    }
                }
            }
            f.help = true;
        } else {
            if f.kind.is_some() {
                return Err(format!("second TYPE line for metric name {family:?}, or TYPE reported after samples"));
            }
            // The rest of the line, trailing blanks included.
            f.kind = Some(Kind::parse(rest).ok_or_else(|| format!("unknown metric type {rest:?}"))?);
        }
        Ok(())
    }

    /// A sample line (leading blanks skipped).
    fn sample<'a>(&mut self, line: &'a str) -> Result<(String, Sample<'a>), String> {
        let (name, rest) = metric_name(line);
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        let family = self.resolve(name);
        let kind = *self.families.get_mut(&family).expect("resolved").kind.get_or_insert(Kind::Untyped);
        let mut rest = skip_blank(rest);
        let mut labels: Vec<(&str, String)> = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                rest = skip_blank(rest);
                if let Some(r) = rest.strip_prefix('}') {
                    rest = skip_blank(r);
                    break;
                }
                let (lname, r) = label_name(rest);
                if lname.is_empty() {
                    return Err(format!("invalid label name for metric {family:?}"));
                }
                if lname == "__name__" {
                    return Err("label name \"__name__\" is reserved".into());
                }
                let r = skip_blank(r);
                let r = r.strip_prefix('=').ok_or_else(|| format!("expected '=' after label name {lname:?}"))?;
                let r = skip_blank(r);
                let r = r.strip_prefix('"').ok_or("expected '\"' at start of label value")?;
                let (value, r) = quoted(r, OtherEscapes::Refused).map_err(|e| match e {
                    QuotedError::Escape(c) => format!("invalid escape sequence '\\{c}'"),
                    QuotedError::Unclosed(v) => format!("label value {v:?} contains unescaped new-line"),
                })?;
                let float_label = match kind {
                    Kind::Summary if lname == "quantile" => Some("quantile"),
                    Kind::Histogram if lname == "le" => Some("le"),
                    _ => None,
                };
                if let Some(which) = float_label {
                    if text_float(&value).is_none() {
                        return Err(format!("expected float as value for '{which}' label, got {value:?}"));
                    }
                }
                if labels.iter().any(|(n, _)| *n == lname) {
                    return Err(format!("duplicate label names for metric {family:?}"));
                }
                labels.push((lname, value));
                rest = skip_blank(r);
                if let Some(r) = rest.strip_prefix(',') {
                    rest = r;
                } else if !rest.starts_with('}') {
                    return Err(format!("unexpected end of label value {:?}", labels.last().expect("pushed").1));
                }
            }
        }
        let (v, rest) = until_blank(rest);
        let value = text_float(v).ok_or_else(|| format!("expected float as value, got {v:?}"))?;
        if !rest.is_empty() {
            let (ts, rest) = until_blank(skip_blank(rest));
            if text_timestamp(ts).is_none() {
                return Err(format!("expected integer as timestamp, got {ts:?}"));
            }
            if !rest.is_empty() {
                return Err(format!("spurious string after timestamp: {rest:?}"));
            }
        }
        let f = self.families.get_mut(&family).expect("resolved");
        f.samples += 1;
        // Every label name, `le` and `quantile` included: the lints about
        // them skip histograms and summaries.
        for (n, _) in &labels {
            if !f.label_names.iter().any(|l| l == n) {
                f.label_names.push((*n).to_owned());
            }
        }
        if f.samples == 1 {
            self.order.push(family.clone());
        }
        Ok((family, Sample { name, labels, value }))
    }
}

/// Checks `text` as the text format; appends the findings.
pub(crate) fn check(text: &str, out: &mut Vec<Finding>) {
    let mut reader = Reader::default();
    let mut series: HashSet<String> = HashSet::new();
    let mut histograms: BTreeMap<(String, String), histogram::Series> = BTreeMap::new();
    let mut last_family: Option<String> = None;
    let mut closed: HashSet<String> = HashSet::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let last = lines.peek().is_none();
        let rest = skip_blank(line);
        if last {
            // Text after the last newline: the parser needs every line ended.
            if !rest.is_empty() {
                out.push(Finding::error(n, "unexpected end of input stream (the last line has no newline)"));
            }
        }
        if rest.is_empty() {
            continue;
        }
        if let Some(c) = rest.strip_prefix('#') {
            if let Err(m) = reader.comment(c) {
                out.push(Finding::error(n, m));
            }
            continue;
        }
        let (family, s) = match reader.sample(rest) {
            Ok(parsed) => parsed,
            Err(m) => {
                out.push(Finding::error(n, m));
                continue;
            }
        };
        // Beyond the parser: one group per family, one sample per series.
        if last_family.as_deref() != Some(family.as_str()) {
            if let Some(prev) = last_family.replace(family.clone()) {
                closed.insert(prev);
            }
            if closed.contains(&family) {
                out.push(Finding::error(n, format!("samples of {family:?} are not grouped together")));
            }
        }
        let mut all: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.sort_unstable();
        if !series.insert(format!("{}{all:?}", s.name)) {
            out.push(Finding::error(n, format!("duplicate series {}{all:?}", s.name)));
        }
        if reader.families[&family].kind == Some(Kind::Histogram) {
            let key: Vec<_> = all.iter().filter(|(k, _)| *k != "le").collect();
            let entry = histograms.entry((family.clone(), format!("{key:?}"))).or_default();
            let le = s.labels.iter().find(|(k, _)| *k == "le").and_then(|(_, v)| text_float(v));
            match s.name.strip_prefix(family.as_str()) {
                Some("_bucket") => match le {
                    Some(le) => entry.bucket(le, s.value, n),
                    None => out.push(Finding::error(n, format!("histogram bucket {} without an le label", s.name))),
                },
                Some("_count") => entry.count(s.value, n),
                // `_sum` pairs with `_count` in OpenMetrics only; the text
                // format's checks (buckets, and count against +Inf) skip it.
                _ => {}
            }
        }
    }
    for ((family, _), s) in &histograms {
        s.check(family, false, out);
    }
    for name in &reader.order {
        let f = &reader.families[name];
        let kind = f.kind.unwrap_or(Kind::Untyped);
        lint(&LintedFamily { name, kind, has_help: f.help, label_names: &f.label_names }, out);
    }
}
