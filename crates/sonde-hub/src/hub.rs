//! Starting and stopping a hub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde::events::EventLog;
use sonde::Registry;
use sonde_config::Pipeline;
use sonde_dashboard::Dashboard;
use sonde_otlp::receive::TraceStore;
use sonde_otlp::Otlp;
use sonde_statsd::StatsdIngest;
use tokio::sync::watch;

use crate::forward::{ForwardOptions, Forwarding};
use crate::keeping::Keeping;
use crate::net::server::{self, ConnectionRules, ConnectionStats, Serving};
use crate::prometheus_api::QueryApi;
use crate::query::StoreSource;
use crate::rules::RuleRunner;
use crate::source::HubSource;
use crate::state::{DropReport, HubState};
use crate::{http, otlp_grpc, otlp_http, statsd, Error, HubOptions, Storage};
use sonde_promql::Engine;

/// The addresses a started hub listens on (ports resolved), and the
/// ingest listeners it skipped (a demo next to another hub).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bound {
    /// `/metrics`, the dashboard and the API.
    pub http: Option<SocketAddr>,
    /// StatsD over UDP.
    pub statsd_udp: Option<SocketAddr>,
    /// StatsD over TCP.
    pub statsd_tcp: Option<SocketAddr>,
    /// OTLP/gRPC.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP.
    pub otlp_http: Option<SocketAddr>,
    /// Listeners not started, with why (only with `skip_busy_ingest_ports`).
    pub skipped: Vec<String>,
}

/// What a stop did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// How long it took.
    pub took: Duration,
    /// Whether every listener's in-flight requests finished within the grace.
    pub drained: bool,
    /// What could not be forwarded by the deadline (counted in the
    /// self-metrics too: `sonde_forward_queue_items`, or
    /// `sonde_forward_dropped_total{reason="shutdown"}` in memory).
    pub undelivered: DropReport,
}

/// A running hub.
pub struct Hub {
    state: HubState,
    dashboard: Dashboard,
    pipeline: Pipeline,
    otlp: Option<Otlp>,
    forwarding: Option<Forwarding>,
    runtime: tokio::runtime::Runtime,
    servers: Vec<Serving>,
    statsd: Option<statsd::Running>,
    stop: watch::Sender<bool>,
    bound: Bound,
    grace: Duration,
    keeping: Keeping,
}

fn connection_stats(registry: &Registry, listener: &str) -> Result<ConnectionStats, Error> {
    let open = registry
        .gauge("sonde_hub_connections")
        .help("Open connections, by listener.")
        .labels(["listener"])
        .register()?
        .bind(&[listener]);
    let refused = registry
        .counter("sonde_hub_connections_refused_total")
        .help("Connections closed at once because their listener held its maximum, by listener.")
        .labels(["listener"])
        .register()?
        .bind(&[listener]);
    let handshake_failed = registry
        .counter("sonde_hub_tls_handshakes_failed_total")
        .help("TLS handshakes that failed or took too long, by listener.")
        .labels(["listener"])
        .register()?
        .bind(&[listener]);
    Ok(ConnectionStats { open, refused, handshake_failed })
}

/// The OTLP configuration the environment describes, when the
/// configuration has no `[otlp]` section.
fn otlp_from_env(service: &str) -> Result<Option<Otlp>, Error> {
    let options = Otlp::from_env();
    if !options.has_endpoint() {
        return Ok(None);
    }
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|s| !s.trim().is_empty());
    let options = if named { options } else { options.service_name(service) };
    Ok(Some(options.build()?))
}

