//! Spans: the recorded data, and the handle that records it.

use std::borrow::Cow;
use std::sync::Arc;

use super::clock::now_unix_nanos;
use super::current::{self, Entered};
use super::tracer::Pipeline;
use super::value::{KeyValue, Value};
use super::{Resource, Scope, SpanContext, SpanId};

/// What role a span plays in a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside one service.
    #[default]
    Internal,
    /// Handling an incoming request.
    Server,
    /// Making an outgoing request.
    Client,
    /// Sending a message to be handled later.
    Producer,
    /// Handling a message sent earlier.
    Consumer,
}

/// The outcome of a span.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Status {
    /// Not set (the default).
    #[default]
    Unset,
    /// Completed successfully; final (a later `Error` does not replace it).
    Ok,
    /// Failed, with a description.
    Error {
        /// What went wrong.
        message: Cow<'static, str>,
    },
}

/// A timestamped annotation on a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event name.
    pub name: Cow<'static, str>,
    /// When it happened (Unix nanoseconds).
    pub time_unix_nanos: u64,
    /// Its attributes (at most the per-event limit).
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped by the limit.
    pub dropped_attributes: u32,
}

/// A reference from one span to another (in this trace or another).
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The linked span.
    pub context: SpanContext,
    /// Its attributes (at most the per-link limit).
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped by the limit.
    pub dropped_attributes: u32,
}

/// How much one span may hold; the excess is dropped and counted.
/// Defaults follow OpenTelemetry: 128 of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Attributes per span.
    pub attributes: usize,
    /// Events per span.
    pub events: usize,
    /// Links per span.
    pub links: usize,
    /// Attributes per event or link.
    pub attributes_per_item: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { attributes: 128, events: 128, links: 128, attributes_per_item: 128 }
    }
}

/// A finished (or in-progress) span as processors and exporters see it.
#[derive(Clone, Debug)]
pub struct SpanData {
    /// This span's context.
    pub context: SpanContext,
    /// The parent span, or [`SpanId::INVALID`] for a root.
    pub parent_span_id: SpanId,
    /// True when the parent came from another process.
    pub parent_remote: bool,
    /// The operation name.
    pub name: Cow<'static, str>,
    /// The span kind.
    pub kind: SpanKind,
    /// Start time (Unix nanoseconds).
    pub start_unix_nanos: u64,
    /// End time (Unix nanoseconds; 0 until ended).
    pub end_unix_nanos: u64,
    /// Attributes.
    pub attributes: Vec<KeyValue>,
    /// Events.
    pub events: Vec<Event>,
    /// Links.
    pub links: Vec<Link>,
    /// Outcome.
    pub status: Status,
    /// Attributes dropped by the limit.
    pub dropped_attributes: u32,
    /// Events dropped by the limit.
    pub dropped_events: u32,
    /// Links dropped by the limit.
    pub dropped_links: u32,
    /// The instrumentation scope (tracer name).
    pub scope: &'static Scope,
    /// The producing service.
    pub resource: &'static Resource,
}

impl SpanData {
    /// Duration in nanoseconds (0 until ended).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// The attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
    }

    /// Clears recorded data but keeps allocated capacity (for reuse).
    pub(crate) fn clear(&mut self) {
        self.attributes.clear();
        self.events.clear();
        self.links.clear();
        self.status = Status::Unset;
        self.dropped_attributes = 0;
        self.dropped_events = 0;
        self.dropped_links = 0;
        self.end_unix_nanos = 0;
    }
}

fn push_limited(list: &mut Vec<KeyValue>, limit: usize, dropped: &mut u32, kv: KeyValue) {
    if let Some(existing) = list.iter_mut().find(|e| e.key == kv.key) {
        existing.value = kv.value;
    } else if list.len() < limit {
        list.push(kv);
    } else {
        *dropped += 1;
    }
}

fn limited(attrs: impl IntoIterator<Item = KeyValue>, limit: usize) -> (Vec<KeyValue>, u32) {
    let mut out = Vec::new();
    let mut dropped = 0;
    for kv in attrs {
        push_limited(&mut out, limit, &mut dropped, kv);
    }
    (out, dropped)
}

