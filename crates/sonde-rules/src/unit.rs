//! promtool's rule unit tests (`promtool test rules`): input series in
//! the expanding notation, rules evaluated every `evaluation_interval`
//! from time zero, alerts checked at their `eval_time`, and PromQL
//! expressions checked after, with promtool's verdicts.
//!
//! As in promtool 2.42, sample values compare exactly (a NaN never equals
//! an expected NaN). Where promtool leaves something to chance Sonde is
//! fixed: groups run in file order unless `group_eval_order` says
//! otherwise, and a test group without `interval` uses the evaluation
//! interval.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sonde_promql::{parse_duration, parse_values, Engine, EngineOptions, Labels, MemorySource, Value};

use crate::file;
use crate::group::{AlertState, Group, Health};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitTestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: String,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: String,
    value: f64,
}

/// What running one unit-test file found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitReport {
    /// Failures and errors, in promtool's words; empty when it passed.
    pub failures: Vec<String>,
}

impl UnitReport {
    /// Whether every test passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn ms(s: &str) -> Result<i64, String> {
    parse_duration(s).map(|d| d.as_millis() as i64).map_err(|e| e.to_string())
}

/// Runs the unit tests in the file at `path` (rule files relative to it).
pub fn run_file(path: &Path) -> UnitReport {
    let fail = |m: String| UnitReport { failures: vec![m] };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let parsed: UnitTestFile = match serde_yaml_ng::from_str(&text) {
        Ok(p) => p,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rule_files = Vec::new();
    for pattern in &parsed.rule_files {
        let full = if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { base.join(pattern) };
        match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => rule_files.extend(paths.filter_map(Result::ok)),
            Err(e) => return fail(format!("rule_files {pattern}: {e}")),
        }
    }
    let interval = match parsed.evaluation_interval.as_deref().map(ms).transpose() {
        Ok(i) => i.unwrap_or(60_000).max(1),
        Err(e) => return fail(format!("evaluation_interval: {e}")),
    };
    let mut order = BTreeMap::new();
    for (i, name) in parsed.group_eval_order.iter().enumerate() {
        if order.insert(name.clone(), i).is_some() {
            return fail(format!("group name repeated in evaluation order: {name}"));
        }
    }
    let mut failures = Vec::new();
    for group in &parsed.tests {
        failures.extend(run_group(group, &rule_files, interval, &order));
    }
    UnitReport { failures }
}

