//! DogStatsD's two lines that are not metrics: events
//! (`_e{5,4}:title|text|p:low|t:warning|#tag:v`) and service checks
//! (`_sc|name|status|h:host|#tag:v|m:message`), as Datadog documents them.

use super::{tags_into, Reject};

/// A DogStatsD event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLine<'a> {
    /// The title (`{title length,…}` bytes).
    pub title: &'a str,
    /// The text, with `\n` escapes as sent (`{…,text length}` bytes).
    pub text: &'a str,
    /// `d:` Unix seconds, when sent.
    pub timestamp: Option<u64>,
    /// `h:` the host name.
    pub hostname: Option<&'a str>,
    /// `p:` `normal` (the default) or `low`.
    pub priority: &'a str,
    /// `t:` `info` (the default), `success`, `warning` or `error`.
    pub alert_type: &'a str,
    /// `k:` the aggregation key.
    pub aggregation_key: Option<&'a str>,
    /// `s:` the source type name.
    pub source_type: Option<&'a str>,
    /// `#` tags, `(key, value)`; a bare tag has an empty value.
    pub tags: Vec<(&'a str, &'a str)>,
}

/// A service check's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// 0
    Ok,
    /// 1
    Warning,
    /// 2
    Critical,
    /// 3
    Unknown,
}

impl CheckStatus {
    /// The number DogStatsD sends (0 to 3).
    pub fn number(self) -> u8 {
        self as u8
    }
}

/// A DogStatsD service check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckLine<'a> {
    /// The check's name.
    pub name: &'a str,
    /// Its status.
    pub status: CheckStatus,
    /// `d:` Unix seconds, when sent.
    pub timestamp: Option<u64>,
    /// `h:` the host name.
    pub hostname: Option<&'a str>,
    /// `#` tags.
    pub tags: Vec<(&'a str, &'a str)>,
    /// `m:` the message (always the last field, so it may hold `|`).
    pub message: Option<&'a str>,
}

/// Parses `_e{title_len,text_len}:title|text|…`.
pub(super) fn parse_event(line: &str) -> Result<EventLine<'_>, Reject> {
    let bad = Reject::BadEvent;
    let rest = line.strip_prefix("_e{").ok_or(bad)?;
    let (lengths, rest) = rest.split_once("}:").ok_or(bad)?;
    let (title_len, text_len) = lengths.split_once(',').ok_or(bad)?;
    let title_len: usize = title_len.parse().map_err(|_| bad)?;
    let text_len: usize = text_len.parse().map_err(|_| bad)?;
    // `get` refuses lengths past the end or inside a character.
    let title = rest.get(..title_len).ok_or(bad)?;
    let rest = rest.get(title_len..).and_then(|r| r.strip_prefix('|')).ok_or(bad)?;
    let text = rest.get(..text_len).ok_or(bad)?;
    let rest = rest.get(text_len..).ok_or(bad)?;
    if title.is_empty() || title.chars().any(char::is_control) {
        return Err(bad);
    }
    let mut event = EventLine {
        title,
        text,
        timestamp: None,
        hostname: None,
        priority: "normal",
        alert_type: "info",
        aggregation_key: None,
        source_type: None,
        tags: Vec::new(),
    };
    if rest.is_empty() {
        return Ok(event);
    }
    for field in rest.strip_prefix('|').ok_or(bad)?.split('|') {
        if let Some(d) = field.strip_prefix("d:") {
            event.timestamp = Some(d.parse().map_err(|_| bad)?);
        } else if let Some(h) = field.strip_prefix("h:") {
            event.hostname = Some(h);
        } else if let Some(p) = field.strip_prefix("p:") {
            event.priority = match p {
                "normal" | "low" => p,
                _ => return Err(bad),
            };
        } else if let Some(t) = field.strip_prefix("t:") {
            event.alert_type = match t {
                "info" | "success" | "warning" | "error" => t,
                _ => return Err(bad),
            };
        } else if let Some(k) = field.strip_prefix("k:") {
            event.aggregation_key = Some(k);
        } else if let Some(s) = field.strip_prefix("s:") {
            event.source_type = Some(s);
        } else if let Some(t) = field.strip_prefix('#') {
            tags_into(&mut event.tags, t)?;
        }
        // Other fields (`c:` container ids) are ignored, as for metrics.
    }
    Ok(event)
}

