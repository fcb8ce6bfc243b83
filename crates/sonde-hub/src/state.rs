//! What the hub holds: the registry received metrics fold into, the stores
//! of received spans and events, the forwarder, and the hub's own counts;
//! every listener hands its decoded requests here.

use std::sync::Arc;
use std::time::Duration;

use sonde::events::EventLog;
use sonde::{BatchOptions, Counter, Family, Registry};
use sonde_otlp::proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use sonde_otlp::proto::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use sonde_otlp::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use sonde_otlp::receive::{events_from, limit_log_record, limit_span, BodyError, MetricIngest, TraceStore, Trimmed};
use sonde_otlp::Signal;

use crate::decode::Decoder;
use crate::forward::{Destination, Forwarding};
use crate::keeping::Ticks;
use crate::Limits;

/// The `error_message` of a partial success: where the refusals are counted.
fn partial_message(rejected: i64, counter: &str) -> String {
    format!("{rejected} item(s) refused; see {counter} for the reasons")
}

/// One of the three OTLP export requests as the hub takes it in, from any
/// listener: where it goes, and how it is answered.
pub(crate) trait Received:
    prost::Message + Default + serde::de::DeserializeOwned + Clone + Send + 'static
{
    /// Which signal.
    const SIGNAL: Signal;
    /// The answer.
    type Response: prost::Message + serde::Serialize + Send + 'static;
    /// Hands the request to the hub; returns how many items were refused.
    fn deliver(self, hub: &HubState, transport: &str) -> i64;
    /// The answer, with a partial success when some items were refused.
    fn answer(rejected: i64) -> Self::Response;
}

impl Received for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;
    type Response = ExportTraceServiceResponse;
    fn deliver(self, hub: &HubState, transport: &str) -> i64 {
        hub.on_traces(self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: partial_message(rejected, "sonde_hub_rejected_total{signal=\"traces\"}"),
        });
        ExportTraceServiceResponse { partial_success: partial }
    }
}

impl Received for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;
    type Response = ExportMetricsServiceResponse;
    fn deliver(self, hub: &HubState, transport: &str) -> i64 {
        hub.on_metrics(&self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: partial_message(rejected, "sonde_otlp_rejected_points_total"),
        });
        ExportMetricsServiceResponse { partial_success: partial }
    }
}

impl Received for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;
    type Response = ExportLogsServiceResponse;
    fn deliver(self, hub: &HubState, transport: &str) -> i64 {
        hub.on_logs(self, transport)
    }
    fn answer(rejected: i64) -> Self::Response {
        let partial = (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: partial_message(rejected, "sonde_hub_rejected_total{signal=\"logs\"}"),
        });
        ExportLogsServiceResponse { partial_success: partial }
    }
}

/// Why the hub refused a request, a connection or an item: the `reason`
/// of `sonde_hub_rejected_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No or wrong credentials.
    Unauthenticated,
    /// Too many expensive answers at once.
    Busy,
    /// A content type OTLP/HTTP does not take.
    UnsupportedMediaType,
    /// A content encoding other than gzip or none.
    UnsupportedEncoding,
    /// A body over the size cap.
    TooLarge,
    /// A body whose decoded form would pass the per-request budget.
    TooLargeDecoded,
    /// A body that does not gunzip.
    BadGzip,
    /// A body that does not decode.
    BadMessage,
    /// A span with an invalid trace or span id.
    BadIds,
    /// A StatsD TCP connection past the cap.
    StatsdConnectionLimit,
    /// A metrics answer sent before the sampler wrote its points (the
    /// sampler was late or stopping).
    AnsweredBeforeSampled,
}

impl Refused {
    /// The `reason` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Busy => "busy",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UnsupportedEncoding => "unsupported_encoding",
            Self::TooLarge => "too_large",
            Self::TooLargeDecoded => "too_large_decoded",
            Self::BadGzip => "bad_gzip",
            Self::BadMessage => "bad_message",
            Self::BadIds => "bad_ids",
            Self::StatsdConnectionLimit => "statsd_connection_limit",
            Self::AnsweredBeforeSampled => "answered_before_sampled",
        }
    }
}

