//! How a hub is started: its addresses, bounds, auth, TLS and stop grace,
//! from the `[hub]` section of a [`Config`] and the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sonde::Buckets;
use sonde_config::{Config, HubConfig};
use sonde_prometheus::Auth;

use crate::store::{Fsync, SampleOptions};
use crate::{Error, Limits};

/// Where a hub keeps what it receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// In memory only: a restart starts empty.
    Memory,
    /// Under this directory (locked while the hub runs): samples, spans
    /// and events survive restarts and crashes.
    Dir(PathBuf),
}

/// Default StatsD address (the StatsD convention, on loopback).
pub const DEFAULT_STATSD: &str = "127.0.0.1:8125";
/// Default OTLP/gRPC address (the OpenTelemetry convention, on loopback).
pub const DEFAULT_OTLP_GRPC: &str = "127.0.0.1:4317";
/// Default OTLP/HTTP address (the OpenTelemetry convention, on loopback).
pub const DEFAULT_OTLP_HTTP: &str = "127.0.0.1:4318";
/// Default address of `/metrics`, the dashboard and the API.
pub const DEFAULT_HTTP: &str = "127.0.0.1:9464";
/// The environment variable that can hold the bearer token.
pub const TOKEN_ENV: &str = "SONDE_HUB_TOKEN";

/// Where the hub listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addresses {
    /// `/metrics`, the dashboard and the JSON API.
    pub http: SocketAddr,
    /// StatsD over UDP and TCP.
    pub statsd: SocketAddr,
    /// OTLP/gRPC.
    pub otlp_grpc: SocketAddr,
    /// OTLP/HTTP.
    pub otlp_http: SocketAddr,
}

impl Default for Addresses {
    fn default() -> Self {
        let parse = |a: &str| a.parse().expect("constant address");
        Self {
            http: parse(DEFAULT_HTTP),
            statsd: parse(DEFAULT_STATSD),
            otlp_grpc: parse(DEFAULT_OTLP_GRPC),
            otlp_http: parse(DEFAULT_OTLP_HTTP),
        }
    }
}

/// Everything a hub needs to start. [`HubOptions::from_config`] fills it
/// from a configuration; the fields can be set directly as well.
#[derive(Clone, Debug)]
pub struct HubOptions {
    /// The configuration (exporters the hub forwards through, `[otlp]`...).
    pub config: Config,
    /// Where to listen.
    pub addresses: Addresses,
    /// Skip an ingest listener whose port is taken instead of failing
    /// (`sonde demo`, which may run next to another hub).
    pub skip_busy_ingest_ports: bool,
    /// Every bound.
    pub limits: Limits,
    /// Credentials every HTTP route and OTLP/gRPC call needs.
    pub auth: Option<Auth>,
    /// TLS for the HTTP port: certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Buckets (seconds) of the histograms StatsD timers become: classic,
    /// native or both (`[hub] timer_buckets`, `timer_histogram`).
    pub timer_buckets: Buckets,
    /// Memory budget of the metric history when the hub keeps it in memory
    /// ([`Storage::Memory`]; 0: no history).
    pub history_bytes: usize,
    /// How long a stop waits in all (in-flight requests, final flushes).
    pub shutdown_grace: Duration,
    /// Listening beyond loopback without auth is meant: no warning.
    pub insecure_listen: bool,
    /// The `service.name` of what the hub sends itself (`sonde-serve`).
    pub service_name: String,
    /// Where received data is kept.
    pub storage: Storage,
    /// Sampling interval, retention, byte budget (of the samples, and
    /// separately of the spans and events) and fsync policy.
    pub store: SampleOptions,
    /// Disk budget of the forward queues, all destinations together
    /// (`[forward] max_disk_bytes`, default 1 GiB); in memory
    /// (`--ephemeral`) the budget is [`Limits::forward_bytes`].
    pub forward_disk_bytes: u64,
    /// PromQL's lookback and limits (`[query]`).
    pub query: sonde_promql::EngineOptions,
    /// Recording and alerting rules (`[rules]`).
    pub rules: crate::RulesOptions,
    /// Views the dashboard shows (`[[dashboard.views]]`), before those
    /// registered in code.
    pub views: Vec<sonde_dashboard::View>,
}

