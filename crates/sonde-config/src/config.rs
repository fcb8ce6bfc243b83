//! The configuration: its shape, defaults, environment overrides and checks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Error;

/// A duration written as `"500ms"`, `"10s"`, `"2m"` or `"1h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl Interval {
    /// Parses `"<number><unit>"` with unit `ms`, `s`, `m`, `h` or `d`.
    ///
    /// # Errors
    ///
    /// An error message naming the text when it is not a duration such as `500ms`, `10s`, `5m` or `1h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| format!("{s:?} has no unit (ms, s, m, h, d)"))?;
        let (n, unit) = s.split_at(split);
        let n: f64 = n.parse().map_err(|_| format!("{s:?} does not start with a number"))?;
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s, m, h or d)")),
        };
        Ok(Self(Duration::from_secs_f64(secs)))
    }
}

/// A size in bytes, written as an integer (`1048576`) or with a unit
/// (`"64MiB"`, `"500MB"`, `"1GiB"`, `"4096B"`; KiB/MiB/GiB are powers of
/// 1024, kB/MB/GB of 1000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl ByteSize {
    /// Parses `"<number><unit>"` (units B, kB, KB, KiB, MB, MiB, GB, GiB) or
    /// a bare integer.
    ///
    /// # Errors
    ///
    /// An error message naming the text when it is not such a size.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: f64 = n.parse().map_err(|_| format!("{s:?} does not start with a number"))?;
        let scale: f64 = match unit.trim() {
            "" | "B" => 1.0,
            "kB" | "KB" => 1e3,
            "KiB" => 1024.0,
            "MB" => 1e6,
            "MiB" => 1024.0 * 1024.0,
            "GB" => 1e9,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            other => return Err(format!("unknown unit {other:?} in {s:?} (use B, KiB, MiB, GiB, kB, MB or GB)")),
        };
        let bytes = n * scale;
        if !(0.0..=usize::MAX as f64).contains(&bytes) {
            return Err(format!("{s:?} is out of range"));
        }
        Ok(Self(bytes as usize))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => usize::try_from(n).map(Self).map_err(serde::de::Error::custom),
            Raw::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn secs(n: u64) -> Interval {
    Interval(Duration::from_secs(n))
}

/// Everything Sonde can be told: backends, namespace, labels, intervals,
/// endpoints and limits, from a file, the environment or code.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// False gives a pipeline that exports nothing.
    pub enabled: bool,
    /// Prefix of every metric name.
    pub namespace: String,
    /// Second prefix, after the namespace.
    pub subsystem: String,
    /// Labels added to every metric.
    pub labels: BTreeMap<String, String>,
    /// Metrics of the tokio runtime the pipeline starts in.
    pub runtime_metrics: bool,
    /// Process metrics (`process_*`) and system metrics (`system_*`).
    pub system_metrics: bool,
    /// Default export interval of the push exporters.
    pub flush_interval: Interval,
    /// The `/metrics` endpoint.
    pub prometheus: Option<PrometheusConfig>,
    /// Pushgateway pushes.
    pub pushgateway: Option<PushgatewayConfig>,
    /// Prometheus remote write.
    pub remote_write: Option<RemoteWriteConfig>,
    /// StatsD export of the registry.
    pub statsd: Option<StatsdConfig>,
    /// OTLP export (issue 4).
    pub otlp: Option<OtlpConfig>,
    /// Atomic textfile for node_exporter.
    pub textfile: Option<FileConfig>,
    /// JSON snapshot file.
    pub json_file: Option<FileConfig>,
    /// One log line per series.
    pub logger: Option<LoggerConfig>,
    /// What `sonde serve` does with what it receives.
    pub hub: Option<HubConfig>,
    /// How `sonde serve` queues what it forwards (`[otlp]`, `[remote_write]`).
    pub forward: Option<ForwardConfig>,
    /// How `sonde serve` answers PromQL (Prometheus' HTTP query API).
    pub query: Option<QueryConfig>,
    /// The recording and alerting rules `sonde serve` evaluates.
    pub rules: Option<RulesConfig>,
    /// What the dashboard of `sonde serve` shows (its views).
    pub dashboard: Option<DashboardConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            namespace: String::new(),
            subsystem: String::new(),
            labels: BTreeMap::new(),
            runtime_metrics: false,
            system_metrics: false,
            flush_interval: secs(10),
            prometheus: None,
            pushgateway: None,
            remote_write: None,
            statsd: None,
            otlp: None,
            textfile: None,
            json_file: None,
            logger: None,
            hub: None,
            forward: None,
            query: None,
            rules: None,
            dashboard: None,
        }
    }
}

