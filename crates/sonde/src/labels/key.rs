//! The identity of a series inside its family: its label values, in order.
//!
//! Identity is the full sequence of values. Values are stored length-prefixed
//! in one allocation, so `["ab", "c"]` and `["a", "bc"]` are different keys
//! (the `prometheus` crate merges them, because it identifies a series by a
//! hash of the concatenated values). The hash only speeds up the lookup.

/// Owned label values: `len (u32 LE) ++ bytes` per value (the index stores
/// the same encoding inline in its entries; tests build keys with this).
#[cfg(test)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct LabelKey {
    buf: Box<[u8]>,
}

#[cfg(test)]
impl LabelKey {
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut buf = Vec::new();
        for v in values {
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        Self { buf: buf.into_boxed_slice() }
    }

    /// The values, in label order.
    pub(crate) fn values(&self) -> KeyValues<'_> {
        self.as_ref().values()
    }

    /// A borrowed view.
    pub(crate) fn as_ref(&self) -> LabelKeyRef<'_> {
        LabelKeyRef { buf: &self.buf }
    }
}

/// A borrowed key: the same encoding, stored elsewhere (inline in an index
/// entry).
#[derive(Clone, Copy)]
pub(crate) struct LabelKeyRef<'a> {
    buf: &'a [u8],
}

impl<'a> LabelKeyRef<'a> {
    /// Wraps bytes produced by the key encoding (`len u32 LE ++ bytes` per
    /// value, from `&str`s).
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The values, in label order.
    pub(crate) fn values(self) -> KeyValues<'a> {
        KeyValues { rest: self.buf }
    }

    /// The encoded bytes (a stable identity for maps).
    pub(crate) fn bytes(self) -> &'a [u8] {
        self.buf
    }
}

impl std::fmt::Debug for LabelKeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values()).finish()
    }
}

#[cfg(test)]
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

/// Borrowed label values for a lookup: a fixed prefix (constant labels of a
/// scoped family) followed by the caller's values.
pub(crate) struct LabelLookup<'a> {
    pub(crate) prefix: &'a [Box<str>],
    pub(crate) values: &'a [&'a str],
}

impl LabelLookup<'_> {
    #[inline(always)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.prefix.iter().map(|s| &**s).chain(self.values.iter().copied())
    }

    #[cfg(test)]
    pub(crate) fn to_key(&self) -> LabelKey {
        LabelKey::new(self.iter())
    }
}

impl LabelLookup<'_> {
    /// Whether `key` holds exactly these values.
    #[inline]
    pub(crate) fn matches(&self, key: LabelKeyRef<'_>) -> bool {
        let mut rest: &[u8] = key.buf;
        for v in self.prefix {
            if !take_value(&mut rest, v.as_bytes()) {
                return false;
            }
        }
        for v in self.values {
            if !take_value(&mut rest, v.as_bytes()) {
                return false;
            }
        }
        rest.is_empty()
    }
}

/// Consumes one encoded value from `rest` if it equals `v`.
#[inline(always)]
fn take_value(rest: &mut &[u8], v: &[u8]) -> bool {
    let Some((len, tail)) = rest.split_first_chunk::<4>() else {
        return false;
    };
    if u32::from_le_bytes(*len) as usize != v.len() || tail.len() < v.len() || !same_bytes(&tail[..v.len()], v) {
        return false;
    }
    *rest = &tail[v.len()..];
    true
}

/// Equality of two equally long byte strings; values up to 16 bytes (most
/// label values) are compared with overlapping word reads instead of a call.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let word = |x: &[u8], at: usize| u64::from_le_bytes(x[at..at + 8].try_into().expect("8 bytes"));
    let half = |x: &[u8], at: usize| u32::from_le_bytes(x[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    /// A value whose encoded length differs is not a match, even when its
    /// first bytes are the lookup's value and the rest would parse on.
    #[test]
    fn a_longer_value_never_matches_a_shorter_one() {
        let key = LabelKey::new(["a\u{1}\0\0\0x"]);
        assert!(!LabelLookup { prefix: &[], values: &["a", "x"] }.matches(key.as_ref()));
        assert!(LabelLookup { prefix: &[], values: &["a\u{1}\0\0\0x"] }.matches(key.as_ref()));
        assert_ne!(LabelKey::new(["a"]).as_ref().bytes(), LabelKey::new(["b"]).as_ref().bytes());
    }

    #[test]
    fn same_bytes_matches_slice_equality() {
        let samples: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n as u8).collect();
                let mut variants = vec![base.clone()];
                for i in 0..n {
                    let mut v = base.clone();
                    v[i] ^= 0x55;
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &samples {
            for b in samples.iter().filter(|b| b.len() == a.len()) {
                assert_eq!(super::same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    use super::*;

    #[test]
    fn split_points_are_part_of_identity() {
        let a = LabelKey::new(["ab", "c"]);
        let b = LabelKey::new(["a", "bc"]);
        assert_ne!(a, b);
        let lookup = LabelLookup { prefix: &[], values: &["a", "bc"] };
        assert!(lookup.matches(b.as_ref()));
        assert!(!lookup.matches(a.as_ref()));
    }

    #[test]
    fn lookup_with_prefix_matches_key() {
        let prefix: Vec<Box<str>> = vec!["api".into()];
        let lookup = LabelLookup { prefix: &prefix, values: &["GET", "200"] };
        let key = LabelKey::new(["api", "GET", "200"]);
        assert!(lookup.matches(key.as_ref()));
        assert_eq!(lookup.to_key(), key);
        assert_eq!(key.values().collect::<Vec<_>>(), ["api", "GET", "200"]);
    }

    #[test]
    fn arity_is_part_of_identity() {
        let key = LabelKey::new(["a", ""]);
        assert!(!LabelLookup { prefix: &[], values: &["a"] }.matches(key.as_ref()));
        assert!(LabelLookup { prefix: &[], values: &["a", ""] }.matches(key.as_ref()));
    }
}