/// Parses `_sc|name|status|…`.
pub(super) fn parse_service_check(line: &str) -> Result<CheckLine<'_>, Reject> {
    let bad = Reject::BadServiceCheck;
    let rest = line.strip_prefix("_sc|").ok_or(bad)?;
    // The message runs to the end of the line.
    let (rest, message) = match rest.split_once("|m:") {
        Some((r, m)) => (r, Some(m)),
        None => (rest, None),
    };
    let mut fields = rest.split('|');
    let name = fields.next().unwrap_or("");
    if name.is_empty() || name.len() > super::MAX_NAME || name.chars().any(char::is_control) {
        return Err(bad);
    }
    let status = match fields.next().ok_or(bad)? {
        "0" => CheckStatus::Ok,
        "1" => CheckStatus::Warning,
        "2" => CheckStatus::Critical,
        "3" => CheckStatus::Unknown,
        _ => return Err(bad),
    };
    let mut check = CheckLine { name, status, timestamp: None, hostname: None, tags: Vec::new(), message };
    for field in fields {
        if let Some(d) = field.strip_prefix("d:") {
            check.timestamp = Some(d.parse().map_err(|_| bad)?);
        } else if let Some(h) = field.strip_prefix("h:") {
            check.hostname = Some(h);
        } else if let Some(t) = field.strip_prefix('#') {
            tags_into(&mut check.tags, t)?;
        }
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_item, Item};
    use super::*;

    #[test]
    fn events() {
        let Ok(Item::Event(e)) =
            parse_item("_e{6,11}:deploy|v2 rolled\\n|d:1700000000|h:web-1|p:low|t:warning|k:k1|s:ci|#env:prod,canary")
        else {
            panic!("an event")
        };
        assert_eq!(
            e,
            EventLine {
                title: "deploy",
                text: "v2 rolled\\n",
                timestamp: Some(1_700_000_000),
                hostname: Some("web-1"),
                priority: "low",
                alert_type: "warning",
                aggregation_key: Some("k1"),
                source_type: Some("ci"),
                tags: vec![("env", "prod"), ("canary", "")],
            }
        );
        // The lengths are in bytes, and the text may hold `|`.
        // An event exactly as long as a line may be is an event.
        let text = "t".repeat(super::super::MAX_LINE - "_e{1,4084}:a|".len());
        let line = format!("_e{{1,{}}}:a|{text}", text.len());
        assert_eq!(line.len(), super::super::MAX_LINE);
        assert!(matches!(parse_item(&line), Ok(Item::Event(_))), "{}", line.len());
        let Ok(Item::Event(e)) = parse_item("_e{6,5}:héllo|a|b|c") else { panic!("an event") };
        assert_eq!((e.title, e.text, e.priority, e.alert_type), ("héllo", "a|b|c", "normal", "info"));
        for bad in [
            "_e{5,4}:title|tex",
            "_e{5,4}:titl|text",
            "_e{x,4}:title|text",
            "_e{5}:title|text",
            "_e{2,1}:hé|x", // the title's length ends inside a character
            "_e{0,1}:|x",
            "_e{1,1}:a|b|t:panic",
            "_e{1,1}:a|b|p:high",
            "_e{1,1}:a|b|d:yesterday",
            "_e{1,1}:a|bc",
            "_e{1,1}:a|b|#",
        ] {
            assert!(parse_item(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_checks() {
        let Ok(Item::ServiceCheck(c)) = parse_item("_sc|db.up|2|d:1700000000|h:db-1|#env:prod|m:down: disk | full")
        else {
            panic!("a check")
        };
        assert_eq!(
            c,
            CheckLine {
                name: "db.up",
                status: CheckStatus::Critical,
                timestamp: Some(1_700_000_000),
                hostname: Some("db-1"),
                tags: vec![("env", "prod")],
                message: Some("down: disk | full"),
            }
        );
        assert_eq!(c.status.number(), 2);
        let Ok(Item::ServiceCheck(c)) = parse_item("_sc|ok|0") else { panic!("a check") };
        assert_eq!((c.status, c.tags.len(), c.message), (CheckStatus::Ok, 0, None));
        for (line, status) in [("_sc|a|1", CheckStatus::Warning), ("_sc|a|3", CheckStatus::Unknown)] {
            let Ok(Item::ServiceCheck(c)) = parse_item(line) else { panic!("{line}") };
            assert_eq!(c.status, status, "{line}");
        }
        // Names as long as a metric's may be, no longer, and without control characters.
        let longest = "n".repeat(super::super::MAX_NAME);
        assert!(parse_item(&format!("_sc|{longest}|0")).is_ok());
        assert_eq!(parse_item(&format!("_sc|{longest}n|0")), Err(Reject::BadServiceCheck));
        assert_eq!(parse_item("_sc|a\u{7}b|0"), Err(Reject::BadServiceCheck));
        for bad in ["_sc|x|4", "_sc||0", "_sc|x", "_sc|x|0|d:soon", "_sc|x|0|#a,,b"] {
            assert!(parse_item(bad).is_err(), "{bad}");
        }
    }
}