fn run_group(
    tg: &TestGroup,
    rule_files: &[PathBuf],
    eval_interval: i64,
    order: &BTreeMap<String, usize>,
) -> Vec<String> {
    let series_interval = match tg.interval.as_deref().map(ms).transpose() {
        Ok(i) => i.unwrap_or(eval_interval),
        Err(e) => return vec![format!("interval: {e}")],
    };
    let mut source = MemorySource::new();
    for s in &tg.input_series {
        let Some(labels) = Labels::parse_series(&s.series).or_else(|| parse_selector_labels(&s.series)) else {
            return vec![format!("bad input series {:?}", s.series)];
        };
        let values = match parse_values(&s.values) {
            Ok(v) => v,
            Err(e) => return vec![format!("series {:?}: {e}", s.series)],
        };
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                source.push(&labels, i as i64 * series_interval, v);
            }
        }
    }
    let mut groups = Vec::new();
    for path in rule_files {
        match file::load(path) {
            Ok(checked) => groups.extend(checked.into_iter().map(|g| {
                let mut g = Group::new(g, Duration::from_millis(series_interval as u64));
                g.external_labels = tg.external_labels.clone();
                g.external_url = tg.external_url.clone();
                g
            })),
            Err(errors) => return errors,
        }
    }
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));
    let engine = Engine::new(EngineOptions {
        subquery_step: Duration::from_millis(eval_interval as u64),
        ..EngineOptions::default()
    });
    let mut alert_times: Vec<i64> = Vec::new();
    for a in &tg.alert_rule_test {
        if a.alertname.is_empty() {
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}",
                a.eval_time
            )];
        }
        match ms(&a.eval_time) {
            Ok(t) => alert_times.push(t),
            Err(e) => return vec![format!("eval_time: {e}")],
        }
    }
    let mut expr_times = Vec::new();
    for e in &tg.promql_expr_test {
        match ms(&e.eval_time) {
            Ok(t) => expr_times.push(t),
            Err(err) => return vec![format!("eval_time: {err}")],
        }
    }
    let max_t = alert_times.iter().chain(&expr_times).copied().max().unwrap_or(0);
    let mut times: Vec<i64> = alert_times.clone();
    times.sort_unstable();
    times.dedup();
    let mut next = 0;
    let mut errors = Vec::new();
    let prefix = if tg.name.is_empty() { String::new() } else { format!("    name: {},\n", tg.name) };
    let mut ts = 0;
    while ts <= max_t {
        let mut eval_errors = Vec::new();
        for g in &mut groups {
            for i in 0..g.rules.len() {
                let out = g.eval_rule(i, &engine, &source, ts);
                for (labels, v) in out.all() {
                    source.push(labels, ts, v);
                }
                if let Health::Err(e) = &g.rules[i].health {
                    eval_errors.push(format!("    rule: {}, time: {}, err: {e}", g.rules[i].name(), go_duration(ts)));
                }
            }
        }
        if !eval_errors.is_empty() {
            errors.extend(eval_errors);
            return errors;
        }
        while next < times.len() && ts <= times[next] && times[next] < ts + eval_interval {
            let t = times[next];
            for case in tg.alert_rule_test.iter().filter(|a| ms(&a.eval_time).ok() == Some(t)) {
                let mut got: Vec<(Labels, Labels)> = groups
                    .iter()
                    .flat_map(|g| &g.rules)
                    .filter(|r| r.is_alerting() && r.name() == case.alertname)
                    .flat_map(|r| r.active.values())
                    .filter(|a| a.state == AlertState::Firing)
                    .map(|a| (a.labels.clone(), Labels::new(a.annotations.clone())))
                    .collect();
                let mut want: Vec<(Labels, Labels)> = case
                    .exp_alerts
                    .iter()
                    .map(|e| {
                        let mut l = Labels::new(e.exp_labels.clone());
                        l.set("alertname", case.alertname.clone());
                        (l, Labels::new(e.exp_annotations.clone()))
                    })
                    .collect();
                got.sort();
                want.sort();
                if got != want {
                    errors.push(format!(
                        "{prefix}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        case.eval_time,
                        alerts_text(&want),
                        alerts_text(&got)
                    ));
                }
            }
            next += 1;
        }
        ts += eval_interval;
    }
    for (case, t) in tg.promql_expr_test.iter().zip(expr_times) {
        let got = match engine.instant(&source, &case.expr, t) {
            Ok(Value::Vector(v)) => v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
            Ok(Value::Scalar(v)) => vec![(Labels::default(), v)],
            Ok(_) => {
                errors.push(format!(
                    "    expr: {:?}, time: {}, err: rule result is not a vector or scalar",
                    case.expr, case.eval_time
                ));
                continue;
            }
            Err(e) => {
                errors.push(format!("    expr: {:?}, time: {}, err: {e}", case.expr, case.eval_time));
                continue;
            }
        };
        let mut want = Vec::new();
        for s in &case.exp_samples {
            match Labels::parse_series(&s.labels).or_else(|| parse_selector_labels(&s.labels)) {
                Some(l) => want.push((l, s.value)),
                None => {
                    errors.push(format!(
                        "    expr: {:?}, time: {}, err: labels {:?}: bad labels",
                        case.expr, case.eval_time, s.labels
                    ));
                    continue;
                }
            }
        }
        let mut got = got;
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        // promtool compares with reflect.DeepEqual: exact values, NaN unequal.
        let same = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.0 == w.0 && g.1 == w.1);
        if !same {
            errors.push(format!(
                "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
                case.expr,
                case.eval_time,
                samples_text(&want),
                samples_text(&got)
            ));
        }
    }
    errors
}

/// `{__name__="x", a="b"}`, `x{a="b"}`, `x` or empty, as Prometheus' metric
/// parser reads a test's labels.
fn parse_selector_labels(s: &str) -> Option<Labels> {
    let s = s.trim();
    if s.is_empty() || s == "{}" {
        return Some(Labels::default());
    }
    match sonde_promql::parse(s).ok()? {
        sonde_promql::Expr::VectorSelector(vs) => {
            let mut labels = Labels::default();
            if let Some(n) = &vs.name {
                labels.set(sonde_promql::METRIC_NAME, n.clone());
            }
            for m in &vs.matchers.matchers {
                labels.set(&m.name, m.value.clone());
            }
            Some(labels)
        }
        _ => None,
    }
}

fn go_duration(t_ms: i64) -> String {
    let secs = t_ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn samples_text(samples: &[(Labels, f64)]) -> String {
    if samples.is_empty() {
        return "nil".into();
    }
    let parts: Vec<String> = samples
        .iter()
        .map(|(l, v)| format!("{} {}", braces(l), crate::group::alert_value(*v).replace('e', "E")))
        .collect();
    parts.join(", ")
}

fn braces(l: &Labels) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn alerts_text(alerts: &[(Labels, Labels)]) -> String {
    let mut out = String::from("[\n");
    for (i, (l, a)) in alerts.iter().enumerate() {
        out.push_str(&format!(
            "            {i}:\n              Labels:{}\n              Annotations:{}\n",
            braces(l),
            braces(a)
        ));
    }
    out.push_str("            ]");
    out
}
