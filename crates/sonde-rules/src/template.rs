//! The template language of alert labels and annotations: the part of
//! Go's `text/template` that Prometheus' alert templates use.
//!
//! `{{ $labels.instance }}`, `{{ $value }}`, `{{ .Labels.job }}`,
//! `{{ $externalLabels.x }}`, `{{ $externalURL }}`, `{{ index $labels "a-b" }}`,
//! pipelines through `humanize`, `humanize1024`, `humanizeDuration`,
//! `humanizePercentage`, `humanizeTimestamp`, `printf`, `toUpper`,
//! `toLower`, `title`, `reReplaceAll`, `stripPort` and `safeHtml`, string,
//! number and boolean literals, parenthesised pipelines, `{{- -}}`
//! trimming and `{{/* comments */}}`; `{{ if }}`, `{{ else if }}`,
//! `{{ else }}`, `{{ end }}` with Go's truth and its comparison and logic
//! functions (`eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`; an
//! integer literal compared with a float is an error, as in Go). Other
//! control actions (`range`, `with`, `define`), variables and the query
//! functions are refused when the rule file is checked, not mis-rendered.
//! A missing label is empty (Prometheus' `missingkey=zero`).

use std::collections::BTreeMap;

use crate::go_format;

/// What a template is expanded with.
#[derive(Clone, Debug, Default)]
pub struct TemplateData<'a> {
    /// The alert's labels (`$labels`, `.Labels`).
    pub labels: BTreeMap<&'a str, &'a str>,
    /// The alert's value (`$value`, `.Value`).
    pub value: f64,
    /// External labels (`$externalLabels`).
    pub external_labels: BTreeMap<&'a str, &'a str>,
    /// The external URL (`$externalURL`).
    pub external_url: &'a str,
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(Vec<Node>);

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    Pipeline(Vec<Command>),
    If { condition: Vec<Command>, then: Vec<Node>, otherwise: Vec<Node> },
}

/// A template before its actions are parsed: text, and actions (trimmed,
/// comments left out).
enum Item {
    Text(String),
    Action(String),
}

/// What ends a list of nodes inside an `if`.
enum Stop {
    /// `{{ else }}`, or `{{ else if ... }}` with its condition.
    Else(Option<String>),
    End,
}

/// One command of a pipeline: a function with arguments, or an operand.
#[derive(Clone, Debug, PartialEq)]
struct Command {
    words: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq)]
enum Word {
    Func(String),
    Labels(Option<String>),
    ExternalLabels(Option<String>),
    Value,
    ExternalUrl,
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Sub(Vec<Command>),
}

enum Val<'a> {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Map(&'a BTreeMap<&'a str, &'a str>),
}

impl Val<'_> {
    fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(n) => go_format::v(*n),
            Val::Int(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Map(m) => {
                let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", inner.join(" "))
            }
        }
    }

    fn number(&self, func: &str) -> Result<f64, String> {
        match self {
            Val::Num(n) => Ok(*n),
            Val::Int(i) => Ok(*i as f64),
            Val::Str(s) => s.trim().parse().map_err(|_| format!("{func}: cannot convert {s:?} to a number")),
            Val::Bool(_) => Err(format!("{func}: cannot convert a bool to a number")),
            Val::Map(_) => Err(format!("{func}: cannot convert a map to a number")),
        }
    }

    /// Go's truth: false, zero, the empty string and the empty map are false.
    fn truth(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Num(n) => *n != 0.0,
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
        }
    }

    /// Go's comparison of basic values of one kind.
    fn compare(&self, other: &Val<'_>) -> Result<Option<std::cmp::Ordering>, String> {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => Ok(Some(a.cmp(b))),
            (Val::Num(a), Val::Num(b)) => Ok(a.partial_cmp(b)),
            (Val::Int(a), Val::Int(b)) => Ok(Some(a.cmp(b))),
            (Val::Bool(a), Val::Bool(b)) => Ok((a == b).then_some(std::cmp::Ordering::Equal)),
            (Val::Map(_), _) | (_, Val::Map(_)) => Err("invalid type for comparison".into()),
            _ => Err("incompatible types for comparison".into()),
        }
    }
}

const FUNCS: [&str; 22] = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "printf",
    "toUpper",
    "toLower",
    "title",
    "reReplaceAll",
    "stripPort",
    "safeHtml",
    "index",
];

