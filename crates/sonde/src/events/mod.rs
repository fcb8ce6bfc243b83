//! Structured events (logs): recorded with the current trace and span ids,
//! kept in a bounded ring buffer, passed to hooks, and exported in batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::pipeline::{BatchOptions, Batcher};
use crate::trace::now_unix_nanos;
use crate::trace::{current_span_context, KeyValue, SpanId, TraceId};
use crate::Result;

/// How serious an event is (OpenTelemetry's severity ranges).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Finest detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
    /// A failure that stops the program.
    Fatal,
}

impl Severity {
    /// OpenTelemetry's `SeverityNumber` for this level (1, 5, 9, 13, 17, 21).
    pub fn number(self) -> i32 {
        self as i32 * 4 + 1
    }

    /// Upper-case name (`INFO`).
    pub fn as_str(self) -> &'static str {
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"][self as usize]
    }
}

/// One recorded event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// When it was recorded (Unix nanoseconds).
    pub time_unix_nanos: u64,
    /// How serious it is.
    pub severity: Severity,
    /// What happened (`user_login`).
    pub name: String,
    /// Structured fields.
    pub fields: Vec<KeyValue>,
    /// Low-cardinality labels (`source = "web"`).
    pub labels: Vec<(String, String)>,
    /// The trace current when it was recorded.
    pub trace_id: Option<TraceId>,
    /// The span current when it was recorded.
    pub span_id: Option<SpanId>,
}

impl Event {
    /// The memory the event holds, in bytes: its struct and every string and
    /// vector it owns (by capacity). What an event log's byte budget counts.
    pub fn heap_bytes(&self) -> usize {
        size_of::<Self>()
            + self.name.capacity()
            + self.fields.capacity() * size_of::<KeyValue>()
            + self.fields.iter().map(|kv| kv.heap_bytes()).sum::<usize>()
            + self.labels.capacity() * size_of::<(String, String)>()
            + self.labels.iter().map(|(k, v)| k.capacity() + v.capacity()).sum::<usize>()
    }

    /// The event as JSON: `timeUnixNano`, `severity`, `name`, `fields`,
    /// `labels`, and `traceId`/`spanId` in hex when it has them.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "timeUnixNano": self.time_unix_nanos.to_string(),
            "severity": self.severity.as_str(),
            "name": self.name,
            "fields": crate::trace::attributes_json(&self.fields),
            "labels": self.labels.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect::<serde_json::Map<_, _>>(),
        });
        if let (Some(t), Some(map)) = (self.trace_id, v.as_object_mut()) {
            map.insert("traceId".into(), t.to_string().into());
            if let Some(s) = self.span_id {
                map.insert("spanId".into(), s.to_string().into());
            }
        }
        v
    }
}

/// Receives batches of events.
pub trait EventExporter: Send + Sync {
    /// Exports a batch.
    ///
    /// # Errors
    ///
    /// An error when the batch could not be delivered; it is counted in `sonde_events_export_failed_total`
    /// and not retried here.
    fn export(&self, batch: &[Arc<Event>]) -> Result<()>;
    /// Releases resources; called once at shutdown.
    fn shutdown(&self) {}
}

type Hook = Arc<dyn Fn(&Event) + Send + Sync>;

/// The kept events and the bytes they hold.
struct Ring {
    events: VecDeque<(Arc<Event>, usize)>,
    bytes: usize,
}

struct Inner {
    ring: Mutex<Ring>,
    retention: usize,
    retention_bytes: usize,
    hooks: RwLock<Vec<Hook>>,
    recorded: AtomicU64,
    evicted: AtomicU64,
    batcher: Option<Batcher<Arc<Event>>>,
}

/// Records events. Cheap to clone; clones share the buffer.
///
/// ```
/// use sonde::events::{EventLog, Severity};
/// use sonde::trace::KeyValue;
///
/// let log = EventLog::builder().retention(100).build();
/// log.add_hook(|e| assert_eq!(e.name, "user_login"));
/// log.record_event("user_login", [KeyValue::new("user_id", "12345")], [("source", "web")]);
/// let recent = log.recent(10);
/// assert_eq!(recent[0].severity, Severity::Info);
/// assert_eq!(recent[0].labels, vec![("source".to_string(), "web".to_string())]);
/// ```
#[derive(Clone)]
pub struct EventLog(Arc<Inner>);

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("retention", &self.0.retention)
            .field("retention_bytes", &self.0.retention_bytes)
            .field("recorded", &self.recorded())
            .finish()
    }
}

/// Options for an [`EventLog`].
pub struct EventLogBuilder {
    retention: usize,
    retention_bytes: usize,
    exporter: Option<(Box<dyn EventExporter>, BatchOptions)>,
}

impl EventLogBuilder {
    /// How many recent events the ring buffer keeps (default 10,000).
    pub fn retention(mut self, n: usize) -> Self {
        self.retention = n;
        self
    }

