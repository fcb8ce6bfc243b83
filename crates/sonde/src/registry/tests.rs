use std::time::Duration;

use super::*;
use crate::{Buckets, Error, Gauge, Histogram, MetricKind, MetricSpec, OVERFLOW_LABEL_VALUE};

fn quiet() -> Registry {
    Registry::builder().self_metrics(false).build().unwrap()
}

#[test]
fn get_or_create_returns_the_same_instance() {
    let r = quiet();
    let a = r.counter("hits_total").help("Hits.").register().unwrap();
    let b = r.counter("hits_total").register().unwrap();
    a.inc();
    assert_eq!(b.value(), 1.0);
    let fa = r.gauge("temp").labels(["room"]).register().unwrap();
    let fb = r.gauge("temp").labels(["room"]).register().unwrap();
    fa.with(&["kitchen"]).set(21.0);
    assert_eq!(fb.with(&["kitchen"]).value(), 21.0);
}

#[test]
fn conflicts_are_errors() {
    let r = quiet();
    r.counter("x_total").register().unwrap();
    let cases: Vec<Result<()>> = vec![
        r.gauge("x_total").register().map(drop),
        r.counter("x_total").labels(["a"]).register().map(drop),
        r.counter("y_total")
            .help("different")
            .register()
            .map(drop)
            .and(r.counter("y_total").help("other").register().map(drop)),
        r.histogram("h")
            .buckets(Buckets::new([1.0]).unwrap())
            .register()
            .map(drop)
            .and(r.histogram("h").buckets(Buckets::new([2.0]).unwrap()).register().map(drop)),
    ];
    for c in cases {
        assert!(matches!(c, Err(Error::Conflict { .. })), "{c:?}");
    }
}

#[test]
fn invalid_declarations_have_precise_errors() {
    let r = quiet();
    assert!(matches!(r.counter("1bad").register(), Err(Error::InvalidMetricName { .. })));
    assert!(matches!(r.counter("ok").labels(["bad-label"]).register(), Err(Error::InvalidLabelName { .. })));
    assert!(matches!(r.counter("ok2").labels(["a", "a"]).register(), Err(Error::InvalidLabelName { .. })));
    assert!(matches!(r.histogram("h").labels(["le"]).register(), Err(Error::InvalidLabelName { .. })));
    assert!(matches!(r.summary("s").labels(["quantile"]).register(), Err(Error::InvalidLabelName { .. })));
    assert!(matches!(r.counter("u").unit("sec onds").register(), Err(Error::InvalidUnit { .. })));
    let many: Vec<String> = (0..100).map(|i| format!("l{i}")).collect();
    assert!(matches!(r.counter("wide").labels(&many).register(), Err(Error::TooManyLabels { .. })));
    assert!(matches!(
        r.counter("zero").labels(["a"]).cardinality_limit(0).register(),
        Err(Error::InvalidOption { .. })
    ));
    let msg = r.counter("1bad").register().unwrap_err().to_string();
    assert!(msg.contains("1bad"), "the message names the input: {msg}");
}

#[test]
fn series_identity_uses_full_label_values() {
    let r = quiet();
    let f = r.counter("c_total").labels(["a", "b"]).register().unwrap();
    f.with(&["ab", "c"]).inc();
    f.with(&["a", "bc"]).inc();
    assert_eq!(f.len(), 2, "prometheus merges these; we must not");
}

#[test]
fn cardinality_limit_routes_to_overflow_and_counts() {
    let r = Registry::builder().cardinality_limit(3).build().unwrap();
    let f = r.counter("req_total").labels(["path"]).register().unwrap();
    for i in 0..10 {
        f.with(&[&format!("/p{i}")]).inc();
    }
    assert_eq!(f.len(), 4, "3 series and the overflow series");
    assert_eq!(f.with(&[OVERFLOW_LABEL_VALUE]).value(), 7.0);
    assert!(matches!(f.try_with(&["/new"]), Err(Error::CardinalityLimit { .. })));
    // wrong arity and oversize values also go to overflow, counted
    f.with(&["a", "b"]).inc();
    f.with(&[&"x".repeat(crate::MAX_LABEL_VALUE_LEN + 1)]).inc();
    assert!(matches!(f.try_with(&[]), Err(Error::LabelCount { expected: 1, got: 0, .. })));
    assert_eq!(f.with(&[OVERFLOW_LABEL_VALUE]).value(), 9.0);
    let snap = r.snapshot();
    let over = snap.family("sonde_cardinality_overflow").unwrap();
    assert_eq!(over.find(&["req"]).unwrap().value().as_f64(), 9.0);
}

