//! Spans kept for the dashboard, and the dashboard's source: the
//! module's registry, its event log and these spans.
//!
//! Ended spans go to one processor (`Spans`): the OTLP batch exporter when
//! the environment configures one, and, once a dashboard exists, a bounded
//! ring of the most recent spans (a copy when both want the span). Without
//! a dashboard nothing is kept and nothing copied.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sonde::events::Event;
use sonde::trace::{BatchProcessor, Recycler, SpanData, SpanProcessor, Status, TraceId};
use sonde::{FamilySnapshot, Snapshot};
use sonde_dashboard::{DataSource, LocalSource, SpanRecord, SpanSummary, TraceFilter, TraceSummary};

/// Spans the dashboard shows by default, at most.
pub(crate) const KEPT_SPANS: usize = 10_000;

/// The most recent ended spans, once switched on.
pub(crate) struct Keeper {
    on: AtomicBool,
    spans: Mutex<VecDeque<Box<SpanData>>>,
    max: usize,
    evicted: AtomicU64,
}

impl Keeper {
    pub(crate) fn new(max: usize) -> Self {
        Self { on: AtomicBool::new(false), spans: Mutex::default(), max: max.max(1), evicted: AtomicU64::new(0) }
    }

    /// Starts keeping spans.
    pub(crate) fn switch_on(&self) {
        self.on.store(true, Relaxed);
    }

    /// Spans evicted to stay within the bound.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted.load(Relaxed)
    }

    fn keep(&self, span: Box<SpanData>, recycler: &Recycler<'_>) {
        let old = {
            let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
            spans.push_back(span);
            if spans.len() > self.max {
                spans.pop_front()
            } else {
                None
            }
        };
        if let Some(old) = old {
            self.evicted.fetch_add(1, Relaxed);
            recycler.recycle(old);
        }
    }

    fn with<R>(&self, f: impl FnOnce(&VecDeque<Box<SpanData>>) -> R) -> R {
        f(&self.spans.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The tracer's one processor: export, keep, both or neither.
pub(crate) struct Spans {
    pub(crate) export: Option<BatchProcessor>,
    pub(crate) keeper: Arc<Keeper>,
}

impl SpanProcessor for Spans {
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>) {
        let keep = self.keeper.on.load(Relaxed);
        match (&self.export, keep) {
            (Some(export), true) => {
                self.keeper.keep(Box::new((*span).clone()), recycler);
                export.on_end(span, recycler);
            }
            (Some(export), false) => export.on_end(span, recycler),
            (None, true) => self.keeper.keep(span, recycler),
            (None, false) => recycler.recycle(span),
        }
    }

    fn force_flush(&self) -> sonde::Result<()> {
        self.export.as_ref().map_or(Ok(()), |e| e.force_flush())
    }

    fn shutdown(&self, timeout: Duration) -> sonde::Result<()> {
        self.export.as_ref().map_or(Ok(()), |e| e.shutdown(timeout))
    }
}

/// What a Python process's dashboard shows.
pub(crate) struct Source {
    pub(crate) local: LocalSource,
    pub(crate) keeper: Option<Arc<Keeper>>,
}

fn summary(s: &SpanData) -> SpanSummary<'_> {
    SpanSummary {
        trace_id: s.context.trace_id.as_bytes(),
        name: &s.name,
        service: s.resource.service_name(),
        start_unix_nanos: s.start_unix_nanos,
        end_unix_nanos: s.end_unix_nanos,
        root: !s.parent_span_id.is_valid(),
        error: matches!(s.status, Status::Error { .. }),
    }
}

impl DataSource for Source {
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
        let Some(keeper) = &self.keeper else { return Vec::new() };
        keeper.with(|spans| {
            let mut groups: HashMap<TraceId, Vec<SpanSummary<'_>>> = HashMap::new();
            for s in spans {
                groups.entry(s.context.trace_id).or_default().push(summary(s));
            }
            filter.list(groups.into_values())
        })
    }
    fn trace(&self, trace_id: TraceId) -> Vec<SpanRecord> {
        let Some(keeper) = &self.keeper else { return Vec::new() };
        let request = keeper.with(|spans| {
            let mut of_trace: Vec<&SpanData> =
                spans.iter().filter(|s| s.context.trace_id == trace_id).map(|s| &**s).collect();
            of_trace.sort_by_key(|s| s.start_unix_nanos);
            sonde_otlp::traces_request(of_trace, &[])
        });
        let mut out = Vec::new();
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .and_then(|a| a.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(sonde_otlp::proto::common::v1::any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in &resource.scope_spans {
                for span in &scope.spans {
                    out.push(SpanRecord {
                        service: service.clone(),
                        span: serde_json::to_value(span).unwrap_or_default(),
                    });
                }
            }
        }
        out.sort_by_key(|r| r.span.get("startTimeUnixNano").and_then(|v| v.as_str()?.parse::<u64>().ok()).unwrap_or(0));
        out
    }
    fn events(&self, limit: usize) -> Vec<Arc<Event>> {
        DataSource::events(&self.local, limit)
    }
    fn trace_events(&self, trace_id: TraceId) -> Vec<Arc<Event>> {
        self.local.trace_events(trace_id)
    }
}