    /// How many bytes of events (as [`Event::heap_bytes`] counts them) the
    /// ring buffer keeps at most (default: no byte limit); the oldest go
    /// first, counted as evicted. The newest event is always kept.
    pub fn retention_bytes(mut self, bytes: usize) -> Self {
        self.retention_bytes = bytes;
        self
    }

    /// Exports events in batches (a bounded queue; drops are counted).
    pub fn exporter(mut self, exporter: impl EventExporter + 'static, options: BatchOptions) -> Self {
        self.exporter = Some((Box::new(exporter), options));
        self
    }

    /// Builds the log.
    pub fn build(self) -> EventLog {
        let batcher = self.exporter.map(|(exporter, options)| {
            let exporter: Arc<dyn EventExporter> = Arc::from(exporter);
            let (e1, e2) = (exporter.clone(), exporter);
            Batcher::new("event", options, move |b: &[Arc<Event>]| e1.export(b), |b| drop(b), move || e2.shutdown())
        });
        EventLog(Arc::new(Inner {
            ring: Mutex::new(Ring { events: VecDeque::with_capacity(self.retention.min(1 << 16)), bytes: 0 }),
            retention: self.retention,
            retention_bytes: self.retention_bytes,
            hooks: RwLock::new(Vec::new()),
            recorded: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            batcher,
        }))
    }
}

impl Default for EventLog {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl EventLog {
    /// Options for a log.
    pub fn builder() -> EventLogBuilder {
        EventLogBuilder { retention: 10_000, retention_bytes: usize::MAX, exporter: None }
    }

    /// Records an `Info` event with fields and labels.
    pub fn record_event<'a>(
        &self,
        name: &str,
        fields: impl IntoIterator<Item = KeyValue>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        self.record(Severity::Info, name, fields, labels)
    }

