//! Options, from a builder and from the standard `OTEL_*` variables.
//!
//! Precedence, highest first: a builder call, the signal-specific variable
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), the general one
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`), the default.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Error;

/// Which telemetry signal a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records (Sonde events).
    Logs,
}

impl Signal {
    /// `traces`, `metrics` or `logs`: the HTTP path's last part and the
    /// `signal` label of self-metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Metrics => "metrics",
            Self::Logs => "logs",
        }
    }

    fn env_part(self) -> &'static str {
        match self {
            Self::Traces => "TRACES",
            Self::Metrics => "METRICS",
            Self::Logs => "LOGS",
        }
    }
}

/// How requests travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (the default, port 4318).
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (port 4318).
    HttpJson,
    /// OTLP/gRPC (port 4317).
    Grpc,
}

impl Protocol {
    /// Parses `http/protobuf`, `http/json` or `grpc`.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the value when it is not `grpc`, `http/protobuf` or `http/json`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Ok(Self::HttpJson),
            "grpc" => Ok(Self::Grpc),
            other => {
                Err(Error::Config(format!("unknown OTLP protocol {other:?}: use grpc, http/protobuf or http/json")))
            }
        }
    }
}

/// Whether a metric exporter sends totals since start or changes since the
/// last export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Temporality {
    /// Totals since the series started (the default; what Prometheus expects).
    #[default]
    Cumulative,
    /// Changes since the previous export for counters and histograms
    /// (up-down counters, gauges and summaries stay as they are).
    Delta,
}

/// How histograms declared without buckets aggregate: the OpenTelemetry
/// SDKs' `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HistogramAggregation {
    /// Classic buckets, the unit's preset (`explicit_bucket_histogram`, the default).
    #[default]
    ExplicitBucket,
    /// Native buckets up to scale 20, at most 160 of them
    /// (`base2_exponential_bucket_histogram`), exported as OTLP
    /// `ExponentialHistogram`s, as the SDKs do.
    Base2Exponential,
}

impl HistogramAggregation {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExplicitBucket => "explicit_bucket_histogram",
            Self::Base2Exponential => "base2_exponential_bucket_histogram",
        }
    }

    /// Parses the variable's spelling (case-insensitive, trimmed).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for anything else.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "explicit_bucket_histogram" => Ok(Self::ExplicitBucket),
            "base2_exponential_bucket_histogram" => Ok(Self::Base2Exponential),
            other => Err(Error::Config(format!(
                "default histogram aggregation {other:?} is not explicit_bucket_histogram or base2_exponential_bucket_histogram"
            ))),
        }
    }

    /// The native buckets this aggregation gives histograms declared
    /// without buckets (scale 20, 160 buckets, the SDKs' defaults).
    pub fn native_buckets(self) -> Option<sonde::NativeBuckets> {
        match self {
            Self::ExplicitBucket => None,
            Self::Base2Exponential => sonde::NativeBuckets::new().schema(20).ok(),
        }
    }
}

/// Retries after a retryable failure: `initial` wait, growing 1.5x per
/// attempt up to `max`, each jittered by ±20 %, at most `attempts` retries,
/// never past the request's deadline. A `Retry-After` answer replaces the
/// computed wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 5).
    pub attempts: u32,
    /// First wait (default 1 s).
    pub initial: Duration,
    /// Longest wait (default 5 s).
    pub max: Duration,
    /// Longest time one export may take, retries included (default 30 s).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

/// Everything one signal's sender needs.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub url: String,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub gzip: bool,
    pub timeout: Duration,
    /// PEM of the certificate authority to trust instead of the web's.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM of the client certificate chain and of its key, for mutual TLS.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// Options for [`crate::Otlp`]; see the crate docs for the variables read.
#[derive(Clone, Debug, Default)]
#[must_use = "nothing is exported until `build` is called"]
pub struct OtlpBuilder {
    endpoint: Option<String>,
    signal_endpoints: BTreeMap<&'static str, String>,
    protocol: Option<Protocol>,
    headers: Vec<(String, String)>,
    gzip: Option<bool>,
    timeout: Option<Duration>,
    insecure: Option<bool>,
    certificate: Option<std::path::PathBuf>,
    client_identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    service_name: Option<String>,
    resource: Vec<(String, String)>,
    interval: Option<Duration>,
    temporality: Temporality,
    histogram_aggregation: Option<HistogramAggregation>,
    retry: RetryPolicy,
    env: BTreeMap<String, String>,
}

