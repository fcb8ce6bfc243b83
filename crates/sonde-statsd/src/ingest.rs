//! Receiving StatsD into a Sonde registry: the hub's StatsD side.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use sonde::events::{Event, EventLog, Severity};
use sonde::ingest::{IngestTable, Refusal};
use sonde::trace::KeyValue;
use sonde::{Buckets, Counter, Family, Gauge, Histogram, Registry};

use crate::parse::{parse_datagram, CheckLine, EventLine, Item, Line, Reject, Value};
use crate::Kind;

/// Most distinct metric names accepted; beyond it new names are rejected.
pub const MAX_METRICS: usize = 10_000;
/// Most distinct members tracked per set and interval.
pub const MAX_SET_MEMBERS: usize = 10_000;
/// Most observations one sampled timing line expands to (`1/rate`).
const MAX_EXPANSION: usize = 1000;

#[derive(Clone)]
enum Target {
    Counter(Family<Counter>),
    Gauge(Family<Gauge>),
    Histogram(Family<Histogram>),
    Set(Family<Gauge>),
}

fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Members seen this interval, by (name, label values).
type SetMembers = HashMap<(String, Vec<String>), HashSet<String>>;

/// Aggregates StatsD lines into a registry, the way Prometheus'
/// statsd_exporter does: counters become `<name>_total` counters (scaled by
/// `1/rate`), gauges keep StatsD's signed-delta semantics, timers become
/// histograms in seconds, `h`/`d` become histograms, sets become gauges of
/// distinct members per interval ([`StatsdIngest::roll_sets`]). Names are
/// sanitised to Prometheus names (`api.latency-ms` → `api_latency_ms`);
/// DogStatsD tags become labels (one label set per name). A metric sent
/// without a description (StatsD has no way to send one) gets a generated
/// HELP line naming what it was received as, as statsd_exporter does.
///
/// DogStatsD events (`_e{…}`) become events in the log given to
/// [`StatsdIngest::events`]; service checks (`_sc|…`) become a gauge named
/// after the check whose value is its status (0 ok, 1 warning, 2 critical,
/// 3 unknown), labelled by its tags and `host`.
///
/// Every rejected line is counted by reason in `sonde_statsd_rejected_total`.
pub struct StatsdIngest {
    registry: Registry,
    events: Option<EventLog>,
    timer_buckets: Buckets,
    targets: IngestTable<Kind, Target>,
    sets: Mutex<SetMembers>,
    received: Counter,
    rejected: Family<Counter>,
    collisions: Counter,
}

impl StatsdIngest {
    /// Aggregates into `registry`; timers use `timer_buckets` (seconds).
    ///
    /// # Errors
    ///
    /// The registry's error when one of the `sonde_statsd_*` names is already declared as another kind.
    pub fn new(registry: Registry, timer_buckets: Buckets) -> sonde::Result<Self> {
        let received = registry.counter("sonde_statsd_received_total").help("StatsD lines received.").register()?;
        let rejected = registry
            .counter("sonde_statsd_rejected_total")
            .help("StatsD lines rejected, by reason.")
            .labels(["reason"])
            .register()?;
        let collisions = registry
            .counter("sonde_statsd_tag_collisions_total")
            .help("DogStatsD tags dropped because another tag of the line has the same name once sanitised (the first is kept).")
            .register()?;
        Ok(Self {
            registry,
            events: None,
            timer_buckets,
            targets: IngestTable::new(MAX_METRICS),
            sets: Mutex::default(),
            received,
            rejected,
            collisions,
        })
    }

    /// Appends DogStatsD events to `log`; without one they are refused
    /// (`no_event_log`).
    pub fn events(mut self, log: EventLog) -> Self {
        self.events = Some(log);
        self
    }

    /// Handles one datagram or TCP chunk; bad lines are counted and
    /// skipped. Returns how many lines it held.
    pub fn ingest(&self, text: &str) -> u64 {
        let mut lines = 0;
        for item in parse_datagram(text) {
            lines += 1;
            self.received.inc();
            let result = item.map_err(Reject::as_str).and_then(|item| {
                match item {
                    Item::Metric(l) => self.apply(&l),
                    Item::Event(e) => self.event(&e),
                    Item::ServiceCheck(c) => self.service_check(&c),
                }
                .map_err(Refusal::as_str)
            });
            if let Err(reason) = result {
                self.rejected.with(&[reason]).inc();
            }
        }
        lines
    }

