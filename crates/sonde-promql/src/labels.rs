//! Label sets: sorted by name, `__name__` among them.

use std::fmt;

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A series' labels, sorted by name, names unique, no empty values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

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
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok().map(|i| self.0[i].1.as_str())
    }

    /// The metric name, if set.
    pub fn name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Sets `name` to `value`; an empty value removes it.
    pub fn set(&mut self, name: &str, value: String) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = value,
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (name.to_owned(), value)),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            self.0.remove(i);
        }
    }

    /// These labels without the metric name.
    pub fn without_name(mut self) -> Self {
        self.remove(METRIC_NAME);
        self
    }

    /// Keeps only the labels `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
            labels.0.push((METRIC_NAME.to_owned(), name.to_owned()));
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
