//! Pushes a registry's contents as StatsD lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sonde::{SeriesValue, Snapshot};
use sonde_export::{Error, Exporter};

use crate::{Kind, StatsdClient};

/// Sends a snapshot as StatsD: counters as the increase since the previous
/// export (the whole total the first time a series is seen, so totals are
/// exact), gauges and up-down counters as gauges, histograms and timers as
/// `<name>.count` and `<name>.sum` increases, summaries as those plus one
/// gauge per quantile (`<name>.p50`...). Labels become DogStatsD tags, or
/// with `tags(false)` are appended to the name as segments in StatsD's name
/// alphabet (`name.GET.200`; `/api/orders` becomes `_api_orders`: each run
/// of characters outside `[A-Za-z0-9_.-]` is one `_`, and empty segments are
/// dropped). Lines go through the client's batching; each export ends with a
/// flush.
///
/// Drive it with `sonde_export::PeriodicExporter`.
pub struct StatsdExporter {
    client: StatsdClient,
    tags: bool,
    rate: f64,
    /// Last exported value per series key (counters, counts, sums).
    last: Mutex<HashMap<String, f64>>,
}

impl StatsdExporter {
    /// Exports through `client`, with labels as DogStatsD tags.
    pub fn new(client: StatsdClient) -> Self {
        Self { client, tags: true, rate: 1.0, last: Mutex::new(HashMap::new()) }
    }

    /// Client-side sample rate of every line (default 1). StatsD servers
    /// scale sampled counts back by `1/rate`, so totals stay unbiased.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.rate = rate.clamp(f64::MIN_POSITIVE, 1.0);
        self
    }

    /// Whether labels become tags (default) or name parts (plain StatsD).
    pub fn tags(mut self, on: bool) -> Self {
        self.tags = on;
        self
    }
}

impl Exporter for StatsdExporter {
    fn name(&self) -> &str {
        "statsd"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = HashMap::with_capacity(last.len());
        for f in &snapshot.families {
            for s in f.series() {
                let labels: Vec<(&str, &str)> = s.labels().collect();
                let (name, tags): (String, &[(&str, &str)]) = if self.tags {
                    (f.name.clone(), &labels)
                } else {
                    let mut n = f.name.clone();
                    for (_, v) in &labels {
                        crate::line::push_name_segments(&mut n, v);
                    }
                    (n, &[])
                };
                let key = |suffix: &str| {
                    let mut k = format!("{}{suffix}", f.name);
                    for (lk, lv) in &labels {
                        k.push_str(&format!("\u{0}{lk}={lv}"));
                    }
                    k
                };
                let mut delta = |suffix: &str, total: f64| {
                    let k = key(suffix);
                    let previous = last.get(&k).copied().unwrap_or(0.0);
                    // A total below the last one means a reset: send it whole.
                    let d = if total >= previous { total - previous } else { total };
                    seen.insert(k, total);
                    d
                };
                match *s.value() {
                    SeriesValue::Counter { value, .. } => {
                        let d = delta("", value);
                        if d > 0.0 {
                            self.client.send_tagged(&name, d, Kind::Counter, self.rate, tags);
                        }
                    }
                    SeriesValue::Gauge(v) => self.client.gauge_tagged(&name, v, self.rate, tags),
                    SeriesValue::Histogram { count, sum } | SeriesValue::Summary { count, sum } => {
                        let dc = delta(".count", count as f64);
                        let ds = delta(".sum", sum);
                        if dc > 0.0 {
                            self.client.send_tagged(&format!("{name}.count"), dc, Kind::Counter, self.rate, tags);
                            self.client.send_tagged(&format!("{name}.sum"), ds, Kind::Counter, self.rate, tags);
                        }
                        for (q, v) in f.quantiles.iter().zip(s.quantiles()).filter(|(_, v)| !v.is_nan()) {
                            let pct = format!("{name}.p{}", (q * 100.0).round() as u32);
                            self.client.gauge_tagged(&pct, *v, self.rate, tags);
                        }
                    }
                }
            }
        }
        *last = seen;
        drop(last);
        if self.client.flush(Duration::from_secs(5)) {
            Ok(())
        } else {
            Err(Error::Other { exporter: "statsd".into(), message: "flush timed out".into(), retryable: true })
        }
    }
}
