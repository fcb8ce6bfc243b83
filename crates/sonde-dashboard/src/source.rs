//! Where the dashboard reads from.

use std::sync::Arc;

use sonde::events::{Event, EventLog, Severity};
use sonde::trace::TraceId;
use sonde::{FamilySnapshot, Registry, Snapshot};

use crate::{SpanRecord, TraceFilter, TraceSummary};

/// Which events to find (the newest `limit` matching, returned oldest
/// first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventSearch {
    /// At most this many (0 means 100).
    pub limit: usize,
    /// At least this severe.
    pub min_severity: Option<Severity>,
    /// Words that must all appear in the name, a field or a label.
    pub text: Option<String>,
}

impl EventSearch {
    /// The words an event is found by: its name, its fields (keys and
    /// values) and its labels.
    pub fn text_of(e: &Event) -> String {
        let mut text = e.name.clone();
        text.push(' ');
        text.push_str(&sonde::trace::attributes_json(&e.fields).to_string());
        for (k, v) in &e.labels {
            text.push_str(&format!(" {k} {v}"));
        }
        text
    }

    /// Whether `e` matches (what a source without an index checks): at
    /// least as severe, and every word of the text in [`EventSearch::text_of`],
    /// ignoring case.
    pub fn matches(&self, e: &Event) -> bool {
        if self.min_severity.is_some_and(|min| e.severity < min) {
            return false;
        }
        let Some(text) = &self.text else { return true };
        let haystack = Self::text_of(e).to_lowercase();
        text.split_whitespace().all(|w| haystack.contains(&w.to_lowercase()))
    }
}

/// A time range with a resolution, in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryRange {
    /// From (inclusive).
    pub start_ms: i64,
    /// To (inclusive).
    pub end_ms: i64,
    /// Between points.
    pub step_ms: i64,
}

/// What the dashboard shows: metrics, and optionally traces and events.
/// [`LocalSource`] covers an in-process registry with its stores and the
/// hub's; implement it to show anything else.
pub trait DataSource: Send + Sync + 'static {
    /// The registry's current values.
    fn snapshot(&self) -> Snapshot;
    /// The names of the families [`DataSource::snapshot`] would hold
    /// (cheap to ask: override it when a snapshot is not).
    fn family_names(&self) -> Vec<String> {
        self.snapshot().families.into_iter().map(|f| f.name).collect()
    }
    /// The current values of the named families only, in name order
    /// (override it when collecting a few families is cheaper than all).
    fn families(&self, names: &[&str]) -> Vec<FamilySnapshot> {
        self.snapshot().families.into_iter().filter(|f| names.contains(&f.name.as_str())).collect()
    }
    /// Trace summaries matching `filter`.
    fn traces(&self, _filter: &TraceFilter) -> Vec<TraceSummary> {
        Vec::new()
    }
    /// The spans of one trace, by start time.
    fn trace(&self, _trace_id: TraceId) -> Vec<SpanRecord> {
        Vec::new()
    }
    /// Up to `limit` recent events, oldest first.
    fn events(&self, _limit: usize) -> Vec<Arc<Event>> {
        Vec::new()
    }
    /// The events of one trace.
    fn trace_events(&self, _trace_id: TraceId) -> Vec<Arc<Event>> {
        Vec::new()
    }
    /// Events matching `search` (by default, a scan of the recent ones).
    fn search_events(&self, search: &EventSearch) -> Vec<Arc<Event>> {
        let limit = if search.limit == 0 { 100 } else { search.limit };
        let mut found: Vec<Arc<Event>> =
            self.events(10_000).into_iter().rev().filter(|e| search.matches(e)).take(limit).collect();
        found.reverse();
        found
    }
    /// Whether the source keeps metric history itself ([`DataSource::history`]);
    /// when it does not, the dashboard samples [`DataSource::snapshot`] into a
    /// bounded in-memory history once a second.
    fn keeps_history(&self) -> bool {
        false
    }
    /// One sample id's points over `range` (only asked when
    /// [`DataSource::keeps_history`]).
    fn history(&self, _id: &str, _range: HistoryRange) -> crate::Points {
        crate::Points::default()
    }
    /// The ids of `family`'s series that have history, current or not (at
    /// most `limit`; none by default: the dashboard's own history only
    /// follows the series the source holds now).
    fn history_ids(&self, _family: &str, _limit: usize) -> Vec<String> {
        Vec::new()
    }
}

/// A registry, with the event log when there is one: an in-process
/// dashboard's source. (The hub's source adds traces and stored history.)
#[derive(Clone)]
pub struct LocalSource {
    registry: Registry,
    events: Option<EventLog>,
}

impl LocalSource {
    /// Metrics only.
    pub fn new(registry: Registry) -> Self {
        Self { registry, events: None }
    }

    /// Adds events.
    pub fn events(mut self, log: EventLog) -> Self {
        self.events = Some(log);
        self
    }
}

impl DataSource for LocalSource {
    fn snapshot(&self) -> Snapshot {
        self.registry.snapshot()
    }
    fn family_names(&self) -> Vec<String> {
        self.registry.names()
    }
    fn families(&self, names: &[&str]) -> Vec<FamilySnapshot> {
        self.registry.snapshot_families(names.iter().copied())
    }
    fn events(&self, limit: usize) -> Vec<Arc<Event>> {
        self.events.as_ref().map(|e| e.recent(limit)).unwrap_or_default()
    }
    fn trace_events(&self, trace_id: TraceId) -> Vec<Arc<Event>> {
        self.events.as_ref().map(|e| e.for_trace(trace_id)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde::events::Severity;

    #[test]
    fn a_metrics_only_source_has_no_traces_or_events() {
        let source = LocalSource::new(Registry::new());
        let id = TraceId::from_bytes([7; 16]);
        assert!(source.snapshot().family("sonde_collections").is_some());
        assert!(DataSource::traces(&source, &TraceFilter::default()).is_empty());
        assert!(source.trace(id).is_empty());
        assert!(DataSource::events(&source, 10).is_empty());
        assert!(source.trace_events(id).is_empty());
    }

    #[test]
    fn events_come_from_the_log() {
        let log = EventLog::builder().build();
        let source = LocalSource::new(Registry::new()).events(log.clone());
        let trace_id = TraceId::from_bytes([9; 16]);
        let span_id = sonde::trace::SpanId::from_bytes([1; 8]);
        let context = sonde::trace::SpanContext::new(trace_id, span_id, sonde::trace::TraceFlags::SAMPLED);
        log.record_in(Some(&context), Severity::Warn, "slow", [], []);
        log.record_event("unrelated", [], []);
        assert_eq!(DataSource::events(&source, 10).len(), 2);
        let of_trace = source.trace_events(trace_id);
        assert_eq!(of_trace.len(), 1);
        assert_eq!(of_trace[0].name, "slow");
    }
}
