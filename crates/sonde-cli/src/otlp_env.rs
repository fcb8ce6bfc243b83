//! OTLP from the standard `OTEL_EXPORTER_OTLP_*` variables, for the binary
//! (when the configuration has no `[otlp]` section).

use sonde_otlp::Otlp;

/// The OTLP configuration the environment describes, if it names an
/// endpoint; `service` is the `service.name` unless `OTEL_SERVICE_NAME` is set.
pub(crate) fn from_env(service: &str) -> Result<Option<Otlp>, sonde_otlp::Error> {
    let options = Otlp::from_env();
    if !options.has_endpoint() {
        return Ok(None);
    }
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|s| !s.trim().is_empty());
    let options = if named { options } else { options.service_name(service) };
    options.build().map(Some)
}
