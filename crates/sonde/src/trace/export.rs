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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{SimpleProcessor, TracerProvider};

    /// A writer whose bytes the test can read back, or one that fails.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>, bool);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.1 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_every_field_and_write_errors_are_reported() {
        let out = Shared::default();
        let provider =
            TracerProvider::builder().processor(SimpleProcessor::new(JsonLinesExporter::new(out.clone()))).build();
        let tracer = provider.tracer("scope-a");
        let parent = tracer.span("parent").kind(SpanKind::Server).start();
        let mut child = tracer.span("child").kind(SpanKind::Client).parent(parent.context()).start();
        child.set_attribute("s", "x");
        child.set_attribute("b", true);
        child.set_attribute("i", 3i64);
        child.set_attribute("f", 0.5);
        child.set_attribute("nan", f64::NAN);
        child.set_attribute("sa", vec!["a", "b"]);
        child.set_attribute("ba", vec![true]);
        child.set_attribute("ia", vec![1i64, 2]);
        child.set_attribute("fa", vec![1.5]);
        child.add_event("retry", [KeyValue::new("attempt", 2i64)]);
        child.add_link(parent.context().clone(), [KeyValue::new("why", "caused")]);
        child.set_status(Status::Error { message: "boom".into() });
        child.end();
        drop(parent);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        let (c, p) = (&lines[0], &lines[1]);
        assert_eq!(
            (c["name"].as_str(), c["kind"].as_str(), p["kind"].as_str()),
            (Some("child"), Some("client"), Some("server"))
        );
        assert_eq!(c["parentSpanId"], p["spanId"]);
        assert_eq!(p["parentSpanId"], "");
        assert_eq!(
            c["attributes"],
            json!({"s": "x", "b": true, "i": 3, "f": 0.5, "nan": null, "sa": ["a", "b"], "ba": [true], "ia": [1, 2], "fa": [1.5]})
        );
        assert_eq!(c["events"][0]["attributes"]["attempt"], 2);
        assert_eq!(c["links"][0]["spanId"], p["spanId"]);
        assert_eq!(c["status"], json!({"code": "error", "message": "boom"}));
        assert_eq!(c["scope"], "scope-a");

        let mem = InMemoryExporter::default();
        let p = TracerProvider::builder().processor(SimpleProcessor::new(mem.clone())).build();
        p.tracer("t").start("y").end();
        let failing = JsonLinesExporter::new(Shared(Arc::default(), true));
        let err = failing.export(&[Box::new(mem.spans().remove(0))]).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }

    #[test]
    fn in_memory_keeps_and_clears() {
        let mem = InMemoryExporter::new();
        let provider = TracerProvider::builder().processor(SimpleProcessor::new(mem.clone())).build();
        provider.tracer("t").start("a").end();
        assert_eq!(mem.spans().len(), 1);
        mem.clear();
        assert!(mem.spans().is_empty());
    }
}
