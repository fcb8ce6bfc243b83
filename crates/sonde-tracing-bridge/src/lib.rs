//! A `tracing-subscriber` layer that sends `tracing` spans to Sonde as
//! spans and `tracing` events to Sonde as events, so existing
//! `#[instrument]` code shows up in Sonde's traces and event stream.
//!
//! ```
//! use sonde::events::EventLog;
//! use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let spans = InMemoryExporter::new();
//! let provider = TracerProvider::builder().processor(SimpleProcessor::new(spans.clone())).build();
//! let events = EventLog::default();
//! let layer = sonde_tracing_bridge::SondeLayer::new(provider.tracer("app")).with_events(events.clone());
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("checkout", items = 3);
//!     let _in = span.enter();
//!     tracing::info!(user = "alice", "paid");
//! });
//! assert_eq!(spans.spans()[0].name, "checkout");
//! assert_eq!(events.recent(1)[0].trace_id, Some(spans.spans()[0].context.trace_id));
//! ```
//!
//! Span fields become attributes (later `record` calls add to them); a
//! span's `tracing` parent becomes its Sonde parent (else the current Sonde
//! span); entering a `tracing` span makes its Sonde span current, so Sonde
//! spans and events made inside nest under it. Events carry their level as
//! severity, their `message` as name, the other fields as fields, and are
//! also added to their span as span events.

use std::borrow::Cow;

use sonde::events::{EventLog, Severity};
use sonde::trace::{pop_context, push_context, KeyValue, Span, Tracer, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer; add it to a `tracing_subscriber::registry()`.
pub struct SondeLayer {
    tracer: Tracer,
    events: Option<EventLog>,
}

impl SondeLayer {
    /// Spans go to `tracer`.
    pub fn new(tracer: Tracer) -> Self {
        Self { tracer, events: None }
    }

    /// Events also go to `events`.
    pub fn with_events(mut self, events: EventLog) -> Self {
        self.events = Some(events);
        self
    }
}

/// Per-span state kept in the registry's extensions.
struct Bridged {
    span: Span,
    /// Stack depths of this span's `push_context`, one per enter on this thread.
    entered: Vec<usize>,
}

/// Collects fields as attributes; `message` is kept apart.
#[derive(Default)]
struct Fields {
    attrs: Vec<KeyValue>,
    message: Option<String>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.attrs.push(KeyValue::new(Cow::Borrowed(field.name()), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::from(value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, i64::try_from(value).map(Value::I64).unwrap_or(Value::F64(value as f64)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, Value::from(format!("{value:?}")));
    }
}

fn severity(level: &Level) -> Severity {
    match *level {
        Level::TRACE => Severity::Trace,
        Level::DEBUG => Severity::Debug,
        Level::INFO => Severity::Info,
        Level::WARN => Severity::Warn,
        _ => Severity::Error,
    }
}

impl<S> Layer<S> for SondeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let parent = span_ref.parent().and_then(|p| p.extensions().get::<Bridged>().map(|b| b.span.context().clone()));
        let builder = self.tracer.span(span_ref.metadata().name());
        let mut span = match &parent {
            Some(p) => builder.parent(p).start(),
            None => builder.start(),
        };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        for kv in fields.attrs {
            span.set_attribute(kv.key, kv.value);
        }
        span_ref.extensions_mut().insert(Bridged { span, entered: Vec::new() });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let mut ext = span_ref.extensions_mut();
        if let Some(b) = ext.get_mut::<Bridged>() {
            for kv in fields.attrs {
                b.span.set_attribute(kv.key, kv.value);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span_ref) = ctx.span(id) {
            if let Some(b) = span_ref.extensions_mut().get_mut::<Bridged>() {
                let depth = push_context(b.span.context().clone());
                b.entered.push(depth);
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span_ref) = ctx.span(id) {
            if let Some(depth) = span_ref.extensions_mut().get_mut::<Bridged>().and_then(|b| b.entered.pop()) {
                pop_context(depth);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span_ref) = ctx.span(&id) {
            if let Some(mut b) = span_ref.extensions_mut().remove::<Bridged>() {
                b.span.end();
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let name = fields.message.clone().unwrap_or_else(|| event.metadata().name().to_owned());
        let span_ref = ctx.event_span(event);
        let span_ctx =
            span_ref.as_ref().and_then(|s| s.extensions().get::<Bridged>().map(|b| b.span.context().clone()));
        if let Some(s) = &span_ref {
            if let Some(b) = s.extensions_mut().get_mut::<Bridged>() {
                b.span.add_event(name.clone(), fields.attrs.iter().cloned());
            }
        }
        if let Some(log) = &self.events {
            let target = event.metadata().target();
            log.record_in(
                span_ctx.as_ref(),
                severity(event.metadata().level()),
                &name,
                fields.attrs,
                [("target", target)],
            );
        }
    }
}