impl From<&BodyError> for Refused {
    fn from(e: &BodyError) -> Self {
        match e {
            BodyError::UnsupportedMediaType(_) => Self::UnsupportedMediaType,
            BodyError::UnsupportedEncoding(_) => Self::UnsupportedEncoding,
            BodyError::TooLarge(_) => Self::TooLarge,
            BodyError::TooCostly { .. } => Self::TooLargeDecoded,
            BodyError::BadGzip(_) => Self::BadGzip,
            BodyError::BadMessage(_) => Self::BadMessage,
        }
    }
}

/// What a stop could not deliver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropReport {
    /// Spans not forwarded by the deadline: waiting in the disk queue for
    /// the next start (`on_disk`), or dropped (in memory).
    pub spans: u64,
    /// Events, likewise (and events whose hand-over failed).
    pub events: u64,
    /// Whether what was not forwarded waits on disk for the next start.
    pub on_disk: bool,
}

/// The hub's state, shared by every listener. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HubState(Arc<Inner>);

struct Inner {
    registry: Registry,
    limits: Limits,
    decoder: Decoder,
    metrics: MetricIngest,
    traces: TraceStore,
    events: EventLog,
    forward: Option<Arc<Destination>>,
    received: Family<Counter>,
    rejected: Family<Counter>,
    trimmed: Family<Counter>,
    /// The sampler's progress, when metric answers wait for the sample log.
    ticks: Option<Arc<Ticks>>,
}

impl HubState {
    /// A hub folding metrics into `registry` within `limits` (an OTLP
    /// metrics answer waits for `ticks`, the sampler writing them); received
    /// spans and events are queued in `forwarding`'s destinations when it
    /// has them (metrics go through its periodic snapshots of the registry).
    pub(crate) fn new(
        registry: &Registry,
        limits: Limits,
        forwarding: &Forwarding,
        ticks: Option<Arc<Ticks>>,
    ) -> Result<Self, crate::Error> {
        let traces = TraceStore::new(limits.trace_spans, limits.trace_bytes);
        traces.register_metrics(registry)?;
        let mut events = EventLog::builder().retention(limits.event_count).retention_bytes(limits.event_bytes);
        if let Some(logs) = forwarding.log_exporter() {
            events = events.exporter(logs, BatchOptions { delay: Duration::from_secs(1), ..BatchOptions::default() });
        }
        let forward = forwarding.traces();
        let events = events.build();
        events.register_metrics(registry)?;
        let received = registry
            .counter("sonde_hub_received_total")
            .help(
                "Items received by the hub (spans, metric points, log records, StatsD lines), by signal and transport.",
            )
            .labels(["signal", "transport"])
            .register()?;
        let rejected = registry
            .counter("sonde_hub_rejected_total")
            .help("Requests, connections or items the hub refused, by signal and reason.")
            .labels(["signal", "reason"])
            .register()?;
        let trimmed = registry
            .counter("sonde_hub_trimmed_total")
            .help("Attributes, events, links dropped and values shortened to the per-item limits, by signal and what.")
            .labels(["signal", "what"])
            .register()?;
        let decoder = Decoder::new(limits.decode_concurrency, limits.max_decoded_request);
        Ok(Self(Arc::new(Inner {
            registry: registry.clone(),
            metrics: MetricIngest::new(registry.clone())?,
            limits,
            decoder,
            traces,
            events,
            forward,
            received,
            rejected,
            trimmed,
            ticks,
        })))
    }

    /// The registry behind `/metrics`.
    pub(crate) fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The bounds.
    pub(crate) fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The off-runtime decoder.
    pub(crate) fn decoder(&self) -> &Decoder {
        &self.0.decoder
    }

    /// Received spans.
    pub(crate) fn traces(&self) -> &TraceStore {
        &self.0.traces
    }

    /// Received (and the demo's own) events.
    pub(crate) fn events(&self) -> &EventLog {
        &self.0.events
    }

