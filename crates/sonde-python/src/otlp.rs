//! Whether the `OTEL_*` environment asks for OTLP export of a signal.

use pyo3::prelude::*;

use crate::instrument::value_error;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The OTLP configuration of the environment when it asks for `signal`
/// (`TRACES`, `LOGS`, `METRICS`) to be exported: an endpoint for all
/// signals or this one, or `exporter_var` (`OTEL_TRACES_EXPORTER`...) set to
/// `otlp`; None when it does not, when `exporter_var` is `none` or when
/// `OTEL_SDK_DISABLED` is `true`.
pub(crate) fn from_env(
    service_name: Option<&str>,
    exporter_var: &str,
    signal: &str,
) -> PyResult<Option<sonde_otlp::Otlp>> {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let chosen = var(exporter_var).map(|v| v.trim().to_ascii_lowercase());
    if chosen.as_deref() == Some("none") {
        return Ok(None);
    }
    let configured = var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || var(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")).is_some()
        || chosen.as_deref() == Some("otlp");
    if !configured {
        return Ok(None);
    }
    let mut builder = sonde_otlp::Otlp::from_env();
    if let Some(name) = service_name {
        builder = builder.service_name(name);
    }
    builder.build().map(Some).map_err(value_error)
}
