//! OTLP for the binary: when the config's `[otlp]` section or the
//! `OTEL_EXPORTER_OTLP_*` variables name an endpoint, metrics, spans and
//! events also go to that receiver.

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
    /// Uses `configured` (the pipeline's `[otlp]`, which already exports
    /// metrics) or else the `OTEL_*` variables; `service` is the default
    /// service name.
    pub fn start(
        registry: &Registry,
        configured: Option<&Otlp>,
        service: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut options = Otlp::from_env();
        let service =
            std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.trim().is_empty()).unwrap_or(service.into());
        let mut tracer = TracerProvider::builder().service_name(&service);
        let mut events = EventLog::builder();
        let mut metrics = None;
        let from_env = match configured {
            Some(_) => None,
            None if options.has_endpoint() => {
                options = options.service_name(&service);
                Some(options.build()?)
            }
            None => None,
        };
        if let Some(otlp) = configured.or(from_env.as_ref()) {
            let batches = BatchOptions { delay: Duration::from_secs(1), ..BatchOptions::default() };
            tracer = tracer.processor(otlp.batch_processor(registry, batches)?);
            let logs = otlp.log_exporter()?;
            logs.register_metrics(registry)?;
            events = events.exporter(logs, batches);
            if from_env.is_some() {
                metrics = Some(otlp.periodic_metrics(registry.clone())?);
            }
            crate::demo::say("sonde: exporting metrics, traces and events over OTLP");
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
