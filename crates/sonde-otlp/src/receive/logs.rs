//! OTLP log records as Sonde events.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use sonde::events::{Event, Severity};
use sonde::trace::{KeyValue, SpanId, TraceId, Value};

use super::{service_name, value_text};

/// Most attributes kept per record; the rest are dropped.
const MAX_ATTRIBUTES: usize = 128;
/// Longest text kept for a name, body or attribute value, in bytes.
const MAX_TEXT: usize = 4096;

fn truncated(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

fn value(v: Option<&AnyValue>) -> Value {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        Some(V::BoolValue(b)) => Value::Bool(*b),
        Some(V::IntValue(i)) => Value::I64(*i),
        Some(V::DoubleValue(d)) => Value::F64(*d),
        _ => Value::from(truncated(value_text(v))),
    }
}

fn severity(number: i32) -> Severity {
    match number {
        1..=4 => Severity::Trace,
        5..=8 => Severity::Debug,
        13..=16 => Severity::Warn,
        17..=20 => Severity::Error,
        21..=24 => Severity::Fatal,
        _ => Severity::Info,
    }
}

/// The records of `request` as events, labelled with their service. Returns
/// the events and how many records were refused (none today: a record with
/// malformed ids keeps its text and loses the ids).
pub fn events_from(request: &ExportLogsServiceRequest) -> Vec<Event> {
    let mut out = Vec::new();
    for rl in &request.resource_logs {
        let service =
            rl.resource.as_ref().map(|r| service_name(&r.attributes)).unwrap_or_else(|| "unknown_service".into());
        for sl in &rl.scope_logs {
            out.extend(sl.log_records.iter().map(|r| event_from(r, vec![("service".into(), service.clone())])));
        }
    }
    out
}

/// One record as an event with `labels`: the event name (else the body) as
/// its name, the attributes as fields (cut to the limits), a body that
/// differs from the event name as the field `body`, valid ids kept.
pub fn event_from(r: &LogRecord, labels: Vec<(String, String)>) -> Event {
    let body = truncated(value_text(r.body.as_ref()));
    let name = if r.event_name.is_empty() { body.clone() } else { truncated(r.event_name.clone()) };
    let mut fields: Vec<KeyValue> = r
        .attributes
        .iter()
        .take(MAX_ATTRIBUTES)
        .map(|kv| KeyValue::new(truncated(kv.key.clone()), value(kv.value.as_ref())))
        .collect();
    if !r.event_name.is_empty() && !body.is_empty() && body != name {
        fields.push(KeyValue::new("body", body));
    }
    let trace_id = <[u8; 16]>::try_from(&r.trace_id[..]).ok().map(TraceId::from_bytes).filter(|t| t.is_valid());
    let span_id = <[u8; 8]>::try_from(&r.span_id[..]).ok().map(SpanId::from_bytes).filter(|s| s.is_valid());
    let time = if r.time_unix_nano != 0 { r.time_unix_nano } else { r.observed_time_unix_nano };
    Event {
        time_unix_nanos: time,
        severity: severity(r.severity_number),
        name,
        fields,
        labels,
        trace_id,
        span_id: span_id.filter(|_| trace_id.is_some()),
    }
}
