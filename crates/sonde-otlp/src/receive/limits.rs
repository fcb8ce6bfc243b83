//! Per-item limits on received spans and log records: attribute, event and
//! link counts as the OpenTelemetry SDK's span limits define them (128
//! each by default), plus bounds on attribute keys, values and nesting,
//! since a receiver cannot trust its senders to have applied any.
//!
//! Dropped attributes, events and links are added to the item's
//! `dropped_*_count`, as OTLP prescribes; truncated values are counted by
//! the caller from what [`Trimmed`] reports. Trimmed vectors are shrunk, so
//! the memory a budget counts is the memory held.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;

/// The limits. [`ItemLimits::default`] gives the values in brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemLimits {
    /// Attributes per span, log record or resource \[128\].
    pub attributes: usize,
    /// Events per span \[128\].
    pub events: usize,
    /// Links per span \[128\].
    pub links: usize,
    /// Attributes per event and per link \[128\].
    pub attributes_per_item: usize,
    /// Longest attribute key in bytes \[256\]: longer (and empty) keys drop
    /// their attribute.
    pub key_len: usize,
    /// Longest string or bytes value in bytes \[4096\], each element of an
    /// array or map included; longer ones are truncated (at a character
    /// boundary).
    pub value_len: usize,
    /// Elements of an array or map value \[128\].
    pub array_len: usize,
    /// Arrays and maps nested in a value \[8\]; deeper values are emptied.
    pub depth: usize,
}

impl Default for ItemLimits {
    fn default() -> Self {
        Self {
            attributes: 128,
            events: 128,
            links: 128,
            attributes_per_item: 128,
            key_len: 256,
            value_len: 4096,
            array_len: 128,
            depth: 8,
        }
    }
}

/// What limiting one item removed or shortened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Attributes dropped (on the item, its events and links).
    pub attributes: u64,
    /// Events dropped.
    pub events: u64,
    /// Links dropped.
    pub links: u64,
    /// Values (and bodies, names) shortened, array elements dropped, or
    /// nested values emptied.
    pub values: u64,
}

impl Trimmed {
    /// Whether anything was changed.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    fn add(&mut self, other: Trimmed) {
        self.attributes += other.attributes;
        self.events += other.events;
        self.links += other.links;
        self.values += other.values;
    }
}

/// Cuts `s` to at most `max` bytes at a character boundary; true if cut.
fn cut_text(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    s.shrink_to_fit();
    true
}

fn cut_bytes(b: &mut Vec<u8>, max: usize) -> bool {
    if b.len() <= max {
        return false;
    }
    b.truncate(max);
    b.shrink_to_fit();
    true
}

/// Limits one value; returns how many changes it took.
fn limit_value(v: &mut AnyValue, limits: &ItemLimits, depth: usize) -> u64 {
    use any_value::Value as V;
    match &mut v.value {
        Some(V::StringValue(s)) => u64::from(cut_text(s, limits.value_len)),
        Some(V::BytesValue(b)) => u64::from(cut_bytes(b, limits.value_len)),
        Some(V::ArrayValue(_) | V::KvlistValue(_)) if depth >= limits.depth => {
            v.value = None;
            1
        }
        Some(V::ArrayValue(a)) => {
            let mut n = shorten(&mut a.values, limits.array_len);
            n += a.values.iter_mut().map(|x| limit_value(x, limits, depth + 1)).sum::<u64>();
            n
        }
        Some(V::KvlistValue(l)) => {
            let mut n = shorten(&mut l.values, limits.array_len);
            for kv in &mut l.values {
                n += u64::from(cut_text(&mut kv.key, limits.key_len));
                n += kv.value.as_mut().map_or(0, |x| limit_value(x, limits, depth + 1));
            }
            n
        }
        _ => 0,
    }
}

/// Truncates `v` to `max` elements (shrinking it); returns how many went.
fn shorten<T>(v: &mut Vec<T>, max: usize) -> u64 {
    let removed = v.len().saturating_sub(max);
    if removed > 0 {
        v.truncate(max);
        v.shrink_to_fit();
    }
    removed as u64
}

/// Limits a list of attributes to `max`: drops empty and over-long keys and
/// the excess, shortens values. Returns (attributes dropped, values changed).
pub fn limit_attributes(attributes: &mut Vec<KeyValue>, max: usize, limits: &ItemLimits) -> (u64, u64) {
    let before = attributes.len();
    attributes.retain(|kv| !kv.key.is_empty() && kv.key.len() <= limits.key_len);
    let mut dropped = (before - attributes.len()) as u64;
    dropped += shorten(attributes, max);
    if dropped > 0 {
        attributes.shrink_to_fit();
    }
    let values = attributes.iter_mut().map(|kv| kv.value.as_mut().map_or(0, |v| limit_value(v, limits, 0))).sum();
    (dropped, values)
}