    /// Counts a refused request, connection or item.
    pub(crate) fn reject(&self, signal: &str, reason: Refused, n: u64) {
        if n > 0 {
            self.0.rejected.with(&[signal, reason.as_str()]).inc_by(n);
        }
    }

    fn trimmed(&self, signal: &str, t: Trimmed) {
        for (what, n) in [("attributes", t.attributes), ("events", t.events), ("links", t.links), ("values", t.values)]
        {
            if n > 0 {
                self.0.trimmed.with(&[signal, what]).inc_by(n);
            }
        }
    }

    /// Takes a request in from `transport` and answers it.
    pub(crate) fn accept<R: Received>(&self, request: R, transport: &str) -> R::Response {
        R::answer(request.deliver(self, transport))
    }

    /// [`HubState::accept`] on the blocking pool: keeping a request may
    /// write to the records database, which must not stall the serving
    /// runtime. The answer is sent only once what it acknowledges was
    /// handed to the operating system: spans and events by their hooks,
    /// metric points by the sampler's next tick (on disk only).
    pub(crate) async fn accept_off_runtime<R: Received>(
        &self,
        request: R,
        transport: &'static str,
    ) -> Result<R::Response, String> {
        let hub = self.clone();
        let response =
            tokio::task::spawn_blocking(move || hub.accept(request, transport)).await.map_err(|e| e.to_string())?;
        // Metric points live in the registry until the sampler writes them:
        // the answer waits for that (at most a few intervals).
        if let (Signal::Metrics, Some(ticks)) = (R::SIGNAL, &self.0.ticks) {
            if !ticks.written_after_now().await {
                self.reject("metrics", Refused::AnsweredBeforeSampled, 1);
            }
        }
        Ok(response)
    }

    /// Cuts spans to the limits, forwards and keeps them; returns how many
    /// were refused.
    pub(crate) fn on_traces(&self, mut request: ExportTraceServiceRequest, transport: &str) -> i64 {
        let mut total = Trimmed::default();
        let mut n = 0u64;
        for span in request.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
            let t = limit_span(span, &self.0.limits.items);
            total.attributes += t.attributes;
            total.events += t.events;
            total.links += t.links;
            total.values += t.values;
            n += 1;
        }
        self.0.received.with(&["traces", transport]).inc_by(n);
        self.trimmed("traces", total);
        if let Some(f) = &self.0.forward {
            f.push(&prost::Message::encode_to_vec(&request), n); // what it drops is counted there
        }
        let rejected = self.0.traces.add_request(request);
        self.reject("traces", Refused::BadIds, rejected as u64);
        rejected
    }

    /// Folds metric points in; returns how many were refused (counted by
    /// reason in `sonde_otlp_rejected_points_total`).
    pub(crate) fn on_metrics(&self, request: &ExportMetricsServiceRequest, transport: &str) -> i64 {
        let points: usize = request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(sonde_otlp::receive::point_count)
            .sum();
        self.0.received.with(&["metrics", transport]).inc_by(points as u64);
        self.0.metrics.ingest(request)
    }

    /// Cuts log records to the limits and keeps (and forwards) them as events.
    pub(crate) fn on_logs(&self, mut request: ExportLogsServiceRequest, transport: &str) -> i64 {
        let mut total = Trimmed::default();
        for record in request.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records)
        {
            let t = limit_log_record(record, &self.0.limits.items);
            total.attributes += t.attributes;
            total.values += t.values;
        }
        self.trimmed("logs", total);
        let events = events_from(&request);
        self.0.received.with(&["logs", transport]).inc_by(events.len() as u64);
        for e in events {
            self.0.events.append(e);
        }
        0
    }

    /// Counts StatsD lines received over `transport`.
    pub(crate) fn statsd_received(&self, transport: &str, lines: u64) {
        if lines > 0 {
            self.0.received.with(&["metrics", transport]).inc_by(lines);
        }
    }

    /// Hands the events still batched to the forward queue within
    /// `timeout`; returns how many could not be.
    pub(crate) fn shutdown(&self, timeout: Duration) -> u64 {
        let _ = self.0.events.shutdown(timeout);
        self.0.events.undelivered()
    }
}
