//! Finished spans as an `ExportTraceServiceRequest`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use sonde::trace::{KeyValue as SondeKeyValue, SpanContext, SpanData, SpanKind, Status as SondeStatus, Value};

use super::common::{attributes, key_value, scope, string, value};

/// OTLP's `SpanFlags`: the W3C flags byte, plus whether the parent (or the
/// linked span) is known to be remote.
fn flags(context: &SpanContext, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    context.flags.to_byte() as u32 | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn set_str(dst: &mut String, s: &str) {
    dst.clear();
    dst.push_str(s);
}

fn set_bytes(dst: &mut Vec<u8>, b: &[u8]) {
    dst.clear();
    dst.extend_from_slice(b);
}

/// `src` written over `dst`, reusing its strings and vectors.
fn fill_attributes(dst: &mut Vec<KeyValue>, src: &[SondeKeyValue]) {
    dst.truncate(src.len());
    for (i, kv) in src.iter().enumerate() {
        if i == dst.len() {
            dst.push(KeyValue::default());
        }
        let d = &mut dst[i];
        set_str(&mut d.key, &kv.key);
        match (&kv.value, d.value.as_mut().and_then(|v| v.value.as_mut())) {
            (Value::Str(s), Some(any_value::Value::StringValue(existing))) => set_str(existing, s),
            (v, _) => d.value = Some(value(v)),
        }
    }
}

/// `s` written over `dst`, reusing its allocations (steady-state export
/// allocates almost nothing for the tree).
fn fill_span(dst: &mut Span, s: &SpanData) {
    let kind = match s.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    dst.status = match &s.status {
        SondeStatus::Unset => None,
        SondeStatus::Ok => Some(Status { code: status::StatusCode::Ok as i32, message: String::new() }),
        SondeStatus::Error { message } => {
            Some(Status { code: status::StatusCode::Error as i32, message: message.to_string() })
        }
    };
    set_bytes(&mut dst.trace_id, &s.context.trace_id.to_bytes());
    set_bytes(&mut dst.span_id, &s.context.span_id.to_bytes());
    if s.context.state.is_empty() {
        dst.trace_state.clear();
    } else {
        dst.trace_state = s.context.state.to_header();
    }
    if s.parent_span_id.is_valid() {
        set_bytes(&mut dst.parent_span_id, &s.parent_span_id.to_bytes());
    } else {
        dst.parent_span_id.clear();
    }
    dst.flags = flags(&s.context, s.parent_remote);
    set_str(&mut dst.name, &s.name);
    dst.kind = kind as i32;
    dst.start_time_unix_nano = s.start_unix_nanos;
    dst.end_time_unix_nano = s.end_unix_nanos;
    fill_attributes(&mut dst.attributes, &s.attributes);
    dst.dropped_attributes_count = s.dropped_attributes;
    dst.events.truncate(s.events.len());
    for (i, e) in s.events.iter().enumerate() {
        if i == dst.events.len() {
            dst.events.push(span::Event::default());
        }
        let d = &mut dst.events[i];
        d.time_unix_nano = e.time_unix_nanos;
        set_str(&mut d.name, &e.name);
        fill_attributes(&mut d.attributes, &e.attributes);
        d.dropped_attributes_count = e.dropped_attributes;
    }
    dst.dropped_events_count = s.dropped_events;
    dst.links = s
        .links
        .iter()
        .map(|l| span::Link {
            trace_id: l.context.trace_id.to_bytes().to_vec(),
            span_id: l.context.span_id.to_bytes().to_vec(),
            trace_state: l.context.state.to_header(),
            attributes: attributes(&l.attributes),
            dropped_attributes_count: l.dropped_attributes,
            flags: flags(&l.context, l.context.remote),
        })
        .collect();
    dst.dropped_links_count = s.dropped_links;
}

/// Groups `spans` by resource and instrumentation scope. `extra` resource
/// attributes (configured on the exporter) are added where the span's own
/// resource lacks them.
pub fn traces_request<'a>(
    spans: impl IntoIterator<Item = &'a SpanData>,
    extra: &[(String, String)],
) -> ExportTraceServiceRequest {
    let mut out = ExportTraceServiceRequest::default();
    fill_request(&mut out, spans, extra);
    out
}

/// Builds trace requests over the previous one, reusing its strings and
/// vectors, so a steady stream of batches allocates almost nothing for the
/// message tree (what [`crate::OtlpSpanExporter`] does between batches).
#[derive(Debug, Default)]
pub struct TraceEncoder(ExportTraceServiceRequest);

impl TraceEncoder {
    /// The request for `spans` (see [`traces_request`]).
    pub fn encode<'a>(
        &mut self,
        spans: impl IntoIterator<Item = &'a SpanData>,
        extra: &[(String, String)],
    ) -> &ExportTraceServiceRequest {
        fill_request(&mut self.0, spans, extra);
        &self.0
    }
}