impl Template {
    /// Parses `text`.
    ///
    /// # Errors
    ///
    /// A message naming what cannot be parsed or is not supported.
    pub fn parse(text: &str) -> Result<Self, String> {
        let items = items(text)?;
        let mut at = 0;
        match nodes(&items, &mut at)? {
            (nodes, None) => Ok(Template(nodes)),
            (_, Some(Stop::End)) => Err("unexpected {{end}}".into()),
            (_, Some(Stop::Else(_))) => Err("unexpected {{else}}".into()),
        }
    }

    /// Expands the template with `data`.
    ///
    /// # Errors
    ///
    /// A message when a function cannot take its argument (a label that
    /// is not a number given to `humanize`, a bad regular expression).
    pub fn expand(&self, data: &TemplateData<'_>) -> Result<String, String> {
        let mut out = String::new();
        expand_into(&self.0, data, &mut out)?;
        Ok(out)
    }
}

fn expand_into(nodes: &[Node], data: &TemplateData<'_>, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Pipeline(cmds) => out.push_str(&pipeline(cmds, data)?.text()),
            Node::If { condition, then, otherwise } => {
                let branch = if pipeline(condition, data)?.truth() { then } else { otherwise };
                expand_into(branch, data, out)?;
            }
        }
    }
    Ok(())
}

/// The value of a pipeline: each command's value handed to the next.
fn pipeline<'a>(cmds: &[Command], data: &'a TemplateData<'a>) -> Result<Val<'a>, String> {
    let mut carried: Option<Val<'a>> = None;
    for cmd in cmds {
        carried = Some(run(cmd, carried, data)?);
    }
    carried.ok_or_else(|| "empty pipeline".into())
}

/// The template's text and actions, with `{{-`/`-}}` trimming done and
/// comments left out.
fn items(text: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut literal = &rest[..open];
        if trim_next {
            literal = literal.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_before = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_before {
            literal = literal.trim_end();
        }
        if !literal.is_empty() {
            out.push(Item::Text(literal.to_owned()));
        }
        let close = after.find("}}").ok_or("unclosed action")?;
        let mut action = &after[..close];
        if trim_before {
            action = &action[1..];
        }
        trim_next = action.ends_with(" -") || action.ends_with("\t-") || action.ends_with("\n-");
        if trim_next {
            action = &action[..action.len() - 1];
        }
        rest = &after[close + 2..];
        let action = action.trim();
        if action.starts_with("/*") && action.ends_with("*/") {
            continue;
        }
        out.push(Item::Action(action.to_owned()));
    }
    let literal = if trim_next { rest.trim_start() } else { rest };
    if !literal.is_empty() {
        out.push(Item::Text(literal.to_owned()));
    }
    Ok(out)
}

/// Nodes from `items[*at..]` up to an `else` or `end` (returned) or the end.
fn nodes(items: &[Item], at: &mut usize) -> Result<(Vec<Node>, Option<Stop>), String> {
    let mut out = Vec::new();
    while let Some(item) = items.get(*at) {
        *at += 1;
        let action = match item {
            Item::Text(t) => {
                out.push(Node::Text(t.clone()));
                continue;
            }
            Item::Action(a) => a.as_str(),
        };
        let (first, rest) = action.split_once(char::is_whitespace).unwrap_or((action, ""));
        match first {
            "if" => out.push(if_node(parse_pipeline(rest.trim())?, items, at)?),
            "else" => {
                let rest = rest.trim();
                return match rest.strip_prefix("if") {
                    Some(c) if c.starts_with(char::is_whitespace) => {
                        Ok((out, Some(Stop::Else(Some(c.trim().to_owned())))))
                    }
                    _ if rest.is_empty() => Ok((out, Some(Stop::Else(None)))),
                    _ => Err(format!("unexpected {rest:?} after else")),
                };
            }
            "end" if rest.trim().is_empty() => return Ok((out, Some(Stop::End))),
            _ => out.push(Node::Pipeline(parse_pipeline(action)?)),
        }
    }
    Ok((out, None))
}

/// An `if` whose condition was read: its branches up to its `end` (an
/// `else if` chain shares that one `end`).
fn if_node(condition: Vec<Command>, items: &[Item], at: &mut usize) -> Result<Node, String> {
    let (then, stop) = nodes(items, at)?;
    let otherwise = match stop {
        Some(Stop::End) => Vec::new(),
        Some(Stop::Else(None)) => match nodes(items, at)? {
            (otherwise, Some(Stop::End)) => otherwise,
            (_, Some(Stop::Else(_))) => return Err("expected end; found {{else}}".into()),
            (_, None) => return Err("unexpected EOF: missing {{end}}".into()),
        },
        Some(Stop::Else(Some(c))) => vec![if_node(parse_pipeline(&c)?, items, at)?],
        None => return Err("unexpected EOF: missing {{end}}".into()),
    };
    Ok(Node::If { condition, then, otherwise })
}

