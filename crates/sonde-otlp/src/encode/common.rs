//! Attributes, resources and scopes.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sonde::trace::{KeyValue as SondeKeyValue, Value};

use super::wire::Wire;

pub(crate) fn string(s: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(s.to_owned())) }
}

fn array(values: impl Iterator<Item = any_value::Value>) -> AnyValue {
    let values = values.map(|v| AnyValue { value: Some(v) }).collect();
    AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values })) }
}

pub(crate) fn value(v: &Value) -> AnyValue {
    use any_value::Value as V;
    match v {
        Value::Str(s) => string(s),
        Value::Bool(b) => AnyValue { value: Some(V::BoolValue(*b)) },
        Value::I64(i) => AnyValue { value: Some(V::IntValue(*i)) },
        Value::F64(f) => AnyValue { value: Some(V::DoubleValue(*f)) },
        Value::StrArray(a) => array(a.iter().map(|s| V::StringValue(s.to_string()))),
        Value::BoolArray(a) => array(a.iter().map(|b| V::BoolValue(*b))),
        Value::I64Array(a) => array(a.iter().map(|i| V::IntValue(*i))),
        Value::F64Array(a) => array(a.iter().map(|f| V::DoubleValue(*f))),
    }
}

pub(crate) fn key_value(key: &str, v: AnyValue) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(v), ..Default::default() }
}

pub(crate) fn attributes(kvs: &[SondeKeyValue]) -> Vec<KeyValue> {
    kvs.iter().map(|kv| key_value(&kv.key, value(&kv.value))).collect()
}

pub(crate) fn string_attributes<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<KeyValue> {
    pairs.map(|(k, v)| key_value(k, string(v))).collect()
}

/// A resource from string attributes (the configured ones).
pub(crate) fn resource(attrs: &[(String, String)]) -> Resource {
    Resource {
        attributes: string_attributes(attrs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        ..Default::default()
    }
}

pub(crate) fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: if name == "sonde" { env!("CARGO_PKG_VERSION").to_owned() } else { String::new() },
        ..Default::default()
    }
}

pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// A `KeyValue` with a string value, as the message in `field`.
pub(crate) fn write_string_attribute(w: &mut Wire<'_>, field: u32, key: &str, v: &str) {
    w.message(field, |w| {
        w.string(1, key);
        // KeyValue.value: AnyValue.string_value
        w.message(2, |w| w.oneof_bytes(1, v.as_bytes()));
    });
}

/// String attributes (the configured ones), each a message in `field`.
pub(crate) fn write_string_attributes(w: &mut Wire<'_>, field: u32, attrs: &[(String, String)]) {
    for (k, v) in attrs {
        write_string_attribute(w, field, k, v);
    }
}

/// An `AnyValue`'s one field.
fn write_value(w: &mut Wire<'_>, v: &Value) {
    let array = |w: &mut Wire<'_>, each: &mut dyn FnMut(&mut Wire<'_>)| {
        // AnyValue.array_value: ArrayValue.values
        w.message(5, each);
    };
    match v {
        Value::Str(s) => w.oneof_bytes(1, s.as_bytes()),
        Value::Bool(b) => w.oneof_bool(2, *b),
        Value::I64(i) => w.oneof_int64(3, *i),
        Value::F64(f) => w.present_double(4, *f),
        Value::StrArray(a) => {
            array(w, &mut |w| a.iter().for_each(|s| w.message(1, |w| w.oneof_bytes(1, s.as_bytes()))))
        }
        Value::BoolArray(a) => array(w, &mut |w| a.iter().for_each(|b| w.message(1, |w| w.oneof_bool(2, *b)))),
        Value::I64Array(a) => array(w, &mut |w| a.iter().for_each(|i| w.message(1, |w| w.oneof_int64(3, *i)))),
        Value::F64Array(a) => array(w, &mut |w| a.iter().for_each(|f| w.message(1, |w| w.present_double(4, *f)))),
    }
}

/// A `KeyValue`, as the message in `field`.
pub(crate) fn write_attribute(w: &mut Wire<'_>, field: u32, key: &str, v: &Value) {
    w.message(field, |w| {
        w.string(1, key);
        w.message(2, |w| write_value(w, v));
    });
}

/// Attributes, each a message in `field`.
pub(crate) fn write_attributes(w: &mut Wire<'_>, field: u32, kvs: &[SondeKeyValue]) {
    for kv in kvs {
        write_attribute(w, field, &kv.key, &kv.value);
    }
}

/// An `InstrumentationScope`'s fields (see [`scope`]).
pub(crate) fn write_scope(w: &mut Wire<'_>, name: &str) {
    w.string(1, name);
    if name == "sonde" {
        w.string(2, env!("CARGO_PKG_VERSION"));
    }
}
