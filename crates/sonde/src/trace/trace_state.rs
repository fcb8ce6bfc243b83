//! `tracestate`: vendor key-value pairs carried beside `traceparent`.

use std::sync::Arc;

use super::propagation::Level;

/// Most list-members a `tracestate` may hold; a header with more is dropped.
pub const MAX_MEMBERS: usize = 32;
/// Length a propagated `tracestate` is truncated to.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this go first when truncating.
const LONG_MEMBER: usize = 128;

/// An ordered list of vendor entries, most recently updated first.
/// Cheap to clone; the empty state allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState(Option<Arc<[(String, String)]>>);

impl TraceState {
    fn from_vec(v: Vec<(String, String)>) -> Self {
        Self((!v.is_empty()).then(|| v.into()))
    }

    fn members(&self) -> &[(String, String)] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl TraceState {
    /// Parses a `tracestate` value (several header lines joined with `,`)
    /// by Trace Context Level 2's grammar. Members are trimmed of spaces and
    /// tabs; empty members are skipped; of a repeated key the first member
    /// is kept. Returns `None` (discard the whole header, as the W3C spec
    /// allows) for a member that breaks the grammar, or more than
    /// [`MAX_MEMBERS`] members.
    ///
    /// ```
    /// use sonde::trace::TraceState;
    /// // Level 2 keys: a letter or digit, then up to 255 of a-z 0-9 _ - * / @.
    /// let s = TraceState::parse("1vendor=a, tenant@sys@x=b").unwrap();
    /// assert_eq!(s.get("tenant@sys@x"), Some("b"));
    /// assert!(TraceState::parse("@vendor=a").is_none());
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        Self::parse_at(header, Level::Two)
    }

    /// [`parse`](Self::parse) by the key grammar of `level`.
    pub(crate) fn parse_at(header: &str, level: Level) -> Option<Self> {
        let mut members: Vec<(String, String)> = Vec::new();
        for raw in header.split(',') {
            let m = raw.trim_matches([' ', '\t']);
            if m.is_empty() {
                continue;
            }
            let (k, v) = m.split_once('=')?;
            if !valid_key(k, level) || !valid_value(v) {
                return None;
            }
            if members.iter().any(|(x, _)| x == k) {
                match level {
                    // Level 1: a repeated key makes the header invalid.
                    Level::One => return None,
                    // Level 2: vendors may discard duplicates; the first stays.
                    Level::Two => continue,
                }
            }
            members.push((k.to_owned(), v.to_owned()));
            if members.len() > MAX_MEMBERS {
                return None;
            }
        }
        Some(Self::from_vec(members))
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members().iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A copy with `key` set to `value` and moved to the front (the W3C
    /// rule for a vendor updating its entry). None if either is invalid.
    pub fn insert(&self, key: &str, value: &str) -> Option<Self> {
        if !valid_key(key, Level::Two) || !valid_value(value) {
            return None;
        }
        let mut v: Vec<(String, String)> = vec![(key.to_owned(), value.to_owned())];
        v.extend(self.members().iter().filter(|(k, _)| k != key).cloned());
        v.truncate(MAX_MEMBERS);
        Some(Self::from_vec(v))
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members().iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The header value, at most [`MAX_HEADER_LEN`] characters: when too
    /// long, whole entries are dropped, those over 128 characters first,
    /// then from the end.
    pub fn to_header(&self) -> String {
        let members = self.members();
        let len = |m: &(String, String)| m.0.len() + 1 + m.1.len();
        let mut keep: Vec<bool> = vec![true; members.len()];
        let total = |keep: &[bool]| -> usize {
            let kept: Vec<usize> = self.members().iter().zip(keep).filter(|(_, k)| **k).map(|(m, _)| len(m)).collect();
            kept.iter().sum::<usize>() + kept.len().saturating_sub(1)
        };
        for (i, m) in members.iter().enumerate() {
            if total(&keep) <= MAX_HEADER_LEN {
                break;
            }
            if len(m) > LONG_MEMBER {
                keep[i] = false;
            }
        }
        for i in (0..members.len()).rev() {
            if total(&keep) <= MAX_HEADER_LEN {
                break;
            }
            keep[i] = false;
        }
        let parts: Vec<String> =
            self.members().iter().zip(&keep).filter(|(_, k)| **k).map(|((k, v), _)| format!("{k}={v}")).collect();
        parts.join(",")
    }
}

fn key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
}

/// A key by `level`'s grammar. Level 2: a lowercase letter or digit, then
/// up to 255 of lowercase letters, digits and `_-*/@`. Level 1: a
/// `simple-key` (lcalpha then up to 255 of lcalpha, digit, `_-*/`), or
/// `tenant@system` (tenant: lcalpha/digit then up to 240; system: lcalpha
/// then up to 13).
fn valid_key(k: &str, level: Level) -> bool {
    let b = k.as_bytes();
    if level == Level::Two {
        return !b.is_empty()
            && b.len() <= 256
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter().all(|&c| key_char(c) || c == b'@');
    }
    match k.split_once('@') {
        None => !b.is_empty() && b.len() <= 256 && b[0].is_ascii_lowercase() && b.iter().all(|&c| key_char(c)),
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|&c| key_char(c))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s.iter().all(|&c| key_char(c))
        }
    }
}

