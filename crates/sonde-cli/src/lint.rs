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
    #[allow(dead_code)]
    unit: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    help: String,
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
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = rust_files(p, &mut files) {
            eprintln!("sonde lint: cannot read {}: {e}", p.display());
            return 2;
        }
    }
    let mut findings = 0;
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
