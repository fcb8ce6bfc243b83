//! OpenMetrics 1.0, as its specification's grammar and rules define it:
//! one space between tokens, metadata before samples, sample names by
//! family type, no clashing names, exemplars only where allowed, values
//! each type permits, grouped and ordered metric points, and `# EOF` last.

use std::collections::HashSet;

use crate::histogram;
use crate::number::{openmetrics_number, openmetrics_real};
use crate::quoted::{quoted, OtherEscapes};
use crate::Finding;

/// The family types OpenMetrics defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    StateSet,
    Info,
    Summary,
    Unknown,
}

impl Type {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "gaugehistogram" => Self::GaugeHistogram,
            "stateset" => Self::StateSet,
            "info" => Self::Info,
            "summary" => Self::Summary,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// The suffixes its samples' names may take.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Counter => &["_total", "_created"],
            Self::Summary => &["", "_count", "_sum", "_created"],
            Self::Histogram => &["_bucket", "_count", "_sum", "_created"],
            Self::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            Self::Info => &["_info"],
            Self::Gauge | Self::StateSet | Self::Unknown => &[""],
        }
    }
}

fn valid_metric_name(n: &str) -> bool {
    let mut c = n.bytes();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == b'_' || f == b':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == b'_' || x == b':')
}

fn valid_label_name(n: &str) -> bool {
    let mut c = n.bytes();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == b'_') && c.all(|x| x.is_ascii_alphanumeric() || x == b'_')
}

type Labels = Vec<(String, String)>;

/// `{name="value",...}` with no spaces and no trailing comma; the labels and
/// the rest after `}`.
fn label_set(s: &str) -> Result<(Labels, &str), String> {
    let mut rest = s.strip_prefix('{').ok_or("expected '{'")?;
    let mut out: Labels = Vec::new();
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((out, r));
    }
    loop {
        let eq = rest.find('=').ok_or("expected '=' after a label name")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        let r = rest[eq + 1..].strip_prefix('"').ok_or("expected '\"' to open a label value")?;
        let (value, r) = quoted(r, OtherEscapes::Kept).map_err(|_| "a label value without its closing quote")?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate label name {name:?}"));
        }
        out.push((name.to_owned(), value));
        if let Some(r) = r.strip_prefix('}') {
            return Ok((out, r));
        }
        rest = r.strip_prefix(',').ok_or("expected ',' or '}' after a label value")?;
    }
}

/// A sample line, parsed.
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
    timestamp: Option<f64>,
    exemplar: Option<Labels>,
}

/// `name[labels] value [timestamp] [# {labels} value [timestamp]]`.
fn sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..end];
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let (labels, rest) =
        if line[end..].starts_with('{') { label_set(&line[end..])? } else { (Vec::new(), &line[end..]) };
    let rest = rest.strip_prefix(' ').ok_or("expected one space before the value")?;
    let (v, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let value = openmetrics_number(v).ok_or_else(|| format!("invalid value {v:?}"))?;
    let mut s = Sample { name: name.to_owned(), labels, value, timestamp: None, exemplar: None };
    if rest.is_empty() {
        if line.ends_with(' ') {
            return Err("a space after the value".into());
        }
        return Ok(s);
    }
    let exemplar = match rest.strip_prefix("# ") {
        Some(e) => e,
        None => {
            let (ts, after) = rest.split_once(' ').unwrap_or((rest, ""));
            s.timestamp = Some(openmetrics_real(ts).ok_or_else(|| format!("invalid timestamp {ts:?}"))?);
            if after.is_empty() {
                if rest.ends_with(' ') {
                    return Err("a space after the timestamp".into());
                }
                return Ok(s);
            }
            after.strip_prefix("# ").ok_or_else(|| format!("unexpected {after:?} after the timestamp"))?
        }
    };
    let (ex_labels, r) = label_set(exemplar).map_err(|e| format!("exemplar: {e}"))?;
    let r = r.strip_prefix(' ').ok_or("exemplar: expected one space before its value")?;
    let (v, ts) = r.split_once(' ').map_or((r, None), |(v, t)| (v, Some(t)));
    openmetrics_number(v).ok_or_else(|| format!("exemplar: invalid value {v:?}"))?;
    if let Some(ts) = ts {
        openmetrics_real(ts).ok_or_else(|| format!("exemplar: invalid timestamp {ts:?}"))?;
    }
    let length: usize = ex_labels.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum();
    if length > 128 {
        return Err(format!("exemplar labels are {length} characters long, more than 128"));
    }
    s.exemplar = Some(ex_labels);
    Ok(s)
}

/// The family being read.
struct Family {
    name: String,
    /// The line it started on.
    line: usize,
    ty: Option<Type>,
    help: bool,
    unit: Option<String>,
    samples: usize,
    /// Metric-point groups seen, the current one and its timestamp.
    groups: HashSet<Labels>,
    group: Option<(Labels, Option<f64>)>,
    /// Series (name and labels) seen at the current group's timestamp.
    at_timestamp: HashSet<(String, Labels)>,
    /// Histogram series by group and timestamp, in order.
    histograms: Vec<(Labels, Option<u64>, histogram::Series)>,
}