fn words(action: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut s = String::from('"');
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted string".into()),
                    Some(q) if q == c => break,
                    Some('\\') if c == '"' => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some(other) => s.push(other),
                        None => return Err("unterminated quoted string".into()),
                    },
                    Some(ch) => s.push(ch),
                }
            }
            out.push(s);
        } else if c == '|' {
            chars.next();
            out.push("|".into());
        } else if c == '(' {
            // A parenthesised pipeline, kept whole ("(" and its inside).
            chars.next();
            let (mut depth, mut quote, mut inner) = (1, None, String::new());
            loop {
                let ch = chars.next().ok_or("unclosed left paren")?;
                match (quote, ch) {
                    (Some(q), ch) if ch == q => quote = None,
                    (Some('"'), '\\') => {
                        inner.push(ch);
                        inner.push(chars.next().ok_or("unterminated quoted string")?);
                        continue;
                    }
                    (Some(_), _) => {}
                    (None, '"' | '`') => quote = Some(ch),
                    (None, '(') => depth += 1,
                    (None, ')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                inner.push(ch);
            }
            out.push(format!("({inner}"));
        } else {
            let mut w = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '|' {
                    break;
                }
                w.push(ch);
                chars.next();
            }
            out.push(w);
        }
    }
    Ok(out)
}

fn parse_pipeline(action: &str) -> Result<Vec<Command>, String> {
    let first = action.split_whitespace().next().unwrap_or("");
    if matches!(
        first,
        "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block" | "break" | "continue"
    ) {
        return Err(format!("the {first:?} action is not supported in Sonde's alert templates"));
    }
    if action.contains(":=") || action.contains(" = ") {
        return Err("variable declarations are not supported in Sonde's alert templates".into());
    }
    let mut cmds = Vec::new();
    for part in words(action)?.split(|w| w == "|") {
        if part.is_empty() {
            return Err("missing command in pipeline".into());
        }
        let words = part.iter().map(|w| word(w)).collect::<Result<Vec<_>, _>>()?;
        cmds.push(Command { words });
    }
    if cmds.is_empty() {
        return Err("empty action".into());
    }
    Ok(cmds)
}

fn field(path: &str, prefix: &str) -> Option<Option<String>> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(None)
    } else {
        rest.strip_prefix('.').map(|r| Some(r.to_owned()))
    }
}

fn word(w: &str) -> Result<Word, String> {
    if let Some(s) = w.strip_prefix('"') {
        return Ok(Word::Str(s.to_owned()));
    }
    if let Some(inner) = w.strip_prefix('(') {
        return Ok(Word::Sub(parse_pipeline(inner.trim())?));
    }
    if let Some(f) = field(w, "$labels").or_else(|| field(w, ".Labels")) {
        return Ok(Word::Labels(f));
    }
    if let Some(f) = field(w, "$externalLabels").or_else(|| field(w, ".ExternalLabels")) {
        return Ok(Word::ExternalLabels(f));
    }
    match w {
        "$value" | ".Value" => return Ok(Word::Value),
        "$externalURL" | ".ExternalURL" => return Ok(Word::ExternalUrl),
        _ => {}
    }
    if FUNCS.contains(&w) {
        return Ok(Word::Func(w.to_owned()));
    }
    match w {
        "true" => return Ok(Word::Bool(true)),
        "false" => return Ok(Word::Bool(false)),
        _ => {}
    }
    // Go's constants: an integer unless written with a point or exponent.
    if !w.contains(['.', 'e', 'E', 'p', 'P']) {
        if let Ok(i) = w.parse::<i64>() {
            return Ok(Word::Int(i));
        }
    }
    if let Ok(n) = w.parse::<f64>() {
        return Ok(Word::Num(n));
    }
    Err(format!("function {w:?} not defined (or not supported by Sonde)"))
}

