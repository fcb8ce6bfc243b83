//! `OTEL_EXPORTER_OTLP_*` for the binary: when an endpoint is set, metrics,
//! spans and events also go to that OTLP receiver.

use std::time::Duration;

use sonde::events::EventLog;
use sonde::pipeline::BatchOptions;
use sonde::trace::TracerProvider;
use sonde::Registry;
use sonde_export::PeriodicExporter;
use sonde_otlp::Otlp;

/// The demo's tracer provider and event log, exporting over OTLP when the
/// environment names an endpoint.
pub(crate) struct Telemetry {
    pub tracer: TracerProvider,
    pub events: EventLog,
    metrics: Option<PeriodicExporter>,
}

impl Telemetry {
    /// Reads the `OTEL_*` variables; `service` is the default service name.
    pub fn from_env(registry: &Registry, service: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let mut options = Otlp::from_env();
        let service =
            std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.trim().is_empty()).unwrap_or(service.into());
        let mut tracer = TracerProvider::builder().service_name(&service);
        let mut events = EventLog::builder();
        let mut metrics = None;
        if options.has_endpoint() {
            options = options.service_name(&service);
            let otlp = options.build()?;
            let batches = BatchOptions { delay: Duration::from_secs(1), ..BatchOptions::default() };
            tracer = tracer.processor(otlp.batch_processor(registry, batches)?);
            let logs = otlp.log_exporter()?;
            logs.register_metrics(registry)?;
            events = events.exporter(logs, batches);
            metrics = Some(otlp.periodic_metrics(registry.clone())?);
            crate::demo::say(&format!("sonde: exporting metrics, traces and events over OTLP ({})", describe()));
        }
        let events = events.build();
        events.register_metrics(registry)?;
        Ok(Self { tracer: tracer.build(), events, metrics })
    }

    /// Flushes and stops every OTLP exporter, within `timeout` each.
    pub fn shutdown(&self, timeout: Duration) {
        let _ = self.tracer.shutdown(timeout);
        let _ = self.events.shutdown(timeout);
        if let Some(m) = &self.metrics {
            let _ = m.stop(timeout);
        }
    }
}

fn describe() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoint = var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| "per-signal endpoints".into());
    let protocol = var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_else(|| "http/protobuf".into());
    format!("{endpoint}, {protocol}")
}