impl Family {
    fn new(name: &str, line: usize) -> Self {
        Self {
            name: name.to_owned(),
            line,
            ty: None,
            help: false,
            unit: None,
            samples: 0,
            groups: HashSet::new(),
            group: None,
            at_timestamp: HashSet::new(),
            histograms: Vec::new(),
        }
    }

    fn ty(&self) -> Type {
        self.ty.unwrap_or(Type::Unknown)
    }

    fn allows(&self, sample: &str) -> bool {
        sample.strip_prefix(self.name.as_str()).is_some_and(|suffix| self.ty().suffixes().contains(&suffix))
    }

    /// The family's closing checks: its names against those used before,
    /// its histograms.
    fn finish(self, used: &mut HashSet<String>, out: &mut Vec<Finding>) {
        let mut names: Vec<String> = self.ty().suffixes().iter().map(|s| format!("{}{s}", self.name)).collect();
        if !names.contains(&self.name) {
            names.push(self.name.clone());
        }
        for full in names {
            if !used.insert(full.clone()) {
                out.push(Finding::error(
                    self.line,
                    format!("the name {full:?} clashes with one used before (or its family is split)"),
                ));
            }
        }
        if self.unit.as_ref().is_some_and(|u| !u.is_empty()) && matches!(self.ty(), Type::Info | Type::StateSet) {
            out.push(Finding::error(self.line, format!("{:?}: info and stateset families have no unit", self.name)));
        }
        for (_, _, h) in &self.histograms {
            h.check(&self.name, true, out);
        }
    }
}

/// Checks `text` as OpenMetrics; appends the findings.
pub(crate) fn check(text: &str, out: &mut Vec<Finding>) {
    let mut used: HashSet<String> = HashSet::new();
    let mut family: Option<Family> = None;
    let mut eof = false;
    // `# EOF` may be followed by one newline.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        if eof {
            out.push(Finding::error(n, "a line after # EOF"));
            break;
        }
        if line.is_empty() {
            out.push(Finding::error(n, "a blank line"));
            continue;
        }
        if line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (keyword, name, arg) = (parts.next().unwrap_or(""), parts.next(), parts.next());
            let (Some(name), Some(arg), true) = (name, arg, matches!(keyword, "HELP" | "TYPE" | "UNIT")) else {
                out.push(Finding::error(n, format!("invalid line {line:?} (OpenMetrics has no comments)")));
                continue;
            };
            if !valid_metric_name(name) {
                out.push(Finding::error(n, format!("invalid metric name {name:?} in {keyword} line")));
                continue;
            }
            match family.as_ref() {
                Some(f) if f.name == name => {
                    if f.samples > 0 {
                        out.push(Finding::error(n, format!("{keyword} for {name:?} after its samples")));
                        continue;
                    }
                }
                _ => {
                    if let Some(done) = family.take() {
                        done.finish(&mut used, out);
                    }
                    family = Some(Family::new(name, n));
                }
            }
            let f = family.as_mut().expect("set above");
            metadata(f, keyword, arg, n, out);
            continue;
        }
        if line.starts_with('#') {
            out.push(Finding::error(n, format!("invalid line {line:?} (OpenMetrics has no comments)")));
            continue;
        }
        let s = match sample(line) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding::error(n, e));
                continue;
            }
        };
        if !family.as_ref().is_some_and(|f| f.allows(&s.name)) {
            // A sample no declared family takes starts an unknown family.
            if let Some(done) = family.take() {
                done.finish(&mut used, out);
            }
            family = Some(Family::new(&s.name, n));
        }
        let f = family.as_mut().expect("set above");
        f.samples += 1;
        check_sample(f, &s, n, out);
    }
    if let Some(done) = family.take() {
        done.finish(&mut used, out);
    }
    if !eof {
        out.push(Finding::error(0, "OpenMetrics input must end with # EOF"));
    }
}

/// A `HELP`, `TYPE` or `UNIT` line for `f`.
fn metadata(f: &mut Family, keyword: &str, arg: &str, n: usize, out: &mut Vec<Finding>) {
    let name = &f.name;
    match keyword {
        "HELP" => {
            if f.help {
                out.push(Finding::error(n, format!("second HELP for {name:?}")));
            }
            f.help = true;
            if let Err(e) = help_text(arg) {
                out.push(Finding::error(n, e));
            }
        }
        "TYPE" => {
            if f.ty.is_some() {
                out.push(Finding::error(n, format!("second TYPE for {name:?}")));
            }
            match Type::parse(arg) {
                Some(t) => f.ty = Some(t),
                None => out.push(Finding::error(n, format!("unknown metric type {arg:?}"))),
            }
        }
        _ => {
            if f.unit.is_some() {
                out.push(Finding::error(n, format!("second UNIT for {name:?}")));
            }
            if !arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                out.push(Finding::error(n, format!("invalid unit {arg:?}")));
            } else if !arg.is_empty() && !name.ends_with(&format!("_{arg}")) {
                out.push(Finding::error(n, format!("UNIT {arg:?}: the name {name:?} must end in _{arg}")));
            }
            f.unit = Some(arg.to_owned());
        }
    }
}