/// `[prometheus]`: the scrape endpoint.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Listen address (default `127.0.0.1:9464`).
    pub listen: String,
    /// Path (default `/metrics`).
    pub path: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self { listen: sonde_prometheus::DEFAULT_LISTEN.into(), path: "/metrics".into() }
    }
}

/// `[pushgateway]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushgatewayConfig {
    /// Base URL (`http://host:9091`).
    pub url: String,
    /// Job name.
    pub job: String,
    /// Push interval (default: `flush_interval`).
    pub interval: Option<Interval>,
    /// Grouping labels.
    #[serde(default)]
    pub grouping: BTreeMap<String, String>,
    /// Delete the group on shutdown.
    #[serde(default)]
    pub delete_on_shutdown: bool,
}

/// `[remote_write]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// Endpoint (`http://host:8428/api/v1/write`).
    pub url: String,
    /// Send interval (default: `flush_interval`).
    pub interval: Option<Interval>,
    /// Labels added to every series (for example `job`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `[statsd]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    /// `host:port` (default from `STATSD_HOST`/`STATSD_PORT`, else `localhost:8125`).
    pub address: Option<String>,
    /// Name prefix.
    pub prefix: String,
    /// How often the client sends queued lines.
    pub flush_period: Interval,
    /// Largest datagram.
    pub max_packet_size: usize,
    /// Client-side sample rate, in (0, 1].
    pub sample_rate: f64,
    /// Registry export interval (default: `flush_interval`).
    pub interval: Option<Interval>,
    /// Labels as DogStatsD tags (true) or name parts.
    pub tags: bool,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        Self {
            address: None,
            prefix: String::new(),
            flush_period: Interval(Duration::from_millis(100)),
            max_packet_size: sonde_statsd::DEFAULT_MAX_PACKET,
            sample_rate: 1.0,
            interval: None,
            tags: true,
        }
    }
}

