//! Prometheus' rule-file format: groups of recording and alerting rules,
//! read and checked as `promtool check rules` checks them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sonde_promql::{parse, parse_duration, Expr};

use crate::template::Template;

/// A rule file as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Its groups.
    pub groups: Vec<GroupSpec>,
}

/// A group as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's name, unique in its file.
    pub name: String,
    /// How often it is evaluated (the global interval when absent).
    pub interval: Option<String>,
    /// Most series (recording) or alerts (alerting) a rule may give; 0 is
    /// no limit.
    #[serde(default)]
    pub limit: usize,
    /// Its rules, evaluated in order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A rule as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A recording rule's output name.
    pub record: Option<String>,
    /// An alerting rule's name.
    pub alert: Option<String>,
    /// The PromQL expression.
    pub expr: String,
    /// How long an alert is pending before it fires.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// How long an alert keeps firing once its condition is gone.
    pub keep_firing_for: Option<String>,
    /// Labels added (or overridden) on the output.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// An alert's annotations (templates).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A rule checked and compiled.
#[derive(Clone, Debug)]
pub struct CheckedRule {
    /// As written.
    pub spec: RuleSpec,
    /// The parsed expression.
    pub expr: Expr,
    /// `for`.
    pub hold: Duration,
    /// `keep_firing_for`.
    pub keep_firing_for: Duration,
    /// Parsed label templates (alerting rules).
    pub label_templates: Vec<(String, Template)>,
    /// Parsed annotation templates (alerting rules).
    pub annotation_templates: Vec<(String, Template)>,
}

/// A group checked and compiled.
#[derive(Clone, Debug)]
pub struct CheckedGroup {
    /// The file it came from.
    pub file: String,
    /// Its name.
    pub name: String,
    /// Its interval, when it sets one.
    pub interval: Option<Duration>,
    /// Its limit (0: none).
    pub limit: usize,
    /// Its rules.
    pub rules: Vec<CheckedRule>,
}

pub(crate) fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub(crate) fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn duration(what: &str, s: &Option<String>) -> Result<Duration, String> {
    match s {
        None => Ok(Duration::ZERO),
        Some(s) => parse_duration(s).map_err(|_| format!("invalid {what} {s:?}")),
    }
}

/// Reads and checks the rule file at `path`: its groups compiled, or every
/// finding (`promtool check rules`' messages).
///
/// # Errors
///
/// The findings: unreadable or malformed YAML, empty or repeated group
/// names, rules that are neither or both kinds, expressions that do not
/// parse, invalid names, fields a recording rule cannot have, templates
/// that do not parse.
pub fn load(path: &Path) -> Result<Vec<CheckedGroup>, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    load_str(&text, &path.display().to_string())
}

