//! TLS through rustls: with the receiver's certificate authority trusted
//! (`certificate`, as `OTEL_EXPORTER_OTLP_CERTIFICATE`) metrics arrive over
//! HTTPS and gRPC with TLS; without it the connection is refused, never
//! downgraded to plain text.

use std::time::Duration;

use sonde::Registry;
use sonde_export::Exporter;
use sonde_otlp::{Otlp, Protocol, RetryPolicy};
use sonde_testkit::otlp::Receiver;
use sonde_testkit::peers;

#[test]
fn tls_with_a_trusted_authority_and_refusal_without() {
    let dir = std::env::temp_dir().join(format!("sonde-otlp-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((cert, key)) = peers::self_signed_certificate(&dir) else { return };
    let Some(rx) = Receiver::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
    else {
        return;
    };
    let registry = Registry::new();
    registry.counter("secure_total").register().unwrap().inc();
    let no_retries = RetryPolicy { attempts: 0, ..RetryPolicy::default() };
    for (protocol, port) in [(Protocol::HttpProtobuf, rx.https.expect("a TLS port")), (Protocol::Grpc, rx.grpc)] {
        let url = format!("https://127.0.0.1:{port}");
        let base =
            || Otlp::builder().endpoint(&url).protocol(protocol).retry(no_retries).timeout(Duration::from_secs(5));
        let trusted = base().certificate(&cert).build().unwrap().metric_exporter().unwrap();
        trusted.export(&registry.snapshot()).unwrap_or_else(|e| panic!("{protocol:?} over TLS: {e}"));
        let untrusted = base().build().unwrap().metric_exporter().unwrap();
        assert!(untrusted.export(&registry.snapshot()).is_err(), "{protocol:?}: an unknown authority must be refused");
    }
    let received = rx.received();
    assert_eq!(received.len(), 2, "one request per transport, only the trusted ones: {received:?}");
    assert!(received.iter().all(|r| r.to_string().contains("\"secure\"")));
    assert!(
        Otlp::builder().certificate(dir.join("missing.pem")).build().is_err(),
        "an unreadable certificate is an error"
    );
    std::fs::remove_dir_all(&dir).ok();
}
