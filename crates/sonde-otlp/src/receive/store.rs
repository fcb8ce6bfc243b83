//! A bounded store of received spans, grouped by trace, for the hub's API
//! and the dashboard.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde::Serialize;

use super::service_name;

/// One kept span, in its OTLP form, with the service that sent it.
#[derive(Debug, Serialize)]
pub struct StoredSpan {
    /// The sender's `service.name`.
    pub service: String,
    /// The span (its JSON form is OTLP/JSON: hex ids, lowerCamelCase).
    pub span: Span,
}

impl StoredSpan {
    /// Bytes this span holds in the store: the span and everything it owns,
    /// its service name, and its places in the store's two indexes.
    pub fn heap_bytes(&self) -> usize {
        super::heap_bytes::span(&self.span)
            + self.service.capacity()
            + 2 * size_of::<usize>() // the Arc's counts
            + size_of::<([u8; 16], Arc<StoredSpan>, usize)>() // the eviction order
            + size_of::<Arc<StoredSpan>>() // the trace's list
    }

    /// Whether its status is Error.
    pub fn failed(&self) -> bool {
        self.span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32)
    }
}

struct Inner {
    order: VecDeque<([u8; 16], Arc<StoredSpan>, usize)>,
    traces: HashMap<[u8; 16], Vec<Arc<StoredSpan>>>,
    bytes: usize,
}

/// Called with every batch of spans the store keeps.
type AddHook = Box<dyn Fn(&[Arc<StoredSpan>]) + Send + Sync>;

struct Shared {
    inner: Mutex<Inner>,
    hooks: std::sync::RwLock<Vec<AddHook>>,
    max_spans: usize,
    max_bytes: usize,
    stored: AtomicU64,
    evicted: AtomicU64,
    rejected: AtomicU64,
}

/// Keeps the most recent spans up to a count and a byte budget, evicting
/// the oldest (counted). Cheap to clone; clones share the spans. It is also
/// a [`sonde::trace::SpanExporter`], so in-process spans can land in it.
#[derive(Clone)]
pub struct TraceStore(Arc<Shared>);

impl TraceStore {
    /// Keeps at most `max_spans` spans holding at most `max_bytes` (as
    /// [`StoredSpan::heap_bytes`] counts them: decoded memory, not wire
    /// bytes), evicting the oldest; the newest span is always kept.
    pub fn new(max_spans: usize, max_bytes: usize) -> Self {
        Self(Arc::new(Shared {
            inner: Mutex::new(Inner { order: VecDeque::new(), traces: HashMap::new(), bytes: 0 }),
            hooks: std::sync::RwLock::default(),
            max_spans: max_spans.max(1),
            max_bytes,
            stored: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }))
    }

    /// Keeps every span of `request`; returns how many were refused
    /// (malformed ids).
    pub fn add_request(&self, request: ExportTraceServiceRequest) -> i64 {
        let mut rejected = 0;
        let mut kept = Vec::new();
        for rs in request.resource_spans {
            let service =
                rs.resource.as_ref().map(|r| service_name(&r.attributes)).unwrap_or_else(|| "unknown_service".into());
            for ss in rs.scope_spans {
                for span in ss.spans {
                    match self.insert(&service, span) {
                        Some(s) => kept.push(s),
                        None => rejected += 1,
                    }
                }
            }
        }
        self.run_hooks(&kept);
        rejected
    }

    /// Keeps one span; false (and counted) if its ids are malformed.
    pub fn add(&self, service: &str, span: Span) -> bool {
        let kept = self.insert(service, span);
        self.run_hooks(kept.as_slice());
        kept.is_some()
    }

    /// Calls `hook` with every batch of spans kept from now on (a request's
    /// worth, or one span), before the call that added them returns: how a
    /// durable store sees every span the hub acknowledges.
    pub fn add_hook(&self, hook: impl Fn(&[Arc<StoredSpan>]) + Send + Sync + 'static) {
        self.0.hooks.write().unwrap_or_else(|p| p.into_inner()).push(Box::new(hook));
    }

