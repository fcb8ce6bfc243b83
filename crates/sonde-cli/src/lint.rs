//! `sonde lint`: metric names at call sites against a spec list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sonde::MetricKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    #[serde(default)]
    metric: Vec<SpecEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecEntry {
    name: String,
    kind: String,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    help: String,
}

/// What is wrong with one declared spec, by the exposition's naming rules:
/// the name is a valid metric name; a unit is lowercase letters, digits and
/// `_` and the name ends with it (`_seconds`, or `_seconds_total` for a
/// counter), as OpenMetrics requires of a metric with a unit; `_total` ends
/// counter names only, and no name ends with a suffix its exposition adds
/// (`_count`, `_sum`, `_bucket`, `_created`, `_info`); the help text is
/// not empty (promtool's lint warns on a missing HELP).
fn spec_problems(name: &str, kind: MetricKind, unit: Option<&str>, help: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !valid_name {
        problems.push("is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".to_owned());
    }
    let base = match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ if name.ends_with("_total") => {
            problems.push(format!("ends in _total, which only counters may (it is a {kind})"));
            name
        }
        _ => name,
    };
    for suffix in ["_count", "_sum", "_bucket", "_created", "_info"] {
        if base.ends_with(suffix) {
            problems.push(format!("ends in {suffix}, a suffix the exposition adds"));
        }
    }
    if let Some(unit) = unit {
        let valid_unit =
            !unit.is_empty() && unit.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_unit {
            problems.push(format!("has unit {unit:?}: units are lowercase letters, digits and _"));
        } else if !base.ends_with(&format!("_{unit}")) {
            let want = if kind == MetricKind::Counter { format!("_{unit}_total") } else { format!("_{unit}") };
            problems.push(format!("has unit {unit:?} but its name does not end in {want}"));
        }
    }
    if help.trim().is_empty() {
        problems.push("has no help text".to_owned());
    }
    problems
}

/// A metric name found in source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Use {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub kind: MetricKind,
}

/// Call shapes that declare or record a metric, and their kinds.
const PATTERNS: [(&str, MetricKind); 11] = [
    (".counter(\"", MetricKind::Counter),
    (".counter_fn(\"", MetricKind::Counter),
    (".up_down_counter(\"", MetricKind::UpDownCounter),
    (".gauge(\"", MetricKind::Gauge),
    (".gauge_fn(\"", MetricKind::Gauge),
    (".histogram(\"", MetricKind::Histogram),
    (".timer(\"", MetricKind::Histogram),
    (".summary(\"", MetricKind::Summary),
    ("counter!(\"", MetricKind::Counter),
    ("gauge!(\"", MetricKind::Gauge),
    ("histogram!(\"", MetricKind::Histogram),
];

/// Finds metric names used in one source text.
pub(crate) fn scan(file: &Path, text: &str) -> Vec<Use> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (pattern, kind) in PATTERNS.iter() {
            let mut rest = line;
            while let Some(at) = rest.find(pattern) {
                let after = &rest[at + pattern.len()..];
                // `describe_counter!(` etc. are descriptions, not uses.
                let before = &rest[..at];
                let is_describe = before.ends_with("describe_");
                if let Some(end) = after.find('"') {
                    if !is_describe {
                        out.push(Use {
                            file: file.to_owned(),
                            line: i + 1,
                            name: after[..end].to_owned(),
                            kind: *kind,
                        });
                    }
                }
                rest = &after[after.find('"').map_or(after.len(), |e| e + 1)..];
            }
        }
    }
    out
}

fn normal(name: &str, kind: MetricKind) -> String {
    if kind == MetricKind::Counter {
        name.strip_suffix("_total").unwrap_or(name).to_owned()
    } else {
        name.to_owned()
    }
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "target" || n.to_string_lossy().starts_with('.')) {
                continue;
            }
            rust_files(&p, out)?;
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
    Ok(())
}

