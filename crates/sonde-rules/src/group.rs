//! Evaluating groups: recording rules' outputs, alerting rules' alerts
//! through Prometheus 2.42's states (pending, firing, inactive; `for`,
//! `keep_firing_for`, resolved alerts kept fifteen minutes), the `ALERTS`
//! and `ALERTS_FOR_STATE` series, and staleness for outputs that go away.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use sonde_promql::{is_stale, Engine, Labels, Matcher, Source, Value, METRIC_NAME, STALE_NAN};

use crate::file::{CheckedGroup, CheckedRule};
use crate::go_format;
use crate::template::TemplateData;

/// How long a resolved alert is still sent (as resolved).
const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// An alert's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    /// Its condition no longer holds (kept a while to send as resolved).
    Inactive,
    /// Its condition holds, for less than `for`.
    Pending,
    /// Its condition has held for `for`.
    Firing,
}

impl AlertState {
    /// Prometheus' name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Its labels (the result's, the rule's, `alertname`).
    pub labels: Labels,
    /// Its annotations, expanded.
    pub annotations: BTreeMap<String, String>,
    /// Its state.
    pub state: AlertState,
    /// The value at the last evaluation.
    pub value: f64,
    /// When it became active (milliseconds).
    pub active_at: i64,
    /// When it fired.
    pub fired_at: Option<i64>,
    /// When it was resolved.
    pub resolved_at: Option<i64>,
    /// When it was last sent.
    pub last_sent_at: Option<i64>,
    /// Since when it is kept firing without its condition.
    pub keep_firing_since: Option<i64>,
    /// Until when the last sent state is valid (`endsAt` of a firing alert).
    pub valid_until: i64,
}

/// Whether a rule's last evaluation worked.
#[derive(Clone, Debug, PartialEq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// It worked.
    Ok,
    /// It failed, with the error.
    Err(String),
}

/// A rule with what its evaluations left.
#[derive(Clone, Debug)]
pub struct RuleState {
    /// The rule.
    pub rule: CheckedRule,
    /// Its alerts (alerting rules), by label set.
    pub active: BTreeMap<Labels, Alert>,
    /// Its last evaluation's health.
    pub health: Health,
    /// When it was last evaluated (milliseconds).
    pub last_evaluation: Option<i64>,
    /// How long that took.
    pub evaluation_time: Duration,
    /// The series its last evaluation wrote (to mark stale when gone).
    previous: HashSet<Labels>,
    /// Its alerts' `for` state has been restored (or needs none): until
    /// then an alerting rule writes no `ALERTS` series, as in Prometheus.
    restored: bool,
}

impl RuleState {
    /// The rule's name (`record` or `alert`).
    pub fn name(&self) -> &str {
        self.rule.spec.record.as_deref().or(self.rule.spec.alert.as_deref()).unwrap_or_default()
    }

    /// Whether it is an alerting rule.
    pub fn is_alerting(&self) -> bool {
        self.rule.spec.alert.is_some()
    }

    /// The state of its most severe alert.
    pub fn state(&self) -> AlertState {
        let states = self.active.values().map(|a| a.state);
        if states.clone().any(|s| s == AlertState::Firing) {
            AlertState::Firing
        } else if states.clone().any(|s| s == AlertState::Pending) {
            AlertState::Pending
        } else {
            AlertState::Inactive
        }
    }
}

/// What one rule's evaluation writes: samples at the evaluation time, and
/// the series to mark stale.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// New samples.
    pub samples: Vec<(Labels, f64)>,
    /// Series of the previous evaluation that this one did not give.
    pub stale: Vec<Labels>,
}

impl Output {
    /// Every sample, staleness markers included.
    pub fn all(&self) -> impl Iterator<Item = (&Labels, f64)> {
        self.samples.iter().map(|(l, v)| (l, *v)).chain(self.stale.iter().map(|l| (l, f64::from_bits(STALE_NAN))))
    }
}

/// A group of rules and their state.
#[derive(Clone, Debug)]
pub struct Group {
    /// The file it came from.
    pub file: String,
    /// Its name.
    pub name: String,
    /// How often it is evaluated.
    pub interval: Duration,
    /// Its limit (0: none).
    pub limit: usize,
    /// Its rules.
    pub rules: Vec<RuleState>,
    /// When it was last evaluated (milliseconds).
    pub last_evaluation: Option<i64>,
    /// How long that took.
    pub evaluation_time: Duration,
    /// External labels added to alerts sent and to templates.
    pub external_labels: BTreeMap<String, String>,
    /// The external URL given to templates.
    pub external_url: String,
}

impl Group {
    /// A group from a checked one, `default_interval` when it sets none.
    pub fn new(checked: CheckedGroup, default_interval: Duration) -> Self {
        let rules = checked
            .rules
            .into_iter()
            .map(|rule| RuleState {
                rule,
                active: BTreeMap::new(),
                health: Health::Unknown,
                last_evaluation: None,
                evaluation_time: Duration::ZERO,
                previous: HashSet::new(),
                restored: true,
            })
            .collect();
        Group {
            file: checked.file,
            name: checked.name,
            interval: checked.interval.unwrap_or(default_interval),
            limit: checked.limit,
            rules,
            last_evaluation: None,
            evaluation_time: Duration::ZERO,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
        }
    }

