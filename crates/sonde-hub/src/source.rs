//! What the hub's dashboard and API read: the registry for current values,
//! the sample store for history, and the records database (or the
//! in-memory stores, when the hub is ephemeral) for spans and events.

use std::sync::Arc;

use sonde::events::{Event, EventLog};
use sonde::trace::TraceId;
use sonde::{FamilySnapshot, Registry, Snapshot};
use sonde_dashboard::{DataSource, EventSearch, HistoryRange, LocalSource, Points};
use sonde_otlp::receive::{StoredSpan, TraceFilter, TraceStore, TraceSummary};

use crate::store::{RecordStore, SampleStore};

/// The hub as the dashboard's data source.
pub(crate) struct HubSource {
    local: LocalSource,
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
        Self { local: LocalSource::new(registry).traces(traces).events(events), samples, records }
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
            None => DataSource::traces(&self.local, filter),
        }
    }
    fn trace(&self, trace_id: TraceId) -> Vec<Arc<StoredSpan>> {
        match &self.records {
            Some(r) => r.trace(trace_id).unwrap_or_default(),
            None => self.local.trace(trace_id),
        }
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
