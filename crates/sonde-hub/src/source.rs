//! What the hub's dashboard and API read: the registry for current values,
//! the sample store for history, and the records database (or the
//! in-memory stores, when the hub is ephemeral) for spans and events.

use std::sync::Arc;

use sonde::events::{Event, EventLog};
use sonde::trace::TraceId;
use sonde::{FamilySnapshot, Registry, Snapshot};
use sonde_dashboard::{
    DataSource, EventSearch, HistoryRange, LocalSource, Points, SpanRecord, SpanSummary, TraceFilter, TraceSummary,
};
use sonde_otlp::receive::{StoredSpan, TraceStore};

use crate::store::{RecordStore, SampleStore};

/// The hub as the dashboard's data source.
pub(crate) struct HubSource {
    local: LocalSource,
    /// Received spans, when the hub keeps them in memory only.
    traces: TraceStore,
    samples: SampleStore,
    records: Option<RecordStore>,
}

impl HubSource {
    pub(crate) fn new(
        registry: Registry,
        traces: TraceStore,
        events: EventLog,
        samples: SampleStore,
        records: Option<RecordStore>,
    ) -> Self {
        Self { local: LocalSource::new(registry).events(events), traces, samples, records }
    }
}

impl DataSource for HubSource {
    fn snapshot(&self) -> Snapshot {
        self.local.snapshot()
    }
    fn family_names(&self) -> Vec<String> {
        self.local.family_names()
    }
    fn families(&self, names: &[&str]) -> Vec<FamilySnapshot> {
        self.local.families(names)
    }
    fn traces(&self, filter: &TraceFilter) -> Vec<TraceSummary> {
        match &self.records {
            Some(r) => r.traces(filter).unwrap_or_default(),
            None => list(self.traces.groups(), filter),
        }
    }
    fn trace(&self, trace_id: TraceId) -> Vec<SpanRecord> {
        let spans = match &self.records {
            Some(r) => r.trace(trace_id).unwrap_or_default(),
            None => self.traces.trace(trace_id.to_bytes()),
        };
        spans.iter().map(|s| record(s)).collect()
    }
    fn events(&self, limit: usize) -> Vec<Arc<Event>> {
        match &self.records {
            Some(r) => r.events(&EventSearch { limit, ..EventSearch::default() }).unwrap_or_default(),
            None => DataSource::events(&self.local, limit),
        }
    }
    fn trace_events(&self, trace_id: TraceId) -> Vec<Arc<Event>> {
        match &self.records {
            Some(r) => r.trace_events(trace_id).unwrap_or_default(),
            None => self.local.trace_events(trace_id),
        }
    }
    fn search_events(&self, search: &EventSearch) -> Vec<Arc<Event>> {
        match &self.records {
            Some(r) => r.events(search).unwrap_or_default(),
            None => self.local.search_events(search),
        }
    }
    fn keeps_history(&self) -> bool {
        true
    }
    fn history(&self, id: &str, range: HistoryRange) -> Points {
        self.samples.points(id, range.start_ms, range.end_ms, range.step_ms)
    }
    fn history_ids(&self, family: &str, limit: usize) -> Vec<String> {
        self.samples.ids_of(family, limit)
    }
}

/// The traces among `groups` (each one trace's spans) that `filter`
/// matches: the trace list of a hub that keeps spans in memory only.
fn list(groups: Vec<Vec<Arc<StoredSpan>>>, filter: &TraceFilter) -> Vec<TraceSummary> {
    filter.list(groups.iter().map(|spans| {
        spans
            .iter()
            .map(|s| SpanSummary {
                trace_id: &s.span.trace_id,
                name: &s.span.name,
                service: &s.service,
                start_unix_nanos: s.span.start_time_unix_nano,
                end_unix_nanos: s.span.end_time_unix_nano,
                root: s.span.parent_span_id.is_empty(),
                error: s.failed(),
            })
            .collect()
    }))
}

/// A received span as the dashboard draws it (OTLP/JSON).
fn record(s: &StoredSpan) -> SpanRecord {
    SpanRecord { service: s.service.clone(), span: serde_json::to_value(&s.span).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::span;

    #[test]
    fn the_in_memory_trace_list_filters_and_orders() {
        let store = TraceStore::new(100, usize::MAX);
        for s in [span(1, 1, None, 10, 100, false), span(1, 2, Some(1), 20, 50, true), span(2, 3, None, 30, 40, false)]
        {
            store.add(&s.service, s.span.clone());
        }
        let all = list(store.groups(), &TraceFilter::default());
        assert_eq!(all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["s3", "s1"], "latest first");
        assert_eq!((all[1].spans, all[1].duration_nanos, all[1].error), (2, 90, true));
        assert_eq!(all[1].trace_id, "01".repeat(16));
        let slow = list(store.groups(), &TraceFilter { slowest_first: true, ..Default::default() });
        assert_eq!(slow[0].name, "s1");
        assert_eq!(list(store.groups(), &TraceFilter { errors_only: true, ..Default::default() }).len(), 1);
        assert_eq!(list(store.groups(), &TraceFilter { service: Some("svc2".into()), ..Default::default() }).len(), 1);
        assert_eq!(list(store.groups(), &TraceFilter { name: Some("1".into()), ..Default::default() }).len(), 1);
        assert_eq!(list(store.groups(), &TraceFilter { min_duration_nanos: 50, ..Default::default() }).len(), 1);
        assert_eq!(list(store.groups(), &TraceFilter { limit: 1, ..Default::default() }).len(), 1);
    }
}