/// Like [`traces_request`], written over an earlier request.
fn fill_request<'a>(
    out: &mut ExportTraceServiceRequest,
    spans: impl IntoIterator<Item = &'a SpanData>,
    extra: &[(String, String)],
) {
    // Resources and scopes are interned ('static), so pointers identify them.
    let mut index: Vec<(*const sonde::trace::Resource, Vec<(*const sonde::trace::Scope, usize)>)> = Vec::new();
    let mut used: Vec<Vec<usize>> = Vec::new(); // spans written per (resource, scope)
    for s in spans {
        let r = s.resource as *const _;
        let ri = match index.iter().position(|(p, _)| *p == r) {
            Some(i) => i,
            None => {
                let mut attrs = attributes(&s.resource.attributes);
                for (k, v) in extra {
                    if !attrs.iter().any(|a| a.key == *k) {
                        attrs.push(key_value(k, string(v)));
                    }
                }
                let i = index.len();
                if i == out.resource_spans.len() {
                    out.resource_spans.push(ResourceSpans::default());
                }
                out.resource_spans[i].resource = Some(Resource { attributes: attrs, ..Default::default() });
                index.push((r, Vec::new()));
                used.push(Vec::new());
                i
            }
        };
        let sc = s.scope as *const _;
        let si = match index[ri].1.iter().position(|(p, _)| *p == sc) {
            Some(i) => i,
            None => {
                let i = index[ri].1.len();
                let scopes = &mut out.resource_spans[ri].scope_spans;
                if i == scopes.len() {
                    scopes.push(ScopeSpans::default());
                }
                scopes[i].scope = Some(scope(&s.scope.name));
                index[ri].1.push((sc, 0));
                used[ri].push(0);
                i
            }
        };
        let n = used[ri][si];
        let spans = &mut out.resource_spans[ri].scope_spans[si].spans;
        if n == spans.len() {
            spans.push(Span::default());
        }
        fill_span(&mut spans[n], s);
        used[ri][si] += 1;
    }
    out.resource_spans.truncate(index.len());
    for (ri, rs) in out.resource_spans.iter_mut().enumerate() {
        rs.scope_spans.truncate(used[ri].len());
        for (si, ss) in rs.scope_spans.iter_mut().enumerate() {
            ss.spans.truncate(used[ri][si]);
        }
    }
}

#[cfg(test)]
mod tests {
    use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};

    /// Reusing the previous request gives the same bytes as building anew,
    /// whatever the previous batch held (more spans, attributes, events,
    /// other scopes and resources).
    #[test]
    fn reuse_matches_a_fresh_build() {
        use prost::Message;
        let mem = InMemoryExporter::default();
        let a = TracerProvider::builder().service_name("a").processor(SimpleProcessor::new(mem.clone())).build();
        let b = TracerProvider::builder().service_name("b").processor(SimpleProcessor::new(mem.clone())).build();
        for i in 0..6i64 {
            let t = if i % 2 == 0 { a.tracer("one") } else { b.tracer("two") };
            let mut s = t.start(format!("op{i}"));
            for k in 0..i {
                s.set_attribute(format!("k{k}"), if k % 2 == 0 { sonde::trace::Value::from(k) } else { "text".into() });
            }
            if i % 3 == 0 {
                s.add_event("e", [sonde::trace::KeyValue::new("x", i)]);
            }
        }
        let spans = mem.spans();
        let extra = [("team".to_string(), "core".to_string())];
        let mut encoder = super::TraceEncoder::default();
        for batch in [&spans[..], &spans[..1], &spans[2..], &spans[..0], &spans[1..4]] {
            let reused = encoder.encode(batch.iter(), &extra).encode_to_vec();
            assert_eq!(reused, super::traces_request(batch.iter(), &extra).encode_to_vec(), "{} spans", batch.len());
        }
    }

    /// OTLP/JSON: hex ids (not protobuf JSON's base64), lowerCamelCase keys,
    /// enums as integers, 64-bit integers as strings.
    #[test]
    fn json_uses_hex_ids_and_lower_camel_case() {
        let mem = InMemoryExporter::default();
        let provider = TracerProvider::builder().processor(SimpleProcessor::new(mem.clone())).build();
        let tracer = provider.tracer("t");
        tracer.in_span("parent", |_| tracer.start("child").end());
        let spans = mem.spans();
        let request = super::traces_request(spans.iter(), &[]);
        let json = serde_json::to_value(&request).unwrap();
        let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], spans[0].context.trace_id.to_string().as_str());
        assert_eq!(span["spanId"], spans[0].context.span_id.to_string().as_str());
        assert_eq!(span["parentSpanId"], spans[1].context.span_id.to_string().as_str());
        assert!(span["startTimeUnixNano"].is_string());
        assert_eq!(span["kind"], 1);
        let text = json.to_string();
        assert!(!text.contains("trace_id") && !text.contains("resource_spans"), "{text}");
    }
}