impl HubOptions {
    /// Options from `config` (its `[hub]` section, defaults for what it
    /// leaves out) and `addresses`; the bearer token may also come from
    /// the `SONDE_HUB_TOKEN` environment variable.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for invalid timer buckets, [`Error::Auth`] for an
    /// unreadable token file, an empty token, a password hash that is not
    /// argon2 or bcrypt, or both a token and a basic user.
    pub fn from_config(config: Config, addresses: Addresses) -> Result<Self, Error> {
        let hub = config.hub.clone().unwrap_or_default();
        let defaults = Limits::default();
        let limits = Limits {
            trace_bytes: hub.trace_bytes.map_or(defaults.trace_bytes, |b| b.0),
            event_bytes: hub.event_bytes.map_or(defaults.event_bytes, |b| b.0),
            forward_bytes: hub.forward_bytes.map_or(defaults.forward_bytes, |b| b.0),
            max_series: hub.max_series.unwrap_or(defaults.max_series),
            max_decoded_request: hub.max_decoded_request.map_or(defaults.max_decoded_request, |b| b.0),
            decode_concurrency: hub.decode_concurrency.unwrap_or(defaults.decode_concurrency).max(1),
            max_connections: hub.max_connections.unwrap_or(defaults.max_connections).max(1),
            max_statsd_connections: hub.max_statsd_connections.unwrap_or(defaults.max_statsd_connections).max(1),
            idle_timeout: hub.idle_timeout.map_or(defaults.idle_timeout, |i| i.0),
            header_timeout: hub.header_timeout.map_or(defaults.header_timeout, |i| i.0),
            request_timeout: hub.request_timeout.map_or(defaults.request_timeout, |i| i.0),
            ..defaults
        };
        let classic = match &hub.timer_buckets {
            Some(b) => Buckets::new(b.iter().copied()).map_err(|e| Error::Config(format!("hub.timer_buckets: {e}")))?,
            None => Buckets::default_seconds(),
        };
        let timer_buckets = match hub.timer_histogram.as_deref() {
            None | Some("classic") => classic,
            Some("native") => Buckets::native(sonde::NativeBuckets::new()),
            Some("both") => classic.with_native(sonde::NativeBuckets::new()),
            Some(other) => {
                return Err(Error::Config(format!("hub.timer_histogram {other:?}: use classic, native or both")))
            }
        };
        let storage = match (&hub.data_dir, hub.ephemeral) {
            (_, true) => Storage::Memory,
            (Some(dir), false) => Storage::Dir(PathBuf::from(dir)),
            (None, false) => match crate::store::default_data_dir() {
                Some(dir) => Storage::Dir(dir),
                None => Storage::Memory,
            },
        };
        let store_defaults = SampleOptions::default();
        let fsync_interval = hub.fsync_interval.map_or(Duration::from_secs(1), |i| i.0);
        let store = SampleOptions {
            interval: hub.sample_interval.map_or(store_defaults.interval, |i| i.0),
            retention: hub.retention.map_or(store_defaults.retention, |i| i.0),
            max_bytes: hub.max_disk_bytes.map_or(store_defaults.max_bytes, |b| b.0 as u64),
            fsync: match hub.fsync.as_deref() {
                Some("always") => Fsync::Always,
                Some("never") => Fsync::Never,
                _ => Fsync::Interval(fsync_interval),
            },
            ..store_defaults
        };
        let forward = config.forward.clone().unwrap_or_default();
        let q = config.query.clone().unwrap_or_default();
        let query_defaults = sonde_promql::EngineOptions::default();
        let query = sonde_promql::EngineOptions {
            lookback: q.lookback_delta.map_or(query_defaults.lookback, |i| i.0),
            max_samples: q.max_samples.unwrap_or(query_defaults.max_samples).max(1),
            timeout: q.timeout.map_or(query_defaults.timeout, |i| i.0),
            ..query_defaults
        };
        let r = config.rules.clone().unwrap_or_default();
        let rules = crate::RulesOptions {
            files: r.files,
            evaluation_interval: r.evaluation_interval.map_or(Duration::from_secs(60), |i| i.0),
            alertmanager: r.alertmanager,
            webhook: r.webhook,
            external_url: String::new(),
            for_outage_tolerance: r.for_outage_tolerance.map_or(Duration::from_secs(3600), |i| i.0),
            for_grace_period: r.for_grace_period.map_or(Duration::from_secs(600), |i| i.0),
        };
        let views = config
            .dashboard
            .iter()
            .flat_map(|d| d.views.iter())
            .enumerate()
            .map(|(i, v)| view(i, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            views,
            rules,
            query,
            storage,
            store,
            forward_disk_bytes: forward.max_disk_bytes.map_or(1 << 30, |b| b.0 as u64),
            auth: auth(&hub, std::env::var(TOKEN_ENV).ok())?,
            tls: hub.tls.as_ref().map(|t| (PathBuf::from(&t.cert_file), PathBuf::from(&t.key_file))),
            history_bytes: hub.history_bytes.unwrap_or(sonde_dashboard::DEFAULT_HISTORY_BYTES),
            shutdown_grace: hub.shutdown_grace.map_or(Duration::from_secs(5), |i| i.0),
            insecure_listen: hub.insecure_listen,
            config,
            addresses,
            skip_busy_ingest_ports: false,
            limits,
            timer_buckets,
            service_name: "sonde-serve".into(),
        })
    }

