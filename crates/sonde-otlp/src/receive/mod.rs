//! The receiving side, for a hub: decoding OTLP/HTTP bodies, folding OTLP
//! metrics into a Sonde registry, turning log records into Sonde events,
//! and keeping received spans in a bounded store.
//!
//! All input here is untrusted: bodies are size-capped (compressed and
//! decompressed) and priced before decoding ([`decoded_cost`]), items are
//! cut to [`ItemLimits`], stores count the memory items hold
//! ([`heap_bytes`]), metric names and attributes are sanitised and capped,
//! and every refused item is counted by reason.

mod body;
pub mod heap_bytes;
mod limits;
mod logs;
mod metrics;
mod scan;
mod store;

pub use body::{
    decode_request, decode_unpacked, encode_response, price, unpack, BodyError, Encoding, MAX_BODY, MAX_DECODED,
};
pub use limits::{limit_attributes, limit_log_record, limit_span, ItemLimits, Trimmed};
pub use logs::{event_from, events_from};
pub use metrics::{point_count, MetricIngest, MAX_METRIC_NAMES, MAX_TRACKED_SERIES};
pub use scan::{decoded_cost, json_cost, Malformed};
pub use store::{StoredSpan, TraceStore};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};

/// An attribute value as text (labels, summaries): strings as they are,
/// numbers and booleans spelled out, arrays and maps as JSON.
pub fn value_text(v: Option<&AnyValue>) -> String {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => d.to_string(),
        Some(V::BytesValue(b)) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// The `service.name` among resource attributes (`unknown_service` if none).
pub fn service_name(attributes: &[KeyValue]) -> String {
    attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .map(|kv| value_text(kv.value.as_ref()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown_service".into())
}
