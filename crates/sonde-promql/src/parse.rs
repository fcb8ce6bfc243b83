//! Parsing with the parser's grammar, Prometheus' extra functions of 2.x,
//! bounds on size and depth, and the position of a syntax error.

use std::sync::Once;

use lrpar::{Lexeme, Lexer};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr, Function};

use crate::Error;

/// Longest query accepted (bytes).
pub const MAX_QUERY_BYTES: usize = 64 << 10;
/// Most tokens in a query: bounds the syntax tree's depth before it is
/// built.
pub const MAX_TOKENS: usize = 4096;
/// Deepest nesting of expressions evaluated.
pub const MAX_DEPTH: usize = 128;

const INVALID: &str = "invalid promql query";

/// Parses `query`.
///
/// # Errors
///
/// [`Error::Parse`] with the position of the offending token where it can
/// be found, or when the query is too long, has too many tokens or nests
/// too deep.
pub fn parse(query: &str) -> Result<Expr, Error> {
    static EXTRA: Once = Once::new();
    EXTRA.call_once(|| {
        // Prometheus 2.x's name for double exponential smoothing.
        let holt_winters = Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        );
        let _ = parser::register_extra_functions(vec![holt_winters]);
    });
    let fail = |message: String, position| Error::Parse { message, position };
    if query.len() > MAX_QUERY_BYTES {
        return Err(fail(format!("query is longer than {MAX_QUERY_BYTES} bytes"), None));
    }
    let spans = match parser::lexer(query) {
        Ok(lexer) => lexer
            .iter()
            .filter_map(Result::ok)
            .map(|l| (l.span().start(), l.span().end()))
            .filter(|(s, e)| s < e)
            .collect::<Vec<_>>(),
        Err(message) => {
            let position = lex_error_position(query, &message);
            return Err(fail(message, position));
        }
    };
    if spans.len() > MAX_TOKENS {
        return Err(fail(format!("query has more than {MAX_TOKENS} tokens"), None));
    }
    match parser::parse(query) {
        Ok(expr) => {
            let depth = depth(&expr);
            if depth > MAX_DEPTH {
                return Err(fail(format!("query nests {depth} deep, more than {MAX_DEPTH}"), None));
            }
            Ok(expr)
        }
        Err(message) if message == INVALID => {
            let position = error_position(query, &spans);
            let message = match position {
                Some(p) if p >= query.len() => "unexpected end of input".to_owned(),
                Some(p) => {
                    let end = spans.iter().find(|(s, _)| *s == p).map_or(query.len(), |(_, e)| *e);
                    format!("unexpected {:?}", &query[p..end])
                }
                None => message,
            };
            Err(fail(message, position))
        }
        Err(message) => Err(fail(message, None)),
    }
}

/// The matchers of every selector in `expr` (for what a query reads:
/// exemplars, series).
pub fn selectors(expr: &Expr) -> Vec<Vec<crate::Matcher>> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::VectorSelector(vs) => out.push(crate::engine::selector_matchers(vs)),
            Expr::MatrixSelector(ms) => out.push(crate::engine::selector_matchers(&ms.vs)),
            other => stack.extend(children(other)),
        }
    }
    out
}

/// Parses a duration as Prometheus writes them (`90s`, `1h30m`, `2d`;
/// `0` and zero amounts such as `0m` are zero, as Prometheus' own parser
/// has them in rule and test files).
///
/// # Errors
///
/// [`Error::BadData`] when it is not one.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, Error> {
    let bad = |e: String| Error::BadData(format!("invalid duration {s:?}: {e}"));
    match promql_parser::util::parse_duration(s) {
        Ok(d) => Ok(d),
        // The parser wants more than zero; a zero written with units is
        // one whose amounts, made 1, parse.
        Err(_) if s == "0" => Ok(std::time::Duration::ZERO),
        Err(e) if !s.is_empty() && s.bytes().filter(u8::is_ascii_digit).all(|b| b == b'0') => {
            let ones: String = s.chars().map(|c| if c == '0' { '1' } else { c }).collect();
            promql_parser::util::parse_duration(&ones).map(|_| std::time::Duration::ZERO).map_err(|_| bad(e))
        }
        Err(e) => Err(bad(e)),
    }
}