fn operand<'a>(w: &Word, data: &'a TemplateData<'a>) -> Result<Val<'a>, String> {
    let get = |m: &BTreeMap<&str, &str>, k: &str| Val::Str(m.get(k).copied().unwrap_or("").to_owned());
    Ok(match w {
        Word::Labels(None) => Val::Map(&data.labels),
        Word::Labels(Some(k)) => get(&data.labels, k),
        Word::ExternalLabels(None) => Val::Map(&data.external_labels),
        Word::ExternalLabels(Some(k)) => get(&data.external_labels, k),
        Word::Value => Val::Num(data.value),
        Word::ExternalUrl => Val::Str(data.external_url.to_owned()),
        Word::Str(s) => Val::Str(s.clone()),
        Word::Num(n) => Val::Num(*n),
        Word::Int(i) => Val::Int(*i),
        Word::Bool(b) => Val::Bool(*b),
        Word::Sub(cmds) => return pipeline(cmds, data),
        Word::Func(_) => Val::Str(String::new()),
    })
}

fn run<'a>(cmd: &Command, carried: Option<Val<'a>>, data: &'a TemplateData<'a>) -> Result<Val<'a>, String> {
    let Some(Word::Func(name)) = cmd.words.first() else {
        if cmd.words.len() != 1 || carried.is_some() {
            return Err("can't give arguments to a non-function".into());
        }
        return operand(&cmd.words[0], data);
    };
    let mut args: Vec<Val<'a>> = cmd.words[1..].iter().map(|w| operand(w, data)).collect::<Result<_, _>>()?;
    if let Some(c) = carried {
        args.push(c);
    }
    let compare = |args: &[Val<'_>]| -> Result<Option<std::cmp::Ordering>, String> {
        match args {
            [a, b] => a.compare(b).map_err(|e| format!("error calling {name}: {e}")),
            _ => Err(format!("wrong number of args for {name}: want 2 got {}", args.len())),
        }
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    match name.as_str() {
        "eq" => {
            let Some((first, rest)) = args.split_first().filter(|(_, r)| !r.is_empty()) else {
                return Err("missing argument for comparison".into());
            };
            for other in rest {
                if first.compare(other).map_err(|e| format!("error calling eq: {e}"))? == Some(Equal) {
                    return Ok(Val::Bool(true));
                }
            }
            return Ok(Val::Bool(false));
        }
        "ne" => return Ok(Val::Bool(compare(&args)? != Some(Equal))),
        "lt" => return Ok(Val::Bool(compare(&args)? == Some(Less))),
        "le" => return Ok(Val::Bool(matches!(compare(&args)?, Some(Less | Equal)))),
        "gt" => return Ok(Val::Bool(compare(&args)? == Some(Greater))),
        "ge" => return Ok(Val::Bool(matches!(compare(&args)?, Some(Greater | Equal)))),
        "not" => {
            return match &args[..] {
                [a] => Ok(Val::Bool(!a.truth())),
                _ => Err(format!("wrong number of args for not: want 1 got {}", args.len())),
            }
        }
        "and" | "or" => {
            if args.is_empty() {
                return Err(format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            // The first false (and) or true (or) argument, else the last.
            let stop_at = name == "or";
            let i = args.iter().position(|a| a.truth() == stop_at).unwrap_or(args.len() - 1);
            return Ok(args.swap_remove(i));
        }
        _ => {}
    }
    let one = |args: &[Val<'_>]| -> Result<f64, String> {
        match args {
            [a] => a.number(name),
            _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
        }
    };
    let text = |args: &[Val<'_>]| -> Result<String, String> {
        match args {
            [a] => Ok(a.text()),
            _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
        }
    };
    Ok(Val::Str(match name.as_str() {
        "humanize" => humanize(one(&args)?),
        "humanize1024" => humanize1024(one(&args)?),
        "humanizeDuration" => humanize_duration(one(&args)?),
        "humanizePercentage" => format!("{}%", go_format::g(one(&args)? * 100.0, Some(4))),
        "humanizeTimestamp" => humanize_timestamp(one(&args)?),
        "toUpper" => text(&args)?.to_uppercase(),
        "toLower" => text(&args)?.to_lowercase(),
        "title" => title(&text(&args)?),
        "safeHtml" => text(&args)?,
        "stripPort" => strip_port(&text(&args)?),
        "reReplaceAll" => match &args[..] {
            [re, repl, s] => {
                let re = regex::Regex::new(&re.text()).map_err(|e| format!("reReplaceAll: {e}"))?;
                re.replace_all(&s.text(), repl.text().as_str()).into_owned()
            }
            _ => return Err(format!("wrong number of args for reReplaceAll: want 3 got {}", args.len())),
        },
        "index" => match &args[..] {
            [Val::Map(m), key] => m.get(key.text().as_str()).copied().unwrap_or("").to_owned(),
            _ => return Err("index: want a map and a key".into()),
        },
        "printf" => {
            let Some((format, rest)) = args.split_first() else { return Err("printf: no format".into()) };
            printf(&format.text(), rest)?
        }
        other => return Err(format!("function {other:?} not defined")),
    }))
}

fn scaled(mut v: f64, step: f64, up: &[&str], down: &[&str], suffix: &str) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format!("{}{suffix}", go_format::g(v, Some(4)));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in up {
            if v.abs() < step {
                break;
            }
            prefix = p;
            v /= step;
        }
    } else {
        for p in down {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= step;
        }
    }
    format!("{}{prefix}{suffix}", go_format::g(v, Some(4)))
}

