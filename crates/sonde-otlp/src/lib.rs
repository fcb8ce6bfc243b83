//! OTLP export for Sonde: metrics, spans and events (as log records) to any
//! OpenTelemetry receiver, over OTLP/HTTP with protobuf or JSON bodies, or
//! OTLP/gRPC. Metrics and spans are written straight to protobuf bytes
//! (exactly prost's bytes for the same message, without building one); the
//! official generated types (`opentelemetry-proto`) are what
//! [`MetricEncoder::encode`] and [`traces_request`] return for inspection,
//! and what OTLP/JSON, log records and forwarding use.
//!
//! ```
//! use sonde::Registry;
//! use sonde_otlp::{Otlp, Protocol};
//!
//! let registry = Registry::new();
//! registry.counter("jobs_total").help("Jobs run.").register()?.add(3.0);
//!
//! let otlp = Otlp::builder()
//!     .endpoint("http://127.0.0.1:4318")
//!     .protocol(Protocol::HttpProtobuf)
//!     .service_name("worker")
//!     .build()?;
//! // What would be sent: a monotonic cumulative sum named `jobs`.
//! let request = otlp.metric_encoder().encode(&registry.snapshot());
//! let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
//! assert_eq!(metric.name, "jobs");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Configuration
//!
//! [`Otlp::from_env`] reads the standard variables; builder calls override
//! them: `OTEL_EXPORTER_OTLP_ENDPOINT` (and `_TRACES_`, `_METRICS_`,
//! `_LOGS_ENDPOINT`, used as given), `..._HEADERS`, `..._PROTOCOL`
//! (`grpc`, `http/protobuf`, `http/json`), `..._COMPRESSION` (`gzip`),
//! `..._TIMEOUT` (ms), `..._INSECURE`, `..._CERTIFICATE` (a PEM file of the
//! certificate authority to trust), `..._CLIENT_CERTIFICATE` and
//! `..._CLIENT_KEY` (PEM files for mutual TLS), `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_METRIC_EXPORT_INTERVAL` (ms) and
//! `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`
//! (`base2_exponential_bucket_histogram` makes histograms declared without
//! buckets native through [`Otlp::registry_view`]; native histograms are
//! exported as `ExponentialHistogram`s).
//!
//! # Faults
//!
//! HTTP 429, 502, 503 and 504, and the gRPC codes OTLP lists (UNAVAILABLE,
//! CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, DATA_LOSS, and
//! RESOURCE_EXHAUSTED when the server says when to retry) are retried with
//! jittered exponential backoff, or after the wait the server gives: HTTP's
//! `Retry-After`, gRPC's `google.rpc.RetryInfo` status detail (a wait that
//! would pass the retry deadline fails at once); anything else (a 400,
//! say) fails at once. A partial
//! success is logged and its rejected items counted, never retried. Spans
//! and events go through Sonde's bounded batch queues, whose drops are
//! counted; metrics through [`sonde_export::PeriodicExporter`]. gRPC runs
//! on a small runtime of its own, so nothing here needs, or can deadlock,
//! the application's tokio runtime; every wait has a deadline.

mod config;
mod encode;
mod error;
mod exporter;
pub mod receive;
mod transport;

use std::sync::Arc;
use std::time::Duration;

pub use config::{HistogramAggregation, OtlpBuilder, Protocol, RetryPolicy, Signal, Temporality};
pub use encode::{log_record, logs_request, traces_request, MetricEncoder, TraceEncoder};
pub use error::Error;
pub use exporter::{OtlpLogExporter, OtlpMetricExporter, OtlpSender, OtlpSpanExporter};
/// The official generated OTLP types, re-exported.
pub use opentelemetry_proto::tonic as proto;
pub use transport::ExportRequest;

use sonde::trace::BatchProcessor;
use sonde::BatchOptions;
use sonde::Registry;
use sonde_export::PeriodicExporter;
use transport::Client;

/// A validated OTLP configuration that makes exporters.
#[derive(Clone, Debug)]
pub struct Otlp {
    options: OtlpBuilder,
    resource: Arc<[(String, String)]>,
    interval: Duration,
    aggregation: HistogramAggregation,
}

impl Otlp {
    /// Options set in code only (the environment is not read).
    pub fn builder() -> OtlpBuilder {
        OtlpBuilder::default()
    }

    /// Options from the process's `OTEL_*` variables; builder calls on the
    /// result override them.
    pub fn from_env() -> OtlpBuilder {
        OtlpBuilder::with_env(std::env::vars())
    }

    /// Options from these `OTEL_*` variables, as [`from_env`](Self::from_env)
    /// reads the process's (for configurations that carry their own).
    ///
    /// ```
    /// let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), "http://127.0.0.1:4318".to_string())];
    /// let otlp = sonde_otlp::Otlp::from_vars(vars).build()?;
    /// # Ok::<(), sonde_otlp::Error>(())
    /// ```
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> OtlpBuilder {
        OtlpBuilder::with_env(vars)
    }

    /// The resource attributes sent with every request.
    pub fn resource(&self) -> &[(String, String)] {
        &self.resource
    }

    /// How histograms declared without buckets aggregate.
    pub fn histogram_aggregation(&self) -> HistogramAggregation {
        self.aggregation
    }

