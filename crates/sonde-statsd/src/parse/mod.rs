//! Parsing StatsD and DogStatsD lines (for receivers such as the hub).
//!
//! Input is untrusted: every failure is a [`Reject`] naming its reason
//! (for per-reason counting), nothing panics, and sizes are capped.

mod dogstatsd;

pub use dogstatsd::{CheckLine, CheckStatus, EventLine};

use crate::Kind;

/// Longest line accepted, in bytes.
pub const MAX_LINE: usize = 4096;
/// Longest metric name accepted, in bytes.
pub const MAX_NAME: usize = 256;
/// Most tags accepted on one line.
pub const MAX_TAGS: usize = 32;

/// A metric's value as sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A number (`12`, `0.5`).
    Number(f64),
    /// A gauge delta (`+3`, `-2`): only for gauges.
    Delta(f64),
    /// A set member.
    Member(&'a str),
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    /// The metric name.
    pub name: &'a str,
    /// The value.
    pub value: Value<'a>,
    /// The type.
    pub kind: Kind,
    /// The sample rate (`|@0.1`), 1 when absent.
    pub rate: f64,
    /// DogStatsD tags, `(key, value)`; a bare tag has an empty value.
    pub tags: Vec<(&'a str, &'a str)>,
}

/// Why a line was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// No `:` between name and value.
    NoValue,
    /// An empty name, or one longer than [`MAX_NAME`] or with control characters.
    BadName,
    /// No `|type` field.
    NoType,
    /// A type other than `c g ms h d s`.
    UnknownType,
    /// A value that is not a number (or a signed one where only gauges allow it).
    BadValue,
    /// A sample rate outside (0, 1].
    BadRate,
    /// More than [`MAX_TAGS`] tags, or an empty tag.
    BadTags,
    /// A DogStatsD event (`_e{…}`) that does not follow its format.
    BadEvent,
    /// A DogStatsD service check (`_sc|…`) that does not follow its format.
    BadServiceCheck,
}

impl Reject {
    /// The `reason` label value for counting.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::NoValue => "no_value",
            Self::BadName => "bad_name",
            Self::NoType => "no_type",
            Self::UnknownType => "unknown_type",
            Self::BadValue => "bad_value",
            Self::BadRate => "bad_rate",
            Self::BadTags => "bad_tags",
            Self::BadEvent => "bad_event",
            Self::BadServiceCheck => "bad_service_check",
        }
    }
}

/// Parses one line (without its newline).
///
/// # Errors
///
/// The [`Reject`] reason: an empty name, no value, a bad value, an unknown type, a bad sample rate, bad tags,
/// or a line over [`MAX_LINE`].
pub fn parse_line(line: &str) -> Result<Line<'_>, Reject> {
    if line.len() > MAX_LINE {
        return Err(Reject::TooLong);
    }
    let (name, rest) = line.split_once(':').ok_or(Reject::NoValue)?;
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(|c| c.is_control()) {
        return Err(Reject::BadName);
    }
    let mut fields = rest.split('|');
    let value = fields.next().unwrap_or("");
    let kind = match fields.next().ok_or(Reject::NoType)? {
        "c" => Kind::Counter,
        "g" => Kind::Gauge,
        "ms" => Kind::Timing,
        "h" => Kind::Histogram,
        "d" => Kind::Distribution,
        "s" => Kind::Set,
        _ => return Err(Reject::UnknownType),
    };
    let value = match kind {
        Kind::Set => match value {
            "" => return Err(Reject::BadValue),
            member => Value::Member(member),
        },
        _ => {
            let signed = value.starts_with(['+', '-']);
            let n: f64 = value.parse().map_err(|_| Reject::BadValue)?;
            if !n.is_finite() {
                return Err(Reject::BadValue);
            }
            if kind == Kind::Gauge && signed {
                Value::Delta(n)
            } else {
                Value::Number(n)
            }
        }
    };
    let mut rate = 1.0;
    let mut tags = Vec::new();
    for f in fields {
        if let Some(r) = f.strip_prefix('@') {
            rate = r.parse().map_err(|_| Reject::BadRate)?;
            if !(rate > 0.0 && rate <= 1.0) {
                return Err(Reject::BadRate);
            }
        } else if let Some(t) = f.strip_prefix('#') {
            tags_into(&mut tags, t)?;
        }
        // Other DogStatsD fields (`c:` container ids, `T` timestamps) are ignored.
    }
    Ok(Line { name, value, kind, rate, tags })
}

/// Appends a `#` field's comma-separated tags to `tags`.
fn tags_into<'a>(tags: &mut Vec<(&'a str, &'a str)>, field: &'a str) -> Result<(), Reject> {
    for tag in field.split(',') {
        if tag.is_empty() || tags.len() == MAX_TAGS {
            return Err(Reject::BadTags);
        }
        tags.push(tag.split_once(':').unwrap_or((tag, "")));
    }
    Ok(())
}

