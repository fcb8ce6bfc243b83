//! Validates a Prometheus text or OpenMetrics exposition (the engine of
//! `sonde check`), with line-numbered findings.
//!
//! The text format (0.0.4) is read as Prometheus' own text parser reads it
//! and linted as `promtool check metrics` lints it (help text, base units,
//! suffixes, names reserved for histograms and summaries, colons,
//! camelCase, abbreviated units). OpenMetrics 1.0 is read by its
//! specification's grammar and rules: metadata, sample names by family type,
//! clashing names, exemplars, `# UNIT`, info, stateset and gauge histogram
//! families, created timestamps, metric-point grouping and `# EOF`.
//!
//! Beyond what promtool reports for the text format, it checks what the
//! format's description requires and the parser lets through: histogram
//! buckets in increasing `le` order with cumulative counts, a `+Inf`
//! bucket, `_count` equal to it; no duplicate series; each family's samples
//! together.
//!
//! ```
//! use sonde_check::{check, Severity};
//!
//! let text = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 3\n";
//! assert!(check(text).is_empty());
//!
//! let bad = "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n";
//! let findings = check(bad);
//! assert!(findings.iter().any(|f| f.severity == Severity::Error && f.message.contains("+Inf")));
//!
//! // Style, not breakage: a lint.
//! let findings = check("# HELP requestCount Requests.\n# TYPE requestCount gauge\nrequestCount 1\n");
//! assert_eq!(findings[0].severity, Severity::Lint);
//! ```

mod histogram;
mod lint;
mod number;
mod openmetrics;
mod quoted;
mod text;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A naming convention broken (promtool's lints): the exposition works.
    Lint,
    /// The exposition is invalid: a parser refuses it, or it says something
    /// wrong (a histogram without `+Inf`, a duplicate series).
    Error,
}

/// One finding: a line number (0 for the whole input), its severity and
/// what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// 1-based line, or 0 for the whole input or a family.
    pub line: usize,
    /// An error or a lint.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    pub(crate) fn error(line: usize, message: impl Into<String>) -> Self {
        Self { line, severity: Severity::Error, message: message.into() }
    }

    pub(crate) fn lint(line: usize, message: impl Into<String>) -> Self {
        Self { line, severity: Severity::Lint, message: message.into() }
    }
}

/// The two exposition formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// The format of `text`: OpenMetrics when a line is exactly `# EOF`
    /// (which every OpenMetrics exposition ends with), text otherwise.
    pub fn detect(text: &str) -> Self {
        if text.lines().any(|l| l == "# EOF") {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The format a `Content-Type` names, if it names one.
    ///
    /// ```
    /// use sonde_check::Format;
    /// assert_eq!(Format::from_content_type("application/openmetrics-text; version=1.0.0"), Some(Format::OpenMetrics));
    /// assert_eq!(Format::from_content_type("text/plain; version=0.0.4; charset=utf-8"), Some(Format::Text));
    /// assert_eq!(Format::from_content_type("application/json"), None);
    /// ```
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Self::OpenMetrics)
        } else if media.eq_ignore_ascii_case("text/plain") {
            Some(Self::Text)
        } else {
            None
        }
    }
}

/// Checks `text` in the format [`Format::detect`] finds; returns every
/// finding, in line order.
pub fn check(text: &str) -> Vec<Finding> {
    check_as(text, Format::detect(text))
}

/// Checks `text` as `format`; returns every finding, in line order.
pub fn check_as(text: &str, format: Format) -> Vec<Finding> {
    let mut out = Vec::new();
    match format {
        Format::Text => text::check(text, &mut out),
        Format::OpenMetrics => openmetrics::check(text, &mut out),
    }
    out.sort_by_key(|f| f.line);
    out
}

