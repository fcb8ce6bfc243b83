//! The hub's query endpoint's work on untrusted input: any text as a
//! PromQL query, parsed, then evaluated as an instant and a range query
//! over a few series with tight limits. It must return a value or an
//! error, never panic, hang or grow without bound.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sonde_promql::{Engine, EngineOptions, Labels, MemorySource};

fn source() -> &'static MemorySource {
    static SOURCE: OnceLock<MemorySource> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let mut source = MemorySource::new();
        let series = [
            r#"http_requests_total{job="api",code="200"}"#,
            r#"http_requests_total{job="api",code="500"}"#,
            r#"latency_seconds_bucket{job="api",le="0.1"}"#,
            r#"latency_seconds_bucket{job="api",le="+Inf"}"#,
            r#"up{job="api"}"#,
        ];
        for (n, id) in series.iter().enumerate() {
            let labels = Labels::parse_series(id).unwrap();
            for i in 0..60i64 {
                source.push(&labels, i * 15_000, (i * (n as i64 + 1)) as f64);
            }
        }
        source
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(_) = sonde_promql::parse(query) else { return };
    let engine = Engine::new(EngineOptions {
        max_samples: 200_000,
        timeout: Duration::from_millis(500),
        max_points: 1_000,
        ..EngineOptions::default()
    });
    let _ = engine.instant(source(), query, 600_000);
    let _ = engine.range(source(), query, 0, 900_000, 30_000);
});
