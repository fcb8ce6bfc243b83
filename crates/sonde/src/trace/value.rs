//! Typed attribute values.

use std::borrow::Cow;
use std::sync::Arc;

/// An attribute value: string, bool, integer, float, or an array of one of
/// those.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string.
    Str(Cow<'static, str>),
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// Strings.
    StrArray(Arc<[Cow<'static, str>]>),
    /// Booleans.
    BoolArray(Arc<[bool]>),
    /// Integers.
    I64Array(Arc<[i64]>),
    /// Floats.
    F64Array(Arc<[f64]>),
}

/// A named attribute. Keys are usually `&'static str`, so recording one
/// allocates nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The attribute name.
    pub key: Cow<'static, str>,
    /// The value.
    pub value: Value,
}

impl KeyValue {
    /// A new attribute.
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        Self { key: key.into(), value: value.into() }
    }

    /// Heap bytes the attribute owns (its key, if owned, and its value's),
    /// beyond its own struct.
    pub fn heap_bytes(&self) -> usize {
        let key = match &self.key {
            Cow::Owned(k) => k.capacity(),
            Cow::Borrowed(_) => 0,
        };
        key + self.value.heap_bytes()
    }
}

impl Value {
    /// Heap bytes the value owns (strings by capacity, arrays by length).
    pub fn heap_bytes(&self) -> usize {
        let text = |s: &Cow<'static, str>| match s {
            Cow::Owned(s) => s.capacity(),
            Cow::Borrowed(_) => 0,
        };
        match self {
            Self::Str(s) => text(s),
            Self::Bool(_) | Self::I64(_) | Self::F64(_) => 0,
            Self::StrArray(a) => {
                2 * size_of::<usize>() + a.iter().map(|s| size_of::<Cow<'static, str>>() + text(s)).sum::<usize>()
            }
            Self::BoolArray(a) => 2 * size_of::<usize>() + a.len(),
            Self::I64Array(a) => 2 * size_of::<usize>() + a.len() * 8,
            Self::F64Array(a) => 2 * size_of::<usize>() + a.len() * 8,
        }
    }
}

impl From<&'static str> for Value {
    fn from(v: &'static str) -> Self {
        Self::Str(Cow::Borrowed(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Str(Cow::Owned(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::I64(v as i64)
            }
        }
    )*};
}
int_value!(i8, i16, i32, i64, u8, u16, u32, isize);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::F64(v)
    }
}

impl From<Vec<&'static str>> for Value {
    fn from(v: Vec<&'static str>) -> Self {
        Self::StrArray(v.into_iter().map(Cow::Borrowed).collect())
    }
}

impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Self::StrArray(v.into_iter().map(Cow::Owned).collect())
    }
}

impl From<Vec<bool>> for Value {
    fn from(v: Vec<bool>) -> Self {
        Self::BoolArray(v.into())
    }
}

impl From<Vec<i64>> for Value {
    fn from(v: Vec<i64>) -> Self {
        Self::I64Array(v.into())
    }
}

impl From<Vec<f64>> for Value {
    fn from(v: Vec<f64>) -> Self {
        Self::F64Array(v.into())
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Str(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::I64(i) => write!(f, "{i}"),
            Self::F64(x) => write!(f, "{x}"),
            Self::StrArray(a) => write!(f, "{a:?}"),
            Self::BoolArray(a) => write!(f, "{a:?}"),
            Self::I64Array(a) => write!(f, "{a:?}"),
            Self::F64Array(a) => write!(f, "{a:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_display() {
        let cases: [(Value, &str); 14] = [
            ("str".into(), "str"),
            (String::from("owned").into(), "owned"),
            (true.into(), "true"),
            ((-8i8).into(), "-8"),
            (300i16.into(), "300"),
            (70_000i32.into(), "70000"),
            (1i64.into(), "1"),
            (255u8.into(), "255"),
            (65_535u16.into(), "65535"),
            (4_000_000_000u32.into(), "4000000000"),
            ((-3isize).into(), "-3"),
            (0.25.into(), "0.25"),
            (vec!["a", "b"].into(), r#"["a", "b"]"#),
            (vec![String::from("c")].into(), r#"["c"]"#),
        ];
        for (value, shown) in cases {
            assert_eq!(value.to_string(), shown, "{value:?}");
        }
        assert_eq!(Value::from(vec![true, false]).to_string(), "[true, false]");
        assert_eq!(Value::from(vec![1i64, 2]).to_string(), "[1, 2]");
        assert_eq!(Value::from(vec![0.5, 1.5]).to_string(), "[0.5, 1.5]");
        assert_eq!(Value::from(4_000_000_000u32), Value::I64(4_000_000_000));
        assert!(matches!(Value::from("s"), Value::Str(Cow::Borrowed("s"))), "static strings are not copied");
        let kv = KeyValue::new("http.status", 200u16);
        assert_eq!((kv.key.as_ref(), &kv.value), ("http.status", &Value::I64(200)));
    }
}
