//! Label sets: sorted by name, `__name__` among them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A series' labels, sorted by name, names unique, no empty values.
/// Cheap to clone (shared until changed), as an evaluation hands one
/// series' labels to every step; a shared set also keeps its form without
/// the metric name once made (most functions drop the name), so a source
/// that keeps its series' labels pays for that once.
#[derive(Clone, Default)]
pub struct Labels(Arc<Pairs>);

#[derive(Default)]
struct Pairs {
    pairs: Vec<(Arc<str>, Arc<str>)>,
    without_name: OnceLock<Labels>,
}

impl Clone for Pairs {
    fn clone(&self) -> Self {
        Pairs { pairs: self.pairs.clone(), without_name: OnceLock::new() }
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.pairs == other.0.pairs
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.pairs.hash(state);
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.pairs.cmp(&other.0.pairs)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Labels").field(&self.0.pairs).finish()
    }
}

impl Labels {
    /// Labels from pairs in any order; the last of a repeated name wins and
    /// empty values are left out.
    pub fn new<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut labels = Labels::default();
        for (k, v) in pairs {
            labels.set(&k.into(), v.into());
        }
        labels
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        let pairs = &self.0.pairs;
        pairs.binary_search_by(|(k, _)| (**k).cmp(name)).ok().map(|i| &*pairs[i].1)
    }

    /// The metric name, if set.
    pub fn name(&self) -> Option<&str> {
        // Usually first: `__name__` sorts before lower-case names.
        match self.0.pairs.first() {
            Some((k, v)) if &**k == METRIC_NAME => Some(v),
            _ => self.get(METRIC_NAME),
        }
    }

    /// Sets `name` to `value`; an empty value removes it.
    pub fn set(&mut self, name: &str, value: String) {
        match self.0.pairs.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.pairs_mut().remove(i);
            }
            Ok(i) if *self.0.pairs[i].1 == *value => {}
            Ok(i) => self.pairs_mut()[i].1 = value.into(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.pairs_mut().insert(i, (name.into(), value.into())),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.pairs.binary_search_by(|(k, _)| (**k).cmp(name)) {
            self.pairs_mut().remove(i);
        }
    }

    /// The pairs to change: these labels' own (copied when shared), the
    /// form without the name forgotten.
    fn pairs_mut(&mut self) -> &mut Vec<(Arc<str>, Arc<str>)> {
        let inner = Arc::make_mut(&mut self.0);
        inner.without_name = OnceLock::new();
        &mut inner.pairs
    }

    /// These labels without the metric name (made once per shared set).
    pub fn without_name(self) -> Self {
        if self.name().is_none() {
            return self;
        }
        self.0
            .without_name
            .get_or_init(|| {
                let mut unnamed = Pairs { pairs: self.0.pairs.clone(), without_name: OnceLock::new() };
                unnamed.pairs.retain(|(k, _)| &**k != METRIC_NAME);
                Labels(Arc::new(unnamed))
            })
            .clone()
    }

    /// Keeps only the labels `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        if self.0.pairs.iter().any(|(k, _)| !keep(k)) {
            self.pairs_mut().retain(|(k, _)| keep(k));
        }
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.pairs.iter().map(|(k, v)| (&**k, &**v))
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.0.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }

    /// Parses a series as Sonde's stores name it: `name{a="1",b="2"}` or
    /// `name`, values quoted with the exposition format's escapes (`\\`,
    /// `\"`, `\n`) or Rust's (`\t`, `\u{..}`). `None` when it is not one.
    pub fn parse_series(id: &str) -> Option<Labels> {
        let (name, rest) = match id.find('{') {
            Some(i) => (&id[..i], Some(&id[i + 1..])),
            None => (id, None),
        };
        let mut labels = Labels::default();
        if !name.is_empty() {
            labels.pairs_mut().push((METRIC_NAME.into(), name.into()));
        }
        let Some(mut rest) = rest else { return Some(labels) };
        loop {
            rest = rest.trim_start_matches([',', ' ']);
            if rest == "}" {
                return Some(labels);
            }
            let eq = rest.find('=')?;
            let key = rest[..eq].trim();
            let mut value = String::new();
            let mut chars = rest[eq + 1..].trim_start().strip_prefix('"')?.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        '0' => value.push('\0'),
                        'u' => {
                            // Rust's `\u{1f600}`, as its Debug form writes some characters.
                            let mut hex = String::new();
                            if chars.next()?.1 != '{' {
                                return None;
                            }
                            loop {
                                match chars.next()?.1 {
                                    '}' => break,
                                    c => hex.push(c),
                                }
                            }
                            value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            let after = rest[eq + 1..].trim_start();
            rest = &after[1 + end + 1..];
            labels.set(key, value);
        }
    }
}

impl fmt::Display for Labels {
    /// Prometheus' form: `name{a="1", b="2"}`, `{a="1"}` without a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        if let Some(name) = name {
            f.write_str(name)?;
        }
        let rest: Vec<_> = self.iter().filter(|(k, _)| *k != METRIC_NAME).collect();
        if rest.is_empty() && name.is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_ids_parse_as_stores_write_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("up", Some("up")),
            ("up{}", Some("up")),
            (r#"x{a="1",b="2"}"#, Some(r#"x{a="1", b="2"}"#)),
            (r#"x{b="2",a="q\"uo\\te\nd"}"#, Some(r#"x{a="q\"uo\\te\nd", b="2"}"#)),
            (r#"x{a="",b="2"}"#, Some(r#"x{b="2"}"#)),
            (r#"x{a="1""#, None),
            (r#"x{a=1}"#, None),
            ("x{a=\"tab\\there\\u{1f600}\"}", Some("x{a=\"tab\there\u{1f600}\"}")),
        ];
        for (id, want) in cases {
            assert_eq!(Labels::parse_series(id).map(|l| l.to_string()).as_deref(), *want, "{id}");
        }
    }

    #[test]
    fn set_keeps_order_and_empty_removes() {
        let mut l = Labels::new([("b", "2"), ("a", "1")]);
        l.set("c", "3".into());
        l.set("a", String::new());
        assert_eq!(l.iter().collect::<Vec<_>>(), [("b", "2"), ("c", "3")]);
        assert_eq!(l.get("c"), Some("3"));
        assert_eq!(l.get("a"), None);
    }
}