/// [`load`] of a file's text; `file` names it in messages.
///
/// # Errors
///
/// As [`load`].
pub fn load_str(text: &str, file: &str) -> Result<Vec<CheckedGroup>, Vec<String>> {
    let parsed: RuleFile = if text.trim().is_empty() {
        RuleFile { groups: Vec::new() }
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| vec![format!("{file}: {e}")])?
    };
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    let mut groups = Vec::new();
    for g in parsed.groups {
        if g.name.is_empty() {
            errors.push(format!("{file}: Groupname must not be empty"));
        }
        if !names.insert(g.name.clone()) {
            errors.push(format!("{file}: {:?}: groupname must not be repeated in the same file", g.name));
        }
        let interval = match &g.interval {
            None => None,
            Some(i) => match parse_duration(i) {
                // Zero is the default interval, as in Prometheus.
                Ok(d) => (!d.is_zero()).then_some(d),
                Err(_) => {
                    errors.push(format!("{file}: group {:?}: invalid interval {i:?}", g.name));
                    None
                }
            },
        };
        let mut rules = Vec::new();
        for (i, r) in g.rules.iter().enumerate() {
            let name = r.record.as_deref().or(r.alert.as_deref()).unwrap_or("");
            let mut fail =
                |m: String| errors.push(format!("{file}: group {:?}, rule {}, {name:?}: {m}", g.name, i + 1));
            match (&r.record, &r.alert) {
                (None, None) => fail("one of 'record' or 'alert' must be set".into()),
                (Some(_), Some(_)) => fail("only one of 'record' and 'alert' must be set".into()),
                _ => {}
            }
            if r.expr.trim().is_empty() {
                fail("field 'expr' must be set in rule".into());
                continue;
            }
            let expr = match parse(&r.expr) {
                Ok(e) => Some(e),
                Err(e) => {
                    fail(format!("could not parse expression: {e}"));
                    None
                }
            };
            if let Some(record) = &r.record {
                if !valid_metric_name(record) {
                    fail(format!("invalid recording rule name: {record}"));
                }
                if !r.annotations.is_empty() {
                    fail("invalid field 'annotations' in recording rule".into());
                }
                if r.for_.is_some() {
                    fail("invalid field 'for' in recording rule".into());
                }
                if r.keep_firing_for.is_some() {
                    fail("invalid field 'keep_firing_for' in recording rule".into());
                }
            }
            for k in r.labels.keys() {
                if !valid_label_name(k) || k == "__name__" {
                    fail(format!("invalid label name: {k}"));
                }
            }
            for k in r.annotations.keys() {
                if !valid_label_name(k) {
                    fail(format!("invalid annotation name: {k}"));
                }
            }
            let hold = duration("for", &r.for_).unwrap_or_else(|e| {
                fail(e);
                Duration::ZERO
            });
            let keep = duration("keep_firing_for", &r.keep_firing_for).unwrap_or_else(|e| {
                fail(e);
                Duration::ZERO
            });
            let mut compile = |m: &BTreeMap<String, String>| -> Vec<(String, Template)> {
                m.iter()
                    .filter_map(|(k, v)| match Template::parse(v) {
                        Ok(t) => Some((k.clone(), t)),
                        Err(e) => {
                            fail(format!("template: __alert_{name}: {k}: {e}"));
                            None
                        }
                    })
                    .collect()
            };
            let (label_templates, annotation_templates) = if r.alert.is_some() {
                (compile(&r.labels), compile(&r.annotations))
            } else {
                (Vec::new(), Vec::new())
            };
            if let Some(expr) = expr {
                rules.push(CheckedRule {
                    spec: r.clone(),
                    expr,
                    hold,
                    keep_firing_for: keep,
                    label_templates,
                    annotation_templates,
                });
            }
        }
        groups.push(CheckedGroup { file: file.to_owned(), name: g.name, interval, limit: g.limit, rules });
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file_loads() {
        let text = r#"
groups:
  - name: example
    interval: 30s
    rules:
      - record: job:requests:rate5m
        expr: sum by (job) (rate(requests_total[5m]))
      - alert: HighErrors
        expr: job:requests:rate5m > 10
        for: 2m
        keep_firing_for: 1m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.job }} at {{ $value }}" }
"#;
        let groups = load_str(text, "f.yml").unwrap();
        assert_eq!(groups[0].rules.len(), 2);
        assert_eq!(groups[0].interval, Some(Duration::from_secs(30)));
        assert_eq!(groups[0].rules[1].hold, Duration::from_secs(120));
    }

    #[test]
    fn every_finding_is_reported() {
        let text = r#"
groups:
  - name: a
    rules:
      - expr: up
      - record: x
        alert: y
        expr: up
      - record: "bad name"
        expr: sum(
        annotations: { a: b }
        for: 1m
      - alert: T
        expr: up
        labels: { "bad-label": x }
        annotations: { a: "{{ if $value }}" }
  - name: a
    rules: []
"#;
        let errors = load_str(text, "f.yml").unwrap_err();
        for want in [
            "one of 'record' or 'alert' must be set",
            "only one of 'record' and 'alert' must be set",
            "invalid recording rule name: bad name",
            "could not parse expression",
            "invalid field 'annotations' in recording rule",
            "invalid field 'for' in recording rule",
            "invalid label name: bad-label",
            "template: __alert_T",
            "groupname must not be repeated",
        ] {
            assert!(errors.iter().any(|e| e.contains(want)), "{want} not in {errors:#?}");
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(load_str("groups:\n  - name: a\n    rules: []\n    color: red\n", "f").is_err());
    }
}
