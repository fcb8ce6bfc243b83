//! `sonde check` in step with the reference parsers: every case runs through
//! `sonde_check` and through promtool (text) or Python's `prometheus_client`
//! OpenMetrics parser, and both must give the verdict the table states.
//! Where Sonde is stricter than a reference on purpose, the row says which
//! rule of the format it enforces.

use sonde_check::{check_as, Format, Severity};
use sonde_testkit::exposition::{promtool_check, python_parse};

/// Sonde's verdict: no findings, lints only, or an error.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    Clean,
    Lint,
    Error,
}
use Verdict::{Clean, Error, Lint};

struct Case {
    name: &'static str,
    input: &'static str,
    verdict: Verdict,
    /// Set when Sonde refuses what the reference accepts: the format's rule.
    stricter: Option<&'static str>,
}

const fn case(name: &'static str, input: &'static str, verdict: Verdict) -> Case {
    Case { name, input, verdict, stricter: None }
}

const fn stricter(name: &'static str, input: &'static str, rule: &'static str) -> Case {
    Case { name, input, verdict: Error, stricter: Some(rule) }
}

const TEXT: &[Case] = &[
    case("a counter", "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n", Clean),
    case("labels, escapes, a timestamp", "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\\\\\\n\"} 3 1700000000000\n", Clean),
    case("a histogram", "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n", Clean),
    case("a summary with NaN", "# HELP s S.\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\n", Clean),
    case("infinities and a trailing comma", "# HELP g G.\n# TYPE g gauge\ng +Inf\ng{k=\"v\",} -Inf\n", Clean),
    case("the type in capitals", "# HELP a_total A.\n# TYPE a_total COUNTER\na_total 1\n", Clean),
    case("gauge_histogram, a protobuf type name", "# HELP a A.\n# TYPE a gauge_histogram\na 1\n", Clean),
    case("spaces inside braces", "# HELP a A.\n# TYPE a gauge\na{ x = \"1\" , y=\"2\" } 1\n", Clean),
    case("empty braces", "# HELP a A.\n# TYPE a gauge\na{} 1\n", Clean),
    case("no space after the braces", "# HELP a A.\n# TYPE a gauge\na{x=\"1\"}1\n", Clean),
    case("leading blanks, tabs between tokens", "# HELP a A.\n# TYPE a gauge\n  a\t1\t5\n", Clean),
    case("blank lines", "# HELP a A.\n\n# TYPE a gauge\na 1\n\n", Clean),
    case("Go float spellings", "# HELP a A.\n# TYPE a gauge\na{k=\"1\"} infinity\na{k=\"2\"} .5\na{k=\"3\"} 5.\na{k=\"4\"} 1E+5\na{k=\"5\"} +007\na{k=\"6\"} 1e-400\n", Clean),
    case("signed and zero-padded timestamps", "# HELP a A.\n# TYPE a gauge\na{k=\"1\"} 1 -5\na{k=\"2\"} 1 +007\n", Clean),
    case("UTF-8 in a label value", "# HELP a A.\n# TYPE a gauge\na{x=\"é ☃\"} 1\n", Clean),
    case("no TYPE (untyped)", "# HELP a A.\na 1\n", Clean),
    case("HELP after the samples", "# TYPE a gauge\na 1\n# HELP a A.\n", Clean),
    case("an untyped _total", "# HELP a_total A.\n# TYPE a_total untyped\na_total 1\n", Clean),
    case("le and quantile on untyped", "# HELP a A.\na{le=\"1\",quantile=\"2\"} 1\n", Clean),
    case("nothing at all", "", Clean),
    case("only comments", "# hello\n#\n# HELP\n", Clean),
    case("a family with HELP only", "# HELP a A.\n", Clean),
    case("#HELP without a space", "#HELP a A.\n# TYPE a gauge\na 1\n", Clean),
    case("a histogram's _sum and _count alone", "# HELP h H.\n# TYPE h histogram\nh_sum 1\nh_count 2\n", Clean),
    case("the last line without a newline", "# HELP a_total A.\n# TYPE a_total counter\na_total 1", Error),
    case("a comment without a newline", "# HELP a A.\n# TYPE a gauge\na 1\n# c", Error),
    case("CRLF line ends", "# HELP a A.\r\n# TYPE a gauge\r\na 1\r\n", Error),
    case("a name starting with a digit", "9bad 1\n", Error),
    case("an invalid name in HELP", "# HELP 1a A.\n1a 1\n", Error),
    case("a second TYPE", "# HELP x h\n# TYPE x gauge\n# TYPE x gauge\nx 1\n", Error),
    case("TYPE after the samples", "# HELP a A.\na 1\n# TYPE a gauge\n", Error),
    case("a second HELP", "# HELP x h\n# HELP x again\n# TYPE x gauge\nx 1\n", Error),
    case("a second HELP after another family", "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a again\n", Error),
    case("an unknown type", "# HELP x h\n# TYPE x thermometer\nx 1\n", Error),
    case("an OpenMetrics type", "# HELP a A.\n# TYPE a info\na 1\n", Error),
    case("a blank after the type", "# HELP a A.\n# TYPE a gauge \na 1\n", Error),
    case("an unclosed label set", "# HELP x h\n# TYPE x gauge\nx{a=\"1\" 1\n", Error),
    case("a label value without quotes", "# HELP a A.\n# TYPE a gauge\na{x=1} 1\n", Error),
    case("a label name starting with a digit", "# HELP x h\n# TYPE x gauge\nx{9a=\"1\"} 1\n", Error),
    case("__name__ as a label", "# HELP a A.\n# TYPE a gauge\na{__name__=\"b\"} 1\n", Error),
    case("a label given twice", "# HELP a A.\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", Error),
    case("an unknown escape in a label value", "# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n", Error),
    case("an unknown escape in HELP", "# HELP a A \\t.\n# TYPE a gauge\na 1\n", Error),
    case("a label value across lines", "# HELP a A.\n# TYPE a gauge\na{x=\"a\nb\"} 1\n", Error),
    case("a word as value", "# HELP x h\n# TYPE x gauge\nx notanumber\n", Error),
    case("a hexadecimal value", "# HELP a A.\n# TYPE a gauge\na 0x1p-2\n", Error),
    case("underscores in a value", "# HELP a A.\n# TYPE a gauge\na 1_000\n", Error),
    case("a value out of range", "# HELP a A.\n# TYPE a gauge\na 1e400\n", Error),
    case("a signed NaN", "# HELP a A.\n# TYPE a gauge\na +NaN\n", Error),
    case("a fractional timestamp", "# HELP a A.\n# TYPE a gauge\na 1 1.5\n", Error),
    case("a blank after the value", "# HELP a A.\n# TYPE a gauge\na 1 \n", Error),
    case("text after the timestamp", "# HELP a A.\n# TYPE a gauge\na 1 15 x\n", Error),
    case("a blank after the timestamp", "# HELP a A.\n# TYPE a gauge\na 1 5 \n", Error),
    case("an exemplar", "# HELP a_total A.\n# TYPE a_total counter\na_total 1 # {t=\"1\"} 1\n", Error),
    case("a bad le", "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"x\"} 1\nh_sum 1\nh_count 1\n", Error),
    case("a bad quantile", "# HELP s S.\n# TYPE s summary\ns{quantile=\"x\"} 1\n", Error),
    case("no help text", "up 1\n", Lint),
    case("HELP without text", "# HELP a\n# TYPE a gauge\na 1\n", Lint),
    case("a counter without _total", "# HELP c C.\n# TYPE c counter\nc 1\n", Lint),
    case("a gauge with _total", "# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n", Lint),
    case("a histogram's samples under other names", "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nh_total 3\n", Lint),
    case("camelCase", "# HELP aB A.\n# TYPE aB gauge\naB 1\n", Lint),
    case("a camelCase label", "# HELP a A.\n# TYPE a gauge\na{fooBar=\"1\"} 1\n", Lint),
    case("a colon", "# HELP a:b A.\n# TYPE a:b gauge\na:b 1\n", Lint),
    case("an abbreviated unit", "# HELP a_ms A.\n# TYPE a_ms gauge\na_ms 1\n", Lint),
    case("a non-base unit", "# HELP a_milliseconds A.\n# TYPE a_milliseconds gauge\na_milliseconds 1\n", Lint),
    case("kilobytes", "# HELP a_kilobytes A.\n# TYPE a_kilobytes gauge\na_kilobytes 1\n", Lint),
    case("the type in the name", "# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge 1\n", Lint),
    case("le on a gauge", "# HELP a A.\n# TYPE a gauge\na{le=\"1\"} 1\n", Lint),
    case("quantile on a gauge", "# HELP a A.\n# TYPE a gauge\na{quantile=\"1\"} 1\n", Lint),
    case("_bucket on a gauge", "# HELP a_bucket A.\n# TYPE a_bucket gauge\na_bucket 1\n", Lint),
    case("_count on a gauge", "# HELP a_count A.\n# TYPE a_count gauge\na_count 1\n", Lint),
    stricter("a histogram without +Inf", "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "a histogram has a +Inf bucket"),
    stricter("a bucket without le", "# HELP h H.\n# TYPE h histogram\nh_bucket 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "every bucket has an le label"),
    stricter("buckets out of order", "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "buckets in increasing le order"),
    stricter("counts not cumulative", "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", "bucket counts are cumulative"),
    stricter("a count unlike +Inf", "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "_count equals the +Inf bucket"),
    stricter("a duplicate series", "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "each series once"),
    stricter("a family split apart", "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"2\"} 2\n", "a family's lines together"),
];

const OPENMETRICS: &[Case] = &[
    case("a counter", "# TYPE a counter\n# HELP a A.\na_total 1\n# EOF\n", Clean),
    case("a counter with created", "# TYPE a counter\na_total 1\na_created 123.5\n# EOF\n", Clean),
    case("only created", "# TYPE a counter\na_created 1\n# EOF\n", Clean),
    case("an exemplar on a bucket", "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1 # {trace_id=\"abc\"} 0.05\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 0.3\n# EOF\n", Clean),
    case("an exemplar with a timestamp", "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1 # {trace_id=\"abc\"} 0.05 123.4\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 0.3\n# EOF\n", Clean),
    case("an exemplar on a total after a timestamp", "# TYPE a counter\na_total 1 5 # {t=\"1\"} 1\n# EOF\n", Clean),
    case("a histogram with created", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\nh_created 12\n# EOF\n", Clean),
    case("le spelled 1", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\n# EOF\n", Clean),
    case("a unit", "# TYPE g_seconds gauge\n# UNIT g_seconds seconds\ng_seconds 1\n# EOF\n", Clean),
    case("an empty unit and an empty HELP", "# TYPE a gauge\n# UNIT a \n# HELP a \na 1\n# EOF\n", Clean),
    case("metadata in any order", "# HELP a x\n# TYPE a gauge\n# UNIT a \na 1\n# EOF\n", Clean),
    case("an info", "# TYPE b info\nb_info{v=\"1\"} 1\n# EOF\n", Clean),
    case("a stateset", "# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n", Clean),
    case("a gauge histogram", "# TYPE g gaugehistogram\ng_bucket{le=\"1\"} 1\ng_bucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum 3\n# EOF\n", Clean),
    case("a summary", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 2\n# EOF\n", Clean),
    case("unknown", "# TYPE g unknown\ng 1\n# EOF\n", Clean),
    case("no TYPE", "# HELP a A\na 1\n# EOF\n", Clean),
    case("two families", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# EOF\n", Clean),
    case("timestamps, fractional and exponential", "# TYPE g gauge\ng{k=\"1\"} 1 123.456\ng{k=\"2\"} 1 1e3\n# EOF\n", Clean),
    case("infinities and NaN", "# TYPE a gauge\na{k=\"1\"} +Inf\na{k=\"2\"} Infinity\na{k=\"3\"} NaN\n# EOF\n", Clean),
    case("le on a gauge", "# TYPE a gauge\na{le=\"1\"} 1\n# EOF\n", Clean),
    case("an escape OpenMetrics keeps as given", "# TYPE a gauge\na{x=\"\\t\"} 1\n# EOF\n", Clean),
    case("no newline after EOF", "# TYPE g gauge\ng 1\n# EOF", Clean),
    case("camelCase (no lints in OpenMetrics)", "# TYPE aB gauge\naB 1\n# EOF\n", Clean),
    case("a counter sample without _total", "# TYPE a counter\na 1\n# EOF\n", Error),
    case("an exemplar on a gauge", "# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", Error),
    case("an exemplar without a value", "# TYPE a counter\na_total 1 # {t=\"1\"}\n# EOF\n", Error),
    case("an exemplar timestamp of Inf", "# TYPE a counter\na_total 1 # {t=\"1\"} 1 Inf\n# EOF\n", Error),
    case("exemplar labels over 128 characters", "# TYPE a counter\na_total 1 # {t=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 1\n# EOF\n", Error),
    case("no EOF", "# TYPE g gauge\ng 1\n", Error),
    case("a blank line", "# TYPE g gauge\n\ng 1\n# EOF\n", Error),
    case("a line after EOF", "# TYPE g gauge\ng 1\n# EOF\ng 2\n", Error),
    case("a blank line after EOF", "# TYPE a gauge\na 1\n# EOF\n\n", Error),
    case("a comment", "# TYPE a gauge\n# random comment\na 1\n# EOF\n", Error),
    case("HELP without a space and text", "# TYPE a gauge\n# HELP a\na 1\n# EOF\n", Error),
    case("a unit the name lacks", "# TYPE g gauge\n# UNIT g seconds\ng 1\n# EOF\n", Error),
    case("a unit on an info", "# TYPE b_seconds info\n# UNIT b_seconds seconds\nb_seconds_info 1\n# EOF\n", Error),
    case("an info of 2", "# TYPE b info\nb_info{v=\"1\"} 2\n# EOF\n", Error),
    case("a stateset without its label", "# TYPE s stateset\ns{x=\"a\"} 1\n# EOF\n", Error),
    case("a stateset of 2", "# TYPE s stateset\ns{s=\"a\"} 2\n# EOF\n", Error),
    case("TYPE untyped", "# TYPE g untyped\ng 1\n# EOF\n", Error),
    case("a clashing name", "# TYPE a counter\na_total 1\n# TYPE a_total gauge\na_total 1\n# EOF\n", Error),
    case("a family split apart", "# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\na{x=\"2\"} 1\n# EOF\n", Error),
    case("metric points interleaved", "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 3\n# EOF\n", Error),
    case("a second HELP", "# TYPE a gauge\n# HELP a x\n# HELP a y\na 1\n# EOF\n", Error),
    case("metadata after samples", "# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", Error),
    case("a tab between tokens", "# TYPE g gauge\ng\t1\n# EOF\n", Error),
    case("two spaces", "# TYPE a gauge\na  1\n# EOF\n", Error),
    case("a space after the value", "# TYPE a gauge\na 1 \n# EOF\n", Error),
    case("no space before the value", "# TYPE a gauge\na{x=\"1\"}1\n# EOF\n", Error),
    case("a name without a value", "# TYPE a gauge\na\n# EOF\n", Error),
    case("underscores in a value", "# TYPE a gauge\na 1_000\n# EOF\n", Error),
    case("a trailing comma in labels", "# TYPE a gauge\na{x=\"1\",} 1\n# EOF\n", Error),
    case("a label given twice", "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n# EOF\n", Error),
    case("+inf as le", "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+inf\"} 2\nh_count 2\nh_sum 3\n# EOF\n", Error),
    case("no +Inf bucket", "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_count 1\nh_sum 3\n# EOF\n", Error),
    case("a count unlike +Inf", "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 3\n# EOF\n", Error),
    case("a fractional bucket", "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1.5\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\n# EOF\n", Error),
    case("_sum without _count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\n# EOF\n", Error),
    case("_count without _sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n# EOF\n", Error),
    case("_sum with negative buckets", "# TYPE h histogram\nh_bucket{le=\"-1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\n# EOF\n", Error),
    case("a negative _gsum without negative buckets", "# TYPE g gaugehistogram\ng_bucket{le=\"1\"} 1\ng_bucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum -3\n# EOF\n", Error),
    case("a negative counter", "# TYPE a counter\na_total -1\n# EOF\n", Error),
    case("a NaN counter", "# TYPE a counter\na_total NaN\n# EOF\n", Error),
    case("a quantile of 1.5", "# TYPE s summary\ns{quantile=\"1.5\"} 1\ns_count 1\ns_sum 1\n# EOF\n", Error),
    case("a negative quantile value", "# TYPE s summary\ns{quantile=\"0.5\"} -1\ns_count 1\ns_sum 2\n# EOF\n", Error),
    case("timestamps going back", "# TYPE a gauge\na 1 10\na 2 5\n# EOF\n", Error),
    case("timestamps on some samples of a point", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2 10\nh_count 2\nh_sum 3 10\n# EOF\n", Error),
    stricter("a duplicate sample", "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 1\n# EOF\n", "a metric point's label set is unique"),
    stricter("spaces inside braces", "# TYPE a gauge\na{ x=\"1\"} 1\n# EOF\n", "no spaces inside a label set"),
    stricter("a signed NaN", "# TYPE a gauge\na -NaN\n# EOF\n", "NaN takes no sign"),
    stricter("a raw quote in HELP", "# TYPE a gauge\n# HELP a say \"hi\"\na 1\n# EOF\n", "HELP is an escaped string"),
];

fn sonde(input: &str, format: Format) -> (Verdict, String) {
    let findings = check_as(input, format);
    let verdict = match findings.iter().map(|f| f.severity).max() {
        None => Clean,
        Some(Severity::Lint) => Lint,
        Some(Severity::Error) => Error,
    };
    (verdict, format!("{findings:?}"))
}

#[test]
fn text_cases_agree_with_promtool() {
    for c in TEXT {
        let (got, findings) = sonde(c.input, Format::Text);
        assert_eq!(got, c.verdict, "sonde on {:?} ({:?}): {findings}", c.name, c.input);
        let Some(promtool) = promtool_check(c.input) else { return };
        let want = match (c.verdict, c.stricter) {
            (_, Some(_)) | (Clean, _) => 0,
            (Lint, _) => 3,
            (Error, _) => 1,
        };
        assert_eq!(promtool.code, want, "promtool on {:?} ({:?}): {}", c.name, c.input, promtool.report);
    }
}

#[test]
fn openmetrics_cases_agree_with_prometheus_client() {
    for c in OPENMETRICS {
        let (got, findings) = sonde(c.input, Format::OpenMetrics);
        assert_eq!(got, c.verdict, "sonde on {:?} ({:?}): {findings}", c.name, c.input);
        let Some(python) = python_parse("openmetrics", c.input) else { return };
        let accepts = c.verdict != Error || c.stricter.is_some();
        assert_eq!(python.is_ok(), accepts, "prometheus_client on {:?} ({:?}): {python:?}", c.name, c.input);
    }
}

/// What Sonde's own OpenMetrics encoder writes (exemplars on buckets,
/// created timestamps, units) is clean, for both checkers.
#[test]
fn sondes_own_openmetrics_with_exemplars_passes() {
    let r = sonde::Registry::builder().self_metrics(false).build().unwrap();
    let latency = r
        .histogram("request_latency_seconds")
        .help("Latency.")
        .buckets(sonde::Buckets::new([0.1, 0.5]).unwrap())
        .exemplars()
        .register()
        .unwrap();
    let provider = sonde::trace::TracerProvider::builder().build();
    provider.tracer("check").in_span("work", |_| latency.observe(0.3));
    r.counter("jobs_total").help("Jobs.").labels(["queue"]).register().unwrap().with(&["a\"b"]).inc();
    r.summary("size_bytes").help("Sizes.").register().unwrap().observe(10.0);
    r.gauge("temperature_celsius").help("Heat.").unit("celsius").register().unwrap().set(21.5);
    let body = sonde::encode::openmetrics(&r.snapshot());
    assert!(body.contains(" # {"), "the exposition carries exemplars: {body}");
    let findings = check_as(&body, Format::OpenMetrics);
    assert!(findings.is_empty(), "{findings:?}\n{body}");
    if let Some(python) = python_parse("openmetrics", &body) {
        assert!(python.is_ok(), "{python:?}\n{body}");
    }
    let text = sonde::encode::prometheus_text(&r.snapshot());
    let findings = check_as(&text, Format::Text);
    assert!(findings.is_empty(), "{findings:?}\n{text}");
}