fn add_dropped(count: &mut u32, n: u64) {
    *count = count.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

/// Applies `limits` to a span, its events and links.
pub fn limit_span(span: &mut Span, limits: &ItemLimits) -> Trimmed {
    let mut t = Trimmed::default();
    let (dropped, values) = limit_attributes(&mut span.attributes, limits.attributes, limits);
    add_dropped(&mut span.dropped_attributes_count, dropped);
    t.add(Trimmed { attributes: dropped, values, ..Default::default() });
    t.values += u64::from(cut_text(&mut span.name, limits.value_len));
    t.values += u64::from(cut_text(&mut span.trace_state, limits.value_len));
    if let Some(status) = &mut span.status {
        t.values += u64::from(cut_text(&mut status.message, limits.value_len));
    }
    let events = shorten(&mut span.events, limits.events);
    add_dropped(&mut span.dropped_events_count, events);
    t.events += events;
    for e in &mut span.events {
        t.values += u64::from(cut_text(&mut e.name, limits.value_len));
        let (dropped, values) = limit_attributes(&mut e.attributes, limits.attributes_per_item, limits);
        add_dropped(&mut e.dropped_attributes_count, dropped);
        t.add(Trimmed { attributes: dropped, values, ..Default::default() });
    }
    let links = shorten(&mut span.links, limits.links);
    add_dropped(&mut span.dropped_links_count, links);
    t.links += links;
    for l in &mut span.links {
        t.values += u64::from(cut_text(&mut l.trace_state, limits.value_len));
        let (dropped, values) = limit_attributes(&mut l.attributes, limits.attributes_per_item, limits);
        add_dropped(&mut l.dropped_attributes_count, dropped);
        t.add(Trimmed { attributes: dropped, values, ..Default::default() });
    }
    t
}

/// Applies `limits` to a log record: its attributes, body and names.
pub fn limit_log_record(record: &mut LogRecord, limits: &ItemLimits) -> Trimmed {
    let (dropped, mut values) = limit_attributes(&mut record.attributes, limits.attributes, limits);
    add_dropped(&mut record.dropped_attributes_count, dropped);
    if let Some(body) = &mut record.body {
        values += limit_value(body, limits, 0);
    }
    values += u64::from(cut_text(&mut record.event_name, limits.value_len));
    values += u64::from(cut_text(&mut record.severity_text, limits.value_len));
    Trimmed { attributes: dropped, values, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
            ..Default::default()
        }
    }

    #[test]
    fn spans_are_cut_to_the_sdk_limits_and_say_so() {
        let limits = ItemLimits::default();
        let mut span = Span {
            name: "é".repeat(3000), // 6000 bytes
            attributes: (0..200)
                .map(|i| kv(&format!("k{i}"), "v"))
                .chain([kv("", "x"), kv(&"k".repeat(300), "x")])
                .collect(),
            dropped_attributes_count: 5,
            events: (0..130).map(|_| Event { attributes: vec![kv("a", "b"); 129], ..Default::default() }).collect(),
            links: (0..129).map(|_| Link::default()).collect(),
            ..Default::default()
        };
        let t = limit_span(&mut span, &limits);
        assert_eq!(span.attributes.len(), 128);
        assert_eq!(span.dropped_attributes_count, 5 + 74, "2 bad keys + 72 over the count, added to what came");
        assert_eq!(span.events.len(), 128);
        assert_eq!(span.dropped_events_count, 2);
        assert!(span.events.iter().all(|e| e.attributes.len() == 128 && e.dropped_attributes_count == 1));
        assert_eq!((span.links.len(), span.dropped_links_count), (128, 1));
        assert_eq!(span.name.len(), 4096, "cut at a character boundary (é is two bytes)");
        assert_eq!(t, Trimmed { attributes: 74 + 128, events: 2, links: 1, values: 1 });
        assert!(span.attributes.capacity() <= 128, "shrunk: a budget counts what is held");
    }

    #[test]
    fn values_are_cut_in_length_width_and_depth() {
        let limits = ItemLimits { value_len: 4, array_len: 2, depth: 1, ..ItemLimits::default() };
        let nested = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue { value: Some(any_value::Value::StringValue("abcdef".into())) },
                    AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![] })) },
                    AnyValue { value: Some(any_value::Value::BoolValue(true)) },
                ],
            })),
        };
        let mut attributes = vec![KeyValue { key: "k".into(), value: Some(nested), ..Default::default() }];
        let (dropped, values) = limit_attributes(&mut attributes, 10, &limits);
        assert_eq!(dropped, 0);
        assert_eq!(values, 3, "one element over the width, one string cut, one nested array emptied");
        let Some(any_value::Value::ArrayValue(a)) = &attributes[0].value.as_ref().unwrap().value else { panic!() };
        assert_eq!(a.values.len(), 2);
        assert_eq!(a.values[0].value, Some(any_value::Value::StringValue("abcd".into())));
        assert_eq!(a.values[1].value, None);
    }

    #[test]
    fn log_records_keep_their_attribute_budget() {
        let mut record = LogRecord {
            attributes: vec![kv("k", "v"); 300],
            body: Some(AnyValue { value: Some(any_value::Value::StringValue("b".repeat(10_000))) }),
            ..Default::default()
        };
        let t = limit_log_record(&mut record, &ItemLimits::default());
        assert_eq!((record.attributes.len(), record.dropped_attributes_count), (128, 172));
        assert_eq!(t.values, 1);
        assert!(t.any());
    }
}
