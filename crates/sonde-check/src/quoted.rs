//! Quoted label values, shared by both formats: `\\`, `\"` and `\n` are
//! escapes in each; they differ on a backslash before anything else.

/// What a backslash before another character is.
#[derive(Clone, Copy)]
pub(crate) enum OtherEscapes {
    /// An error (the text format).
    Refused,
    /// Itself and the character (OpenMetrics' `BS normal-char`).
    Kept,
}

/// A quoted value after its opening quote: the unescaped value and the rest
/// after the closing quote.
pub(crate) fn quoted(s: &str, other: OtherEscapes) -> Result<(String, &str), QuotedError> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match (chars.next(), other) {
                (Some((_, '"')), _) => value.push('"'),
                (Some((_, '\\')), _) => value.push('\\'),
                (Some((_, 'n')), _) => value.push('\n'),
                (Some((_, c)), OtherEscapes::Kept) => {
                    value.push('\\');
                    value.push(c);
                }
                (Some((_, c)), OtherEscapes::Refused) => return Err(QuotedError::Escape(c)),
                (None, _) => break,
            },
            c => value.push(c),
        }
    }
    Err(QuotedError::Unclosed(value))
}

/// Why a quoted value could not be read.
#[derive(Debug)]
pub(crate) enum QuotedError {
    /// A backslash before this character, where that is not allowed.
    Escape(char),
    /// The line ended inside the value (read so far).
    Unclosed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_by_format() {
        let (v, rest) = quoted(r#"a\"b\\c\nd" 1"#, OtherEscapes::Refused).unwrap();
        assert_eq!((v.as_str(), rest), ("a\"b\\c\nd", " 1"));
        assert!(matches!(quoted(r#"\t""#, OtherEscapes::Refused), Err(QuotedError::Escape('t'))));
        assert_eq!(quoted(r#"\t""#, OtherEscapes::Kept).unwrap().0, "\\t");
        assert!(matches!(quoted("ab", OtherEscapes::Kept), Err(QuotedError::Unclosed(v)) if v == "ab"));
        assert!(matches!(quoted("ab\\", OtherEscapes::Kept), Err(QuotedError::Unclosed(_))));
    }
}
