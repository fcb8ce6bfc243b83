//! Encoders checked by real parsers: Python's prometheus_client (text and
//! OpenMetrics, property-tested) and promtool.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sonde::{encode, Buckets, Registry, SeriesValue, Snapshot, SummaryOptions};

/// Samples as (name, labels, value).
type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

fn parse(format: &str, body: &str) -> Option<Result<Samples, String>> {
    let v = match sonde_testkit::exposition::python_parse(format, body)? {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    let samples = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels =
                s[1].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
            let value = match s[2].as_str().unwrap() {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                x => x.parse().unwrap(),
            };
            (s[0].as_str().unwrap().to_owned(), labels, value)
        })
        .collect();
    Some(Ok(samples))
}

/// The samples a snapshot should expose: (name, labels, value), with `le`
/// and `quantile` normalised through f64 so "1" and "1.0" compare equal.
fn expected(snap: &Snapshot, openmetrics: bool) -> Samples {
    let mut out = Vec::new();
    for f in &snap.families {
        for s in f.series() {
            let labels: BTreeMap<String, String> = s.labels().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            let with = |k: &str, v: f64| {
                let mut l = labels.clone();
                l.insert(k.to_owned(), norm(v));
                l
            };
            let created = s.created().map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64());
            match *s.value() {
                SeriesValue::Counter { value, .. } => {
                    out.push((format!("{}_total", f.name), labels.clone(), value));
                    if openmetrics {
                        out.push((format!("{}_created", f.name), labels.clone(), created.unwrap()));
                    }
                }
                SeriesValue::Gauge(v) => out.push((f.name.clone(), labels.clone(), v)),
                SeriesValue::Histogram { count, sum } => {
                    let bounds = f.bounds.iter().copied().chain([f64::INFINITY]);
                    for (b, n) in bounds.zip(s.buckets()) {
                        out.push((format!("{}_bucket", f.name), with("le", b), *n as f64));
                    }
                    // OpenMetrics: no _sum/_count with negative buckets or a negative sum.
                    if !openmetrics || (f.bounds[0] >= 0.0 && sum >= 0.0) {
                        out.push((format!("{}_count", f.name), labels.clone(), count as f64));
                        out.push((format!("{}_sum", f.name), labels.clone(), sum));
                    }
                    if openmetrics {
                        out.push((format!("{}_created", f.name), labels.clone(), created.unwrap()));
                    }
                }
                SeriesValue::Summary { count, sum } => {
                    for (q, v) in f.quantiles.iter().zip(s.quantiles()) {
                        // OpenMetrics: quantile values are never negative.
                        if !openmetrics || v.is_nan() || *v >= 0.0 {
                            out.push((f.name.clone(), with("quantile", *q), *v));
                        }
                    }
                    if !openmetrics || sum >= 0.0 {
                        out.push((format!("{}_count", f.name), labels.clone(), count as f64));
                        out.push((format!("{}_sum", f.name), labels.clone(), sum));
                    }
                    if openmetrics {
                        out.push((format!("{}_created", f.name), labels.clone(), created.unwrap()));
                    }
                }
            }
        }
    }
    out
}

fn norm(v: f64) -> String {
    format!("{v:?}")
}

