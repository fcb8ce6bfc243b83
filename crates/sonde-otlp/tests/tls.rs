//! TLS through rustls: with the receiver's certificate authority trusted
//! (`certificate`, as `OTEL_EXPORTER_OTLP_CERTIFICATE`) metrics arrive over
//! HTTPS and gRPC with TLS; without it the connection is refused, never
//! downgraded to plain text. With a receiver that requires client
//! certificates, only an exporter presenting one (`client_certificate`, as
//! `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`) delivers.

use std::time::Duration;

use sonde::Registry;
use sonde_export::Exporter;
use sonde_otlp::{Otlp, OtlpBuilder, Protocol, RetryPolicy};
use sonde_testkit::otlp::Receiver;
use sonde_testkit::peers;

fn workload() -> Registry {
    let registry = Registry::new();
    registry.counter("secure_total").register().unwrap().inc();
    registry
}

/// A builder for each TLS transport of `rx`, failing fast.
fn transports(rx: &Receiver) -> Vec<(Protocol, Box<dyn Fn() -> OtlpBuilder>)> {
    let no_retries = RetryPolicy { attempts: 0, ..RetryPolicy::default() };
    [(Protocol::HttpProtobuf, rx.https.expect("a TLS port")), (Protocol::Grpc, rx.grpc)]
        .into_iter()
        .map(|(protocol, port)| {
            let url = format!("https://127.0.0.1:{port}");
            let base: Box<dyn Fn() -> OtlpBuilder> = Box::new(move || {
                Otlp::builder().endpoint(&url).protocol(protocol).retry(no_retries).timeout(Duration::from_secs(5))
            });
            (protocol, base)
        })
        .collect()
}

#[test]
fn tls_with_a_trusted_authority_and_refusal_without() {
    let dir = peers::temp_dir("otlp-tls");
    let Some((cert, key)) = peers::self_signed_certificate(dir.path(), "server") else { return };
    let Some(rx) = Receiver::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
    else {
        return;
    };
    let registry = workload();
    for (protocol, base) in transports(&rx) {
        let trusted = base().certificate(&cert).build().unwrap().metric_exporter().unwrap();
        trusted.export(&registry.snapshot()).unwrap_or_else(|e| panic!("{protocol:?} over TLS: {e}"));
        let untrusted = base().build().unwrap().metric_exporter().unwrap();
        assert!(untrusted.export(&registry.snapshot()).is_err(), "{protocol:?}: an unknown authority must be refused");
    }
    let received = rx.received();
    assert_eq!(received.len(), 2, "one request per transport, only the trusted ones: {received:?}");
    assert!(received.iter().all(|r| r.to_string().contains("\"secure\"")));
    assert!(
        Otlp::builder().certificate(dir.path().join("missing.pem")).build().is_err(),
        "an unreadable certificate is an error"
    );
}

#[test]
fn mutual_tls_delivers_only_with_the_client_certificate() {
    let dir = peers::temp_dir("otlp-mtls");
    let Some((cert, key)) = peers::self_signed_certificate(dir.path(), "server") else { return };
    let Some((client_cert, client_key)) = peers::self_signed_certificate(dir.path(), "client") else { return };
    let Some(rx) = Receiver::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--tls-client-ca",
        client_cert.to_str().unwrap(),
    ]) else {
        return;
    };
    let registry = workload();
    for (protocol, base) in transports(&rx) {
        let anonymous = base().certificate(&cert).build().unwrap().metric_exporter().unwrap();
        assert!(anonymous.export(&registry.snapshot()).is_err(), "{protocol:?}: no client certificate, no delivery");
        let wrong =
            base().certificate(&cert).client_certificate(&cert, &key).build().unwrap().metric_exporter().unwrap();
        assert!(wrong.export(&registry.snapshot()).is_err(), "{protocol:?}: a certificate the receiver does not trust");
        let known =
            base().certificate(&cert).client_certificate(&client_cert, &client_key).build().unwrap().metric_exporter();
        known.unwrap().export(&registry.snapshot()).unwrap_or_else(|e| panic!("{protocol:?} with mutual TLS: {e}"));
    }
    assert_eq!(rx.received().len(), 2, "one delivery per transport, with the client certificate only");
    // The same through the standard variables, per signal.
    let via_env = Otlp::from_vars([
        ("OTEL_EXPORTER_OTLP_CERTIFICATE".to_string(), cert.to_str().unwrap().to_string()),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE".to_string(), client_cert.to_str().unwrap().to_string()),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY".to_string(), client_key.to_str().unwrap().to_string()),
    ]);
    let exporter = via_env
        .endpoint(format!("https://127.0.0.1:{}", rx.https.unwrap()))
        .retry(RetryPolicy { attempts: 0, ..RetryPolicy::default() })
        .build()
        .unwrap()
        .metric_exporter()
        .unwrap();
    exporter.export(&registry.snapshot()).expect("the client certificate from the environment");
    assert_eq!(rx.received().len(), 3);
    let half =
        Otlp::from_vars([("OTEL_EXPORTER_OTLP_CLIENT_KEY".to_string(), client_key.to_str().unwrap().to_string())]);
    assert!(half.build().and_then(|o| o.metric_exporter().map(|_| ())).is_err(), "a key without its certificate");
}
