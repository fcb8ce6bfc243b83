//! OTLP/HTTP: one POST per request, protobuf or JSON, optionally gzipped.

use std::io::Write;

use super::{retry::parse_retry_after, Attempt, ExportRequest};
use crate::config::{Endpoint, Protocol, Signal};
use crate::Error;

/// Largest response body read (a partial-success message is small).
const MAX_RESPONSE: u64 = 1 << 20;

pub(crate) struct HttpSender {
    agent: ureq::Agent,
}

impl HttpSender {
    pub(super) fn new(endpoint: &Endpoint) -> Result<Self, Error> {
        let mut config =
            ureq::Agent::config_builder().timeout_global(Some(endpoint.timeout)).http_status_as_error(false);
        if endpoint.ca_pem.is_some() || endpoint.client_pem.is_some() {
            let mut tls = ureq::tls::TlsConfig::builder();
            if let Some(pem) = &endpoint.ca_pem {
                let ca = ureq::tls::Certificate::from_pem(pem)
                    .map_err(|e| Error::Config(format!("the OTLP certificate is not PEM: {e}")))?;
                tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]));
            }
            if let Some((cert, key)) = &endpoint.client_pem {
                let chain = ureq::tls::parse_pem(cert)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::Config(format!("the OTLP client certificate is not PEM: {e}")))?;
                if chain.is_empty() {
                    return Err(Error::Config("the OTLP client certificate file holds no certificate".into()));
                }
                let key = ureq::tls::PrivateKey::from_pem(key)
                    .map_err(|e| Error::Config(format!("the OTLP client key is not a PEM private key: {e}")))?;
                tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
            }
            config = config.tls_config(tls.build());
        }
        Ok(Self { agent: config.build().into() })
    }

    pub(super) fn post<R: ExportRequest>(&self, signal: Signal, endpoint: &Endpoint, body: &[u8]) -> Attempt {
        let json = endpoint.protocol == Protocol::HttpJson;
        let mut request = self
            .agent
            .post(&endpoint.url)
            .header("Content-Type", if json { "application/json" } else { "application/x-protobuf" })
            .header("User-Agent", concat!("sonde-otlp/", env!("CARGO_PKG_VERSION")));
        for (k, v) in &endpoint.headers {
            request = request.header(k, v);
        }
        let gzipped;
        let body = if endpoint.gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = enc.write_all(body);
            gzipped = enc.finish().unwrap_or_default();
            request = request.header("Content-Encoding", "gzip");
            &gzipped[..]
        } else {
            body
        };
        let transport =
            |e: &dyn std::fmt::Display| Error::Transport { signal: signal.as_str(), message: e.to_string() };
        let mut response = match request.send(body) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(transport(&e), None),
        };
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let bytes = response.body_mut().with_config().limit(MAX_RESPONSE).read_to_vec().unwrap_or_default();
        if (200..300).contains(&status) {
            let (rejected, message) = if bytes.is_empty() {
                (0, String::new())
            } else if json {
                json_partial(&bytes)
            } else {
                <R::Response as prost::Message>::decode(&bytes[..]).map(|r| R::partial(&r)).unwrap_or_default()
            };
            return Attempt::Done { rejected, message };
        }
        let message: String = String::from_utf8_lossy(&bytes).chars().take(512).collect();
        // OTLP/HTTP: only these are retryable; every other status is final.
        let retryable = matches!(status, 429 | 502 | 503 | 504);
        let e = Error::Status { signal: signal.as_str(), status, message, retryable };
        if retryable {
            Attempt::Retry(e, retry_after)
        } else {
            Attempt::Fail(e)
        }
    }
}

/// The partial success of an OTLP/JSON response. Read loosely: receivers
/// write the 64-bit count as a string (protobuf's JSON mapping) or a number.
fn json_partial(bytes: &[u8]) -> (i64, String) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else { return (0, String::new()) };
    let Some(p) = v.get("partialSuccess").and_then(|p| p.as_object()) else { return (0, String::new()) };
    let rejected = p
        .iter()
        .find(|(k, _)| k.starts_with("rejected"))
        .and_then(|(_, v)| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(0);
    let message = p.get("errorMessage").and_then(|m| m.as_str()).unwrap_or_default().to_owned();
    (rejected, message)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_partial_success_in_both_spellings() {
        let p = |s: &str| super::json_partial(s.as_bytes());
        assert_eq!(p(r#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"x"}}"#), (3, "x".into()));
        assert_eq!(p(r#"{"partialSuccess":{"rejectedDataPoints":2}}"#), (2, String::new()));
        assert_eq!(p(r#"{}"#), (0, String::new()));
        assert_eq!(p("not json"), (0, String::new()));
    }
}