/// Whether `findings` hold an error (not only lints).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::{check, check_as, has_errors, Format, Severity};
    use proptest::prelude::*;

    const SEED: &str = "# HELP h Lat.\n# TYPE h histogram\nh_bucket{le=\"0.5\",k=\"a\\\"b\"} 1\nh_bucket{le=\"+Inf\",k=\"a\\\"b\"} 2\nh_sum{k=\"a\\\"b\"} 1.5\nh_count{k=\"a\\\"b\"} 2\n# EOF\n";

    proptest! {
        /// Untrusted input never panics the checker.
        #[test]
        fn never_panics_on_arbitrary_text(text in ".{0,400}") {
            let _ = check(&text);
        }

        /// Nor on near-valid input: a real exposition with bytes changed.
        #[test]
        fn never_panics_on_mutated_expositions(edits in proptest::collection::vec((0usize..SEED.len(), any::<char>()), 0..12)) {
            let mut chars: Vec<char> = SEED.chars().collect();
            for (at, c) in edits {
                let at = at % chars.len();
                chars[at] = c;
            }
            let _ = check(&chars.into_iter().collect::<String>());
        }
    }

    #[test]
    fn the_seed_is_clean() {
        assert_eq!(check(SEED), vec![]);
    }

    fn errors(text: &str, format: Format) -> Vec<(usize, String)> {
        check_as(text, format)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.line, f.message))
            .collect()
    }

    /// Each row's text has an error on the row's line whose message holds
    /// the row's words.
    fn assert_finds(format: Format, rows: &[(&str, usize, &str)]) {
        for &(text, line, message) in rows {
            let found = errors(text, format);
            assert!(found.iter().any(|(l, m)| *l == line && m.contains(message)), "{text:?}: {found:?}");
        }
    }

    /// No row's text has an error.
    fn assert_no_errors(format: Format, texts: &[&str]) {
        for text in texts {
            assert_eq!(errors(text, format), vec![], "{text:?}");
        }
    }

    /// The rule behind each row holds in the way the row says: a rule that
    /// is not checked leaves the "must find" rows empty; a rule checked too
    /// widely fills the "clean" rows.
    #[test]
    fn openmetrics_rules_table() {
        let must_find: &[(&str, usize, &str)] = &[
            ("0abc 1\n# EOF\n", 1, "invalid metric name"),
            ("# TYPE 0abc gauge\n# EOF\n", 1, "invalid metric name"),
            ("a-b 1\n# EOF\n", 1, "invalid metric name"),
            ("# TYPE x gauge\nx 1\nx{a=\"1\" 2\n# EOF\n", 3, ""),
            ("# TYPE x_a-b gauge\n# UNIT x_a-b a-b\n# EOF\n", 1, "invalid metric name"),
            ("# TYPE x_ab gauge\n# UNIT x_ab a.b\n# EOF\n", 2, "invalid unit"),
            (
                &format!(
                    "# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 1 # {{a=\"{}\"}} 1\nh_count 1\nh_sum 1\n# EOF\n",
                    "x".repeat(128)
                ),
                2,
                "more than 128",
            ),
            ("# TYPE h gaugehistogram\nh_bucket{le=\"+Inf\"} 1\nh_gcount 1\nh_gsum -1\n# EOF\n", 3, "negative _gsum"),
            ("# TYPE h histogram\nh_count 1\nh_sum 1\n# EOF\n", 2, "no +Inf bucket"),
            ("# HELP x a\"b\n# EOF\n", 1, "unescaped"),
            ("# HELP x a\\\n# EOF\n", 1, "lone"),
            (
                "# TYPE h histogram\nh_bucket{le=\"-1\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n# EOF\n",
                4,
                "_sum with negative buckets",
            ),
        ];
        assert_finds(Format::OpenMetrics, must_find);
        let clean: &[&str] = &[
            "a_b:c 1\n_x 1\n:y 2\n# EOF\n",
            "# TYPE x_kilo_bytes gauge\n# UNIT x_kilo_bytes kilo_bytes\nx_kilo_bytes 1\n# EOF\n",
            "# TYPE x_a:b gauge\n# UNIT x_a:b a:b\n# EOF\n",
            "# HELP x a\\\"b\\\\c\\nd\n# EOF\n",
            "# TYPE h gaugehistogram\nh_bucket{le=\"+Inf\"} 1\nh_gcount 1\nh_gsum 0\n# EOF\n",
            "# TYPE h histogram\nh_bucket{le=\"0\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n# EOF\n",
        ];
        assert_no_errors(Format::OpenMetrics, clean);
        // Exemplar labels of exactly 128 characters are allowed.
        let at_limit = format!(
            "# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 1 # {{a=\"{}\"}} 1\nh_count 1\nh_sum 1\n# EOF\n",
            "x".repeat(127)
        );
        assert_no_errors(Format::OpenMetrics, &[&at_limit]);
    }

    /// OpenMetrics metric points: which samples belong together, their
    /// timestamps, quantile values, exemplars, and the samples of one
    /// histogram series.
    #[test]
    fn openmetrics_metric_points_table() {
        let must_find: &[(&str, usize, &str)] = &[
            ("# TYPE c counter\nc_total 1\nc_created 1 # {a=\"b\"} 1\n# EOF\n", 3, "an exemplar on"),
            ("# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 1\ng{a=\"1\"} 2\n# EOF\n", 4, "not together"),
            ("# TYPE g gauge\ng{a=\"1\"} 1 5\ng{a=\"1\"} 1 4\n# EOF\n", 3, "goes back"),
            ("# TYPE s summary\ns{quantile=\"0.5\"} -1\ns_count 1\ns_sum 0\n# EOF\n", 2, "negative"),
            // A summary's and a stateset's points are their samples without
            // the quantile and state labels.
            (
                "# TYPE s summary\ns{quantile=\"0.5\",k=\"a\"} 1\ns{quantile=\"0.5\",k=\"b\"} 1\ns{quantile=\"0.9\",k=\"a\"} 1\n# EOF\n",
                4,
                "not together",
            ),
            ("# TYPE s stateset\ns{s=\"a\",k=\"x\"} 1\ns{s=\"a\",k=\"y\"} 1\ns{s=\"b\",k=\"x\"} 0\n# EOF\n", 4, "not together"),
        ];
        assert_finds(Format::OpenMetrics, must_find);
        let clean: &[&str] = &[
            "# TYPE s summary\ns{quantile=\"0.5\"} 0\ns{quantile=\"0.9\"} 1\ns_count 2\ns_sum 1\n# EOF\n",
            "# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n",
            "# TYPE h histogram\nh_bucket{k=\"a\",le=\"1\"} 0\nh_bucket{k=\"a\",le=\"+Inf\"} 1\nh_count{k=\"a\"} 1\nh_sum{k=\"a\"} 1\nh_bucket{k=\"b\",le=\"1\"} 0\nh_bucket{k=\"b\",le=\"+Inf\"} 1\nh_count{k=\"b\"} 1\nh_sum{k=\"b\"} 1\n# EOF\n",
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 5\nh_count 1 5\nh_sum 1 5\n# EOF\n",
            "# TYPE g gauge\ng{a=\"1\"} 1 5\ng{a=\"2\"} 1\n# EOF\n",
            "# TYPE g gauge\ng 1 5\ng 2 6\n# EOF\n",
            "# TYPE g gauge\ng 1\n# EOF\n",
            // Other types keep every label in the point, `quantile` included.
            "# TYPE g gauge\ng{quantile=\"1\",k=\"a\"} 1\ng{quantile=\"1\",k=\"b\"} 1\ng{quantile=\"2\",k=\"a\"} 1\n# EOF\n",
            "# TYPE g gauge\ng{g=\"1\",k=\"a\"} 1\ng{g=\"1\",k=\"b\"} 1\ng{g=\"2\",k=\"a\"} 1\n# EOF\n",
        ];
        assert_no_errors(Format::OpenMetrics, clean);
    }

    /// The text format: label names, comments, the float labels of
    /// histograms and summaries, and the line a finding names.
    #[test]
    fn text_rules_table() {
        let must_find: &[(&str, usize, &str)] = &[
            ("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "expected float as value for 'le' label"),
            ("# TYPE s summary\ns{quantile=\"x\"} 1\n", 2, "expected float as value for 'quantile' label"),
            ("a 1\nb{ 1\n", 2, ""),
        ];
        assert_finds(Format::Text, must_find);
        // Nothing at all, lints included.
        let clean: &[&str] = &[
            "# HELP a_total A.\n# TYPE a_total counter\na_total{foo_bar1=\"1\"} 1\n",
            "# a plain comment\n# HELP a_total A.\n# TYPE a_total counter\na_total 1\n",
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{k=\"a\",le=\"1\"} 0\nh_seconds_bucket{k=\"a\",le=\"+Inf\"} 1\nh_seconds_count{k=\"a\"} 1\nh_seconds_sum{k=\"a\"} 1\n",
            "# HELP s_seconds S.\n# TYPE s_seconds summary\ns_seconds{k=\"a\",quantile=\"0.5\"} 1\ns_seconds_count{k=\"a\"} 1\ns_seconds_sum{k=\"a\"} 1\n",
        ];
        for text in clean {
            assert_eq!(check_as(text, Format::Text), vec![], "{text:?}");
        }
        // Every label name of a family is linted once, whichever sample
        // brings it.
        let lints =
            check_as("# HELP g G.\n# TYPE g gauge\ng{a=\"1\",le=\"2\"} 1\ng{a=\"2\",le=\"2\"} 1\n", Format::Text);
        assert_eq!(lints.iter().filter(|f| f.message.contains("\"le\" label")).count(), 1, "{lints:?}");
    }

    /// `check` finds the format itself; `has_errors` tells errors from lints.
    #[test]
    fn detection_and_severity() {
        assert_eq!(Format::detect("a 1\n"), Format::Text);
        assert_eq!(Format::detect("a 1\n# EOF\n"), Format::OpenMetrics);
        assert_eq!(Format::detect("a 1\n# EOF x\n"), Format::Text);
        // A counter sample without `_total` is fine in text, an error in OpenMetrics.
        let counter = "# TYPE a counter\na 1\n";
        assert!(!has_errors(&check(counter)), "{:?}", check(counter));
        assert!(has_errors(&check(&format!("{counter}# EOF\n"))));
        // promlint's advice is a lint, not an error.
        let lints = check("# HELP a_total A.\n# TYPE a_total counter\na_total{le=\"x\"} 1\nb 1\n");
        assert!(!lints.is_empty() && !has_errors(&lints), "{lints:?}");
        assert!(!has_errors(&[]));
        assert_eq!(Format::from_content_type("application/openmetrics-text; version=1.0.0"), Some(Format::OpenMetrics));
        assert_eq!(Format::from_content_type("Text/Plain; version=0.0.4"), Some(Format::Text));
        assert_eq!(Format::from_content_type("application/json"), None);
    }
}