/// Runs the linter; returns the process exit code (0 clean, 1 findings, 2 usage).
pub(crate) fn run(specs: &Path, paths: &[PathBuf]) -> u8 {
    let text = match std::fs::read_to_string(specs) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sonde lint: cannot read {}: {e}", specs.display());
            return 2;
        }
    };
    let file: SpecFile = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sonde lint: {}: {}", specs.display(), e.to_string().trim());
            return 2;
        }
    };
    let mut declared: BTreeMap<String, (String, MetricKind)> = BTreeMap::new();
    for s in &file.metric {
        let Ok(kind) = s.kind.parse::<MetricKind>() else {
            eprintln!("sonde lint: {}: metric {:?} has unknown kind {:?}", specs.display(), s.name, s.kind);
            return 2;
        };
        declared.insert(normal(&s.name, kind), (s.name.clone(), kind));
    }
    let mut findings = 0;
    for s in &file.metric {
        let kind = s.kind.parse::<MetricKind>().expect("checked above");
        for problem in spec_problems(&s.name, kind, s.unit.as_deref(), &s.help) {
            println!("{}: declared metric {:?} {problem}", specs.display(), s.name);
            findings += 1;
        }
    }
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = rust_files(p, &mut files) {
            eprintln!("sonde lint: cannot read {}: {e}", p.display());
            return 2;
        }
    }
    let mut used = std::collections::BTreeSet::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for u in scan(f, &text) {
            let key = normal(&u.name, u.kind);
            match declared.get(&key) {
                None => {
                    println!("{}:{}: undeclared metric {:?} ({})", u.file.display(), u.line, u.name, u.kind);
                    findings += 1;
                }
                Some((_, kind)) if *kind != u.kind => {
                    println!(
                        "{}:{}: metric {:?} is declared as a {kind}, used as a {}",
                        u.file.display(),
                        u.line,
                        u.name,
                        u.kind
                    );
                    findings += 1;
                    used.insert(key);
                }
                Some(_) => {
                    used.insert(key);
                }
            }
        }
    }
    for (key, (name, _)) in &declared {
        if !used.contains(key) {
            println!("{}: declared metric {name:?} is never used", specs.display());
            findings += 1;
        }
    }
    println!("sonde lint: {} file(s), {} declared metric(s), {findings} finding(s)", files.len(), declared.len());
    u8::from(findings > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_rules() {
        use MetricKind::*;
        /// (name, kind, unit, help, what each finding says)
        type Case<'a> = (&'a str, MetricKind, Option<&'a str>, &'a str, &'a [&'a str]);
        let cases: [Case; 9] = [
            ("jobs_total", Counter, None, "Jobs.", &[]),
            ("job_duration_seconds", Histogram, Some("seconds"), "Time.", &[]),
            ("io_bytes_total", Counter, Some("bytes"), "Bytes.", &[]),
            ("io_total", Counter, Some("bytes"), "Bytes.", &["does not end in _bytes_total"]),
            ("latency", Histogram, Some("seconds"), "T.", &["does not end in _seconds"]),
            ("queue_total", Gauge, None, "Q.", &["only counters"]),
            ("rpc_count", Gauge, None, "R.", &["ends in _count"]),
            ("temp_celsius", Gauge, Some("Celsius"), "T.", &["lowercase"]),
            ("9lives", Gauge, None, "", &["not a valid metric name", "no help text"]),
        ];
        for (name, kind, unit, help, want) in cases {
            let got = spec_problems(name, kind, unit, help);
            assert_eq!(got.len(), want.len(), "{name}: {got:?}");
            for (g, w) in got.iter().zip(want) {
                assert!(g.contains(w), "{name}: {g:?} should say {w:?}");
            }
        }
    }

    #[test]
    fn finds_call_sites_and_macros() {
        let src = r#"
            let c = registry.counter("jobs_total").register()?;
            let g = r.gauge("queue_depth").labels(["q"]).register()?;
            // registry.counter("commented_out_total")
            metrics::counter!("lib_requests_total", "k" => "v").increment(1);
            metrics::describe_counter!("lib_requests_total", "described, not used");
            let t = r.timer("job_duration_seconds").register()?;
        "#;
        let uses = scan(Path::new("x.rs"), src);
        let names: Vec<(&str, MetricKind, usize)> = uses.iter().map(|u| (u.name.as_str(), u.kind, u.line)).collect();
        assert_eq!(
            names,
            [
                ("jobs_total", MetricKind::Counter, 2),
                ("queue_depth", MetricKind::Gauge, 3),
                ("lib_requests_total", MetricKind::Counter, 5),
                ("job_duration_seconds", MetricKind::Histogram, 7),
            ]
        );
    }
}