    fn event(&self, e: &EventLine<'_>) -> Result<(), Refusal> {
        let log = self.events.as_ref().ok_or(Refusal::NoEventLog)?;
        let severity = match e.alert_type {
            "error" => Severity::Error,
            "warning" => Severity::Warn,
            _ => Severity::Info,
        };
        let mut fields = vec![
            KeyValue::new("text", e.text.replace("\\n", "\n")),
            KeyValue::new("priority", e.priority.to_owned()),
            KeyValue::new("alert_type", e.alert_type.to_owned()),
        ];
        for (key, value) in
            [("host", e.hostname), ("aggregation_key", e.aggregation_key), ("source_type", e.source_type)]
        {
            if let Some(v) = value {
                fields.push(KeyValue::new(key, sonde::sanitize_label_value(v).into_owned()));
            }
        }
        let labels = self.tags(&e.tags).into_iter().map(|(k, v)| (k, v.into_owned())).collect();
        log.append(Event {
            time_unix_nanos: e.timestamp.map_or_else(now_unix_nanos, |s| s.saturating_mul(1_000_000_000)),
            severity,
            name: sonde::sanitize_label_value(e.title).into_owned(),
            fields,
            labels,
            trace_id: None,
            span_id: None,
        });
        Ok(())
    }

    fn service_check(&self, c: &CheckLine<'_>) -> Result<(), Refusal> {
        let mut tags = c.tags.clone();
        if let Some(host) = c.hostname {
            tags.push(("host", host));
        }
        let tags = self.tags(&tags);
        let name = sonde::sanitize_metric_name(c.name);
        let help =
            || format!("DogStatsD service check {}: 0 ok, 1 warning, 2 critical, 3 unknown.", c.name.escape_default());
        let (values, target) = self.target(&name, Kind::Gauge, &tags, help)?;
        match target {
            Target::Gauge(f) => f.with(&values).set(f64::from(c.status.number())),
            _ => return Err(Refusal::NameConflict),
        }
        Ok(())
    }