    /// `registry` as this configuration wants histograms declared: with
    /// [`HistogramAggregation::Base2Exponential`], a view in which
    /// histograms declared without buckets are native (scale 20, 160
    /// buckets); otherwise `registry` itself.
    ///
    /// ```
    /// use sonde_otlp::{HistogramAggregation, Otlp};
    /// let otlp = Otlp::builder()
    ///     .endpoint("http://127.0.0.1:4318")
    ///     .default_histogram_aggregation(HistogramAggregation::Base2Exponential)
    ///     .build()?;
    /// let registry = otlp.registry_view(&sonde::Registry::new());
    /// let h = registry.histogram("latency_seconds").register()?;
    /// h.observe(0.2);
    /// assert_eq!(h.native().unwrap().schema, 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn registry_view(&self, registry: &Registry) -> Registry {
        match self.aggregation.native_buckets() {
            Some(native) => registry.with_native_histograms(native),
            None => registry.clone(),
        }
    }

    /// The periodic metric export interval.
    pub fn metric_interval(&self) -> Duration {
        self.interval
    }

    fn client(&self, signal: Signal) -> Result<Client, Error> {
        Client::new(signal, self.options.resolve(signal)?, self.options.retry_policy())
    }

    /// An encoder with this configuration's resource and temporality.
    pub fn metric_encoder(&self) -> MetricEncoder {
        MetricEncoder::new(self.options.temporality_choice(), &self.resource)
    }

    /// A metric exporter.
    ///
    /// # Errors
    ///
    /// [`Error`] when the transport cannot be set up: a bad endpoint URL, an unreadable certificate, or
    /// (gRPC) a runtime that cannot start.
    pub fn metric_exporter(&self) -> Result<OtlpMetricExporter, Error> {
        Ok(OtlpMetricExporter { client: self.client(Signal::Metrics)?, encoder: self.metric_encoder() })
    }

    /// A span exporter.
    ///
    /// # Errors
    ///
    /// [`Error`] when the transport cannot be set up: a bad endpoint URL, an unreadable certificate, or
    /// (gRPC) a runtime that cannot start.
    pub fn span_exporter(&self) -> Result<OtlpSpanExporter, Error> {
        Ok(OtlpSpanExporter {
            client: self.client(Signal::Traces)?,
            resource: self.resource.clone(),
            encoder: Default::default(),
        })
    }

    /// An event (log record) exporter.
    ///
    /// # Errors
    ///
    /// [`Error`] when the transport cannot be set up: a bad endpoint URL, an unreadable certificate, or
    /// (gRPC) a runtime that cannot start.
    pub fn log_exporter(&self) -> Result<OtlpLogExporter, Error> {
        Ok(OtlpLogExporter { client: self.client(Signal::Logs)?, resource: self.resource.clone() })
    }

    /// A sender of already-encoded requests for `signal`, one attempt per
    /// send (see [`OtlpSender`]).
    ///
    /// # Errors
    ///
    /// [`Error`] when the transport cannot be set up: a bad endpoint URL, an unreadable certificate, or
    /// (gRPC) a runtime that cannot start.
    pub fn sender(&self, signal: Signal) -> Result<OtlpSender, Error> {
        // One attempt per send: the caller's queue is the retry loop.
        let once = RetryPolicy { attempts: 0, ..self.options.retry_policy() };
        Ok(OtlpSender { client: Client::new(signal, self.options.resolve(signal)?, once)? })
    }

    /// A batch span processor exporting here, with its queue and export
    /// counts registered in `registry`.
    ///
    /// # Errors
    ///
    /// [`Error`] when the span exporter cannot be built (see [`Otlp::span_exporter`]) or its self-metrics
    /// cannot be registered.
    pub fn batch_processor(&self, registry: &Registry, options: BatchOptions) -> Result<BatchProcessor, Error> {
        let exporter = self.span_exporter()?;
        exporter.register_metrics(registry).map_err(|e| Error::Config(e.to_string()))?;
        let processor = BatchProcessor::new(exporter, options);
        processor.register_metrics(registry).map_err(|e| Error::Config(e.to_string()))?;
        Ok(processor)
    }

    /// Exports `registry` every [`Otlp::metric_interval`] (and once more
    /// when stopped). Retries are the OTLP client's, so the periodic driver
    /// does not add its own.
    ///
    /// # Errors
    ///
    /// [`Error`] when the metric exporter cannot be built (see [`Otlp::metric_exporter`]) or the periodic
    /// worker cannot start.
    pub fn periodic_metrics(&self, registry: Registry) -> Result<PeriodicExporter, Error> {
        let exporter = self.metric_exporter()?;
        exporter.register_metrics(&registry).map_err(|e| Error::Config(e.to_string()))?;
        PeriodicExporter::builder(registry, exporter)
            .interval(self.interval)
            .retries(0, Duration::from_millis(1), Duration::from_millis(1))
            .start()
            .map_err(|e| Error::Config(e.to_string()))
    }
}

impl OtlpBuilder {
    /// Validates every signal's options.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the setting when an `OTEL_*` variable or a builder value is invalid (endpoint,
    /// protocol, headers, timeout, certificate).
    pub fn build(self) -> Result<Otlp, Error> {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            self.resolve(signal)?;
        }
        let resource = self.resource()?.into();
        let interval = self.interval()?;
        if interval.is_zero() {
            return Err(Error::Config("the metric export interval must be > 0".into()));
        }
        let aggregation = self.histogram_aggregation()?;
        Ok(Otlp { options: self, resource, interval, aggregation })
    }
}