#[test]
fn scopes_prefix_names_and_add_constant_labels() {
    let r = quiet();
    let api = r.with_namespace("app").with_subsystem("http").with_labels([("svc", "api")]).unwrap();
    let web = r.with_namespace("app").with_subsystem("http").with_labels([("svc", "web")]).unwrap();
    api.counter("requests_total").labels(["code"]).register().unwrap().with(&["200"]).inc();
    web.counter("requests_total").labels(["code"]).register().unwrap().with(&["500"]).inc_by(2);
    let snap = r.snapshot();
    let f = snap.family("app_http_requests").unwrap();
    assert_eq!(&*f.label_names, &["svc".into(), "code".into()] as &[Box<str>]);
    assert_eq!(f.find(&["api", "200"]).unwrap().value().as_f64(), 1.0);
    assert_eq!(f.find(&["web", "500"]).unwrap().value().as_f64(), 2.0);
    assert!(r.with_labels([("svc", "x"), ("svc", "y")]).is_err());
}

#[test]
fn strict_registry() {
    let r = Registry::strict([
        MetricSpec::new("jobs_total", MetricKind::Counter, "Jobs run."),
        MetricSpec::new("job_duration", MetricKind::Histogram, "Job time.").unit("ms"),
        MetricSpec::new("queue_wait_seconds", MetricKind::Histogram, "Wait."),
    ])
    .unwrap();
    // A spec declared under the suffixed name matches `.unit()` on the plain one.
    r.histogram("queue_wait").unit("seconds").register().unwrap().observe(0.5);
    assert!(r.snapshot().family("queue_wait_seconds").is_some());
    assert!(matches!(r.histogram("queue_wait").register(), Err(Error::Undeclared { .. })));
    r.counter("jobs_total").register().unwrap();
    assert!(matches!(r.counter("nope_total").register(), Err(Error::Undeclared { .. })));
    assert!(matches!(r.gauge("jobs_total").register(), Err(Error::KindMismatch { .. })));
    let h = r.histogram("job_duration").register().unwrap();
    h.observe(3.0);
    let snap = r.snapshot();
    let f = snap.family("job_duration_ms").unwrap();
    assert_eq!(f.help, "Job time.");
    assert_eq!(&*f.bounds, Buckets::default_milliseconds().bounds(), "unit-aware default buckets");
    assert!(matches!(
        Registry::strict([MetricSpec::new("a", MetricKind::Gauge, ""), MetricSpec::new("a", MetricKind::Gauge, "")]),
        Err(Error::DuplicateSpec { .. })
    ));
}

#[test]
fn reset_keeps_gauges_reset_all_does_not() {
    let r = quiet();
    let c = r.counter("c_total").register().unwrap();
    let g = r.gauge("g").register().unwrap();
    let h = r.histogram("h").register().unwrap();
    c.inc();
    g.set(5.0);
    h.observe(1.0);
    r.reset();
    assert_eq!((c.value(), g.value(), h.snapshot().count), (0.0, 5.0, 0));
    r.reset_all();
    assert_eq!(g.value(), 0.0);
}

#[test]
fn register_unregister_and_callbacks() {
    let r = quiet();
    let g = Gauge::new();
    r.register("external", "", g.clone()).unwrap();
    assert!(r.register("external", "", Gauge::new()).is_err());
    g.set(2.0);
    r.gauge_fn("computed", "", || 42.0).unwrap();
    r.counter_fn("ticks_total", "", || 7.0).unwrap();
    assert!(
        r.counter_fn("computed_total", "", || 7.0).is_err(),
        "counter `computed` would collide with gauge `computed`"
    );
    let h = Histogram::new(Buckets::new([1.0]).unwrap());
    r.register("hist", "", h).unwrap();
    let snap = r.snapshot();
    assert_eq!(snap.family("external").unwrap().series().next().unwrap().value().as_f64(), 2.0);
    assert_eq!(snap.family("computed").unwrap().series().next().unwrap().value().as_f64(), 42.0);
    assert_eq!(r.names(), ["computed", "external", "hist", "ticks"]);
    assert!(r.unregister("external"));
    assert!(!r.unregister("external"));
}

/// A TTL of zero expires, at a collection, every series unchanged since the
/// previous one: exact, with no clock in the test.
#[test]
fn idle_series_expire_after_ttl() {
    let r = quiet();
    let f = r.counter("conn_total").labels(["peer"]).time_to_live(Duration::ZERO).register().unwrap();
    f.with(&["old"]).inc();
    f.with(&["busy"]).inc();
    r.snapshot(); // first sighting of both
    f.with(&["busy"]).inc(); // changed since: stays
    let snap = r.snapshot();
    let fam = snap.family("conn").unwrap();
    assert!(fam.find(&["busy"]).is_some());
    assert!(fam.find(&["old"]).is_none(), "unchanged since the last collection: expired");
    assert_eq!(f.len(), 1);

    // A long TTL keeps an unchanged series.
    let g = r.counter("kept_total").labels(["peer"]).time_to_live(Duration::from_secs(3600)).register().unwrap();
    g.with(&["idle"]).inc();
    r.snapshot();
    r.snapshot();
    assert_eq!(g.len(), 1);
}