    /// Evaluates rule `i` at `t_ms` and returns what it writes. The caller
    /// writes it before evaluating the next rule, which may read it.
    pub fn eval_rule(&mut self, i: usize, engine: &Engine, source: &dyn Source, t_ms: i64) -> Output {
        let started = Instant::now();
        let limit = self.limit;
        let (external_labels, external_url) = (self.external_labels.clone(), self.external_url.clone());
        let rule = &mut self.rules[i];
        let result = match engine.instant_expr(source, &rule.rule.expr, t_ms) {
            Ok(Value::Vector(v)) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>()),
            Ok(Value::Scalar(v)) => Ok(vec![(Labels::default(), v)]),
            Ok(_) => Err("rule result is not a vector or scalar".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        let samples = result.and_then(|r| {
            if rule.is_alerting() {
                alerting(rule, r, t_ms, limit, &external_labels, &external_url)
            } else {
                recording(rule, r, limit)
            }
        });
        rule.last_evaluation = Some(t_ms);
        rule.evaluation_time = started.elapsed();
        let samples = match samples {
            Ok(s) => {
                rule.health = Health::Ok;
                s
            }
            Err(e) => {
                rule.health = Health::Err(e);
                Vec::new()
            }
        };
        let now: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
        let mut stale: Vec<Labels> = rule.previous.difference(&now).cloned().collect();
        stale.sort();
        rule.previous = now;
        Output { samples, stale }
    }

    /// Makes the alerting rules wait for [`Group::restore_for_state`]
    /// before they write `ALERTS` and `ALERTS_FOR_STATE` (a server
    /// starting on stored data; rule unit tests start restored).
    pub fn await_restore(&mut self) {
        for rule in &mut self.rules {
            rule.restored = !rule.is_alerting();
        }
    }

    /// Restores the `for` state of the pending alerts from the
    /// `ALERTS_FOR_STATE` series `source` holds from before a restart, as
    /// Prometheus 2.42 does after its second evaluation: an alert keeps
    /// the time it became active, moved on by the time the server was
    /// down (so that it still waits its whole `for`), but fires no later
    /// than `grace_period` from now; rules whose `for` is shorter than
    /// `grace_period`, and state older than `outage_tolerance`, are not
    /// restored. Every alerting rule is restored afterwards.
    pub fn restore_for_state(
        &mut self,
        source: &dyn Source,
        t_ms: i64,
        outage_tolerance: Duration,
        grace_period: Duration,
    ) {
        let (tolerance, grace) = (outage_tolerance.as_millis() as i64, grace_period.as_millis() as i64);
        for rule in self.rules.iter_mut().filter(|r| r.is_alerting()) {
            let hold = rule.rule.hold.as_millis() as i64;
            if hold >= grace {
                let name = rule.name().to_owned();
                let spec_labels = rule.rule.spec.labels.clone();
                for alert in rule.active.values_mut() {
                    let labels = for_state_labels(&spec_labels, &alert.labels, &name);
                    let matchers: Vec<Matcher> = labels.iter().map(|(k, v)| Matcher::equal(k, v)).collect();
                    let Ok(found) = source.select(&matchers, t_ms - tolerance, t_ms) else { continue };
                    let Some(series) = found.into_iter().find(|s| s.labels.len() == matchers.len()) else { continue };
                    let Some(&(t, v)) = series.samples.last() else { continue };
                    if is_stale(v) {
                        continue; // it had resolved
                    }
                    // Whole seconds, as Prometheus keeps them.
                    let down_at = t.div_euclid(1000) * 1000;
                    let mut active_at = (v as i64) * 1000;
                    let remaining = hold - (down_at - active_at);
                    if remaining <= 0 {
                        // It was firing: the next evaluation says whether it still is.
                    } else if remaining < grace {
                        active_at = t_ms + grace - hold;
                    } else {
                        active_at += t_ms - down_at;
                    }
                    alert.active_at = active_at;
                }
            }
            rule.restored = true;
        }
    }

    /// Records that an evaluation of the whole group at `t_ms` took `took`.
    pub fn evaluated(&mut self, t_ms: i64, took: Duration) {
        self.last_evaluation = Some(t_ms);
        self.evaluation_time = took;
    }

    /// The alerts to send at `t_ms` (firing and resolved ones, again every
    /// `resend_delay`), marked as sent, with their `endsAt`; each rule's
    /// alerts with its expression.
    pub fn alerts_to_send(&mut self, t_ms: i64, resend_delay: Duration) -> Vec<(String, Vec<Alert>)> {
        let delay = resend_delay.max(self.interval).as_millis() as i64;
        let resend = resend_delay.as_millis() as i64;
        let mut all = Vec::new();
        for rule in &mut self.rules {
            let mut out = Vec::new();
            for alert in rule.active.values_mut() {
                let needs = match alert.state {
                    AlertState::Pending => false,
                    _ if alert.resolved_at > alert.last_sent_at => true,
                    _ => alert.last_sent_at.is_none_or(|sent| sent + resend < t_ms),
                };
                if needs {
                    alert.last_sent_at = Some(t_ms);
                    alert.valid_until = t_ms + 4 * delay;
                    out.push(alert.clone());
                }
            }
            if !out.is_empty() {
                all.push((rule.rule.spec.expr.clone(), out));
            }
        }
        all
    }
}

fn recording(rule: &RuleState, result: Vec<(Labels, f64)>, limit: usize) -> Result<Vec<(Labels, f64)>, String> {
    let record = rule.rule.spec.record.clone().unwrap_or_default();
    let mut out = Vec::with_capacity(result.len());
    let mut seen = HashSet::new();
    for (mut labels, v) in result {
        labels.set(METRIC_NAME, record.clone());
        for (k, val) in &rule.rule.spec.labels {
            labels.set(k, val.clone());
        }
        if !seen.insert(labels.clone()) {
            return Err("vector contains metrics with the same labelset after applying rule labels".into());
        }
        out.push((labels, v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!("exceeded limit of {limit} with {} series", out.len()));
    }
    Ok(out)
}

fn alerting(
    rule: &mut RuleState,
    result: Vec<(Labels, f64)>,
    t_ms: i64,
    limit: usize,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
) -> Result<Vec<(Labels, f64)>, String> {
    let name = rule.name().to_owned();
    let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
    for (metric, value) in result {
        let data = TemplateData {
            labels: metric.iter().collect(),
            value,
            external_labels: external_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            external_url,
        };
        let expand = |t: &crate::template::Template| {
            t.expand(&data).unwrap_or_else(|e| format!("<error expanding template: {e}>"))
        };
        let mut labels = metric.clone().without_name();
        for (k, t) in &rule.rule.label_templates {
            labels.set(k, expand(t));
        }
        labels.set("alertname", name.clone());
        let annotations = rule.rule.annotation_templates.iter().map(|(k, t)| (k.clone(), expand(t))).collect();
        if fresh.contains_key(&labels) {
            return Err("vector contains metrics with the same labelset after applying alert labels".into());
        }
        let alert = Alert {
            labels: labels.clone(),
            annotations,
            state: AlertState::Pending,
            value,
            active_at: t_ms,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            keep_firing_since: None,
            valid_until: 0,
        };
        fresh.insert(labels, alert);
    }
    let present: HashSet<Labels> = fresh.keys().cloned().collect();
    for (labels, a) in fresh {
        match rule.active.get_mut(&labels) {
            Some(alert) if alert.state != AlertState::Inactive => {
                alert.value = a.value;
                alert.annotations = a.annotations;
            }
            _ => {
                rule.active.insert(labels, a);
            }
        }
    }
    let hold = rule.rule.hold.as_millis() as i64;
    let keep_for = rule.rule.keep_firing_for.as_millis() as i64;
    let mut samples = Vec::new();
    let mut active_count = 0;
    let mut gone = Vec::new();
    for (labels, a) in rule.active.iter_mut() {
        if !present.contains(labels) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && keep_for > 0 {
                let since = *a.keep_firing_since.get_or_insert(t_ms);
                keep_firing = t_ms - since < keep_for;
            }
            if a.state == AlertState::Pending || a.resolved_at.is_some_and(|r| t_ms - r > RESOLVED_RETENTION_MS) {
                gone.push(labels.clone());
            }
            if a.state != AlertState::Inactive && !keep_firing {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(t_ms);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        active_count += 1;
        if a.state == AlertState::Pending && t_ms - a.active_at >= hold {
            a.state = AlertState::Firing;
            a.fired_at = Some(t_ms);
        }
        if !rule.restored {
            continue;
        }
        let for_state = for_state_labels(&rule.rule.spec.labels, &a.labels, &name);
        let mut series = for_state.clone();
        series.set(METRIC_NAME, "ALERTS".into());
        series.set("alertstate", a.state.as_str().into());
        samples.push((series, 1.0));
        samples.push((for_state, (a.active_at.div_euclid(1000)) as f64));
    }
    for labels in gone {
        rule.active.remove(&labels);
    }
    if limit > 0 && active_count > limit {
        rule.active.clear();
        return Err(format!("exceeded limit of {limit} with {active_count} alerts"));
    }
    Ok(samples)
}

/// The labels of an alert's `ALERTS_FOR_STATE` series: the rule's labels,
/// the alert's over them, its name.
fn for_state_labels(rule_labels: &BTreeMap<String, String>, alert: &Labels, name: &str) -> Labels {
    let mut labels = Labels::new(rule_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (k, v) in alert.iter() {
        labels.set(k, v.to_owned());
    }
    labels.set("alertname", name.to_owned());
    labels.set(METRIC_NAME, "ALERTS_FOR_STATE".into());
    labels
}

/// An alert's value as Prometheus' API writes it (`%e`).
pub fn alert_value(v: f64) -> String {
    go_format::e(v)
}
