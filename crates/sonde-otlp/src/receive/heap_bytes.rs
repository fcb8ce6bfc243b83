//! The memory decoded OTLP items hold: their struct and everything they own
//! (strings and vectors by capacity). What the hub's byte budgets count.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, Span};

/// A vector's heap: its capacity in elements of `T`.
fn slots<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}

/// Heap bytes owned by an attribute value (not its struct).
pub fn any_value(v: &AnyValue) -> usize {
    match &v.value {
        None => 0,
        Some(any_value::Value::StringValue(s)) => s.capacity(),
        Some(any_value::Value::BytesValue(b)) => b.capacity(),
        Some(any_value::Value::ArrayValue(a)) => slots(&a.values) + a.values.iter().map(any_value).sum::<usize>(),
        Some(any_value::Value::KvlistValue(l)) => key_values(&l.values),
        Some(_) => 0,
    }
}

/// Heap bytes owned by a list of attributes, its vector included.
pub fn key_values(kvs: &Vec<KeyValue>) -> usize {
    slots(kvs) + kvs.iter().map(|kv| kv.key.capacity() + kv.value.as_ref().map_or(0, any_value)).sum::<usize>()
}

/// Bytes a span holds: its struct and everything it owns.
pub fn span(s: &Span) -> usize {
    size_of::<Span>()
        + s.trace_id.capacity()
        + s.span_id.capacity()
        + s.trace_state.capacity()
        + s.parent_span_id.capacity()
        + s.name.capacity()
        + key_values(&s.attributes)
        + slots(&s.events)
        + s.events.iter().map(event).sum::<usize>()
        + slots(&s.links)
        + s.links.iter().map(link).sum::<usize>()
        + s.status.as_ref().map_or(0, |st| st.message.capacity())
}

fn event(e: &span::Event) -> usize {
    e.name.capacity() + key_values(&e.attributes)
}

fn link(l: &span::Link) -> usize {
    l.trace_id.capacity() + l.span_id.capacity() + l.trace_state.capacity() + key_values(&l.attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_a_span_owns() {
        let bare = Span::default();
        assert_eq!(span(&bare), size_of::<Span>());
        let mut s = Span { name: "x".repeat(100), ..Default::default() };
        s.attributes.push(KeyValue {
            key: "k".repeat(10),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue("v".repeat(1000))) }),
            ..Default::default()
        });
        let with = span(&s);
        assert!(with >= size_of::<Span>() + 100 + 10 + 1000 + size_of::<KeyValue>(), "{with}");
        // Many empty attributes cost their struct each: what wire bytes hid.
        let empty = Span { attributes: vec![KeyValue::default(); 1000], ..Default::default() };
        assert!(span(&empty) >= 1000 * size_of::<KeyValue>());
    }
}