/// `[otlp]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Collector URL.
    pub endpoint: String,
    /// Export interval (default: `flush_interval`).
    pub interval: Option<Interval>,
    /// Resource attributes.
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Plain HTTP instead of TLS for an endpoint given without a scheme.
    #[serde(default)]
    pub insecure: bool,
    /// `http/protobuf` (default), `http/json` or `grpc`.
    pub protocol: Option<String>,
    /// Compress requests with gzip.
    #[serde(default)]
    pub gzip: bool,
    /// `service.name` (default: `OTEL_SERVICE_NAME`, or `unknown_service`).
    pub service_name: Option<String>,
    /// A PEM file of the certificate authority to trust (as
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub certificate: Option<String>,
    /// A PEM client certificate chain for mutual TLS (as
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`); needs `client_key`.
    pub client_certificate: Option<String>,
    /// The client certificate's PEM key (as `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: Option<String>,
    /// `explicit_bucket_histogram` (default) or
    /// `base2_exponential_bucket_histogram`: histograms declared without
    /// buckets on the pipeline's registry become native (as
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`).
    pub default_histogram_aggregation: Option<String>,
}

/// `[hub]`: how `sonde serve` folds what it receives, and its bounds.
/// Every key is optional; the defaults fit a hub in 1 GiB (see the
/// `sonde-hub` crate's `Limits` for what each buys).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Buckets (seconds) of the histograms StatsD timers become (default:
    /// Prometheus' `0.005..10`).
    pub timer_buckets: Option<Vec<f64>>,
    /// What StatsD timers become: `classic` histograms with `timer_buckets`
    /// (the default), `native` histograms (exponential buckets, which a
    /// protobuf scrape, OTLP and remote write carry), or `both`.
    pub timer_histogram: Option<String>,
    /// Memory budget in bytes of the metric history when the hub keeps it in
    /// memory (`--ephemeral`; default 200 MB; 0 keeps no history).
    pub history_bytes: Option<usize>,
    /// Bytes of received spans kept (decoded; default 256 MiB).
    pub trace_bytes: Option<ByteSize>,
    /// Bytes of received events kept (decoded; default 64 MiB).
    pub event_bytes: Option<ByteSize>,
    /// Bytes of requests queued for forwarding in memory, with `ephemeral` (default 128 MiB; on disk see `[forward]`).
    pub forward_bytes: Option<ByteSize>,
    /// Series in the hub's registry, all families together (default 300,000).
    pub max_series: Option<usize>,
    /// Largest decoded form of one OTLP request (default 64 MiB).
    pub max_decoded_request: Option<ByteSize>,
    /// OTLP requests decoded at once (default 2).
    pub decode_concurrency: Option<usize>,
    /// Open connections per HTTP or gRPC listener (default 1024).
    pub max_connections: Option<usize>,
    /// Open StatsD TCP connections (default 256).
    pub max_statsd_connections: Option<usize>,
    /// Idle connections are closed after this long (default `"60s"`).
    pub idle_timeout: Option<Interval>,
    /// Time a client has to send a request's headers (default `"10s"`).
    pub header_timeout: Option<Interval>,
    /// Longest a request may take, body included (default `"30s"`).
    pub request_timeout: Option<Interval>,
    /// How long a stop (SIGTERM, SIGINT) waits in all for in-flight
    /// requests and the forwarders' final flush (default `"5s"`).
    pub shutdown_grace: Option<Interval>,
    /// Listening beyond loopback without auth is meant (no warning).
    #[serde(default)]
    pub insecure_listen: bool,
    /// Where the hub keeps what it receives (default
    /// `$XDG_DATA_HOME/sonde`, else `~/.local/share/sonde`).
    pub data_dir: Option<String>,
    /// Keep everything in memory only (nothing survives a restart).
    #[serde(default)]
    pub ephemeral: bool,
    /// How long samples, spans and events are kept (default `"7d"`).
    pub retention: Option<Interval>,
    /// Disk budget of the stored samples, and separately of the spans and
    /// events (default 2 GiB each); the oldest go first. The sample log
    /// is sealed into blocks once it holds a sixteenth of the budget, and
    /// SQLite's log is part of the spans' and events' budget.
    pub max_disk_bytes: Option<ByteSize>,
    /// `"interval"` (default), `"always"` or `"never"`: when the store
    /// flushes to stable storage.
    pub fsync: Option<String>,
    /// The flush interval of `fsync = "interval"` (default `"1s"`).
    pub fsync_interval: Option<Interval>,
    /// How often every series is sampled into the store (default `"1s"`).
    pub sample_interval: Option<Interval>,
    /// `[hub.auth]`: credentials every HTTP route and OTLP/gRPC call needs.
    pub auth: Option<HubAuthConfig>,
    /// `[hub.tls]`: serve the HTTP port over TLS.
    pub tls: Option<HubTlsConfig>,
}

/// `[forward]`: the hub's forward queues. What the hub forwards over OTLP
/// (spans, events, metrics) and remote write waits on disk, under the data
/// directory, while the downstream is down, slow or answering retryable
/// errors, and is sent in order once it recovers, after a restart too.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// Disk budget of the forward queues, all destinations together
    /// (default 1 GiB); beyond it the oldest requests are dropped and counted.
    pub max_disk_bytes: Option<ByteSize>,
}

/// `[query]`: limits and semantics of the hub's PromQL, as Prometheus'
/// `--query.*` flags set them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// How far back an instant selector looks for a sample (default `"5m"`).
    pub lookback_delta: Option<Interval>,
    /// Most samples one query may read (default 50,000,000).
    pub max_samples: Option<usize>,
    /// Longest a query may run (default `"2m"`).
    pub timeout: Option<Interval>,
}

/// `[rules]`: Prometheus rule files the hub evaluates, and where alerts go.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule files in Prometheus' format (globs allowed).
    #[serde(default)]
    pub files: Vec<String>,
    /// How often groups without their own `interval` are evaluated
    /// (default `"1m"`).
    pub evaluation_interval: Option<Interval>,
    /// An Alertmanager (API v2) to send alerts to, e.g.
    /// `"http://127.0.0.1:9093"`.
    pub alertmanager: Option<String>,
    /// A URL that receives the alerts as JSON (Alertmanager's v2 body).
    pub webhook: Option<String>,
    /// How long before a restart an alert's `for` state is still restored
    /// from the stored `ALERTS_FOR_STATE` series (default `"1h"`).
    pub for_outage_tolerance: Option<Interval>,
    /// The least time a restored alert waits before firing (default
    /// `"10m"`); rules with a shorter `for` start their wait afresh.
    pub for_grace_period: Option<Interval>,
}

/// `[dashboard]`: views the hub's dashboard shows next to those registered
/// in code and added from the page.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// `[[dashboard.views]]`, in order.
    #[serde(default)]
    pub views: Vec<ViewConfig>,
}

/// `[[dashboard.views]]`: a metric family or a PromQL expression, and how
/// to chart it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ViewConfig {
    /// Its heading (default: the metric's name, or the expression).
    pub title: Option<String>,
    /// The family it shows (this or `query`).
    pub metric: Option<String>,
    /// The PromQL expression it charts (this or `metric`).
    pub query: Option<String>,
    /// `line` (default), `stacked_area`, `gauge`, `bar`, `heatmap` or
    /// `single_stat`.
    pub kind: Option<String>,
}

/// `[hub.auth]`: a bearer token (from a file, or `SONDE_HUB_TOKEN`) or a
/// basic user with an argon2 or bcrypt password hash. Secrets never come
/// from the command line.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubAuthConfig {
    /// A file whose content (trimmed) is the bearer token.
    pub bearer_token_file: Option<String>,
    /// The basic-auth user.
    pub basic_user: Option<String>,
    /// The basic-auth password's argon2 (`$argon2id$...`) or bcrypt (`$2b$...`) hash.
    pub basic_password_hash: Option<String>,
}

/// `[hub.tls]`: the HTTP port's certificate chain and key (PEM files).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubTlsConfig {
    /// The certificate chain, leaf first.
    pub cert_file: String,
    /// The private key.
    pub key_file: String,
}

/// `[textfile]` and `[json_file]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Destination.
    pub path: String,
    /// Write interval (default: `flush_interval`).
    pub interval: Option<Interval>,
}