/// Up to 256 printable ASCII characters other than `,` and `=`, spaces
/// allowed but not last.
fn valid_value(v: &str) -> bool {
    let b = v.as_bytes();
    let nblk = |c: u8| (0x21..=0x7e).contains(&c) && c != b',' && c != b'=';
    !b.is_empty() && b.len() <= 256 && b.iter().all(|&c| c == b' ' || nblk(c)) && nblk(b[b.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_table() {
        let cases: &[(&str, Option<usize>)] = &[
            ("", Some(0)),
            ("foo=1", Some(1)),
            ("foo=1,bar=2", Some(2)),
            (" foo=1 ,\tbar=2\t", Some(2)),
            ("foo=1,,bar=2", Some(2)),
            ("t@s=v", Some(1)),
            ("1tenant@sys=v", Some(1)),
            ("Foo=1", None),
            ("1foo=1", Some(1)),
            ("@foo=1", None),
            ("foo@=1", Some(1)),
            ("foo@@bar=1", Some(1)),
            ("foo@bar@baz=1", Some(1)),
            ("foo.bar=1", None),
            ("foo =1", None),
            ("foo=", None),
            ("foo", None),
            ("foo=a,b", None),
            ("foo=1,foo=2", Some(1)),
            ("foo=a=b", None),
            ("foo=val ", Some(1)), // the trailing space is list whitespace
            ("foo=va l", Some(1)),
            ("t@1sys=v", Some(1)),
            ("t@systemnameistoolong=v", Some(1)),
            ("foo=\u{7f}", None),
        ];
        for (h, want) in cases {
            assert_eq!(TraceState::parse(h).map(|s| s.members().len()), *want, "{h:?}");
        }
        assert!(!valid_value("val "), "a value never ends with a space");
        assert!(valid_value("v al"));
        let long_key = format!("{}=1", "a".repeat(256));
        assert!(TraceState::parse(&long_key).is_some());
        assert!(TraceState::parse(&format!("a{long_key}")).is_none());
        let v256 = format!("k={}", "v".repeat(256));
        assert!(TraceState::parse(&v256).is_some());
        assert!(TraceState::parse(&format!("{v256}v")).is_none());
    }

    /// Where Level 1's key grammar differs: digit-first keys only as a
    /// tenant, one `@` between a tenant and a short system id.
    #[test]
    fn level_one_keys() {
        for (h, ok) in [
            ("foo=1", true),
            ("t@s=v", true),
            ("1tenant@sys=v", true),
            ("1foo=1", false),
            ("foo@=1", false),
            ("foo@@bar=1", false),
            ("t@1sys=v", false),
            ("t@systemnameistoolong=v", false),
            ("foo=1,foo=1", false),
        ] {
            assert_eq!(TraceState::parse_at(h, Level::One).is_some(), ok, "{h:?}");
        }
    }

    #[test]
    fn member_limit() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        assert!(TraceState::parse(&format!("a{}", &members(32)[1..])).is_some());
        assert_eq!(TraceState::parse(&members(32).replace("k0", "a")).unwrap().members().len(), 32);
        assert!(TraceState::parse(&members(33).replace("k0", "a")).is_none(), "33 members discard the header");
    }

    #[test]
    fn the_first_of_a_repeated_key_stays() {
        let s = TraceState::parse("foo=1,bar=2,foo=3").unwrap();
        assert_eq!(s.to_header(), "foo=1,bar=2");
    }

    #[test]
    fn get_and_iter_read_the_entries() {
        let s = TraceState::parse("foo=1,t@v=x y").unwrap();
        assert_eq!(s.get("foo"), Some("1"));
        assert_eq!(s.get("t@v"), Some("x y"));
        assert_eq!(s.get("fo"), None);
        assert_eq!(TraceState::parse("foo=1,bar=2").unwrap().get("bar"), Some("2"));
        assert_eq!(s.iter().collect::<Vec<_>>(), [("foo", "1"), ("t@v", "x y")]);
        assert_eq!(TraceState::default().iter().count(), 0);
    }

    #[test]
    fn insert_moves_to_front() {
        let s = TraceState::parse("foo=1,bar=2").unwrap().insert("bar", "3").unwrap();
        assert_eq!(s.to_header(), "bar=3,foo=1");
        assert!(s.insert("Bad", "1").is_none());
    }

    #[test]
    fn truncation_drops_long_entries_first_then_from_the_end() {
        let long = format!("long={}", "x".repeat(200));
        let mut parts = vec![long.clone()];
        for i in 0..30 {
            parts.push(format!("k{i:02}={}", "y".repeat(10)));
        }
        let s = TraceState::parse(&parts.join(",")).unwrap();
        let h = s.to_header();
        assert!(h.len() <= MAX_HEADER_LEN, "{}", h.len());
        assert!(!h.contains("long="), "the entry over 128 chars goes first");
        assert!(h.starts_with("k00="), "{h}");
        // removing the long entry was enough: every short entry stays
        assert_eq!(h.split(',').count(), 30);
        let many: Vec<String> = (0..32).map(|i| format!("k{i:02}={}", "z".repeat(20))).collect();
        let h = TraceState::parse(&many.join(",")).unwrap().to_header();
        assert!(h.len() <= MAX_HEADER_LEN);
        assert!(h.starts_with("k00=") && !h.contains("k31="), "dropped from the end");
        // An entry of exactly 128 characters is not "over 128": it stays,
        // and the short entries go from the end instead.
        let at_limit = format!("edge={}", "e".repeat(123));
        assert_eq!(at_limit.len(), 128);
        let mut parts = vec![at_limit.clone()];
        parts.extend((0..31).map(|i| format!("k{i:02}={}", "y".repeat(11))));
        let h = TraceState::parse(&parts.join(",")).unwrap().to_header();
        assert!(h.len() <= MAX_HEADER_LEN && h.starts_with(&at_limit) && !h.contains("k30="), "{h}");
    }
}