fn normalise(mut samples: Samples) -> Vec<(String, BTreeMap<String, String>, String)> {
    for s in samples.iter_mut() {
        for k in ["le", "quantile"] {
            if let Some(v) = s.1.get_mut(k) {
                let f: f64 = match v.as_str() {
                    "+Inf" => f64::INFINITY,
                    x => x.parse().unwrap(),
                };
                *v = norm(f);
            }
        }
    }
    let mut out: Vec<_> = samples
        .into_iter()
        .map(|(n, l, v)| {
            // _created is a float of seconds: compare to the millisecond.
            let v = if n.ends_with("_created") { format!("{:.3}", v) } else { format!("{v:?}") };
            (n, l, v)
        })
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Kind {
    Counter(Vec<f64>),
    Gauge(f64),
    Histogram(Vec<f64>),
    Summary(Vec<f64>),
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        Just("a\\\"b".to_owned()),
        Just("line\nbreak".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        Just("é ü 中 🙂".to_owned()),
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    let finite = -1e12f64..1e12;
    prop_oneof![
        proptest::collection::vec(prop_oneof![0.0f64..1e9, Just(1.0)], 0..4).prop_map(Kind::Counter),
        prop_oneof![finite.clone(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)].prop_map(Kind::Gauge),
        proptest::collection::vec(-100.0f64..100.0, 0..8).prop_map(Kind::Histogram),
        proptest::collection::vec(-100.0f64..100.0, 0..8).prop_map(Kind::Summary),
    ]
}

type Case = Vec<(Kind, String, Vec<[String; 2]>)>;

fn build(case: &Case) -> Snapshot {
    let r = Registry::builder().self_metrics(false).build().unwrap();
    for (i, (k, help, series)) in case.iter().enumerate() {
        let name = format!("m{i}");
        for values in series {
            let v = [values[0].as_str(), values[1].as_str()];
            match k {
                Kind::Counter(adds) => {
                    let f = r.counter(&name).help(help).labels(["a", "b"]).register().unwrap();
                    let c = f.with(&v);
                    adds.iter().for_each(|x| c.add(*x));
                }
                Kind::Gauge(x) => r.gauge(&name).help(help).labels(["a", "b"]).register().unwrap().with(&v).set(*x),
                Kind::Histogram(obs) => {
                    let f = r
                        .histogram(&name)
                        .help(help)
                        .labels(["a", "b"])
                        .buckets(
                            if i % 2 == 0 {
                                Buckets::new([0.0, 0.5, 10.0])
                            } else {
                                Buckets::new([-1.0, 0.0, 0.5, 10.0])
                            }
                            .unwrap(),
                        )
                        .register()
                        .unwrap();
                    obs.iter().for_each(|x| f.with(&v).observe(*x));
                }
                Kind::Summary(obs) => {
                    let opts = SummaryOptions::default().quantiles([0.0, 0.5, 0.99]).unwrap();
                    let f = r.summary(&name).help(help).labels(["a", "b"]).options(opts).register().unwrap();
                    obs.iter().for_each(|x| f.with(&v).observe(*x));
                }
            }
        }
    }
    r.snapshot()
}

fn case() -> impl Strategy<Value = Case> {
    proptest::collection::vec(
        (
            kind(),
            prop_oneof!["[ -~]{0,20}", Just("multi\nline \\ \"help\"".to_owned()), any::<String>()],
            proptest::collection::vec([label_value(), label_value()], 1..4),
        ),
        1..5,
    )
}

fn check_format(snap: &Snapshot, format: &str) -> Result<(), TestCaseError> {
    let (body, om) = match format {
        "openmetrics" => (encode::openmetrics(snap), true),
        _ => (encode::prometheus_text(snap), false),
    };
    let Some(parsed) = parse(format, &body) else {
        return Ok(());
    };
    let parsed =
        parsed.map_err(|e| TestCaseError::fail(format!("{format} parser rejected our output: {e}\n{body}")))?;
    prop_assert_eq!(normalise(parsed), normalise(expected(snap, om)), "{}", body);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn python_parsers_read_back_every_snapshot(case in case()) {
        let snap = build(&case);
        check_format(&snap, "text")?;
        check_format(&snap, "openmetrics")?;
    }
}

/// Exemplars: a histogram observed inside a sampled span carries the trace
/// id; the OpenMetrics encoder writes it and the Python OpenMetrics parser
/// reads it back.
#[test]
fn exemplars_are_written_and_parsed() {
    use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};
    let r = Registry::builder().self_metrics(false).build().unwrap();
    let h = r
        .histogram("request_latency_seconds")
        .help("Latency.")
        .buckets(Buckets::new([0.1, 0.5, 1.0]).unwrap())
        .exemplars()
        .register()
        .unwrap();
    h.observe(0.05); // outside any span: no exemplar
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(InMemoryExporter::new())).build();
    let tracer = provider.tracer("t");
    let (trace_id, span_id) = tracer.in_span("request", |span| {
        h.observe(0.3);
        (span.context().trace_id.to_string(), span.context().span_id.to_string())
    });
    let body = encode::openmetrics(&r.snapshot());
    let want = format!(
        "request_latency_seconds_bucket{{le=\"0.5\"}} 2 # {{trace_id=\"{trace_id}\",span_id=\"{span_id}\"}} 0.3 "
    );
    assert!(body.contains(&want), "{body}");
    let Some(parsed) = sonde_testkit::exposition::python_parse("openmetrics", &body) else { return };
    let v = parsed.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["ok"], true, "{v}");
    let ex = &v["exemplars"][0];
    assert_eq!(ex[1]["le"], "0.5");
    assert_eq!(ex[2]["trace_id"], trace_id.as_str());
    assert_eq!(ex[2]["span_id"], span_id.as_str());
    assert_eq!(ex[3], "0.3");
}

/// A registry holding every instrument kind, with good names and help.
fn every_kind() -> Registry {
    let r = Registry::builder().self_metrics(false).build().unwrap();
    r.counter("jobs_total").help("Jobs run.").labels(["queue"]).register().unwrap().with(&["a\"b\\c"]).inc_by(3);
    r.up_down_counter("workers_active").help("Workers busy.").register().unwrap().inc();
    r.gauge("temperature_celsius").help("Temperature.\nSecond line.").register().unwrap().set(21.5);
    r.histogram("request_duration_seconds").help("Latency.").register().unwrap().observe(0.3);
    r.summary("payload_size_bytes").help("Payload sizes.").register().unwrap().observe(512.0);
    r.timer("task").help("Task time.").register().unwrap().record(std::time::Duration::from_millis(5));
    r.gauge_fn("uptime_seconds", "Uptime.", || 12.0).unwrap();
    r
}

#[test]
fn promtool_accepts_every_instrument_kind() {
    let body = encode::prometheus_text(&every_kind().snapshot());
    let Some(verdict) = sonde_testkit::exposition::promtool_check(&body) else { return };
    assert!(verdict.code == 0 && verdict.report.trim().is_empty(), "promtool: {verdict:?}\n{body}");
}

#[test]
fn python_parsers_accept_every_instrument_kind_and_self_metrics() {
    let r = every_kind();
    let snap = r.snapshot();
    for format in ["text", "openmetrics"] {
        let body = if format == "text" { encode::prometheus_text(&snap) } else { encode::openmetrics(&snap) };
        let Some(parsed) = parse(format, &body) else {
            return;
        };
        assert!(parsed.is_ok(), "{format}: {parsed:?}\n{body}");
    }
}
