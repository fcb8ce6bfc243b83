//! Finished spans as an `ExportTraceServiceRequest`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use sonde::trace::{SpanContext, SpanData, SpanKind, Status as SondeStatus};

use super::common::{attributes, key_value, scope, string};

/// OTLP's `SpanFlags`: the W3C flags byte, plus whether the parent (or the
/// linked span) is known to be remote.
fn flags(context: &SpanContext, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    context.flags.to_byte() as u32 | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn span(s: &SpanData) -> Span {
    let kind = match s.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    let status = match &s.status {
        SondeStatus::Unset => None,
        SondeStatus::Ok => Some(Status { code: status::StatusCode::Ok as i32, message: String::new() }),
        SondeStatus::Error { message } => {
            Some(Status { code: status::StatusCode::Error as i32, message: message.to_string() })
        }
    };
    Span {
        trace_id: s.context.trace_id.to_bytes().to_vec(),
        span_id: s.context.span_id.to_bytes().to_vec(),
        trace_state: s.context.state.to_header(),
        parent_span_id: if s.parent_span_id.is_valid() { s.parent_span_id.to_bytes().to_vec() } else { Vec::new() },
        flags: flags(&s.context, s.parent_remote),
        name: s.name.to_string(),
        kind: kind as i32,
        start_time_unix_nano: s.start_unix_nanos,
        end_time_unix_nano: s.end_unix_nanos,
        attributes: attributes(&s.attributes),
        dropped_attributes_count: s.dropped_attributes,
        events: s
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.to_string(),
                attributes: attributes(&e.attributes),
                dropped_attributes_count: e.dropped_attributes,
            })
            .collect(),
        dropped_events_count: s.dropped_events,
        links: s
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
            .collect(),
        dropped_links_count: s.dropped_links,
        status,
    }
}

/// Groups `spans` by resource and instrumentation scope. `extra` resource
/// attributes (configured on the exporter) are added where the span's own
/// resource lacks them.
pub fn traces_request<'a>(
    spans: impl IntoIterator<Item = &'a SpanData>,
    extra: &[(String, String)],
) -> ExportTraceServiceRequest {
    let mut out: Vec<ResourceSpans> = Vec::new();
    // Resources and scopes are interned ('static), so pointers identify them.
    let mut index: Vec<(*const sonde::trace::Resource, Vec<*const sonde::trace::Scope>)> = Vec::new();
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
                out.push(ResourceSpans {
                    resource: Some(Resource { attributes: attrs, ..Default::default() }),
                    ..Default::default()
                });
                index.push((r, Vec::new()));
                out.len() - 1
            }
        };
        let sc = s.scope as *const _;
        let scopes = &mut index[ri].1;
        let si = match scopes.iter().position(|p| *p == sc) {
            Some(i) => i,
            None => {
                scopes.push(sc);
                out[ri].scope_spans.push(ScopeSpans { scope: Some(scope(&s.scope.name)), ..Default::default() });
                scopes.len() - 1
            }
        };
        out[ri].scope_spans[si].spans.push(span(s));
    }
    ExportTraceServiceRequest { resource_spans: out }
}

#[cfg(test)]
mod tests {
    use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};

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