/// A span being recorded. Ends exactly once: at [`Span::end`] or on drop.
///
/// An unsampled span carries only its context (so it still propagates) and
/// records nothing; every recording method is then a no-op.
pub struct Span {
    pub(crate) context: SpanContext,
    pub(crate) data: Option<Box<SpanData>>,
    pub(crate) pipeline: Option<Arc<Pipeline>>,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span").field("context", &self.context).field("recording", &self.is_recording()).finish()
    }
}

impl Span {
    /// A span that records nothing and has an invalid context.
    pub fn none() -> Self {
        Self {
            context: SpanContext::new(super::TraceId::INVALID, SpanId::INVALID, Default::default()),
            data: None,
            pipeline: None,
        }
    }

    /// The span's context (for propagation and links).
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// True while the span records (sampled and not yet ended).
    pub fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    fn limits(&self) -> Limits {
        self.pipeline.as_ref().map(|p| p.limits).unwrap_or_default()
    }

    /// Sets an attribute (replacing one with the same key).
    #[inline]
    pub fn set_attribute(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        if self.data.is_none() {
            return;
        }
        let limit = self.limits().attributes;
        if let Some(d) = self.data.as_deref_mut() {
            push_limited(&mut d.attributes, limit, &mut d.dropped_attributes, KeyValue::new(key, value));
        }
    }

    /// Adds an event, timestamped now.
    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: impl IntoIterator<Item = KeyValue>) {
        self.add_event_at(name, now_unix_nanos(), attributes)
    }

    /// Adds an event with an explicit timestamp (Unix nanoseconds).
    pub fn add_event_at(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        time_unix_nanos: u64,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        let limits = self.limits();
        if let Some(d) = self.data.as_deref_mut() {
            if d.events.len() >= limits.events {
                d.dropped_events += 1;
                return;
            }
            let (attributes, dropped_attributes) = limited(attributes, limits.attributes_per_item);
            d.events.push(Event { name: name.into(), time_unix_nanos, attributes, dropped_attributes });
        }
    }

    /// Links this span to another span's context.
    pub fn add_link(&mut self, context: SpanContext, attributes: impl IntoIterator<Item = KeyValue>) {
        let limits = self.limits();
        if let Some(d) = self.data.as_deref_mut() {
            if !context.is_valid() {
                return;
            }
            if d.links.len() >= limits.links {
                d.dropped_links += 1;
                return;
            }
            let (attributes, dropped_attributes) = limited(attributes, limits.attributes_per_item);
            d.links.push(Link { context, attributes, dropped_attributes });
        }
    }

    /// Sets the status. `Ok` is final; `Unset` never replaces a set status.
    pub fn set_status(&mut self, status: Status) {
        if let Some(d) = self.data.as_deref_mut() {
            match (&d.status, &status) {
                (Status::Ok, _) | (_, Status::Unset) => {}
                _ => d.status = status,
            }
        }
    }

    /// Records an error: status `Error` with its message, and an
    /// `exception` event carrying `exception.message`.
    pub fn record_error(&mut self, error: &dyn std::error::Error) {
        let message = error.to_string();
        self.add_event("exception", [KeyValue::new("exception.message", message.clone())]);
        self.set_status(Status::Error { message: message.into() });
    }

    /// Renames the span.
    pub fn update_name(&mut self, name: impl Into<Cow<'static, str>>) {
        if let Some(d) = self.data.as_deref_mut() {
            d.name = name.into();
        }
    }

    /// Makes this the current span on this thread until the guard drops.
    pub fn enter(&self) -> Entered<'_> {
        current::enter(self)
    }

    /// Ends the span now. Later calls (and the drop) do nothing.
    #[inline]
    pub fn end(&mut self) {
        if self.data.is_some() {
            self.end_at(now_unix_nanos());
        }
    }

    /// Ends the span at `end_unix_nanos`.
    pub fn end_at(&mut self, end_unix_nanos: u64) {
        if let (Some(mut d), Some(p)) = (self.data.take(), self.pipeline.as_ref()) {
            d.end_unix_nanos = end_unix_nanos.max(d.start_unix_nanos);
            p.on_end(d);
        }
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        self.end();
    }
}