/// `[logger]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoggerConfig {
    /// Log interval (default: `flush_interval`).
    pub interval: Option<Interval>,
}

fn invalid(key: &str, reason: impl Into<String>) -> Error {
    Error::Invalid { key: key.into(), reason: reason.into() }
}

fn check_url(key: &str, url: &str) -> Result<(), Error> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(invalid(key, format!("{url:?} is not an http:// or https:// URL with a host"))),
    }
}

fn check_interval(key: &str, i: Option<Interval>) -> Result<(), Error> {
    match i {
        Some(Interval(d)) if d.is_zero() => Err(invalid(key, "must be greater than zero")),
        _ => Ok(()),
    }
}

fn check_label(key: &str, name: &str) -> Result<(), Error> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("{name:?} is not a valid label name")))
    }
}

impl Config {
    /// Parses TOML text, then validates it.
    ///
    /// # Errors
    ///
    /// [`Error`] with the TOML parser's message (line and column) for bad syntax, an unknown key or a wrong
    /// type, or the first invalid value [`Config::validate`] finds.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Parse(e.to_string().trim().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file.
    ///
    /// # Errors
    ///
    /// [`Error`] when the file cannot be read, or as [`Config::from_toml`].
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.display().to_string(), source })?;
        Self::from_toml(&text)
    }

    /// Applies overrides from the environment (see the crate docs for the
    /// variables), then validates. Variables from `vars` are used instead of
    /// the process environment when given (for tests).
    ///
    /// # Errors
    ///
    /// [`Error`] naming the variable when a `SONDE_*`, `STATSD_*` or `OTEL_*` value does not parse, or as
    /// [`Config::validate`].
    pub fn with_env(mut self, vars: Option<&BTreeMap<String, String>>) -> Result<Self, Error> {
        let get = |k: &str| match vars {
            Some(v) => v.get(k).cloned(),
            None => std::env::var(k).ok(),
        };
        let bad = |var: &str, value: &str, reason: &str| Error::Env {
            var: var.into(),
            value: value.into(),
            reason: reason.into(),
        };
        if let Some(v) = get("SONDE_ENABLED") {
            self.enabled = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(bad("SONDE_ENABLED", &v, "use true or false")),
            };
        }
        if let Some(v) = get("SONDE_NAMESPACE") {
            self.namespace = v;
        }
        if let Some(v) = get("SONDE_SUBSYSTEM") {
            self.subsystem = v;
        }
        if let Some(v) = get("SONDE_FLUSH_INTERVAL") {
            self.flush_interval = Interval::parse(&v).map_err(|r| bad("SONDE_FLUSH_INTERVAL", &v, &r))?;
        }
        if let Some(v) = get("SONDE_LABELS") {
            for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, val) = pair.split_once('=').ok_or_else(|| bad("SONDE_LABELS", &v, "use k=v,k2=v2"))?;
                self.labels.insert(k.trim().into(), val.trim().into());
            }
        }
        if let Some(v) = get("SONDE_PROMETHEUS_LISTEN") {
            self.prometheus.get_or_insert_with(Default::default).listen = v;
        }
        if let Some(v) = get("SONDE_PUSHGATEWAY_URL") {
            match &mut self.pushgateway {
                Some(p) => p.url = v,
                None => {
                    self.pushgateway = Some(PushgatewayConfig {
                        url: v,
                        job: get("SONDE_PUSHGATEWAY_JOB").unwrap_or_else(|| "sonde".into()),
                        interval: None,
                        grouping: BTreeMap::new(),
                        delete_on_shutdown: false,
                    })
                }
            }
        }
        if let Some(v) = get("SONDE_REMOTE_WRITE_URL") {
            match &mut self.remote_write {
                Some(r) => r.url = v,
                None => self.remote_write = Some(RemoteWriteConfig { url: v, interval: None, labels: BTreeMap::new() }),
            }
        }
        let statsd_host = get("STATSD_HOST");
        let statsd_port = get("STATSD_PORT");
        if let Some(v) = get("SONDE_STATSD_ADDRESS") {
            self.statsd.get_or_insert_with(Default::default).address = Some(v);
        } else if let Some(s) = self.statsd.as_mut().filter(|s| s.address.is_none()) {
            if statsd_host.is_some() || statsd_port.is_some() {
                let port = statsd_port.unwrap_or_else(|| "8125".into());
                port.parse::<u16>().map_err(|_| bad("STATSD_PORT", &port, "not a port number"))?;
                s.address = Some(format!("{}:{port}", statsd_host.unwrap_or_else(|| "localhost".into())));
            }
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks every value; the error names the key and what is wrong.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the first key whose value is out of range (a sample rate outside (0, 1], a zero
    /// interval, a bad address or URL).
    pub fn validate(&self) -> Result<(), Error> {
        check_interval("flush_interval", Some(self.flush_interval))?;
        if let Some(hub) = &self.hub {
            check_interval("hub.sample_interval", hub.sample_interval)?;
            check_interval("hub.fsync_interval", hub.fsync_interval)?;
            check_interval("hub.retention", hub.retention)?;
            if let Some(f) = hub.fsync.as_deref().filter(|f| !matches!(*f, "interval" | "always" | "never")) {
                return Err(invalid("hub.fsync", format!("{f:?}: use interval, always or never")));
            }
        }
        if let Some(t) = self.hub.as_ref().and_then(|h| h.timer_histogram.as_deref()) {
            if !matches!(t, "classic" | "native" | "both") {
                return Err(invalid("hub.timer_histogram", format!("{t:?}: use classic, native or both")));
            }
        }
        if let Some(b) = self.hub.as_ref().and_then(|h| h.timer_buckets.as_ref()) {
            sonde::Buckets::new(b.iter().copied()).map_err(|e| invalid("hub.timer_buckets", e.to_string()))?;
        }
        for (i, v) in self.dashboard.iter().flat_map(|d| d.views.iter()).enumerate() {
            if v.metric.is_some() == v.query.is_some() {
                return Err(invalid(&format!("dashboard.views[{i}]"), "give either metric or query"));
            }
            if let Some(k) = v
                .kind
                .as_deref()
                .filter(|k| !matches!(*k, "line" | "stacked_area" | "gauge" | "bar" | "heatmap" | "single_stat"))
            {
                return Err(invalid(
                    &format!("dashboard.views[{i}].kind"),
                    format!("{k:?}: use line, stacked_area, gauge, bar, heatmap or single_stat"),
                ));
            }
        }
        for k in self.labels.keys() {
            check_label("labels", k)?;
        }
        for (key, part) in [("namespace", &self.namespace), ("subsystem", &self.subsystem)] {
            if !part.is_empty() && !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(invalid(key, format!("{part:?} may hold only letters, digits and '_'")));
            }
        }
        if let Some(p) = &self.prometheus {
            p.listen
                .parse::<SocketAddr>()
                .map_err(|_| invalid("prometheus.listen", format!("{:?} is not an ip:port address", p.listen)))?;
            if !p.path.starts_with('/') {
                return Err(invalid("prometheus.path", format!("{:?} must start with '/'", p.path)));
            }
        }
        if let Some(p) = &self.pushgateway {
            check_url("pushgateway.url", &p.url)?;
            if p.job.is_empty() {
                return Err(invalid("pushgateway.job", "must not be empty"));
            }
            check_interval("pushgateway.interval", p.interval)?;
            for k in p.grouping.keys() {
                check_label("pushgateway.grouping", k)?;
            }
        }
        if let Some(r) = &self.remote_write {
            check_url("remote_write.url", &r.url)?;
            check_interval("remote_write.interval", r.interval)?;
            for k in r.labels.keys() {
                check_label("remote_write.labels", k)?;
            }
        }
        if let Some(s) = &self.statsd {
            if let Some(a) = &s.address {
                let (host, port) =
                    a.rsplit_once(':').ok_or_else(|| invalid("statsd.address", format!("{a:?} is not host:port")))?;
                if host.is_empty() || port.parse::<u16>().is_err() {
                    return Err(invalid("statsd.address", format!("{a:?} is not host:port")));
                }
            }
            check_interval("statsd.flush_period", Some(s.flush_period))?;
            check_interval("statsd.interval", s.interval)?;
            if !(64..=65_507).contains(&s.max_packet_size) {
                return Err(invalid("statsd.max_packet_size", format!("{} is outside 64..=65507", s.max_packet_size)));
            }
            if !(s.sample_rate > 0.0 && s.sample_rate <= 1.0) {
                return Err(invalid("statsd.sample_rate", format!("{} is outside (0, 1]", s.sample_rate)));
            }
        }
        if let Some(o) = &self.otlp {
            check_url("otlp.endpoint", &o.endpoint)?;
            if let Some(p) = &o.protocol {
                if !matches!(p.as_str(), "grpc" | "http/protobuf" | "http/json") {
                    return Err(invalid("otlp.protocol", format!("{p:?} is not grpc, http/protobuf or http/json")));
                }
            }
            check_interval("otlp.interval", o.interval)?;
            if let Some(a) = &o.default_histogram_aggregation {
                sonde_otlp::HistogramAggregation::parse(a)
                    .map_err(|e| invalid("otlp.default_histogram_aggregation", e.to_string()))?;
            }
            if o.client_certificate.is_some() != o.client_key.is_some() {
                return Err(invalid("otlp.client_key", "client_certificate and client_key go together"));
            }
        }
        for (key, f) in [("textfile", &self.textfile), ("json_file", &self.json_file)] {
            if let Some(f) = f {
                if f.path.is_empty() {
                    return Err(invalid(&format!("{key}.path"), "must not be empty"));
                }
                check_interval(&format!("{key}.interval"), f.interval)?;
            }
        }
        if let Some(l) = &self.logger {
            check_interval("logger.interval", l.interval)?;
        }
        Ok(())
    }
}
