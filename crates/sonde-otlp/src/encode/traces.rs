//! Finished spans as an `ExportTraceServiceRequest`, written straight to
//! protobuf bytes.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span, status};
use sonde::trace::{Resource, Scope, SpanContext, SpanData, SpanKind, Status as SondeStatus};

use super::common::{write_attributes, write_scope, write_string_attribute};
use super::wire::Wire;

/// OTLP's `SpanFlags`: the W3C flags byte, plus whether the parent (or the
/// linked span) is known to be remote.
fn flags(context: &SpanContext, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    context.flags.to_byte() as u32 | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

/// One `Span`, fields in prost's order (by number).
fn write_span(w: &mut Wire<'_>, s: &SpanData) {
    let kind = match s.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    w.bytes(1, &s.context.trace_id.to_bytes());
    w.bytes(2, &s.context.span_id.to_bytes());
    if !s.context.state.is_empty() {
        w.string(3, &s.context.state.to_header());
    }
    if s.parent_span_id.is_valid() {
        w.bytes(4, &s.parent_span_id.to_bytes());
    }
    w.string(5, &s.name);
    w.int64(6, kind as i64);
    w.fixed64(7, s.start_unix_nanos);
    w.fixed64(8, s.end_unix_nanos);
    write_attributes(w, 9, &s.attributes);
    w.uint64(10, s.dropped_attributes.into());
    for e in &s.events {
        // Span.Event
        w.message(11, |w| {
            w.fixed64(1, e.time_unix_nanos);
            w.string(2, &e.name);
            write_attributes(w, 3, &e.attributes);
            w.uint64(4, e.dropped_attributes.into());
        });
    }
    w.uint64(12, s.dropped_events.into());
    for l in &s.links {
        // Span.Link
        w.message(13, |w| {
            w.bytes(1, &l.context.trace_id.to_bytes());
            w.bytes(2, &l.context.span_id.to_bytes());
            if !l.context.state.is_empty() {
                w.string(3, &l.context.state.to_header());
            }
            write_attributes(w, 4, &l.attributes);
            w.uint64(5, l.dropped_attributes.into());
            w.fixed32(6, flags(&l.context, l.context.remote));
        });
    }
    w.uint64(14, s.dropped_links.into());
    match &s.status {
        SondeStatus::Unset => {}
        SondeStatus::Ok => w.message(15, |w| w.int64(3, status::StatusCode::Ok as i64)),
        SondeStatus::Error { message } => w.message(15, |w| {
            w.string(2, message);
            w.int64(3, status::StatusCode::Error as i64);
        }),
    }
    w.fixed32(16, flags(&s.context, s.parent_remote));
}

/// Groups `spans` by resource and instrumentation scope. `extra` resource
/// attributes (configured on the exporter) are added where the span's own
/// resource lacks them. A message tree, for inspection and OTLP/JSON (the
/// exporter sends the bytes of [`TraceEncoder::encode`]).
pub fn traces_request<'a, I>(spans: I, extra: &[(String, String)]) -> ExportTraceServiceRequest
where
    I: IntoIterator<Item = &'a SpanData>,
    I::IntoIter: Clone,
{
    let mut encoder = TraceEncoder::default();
    super::decode_own(encoder.encode(spans, extra))
}

/// Writes trace requests into one buffer, reused from batch to batch with
/// the grouping's lists, so a steady stream of batches allocates nothing
/// but tracestate headers (what [`crate::OtlpSpanExporter`] does).
#[derive(Debug, Default)]
pub struct TraceEncoder {
    buf: Vec<u8>,
    /// Each span's (resource, scope) group, by position in the batch.
    group_of: Vec<u32>,
    /// The batch's resources, in order of first appearance.
    resources: Vec<&'static Resource>,
    /// The batch's (resource, scope) groups, in order of first appearance.
    groups: Vec<(usize, &'static Scope)>,
}

impl TraceEncoder {
    /// The protobuf bytes of the request for `spans`, grouped by resource
    /// and scope as [`traces_request`] says.
    /// The spans are walked once to group them and once per group to write
    /// them, hence the `Clone` iterator (a slice's, or a map over one).
    pub fn encode<'a, I>(&mut self, spans: I, extra: &[(String, String)]) -> &[u8]
    where
        I: IntoIterator<Item = &'a SpanData>,
        I::IntoIter: Clone,
    {
        let spans = spans.into_iter();
        // Resources and scopes are interned ('static), so addresses identify
        // them. A batch holds a few of each, so a linear search is the fast one.
        let Self { buf, group_of, resources, groups } = self;
        resources.clear();
        groups.clear();
        group_of.clear();
        for s in spans.clone() {
            let r = match resources.iter().position(|r| std::ptr::eq(*r, s.resource)) {
                Some(r) => r,
                None => {
                    resources.push(s.resource);
                    resources.len() - 1
                }
            };
            let g = match groups.iter().position(|&(gr, sc)| gr == r && std::ptr::eq(sc, s.scope)) {
                Some(g) => g,
                None => {
                    groups.push((r, s.scope));
                    groups.len() - 1
                }
            };
            group_of.push(g as u32);
        }
        buf.clear();
        let mut w = Wire::new(buf);
        for (ri, resource) in resources.iter().enumerate() {
            // ExportTraceServiceRequest.resource_spans
            w.large_message(1, |w| {
                // ResourceSpans.resource
                w.message(1, |w| {
                    write_attributes(w, 1, &resource.attributes);
                    for (k, v) in extra {
                        if !resource.attributes.iter().any(|a| a.key == *k) {
                            write_string_attribute(w, 1, k, v);
                        }
                    }
                });
                for (gi, (_, scope)) in groups.iter().enumerate().filter(|(_, (gr, _))| *gr == ri) {
                    // ResourceSpans.scope_spans
                    w.large_message(2, |w| {
                        w.message(1, |w| write_scope(w, &scope.name));
                        for (s, _) in spans.clone().zip(&*group_of).filter(|(_, g)| **g as usize == gi) {
                            w.message(2, |w| write_span(w, s));
                        }
                    });
                }
            });
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};

    /// Reusing the buffer gives the same bytes whatever the previous batch
    /// held (more spans, attributes, events, other scopes and resources),
    /// and the bytes are canonical: decoded and encoded again by prost they
    /// stay the same (nothing lost, fields in prost's order).
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
            if i == 1 {
                let linked = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
                let mut context = sonde::trace::propagation::parse_traceparent(linked).unwrap();
                context.state = sonde::trace::TraceState::parse("a=1,b=2").unwrap();
                s.add_link(context, [sonde::trace::KeyValue::new("why", "retry")]);
                s.set_attribute("tags", vec!["x", "y"]);
                s.set_attribute("ratio", 0.5);
                s.set_attribute("ok", true);
                s.set_status(sonde::trace::Status::Error { message: "boom".into() });
            }
            if i == 2 {
                s.set_status(sonde::trace::Status::Ok);
            }
        }
        let spans = mem.spans();
        let extra = [("team".to_string(), "core".to_string())];
        let mut encoder = super::TraceEncoder::default();
        for batch in [&spans[..], &spans[..1], &spans[2..], &spans[..0], &spans[1..4]] {
            let reused = encoder.encode(batch.iter(), &extra).to_vec();
            let tree = super::traces_request(batch.iter(), &extra);
            assert_eq!(reused, tree.encode_to_vec(), "{} spans", batch.len());
            assert_eq!(
                tree.resource_spans.iter().map(|r| r.scope_spans.len()).sum::<usize>().min(1),
                batch.len().min(1)
            );
        }
    }

    proptest::proptest! {
        /// Any names, attribute values (NaN and infinities included),
        /// events and statuses give canonical bytes.
        #[test]
        fn any_spans_give_canonical_bytes(
            name in "\\PC{0,30}",
            text in "\\PC{0,30}",
            number in proptest::num::f64::ANY,
            int in proptest::prelude::any::<i64>(),
            flag in proptest::prelude::any::<bool>(),
            events in 0usize..3,
            error in proptest::option::of("\\PC{0,20}"),
        ) {
            use prost::Message;
            let mem = InMemoryExporter::default();
            let provider = TracerProvider::builder().processor(SimpleProcessor::new(mem.clone())).build();
            let mut s = provider.tracer("t").start(name.clone());
            s.set_attribute("text", text.clone());
            s.set_attribute("number", number);
            s.set_attribute("int", int);
            s.set_attribute("flag", flag);
            s.set_attribute("ints", sonde::trace::Value::I64Array(vec![int, 0].into()));
            s.set_attribute("floats", sonde::trace::Value::F64Array(vec![number].into()));
            s.set_attribute("flags", sonde::trace::Value::BoolArray(vec![flag].into()));
            for i in 0..events {
                s.add_event(format!("e{i}"), [sonde::trace::KeyValue::new("t", text.clone())]);
            }
            if let Some(message) = error {
                s.set_status(sonde::trace::Status::Error { message: message.into() });
            }
            drop(s);
            let spans = mem.spans();
            let bytes = super::TraceEncoder::default().encode(spans.iter(), &[]).to_vec();
            let tree = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
            proptest::prop_assert_eq!(tree.encode_to_vec(), bytes);
            let span = &tree.resource_spans[0].scope_spans[0].spans[0];
            proptest::prop_assert_eq!(&span.name, &name);
            proptest::prop_assert_eq!(span.attributes.len(), 7);
            proptest::prop_assert_eq!(span.events.len(), events);
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
