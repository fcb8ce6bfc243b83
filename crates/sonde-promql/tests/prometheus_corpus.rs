//! Differential test against Prometheus 2.42: every expression of
//! `tests/corpus/*.yml` evaluated by Sonde over the corpus' input series
//! gives what Prometheus gave (`*.expected.json`, written by
//! `scripts/promql-expected.py` from `promtool test rules`): the same label
//! sets, values within 1e-9 relative (Go's and Rust's math libraries may
//! differ in the last bit), NaN where NaN, the same errors.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sonde_promql::{parse_values, Engine, EngineOptions, Labels, MemorySource, Value};

#[derive(Deserialize)]
struct TestFile {
    evaluation_interval: Option<String>,
    tests: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    interval: String,
    input_series: Vec<InputSeries>,
}

#[derive(Deserialize)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Deserialize)]
struct Expected {
    expr: String,
    eval_time: String,
    #[serde(default)]
    samples: Vec<(String, String)>,
    error: Option<String>,
}

fn duration_ms(s: &str) -> i64 {
    let mut total = 0i64;
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1
        } else {
            match c {
                's' => 1000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 7 * 86_400_000,
                'y' => 365 * 86_400_000,
                _ => panic!("bad duration {s}"),
            }
        };
        total += number.parse::<i64>().unwrap() * unit;
        number.clear();
    }
    total
}

fn close(want: f64, got: f64) -> bool {
    (want.is_nan() && got.is_nan()) || want == got || ((want - got).abs() <= 1e-9 * want.abs().max(got.abs()))
}

/// The corpus' input series and the engine for its evaluation interval.
fn load(path: &Path) -> (MemorySource, Engine, i64) {
    let file: TestFile = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let group = &file.tests[0];
    let interval = duration_ms(&group.interval);
    let mut source = MemorySource::new();
    for s in &group.input_series {
        let labels = Labels::parse_series(&s.series).unwrap_or_else(|| panic!("series {}", s.series));
        for (i, v) in parse_values(&s.values).unwrap().into_iter().enumerate() {
            if let Some(v) = v {
                source.push(&labels, i as i64 * interval, v);
            }
        }
    }
    let step = duration_ms(file.evaluation_interval.as_deref().unwrap_or("1m"));
    let engine =
        Engine::new(EngineOptions { subquery_step: Duration::from_millis(step as u64), ..EngineOptions::default() });
    (source, engine, step)
}

fn corpus_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yml"))
        .collect();
    files.sort();
    files
}

/// A range query gives, at each of its steps, exactly what an instant
/// query at that time gives (range functions of selectors are computed
/// for all steps at once; everything else step by step), for every
/// expression of the corpus, over steps that do and do not fall on the
/// samples' times.
#[test]
fn range_queries_agree_with_instant_queries_at_every_step() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in corpus_files() {
        let (source, engine, step) = load(&path);
        let expected: Vec<Expected> =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("expected.json")).unwrap()).unwrap();
        let mut exprs: Vec<&str> = expected.iter().map(|e| e.expr.as_str()).collect();
        exprs.sort();
        exprs.dedup();
        // `@ start()` and `@ end()` mean the range's ends, not each step's.
        exprs.retain(|e| !e.contains("start()") && !e.contains("end()"));
        for expr in exprs {
            for (start, end, step) in [(0, 40 * 60_000, step), (7_500, 35 * 60_000, 45_000)] {
                let mut want = Vec::new();
                let mut t = start;
                let mut fails = false;
                while t <= end {
                    match engine.instant(&source, expr, t) {
                        Ok(Value::Vector(v)) => want.extend(v.into_iter().map(|s| (s.labels, t, s.v.to_bits()))),
                        Ok(Value::Scalar(v)) => want.push((Labels::default(), t, v.to_bits())),
                        _ => fails = true,
                    }
                    t += step;
                }
                let got = engine.range(&source, expr, start, end, step);
                if fails {
                    continue; // not a range query's type, or an error at some step
                }
                checked += 1;
                let Ok(Value::Matrix(series)) = got else {
                    failures.push(format!("{expr} [{start}..{end} by {step}]: {got:?}"));
                    continue;
                };
                let mut got: Vec<_> = series
                    .into_iter()
                    .flat_map(|s| s.samples.into_iter().map(move |(t, v)| (s.labels.clone(), t, v.to_bits())))
                    .collect();
                got.sort();
                want.sort();
                if got != want {
                    failures.push(format!("{expr} [{start}..{end} by {step}]: range and instant queries differ"));
                }
            }
        }
    }
    assert!(checked >= 500, "{checked} range queries compared");
    assert!(failures.is_empty(), "{} differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn sonde_agrees_with_prometheus_on_the_corpus() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in corpus_files() {
        let (source, engine, _) = load(&path);
        let expected: Vec<Expected> =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("expected.json")).unwrap()).unwrap();
        for e in &expected {
            checked += 1;
            let t = duration_ms(&e.eval_time);
            let what = format!("{} @ {}", e.expr, e.eval_time);
            let got = match engine.instant(&source, &e.expr, t) {
                Ok(Value::Vector(v)) => v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
                Ok(Value::Scalar(v)) => vec![(Labels::default(), v)],
                Ok(other) => {
                    failures.push(format!("{what}: a {}", other.kind()));
                    continue;
                }
                Err(err) => {
                    if e.error.is_none() {
                        failures.push(format!("{what}: error {err}"));
                    }
                    continue;
                }
            };
            if let Some(error) = &e.error {
                failures.push(format!("{what}: Prometheus fails ({error}), Sonde gives {got:?}"));
                continue;
            }
            let mut want: Vec<(Labels, f64)> =
                e.samples.iter().map(|(l, v)| (Labels::parse_series(l).unwrap(), v.parse::<f64>().unwrap())).collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            let mut got = got;
            got.sort_by(|a, b| a.0.cmp(&b.0));
            let same = want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| w.0 == g.0 && close(w.1, g.1));
            if !same {
                failures.push(format!("{what}:\n    want {want:?}\n    got  {got:?}"));
            }
        }
    }
    assert!(checked >= 300, "the corpus holds {checked} expressions");
    assert!(failures.is_empty(), "{} of {checked} differ from Prometheus:\n{}", failures.len(), failures.join("\n"));
}