/// One line of a datagram: a metric, or one of DogStatsD's events and
/// service checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<'a> {
    /// `name:value|type…`
    Metric(Line<'a>),
    /// `_e{title length,text length}:title|text…`
    Event(EventLine<'a>),
    /// `_sc|name|status…`
    ServiceCheck(CheckLine<'a>),
}

/// Parses one line (without its newline) of any kind.
///
/// # Errors
///
/// As [`parse_line`] for metrics; [`Reject::BadEvent`] or
/// [`Reject::BadServiceCheck`] for a malformed event or service check.
pub fn parse_item(line: &str) -> Result<Item<'_>, Reject> {
    if line.len() > MAX_LINE {
        Err(Reject::TooLong)
    } else if line.starts_with("_e{") {
        dogstatsd::parse_event(line).map(Item::Event)
    } else if line.starts_with("_sc|") {
        dogstatsd::parse_service_check(line).map(Item::ServiceCheck)
    } else {
        parse_line(line).map(Item::Metric)
    }
}

/// Parses every non-empty line of a datagram (or TCP chunk); a bad line
/// does not affect the good ones around it.
pub fn parse_datagram(text: &str) -> impl Iterator<Item = Result<Item<'_>, Reject>> {
    text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).map(parse_item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        fn ok(l: &str) -> Line<'_> {
            parse_line(l).unwrap()
        }
        assert_eq!(
            ok("hits:1|c"),
            Line { name: "hits", value: Value::Number(1.0), kind: Kind::Counter, rate: 1.0, tags: vec![] }
        );
        assert_eq!(ok("t:12.5|ms|@0.1").rate, 0.1);
        assert_eq!(ok("g:+3|g").value, Value::Delta(3.0));
        assert_eq!(ok("g:-3|g").value, Value::Delta(-3.0));
        assert_eq!(ok("g:3|g").value, Value::Number(3.0));
        assert_eq!(ok("c:-3|c").value, Value::Number(-3.0), "signs mean deltas only for gauges");
        assert_eq!(ok("u:alice|s").value, Value::Member("alice"));
        assert_eq!(ok("d:1|d|#env:prod,canary").tags, vec![("env", "prod"), ("canary", "")]);
        assert_eq!(ok("h:1|h|c:abc|T1700000000").kind, Kind::Histogram, "unknown DogStatsD fields are ignored");
        let bad: &[(&str, Reject)] = &[
            ("nocolon", Reject::NoValue),
            (":1|c", Reject::BadName),
            ("a:1", Reject::NoType),
            ("a:1|x", Reject::UnknownType),
            ("a:one|c", Reject::BadValue),
            ("a:NaN|g", Reject::BadValue),
            ("a:inf|ms", Reject::BadValue),
            ("a:|s", Reject::BadValue),
            ("a:1|c|@2", Reject::BadRate),
            ("a:1|c|@0", Reject::BadRate),
            ("a:1|c|@x", Reject::BadRate),
            ("a:1|c|#", Reject::BadTags),
            ("a:1|c|#a,,b", Reject::BadTags),
        ];
        for (line, want) in bad {
            assert_eq!(parse_line(line), Err(*want), "{line}");
        }
        assert_eq!(parse_line(&format!("a:1|c|#{}", vec!["t"; 40].join(","))), Err(Reject::BadTags));
        assert_eq!(parse_line(&"a".repeat(MAX_LINE + 1)), Err(Reject::TooLong));
        // Exactly MAX_LINE is not too long (its name is, though).
        assert_eq!(parse_line(&format!("{}:1|c", "a".repeat(MAX_LINE - 4))), Err(Reject::BadName));
        let longest = "n".repeat(MAX_NAME);
        assert_eq!(ok(&format!("{longest}:1|c")).name, longest);
        assert_eq!(parse_line(&format!("{longest}n:1|c")), Err(Reject::BadName));
        assert_eq!(parse_line("a\u{7}b:1|c"), Err(Reject::BadName));
        let results: Vec<_> = parse_datagram("a:1|c\nbroken\r\n\nb:2|g\n").collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok(), "bad lines do not spoil good ones");
        assert_eq!(parse_item(&format!("_e{{1,1}}:a|{}", "b".repeat(MAX_LINE))), Err(Reject::TooLong));
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,300}") {
            for r in parse_datagram(&text) {
                let _ = r;
            }
        }

        #[test]
        fn events_parse_back(title in "[^\\p{Cc}|]{1,30}", text in "[^\n\r]{0,60}", tag in "[a-z]{1,8}") {
            let line = format!("_e{{{},{}}}:{title}|{text}|t:error|#env:{tag}", title.len(), text.len());
            let Ok(Item::Event(e)) = parse_item(&line) else { panic!("{line}") };
            prop_assert_eq!((e.title, e.text, e.alert_type), (title.as_str(), text.as_str(), "error"));
            prop_assert_eq!(e.tags, vec![("env", tag.as_str())]);
        }

        #[test]
        fn client_lines_parse_back(name in "[a-z][a-z0-9._]{0,20}", v in -1e6f64..1e6, tag in "[a-z]{1,8}") {
            let mut line = String::new();
            let framing = crate::line::Framing::new(String::new(), &[("env".into(), tag.clone())]);
            crate::line::format(&mut line, &framing, &name, crate::line::Val::Num(v, false), Kind::Timing, 0.5, &[]);
            let parsed = parse_line(&line).unwrap();
            prop_assert_eq!(parsed.name, name.as_str());
            prop_assert_eq!(parsed.value, Value::Number(v));
            prop_assert_eq!(parsed.rate, 0.5);
            prop_assert_eq!(parsed.tags, vec![("env", tag.as_str())]);
        }
    }
}
