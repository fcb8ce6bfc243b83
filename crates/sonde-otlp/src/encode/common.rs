//! Attributes, resources and scopes.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sonde::trace::{KeyValue as SondeKeyValue, Value};

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
