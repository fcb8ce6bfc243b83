//! Span exporters: where finished spans go.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value as Json};

use super::span::{SpanData, SpanKind, Status};
use super::value::{KeyValue, Value};
use crate::{Error, Result};

/// Sends batches of finished spans somewhere. Exporters borrow the spans;
/// the processor reuses their storage afterwards.
pub trait SpanExporter: Send + Sync {
    /// Exports a batch.
    ///
    /// # Errors
    ///
    /// An error when the batch could not be delivered; processors count it
    /// (`sonde_spans_export_failed_total`) and do not retry it.
    fn export(&self, batch: &[Box<SpanData>]) -> Result<()>;
    /// Releases resources; called once at shutdown.
    fn shutdown(&self) {}
}

/// Keeps copies of exported spans in memory, for tests. Cheap to clone;
/// clones share the spans.
#[derive(Clone, Default)]
pub struct InMemoryExporter(Arc<Mutex<Vec<SpanData>>>);

impl InMemoryExporter {
    /// An empty exporter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The spans exported so far, in export order.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets the spans exported so far.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl SpanExporter for InMemoryExporter {
    fn export(&self, batch: &[Box<SpanData>]) -> Result<()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend(batch.iter().map(|s| (**s).clone()));
        Ok(())
    }
}

/// Writes one JSON object per span and line (to a file, stdout, any
/// writer), so traces are visible without a collector.
pub struct JsonLinesExporter(Mutex<Box<dyn Write + Send>>);

impl JsonLinesExporter {
    /// Writes to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self(Mutex::new(Box::new(out)))
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Str(s) => json!(s),
        Value::Bool(b) => json!(b),
        Value::I64(i) => json!(i),
        Value::F64(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::StrArray(a) => json!(a.iter().map(|s| s.as_ref()).collect::<Vec<_>>()),
        Value::BoolArray(a) => json!(a.as_ref()),
        Value::I64Array(a) => json!(a.as_ref()),
        Value::F64Array(a) => json!(a.as_ref()),
    }
}

/// Attributes as one JSON object (`{"key": value}`).
pub fn attributes_json(attrs: &[KeyValue]) -> Json {
    Json::Object(attrs.iter().map(|kv| (kv.key.to_string(), value_json(&kv.value))).collect::<Map<_, _>>())
}

/// One span as a JSON object (hex ids, lowerCamelCase keys as in OTLP/JSON).
pub fn span_json(s: &SpanData) -> Json {
    let kind = match s.kind {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    };
    let (status, message) = match &s.status {
        Status::Unset => ("unset", None),
        Status::Ok => ("ok", None),
        Status::Error { message } => ("error", Some(message.as_ref())),
    };
    json!({
        "traceId": s.context.trace_id.to_string(),
        "spanId": s.context.span_id.to_string(),
        "parentSpanId": if s.parent_span_id.is_valid() { s.parent_span_id.to_string() } else { String::new() },
        "name": s.name,
        "kind": kind,
        "startTimeUnixNano": s.start_unix_nanos,
        "endTimeUnixNano": s.end_unix_nanos,
        "attributes": attributes_json(&s.attributes),
        "events": s.events.iter().map(|e| json!({"name": e.name, "timeUnixNano": e.time_unix_nanos, "attributes": attributes_json(&e.attributes)})).collect::<Vec<_>>(),
        "links": s.links.iter().map(|l| json!({"traceId": l.context.trace_id.to_string(), "spanId": l.context.span_id.to_string(), "attributes": attributes_json(&l.attributes)})).collect::<Vec<_>>(),
        "status": {"code": status, "message": message},
        "droppedAttributesCount": s.dropped_attributes,
        "droppedEventsCount": s.dropped_events,
        "droppedLinksCount": s.dropped_links,
        "scope": s.scope.name,
        "service": s.resource.service_name(),
    })
}

impl SpanExporter for JsonLinesExporter {
    fn export(&self, batch: &[Box<SpanData>]) -> Result<()> {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::new();
        for s in batch {
            text.push_str(&span_json(s).to_string());
            text.push('\n');
        }
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Export { exporter: "json-lines".into(), reason: e.to_string() })
    }
}
