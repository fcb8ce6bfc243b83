//! One StatsD line: `name:value|type[|@rate][|#tag:value,...]`.

use std::fmt::Write;

/// The StatsD metric types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `c`: a count to add.
    Counter,
    /// `g`: a gauge (absolute, or a signed delta).
    Gauge,
    /// `ms`: a duration in milliseconds.
    Timing,
    /// `s`: a member of a set (distinct values counted per interval).
    Set,
    /// `h`: a histogram value (DogStatsD).
    Histogram,
    /// `d`: a distribution value (DogStatsD).
    Distribution,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Self::Counter => "c",
            Self::Gauge => "g",
            Self::Timing => "ms",
            Self::Set => "s",
            Self::Histogram => "h",
            Self::Distribution => "d",
        }
    }
}

/// ASCII bytes that could end a field or a line (`|@#,`, line ends, NUL,
/// whitespace): replaced by `_` wherever they occur.
const fn field_breaks() -> [bool; 128] {
    let mut t = [false; 128];
    let breaks = b"|@#,\n\r\0 \t\x0b\x0c";
    let mut i = 0;
    while i < breaks.len() {
        t[breaks[i] as usize] = true;
        i += 1;
    }
    t
}
const BREAKS: [bool; 128] = field_breaks();

/// Writes `s` with every character that could end a field or a line
/// replaced by `_`, so no name can inject another metric. Text that needs
/// no change (the usual case) is copied whole.
fn clean(out: &mut String, s: &str, also_colon: bool) {
    let clean_byte = |b: u8| b < 0x80 && !BREAKS[b as usize] && !(also_colon && b == b':');
    if s.bytes().all(clean_byte) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        let bad =
            matches!(c, '|' | '@' | '#' | ',' | '\n' | '\r' | '\0') || c.is_whitespace() || (also_colon && c == ':');
        out.push(if bad { '_' } else { c });
    }
}

/// Appends `value` to `name` as StatsD name segments (for labels without
/// tags): characters outside StatsD's name alphabet `[A-Za-z0-9_.-]` are
/// replaced, each run of them by one `_`; the value's own dots separate
/// segments, and empty segments are dropped, so an empty value adds nothing.
pub(crate) fn push_name_segments(name: &mut String, value: &str) {
    let mut mapped = String::with_capacity(value.len());
    let mut in_run = false;
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            mapped.push(c);
            in_run = false;
        } else if !in_run {
            mapped.push('_');
            in_run = true;
        }
    }
    for segment in mapped.split('.').filter(|s| !s.is_empty()) {
        name.push('.');
        name.push_str(segment);
    }
}

/// A float in the shortest form that reads back exactly, integers without a
/// fraction.
fn number(out: &mut String, v: f64) {
    // Whole when the integer part reads back as the value (no call to
    // `trunc`, which `fract` makes); NaN and infinities are not.
    if v.abs() < 1e15 && (v as i64) as f64 == v {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        let _ = write!(out, "{v}");
    }
}

/// What every line of one client carries: the name prefix and constant
/// tags, cleaned once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Framing {
    /// The prefix as given.
    pub(crate) prefix: String,
    /// The cleaned prefix and its `.` (empty without a prefix).
    head: String,
    /// The constant tags as they go on the line, each with the `|#` or `,`
    /// before it (empty without tags).
    tags: String,
}

impl Framing {
    pub(crate) fn new(prefix: String, tags: &[(String, String)]) -> Self {
        let mut head = String::new();
        if !prefix.is_empty() {
            clean(&mut head, &prefix, true);
            head.push('.');
        }
        let mut text = String::new();
        push_tags(&mut text, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), true);
        Self { prefix, head, tags: text }
    }
}

/// Appends DogStatsD tags, the first after `|#` when `first`, the others
/// after `,`.
fn push_tags<'a>(out: &mut String, tags: impl Iterator<Item = (&'a str, &'a str)>, mut first: bool) {
    for (k, v) in tags {
        out.push_str(if first { "|#" } else { "," });
        first = false;
        clean(out, k, true);
        if !v.is_empty() {
            out.push(':');
            clean(out, v, false);
        }
    }
}

/// A metric's value as it goes on the line.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    /// A number; `signed` writes `+` before non-negative values (gauge deltas).
    Num(f64, bool),
    /// Text (set members), sanitised like a metric name: StatsD's name
    /// alphabet, since a member travels in the value field.
    Text(&'a str),
}

