//! What an OTLP request will cost in memory once decoded, found by walking
//! its bytes before decoding them.
//!
//! A few bytes on the wire can decode into far more memory: an empty span
//! in a repeated field is two bytes of protobuf and a few hundred bytes of
//! struct; a packed varint of one byte becomes an eight-byte `u64`. So the
//! hub prices a body before it decodes it, and refuses one whose decoded
//! form would exceed its per-request budget. The protobuf walk follows the
//! OTLP schema (field numbers and kinds of every message) and adds what
//! prost will allocate: each struct, each string and byte field, each
//! vector element, with vectors' growth counted at twice their length. It
//! reads the bytes once and allocates nothing. JSON bodies are priced by
//! their objects and arrays, each at the size of the largest OTLP struct.

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

use crate::Signal;

/// Nesting deeper than prost accepts.
const MAX_DEPTH: u32 = 100;

/// What a field holds.
#[derive(Clone, Copy)]
enum Kind {
    /// A message (singular: its struct is inline in the parent's).
    Msg(&'static Schema),
    /// A string or bytes.
    Bytes,
    /// A scalar that may repeat, packed or not: its element's size in
    /// memory and its wire width (0 for varints).
    Scalars { elem: usize, width: usize },
}

/// One message type: its struct's size and its fields that cost memory
/// (scalars that do not repeat cost nothing beyond the struct).
struct Schema {
    size: usize,
    fields: &'static [(u32, Kind, bool)],
}

impl Schema {
    fn field(&self, number: u32) -> Option<(Kind, bool)> {
        self.fields.iter().find(|f| f.0 == number).map(|f| (f.1, f.2))
    }
}

macro_rules! schema {
    ($name:ident: $t:ty { $($n:literal => $kind:expr, $rep:literal);* $(;)? }) => {
        static $name: Schema = Schema { size: size_of::<$t>(), fields: &[$(($n, $kind, $rep)),*] };
    };
}

use Kind::{Bytes as B, Msg as M};

schema!(ANY_VALUE: AnyValue { 1 => B, false; 5 => M(&ARRAY_VALUE), false; 6 => M(&KV_LIST), false; 7 => B, false });
schema!(ARRAY_VALUE: ArrayValue { 1 => M(&ANY_VALUE), true });
schema!(KV_LIST: KeyValueList { 1 => M(&KEY_VALUE), true });
schema!(KEY_VALUE: KeyValue { 1 => B, false; 2 => M(&ANY_VALUE), false });
schema!(ENTITY_REF: EntityRef { 1 => B, false; 2 => B, false; 3 => B, true; 4 => B, true });
schema!(RESOURCE: Resource { 1 => M(&KEY_VALUE), true; 3 => M(&ENTITY_REF), true });
schema!(SCOPE: InstrumentationScope { 1 => B, false; 2 => B, false; 3 => M(&KEY_VALUE), true });

schema!(TRACES: ExportTraceServiceRequest { 1 => M(&RESOURCE_SPANS), true });
schema!(RESOURCE_SPANS: ResourceSpans { 1 => M(&RESOURCE), false; 2 => M(&SCOPE_SPANS), true; 3 => B, false });
schema!(SCOPE_SPANS: ScopeSpans { 1 => M(&SCOPE), false; 2 => M(&SPAN), true; 3 => B, false });
schema!(SPAN: Span {
    1 => B, false; 2 => B, false; 3 => B, false; 4 => B, false; 5 => B, false;
    9 => M(&KEY_VALUE), true; 11 => M(&SPAN_EVENT), true; 13 => M(&SPAN_LINK), true; 15 => M(&STATUS), false
});
schema!(SPAN_EVENT: span::Event { 2 => B, false; 3 => M(&KEY_VALUE), true });
schema!(SPAN_LINK: span::Link { 1 => B, false; 2 => B, false; 3 => B, false; 4 => M(&KEY_VALUE), true });
schema!(STATUS: Status { 2 => B, false });

schema!(LOGS: ExportLogsServiceRequest { 1 => M(&RESOURCE_LOGS), true });
schema!(RESOURCE_LOGS: ResourceLogs { 1 => M(&RESOURCE), false; 2 => M(&SCOPE_LOGS), true; 3 => B, false });
schema!(SCOPE_LOGS: ScopeLogs { 1 => M(&SCOPE), false; 2 => M(&LOG_RECORD), true; 3 => B, false });
schema!(LOG_RECORD: LogRecord {
    3 => B, false; 5 => M(&ANY_VALUE), false; 6 => M(&KEY_VALUE), true; 9 => B, false; 10 => B, false; 12 => B, false
});

const F64S: Kind = Kind::Scalars { elem: 8, width: 8 };
const U64_VARINTS: Kind = Kind::Scalars { elem: 8, width: 0 };

schema!(METRICS: ExportMetricsServiceRequest { 1 => M(&RESOURCE_METRICS), true });
schema!(RESOURCE_METRICS: ResourceMetrics { 1 => M(&RESOURCE), false; 2 => M(&SCOPE_METRICS), true; 3 => B, false });
schema!(SCOPE_METRICS: ScopeMetrics { 1 => M(&SCOPE), false; 2 => M(&METRIC), true; 3 => B, false });
schema!(METRIC: Metric {
    1 => B, false; 2 => B, false; 3 => B, false; 12 => M(&KEY_VALUE), true;
    5 => M(&GAUGE), false; 7 => M(&SUM), false; 9 => M(&HISTOGRAM), false; 10 => M(&EXP_HISTOGRAM), false;
    11 => M(&SUMMARY), false
});
schema!(GAUGE: Gauge { 1 => M(&NUMBER_POINT), true });
schema!(SUM: Sum { 1 => M(&NUMBER_POINT), true });
schema!(HISTOGRAM: Histogram { 1 => M(&HISTOGRAM_POINT), true });
schema!(EXP_HISTOGRAM: ExponentialHistogram { 1 => M(&EXP_POINT), true });
schema!(SUMMARY: Summary { 1 => M(&SUMMARY_POINT), true });
schema!(NUMBER_POINT: NumberDataPoint { 7 => M(&KEY_VALUE), true; 5 => M(&EXEMPLAR), true });
schema!(HISTOGRAM_POINT: HistogramDataPoint {
    9 => M(&KEY_VALUE), true; 6 => F64S, true; 7 => F64S, true; 8 => M(&EXEMPLAR), true
});
schema!(EXP_POINT: ExponentialHistogramDataPoint {
    1 => M(&KEY_VALUE), true; 8 => M(&EXP_BUCKETS), false; 9 => M(&EXP_BUCKETS), false; 11 => M(&EXEMPLAR), true
});
schema!(EXP_BUCKETS: Buckets { 2 => U64_VARINTS, true });
schema!(SUMMARY_POINT: SummaryDataPoint { 7 => M(&KEY_VALUE), true; 6 => M(&QUANTILE), true });
schema!(QUANTILE: opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile {});
schema!(EXEMPLAR: Exemplar { 7 => M(&KEY_VALUE), true; 4 => B, false; 5 => B, false });

/// Why a body could not be priced: it is not valid protobuf (the decoder
/// would refuse it too), or it nests too deep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The bytes `body` (protobuf) will take once decoded as the export
/// request of `signal`, or an error when it is not well-formed protobuf.
/// Cost: one pass over the bytes, no allocation.
///
/// # Errors
///
/// [`Malformed`] for a truncated varint or length, a length past the end,
/// an unknown wire type, or nesting deeper than prost allows.
pub fn decoded_cost(signal: Signal, body: &[u8]) -> Result<usize, Malformed> {
    let schema = match signal {
        Signal::Traces => &TRACES,
        Signal::Metrics => &METRICS,
        Signal::Logs => &LOGS,
    };
    Ok(schema.size + heap(body, schema, 0)?)
}

/// An upper bound of the bytes a JSON body takes once decoded: every
/// object and array counted at twice the largest OTLP struct (a vector's
/// slot and growth), plus the body's own bytes for the strings it holds.
pub fn json_cost(body: &[u8]) -> usize {
    let mut containers = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => containers += 1,
                _ => {}
            }
        }
    }
    containers.saturating_mul(2 * largest_struct()).saturating_add(body.len())
}

