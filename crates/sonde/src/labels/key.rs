//! The identity of a series inside its family: its label values, in order.
//!
//! Identity is the full sequence of values. Values are stored length-prefixed
//! in one allocation, so `["ab", "c"]` and `["a", "bc"]` are different keys
//! (the `prometheus` crate merges them, because it identifies a series by a
//! hash of the concatenated values). The hash only speeds up the lookup.

/// Owned label values: `len ++ bytes` per value, the length a LEB128 varint
/// (one byte below 128; the index stores the same encoding inline in its
/// entries; tests build keys with this).
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
            let (len, n) = encode_len(v.len());
            buf.extend_from_slice(&len[..n]);
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
    /// Wraps bytes produced by the key encoding (`len ++ bytes` per value,
    /// from `&str`s; see [`encode_len`]).
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
        let (len, rest) = decode_len(self.rest)?;
        let (v, rest) = rest.split_at_checked(len)?;
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

/// The most bytes [`encode_len`] writes (a 64-bit length).
pub(crate) const MAX_LEN_BYTES: usize = 10;

/// A value's length as a LEB128 varint: seven bits per byte, low bits
/// first, the high bit set on all but the last byte. Returns the bytes and
/// how many of them are used (one for lengths below 128, two below 16,384:
/// every value a family accepts).
#[inline]
pub(crate) fn encode_len(len: usize) -> ([u8; MAX_LEN_BYTES], usize) {
    let mut out = [0u8; MAX_LEN_BYTES];
    let mut rest = len as u64;
    let mut n = 0;
    while rest >= 0x80 {
        out[n] = (rest as u8) | 0x80;
        rest >>= 7;
        n += 1;
    }
    out[n] = rest as u8;
    (out, n + 1)
}

/// Reads a length written by [`encode_len`] and returns it with the bytes
/// after it; `None` if `buf` ends inside the varint.
#[inline(always)]
fn decode_len(buf: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, mut rest) = buf.split_first()?;
    if first < 0x80 {
        return Some((first as usize, rest));
    }
    let mut len = (first & 0x7f) as u64;
    let mut shift = 7;
    loop {
        let (&b, tail) = rest.split_first()?;
        rest = tail;
        len |= ((b & 0x7f) as u64).checked_shl(shift)?;
        if b < 0x80 {
            return Some((usize::try_from(len).ok()?, rest));
        }
        shift += 7;
    }
}

/// Consumes one encoded value from `rest` if it equals `v`.
#[inline(always)]
fn take_value(rest: &mut &[u8], v: &[u8]) -> bool {
    let Some((len, tail)) = decode_len(rest) else {
        return false;
    };
    if len != v.len() || tail.len() < v.len() || !same_bytes(&tail[..v.len()], v) {
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
        // Encoded: [3, a, 1, x]; the lookup's values encode as [1, a, 1, x].
        let key = LabelKey::new(["a\u{1}x"]);
        assert!(!LabelLookup { prefix: &[], values: &["a", "x"] }.matches(key.as_ref()));
        assert!(LabelLookup { prefix: &[], values: &["a\u{1}x"] }.matches(key.as_ref()));
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
    fn lengths_round_trip_through_their_varint() {
        for len in [0, 1, 127, 128, 300, 4096, 16_383, 16_384, 1 << 21, u32::MAX as usize, usize::MAX] {
            let (bytes, n) = encode_len(len);
            let expected = if len < 128 {
                1
            } else if len < 16_384 {
                2
            } else {
                n
            };
            assert_eq!(n, expected, "{len}");
            let mut buf = bytes[..n].to_vec();
            buf.push(0xAB);
            assert_eq!(decode_len(&buf), Some((len, &[0xAB][..])), "{len}");
            assert_eq!(decode_len(&buf[..n - 1]), None, "{len}: cut short");
        }
        let long = "x".repeat(300);
        let key = LabelKey::new([long.as_str(), "a"]);
        assert_eq!(key.as_ref().bytes().len(), 2 + 300 + 1 + 1);
        assert_eq!(key.values().collect::<Vec<_>>(), [long.as_str(), "a"]);
        assert!(LabelLookup { prefix: &[], values: &[&long, "a"] }.matches(key.as_ref()));
    }

    #[test]
    fn arity_is_part_of_identity() {
        let key = LabelKey::new(["a", ""]);
        assert!(!LabelLookup { prefix: &[], values: &["a"] }.matches(key.as_ref()));
        assert!(LabelLookup { prefix: &[], values: &["a", ""] }.matches(key.as_ref()));
    }
}
