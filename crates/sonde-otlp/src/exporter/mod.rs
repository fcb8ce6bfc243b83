//! The three exporters: metrics ([`sonde_export::Exporter`]), spans
//! ([`sonde::trace::SpanExporter`]) and events ([`sonde::events::EventExporter`]).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sonde::events::{Event, EventExporter};
use sonde::trace::{SpanData, SpanExporter};
use sonde::{Registry, Snapshot};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::encode::{logs_request, MetricEncoder, TraceEncoder};
use crate::transport::{Body, Client, Stats};

/// Registers `<prefix>_<signal>_{requests,failures,retries,rejected_items}_total`.
fn register(client: &Client, registry: &Registry, prefix: &str) -> sonde::Result<()> {
    type Field = fn(&Stats) -> &std::sync::atomic::AtomicU64;
    let signal = client.signal().as_str();
    let fields: [(&str, &str, Field); 4] = [
        ("requests", "export requests started", |s| &s.requests),
        ("failures", "export requests that failed after their retries", |s| &s.failures),
        ("retries", "retried attempts", |s| &s.retries),
        ("rejected_items", "items the receiver rejected in a partial success", |s| &s.rejected),
    ];
    for (suffix, help, field) in fields {
        let stats = client.stats.clone();
        registry.counter_fn(
            &format!("{prefix}_{signal}_{suffix}_total"),
            &format!("OTLP {signal}: {help}."),
            move || field(&stats).load(Relaxed) as f64,
        )?;
    }
    Ok(())
}

/// Sends requests that are already protobuf bytes, for one signal: what a
/// hub's disk queue hands back after an outage or a restart. One send is
/// one attempt (the caller's queue retries); the caller decides what a
/// failure means ([`crate::Error::is_retryable`]).
pub struct OtlpSender {
    pub(crate) client: Client,
}

impl OtlpSender {
    /// Sends one encoded `Export<signal>ServiceRequest`.
    ///
    /// # Errors
    ///
    /// The receiver's refusal or the transport's failure.
    pub fn send_protobuf(&self, bytes: &[u8]) -> Result<(), crate::Error> {
        use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
        match self.client.signal() {
            crate::Signal::Traces => self.client.send::<ExportTraceServiceRequest>(Body::Protobuf(bytes)),
            crate::Signal::Metrics => self.client.send::<ExportMetricsServiceRequest>(Body::Protobuf(bytes)),
            crate::Signal::Logs => self.client.send::<ExportLogsServiceRequest>(Body::Protobuf(bytes)),
        }
    }

    /// Exposes the request, failure, retry and rejection counts as
    /// `<prefix>_<signal>_{requests,failures,retries,rejected_items}_total`.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the names is already declared as another kind.
    pub fn register_metrics(&self, registry: &Registry, prefix: &str) -> sonde::Result<()> {
        register(&self.client, registry, prefix)
    }
}

/// Sends metric snapshots; drive it with [`crate::Otlp::periodic_metrics`]
/// or any [`sonde_export::PeriodicExporter`].
pub struct OtlpMetricExporter {
    pub(crate) client: Client,
    pub(crate) encoder: MetricEncoder,
}

impl OtlpMetricExporter {
    /// Exposes this exporter's request, failure, retry and rejection counts.
    ///
    /// # Errors
    ///
    /// The registry's error when a `sonde_otlp_metrics_*` name is already declared as another kind.
    pub fn register_metrics(&self, registry: &Registry) -> sonde::Result<()> {
        register(&self.client, registry, "sonde_otlp")
    }
}

impl sonde_export::Exporter for OtlpMetricExporter {
    fn name(&self) -> &str {
        "otlp"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), sonde_export::Error> {
        Ok(self
            .encoder
            .encode_with(snapshot, |bytes| self.client.send::<ExportMetricsServiceRequest>(Body::Protobuf(bytes)))?)
    }
}

/// Sends finished spans; put it behind a [`sonde::trace::BatchProcessor`]
/// (see [`crate::Otlp::batch_processor`]) so the instrumented code never
/// waits on the network.
pub struct OtlpSpanExporter {
    pub(crate) client: Client,
    pub(crate) resource: Arc<[(String, String)]>,
    /// Rewrites the previous request in place for the next batch.
    pub(crate) encoder: std::sync::Mutex<TraceEncoder>,
}

impl OtlpSpanExporter {
    /// Exposes this exporter's request, failure, retry and rejection counts.
    ///
    /// # Errors
    ///
    /// The registry's error when a `sonde_otlp_traces_*` name is already declared as another kind.
    pub fn register_metrics(&self, registry: &Registry) -> sonde::Result<()> {
        register(&self.client, registry, "sonde_otlp")
    }
}

impl SpanExporter for OtlpSpanExporter {
    fn export(&self, batch: &[Box<SpanData>]) -> sonde::Result<()> {
        let spans = batch.iter().map(|s| &**s);
        // The reused buffer is held while sending; a second caller (a
        // simple processor on another thread) writes its own instead of
        // waiting behind the network.
        let encoder = match self.encoder.try_lock() {
            Ok(e) => Some(e),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        match encoder {
            Some(mut e) => {
                Ok(self.client.send::<ExportTraceServiceRequest>(Body::Protobuf(e.encode(spans, &self.resource)))?)
            }
            None => {
                let mut e = TraceEncoder::default();
                Ok(self.client.send::<ExportTraceServiceRequest>(Body::Protobuf(e.encode(spans, &self.resource)))?)
            }
        }
    }
}

/// Sends Sonde events as OTLP log records, with their trace and span ids;
/// give it to [`sonde::events::EventLogBuilder::exporter`].
pub struct OtlpLogExporter {
    pub(crate) client: Client,
    pub(crate) resource: Arc<[(String, String)]>,
}

impl OtlpLogExporter {
    /// Exposes this exporter's request, failure, retry and rejection counts.
    ///
    /// # Errors
    ///
    /// The registry's error when a `sonde_otlp_logs_*` name is already declared as another kind.
    pub fn register_metrics(&self, registry: &Registry) -> sonde::Result<()> {
        register(&self.client, registry, "sonde_otlp")
    }
}

impl EventExporter for OtlpLogExporter {
    fn export(&self, batch: &[Arc<Event>]) -> sonde::Result<()> {
        Ok(self.client.send(Body::Tree(&logs_request(batch, &self.resource)))?)
    }
}