    fn run_hooks(&self, kept: &[Arc<StoredSpan>]) {
        if kept.is_empty() {
            return;
        }
        for hook in self.0.hooks.read().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(kept);
        }
    }

    fn insert(&self, service: &str, span: Span) -> Option<Arc<StoredSpan>> {
        let Ok(trace_id) = <[u8; 16]>::try_from(&span.trace_id[..]) else { return self.reject() };
        let valid_parent = span.parent_span_id.is_empty() || span.parent_span_id.len() == 8;
        if trace_id == [0; 16] || span.span_id.len() != 8 || span.span_id == [0; 8] || !valid_parent {
            return self.reject();
        }
        let stored = Arc::new(StoredSpan { service: service.to_owned(), span });
        let size = stored.heap_bytes();
        let mut inner = self.0.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.traces.entry(trace_id).or_default().push(stored.clone());
        inner.order.push_back((trace_id, stored.clone(), size));
        inner.bytes += size;
        while inner.order.len() > self.0.max_spans || (inner.bytes > self.0.max_bytes && inner.order.len() > 1) {
            let Some((old_trace, old, old_size)) = inner.order.pop_front() else { break };
            inner.bytes -= old_size;
            if let Some(spans) = inner.traces.get_mut(&old_trace) {
                spans.retain(|s| !Arc::ptr_eq(s, &old));
                if spans.is_empty() {
                    inner.traces.remove(&old_trace);
                }
            }
            self.0.evicted.fetch_add(1, Relaxed);
        }
        self.0.stored.fetch_add(1, Relaxed);
        drop(inner);
        Some(stored)
    }

    fn reject(&self) -> Option<Arc<StoredSpan>> {
        self.0.rejected.fetch_add(1, Relaxed);
        None
    }

    /// The kept spans of one trace, by start time.
    pub fn trace(&self, trace_id: [u8; 16]) -> Vec<Arc<StoredSpan>> {
        let inner = self.0.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut spans = inner.traces.get(&trace_id).cloned().unwrap_or_default();
        spans.sort_by_key(|s| s.span.start_time_unix_nano);
        spans
    }

    /// Every kept trace's spans (in the order they were kept).
    pub fn groups(&self) -> Vec<Vec<Arc<StoredSpan>>> {
        let inner = self.0.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.traces.values().cloned().collect()
    }

    /// Spans kept so far, evicted to stay within bounds, and refused.
    pub fn counts(&self) -> (u64, u64, u64) {
        (self.0.stored.load(Relaxed), self.0.evicted.load(Relaxed), self.0.rejected.load(Relaxed))
    }

    /// Spans held now.
    pub fn len(&self) -> usize {
        self.0.inner.lock().unwrap_or_else(|p| p.into_inner()).order.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exposes `sonde_trace_store_{spans_stored,spans_evicted,spans_rejected}_total`,
    /// `sonde_trace_store_spans` and `sonde_trace_store_bytes`.
    ///
    /// # Errors
    ///
    /// The registry's error when a `sonde_trace_store_*` name is already declared as another kind.
    pub fn register_metrics(&self, registry: &sonde::Registry) -> sonde::Result<()> {
        type Field = fn(&Shared) -> &AtomicU64;
        let counts: [(&str, &str, Field); 3] = [
            ("stored", "Spans kept by the trace store.", |s| &s.stored),
            ("evicted", "Spans evicted to keep the trace store within its bounds.", |s| &s.evicted),
            ("rejected", "Spans refused by the trace store (malformed ids).", |s| &s.rejected),
        ];
        for (what, help, field) in counts {
            let shared = self.0.clone();
            registry.counter_fn(&format!("sonde_trace_store_spans_{what}_total"), help, move || {
                field(&shared).load(Relaxed) as f64
            })?;
        }
        let store = self.clone();
        registry.gauge_fn("sonde_trace_store_spans", "Spans held by the trace store.", move || store.len() as f64)?;
        let store = self.clone();
        registry.gauge_fn("sonde_trace_store_bytes", "Bytes held by the spans in the trace store.", move || {
            store.bytes() as f64
        })
    }

    /// Bytes held by the kept spans (see [`StoredSpan::heap_bytes`]).
    pub fn bytes(&self) -> usize {
        self.0.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

impl sonde::trace::SpanExporter for TraceStore {
    fn export(&self, batch: &[Box<sonde::trace::SpanData>]) -> sonde::Result<()> {
        self.add_request(crate::traces_request(batch.iter().map(|s| &**s), &[]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, parent: Option<u8>, start: u64, end: u64, error: bool) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: format!("s{id}"),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status: error.then(|| opentelemetry_proto::tonic::trace::v1::Status {
                code: StatusCode::Error as i32,
                message: "x".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hooks_see_each_batch_of_kept_spans_once() {
        let store = TraceStore::new(10, usize::MAX);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        store.add_hook(move |spans| sink.lock().unwrap().push(spans.iter().map(|s| s.span.name.clone()).collect()));
        let request = ExportTraceServiceRequest {
            resource_spans: vec![opentelemetry_proto::tonic::trace::v1::ResourceSpans {
                scope_spans: vec![opentelemetry_proto::tonic::trace::v1::ScopeSpans {
                    spans: vec![
                        span(1, 1, None, 1, 2, false),
                        span(0, 2, None, 1, 2, false),
                        span(1, 3, Some(1), 1, 2, false),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        assert_eq!(store.add_request(request), 1, "the all-zero trace id is refused");
        assert!(store.add("a", span(2, 4, None, 1, 2, false)));
        assert!(!store.add("a", span(0, 5, None, 1, 2, false)));
        let seen: Vec<Vec<String>> = seen.lock().unwrap().clone();
        assert_eq!(seen, vec![vec!["s1".to_owned(), "s3".to_owned()], vec!["s4".to_owned()]]);
    }

    #[test]
    fn groups_and_evicts() {
        let store = TraceStore::new(3, usize::MAX);
        assert!(store.add("a", span(1, 1, None, 10, 100, false)));
        assert!(store.add("a", span(1, 2, Some(1), 20, 50, true)));
        assert!(store.add("b", span(2, 3, None, 30, 40, false)));
        assert!(!store.add("b", span(0, 4, None, 0, 1, false)), "all-zero trace id");
        assert!(!store.add("b", Span { trace_id: vec![1; 3], ..span(1, 5, None, 0, 1, false) }), "short id");
        let mut groups: Vec<Vec<String>> =
            store.groups().iter().map(|g| g.iter().map(|s| s.span.name.clone()).collect()).collect();
        groups.sort();
        assert_eq!(groups, [vec!["s1", "s2"], vec!["s3"]], "grouped by trace");
        assert!(store.trace([1; 16])[1].failed());
        assert_eq!(store.trace([1; 16]).iter().map(|s| s.span.name.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
        store.add("c", span(3, 6, None, 40, 41, false));
        assert_eq!(store.len(), 3);
        assert_eq!(store.trace([1; 16]).len(), 1, "the oldest span went first");
        assert_eq!(store.counts(), (4, 1, 2));
    }

    #[test]
    fn the_byte_budget_holds() {
        let store = TraceStore::new(1_000_000, 10_000);
        for i in 0..1000u32 {
            let mut s = span(1 + (i % 200) as u8, 1 + (i % 250) as u8, None, i as u64, i as u64 + 1, false);
            s.name = "x".repeat(100);
            store.add("svc", s);
        }
        let bytes = store.0.inner.lock().unwrap().bytes;
        assert!(bytes <= 10_000, "{bytes}");
        assert!(store.counts().1 > 900);
    }
}