const SMALL: [&str; 8] = ["m", "u", "n", "p", "f", "a", "z", "y"];

/// Prometheus' `humanize`: SI prefixes, four significant digits.
fn humanize(v: f64) -> String {
    scaled(v, 1000.0, &["k", "M", "G", "T", "P", "E", "Z", "Y"], &SMALL, "")
}

/// Prometheus' `humanize1024`: binary prefixes above 1.
fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return go_format::g(v, Some(4));
    }
    scaled(v, 1024.0, &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], &[], "")
}

/// Prometheus' `humanizeDuration`: `1d 2h 3m 4s`, or seconds with a prefix.
fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_format::g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", go_format::g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", go_format::g(v, Some(4)))
        };
    }
    scaled(v, 1000.0, &[], &SMALL, "s")
}

/// Prometheus' `humanizeTimestamp`: Go's default form of a UTC time.
fn humanize_timestamp(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_format::g(v, Some(4));
    }
    let secs = v.trunc() as i64;
    let nanos = ((v - v.trunc()) * 1e9).round() as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => {
            let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_owned() };
            format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
        }
        None => go_format::g(v, Some(4)),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn strip_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_owned();
    }
    match host.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h.to_owned(),
        _ => host.to_owned(),
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %f %e %g %q
/// %%`, with a precision (`%.2f`).
fn printf(format: &str, args: &[Val<'_>]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let verb = chars.next().ok_or("printf: a format ends in %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let number = match arg {
            Val::Num(n) => Some(*n),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        };
        if let (Val::Int(i), 'd') = (arg, verb) {
            out.push_str(&i.to_string());
            continue;
        }
        out.push_str(&match (verb, number) {
            ('v', _) | ('s', None) => arg.text(),
            ('q', None) => format!("{:?}", arg.text()),
            ('f' | 'F', Some(n)) => go_format::f(n, precision.unwrap_or(6)),
            ('e', Some(n)) => {
                let s = format!("{:.*e}", precision.unwrap_or(6), n);
                match s.split_once('e') {
                    Some((m, e)) if e.starts_with('-') => format!("{m}e-{:0>2}", &e[1..]),
                    Some((m, e)) => format!("{m}e+{e:0>2}"),
                    None => s,
                }
            }
            ('g', Some(n)) => go_format::g(n, precision),
            (v, Some(n)) => format!("%!{v}(float64={})", go_format::v(n)),
            (v, None) => format!("%!{v}(string={})", arg.text()),
        });
    }
    if args.next().is_some() {
        out.push_str("%!(EXTRA)");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str, value: f64) -> String {
        let labels = BTreeMap::from([("instance", "db-1:9100"), ("job", "node")]);
        let data = TemplateData { labels, value, ..TemplateData::default() };
        Template::parse(text).unwrap().expand(&data).unwrap()
    }

    #[test]
    fn prometheus_alert_templates_expand_as_prometheus_expands_them() {
        let cases: &[(&str, f64, &str)] = &[
            ("{{ $labels.instance }} is down", 0.0, "db-1:9100 is down"),
            ("{{$labels.job}}/{{ .Labels.instance }}", 0.0, "node/db-1:9100"),
            ("value {{ $value }}", 0.5, "value 0.5"),
            ("value {{ $value }}", 1e6, "value 1e+06"),
            ("{{ $value | humanize }}", 1234567.0, "1.235M"),
            ("{{ $value | humanize }}", 0.0012, "1.2m"),
            ("{{ humanize $value }}", 0.0, "0"),
            ("{{ $value | humanize1024 }}", 2048.0, "2ki"),
            ("{{ $value | humanizePercentage }}", 0.1234, "12.34%"),
            ("{{ $value | humanizeDuration }}", 93784.0, "1d 2h 3m 4s"),
            ("{{ $value | humanizeDuration }}", 0.25, "250ms"),
            ("{{ $value | humanizeTimestamp }}", 1_700_000_000.0, "2023-11-14 22:13:20 +0000 UTC"),
            ("{{ printf \"%.2f\" $value }}", 2.0 / 3.0, "0.67"),
            ("{{ $value | printf \"%.1f%%\" }}", 99.44, "99.4%"),
            ("{{ $labels.instance | stripPort }}", 0.0, "db-1"),
            ("{{ $labels.job | toUpper }}", 0.0, "NODE"),
            ("{{ $labels.missing }}|", 0.0, "|"),
            ("a  {{- $labels.job -}}  b", 0.0, "anodeb"),
            ("{{/* a comment */}}x", 0.0, "x"),
            ("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", 0.0, "db-1"),
            ("{{ index $labels \"job\" }}", 0.0, "node"),
        ];
        for (text, value, want) in cases {
            assert_eq!(expand(text, *value), *want, "{text}");
        }
    }

    #[test]
    fn if_else_and_comparisons_as_go_evaluates_them() {
        let cases: &[(&str, f64, &str)] = &[
            ("{{ if $value }}x{{ end }}", 1.0, "x"),
            ("{{ if $value }}x{{ end }}", 0.0, ""),
            ("{{ if gt $value 100.0 }}critical{{ else }}warning{{ end }}", 150.0, "critical"),
            ("{{ if gt $value 100.0 }}critical{{ else }}warning{{ end }}", 50.0, "warning"),
            ("{{ if lt $value 1.0 }}a{{ else if lt $value 2.0 }}b{{ else }}c{{ end }}", 1.5, "b"),
            ("{{ if lt $value 1.0 }}a{{ else if lt $value 2.0 }}b{{ else }}c{{ end }}", 2.5, "c"),
            ("{{ if eq $labels.job \"node\" }}n{{ end }}", 0.0, "n"),
            ("{{ if eq $labels.job \"x\" \"node\" }}any{{ end }}", 0.0, "any"),
            ("{{ if ne $labels.job \"node\" }}other{{ else }}node{{ end }}", 0.0, "node"),
            ("{{ if and (ge $value 1.0) (le $value 2.0) }}in{{ else }}out{{ end }}", 1.0, "in"),
            ("{{ if or $labels.missing $labels.job }}y{{ end }}", 0.0, "y"),
            ("{{ or $labels.missing \"default\" }}", 0.0, "default"),
            ("{{ and $labels.job $labels.instance }}", 0.0, "db-1:9100"),
            ("{{ if not $labels.missing }}none{{ end }}", 0.0, "none"),
            ("{{ eq 1 1 }} {{ gt \"b\" \"a\" }}", 0.0, "true true"),
            ("{{ printf \"%d items\" 3 }}", 0.0, "3 items"),
            ("{{- if true -}}  yes  {{- end -}}", 0.0, "yes"),
            ("{{ if (gt $value 1.0) }}{{ $value | humanize }}{{ end }}", 2500.0, "2.5k"),
        ];
        for (text, value, want) in cases {
            assert_eq!(expand(text, *value), *want, "{text}");
        }
        // An integer compared with a float is an error, as in Go.
        let data = TemplateData { value: 5.0, ..TemplateData::default() };
        let err = Template::parse("{{ if gt $value 1 }}x{{ end }}").unwrap().expand(&data).unwrap_err();
        assert!(err.contains("incompatible types for comparison"), "{err}");
        for text in [
            "{{ if $value }}x",
            "{{ end }}",
            "{{ else }}",
            "{{ if $value }}{{ else }}{{ else }}{{ end }}",
            "{{ (gt 1 2 }}",
        ] {
            assert!(Template::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn what_sonde_does_not_render_is_refused_at_parse_time() {
        for text in [
            "{{ range $labels }}{{ end }}",
            "{{ with $labels.job }}{{ . }}{{ end }}",
            "{{ query \"up\" }}",
            "{{ $x := 1 }}",
            "{{ $labels.a",
        ] {
            assert!(Template::parse(text).is_err(), "{text}");
        }
    }
}