    /// Records an event at `severity`, stamped with the time and the current
    /// trace and span ids; runs the hooks; keeps it in the ring buffer (the
    /// oldest is evicted past the retention) and queues it for export.
    pub fn record<'a>(
        &self,
        severity: Severity,
        name: &str,
        fields: impl IntoIterator<Item = KeyValue>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        self.record_in(current_span_context().as_ref(), severity, name, fields, labels)
    }

    /// Like [`EventLog::record`], stamped with `context` instead of the
    /// current span (for integrations that know the span explicitly).
    pub fn record_in<'a>(
        &self,
        context: Option<&crate::trace::SpanContext>,
        severity: Severity,
        name: &str,
        fields: impl IntoIterator<Item = KeyValue>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let ctx = context.filter(|c| c.is_valid());
        self.append(Event {
            time_unix_nanos: now_unix_nanos(),
            severity,
            name: name.to_owned(),
            fields: fields.into_iter().collect(),
            labels: labels.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            trace_id: ctx.as_ref().map(|c| c.trace_id),
            span_id: ctx.as_ref().map(|c| c.span_id),
        });
    }

    /// Records an event made elsewhere (one received from another process,
    /// say) exactly as given: hooks, export and retention as for any other.
    pub fn append(&self, event: Event) {
        let event = Arc::new(event);
        self.0.recorded.fetch_add(1, Relaxed);
        for hook in self.0.hooks.read().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(&event);
        }
        if let Some(b) = &self.0.batcher {
            let _ = b.push(event.clone());
        }
        if self.0.retention == 0 {
            return;
        }
        let size = event.heap_bytes();
        let mut ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.events.push_back((event, size));
        ring.bytes += size;
        while ring.events.len() > self.0.retention || (ring.bytes > self.0.retention_bytes && ring.events.len() > 1) {
            let Some((_, old)) = ring.events.pop_front() else { break };
            ring.bytes -= old;
            self.0.evicted.fetch_add(1, Relaxed);
        }
    }

    /// Calls `hook` for every event recorded from now on.
    pub fn add_hook(&self, hook: impl Fn(&Event) + Send + Sync + 'static) {
        self.0.hooks.write().unwrap_or_else(|p| p.into_inner()).push(Arc::new(hook));
    }

    /// Up to `limit` most recent events, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<Arc<Event>> {
        let ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.events.iter().skip(ring.events.len().saturating_sub(limit)).map(|(e, _)| e.clone()).collect()
    }

    /// The kept events of one trace, oldest first.
    pub fn for_trace(&self, trace_id: TraceId) -> Vec<Arc<Event>> {
        let ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.events.iter().filter(|(e, _)| e.trace_id == Some(trace_id)).map(|(e, _)| e.clone()).collect()
    }

    /// Events recorded since the log was built.
    pub fn recorded(&self) -> u64 {
        self.0.recorded.load(Relaxed)
    }

    /// Events pushed out of the ring buffer by newer ones.
    pub fn evicted(&self) -> u64 {
        self.0.evicted.load(Relaxed)
    }

    /// Events the exporter did not deliver: dropped (queue full, or still
    /// queued or in flight when a shutdown's deadline passed) or whose
    /// export failed. Zero without an exporter.
    pub fn undelivered(&self) -> u64 {
        self.0.batcher.as_ref().map_or(0, |b| {
            let stats = b.stats();
            stats.dropped.load(Relaxed) + stats.failed.load(Relaxed)
        })
    }

    /// Events held in the ring buffer, and the bytes they hold.
    pub fn held(&self) -> (usize, usize) {
        let ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        (ring.events.len(), ring.bytes)
    }

    /// Registers `sonde_events_total`, `sonde_events_evicted_total`,
    /// `sonde_events_bytes` and,
    /// with an exporter, `sonde_events_{exported,dropped,export_failed}_total`.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) when a `sonde_events_*` name is already declared as
    /// another kind.
    pub fn register_metrics(&self, registry: &crate::Registry) -> Result<()> {
        let me = self.clone();
        registry.counter_fn("sonde_events_total", "Events recorded.", move || me.recorded() as f64)?;
        let me = self.clone();
        registry.counter_fn("sonde_events_evicted_total", "Events pushed out of the ring buffer.", move || {
            me.evicted() as f64
        })?;
        let me = self.clone();
        registry.gauge_fn("sonde_events_bytes", "Bytes held by the events in the ring buffer.", move || {
            me.held().1 as f64
        })?;
        match &self.0.batcher {
            Some(b) => b.register_metrics(registry, "events"),
            None => Ok(()),
        }
    }

    /// Exports everything queued; waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Export`](crate::Error::Export) when the queued events were not exported within `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        match &self.0.batcher {
            Some(b) => b.flush(timeout),
            None => Ok(()),
        }
    }

    /// Flushes and stops the exporter.
    ///
    /// # Errors
    ///
    /// [`Error::Export`](crate::Error::Export) when the queued events were not exported within `timeout` (the
    /// worker is left behind).
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        match &self.0.batcher {
            Some(b) => b.shutdown(timeout),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_budget_evicts_the_oldest_and_keeps_the_newest() {
        let big = "x".repeat(10_000);
        let one = Event { name: "e".into(), fields: vec![KeyValue::new("blob", big.clone())], ..Default::default() };
        let size = one.heap_bytes();
        assert!(size > 10_000 && size < 10_400, "{size}");
        let log = EventLog::builder().retention_bytes(3 * size + size / 2).build();
        for i in 0..10 {
            log.append(Event {
                name: format!("e{i}"),
                fields: vec![KeyValue::new("blob", big.clone())],
                ..Default::default()
            });
        }
        let (held, bytes) = log.held();
        assert_eq!(held, 3, "three fit in three and a half");
        assert!(bytes <= 3 * size + size / 2);
        assert_eq!(log.evicted(), 7);
        assert_eq!(log.recent(10).last().unwrap().name, "e9");
        // One event larger than the whole budget is still kept (alone).
        let small = EventLog::builder().retention_bytes(10).build();
        small.append(one);
        assert_eq!(small.held().0, 1);
    }
    use crate::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<Arc<Event>>>>);

    impl EventExporter for Collect {
        fn export(&self, batch: &[Arc<Event>]) -> Result<()> {
            self.0.lock().unwrap().extend(batch.iter().cloned());
            Ok(())
        }
    }

    #[test]
    fn events_carry_the_current_span_and_respect_retention() {
        let out = Collect::default();
        let log = EventLog::builder().retention(3).exporter(out.clone(), BatchOptions::default()).build();
        let hooked = Arc::new(AtomicU64::new(0));
        let h = hooked.clone();
        log.add_hook(move |_| {
            h.fetch_add(1, Relaxed);
        });
        let provider = TracerProvider::builder().processor(SimpleProcessor::new(InMemoryExporter::new())).build();
        let tracer = provider.tracer("t");
        let trace_id = tracer.in_span("op", |span| {
            log.record(Severity::Warn, "retry", [KeyValue::new("attempt", 2)], []);
            span.context().trace_id
        });
        log.record_event("outside", [], [("source", "web")]);
        for i in 0..3 {
            log.record_event("filler", [KeyValue::new("i", i)], []);
        }
        assert_eq!(log.recorded(), 5);
        assert_eq!(log.evicted(), 2);
        assert_eq!(hooked.load(Relaxed), 5);
        assert_eq!(log.recent(10).len(), 3);
        log.shutdown(Duration::from_secs(5)).unwrap();
        let exported = out.0.lock().unwrap();
        assert_eq!(exported.len(), 5, "eviction from the ring does not lose exports");
        assert_eq!(exported[0].trace_id, Some(trace_id));
        assert_eq!(exported[0].severity, Severity::Warn);
        assert!(exported[1].trace_id.is_none());
        let registry = crate::Registry::new();
        log.register_metrics(&registry).unwrap();
        let snap = registry.snapshot();
        assert_eq!(snap.family("sonde_events").unwrap().series().next().unwrap().value().as_f64(), 5.0);
        assert_eq!(Severity::Error.number(), 17);
    }
}
