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