    /// The listeners that face beyond loopback without auth (to warn about).
    pub fn exposed_without_auth(&self) -> Vec<SocketAddr> {
        if self.auth.is_some() || self.insecure_listen {
            return Vec::new();
        }
        let a = self.addresses;
        [a.http, a.statsd, a.otlp_grpc, a.otlp_http].into_iter().filter(|s| !s.ip().is_loopback()).collect()
    }
}

fn auth(hub: &HubConfig, env_token: Option<String>) -> Result<Option<Auth>, Error> {
    let Some(section) = &hub.auth else {
        return match env_token.map(|t| t.trim().to_owned()) {
            Some(t) if !t.is_empty() => Ok(Some(Auth::Bearer(t))),
            _ => Ok(None),
        };
    };
    let token = match (&section.bearer_token_file, env_token) {
        (Some(path), _) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| Error::Auth(format!("bearer_token_file {path}: {e}")))?;
            Some(text.trim().to_owned())
        }
        (None, Some(env)) => Some(env.trim().to_owned()),
        (None, None) => None,
    };
    match (token, &section.basic_user, &section.basic_password_hash) {
        (Some(t), None, None) if t.is_empty() => Err(Error::Auth("the bearer token is empty".into())),
        (Some(t), None, None) => Ok(Some(Auth::Bearer(t))),
        (None, Some(user), Some(hash)) => {
            Auth::basic_hash(user, hash).map(Some).map_err(|e| Error::Auth(e.to_string()))
        }
        (None, None, None) => Ok(None),
        (Some(_), _, _) => Err(Error::Auth("use either a bearer token or a basic user, not both".into())),
        (None, _, _) => Err(Error::Auth("basic auth needs both basic_user and basic_password_hash".into())),
    }
}