impl Hub {
    /// Starts a hub: the pipeline's exporters, the HTTP side, and the StatsD
    /// and OTLP listeners, on a runtime of its own.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when a listener cannot bind (an ingest one only
    /// without `skip_busy_ingest_ports`), or the configuration's, the
    /// exporters', TLS's or the self-metrics' error.
    pub fn start(options: HubOptions) -> Result<Self, Error> {
        let limits = options.limits.clone();
        let mut config = options.config.clone();
        // The hub serves /metrics itself, next to the API, and forwards over
        // OTLP and remote write through its own queues; the pipeline only
        // runs the other push exporters.
        config.prometheus = None;
        let (otlp, remote_write) = if config.enabled {
            let otlp = match sonde_config::otlp_of(&config)? {
                Some(o) => Some(o),
                None => otlp_from_env(&options.service_name)?,
            };
            (otlp, sonde_config::remote_write_of(&config)?)
        } else {
            (None, None)
        };
        config.otlp = None;
        config.remote_write = None;
        let registry = Registry::builder().max_series(limits.max_series).build()?;
        let pipeline = Pipeline::start(&config, registry.clone())?;
        let mut keeping = Keeping::open(&options.storage, &options.store, options.history_bytes)?;
        let dir = match &options.storage {
            Storage::Dir(dir) => Some(dir.as_path()),
            Storage::Memory => None,
        };
        let forward_options = ForwardOptions {
            dir,
            budget: if dir.is_some() { options.forward_disk_bytes } else { limits.forward_bytes as u64 },
            fsync: options.store.fsync,
        };
        let forwarding = Forwarding::start(otlp.as_ref(), remote_write, &registry, &forward_options)?;
        let state = HubState::new(&registry, limits.clone(), &forwarding, keeping.ticks.clone())?;
        keeping.persist(state.traces(), state.events(), &registry)?;
        let rules =
            RuleRunner::load(&options.rules, Engine::new(options.query.clone()), keeping.samples.clone(), &registry)?;
        if rules.is_some() && !keeping.samples_kept() {
            return Err(Error::Config("[rules] needs the history the hub keeps (history_bytes is 0)".into()));
        }
        let groups = rules.as_ref().map(|r| r.groups.clone());
        keeping.start_sampling(registry.clone(), rules)?;
        let source = HubSource::new(
            registry.clone(),
            state.traces().clone(),
            state.events().clone(),
            keeping.samples.clone(),
            keeping.records.clone(),
        );
        // The source keeps the history (the sample store), so the dashboard keeps none of its own.
        let dashboard = Dashboard::builder(source)
            .history_bytes(0)
            .limits(sonde_dashboard::Limits {
                max_answer_bytes: limits.max_answer_bytes,
                max_streams: limits.max_streams,
                max_stream_ids: limits.max_stream_ids,
            })
            .build();
        for view in &options.views {
            dashboard.add_view(view.clone());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sonde-hub")
            .max_blocking_threads(limits.decode_concurrency.max(1) + 8)
            .enable_all()
            .build()?;
        let tls = match &options.tls {
            Some((cert, key)) => Some(crate::net::tls::acceptor(cert, key)?),
            None => None,
        };
        let rules = ConnectionRules {
            max_connections: limits.max_connections,
            idle: limits.idle_timeout,
            header_timeout: limits.header_timeout,
            request_timeout: limits.request_timeout,
            tls: None,
        };
        let (stop, stopped) = watch::channel(false);
        let mut hub = Self {
            state: state.clone(),
            dashboard: dashboard.clone(),
            pipeline,
            otlp,
            forwarding: Some(forwarding),
            runtime,
            servers: Vec::new(),
            statsd: None,
            stop,
            bound: Bound::default(),
            grace: options.shutdown_grace,
            keeping,
        };
        if !config.enabled {
            return Ok(hub);
        }
        let guard = http::Guard::new(&state, options.auth.clone());
        let skip = options.skip_busy_ingest_ports;
        let bind =
            |what: &'static str, addr: SocketAddr, ingest: bool| -> Result<Option<tokio::net::TcpListener>, Error> {
                let _entered = hub.runtime.enter();
                match std::net::TcpListener::bind(addr).and_then(|l| {
                    l.set_nonblocking(true)?;
                    tokio::net::TcpListener::from_std(l)
                }) {
                    Ok(l) => Ok(Some(l)),
                    Err(e) if ingest && skip => Err(Error::Bind { what, addr, source: e }).or(Ok(None)),
                    Err(source) => Err(Error::Bind { what, addr, source }),
                }
            };
        let mut skipped = Vec::new();
        let addrs = options.addresses;

        // The HTTP side: /metrics, the dashboard and the API.
        let listener = bind("http", addrs.http, false)?.expect("non-ingest listeners are never skipped");
        hub.bound.http = Some(listener.local_addr()?);
        if let Some(groups) = &groups {
            let url = format!("http{}://{}", if tls.is_some() { "s" } else { "" }, listener.local_addr()?);
            for g in groups.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
                g.external_url.clone_from(&url);
            }
        }
        let api = QueryApi {
            source: StoreSource::new(hub.keeping.samples.clone()),
            engine: Engine::new(options.query.clone()),
            registry: registry.clone(),
            groups,
        };
        let router = http::router(&state, &dashboard, api, &guard);
        let http_rules = ConnectionRules { tls: tls.clone(), ..rules.clone() };
        let stats = connection_stats(&registry, "http")?;
        hub.servers.push({
            let _entered = hub.runtime.enter();
            server::serve(listener, router, http_rules, stats, stopped.clone())
        });

