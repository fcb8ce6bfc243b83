//! A running pipeline built from a [`Config`].

use std::time::Duration;

use sonde::Registry;
use sonde_export::{Exporter, JsonFileExporter, LoggerExporter, PeriodicExporter};
use sonde_prometheus::{MetricsServer, PushgatewayExporter, TextfileExporter};
use sonde_remote_write::RemoteWriteExporter;
use sonde_statsd::{StatsdClient, StatsdExporter};

use crate::{Config, Error};

/// Everything a [`Config`] switched on, running: the registry to record
/// into, the `/metrics` server, and one periodic exporter per push backend.
/// [`Pipeline::shutdown`] (or drop) stops each, exporting once more.
pub struct Pipeline {
    registry: Registry,
    root: Registry,
    server: Option<MetricsServer>,
    exporters: Vec<PeriodicExporter>,
    otlp: Option<sonde_otlp::Otlp>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("server", &self.server.as_ref().and_then(|s| s.local_addr()))
            .field("exporters", &self.exporters.len())
            .finish()
    }
}

fn start_err(part: &str) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Start { part: part.into(), reason }
}

impl Pipeline {
    /// Starts what `config` enables, exporting `registry`. With
    /// `enabled = false` nothing starts: instruments still work, nothing is
    /// exported. `[otlp]` exports metrics on its interval and makes
    /// [`Pipeline::otlp`] available for spans and events; the standard
    /// `OTEL_*` variables fill in what the section leaves out.
    /// `runtime_metrics` needs a running tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error`] when the configuration is invalid, the `/metrics` server cannot bind its address, or an
    /// exporter cannot be built (a bad endpoint, an unknown protocol).
    pub fn start(config: &Config, registry: Registry) -> Result<Self, Error> {
        config.validate()?;
        let scoped = scope(config, &registry)?;
        let mut pipeline =
            Pipeline { registry: scoped, root: registry.clone(), server: None, exporters: Vec::new(), otlp: None };
        if !config.enabled {
            return Ok(pipeline);
        }
        if config.system_metrics {
            let err = |e: sonde::Error| Error::Start { part: "system_metrics".into(), reason: e.to_string() };
            sonde_process::register_process_metrics(&registry).map_err(err)?;
            sonde_process::register_system_metrics(&registry).map_err(err)?;
        }
        if config.runtime_metrics {
            let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::Start {
                part: "runtime_metrics".into(),
                reason: "no tokio runtime is running here; start the pipeline from inside one".into(),
            })?;
            sonde_process::register_tokio_metrics(&registry, &handle)
                .map_err(|e| Error::Start { part: "runtime_metrics".into(), reason: e.to_string() })?;
        }
        if let Some(p) = &config.prometheus {
            let listen =
                p.listen.parse().map_err(|_| start_err("prometheus")(format!("bad address {:?}", p.listen)))?;
            let mut server = MetricsServer::builder(registry.clone()).listen(listen).path(&p.path).build();
            server.start().map_err(|e| start_err("prometheus")(e.to_string()))?;
            pipeline.server = Some(server);
        }
        let every = |i: Option<crate::Interval>| i.map(|i| i.0).unwrap_or(config.flush_interval.0);
        if let Some(p) = &config.pushgateway {
            let mut b = PushgatewayExporter::builder(&p.url, &p.job).delete_on_shutdown(p.delete_on_shutdown);
            for (k, v) in &p.grouping {
                b = b.grouping(k, v);
            }
            let e = b.build().map_err(|e| start_err("pushgateway")(e.to_string()))?;
            pipeline.add(e, every(p.interval))?;
        }
        if let Some((e, interval)) = remote_write_of(config)? {
            pipeline.add(e, interval)?;
        }
        if let Some(s) = &config.statsd {
            let (host, port) = match &s.address {
                Some(a) => {
                    let (h, p) = a.rsplit_once(':').unwrap_or((a, "8125"));
                    (h.to_owned(), p.parse().unwrap_or(8125))
                }
                None => sonde_statsd::env_target().map_err(|e| start_err("statsd")(e.to_string()))?,
            };
            let client = StatsdClient::builder(&host, port)
                .prefix(&s.prefix)
                .max_packet_size(s.max_packet_size)
                .flush_interval(s.flush_period.0)
                .build()
                .map_err(|e| start_err("statsd")(e.to_string()))?;
            pipeline.add(StatsdExporter::new(client).tags(s.tags).sample_rate(s.sample_rate), every(s.interval))?;
        }
        if let Some(f) = &config.textfile {
            pipeline.add(TextfileExporter::new(&f.path), every(f.interval))?;
        }
        if let Some(f) = &config.json_file {
            pipeline.add(JsonFileExporter::new(&f.path), every(f.interval))?;
        }
        if let Some(l) = &config.logger {
            pipeline.add(LoggerExporter::new(), every(l.interval))?;
        }
        if let Some(otlp) = otlp_of(config)? {
            pipeline.registry = otlp.registry_view(&pipeline.registry);
            let periodic =
                otlp.periodic_metrics(pipeline.root.clone()).map_err(|e| start_err("otlp")(e.to_string()))?;
            pipeline.exporters.push(periodic);
            pipeline.otlp = Some(otlp);
        }
        Ok(pipeline)
    }

    fn add(&mut self, exporter: impl Exporter + 'static, interval: Duration) -> Result<(), Error> {
        let name = exporter.name().to_owned();
        let p = PeriodicExporter::builder(self.root.clone(), exporter)
            .interval(interval)
            .start()
            .map_err(|e| Error::Start { part: name, reason: e.to_string() })?;
        self.exporters.push(p);
        Ok(())
    }

    /// The registry to declare instruments on (namespace, subsystem and
    /// global labels applied).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Where `/metrics` is served, when enabled.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.local_addr())
    }

    /// The `[otlp]` configuration, to export spans
    /// ([`sonde_otlp::Otlp::batch_processor`]) and events
    /// ([`sonde_otlp::Otlp::log_exporter`]) to the same receiver.
    pub fn otlp(&self) -> Option<&sonde_otlp::Otlp> {
        self.otlp.as_ref()
    }

    /// Push exporters running.
    pub fn exporter_count(&self) -> usize {
        self.exporters.len()
    }

    /// Stops every exporter (each exports once more, within `timeout`) and
    /// the server. Returns the first failure, after trying them all.
    ///
    /// # Errors
    ///
    /// [`Error`] listing the exporters that did not finish their final flush within `timeout`.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), Error> {
        let mut first = Ok(());
        for p in self.exporters.drain(..) {
            if let Err(e) = p.stop(timeout) {
                first = first.and(Err(Error::Start { part: "shutdown".into(), reason: e.to_string() }));
            }
        }
        if let Some(mut s) = self.server.take() {
            s.stop();
        }
        first
    }
}

