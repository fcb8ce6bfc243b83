//! The hub's rules: the groups of `[rules] files`, evaluated on the
//! sampler's thread just before its tick (so what a rule writes at a time
//! is kept like any sample of that time), their outputs written to the
//! sample store, their alerts sent to an Alertmanager or a webhook.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonde::Registry;
use sonde_promql::{Engine, Labels};
use sonde_rules::{Group, Health, Notifier, NotifierOptions};

use crate::query::StoreSource;
use crate::store::SampleStore;
use crate::Error;

/// Prometheus' `--rules.alert.resend-delay`.
const RESEND_DELAY: Duration = Duration::from_secs(60);

/// What `[rules]` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesOptions {
    /// Rule files (glob patterns).
    pub files: Vec<String>,
    /// Interval of groups that set none (default 1 minute).
    pub evaluation_interval: Duration,
    /// An Alertmanager's base URL.
    pub alertmanager: Option<String>,
    /// A webhook URL.
    pub webhook: Option<String>,
    /// The URL alerts link back to (`generatorURL`), the hub's own.
    pub external_url: String,
    /// How long before a restart an alert's `for` state is still restored
    /// (default 1 hour, Prometheus' `--rules.alert.for-outage-tolerance`).
    pub for_outage_tolerance: Duration,
    /// The least time a restored alert waits before firing (default 10
    /// minutes, `--rules.alert.for-grace-period`).
    pub for_grace_period: Duration,
}

impl Default for RulesOptions {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            evaluation_interval: Duration::from_secs(60),
            alertmanager: None,
            webhook: None,
            external_url: String::new(),
            for_outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
        }
    }
}

/// The groups, shared with the API that shows them.
pub(crate) type SharedGroups = Arc<Mutex<Vec<Group>>>;

/// Evaluates the groups as their times come.
pub(crate) struct RuleRunner {
    pub(crate) groups: SharedGroups,
    next: Vec<i64>,
    /// Evaluations of each group since the start (the `for` state is
    /// restored after the second, as Prometheus does).
    evaluations_of: Vec<u32>,
    for_outage_tolerance: Duration,
    for_grace_period: Duration,
    engine: Engine,
    source: StoreSource,
    samples: SampleStore,
    notifier: Option<Notifier>,
    failures: Arc<AtomicU64>,
    evaluations: Arc<AtomicU64>,
}

/// The store's name for a series: `name{a="1",b="2"}`, as the sampler
/// writes ids.
pub(crate) fn series_id(labels: &Labels) -> String {
    let name = labels.name().unwrap_or_default();
    let rest: Vec<String> =
        labels.iter().filter(|(k, _)| *k != sonde_promql::METRIC_NAME).map(|(k, v)| format!("{k}={v:?}")).collect();
    if rest.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", rest.join(","))
    }
}

impl RuleRunner {
    /// Loads every file `options` names.
    pub(crate) fn load(
        options: &RulesOptions,
        engine: Engine,
        samples: SampleStore,
        registry: &Registry,
    ) -> Result<Option<Self>, Error> {
        if options.files.is_empty() {
            return Ok(None);
        }
        let mut paths: Vec<PathBuf> = Vec::new();
        for pattern in &options.files {
            let found: Vec<PathBuf> = glob::glob(pattern)
                .map_err(|e| Error::Config(format!("rules.files {pattern}: {e}")))?
                .filter_map(Result::ok)
                .collect();
            if found.is_empty() {
                return Err(Error::Config(format!("rules.files {pattern}: no such file")));
            }
            paths.extend(found);
        }
        let interval =
            if options.evaluation_interval.is_zero() { Duration::from_secs(60) } else { options.evaluation_interval };
        let mut groups = Vec::new();
        for path in paths {
            let checked = sonde_rules::load(&path).map_err(|e| Error::Config(format!("rules: {}", e.join("; "))))?;
            for g in checked {
                let mut group = Group::new(g, interval);
                group.external_url = options.external_url.clone();
                group.await_restore();
                groups.push(group);
            }
        }
        let notifier = if options.alertmanager.is_some() || options.webhook.is_some() {
            let n = Notifier::start(NotifierOptions {
                alertmanager: options.alertmanager.clone(),
                webhook: options.webhook.clone(),
                ..NotifierOptions::default()
            })?;
            let counts = Arc::new(n.counter());
            for (name, help, pick) in [
                ("sonde_rules_notifications_sent_total", "Alerts delivered to every destination.", 0),
                ("sonde_rules_notifications_dropped_total", "Alerts dropped from a full notification queue.", 1),
                ("sonde_rules_notification_errors_total", "Notification requests that failed.", 2),
            ] {
                let c = counts.clone();
                registry.counter_fn(name, help, move || {
                    let (a, b, d) = c();
                    [a, b, d][pick] as f64
                })?;
            }
            Some(n)
        } else {
            None
        };
        let failures = Arc::new(AtomicU64::new(0));
        let evaluations = Arc::new(AtomicU64::new(0));
        let f = failures.clone();
        registry.counter_fn("sonde_rules_evaluation_failures_total", "Rule evaluations that failed.", move || {
            f.load(Relaxed) as f64
        })?;
        let e = evaluations.clone();
        registry.counter_fn("sonde_rules_evaluations_total", "Rule evaluations.", move || e.load(Relaxed) as f64)?;
        let next = vec![i64::MIN; groups.len()];
        Ok(Some(Self {
            evaluations_of: vec![0; groups.len()],
            for_outage_tolerance: options.for_outage_tolerance,
            for_grace_period: options.for_grace_period,
            groups: Arc::new(Mutex::new(groups)),
            next,
            engine,
            source: StoreSource::new(samples.clone()),
            samples,
            notifier,
            failures,
            evaluations,
        }))
    }

    /// Evaluates the groups due at `t_ms`, writing their outputs at `t_ms`.
    pub(crate) fn tick(&mut self, t_ms: i64) {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        for ((g, next), count) in groups.iter_mut().zip(&mut self.next).zip(&mut self.evaluations_of) {
            let step = g.interval.as_millis().max(1) as i64;
            if *next == i64::MIN {
                *next = t_ms - t_ms.rem_euclid(step);
            }
            if t_ms < *next {
                continue;
            }
            *next = t_ms - t_ms.rem_euclid(step) + step;
            let started = Instant::now();
            for i in 0..g.rules.len() {
                let out = g.eval_rule(i, &self.engine, &self.source, t_ms);
                self.evaluations.fetch_add(1, Relaxed);
                if matches!(g.rules[i].health, Health::Err(_)) {
                    self.failures.fetch_add(1, Relaxed);
                }
                let written: Vec<(String, String, f64)> = out
                    .all()
                    .map(|(labels, v)| (labels.name().unwrap_or_default().to_owned(), series_id(labels), v))
                    .collect();
                self.samples.append_written(t_ms, written.iter().map(|(f, id, v)| (f.as_str(), id.as_str(), *v)));
            }
            g.evaluated(t_ms, started.elapsed());
            *count += 1;
            if *count == 2 {
                // What the rules read has been written twice by now.
                g.restore_for_state(&self.source, t_ms, self.for_outage_tolerance, self.for_grace_period);
            }
            if let Some(n) = &self.notifier {
                for (expr, alerts) in g.alerts_to_send(t_ms, RESEND_DELAY) {
                    n.send(&alerts, &expr, &g.external_labels, &g.external_url);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_the_same_labels() {
        let labels = Labels::new([("__name__", "ALERTS"), ("alertname", "X"), ("quote", "a\"b\\c\nd")]);
        assert_eq!(Labels::parse_series(&series_id(&labels)), Some(labels));
    }
}
