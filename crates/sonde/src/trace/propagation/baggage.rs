//! W3C Baggage: application key-value pairs that travel with a request.

use std::sync::Arc;

/// Most entries kept from a `baggage` header.
pub const MAX_ENTRIES: usize = 64;
/// Longest `baggage` header read or written, in bytes.
pub const MAX_BAGGAGE_LEN: usize = 8192;

/// Ordered key-value entries (values percent-decoded), each with optional
/// properties kept verbatim. Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baggage(Arc<[(String, String, String)]>);

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// Decodes `%XX` escapes (as in baggage values and the `OTEL_*` variables
/// that share its format); `None` on a bad escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        // baggage-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, minus '%'
        let plain = matches!(c, 0x21 | 0x23..=0x24 | 0x26..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        if plain {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

impl Baggage {
    /// Parses `baggage` header values (joined with `,`). Invalid members are
    /// skipped; at most [`MAX_ENTRIES`] entries and [`MAX_BAGGAGE_LEN`]
    /// bytes are read.
    pub fn parse(header: &str) -> Self {
        let header = if header.len() > MAX_BAGGAGE_LEN { "" } else { header };
        let mut entries: Vec<(String, String, String)> = Vec::new();
        for member in header.split(',') {
            let (kv, props) = member.split_once(';').unwrap_or((member, ""));
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t']));
            let Some(v) = percent_decode(v) else { continue };
            if !is_token(k) {
                continue;
            }
            entries.retain(|(x, _, _)| x != k);
            entries.push((k.to_owned(), v, props.trim().to_owned()));
            if entries.len() == MAX_ENTRIES {
                break;
            }
        }
        Self(entries.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str())
    }

    /// A copy with `key` set to `value` (None if `key` is not a token).
    pub fn insert(&self, key: &str, value: &str) -> Option<Self> {
        if !is_token(key) {
            return None;
        }
        let mut v: Vec<_> = self.0.iter().filter(|(k, _, _)| k != key).cloned().collect();
        v.push((key.to_owned(), value.to_owned(), String::new()));
        v.truncate(MAX_ENTRIES);
        Some(Self(v.into()))
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries `(key, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v, _)| (k.as_str(), v.as_str()))
    }

    /// The header value; entries that would pass [`MAX_BAGGAGE_LEN`] are left out.
    pub fn to_header(&self) -> String {
        let mut out = String::new();
        for (k, v, props) in self.0.iter() {
            let mut member = format!("{k}={}", percent_encode(v));
            if !props.is_empty() {
                member.push(';');
                member.push_str(props);
            }
            let comma = usize::from(!out.is_empty());
            if out.len() + comma + member.len() > MAX_BAGGAGE_LEN {
                break;
            }
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&member);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_round_trip() {
        let b = Baggage::parse("userId=alice, serverNode = DF%2028 ;prop=1,bad key=x,=v,isProduction=false");
        assert_eq!(b.get("userId"), Some("alice"));
        assert_eq!(b.get("serverNode"), Some("DF 28"));
        assert_eq!(b.get("isProduction"), Some("false"));
        assert_eq!(b.iter().count(), 3, "invalid members are skipped");
        let again = Baggage::parse(&b.to_header());
        assert_eq!(again, b);
        assert!(Baggage::parse(&"k=v,".repeat(5000)).is_empty(), "oversize header ignored");
        let many: Vec<String> = (0..100).map(|i| format!("k{i}=v")).collect();
        assert_eq!(Baggage::parse(&many.join(",")).iter().count(), MAX_ENTRIES);
        assert_eq!(b.insert("a,b", "x"), None);
        assert_eq!(Baggage::default().insert("k", "a,b=c ü").unwrap().to_header(), "k=a%2Cb=c%20%C3%BC");
    }
}