impl OtlpBuilder {
    pub(crate) fn with_env(env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { env: env.into_iter().filter(|(k, _)| k.starts_with("OTEL_")).collect(), ..Self::default() }
    }

    /// The collector's base URL (`http://127.0.0.1:4318`); for OTLP/HTTP,
    /// `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The full URL for one signal, used as given.
    pub fn signal_endpoint(mut self, signal: Signal, url: impl Into<String>) -> Self {
        self.signal_endpoints.insert(signal.as_str(), url.into());
        self
    }

    /// The transport (default OTLP/HTTP protobuf).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// A header sent with every request (such as an API key).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Compresses request bodies with gzip.
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = Some(on);
        self
    }

    /// Deadline of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// For an endpoint given without a scheme: `true` means plain
    /// `http://`, `false` (the default) TLS. A scheme in the URL wins.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = Some(insecure);
        self
    }

    /// Trusts the certificate authority in this PEM file for TLS (instead
    /// of the web's roots), as `OTEL_EXPORTER_OTLP_CERTIFICATE` does.
    pub fn certificate(mut self, pem_file: impl Into<std::path::PathBuf>) -> Self {
        self.certificate = Some(pem_file.into());
        self
    }

    /// Presents this client certificate (a PEM chain, leaf first) and its
    /// PEM key for mutual TLS, as `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY` do.
    pub fn client_certificate(
        mut self,
        cert_pem_file: impl Into<std::path::PathBuf>,
        key_pem_file: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.client_identity = Some((cert_pem_file.into(), key_pem_file.into()));
        self
    }

    /// The `service.name` resource attribute.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Another resource attribute (`deployment.environment`, ...).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Interval of periodic metric export (default 60 s, or
    /// `OTEL_METRIC_EXPORT_INTERVAL` in milliseconds).
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Cumulative (default) or delta metrics.
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// How histograms declared without buckets aggregate (default
    /// [`HistogramAggregation::ExplicitBucket`], or
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`); applied
    /// by [`crate::Otlp::registry_view`].
    pub fn default_histogram_aggregation(mut self, aggregation: HistogramAggregation) -> Self {
        self.histogram_aggregation = Some(aggregation);
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    fn var(&self, signal: Option<Signal>, name: &str) -> Option<&str> {
        let key = match signal {
            Some(s) => format!("OTEL_EXPORTER_OTLP_{}_{name}", s.env_part()),
            None => format!("OTEL_EXPORTER_OTLP_{name}"),
        };
        self.env.get(&key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn signal_var(&self, signal: Signal, name: &str) -> Option<&str> {
        self.var(Some(signal), name).or_else(|| self.var(None, name))
    }

    pub(crate) fn resolve(&self, signal: Signal) -> Result<Endpoint, Error> {
        let protocol = match (self.protocol, self.signal_var(signal, "PROTOCOL")) {
            (Some(p), _) => p,
            (None, Some(s)) => Protocol::parse(s)?,
            (None, None) => Protocol::default(),
        };
        let insecure = match (self.insecure, self.signal_var(signal, "INSECURE")) {
            (Some(i), _) => i,
            (None, Some(s)) => s.eq_ignore_ascii_case("true"),
            (None, None) => false,
        };
        let with_scheme = |url: &str| -> String {
            if url.contains("://") {
                url.to_owned()
            } else {
                format!("{}://{url}", if insecure { "http" } else { "https" })
            }
        };
        let http = protocol != Protocol::Grpc;
        let path = |base: &str| {
            if http {
                format!("{}/v1/{}", base.trim_end_matches('/'), signal.as_str())
            } else {
                base.to_owned()
            }
        };
        let url = if let Some(u) = self.signal_endpoints.get(signal.as_str()) {
            with_scheme(u)
        } else if let Some(u) = &self.endpoint {
            path(&with_scheme(u))
        } else if let Some(u) = self.var(Some(signal), "ENDPOINT") {
            with_scheme(u)
        } else if let Some(u) = self.var(None, "ENDPOINT") {
            path(&with_scheme(u))
        } else {
            path(if http { "http://localhost:4318" } else { "http://localhost:4317" })
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!("OTLP endpoint {url:?} must use http:// or https://")));
        }
        let mut headers = Vec::new();
        for source in [self.var(None, "HEADERS"), self.var(Some(signal), "HEADERS")].into_iter().flatten() {
            for (k, v) in parse_pairs(source, "OTEL_EXPORTER_OTLP_HEADERS")? {
                let k = k.to_ascii_lowercase();
                headers.retain(|(existing, _): &(String, String)| *existing != k);
                headers.push((k, v));
            }
        }
        for (k, v) in &self.headers {
            headers.retain(|(existing, _): &(String, String)| existing != k);
            headers.push((k.clone(), v.clone()));
        }
        let gzip = match (self.gzip, self.signal_var(signal, "COMPRESSION")) {
            (Some(g), _) => g,
            (None, Some("gzip")) => true,
            (None, Some("none")) | (None, None) => false,
            (None, Some(other)) => {
                return Err(Error::Config(format!("unknown OTLP compression {other:?}: use gzip or none")));
            }
        };
        let timeout = match (self.timeout, self.signal_var(signal, "TIMEOUT")) {
            (Some(t), _) => t,
            (None, Some(ms)) => Duration::from_millis(
                ms.parse()
                    .map_err(|_| Error::Config(format!("OTLP timeout {ms:?} is not a number of milliseconds")))?,
            ),
            (None, None) => Duration::from_secs(10),
        };
        let read = |what: &str, path: &std::path::Path| {
            std::fs::read(path)
                .map_err(|e| Error::Config(format!("cannot read the OTLP {what} {}: {e}", path.display())))
        };
        let certificate = self.certificate.clone().or_else(|| self.signal_var(signal, "CERTIFICATE").map(Into::into));
        let ca_pem = certificate.map(|path| read("certificate", &path)).transpose()?;
        let identity = self.client_identity.clone().or_else(|| {
            match (self.signal_var(signal, "CLIENT_CERTIFICATE"), self.signal_var(signal, "CLIENT_KEY")) {
                (None, None) => None,
                (cert, key) => Some((cert.unwrap_or_default().into(), key.unwrap_or_default().into())),
            }
        });
        let client_pem = match identity {
            None => None,
            Some((cert, key)) if cert.as_os_str().is_empty() || key.as_os_str().is_empty() => {
                return Err(Error::Config(
                    "a client certificate needs both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY".into(),
                ));
            }
            Some((cert, key)) => Some((read("client certificate", &cert)?, read("client key", &key)?)),
        };
        Ok(Endpoint { url, protocol, headers, gzip, timeout, ca_pem, client_pem })
    }

    /// Resource attributes: `OTEL_RESOURCE_ATTRIBUTES`, then builder calls,
    /// with `service.name` from the builder, `OTEL_SERVICE_NAME`, the
    /// attributes, or `unknown_service`, in that order.
    pub(crate) fn resource(&self) -> Result<Vec<(String, String)>, Error> {
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut put = |k: String, v: String| {
            attrs.retain(|(existing, _)| *existing != k);
            attrs.push((k, v));
        };
        if let Some(s) = self.env.get("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, v) in parse_pairs(s, "OTEL_RESOURCE_ATTRIBUTES")? {
                put(k, v);
            }
        }
        for (k, v) in &self.resource {
            put(k.clone(), v.clone());
        }
        let service = self
            .service_name
            .clone()
            .or_else(|| self.env.get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
        if let Some(name) = service {
            put("service.name".into(), name);
        }
        if !attrs.iter().any(|(k, _)| k == "service.name") {
            attrs.push(("service.name".into(), "unknown_service".into()));
        }
        if !attrs.iter().any(|(k, _)| k == "service.instance.id") {
            // As the OpenTelemetry SDKs do: one random UUID per process.
            attrs.push(("service.instance.id".into(), instance_id().to_owned()));
        }
        attrs.sort_by_key(|a| a.0 != "service.name");
        Ok(attrs)
    }

    pub(crate) fn interval(&self) -> Result<Duration, Error> {
        match (self.interval, self.env.get("OTEL_METRIC_EXPORT_INTERVAL")) {
            (Some(i), _) => Ok(i),
            (None, Some(ms)) => ms.trim().parse().map(Duration::from_millis).map_err(|_| {
                Error::Config(format!("OTEL_METRIC_EXPORT_INTERVAL {ms:?} is not a number of milliseconds"))
            }),
            (None, None) => Ok(Duration::from_secs(60)),
        }
    }

    pub(crate) fn histogram_aggregation(&self) -> Result<HistogramAggregation, Error> {
        match (self.histogram_aggregation, self.env.get("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION")) {
            (Some(a), _) => Ok(a),
            (None, Some(s)) => HistogramAggregation::parse(s),
            (None, None) => Ok(HistogramAggregation::ExplicitBucket),
        }
    }

    pub(crate) fn temporality_choice(&self) -> Temporality {
        self.temporality
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Whether any OTLP endpoint is configured (builder or environment).
    pub fn has_endpoint(&self) -> bool {
        self.endpoint.is_some()
            || !self.signal_endpoints.is_empty()
            || self.env.keys().any(|k| k.starts_with("OTEL_EXPORTER_OTLP_") && k.ends_with("ENDPOINT"))
    }
}

/// A random version-4 UUID, the same for the whole process.
fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let mut b = sonde::trace::TraceId::random().to_bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    })
}

/// Parses `k1=v1,k2=v2` (the W3C baggage-like format of
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`), with
/// percent-decoded values.
fn parse_pairs(s: &str, what: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for member in s.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (k, v) =
            member.split_once('=').ok_or_else(|| Error::Config(format!("{what}: {member:?} is not key=value")))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(Error::Config(format!("{what}: {member:?} has an empty key")));
        }
        out.push((
            k.to_owned(),
            sonde::trace::propagation::percent_decode(v)
                .ok_or_else(|| Error::Config(format!("{what}: bad escape in {v:?}")))?,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> OtlpBuilder {
        OtlpBuilder::with_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_follow_the_spec() {
        let e = env(&[]).resolve(Signal::Traces).unwrap();
        assert_eq!(e.url, "http://localhost:4318/v1/traces");
        assert_eq!((e.protocol, e.gzip, e.timeout), (Protocol::HttpProtobuf, false, Duration::from_secs(10)));
        let g = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).resolve(Signal::Logs).unwrap();
        assert_eq!(g.url, "http://localhost:4317");
    }

    #[test]
    fn signal_variables_beat_general_ones_and_builder_calls_beat_both() {
        let b = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/custom"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,x=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x=2"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ]);
        let t = b.resolve(Signal::Traces).unwrap();
        assert_eq!(t.url, "http://collector:4318/base/v1/traces", "general endpoint gets the signal path");
        assert_eq!(t.protocol, Protocol::HttpJson);
        assert_eq!(t.headers, vec![("api-key".into(), "a b".into()), ("x".into(), "2".into())]);
        assert!(t.gzip);
        assert_eq!(t.timeout, Duration::from_millis(2500));
        assert_eq!(b.resolve(Signal::Metrics).unwrap().url, "http://m:9/custom", "signal endpoint used as is");
        assert!(!b.resolve(Signal::Logs).unwrap().gzip);
        let code = b.clone().endpoint("http://code:1").protocol(Protocol::Grpc).header("X", "3");
        let t = code.resolve(Signal::Traces).unwrap();
        assert_eq!((t.url.as_str(), t.protocol), ("http://code:1", Protocol::Grpc));
        assert_eq!(t.headers.last().unwrap(), &("x".to_string(), "3".to_string()));
    }

    #[test]
    fn resource_and_interval() {
        let b = env(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=core"),
            ("OTEL_SERVICE_NAME", "from-env"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ]);
        let r = b.resource().unwrap();
        assert_eq!(r[0], ("service.name".into(), "from-env".into()));
        assert!(r.contains(&("team".into(), "core".into())));
        assert_eq!(b.clone().service_name("code").resource().unwrap()[0].1, "code");
        assert_eq!(b.interval().unwrap(), Duration::from_millis(1500));
        let defaults = env(&[]).resource().unwrap();
        assert_eq!(defaults[0].1, "unknown_service");
        let id = &defaults.iter().find(|(k, _)| k == "service.instance.id").unwrap().1;
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "a v4 UUID: {id}");
    }

    #[test]
    fn bad_values_are_clear_errors() {
        for (k, v) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "udp"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"),
        ] {
            let err = env(&[(k, v)]).resolve(Signal::Traces).unwrap_err().to_string();
            assert!(err.contains(v.split('=').next().unwrap()) || err.contains("ftp"), "{k}: {err}");
        }
        assert!(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "x")]).interval().is_err());
        assert_eq!(
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318")]).resolve(Signal::Logs).unwrap().url,
            "https://c:4318/v1/logs"
        );
        assert_eq!(
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318"), ("OTEL_EXPORTER_OTLP_INSECURE", "true")])
                .resolve(Signal::Logs)
                .unwrap()
                .url,
            "http://c:4318/v1/logs"
        );
    }
}