    /// A line's tags as sorted, sanitised label pairs; names that collide
    /// once sanitised keep the first and are counted.
    fn tags<'a>(&self, tags: &[(&str, &'a str)]) -> Vec<(String, std::borrow::Cow<'a, str>)> {
        let mut out: Vec<(String, std::borrow::Cow<'_, str>)> =
            tags.iter().map(|(k, v)| (sonde::sanitize_label_name(k), sonde::sanitize_label_value(v))).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        let before = out.len();
        out.dedup_by(|a, b| a.0 == b.0);
        if out.len() < before {
            self.collisions.inc_by((before - out.len()) as u64);
        }
        out
    }

    /// The family `name` of `kind` (declared with `help()` on first use)
    /// and the label values of `tags` in its order.
    fn target<'t>(
        &self,
        name: &str,
        kind: Kind,
        tags: &'t [(String, std::borrow::Cow<'t, str>)],
        help: impl FnOnce() -> String,
    ) -> Result<(Vec<&'t str>, Target), Refusal> {
        let declare = |names: &[String]| self.declare(name, kind, names, &help()).map_err(|_| Refusal::NameConflict);
        let (target, values) = self.targets.target(name, kind, tags, declare)?;
        Ok((values, target))
    }

    /// Counts a line the caller rejected before parsing (for example a TCP
    /// line longer than [`crate::parse::MAX_LINE`] that never ended).
    pub fn reject(&self, reason: Reject) {
        self.received.inc();
        self.rejected.with(&[reason.as_str()]).inc();
    }

    fn apply(&self, line: &Line<'_>) -> Result<(), Refusal> {
        // Names are sanitised to the label alphabet, values lose control
        // characters (see `sonde::sanitize_label_value`).
        let tags = self.tags(&line.tags);
        let kind = match line.kind {
            Kind::Distribution => Kind::Histogram,
            k => k,
        };
        let name = sonde::sanitize_metric_name(line.name);
        let help = || {
            let what = match line.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Timing => "timer",
                Kind::Histogram => "histogram",
                Kind::Distribution => "distribution",
                Kind::Set => "set (distinct members per flush interval)",
            };
            format!("StatsD {what} {}, received without a description.", line.name.escape_default())
        };
        let (values, target) = self.target(&name, kind, &tags, help)?;
        let target = &target;
        let scale = 1.0 / line.rate;
        match (target, line.value) {
            (Target::Counter(f), Value::Number(n)) if n >= 0.0 => f.with(&values).add(n * scale),
            (Target::Counter(_), _) => return Err(Refusal::BadValue),
            (Target::Gauge(f), Value::Number(n)) => f.with(&values).set(n),
            (Target::Gauge(f), Value::Delta(d)) => f.with(&values).add(d),
            (Target::Histogram(f), Value::Number(n)) => {
                let v = if line.kind == Kind::Timing { n / 1000.0 } else { n };
                let times = (scale.round() as usize).clamp(1, MAX_EXPANSION);
                let h = f.with(&values);
                for _ in 0..times {
                    h.observe(v);
                }
            }
            (Target::Set(f), Value::Member(m)) => {
                let key = (name.clone(), values.iter().map(|v| v.to_string()).collect());
                let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
                let members = sets.entry(key).or_default();
                if members.len() >= MAX_SET_MEMBERS && !members.contains(m) {
                    return Err(Refusal::SetFull);
                }
                members.insert(m.to_owned());
                f.with(&values).set(members.len() as f64);
            }
            _ => return Err(Refusal::BadValue),
        }
        Ok(())
    }

    fn declare(&self, name: &str, kind: Kind, labels: &[String], help: &str) -> sonde::Result<Target> {
        let r = &self.registry;
        Ok(match kind {
            Kind::Counter => Target::Counter(r.counter(&format!("{name}_total")).help(help).labels(labels).register()?),
            Kind::Gauge => Target::Gauge(r.gauge(name).help(help).labels(labels).register()?),
            Kind::Timing => Target::Histogram(
                r.histogram(name)
                    .unit("seconds")
                    .help(help)
                    .labels(labels)
                    .buckets(self.timer_buckets.clone())
                    .register()?,
            ),
            Kind::Histogram | Kind::Distribution => {
                Target::Histogram(r.histogram(name).help(help).labels(labels).register()?)
            }
            Kind::Set => Target::Set(r.gauge(name).help(help).labels(labels).register()?),
        })
    }

    /// Starts a new set interval: distinct-member counts start again at 0.
    pub fn roll_sets(&self) {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        for (name, values) in sets.keys() {
            if let Some(Target::Set(f)) = self.targets.get(name, Kind::Set) {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                f.with(&values).set(0.0);
            }
        }
        sets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(r: &Registry, family: &str, labels: &[&str]) -> f64 {
        r.snapshot().family(family).and_then(|f| f.find(labels).map(|s| s.value().as_f64())).unwrap_or(f64::NAN)
    }

    #[test]
    fn statsd_semantics() {
        let r = Registry::new();
        let ingest = StatsdIngest::new(r.clone(), Buckets::default_seconds()).unwrap();
        ingest.ingest("api.hits:1|c\napi.hits:2|c|@0.5\ntemp:20|g\ntemp:+2|g\ntemp:-1|g\nlat:250|ms\nusers:a|s\nusers:b|s\nusers:a|s\nreq:1|c|#method:GET,code:200");
        assert_eq!(value(&r, "api_hits", &[]), 5.0, "2 at rate 0.5 counts 4");
        assert_eq!(value(&r, "temp", &[]), 21.0, "signed values are deltas");
        let lat = r.snapshot();
        let h = lat.family("lat_seconds").unwrap().series().next().unwrap().histogram().unwrap();
        assert_eq!((h.count, h.sum), (1, 0.25), "ms become seconds");
        assert_eq!(value(&r, "users", &[]), 2.0, "distinct members");
        assert_eq!(value(&r, "req", &["200", "GET"]), 1.0, "tags become sorted labels");
        ingest.ingest("bad line\nok:1|c\nx:1|q\nreq:1|c|#other:x\nneg:-1|c");
        assert_eq!(value(&r, "ok", &[]), 1.0, "good lines in a datagram survive bad ones");
        for reason in ["no_value", "unknown_type", "label_mismatch", "bad_value"] {
            assert_eq!(value(&r, "sonde_statsd_rejected", &[reason]), 1.0, "{reason}");
        }
        ingest.roll_sets();
        ingest.ingest("users:c|s");
        assert_eq!(value(&r, "users", &[]), 1.0, "a new interval counts again");
    }

    #[test]
    fn dogstatsd_events_and_service_checks() {
        let r = Registry::new();
        let log = EventLog::builder().build();
        let ingest = StatsdIngest::new(r.clone(), Buckets::default_seconds()).unwrap().events(log.clone());
        ingest.ingest(
            "_e{6,12}:deploy|v2 out\\nat 9|d:1700000000|h:web-1|t:error|#env:prod\n\
             _sc|db.up|2|h:db-1|#env:prod|m:disk full\n_sc|db.up|0|h:db-1|#env:prod\n_sc|db.up|9",
        );
        let events = log.recent(10);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.name.as_str(), e.severity, e.time_unix_nanos),
            ("deploy", Severity::Error, 1_700_000_000 * 1_000_000_000)
        );
        assert_eq!(e.labels, vec![("env".to_owned(), "prod".to_owned())]);
        let field = |k: &str| e.fields.iter().find(|f| f.key == k).map(|f| f.value.to_string());
        assert_eq!(field("text").as_deref(), Some("v2 out\nat 9"), "escaped newlines come back");
        assert_eq!((field("priority").as_deref(), field("host").as_deref()), (Some("normal"), Some("web-1")));
        assert_eq!(value(&r, "db_up", &["prod", "db-1"]), 0.0, "the latest status, labelled by host and tags");
        assert_eq!(value(&r, "sonde_statsd_rejected", &["bad_service_check"]), 1.0);
        let text = sonde::encode::prometheus_text(&r.snapshot());
        assert!(text.contains("# HELP db_up DogStatsD service check db.up: 0 ok"), "{text}");

        // Without an event log, events are refused and counted.
        let bare = StatsdIngest::new(r.clone(), Buckets::default_seconds()).unwrap();
        bare.ingest("_e{1,1}:a|b");
        assert_eq!(value(&r, "sonde_statsd_rejected", &["no_event_log"]), 1.0);
    }

    #[test]
    fn metrics_without_a_description_get_one() {
        let r = Registry::new();
        let ingest = StatsdIngest::new(r.clone(), Buckets::default_seconds()).unwrap();
        ingest.ingest("api.hits:1|c\nq.depth:3|g\nwork:5|ms");
        let text = sonde::encode::prometheus_text(&r.snapshot());
        for help in [
            "# HELP api_hits_total StatsD counter api.hits, received without a description.",
            "# HELP q_depth StatsD gauge q.depth, received without a description.",
            "# HELP work_seconds StatsD timer work, received without a description.",
        ] {
            assert!(text.contains(help), "{help} in {text}");
        }
    }

    #[test]
    fn full_sets_and_caller_rejects_are_counted() {
        let r = Registry::new();
        let ingest = StatsdIngest::new(r.clone(), Buckets::default_seconds()).unwrap();
        let lines: String = (0..MAX_SET_MEMBERS + 5).map(|i| format!("u:{i}|s\n")).collect();
        ingest.ingest(&lines);
        ingest.ingest("u:0|s"); // a member already counted is not a rejection
        assert_eq!(value(&r, "u", &[]), MAX_SET_MEMBERS as f64);
        assert_eq!(value(&r, "sonde_statsd_rejected", &["set_full"]), 5.0);
        ingest.reject(Reject::TooLong);
        assert_eq!(value(&r, "sonde_statsd_rejected", &["too_long"]), 1.0);
        assert_eq!(value(&r, "sonde_statsd_received", &[]), (MAX_SET_MEMBERS + 7) as f64);
    }
}
