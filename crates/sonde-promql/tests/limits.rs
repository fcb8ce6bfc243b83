//! Range queries, the engine's limits and bad input: an error of
//! Prometheus' type, never a panic, a hang or unbounded memory.

use std::time::Duration;

use proptest::prelude::*;
use sonde_promql::{Engine, EngineOptions, Error, Labels, MemorySource, Value};

fn source() -> MemorySource {
    let mut s = MemorySource::new();
    for (i, route) in ["/", "/users", "/login"].iter().enumerate() {
        let labels = Labels::new([("__name__", "http_requests_total"), ("route", route), ("job", "api")]);
        for minute in 0..=60 {
            s.push(&labels, minute * 60_000, (minute * (i as i64 + 1) * 10) as f64);
        }
    }
    s
}

#[test]
fn a_range_query_is_the_instant_query_at_every_step() {
    let engine = Engine::default();
    let src = source();
    let q = "sum by (route) (rate(http_requests_total[5m])) * 60";
    let Value::Matrix(m) = engine.range(&src, q, 600_000, 1_800_000, 60_000).unwrap() else { panic!() };
    assert_eq!(m.len(), 3);
    for series in &m {
        assert_eq!(series.samples.len(), 21);
        for &(t, v) in &series.samples {
            let Value::Vector(at) = engine.instant(&src, q, t).unwrap() else { panic!() };
            let same = at.iter().find(|s| s.labels == series.labels).unwrap();
            assert_eq!(same.v, v, "{} at {t}", series.labels);
        }
    }
}

#[test]
fn range_queries_refuse_what_prometheus_refuses() {
    let engine = Engine::default();
    let src = source();
    for (start, end, step, want) in [
        (0, 1000, 0, "zero or negative"),
        (1000, 0, 1, "end timestamp must not be before start time"),
        (0, 11_000 * 1000, 1000, "exceeded maximum resolution of 11000 points"),
    ] {
        let err = engine.range(&src, "http_requests_total", start, end, step).unwrap_err();
        assert_eq!(err.kind(), "bad_data");
        assert!(err.to_string().contains(want), "{err}");
    }
    let err = engine.range(&src, "http_requests_total[5m]", 0, 60_000, 1000).unwrap_err();
    assert_eq!(err.kind(), "bad_data", "{err}");
}

#[test]
fn the_sample_limit_and_the_timeout_give_prometheus_errors() {
    let src = source();
    let few = Engine::new(EngineOptions { max_samples: 100, ..EngineOptions::default() });
    let err = few.instant(&src, "sum(rate(http_requests_total[1h]))", 3_600_000).unwrap_err();
    assert!(matches!(err, Error::TooManySamples(_)), "{err}");
    assert_eq!(err.kind(), "execution");
    let hasty = Engine::new(EngineOptions { timeout: Duration::ZERO, ..EngineOptions::default() });
    let err = hasty.instant(&src, "http_requests_total", 0).unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
}

#[test]
fn a_subquery_with_too_many_steps_is_refused_before_it_runs() {
    let err =
        Engine::default().instant(&source(), "max_over_time(http_requests_total[1y:1ms])", 3_600_000).unwrap_err();
    assert_eq!(err.kind(), "bad_data", "{err}");
    // Within the step bound, the sample limit still holds.
    let few = Engine::new(EngineOptions { max_samples: 1000, ..EngineOptions::default() });
    let err = few.instant(&source(), "max_over_time(http_requests_total[1h:1s])", 3_600_000).unwrap_err();
    assert_eq!(err.kind(), "execution", "{err}");
}

#[test]
fn parse_errors_are_bad_data_with_a_position() {
    let err = Engine::default().instant(&source(), "sum(rate(x[5m])) by (", 0).unwrap_err();
    assert_eq!(err.kind(), "bad_data");
    let Error::Parse { position, .. } = err else { panic!("{err}") };
    assert!(position.is_some());
}

fn term() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("http_requests_total".to_owned()),
        Just("http_requests_total{route=~\"/u.*\"}".to_owned()),
        Just("nonexistent".to_owned()),
        (-5.0f64..5.0).prop_map(|f| format!("{f}")),
        Just("NaN".to_owned()),
        Just("Inf".to_owned()),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (inner.clone(), "[-+*/%^]|==|!=|>|<|and|or|unless|atan2", inner.clone())
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            (
                "rate|irate|delta|deriv|resets|changes|max_over_time|stddev_over_time|last_over_time|absent_over_time",
                "[1-9][0-9]?[smh]"
            )
                .prop_map(|(f, r)| format!("{f}(http_requests_total[{r}])")),
            ("sum|avg|min|max|count|stddev|group", inner.clone()).prop_map(|(a, e)| format!("{a} by (route) ({e})")),
            ("abs|ceil|sort|timestamp|absent|ln|exp|sgn", inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (inner.clone(), "[1-9][0-9]?m").prop_map(|(e, r)| format!("max_over_time(({e})[{r}:1m])")),
            (inner.clone(), -2.0f64..3.0).prop_map(|(e, k)| format!("topk({k}, {e})")),
            inner.prop_map(|e| format!("histogram_quantile(0.9, {e})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any expression from the grammar above gives a value or an error.
    #[test]
    fn expressions_never_panic(q in term(), t in 0i64..4_000_000) {
        let engine = Engine::new(EngineOptions { max_samples: 200_000, ..EngineOptions::default() });
        let _ = engine.instant(&source(), &q, t);
        let _ = engine.range(&source(), &q, t, t + 600_000, 60_000);
    }

    /// Any string at all gives a value or an error.
    #[test]
    fn arbitrary_text_never_panics(q in "\\PC{0,80}") {
        let _ = Engine::default().instant(&source(), &q, 60_000);
    }
}
