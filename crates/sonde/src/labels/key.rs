//! The identity of a series inside its family: its label values, in order.
//!
//! Identity is the full sequence of values. Values are stored length-prefixed
//! in one allocation, so `["ab", "c"]` and `["a", "bc"]` are different keys
//! (the `prometheus` crate merges them, because it identifies a series by a
//! hash of the concatenated values). The hash only speeds up the lookup.

use std::hash::{Hash, Hasher};

use papaya::Equivalent;

/// Owned label values: `len (u32 LE) ++ bytes` per value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LabelKey {
    buf: Box<[u8]>,
}

impl LabelKey {
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut buf = Vec::new();
        for v in values {
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        Self {
            buf: buf.into_boxed_slice(),
        }
    }

    /// The values, in label order.
    pub(crate) fn values(&self) -> KeyValues<'_> {
        KeyValues { rest: &self.buf }
    }
}

impl std::fmt::Debug for LabelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values()).finish()
    }
}

/// Iterator over a key's values.
pub(crate) struct KeyValues<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for KeyValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (len, rest) = self.rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (v, rest) = rest.split_at(len);
        self.rest = rest;
        // SAFETY: keys are built only from `&str` values in `LabelKey::new`.
        Some(unsafe { std::str::from_utf8_unchecked(v) })
    }
}

fn hash_value<H: Hasher>(v: &str, h: &mut H) {
    h.write_u32(v.len() as u32);
    h.write(v.as_bytes());
}

impl Hash for LabelKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for v in self.values() {
            hash_value(v, h);
        }
    }
}

/// Borrowed label values for a lookup: a fixed prefix (constant labels of a
/// scoped family) followed by the caller's values. Hashes like [`LabelKey`].
pub(crate) struct LabelLookup<'a> {
    pub(crate) prefix: &'a [Box<str>],
    pub(crate) values: &'a [&'a str],
}

impl LabelLookup<'_> {
    fn iter(&self) -> impl Iterator<Item = &str> {
        self.prefix
            .iter()
            .map(|s| &**s)
            .chain(self.values.iter().copied())
    }

    pub(crate) fn to_key(&self) -> LabelKey {
        LabelKey::new(self.iter())
    }
}

impl Hash for LabelLookup<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for v in self.iter() {
            hash_value(v, h);
        }
    }
}

impl Equivalent<LabelKey> for LabelLookup<'_> {
    fn equivalent(&self, key: &LabelKey) -> bool {
        let mut stored = key.values();
        for v in self.iter() {
            if stored.next() != Some(v) {
                return false;
            }
        }
        stored.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        foldhash::fast::FixedState::with_seed(7).hash_one(t)
    }

    #[test]
    fn split_points_are_part_of_identity() {
        let a = LabelKey::new(["ab", "c"]);
        let b = LabelKey::new(["a", "bc"]);
        assert_ne!(a, b);
        let lookup = LabelLookup {
            prefix: &[],
            values: &["a", "bc"],
        };
        assert!(lookup.equivalent(&b));
        assert!(!lookup.equivalent(&a));
    }

    #[test]
    fn lookup_hashes_like_key() {
        let prefix: Vec<Box<str>> = vec!["api".into()];
        let lookup = LabelLookup {
            prefix: &prefix,
            values: &["GET", "200"],
        };
        let key = LabelKey::new(["api", "GET", "200"]);
        assert_eq!(hash_of(&lookup), hash_of(&key));
        assert!(lookup.equivalent(&key));
        assert_eq!(lookup.to_key(), key);
        assert_eq!(key.values().collect::<Vec<_>>(), ["api", "GET", "200"]);
    }

    #[test]
    fn arity_is_part_of_identity() {
        let key = LabelKey::new(["a", ""]);
        assert!(!LabelLookup {
            prefix: &[],
            values: &["a"]
        }
        .equivalent(&key));
        assert!(LabelLookup {
            prefix: &[],
            values: &["a", ""]
        }
        .equivalent(&key));
    }
}