/// A `[[dashboard.views]]` entry as a view, its expression parsed.
fn view(i: usize, v: &sonde_config::ViewConfig) -> Result<sonde_dashboard::View, Error> {
    let bad = |what: String| Error::Config(format!("dashboard.views[{i}]: {what}"));
    let kind = v
        .kind
        .as_deref()
        .unwrap_or("line")
        .parse()
        .map_err(|e: sonde_dashboard::UnknownChartKind| bad(e.to_string()))?;
    match (&v.metric, &v.query) {
        (Some(metric), None) => {
            let mut view = sonde_dashboard::View::metric(metric, kind);
            view.title = v.title.clone().unwrap_or(view.title);
            Ok(view)
        }
        (None, Some(query)) => {
            sonde_promql::parse(query).map_err(|e| bad(format!("query {query:?}: {e}")))?;
            Ok(sonde_dashboard::View::query(v.title.as_deref().unwrap_or(query), query, kind))
        }
        _ => Err(bad("give either metric or query".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_config::HubAuthConfig;

    fn hub(auth: HubAuthConfig) -> HubConfig {
        HubConfig { auth: Some(auth), ..HubConfig::default() }
    }

    #[test]
    fn dashboard_views_from_the_configuration() {
        let addresses = Addresses::default();
        let config = Config::from_toml(
            r#"
            [[dashboard.views]]
            title = "p99 by route"
            query = 'histogram_quantile(0.99, sum by (le, route) (rate(h_bucket[5m])))'
            [[dashboard.views]]
            metric = "queue_depth"
            kind = "gauge"
            "#,
        )
        .unwrap();
        let views = HubOptions::from_config(config, addresses).unwrap().views;
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].title, "p99 by route");
        assert_eq!(views[0].kind, sonde_dashboard::ChartKind::Line);
        assert!(views[0].query.as_deref().unwrap().starts_with("histogram_quantile"));
        assert_eq!(views[1], sonde_dashboard::View::metric("queue_depth", sonde_dashboard::ChartKind::Gauge));
        // A query that does not parse stops the start with its position.
        let bad = Config::from_toml("[[dashboard.views]]\nquery = 'sum(rate(x[5m])'").unwrap();
        let err = HubOptions::from_config(bad, addresses).err().unwrap().to_string();
        assert!(err.contains("dashboard.views[0]") && err.contains("1:"), "{err}");
        // Neither or both of metric and query, or an unknown kind: a configuration error.
        assert!(Config::from_toml("[[dashboard.views]]\nkind = 'line'").is_err());
        assert!(Config::from_toml("[[dashboard.views]]\nmetric = 'a'\nquery = 'a'").is_err());
        assert!(Config::from_toml("[[dashboard.views]]\nmetric = 'a'\nkind = 'pie'").is_err());
    }

    #[test]
    fn auth_from_file_environment_or_hash() {
        let dir = std::env::temp_dir().join(format!("sonde-hub-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "  s3cret\n").unwrap();
        let from_file =
            hub(HubAuthConfig { bearer_token_file: Some(file.display().to_string()), ..Default::default() });
        assert!(matches!(auth(&from_file, None).unwrap(), Some(Auth::Bearer(t)) if t == "s3cret"));
        assert!(
            matches!(auth(&HubConfig::default(), Some("env".into())).unwrap(), Some(Auth::Bearer(t)) if t == "env")
        );
        assert!(auth(&HubConfig::default(), None).unwrap().is_none());
        assert!(auth(&hub(HubAuthConfig::default()), Some(" tok ".into())).unwrap().is_some());
        let missing = hub(HubAuthConfig { bearer_token_file: Some("/nonexistent/token".into()), ..Default::default() });
        assert!(matches!(auth(&missing, None), Err(Error::Auth(_))));
        let half = hub(HubAuthConfig { basic_user: Some("u".into()), ..Default::default() });
        assert!(matches!(auth(&half, None), Err(Error::Auth(_))));
        let bad_hash = hub(HubAuthConfig {
            basic_user: Some("u".into()),
            basic_password_hash: Some("plain".into()),
            ..Default::default()
        });
        assert!(matches!(auth(&bad_hash, None), Err(Error::Auth(_))));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn limits_come_from_the_hub_section() {
        let config = Config::from_toml(
            "[hub]\ntrace_bytes = \"1MiB\"\nmax_series = 10\nidle_timeout = \"2s\"\nshutdown_grace = \"1s\"\n",
        )
        .unwrap();
        let o = HubOptions::from_config(config, Addresses::default()).unwrap();
        assert_eq!((o.limits.trace_bytes, o.limits.max_series), (1 << 20, 10));
        assert_eq!((o.limits.idle_timeout, o.shutdown_grace), (Duration::from_secs(2), Duration::from_secs(1)));
        assert_eq!(o.limits.event_bytes, Limits::default().event_bytes);
        let mut exposed = o.clone();
        exposed.addresses.http = "0.0.0.0:9464".parse().unwrap();
        assert_eq!(exposed.exposed_without_auth(), vec![exposed.addresses.http]);
        exposed.insecure_listen = true;
        assert!(exposed.exposed_without_auth().is_empty());
    }
}