        // StatsD, UDP and TCP.
        match statsd::Listeners::bind(addrs.statsd) {
            Ok(listeners) => {
                let (udp, tcp) = listeners.addrs()?;
                hub.bound.statsd_udp = Some(udp);
                hub.bound.statsd_tcp = Some(tcp);
                let ingest = Arc::new(
                    StatsdIngest::new(registry.clone(), options.timer_buckets.clone())?.events(state.events().clone()),
                );
                let stats = statsd::TcpStats {
                    open: connection_stats(&registry, "statsd")?.open,
                    refused: connection_stats(&registry, "statsd")?.refused,
                };
                let _entered = hub.runtime.enter();
                hub.statsd = Some(statsd::start(
                    listeners,
                    state.clone(),
                    ingest,
                    config.flush_interval.0,
                    stats,
                    stopped.clone(),
                )?);
            }
            Err(e) if skip => skipped.push(format!("statsd at {}: {e}", addrs.statsd)),
            Err(source) => return Err(Error::Bind { what: "statsd", addr: addrs.statsd, source }),
        }

        // OTLP/gRPC and OTLP/HTTP.
        match bind("otlp grpc", addrs.otlp_grpc, true)? {
            Some(listener) => {
                hub.bound.otlp_grpc = Some(listener.local_addr()?);
                let receiver = otlp_grpc::GrpcReceiver::new(state.clone(), options.auth.clone());
                let stats = connection_stats(&registry, "otlp_grpc")?;
                let _entered = hub.runtime.enter();
                hub.servers.push(server::serve(listener, receiver, rules.clone(), stats, stopped.clone()));
            }
            None => skipped.push(format!("otlp grpc at {}: the port is taken", addrs.otlp_grpc)),
        }
        match bind("otlp http", addrs.otlp_http, true)? {
            Some(listener) => {
                hub.bound.otlp_http = Some(listener.local_addr()?);
                let router = guard.wrap(otlp_http::router(state.clone()));
                let stats = connection_stats(&registry, "otlp_http")?;
                let _entered = hub.runtime.enter();
                hub.servers.push(server::serve(listener, router, rules.clone(), stats, stopped.clone()));
            }
            None => skipped.push(format!("otlp http at {}: the port is taken", addrs.otlp_http)),
        }
        hub.bound.skipped = skipped;
        Ok(hub)
    }

    /// Where it listens.
    pub fn bound(&self) -> &Bound {
        &self.bound
    }

    /// The registry received metrics fold into (and `/metrics` serves).
    pub fn registry(&self) -> &Registry {
        self.state.registry()
    }

    /// Received spans.
    pub fn traces(&self) -> &TraceStore {
        self.state.traces()
    }

    /// Received events.
    pub fn events(&self) -> &EventLog {
        self.state.events()
    }

    /// The dashboard (to register views).
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }

    /// The OTLP destination, when the hub forwards over OTLP.
    pub fn otlp(&self) -> Option<&Otlp> {
        self.otlp.as_ref()
    }

    /// How many push exporters the configuration started.
    pub fn exporter_count(&self) -> usize {
        self.pipeline.exporter_count()
    }

    /// Stops within the grace period in all: stops accepting at once, lets
    /// in-flight requests finish, then flushes the forwarders and exporters
    /// with the time left. Whatever could not be delivered is counted and
    /// reported; a stop never fails because a downstream is down.
    pub fn stop(mut self) -> StopReport {
        let started = Instant::now();
        let deadline = started + self.grace;
        let left = || deadline.saturating_duration_since(Instant::now());
        let _ = self.stop.send(true);
        let drained = self.runtime.block_on(async {
            let mut all = true;
            for s in self.servers {
                all &= s.finish(left()).await;
            }
            all
        });
        if let Some(s) = self.statsd {
            s.stop();
        }
        // What remains is split between the forwarders and the exporters.
        let unhanded = self.state.shutdown(left().mul_f64(0.2));
        let mut undelivered = self.forwarding.take().map(|f| f.stop(left().mul_f64(0.7))).unwrap_or_default();
        undelivered.events += unhanded;
        let _ = self.pipeline.shutdown(left());
        self.keeping.close();
        self.runtime.shutdown_timeout(Duration::from_millis(100));
        StopReport { took: started.elapsed(), drained, undelivered }
    }
}