/// Appends one line (no trailing newline).
pub(crate) fn format(
    out: &mut String,
    framing: &Framing,
    name: &str,
    value: Val<'_>,
    kind: Kind,
    rate: f64,
    tags: &[(&str, &str)],
) {
    out.push_str(&framing.head);
    clean(out, name, true);
    out.push(':');
    match value {
        Val::Num(v, signed) => {
            if signed && v >= 0.0 {
                out.push('+');
            }
            number(out, v);
        }
        Val::Text(t) => clean(out, t, true),
    }
    out.push('|');
    out.push_str(kind.code());
    if rate < 1.0 {
        out.push_str("|@");
        number(out, rate);
    }
    out.push_str(&framing.tags);
    push_tags(out, tags.iter().copied(), framing.tags.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(prefix: &str, name: &str, v: &str, kind: Kind, rate: f64, tags: &[(&str, &str)]) -> String {
        let val = match v.strip_prefix('+') {
            Some(n) => Val::Num(n.parse().unwrap(), true),
            None => v.parse().map(|n| Val::Num(n, false)).unwrap_or(Val::Text(v)),
        };
        let mut s = String::new();
        format(&mut s, &Framing::new(prefix.into(), &[]), name, val, kind, rate, tags);
        s
    }

    fn value(v: f64, signed: bool) -> String {
        let mut s = String::new();
        format(&mut s, &Framing::default(), "n", Val::Num(v, signed), Kind::Gauge, 1.0, &[]);
        s.trim_start_matches("n:").trim_end_matches("|g").to_owned()
    }

    /// Label values as name segments: the alphabet, runs, dots, empties.
    #[test]
    fn name_segments_table() {
        for (value, want) in [
            ("GET", "m.GET"),
            ("/api/orders", "m._api_orders"),
            ("a b  c", "m.a_b_c"),
            ("api.v1", "m.api.v1"),
            ("a..b", "m.a.b"),
            (".x.", "m.x"),
            ("", "m"),
            ("...", "m"),
            ("é/ü", "m._"),
            ("x:y|z@w#v,u", "m.x_y_z_w_v_u"),
            ("ok-1_2", "m.ok-1_2"),
        ] {
            let mut name = "m".to_owned();
            push_name_segments(&mut name, value);
            assert_eq!(name, want, "{value:?}");
        }
    }

    #[test]
    fn grammar_table() {
        assert_eq!(line("app", "hits", "1", Kind::Counter, 1.0, &[]), "app.hits:1|c");
        assert_eq!(line("", "t", "12.5", Kind::Timing, 0.1, &[]), "t:12.5|ms|@0.1");
        assert_eq!(line("", "g", "+3", Kind::Gauge, 1.0, &[("host", "a"), ("flag", "")]), "g:+3|g|#host:a,flag");
        assert_eq!(line("", "u", "alice", Kind::Set, 1.0, &[]), "u:alice|s");
        assert_eq!(line("", "d", "7", Kind::Distribution, 1.0, &[]), "d:7|d");
    }

    #[test]
    fn hostile_names_and_tags_cannot_inject() {
        let l = line("p", "evil:1|c\nother", "1", Kind::Counter, 1.0, &[("k|#x", "v\nz:1|c"), ("a,b", "c,d")]);
        assert_eq!(l, "p.evil_1_c_other:1|c|#k__x:v_z:1_c,a_b:c_d");
        assert_eq!(l.matches('|').count(), 2, "only the type and tag separators");
        assert!(!l.contains('\n'));
    }

    #[test]
    fn values() {
        assert_eq!(value(3.0, true), "+3");
        assert_eq!(value(-2.5, true), "-2.5");
        assert_eq!(value(0.1, false), "0.1");
        assert_eq!(value(1e20, false), "100000000000000000000");
        // Whole numbers as integers: -0 has no sign, and 2^63 (beyond i64)
        // is written as a float, not clamped to i64::MAX.
        assert_eq!(value(-0.0, false), "0");
        assert_eq!(value(9_223_372_036_854_775_808.0, false), "9223372036854776000");
    }

    /// Text made only of characters to replace takes the replacing path
    /// too (the whole-copy path is for text that needs no change): names
    /// of separators only, colons in names and keys but not tag values.
    #[test]
    fn text_of_separators_only() {
        assert_eq!(line("", "||", "1", Kind::Counter, 1.0, &[("::", "::")]), "__:1|c|#__:::");
        assert_eq!(line(":", ":", "1", Kind::Counter, 1.0, &[]), "_._:1|c");
        assert_eq!(line("", "a", "1", Kind::Counter, 1.0, &[("k", "\u{a0}")]), "a:1|c|#k:_");
    }
}
