//! A "library" that only knows the `metrics` macros lands in Sonde.

use sonde::Registry;
use sonde_metrics_bridge::SondeRecorder;

/// Stands for third-party code: it uses only the `metrics` facade.
mod some_library {
    pub(crate) fn handle_request(method: &'static str, ok: bool, seconds: f64) {
        metrics::counter!("lib_requests_total", "method" => method, "outcome" => if ok { "ok" } else { "error" })
            .increment(1);
        metrics::gauge!("lib_in_flight").increment(1.0);
        metrics::histogram!("lib_request_seconds", "method" => method).record(seconds);
        metrics::gauge!("lib_in_flight").decrement(1.0);
    }

    pub(crate) fn set_pool(n: f64) {
        metrics::gauge!("lib_pool_size").set(n);
        metrics::counter!("lib_boot_total").absolute(7);
    }
}

#[test]
fn metrics_macros_land_in_sonde_with_labels_descriptions_and_units() {
    let registry = Registry::builder().self_metrics(false).build().unwrap();
    let recorder = SondeRecorder::new(registry.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("lib_requests_total", "Requests handled.");
        metrics::describe_histogram!("lib_request_seconds", metrics::Unit::Seconds, "Request latency.");
        for i in 0..10 {
            some_library::handle_request(if i % 2 == 0 { "GET" } else { "POST" }, i != 3, 0.01 * i as f64);
        }
        some_library::set_pool(4.0);
        // Same name, other labels: not a valid Prometheus family; refused and counted.
        metrics::counter!("lib_requests_total", "other" => "x").increment(1);
    });
    let snap = registry.snapshot();
    let req = snap.family("lib_requests").unwrap();
    assert_eq!(req.help, "Requests handled.");
    assert_eq!(&*req.label_names, &["method".into(), "outcome".into()] as &[Box<str>]);
    assert_eq!(req.find(&["GET", "ok"]).unwrap().value().as_f64(), 5.0);
    assert_eq!(req.find(&["POST", "ok"]).unwrap().value().as_f64(), 4.0);
    assert_eq!(req.find(&["POST", "error"]).unwrap().value().as_f64(), 1.0);
    let lat = snap.family("lib_request_seconds").unwrap();
    assert_eq!(&*lat.bounds, sonde::Buckets::default_seconds().bounds(), "the unit picked the buckets");
    assert_eq!(lat.find(&["GET"]).unwrap().histogram().unwrap().count, 5);
    assert_eq!(snap.family("lib_in_flight").unwrap().series().next().unwrap().value().as_f64(), 0.0);
    assert_eq!(snap.family("lib_pool_size").unwrap().series().next().unwrap().value().as_f64(), 4.0);
    assert_eq!(snap.family("lib_boot").unwrap().series().next().unwrap().value().as_f64(), 7.0);
    assert_eq!(recorder.rejected(), 1);
}