/// A HELP text: an escaped string (a quote or a backslash only escaped).
fn help_text(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Err("an unescaped '\"' in the HELP text".into()),
            '\\' if chars.next().is_none() => return Err("a lone '\\' at the end of the HELP text".into()),
            _ => {}
        }
    }
    Ok(())
}

/// The rules one sample must meet within its family.
fn check_sample(f: &mut Family, s: &Sample, n: usize, out: &mut Vec<Finding>) {
    let ty = f.ty();
    let suffix = s.name[f.name.len()..].to_owned();
    let mut err = |m: String| out.push(Finding::error(n, m));
    let label = |k: &str| s.labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let integral = s.value.fract() == 0.0;
    if ty == Type::StateSet && label(&f.name).is_none() {
        err(format!("stateset sample without its {:?} label", f.name));
    }
    let bucket = matches!(ty, Type::Histogram | Type::GaugeHistogram) && suffix == "_bucket";
    let mut le = None;
    if bucket {
        match label("le").map(|v| (v, openmetrics_number(v))) {
            Some((v, Some(x))) if !x.is_nan() && (x != f64::INFINITY || v == "+Inf") => le = Some(x),
            Some((v, _)) => err(format!("invalid le label {v:?} (a number; +Inf spelled so)")),
            None => err(format!("histogram bucket {} without an le label", s.name)),
        }
        if !integral {
            err(format!("bucket value {} is not an integer", s.value));
        }
    }
    if matches!(suffix.as_str(), "_count" | "_gcount") && !integral {
        err(format!("count {} is not an integer", s.value));
    }
    if ty == Type::Summary && suffix.is_empty() {
        match label("quantile").map(openmetrics_number) {
            Some(Some(q)) if (0.0..=1.0).contains(&q) => {}
            _ => err("summary quantile sample needs a quantile label between 0 and 1".into()),
        }
        if s.value < 0.0 {
            err(format!("quantile value {} is negative", s.value));
        }
    }
    let counter_like = ["_total", "_sum", "_count", "_bucket", "_gcount", "_gsum"].contains(&suffix.as_str());
    if counter_like && s.value.is_nan() {
        err(format!("{} is NaN", s.name));
    }
    if counter_like && suffix != "_gsum" && s.value < 0.0 {
        err(format!("{} is negative", s.name));
    }
    if ty == Type::StateSet && s.value != 0.0 && s.value != 1.0 {
        err(format!("stateset value {} is neither 0 nor 1", s.value));
    }
    if ty == Type::Info && s.value != 1.0 {
        err(format!("info value {} is not 1", s.value));
    }
    if s.exemplar.is_some() && !(bucket || (ty == Type::Counter && suffix == "_total")) {
        err(format!("an exemplar on {}: only counter totals and histogram buckets carry them", s.name));
    }
    // Metric points: a label set's samples together, timestamps in order.
    let group: Labels = s
        .labels
        .iter()
        .filter(|(k, _)| {
            !(bucket && k == "le"
                || ty == Type::Summary && suffix.is_empty() && k == "quantile"
                || ty == Type::StateSet && *k == f.name)
        })
        .cloned()
        .collect();
    let mut sorted = group.clone();
    sorted.sort_unstable();
    let mut id_labels = s.labels.clone();
    id_labels.sort_unstable();
    let id = (s.name.clone(), id_labels);
    match &f.group {
        Some((g, ts)) if *g == sorted => {
            if ts.is_some() != s.timestamp.is_some() {
                err("some samples of a metric point have a timestamp and some do not".into());
            } else if let (Some(a), Some(b)) = (ts, s.timestamp) {
                if b < *a && ty != Type::Info {
                    err(format!("timestamp {b} goes back from {a}"));
                }
            }
            if s.timestamp != *ts {
                f.at_timestamp.clear();
            }
        }
        _ => {
            if f.groups.contains(&sorted) {
                err(format!("the samples of {:?}{sorted:?} are not together", f.name));
            }
            f.at_timestamp.clear();
        }
    }
    if !f.at_timestamp.insert(id) {
        err(format!("duplicate sample {}{:?}", s.name, s.labels));
    }
    f.groups.insert(sorted.clone());
    f.group = Some((sorted.clone(), s.timestamp));
    if matches!(ty, Type::Histogram | Type::GaugeHistogram) && !suffix.is_empty() {
        let ts = s.timestamp.map(f64::to_bits);
        let same = f.histograms.last().is_some_and(|(g, t, _)| *g == sorted && *t == ts);
        if !same {
            f.histograms.push((sorted, ts, histogram::Series::default()));
        }
        let h = &mut f.histograms.last_mut().expect("pushed").2;
        match suffix.as_str() {
            "_bucket" => {
                if let Some(le) = le {
                    h.bucket(le, s.value, n);
                }
            }
            "_count" | "_gcount" => h.count(s.value, n),
            "_sum" => h.sum(n),
            "_gsum" => h.gsum(s.value, n),
            _ => {}
        }
    }
}
