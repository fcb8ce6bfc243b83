//! One configuration for Sonde, from TOML and the environment, validated,
//! and started as a running pipeline with one call.
//!
//! ```
//! let config = sonde_config::Config::from_toml(r#"
//!     namespace = "shop"
//!     flush_interval = "15s"
//!     [labels]
//!     service = "api"
//!     [prometheus]
//!     listen = "127.0.0.1:0"
//! "#)?;
//! let pipeline = sonde_config::Pipeline::start(&config, sonde::Registry::new())?;
//! pipeline.registry().counter("orders_total").register().unwrap().inc();
//! assert!(pipeline.metrics_addr().is_some());
//! pipeline.shutdown(std::time::Duration::from_secs(5))?;
//! # Ok::<(), sonde_config::Error>(())
//! ```
//!
//! # Keys
//!
//! Top level: `enabled`, `namespace`, `subsystem`, `flush_interval`
//! (`"10s"`), `runtime_metrics`, `system_metrics`, `[labels]`. Sections:
//! `[prometheus]` (`listen`, `path`), `[pushgateway]` (`url`, `job`,
//! `interval`, `grouping`, `delete_on_shutdown`), `[remote_write]` (`url`,
//! `interval`, `labels`), `[statsd]` (`address`, `prefix`, `flush_period`,
//! `max_packet_size`, `sample_rate`, `interval`, `tags`), `[otlp]`
//! (`endpoint`, `interval`, `protocol`, `gzip`, `service_name`,
//! `resource_attributes`, `headers`, `insecure`, `certificate`,
//! `client_certificate`, `client_key`; the `OTEL_*` variables fill in the
//! rest),
//! `[textfile]` and `[json_file]` (`path`, `interval`), `[logger]`
//! (`interval`). `[hub]`, for `sonde serve`: `timer_buckets`, `timer_histogram`,
//! `history_bytes`, the byte budgets `trace_bytes`, `event_bytes`,
//! `forward_bytes` (`1048576` or `"64MiB"`), `max_series`,
//! `max_decoded_request`, `decode_concurrency`, `max_connections`,
//! `max_statsd_connections`, the timeouts `idle_timeout`, `header_timeout`,
//! `request_timeout`, `shutdown_grace`, `insecure_listen`; `[hub.auth]`
//! (`bearer_token_file`, or `basic_user` with `basic_password_hash`) and
//! `[hub.tls]` (`cert_file`, `key_file`); see [`HubConfig`] for the
//! defaults. `[forward]` (`max_disk_bytes`), the hub's forward queues.
//! `[query]` (`lookback_delta`, `max_samples`, `timeout`), the hub's
//! PromQL; `[rules]` (`files`, `evaluation_interval`, `alertmanager`,
//! `webhook`, `for_outage_tolerance`, `for_grace_period`), its recording
//! and alerting rules; `[[dashboard.views]]`
//! (`title`, `metric` or `query`, `kind`), views its dashboard shows.
//! Unknown keys are errors.
//!
//! # Environment
//!
//! `SONDE_ENABLED`, `SONDE_NAMESPACE`, `SONDE_SUBSYSTEM`,
//! `SONDE_FLUSH_INTERVAL`, `SONDE_LABELS` (`k=v,k2=v2`),
//! `SONDE_PROMETHEUS_LISTEN`, `SONDE_PUSHGATEWAY_URL` (with
//! `SONDE_PUSHGATEWAY_JOB`), `SONDE_REMOTE_WRITE_URL`,
//! `SONDE_STATSD_ADDRESS`, and `STATSD_HOST`/`STATSD_PORT` for a `[statsd]`
//! section without an address; `SONDE_HUB_TOKEN` is the hub's bearer token
//! when no `bearer_token_file` is set. The environment overrides the file.

mod config;
mod error;
mod pipeline;

pub use config::{
    ByteSize, Config, DashboardConfig, FileConfig, ForwardConfig, HubAuthConfig, HubConfig, HubTlsConfig, Interval,
    LoggerConfig, OtlpConfig, PrometheusConfig, PushgatewayConfig, QueryConfig, RemoteWriteConfig, RulesConfig,
    StatsdConfig, ViewConfig,
};
pub use error::Error;
pub use pipeline::{otlp_of, remote_write_of, Pipeline};
