//! `[otlp]` in the Config: metrics go to the receiver on the interval and
//! once more at shutdown; the section's values reach the wire.

use std::time::Duration;

use sonde_config::{Config, Pipeline};
use sonde_testkit::otlp::Receiver;

#[test]
fn the_otlp_section_exports_metrics() {
    let Some(rx) = Receiver::start() else { return };
    for (protocol, url) in [("http/json", rx.http_url()), ("grpc", rx.grpc_url())] {
        rx.reset();
        let toml = format!(
            "namespace = \"app\"\n[otlp]\nendpoint = \"{url}\"\nprotocol = \"{protocol}\"\ninterval = \"200ms\"\n\
             gzip = true\nservice_name = \"configured\"\nresource_attributes = {{ team = \"core\" }}\n"
        );
        let config = Config::from_toml(&toml).unwrap();
        let pipeline = Pipeline::start(&config, sonde::Registry::new()).unwrap();
        assert!(pipeline.otlp().is_some());
        pipeline.registry().counter("orders_total").register().unwrap().add(7.0);
        let first = rx.wait_for("metrics", 1);
        assert!(!first.is_empty(), "{protocol}: nothing exported on the interval");
        pipeline.shutdown(Duration::from_secs(5)).unwrap();
        let all = rx.received();
        assert_eq!(all.last().unwrap()["transport"], protocol);
        let body = all.last().unwrap()["body"].to_string();
        for wanted in ["\"app_orders\"", "\"configured\"", "\"team\"", "\"7\""] {
            assert!(body.contains(wanted), "{protocol}: {wanted} missing from {body}");
        }
    }
}

/// `certificate`, `client_certificate` and `client_key` reach the exporter:
/// a receiver that requires the client certificate gets the metrics.
#[test]
fn the_otlp_section_speaks_mutual_tls() {
    let dir = sonde_testkit::peers::temp_dir("config-mtls");
    let Some((cert, key)) = sonde_testkit::peers::self_signed_certificate(dir.path(), "server") else { return };
    let Some((ccert, ckey)) = sonde_testkit::peers::self_signed_certificate(dir.path(), "client") else { return };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let Some(rx) =
        Receiver::start_with(&["--tls-cert", &path(&cert), "--tls-key", &path(&key), "--tls-client-ca", &path(&ccert)])
    else {
        return;
    };
    let toml = format!(
        "[otlp]\nendpoint = \"https://127.0.0.1:{}\"\ninterval = \"1h\"\ncertificate = {:?}\n\
         client_certificate = {:?}\nclient_key = {:?}\n",
        rx.https.unwrap(),
        path(&cert),
        path(&ccert),
        path(&ckey)
    );
    let pipeline = Pipeline::start(&Config::from_toml(&toml).unwrap(), sonde::Registry::new()).unwrap();
    pipeline.registry().counter("secure_total").register().unwrap().inc();
    pipeline.shutdown(Duration::from_secs(5)).unwrap();
    assert!(rx.received().iter().any(|r| r.to_string().contains("\"secure\"")), "delivered over mutual TLS");
}