fn largest_struct() -> usize {
    [
        size_of::<Span>(),
        size_of::<LogRecord>(),
        size_of::<Metric>(),
        size_of::<ExponentialHistogramDataPoint>(),
        size_of::<HistogramDataPoint>(),
        size_of::<KeyValue>(),
    ]
    .into_iter()
    .max()
    .unwrap_or(256)
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let b = *bytes.get(*at).ok_or(Malformed)?;
        *at += 1;
        if shift == 63 && b > 1 {
            return Err(Malformed);
        }
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

/// Heap bytes owned by one message of `schema` whose fields are `bytes`.
fn heap(bytes: &[u8], schema: &Schema, depth: u32) -> Result<usize, Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed);
    }
    let mut at = 0;
    let mut cost = 0usize;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (number, wire) = ((key >> 3) as u32, key & 7);
        let field = schema.field(number);
        let add = match wire {
            0 => {
                varint(bytes, &mut at)?;
                match field {
                    Some((Kind::Scalars { elem, .. }, true)) => 2 * elem,
                    _ => 0,
                }
            }
            1 | 5 => {
                at += if wire == 1 { 8 } else { 4 };
                if at > bytes.len() {
                    return Err(Malformed);
                }
                match field {
                    Some((Kind::Scalars { elem, .. }, true)) => 2 * elem,
                    _ => 0,
                }
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).map_err(|_| Malformed)?;
                let end = at.checked_add(len).filter(|e| *e <= bytes.len()).ok_or(Malformed)?;
                let inner = &bytes[at..end];
                at = end;
                match field {
                    None => 0,
                    Some((Kind::Bytes, false)) => len,
                    Some((Kind::Bytes, true)) => 2 * size_of::<String>() + len,
                    Some((Kind::Msg(sub), repeated)) => {
                        let slot = if repeated { 2 * sub.size } else { 0 };
                        slot + heap(inner, sub, depth + 1)?
                    }
                    Some((Kind::Scalars { elem, width }, _)) => {
                        let count =
                            len.checked_div(width).unwrap_or_else(|| inner.iter().filter(|b| *b & 0x80 == 0).count());
                        2 * elem * count
                    }
                }
            }
            _ => return Err(Malformed),
        };
        cost = cost.saturating_add(add);
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::heap_bytes;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use prost::Message;

    fn span(name: &str, attributes: usize) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: name.into(),
            attributes: (0..attributes)
                .map(|i| KeyValue {
                    key: format!("k{i}"),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("v".repeat(i))) }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    /// The estimate bounds what decoding really holds (vectors at exact
    /// length, so at most twice), and is not absurdly above it.
    #[test]
    fn the_estimate_bounds_the_decoded_size() {
        for request in [traces(vec![span("a", 0)]), traces((0..50).map(|i| span("s", i)).collect())] {
            let body = request.encode_to_vec();
            let estimate = decoded_cost(Signal::Traces, &body).unwrap();
            let decoded = ExportTraceServiceRequest::decode(&body[..]).unwrap();
            let held: usize = size_of::<ExportTraceServiceRequest>()
                + decoded
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .flat_map(|s| &s.spans)
                    .map(heap_bytes::span)
                    .sum::<usize>();
            assert!(estimate >= held, "estimate {estimate} < held {held}");
            assert!(estimate <= 4 * held + 4096, "estimate {estimate} far above {held}");
        }
    }

    /// Two bytes per empty span on the wire, hundreds in memory: the price
    /// shows it before anything is decoded.
    #[test]
    fn empty_items_are_priced_at_their_struct() {
        let request = traces(vec![Span::default(); 10_000]);
        let body = request.encode_to_vec();
        assert!(body.len() < 30_000, "{}", body.len());
        let estimate = decoded_cost(Signal::Traces, &body).unwrap();
        assert!(estimate >= 10_000 * size_of::<Span>(), "{estimate}");
        // JSON: `{}` per span is priced the same way.
        let json =
            format!("{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{}]}}]}}]}}", vec!["{}"; 10_000].join(","));
        assert!(json_cost(json.as_bytes()) >= 10_000 * size_of::<Span>());
        assert!(json_cost(br#"{"a":"{{{{[[[["}"#) < 2 * 2 * largest_struct(), "brackets in strings do not count");
    }

    #[test]
    fn packed_varints_count_eight_bytes_each() {
        let point = ExponentialHistogramDataPoint {
            positive: Some(Buckets { offset: 0, bucket_counts: vec![1; 1000] }),
            ..Default::default()
        };
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        data: Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::ExponentialHistogram(
                            ExponentialHistogram { data_points: vec![point], aggregation_temporality: 2 },
                        )),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let body = request.encode_to_vec();
        assert!(decoded_cost(Signal::Metrics, &body).unwrap() >= 8_000);
    }

    #[test]
    fn malformed_and_too_deep_bodies_are_refused() {
        assert_eq!(decoded_cost(Signal::Traces, &[0x0a, 0xff, 0xff, 0xff, 0x0f]), Err(Malformed));
        assert_eq!(decoded_cost(Signal::Traces, &[0x0a, 0x05, 0x00]), Err(Malformed));
        assert_eq!(decoded_cost(Signal::Traces, &[0x0b]), Err(Malformed), "groups are not OTLP");
        assert_eq!(decoded_cost(Signal::Traces, &[]), Ok(size_of::<ExportTraceServiceRequest>()));
        // An attribute value nested in arrays 200 deep.
        let mut value = AnyValue { value: Some(any_value::Value::IntValue(1)) };
        for _ in 0..200 {
            value = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![value] })) };
        }
        let mut s = span("deep", 0);
        s.attributes.push(KeyValue { key: "k".into(), value: Some(value), ..Default::default() });
        let body = traces(vec![s]).encode_to_vec();
        assert_eq!(decoded_cost(Signal::Traces, &body), Err(Malformed));
    }
}