/// The remote-write exporter `[remote_write]` describes and its interval,
/// or `None` without the section; for a program that sends on its own.
///
/// # Errors
///
/// [`Error::Start`] naming `remote_write` when the exporter cannot be built (a bad URL).
pub fn remote_write_of(config: &Config) -> Result<Option<(RemoteWriteExporter, Duration)>, Error> {
    let Some(r) = &config.remote_write else { return Ok(None) };
    let mut b = RemoteWriteExporter::builder(&r.url);
    for (k, v) in &r.labels {
        b = b.label(k, v);
    }
    let e = b.build().map_err(|e| start_err("remote_write")(e.to_string()))?;
    Ok(Some((e, r.interval.map_or(config.flush_interval.0, |i| i.0))))
}

/// The OTLP destination `[otlp]` describes (the `OTEL_*` variables filling
/// in what it leaves out), or `None` without the section; for a program
/// that runs its own OTLP exports instead of the pipeline's.
///
/// # Errors
///
/// [`Error::Start`] naming `otlp` when an option is invalid (protocol, endpoint, certificate).
pub fn otlp_of(config: &Config) -> Result<Option<sonde_otlp::Otlp>, Error> {
    let Some(o) = &config.otlp else { return Ok(None) };
    let every = |i: Option<crate::Interval>| i.map(|i| i.0).unwrap_or(config.flush_interval.0);
    let mut b = sonde_otlp::Otlp::from_env()
        .endpoint(&o.endpoint)
        .insecure(o.insecure)
        .gzip(o.gzip)
        .metric_interval(every(o.interval));
    if let Some(p) = &o.protocol {
        b = b.protocol(sonde_otlp::Protocol::parse(p).map_err(|e| start_err("otlp")(e.to_string()))?);
    }
    if let Some(name) = &o.service_name {
        b = b.service_name(name);
    }
    for (k, v) in &o.resource_attributes {
        b = b.resource_attribute(k, v);
    }
    for (k, v) in &o.headers {
        b = b.header(k, v);
    }
    if let Some(ca) = &o.certificate {
        b = b.certificate(ca);
    }
    if let (Some(cert), Some(key)) = (&o.client_certificate, &o.client_key) {
        b = b.client_certificate(cert, key);
    }
    if let Some(a) = &o.default_histogram_aggregation {
        let a = sonde_otlp::HistogramAggregation::parse(a).map_err(|e| start_err("otlp")(e.to_string()))?;
        b = b.default_histogram_aggregation(a);
    }
    b.build().map(Some).map_err(|e| start_err("otlp")(e.to_string()))
}

fn scope(config: &Config, registry: &Registry) -> Result<Registry, Error> {
    let mut r = registry.with_namespace(&config.namespace).with_subsystem(&config.subsystem);
    if !config.labels.is_empty() {
        r = r
            .with_labels(config.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| Error::Invalid { key: "labels".into(), reason: e.to_string() })?;
    }
    Ok(r)
}
