//! What the hub holds: the registry received metrics fold into, the stores
//! of received spans and events, and the forwarders; every listener hands
//! its decoded requests here.

use std::sync::Arc;
use std::time::Duration;

use sonde::events::EventLog;
use sonde::BatchOptions;
use sonde::{Counter, Family, Registry};
use sonde_otlp::proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use sonde_otlp::proto::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use sonde_otlp::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use sonde_otlp::receive::{events_from, MetricIngest, TraceStore};
use sonde_otlp::{Forwarder, Otlp};

/// Spans kept for the API and dashboard.
pub(crate) const MAX_SPANS: usize = 100_000;
/// Memory budget of the kept spans (their protobuf size).
pub(crate) const MAX_SPAN_BYTES: usize = 64 << 20;
/// Events kept for the API and dashboard.
pub(crate) const MAX_EVENTS: usize = 10_000;

/// The `error_message` of a partial success with `rejected` items refused.
fn partial_message(rejected: i64) -> String {
    format!("{rejected} item(s) refused; see sonde_hub_rejected_total")
}

/// One of the three OTLP export requests as the hub takes it in, from any
/// listener: where it goes, and how it is answered.
pub(crate) trait Received: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static {
    /// `traces`, `metrics` or `logs`.
    const SIGNAL: &'static str;
    /// The answer.
    type Response: prost::Message + serde::Serialize + Send + 'static;
    /// Hands the request to the hub; returns how many items were refused.
    fn deliver(self, hub: &Hub, transport: &str) -> i64;
    /// The answer, with a partial success when some items were refused.
    fn answer(rejected: i64) -> Self::Response;
}

impl Received for ExportTraceServiceRequest {
    const SIGNAL: &'static str = "traces";
    type Response = ExportTraceServiceResponse;
    fn deliver(self, hub: &Hub, transport: &str) -> i64 {
        hub.on_traces(self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0)
            .then(|| ExportTracePartialSuccess { rejected_spans: rejected, error_message: partial_message(rejected) });
        ExportTraceServiceResponse { partial_success: partial }
    }
}

impl Received for ExportMetricsServiceRequest {
    const SIGNAL: &'static str = "metrics";
    type Response = ExportMetricsServiceResponse;
    fn deliver(self, hub: &Hub, transport: &str) -> i64 {
        hub.on_metrics(&self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: partial_message(rejected),
        });
        ExportMetricsServiceResponse { partial_success: partial }
    }
}

impl Received for ExportLogsServiceRequest {
    const SIGNAL: &'static str = "logs";
    type Response = ExportLogsServiceResponse;
    fn deliver(self, hub: &Hub, transport: &str) -> i64 {
        hub.on_logs(&self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: partial_message(rejected),
        });
        ExportLogsServiceResponse { partial_success: partial }
    }
}

/// The hub's state, shared by every listener. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Hub(Arc<Inner>);

struct Inner {
    registry: Registry,
    metrics: MetricIngest,
    traces: TraceStore,
    events: EventLog,
    forward: Option<Forwarder<ExportTraceServiceRequest>>,
    received: Family<Counter>,
    rejected: Family<Counter>,
}

impl Hub {
    /// A hub folding metrics into `registry`; with `otlp`, received spans
    /// and events are forwarded there too (metrics go through the
    /// pipeline's periodic OTLP export of the registry).
    pub(crate) fn new(registry: &Registry, otlp: Option<&Otlp>) -> Result<Self, Box<dyn std::error::Error>> {
        let traces = TraceStore::new(MAX_SPANS, MAX_SPAN_BYTES);
        traces.register_metrics(registry)?;
        let mut events = EventLog::builder().retention(MAX_EVENTS);
        let mut forward = None;
        if let Some(otlp) = otlp {
            let logs = otlp.log_exporter()?;
            logs.register_metrics(registry)?;
            events = events.exporter(logs, BatchOptions { delay: Duration::from_secs(1), ..BatchOptions::default() });
            let f = otlp.trace_forwarder(1024)?;
            f.register_metrics(registry)?;
            forward = Some(f);
        }
        let events = events.build();
        events.register_metrics(registry)?;
        let received = registry
            .counter("sonde_hub_received_total")
            .help("Items received by the hub, by signal and transport.")
            .labels(["signal", "transport"])
            .register()?;
        let rejected = registry
            .counter("sonde_hub_rejected_total")
            .help("Items or requests the hub refused, by signal and reason.")
            .labels(["signal", "reason"])
            .register()?;
        Ok(Self(Arc::new(Inner {
            registry: registry.clone(),
            metrics: MetricIngest::new(registry.clone())?,
            traces,
            events,
            forward,
            received,
            rejected,
        })))
    }

    /// The registry behind `/metrics`.
    pub(crate) fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// Received spans.
    pub(crate) fn traces(&self) -> &TraceStore {
        &self.0.traces
    }

    /// Received (and the demo's own) events.
    pub(crate) fn events(&self) -> &EventLog {
        &self.0.events
    }

    /// Counts a refused request or item.
    pub(crate) fn reject(&self, signal: &str, reason: &str, n: u64) {
        if n > 0 {
            self.0.rejected.with(&[signal, reason]).add(n as f64);
        }
    }

    /// Takes a request in from `transport` and answers it.
    pub(crate) fn accept<R: Received>(&self, request: R, transport: &str) -> R::Response {
        R::answer(request.deliver(self, transport))
    }

    /// Keeps (and forwards) spans; returns how many were refused.
    pub(crate) fn on_traces(&self, request: ExportTraceServiceRequest, transport: &str) -> i64 {
        let n: usize = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        self.0.received.with(&["traces", transport]).add(n as f64);
        if let Some(f) = &self.0.forward {
            if !f.forward(request.clone()) {
                self.reject("traces", "forward_queue_full", n as u64);
            }
        }
        let rejected = self.0.traces.add_request(request);
        self.reject("traces", "bad_ids", rejected as u64);
        rejected
    }

    /// Folds metric points in; returns how many were refused (counted by
    /// reason in `sonde_otlp_rejected_points_total`).
    pub(crate) fn on_metrics(&self, request: &ExportMetricsServiceRequest, transport: &str) -> i64 {
        self.0.received.with(&["metrics", transport]).inc();
        self.0.metrics.ingest(request)
    }

    /// Keeps (and forwards) log records as events.
    pub(crate) fn on_logs(&self, request: &ExportLogsServiceRequest, transport: &str) -> i64 {
        let events = events_from(request);
        self.0.received.with(&["logs", transport]).add(events.len() as f64);
        for e in events {
            self.0.events.append(e);
        }
        0
    }

    /// Flushes the forwarders within `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        if let Some(f) = &self.0.forward {
            f.shutdown(timeout);
        }
        let _ = self.0.events.shutdown(timeout);
    }
}