/// The depth of `expr`'s tree, walked without recursion.
fn depth(expr: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        stack.extend(children(e).into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

/// The expressions directly inside `e`.
pub(crate) fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Aggregate(a) => std::iter::once(&*a.expr).chain(a.param.as_deref()).collect(),
        Expr::Unary(u) => vec![&u.expr],
        Expr::Binary(b) => vec![&b.lhs, &b.rhs],
        Expr::Paren(p) => vec![&p.expr],
        Expr::Subquery(s) => vec![&s.expr],
        Expr::Call(c) => c.args.args.iter().map(|a| &**a).collect(),
        _ => Vec::new(),
    }
}

/// Where a query that does not parse goes wrong: the start of the first
/// token after which no ending makes it parse (the end of the query when
/// every prefix could still be completed). `None` for queries too long to
/// search.
fn error_position(query: &str, spans: &[(usize, usize)]) -> Option<usize> {
    if spans.len() > 256 {
        return None;
    }
    for (start, end) in spans {
        if !can_complete(query, &query[..*end], spans) {
            return Some(*start);
        }
    }
    Some(query.len())
}

/// Where the lexer's error lies: the end of the query for what is left
/// open, else the last character of the shortest prefix that fails the
/// same way.
fn lex_error_position(query: &str, message: &str) -> Option<usize> {
    if message.starts_with("unclosed") || message.starts_with("unterminated") || message.contains("end of input") {
        return Some(query.len());
    }
    if query.len() > 4096 {
        return None;
    }
    query
        .char_indices()
        .map(|(i, c)| (i, i + c.len_utf8()))
        .find(|(_, end)| parser::lexer(&query[..*end]).err().as_deref() == Some(message))
        .map(|(start, _)| start)
}

/// Whether some ending completes `prefix` into a query that parses (or
/// fails only on types, not syntax).
fn can_complete(query: &str, prefix: &str, spans: &[(usize, usize)]) -> bool {
    const ENDINGS: [&str; 10] = ["", " x", " 1", "\"\"", "=\"\"", "m", " 1m", " (a) (x)", " (a)", " x{}"];
    let mut open = Vec::new();
    for (s, e) in spans.iter().take_while(|(_, e)| *e <= prefix.len()) {
        match &query[*s..*e] {
            "(" => open.push(')'),
            "[" => open.push(']'),
            "{" => open.push('}'),
            ")" | "]" | "}" => {
                open.pop();
            }
            _ => {}
        }
    }
    let closers: String = open.iter().rev().collect();
    ENDINGS.iter().any(|ending| {
        let candidate = format!("{prefix}{ending}{closers}");
        parser::lexer(&candidate).is_ok() && parser::parse(&candidate).err().is_none_or(|m| m != INVALID)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_reads_them_zero_included() {
        use std::time::Duration;
        for (text, want) in
            [("90s", Some(90)), ("1h30m", Some(5400)), ("0", Some(0)), ("0m", Some(0)), ("0h0s", Some(0))]
        {
            assert_eq!(parse_duration(text).ok(), want.map(Duration::from_secs), "{text}");
        }
        for bad in ["", "0x", "m", "-1s", "1.5s0"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases: &[(&str, Option<usize>)] = &[
            ("foo bar", Some(4)),
            ("x{a=\"b\"} +", Some(10)),
            ("sum(x) by (a) )", Some(14)),
            ("rate(x[5m]) * * 2", Some(14)),
        ];
        for (q, want) in cases {
            match parse(q) {
                Err(Error::Parse { position, .. }) => assert_eq!(position, *want, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn type_errors_and_bad_regexes_are_parse_errors() {
        for q in ["rate(x)", "x{a=~\"(\"}", "{}", "1 + \"a\""] {
            assert!(matches!(parse(q), Err(Error::Parse { .. })), "{q}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}x{}", "(".repeat(2000), ")".repeat(2000));
        assert!(matches!(parse(&deep), Err(Error::Parse { .. })));
        let chain = vec!["x"; 3000].join("+");
        assert!(matches!(parse(&chain), Err(Error::Parse { .. })));
        let long = "x+".repeat(40_000) + "x";
        assert!(matches!(parse(&long), Err(Error::Parse { .. })));
    }

    #[test]
    fn holt_winters_is_known() {
        parse("holt_winters(x[5m], 0.5, 0.5)").unwrap();
    }
}
