//! Snapshots written through the `log` facade, one line per series.

use sonde::{SeriesValue, Snapshot};

use crate::{Error, Exporter};

/// Logs every series at `info` (target `sonde::metrics`) in a readable
/// one-line form: `http_requests_total{method="GET"} 1027`, histograms as
/// `count=.. sum=.. mean=..`, summaries with their quantiles. Works with any
/// `log` backend (and with `tracing` through its `log` bridge).
#[derive(Debug, Default, Clone)]
pub struct LoggerExporter {
    level: Option<log::Level>,
}

impl LoggerExporter {
    /// Logs at `info`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logs at `level` instead.
    pub fn level(mut self, level: log::Level) -> Self {
        self.level = Some(level);
        self
    }
}

impl Exporter for LoggerExporter {
    fn name(&self) -> &str {
        "logger"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let level = self.level.unwrap_or(log::Level::Info);
        for f in &snapshot.families {
            let name = if f.kind == sonde::MetricKind::Counter { format!("{}_total", f.name) } else { f.name.clone() };
            for s in f.series() {
                let labels: Vec<String> = s.labels().map(|(k, v)| format!("{k}={v:?}")).collect();
                let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
                let value = match *s.value() {
                    SeriesValue::Counter { exact: Some(n), .. } => n.to_string(),
                    SeriesValue::Counter { value, .. } | SeriesValue::Gauge(value) => value.to_string(),
                    SeriesValue::Histogram { count, sum } => {
                        let mean = if count == 0 { f64::NAN } else { sum / count as f64 };
                        format!("count={count} sum={sum} mean={mean}")
                    }
                    SeriesValue::Summary { count, sum } => {
                        let qs: Vec<String> =
                            f.quantiles.iter().zip(s.quantiles()).map(|(q, v)| format!("p{q}={v}")).collect();
                        format!("count={count} sum={sum} {}", qs.join(" "))
                    }
                };
                log::log!(target: "sonde::metrics", level, "{name}{labels} {value}");
            }
        }
        Ok(())
    }
}