/// A removed series takes its idle record with it: recreated with the same
/// values (and the same value), it is not expired at its first collection.
#[test]
fn a_removed_and_recreated_series_starts_a_fresh_ttl() {
    let r = quiet();
    let f = r.counter("conn_total").labels(["peer"]).time_to_live(Duration::ZERO).register().unwrap();
    f.with(&["a"]).inc();
    r.snapshot(); // sighted with value 1
    assert!(f.remove(&["a"]));
    f.with(&["a"]).inc(); // value 1 again
    let snap = r.snapshot();
    assert!(snap.family("conn").unwrap().find(&["a"]).is_some(), "first sighting of the new series");
}

#[test]
fn self_metrics_are_reported() {
    let r = Registry::new();
    r.counter("x_total").register().unwrap();
    r.snapshot();
    let snap = r.snapshot();
    assert_eq!(snap.family("sonde_collections").unwrap().series().next().unwrap().value().as_f64(), 1.0);
    assert_eq!(snap.family("sonde_series").unwrap().series().next().unwrap().value().as_f64(), 1.0);
    assert!(snap.family("sonde_dropped_values").unwrap().find(&["nan_observation"]).is_some());
}

/// `.exemplars()` holds whatever order it is called in relative to
/// `.unit()` and `.buckets()` (a later `.buckets()` used to drop it, an
/// earlier `.exemplars()` to ignore the unit's buckets).
#[test]
fn exemplars_hold_in_any_builder_order() {
    use crate::Metric;
    let r = quiet();
    let bounds = || Buckets::new([0.1, 1.0]).unwrap();
    let a = r.histogram("a_seconds").exemplars().buckets(bounds()).register().unwrap();
    let b = r.histogram("b_seconds").buckets(bounds()).exemplars().register().unwrap();
    let c = r.histogram("c").exemplars().unit("bytes").register().unwrap();
    let f = r.histogram("d_seconds").labels(["x"]).exemplars().buckets(bounds()).register().unwrap();
    for h in [&a, &b, &f.with(&["1"])] {
        assert_eq!(h.layout(), bounds().with_exemplars());
    }
    assert_eq!(c.layout(), Buckets::for_unit(Some("bytes")).with_exemplars());
}

/// `max_series` bounds the registry as a whole: new series beyond it go to
/// each family's overflow series, counted; removals and unregistration
/// free room again.
#[test]
fn max_series_bounds_every_family_together() {
    let r = Registry::builder().max_series(3).build().unwrap();
    let a = r.counter("a_total").labels(["k"]).register().unwrap();
    let b = r.gauge("b").labels(["k"]).register().unwrap();
    a.with(&["1"]).inc();
    a.with(&["2"]).inc();
    b.with(&["1"]).set(1.0);
    assert_eq!(r.series_count(), 3);
    b.with(&["2"]).set(2.0); // refused: to b's overflow series
    assert!(matches!(a.try_with(&["3"]), Err(Error::SeriesLimit { limit: 3, .. })));
    let snap = r.snapshot();
    assert_eq!(snap.family("b").unwrap().find(&[crate::OVERFLOW_LABEL_VALUE]).unwrap().value().as_f64(), 2.0);
    assert_eq!(snap.family("sonde_series_refused").unwrap().series().next().unwrap().value().as_f64(), 2.0);
    assert_eq!(r.series_count(), 4, "the overflow series is always allowed");
    assert!(a.remove(&["1"]));
    assert_eq!(r.series_count(), 3);
    assert!(r.unregister("b"));
    drop(b); // the family's series leave the count with its last handle
    assert_eq!(r.series_count(), 1);
    a.with(&["4"]).inc();
    assert!(snap_has(&r, "a", &["4"]));
}

fn snap_has(r: &Registry, family: &str, values: &[&str]) -> bool {
    r.snapshot().family(family).is_some_and(|f| f.find(values).is_some())
}

/// `series_bytes` counts label keys, the index and each series' state; it
/// follows removals, and collections report it as `sonde_series_bytes`.
#[test]
fn series_bytes_follow_the_series_held() {
    let r = Registry::new();
    let c = r.counter("hits_total").labels(["path", "code"]).register().unwrap();
    let h = r.histogram("latency_seconds").labels(["path"]).register().unwrap();
    let empty = r.series_bytes();
    let n = if cfg!(miri) { 50 } else { 1000 };
    let paths: Vec<String> = (0..n).map(|i| format!("/api/v1/items/{i:06}")).collect();
    for p in &paths {
        c.with(&[p, "200"]).inc();
        h.with(&[p]).observe(0.1);
    }
    let full = r.series_bytes();
    let per_series = (full - empty) / (2 * n);
    // A 20-byte key and a small counter, or a histogram row of 12 words:
    // above the keys alone, well below a kilobyte each.
    assert!((100..1000).contains(&per_series), "{per_series} bytes per series");
    let reported = r.snapshot().family("sonde_series_bytes").unwrap().series().next().unwrap().value().as_f64();
    // The collection sorted the series once: that order is cached, and counted.
    assert_eq!(reported as usize, r.series_bytes());
    assert_eq!(r.series_bytes() - full, 2 * n * size_of::<usize>());
    for p in &paths {
        c.remove(&[p, "200"]);
    }
    let after = r.series_bytes();
    assert!(after < full - n * 30, "{full} -> {after}");
}
