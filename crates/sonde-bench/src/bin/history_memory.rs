//! Resident memory of the dashboard's history with 100,000 series over
//! fifteen minutes (900 one-second ticks), against its own estimate.
//!
//! `cargo run --release -p sonde-bench --bin history-memory`

use sonde_dashboard::{History, Sample, DEFAULT_HISTORY_BYTES};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut samples: Vec<Sample> = (0..100_000)
        .map(|i| Sample {
            id: format!("http_requests_total{{instance=\"host-{:05}\",method=\"GET\"}}", i),
            family: "http_requests".into(),
            value: 0.0,
        })
        .collect();
    let before = rss_kib();
    let history = History::new(DEFAULT_HISTORY_BYTES);
    let started = std::time::Instant::now();
    for tick in 0..900u64 {
        for (i, s) in samples.iter_mut().enumerate() {
            s.value = (tick * 7 + i as u64) as f64;
        }
        history.record(1_000 * (tick + 1), &samples);
    }
    let elapsed = started.elapsed();
    let after = rss_kib();
    let (series, untracked, estimate) = history.usage();
    let points = history.points(&samples[42].id);
    println!(
        "series: {series} (untracked {untracked})\nRSS growth: {:.1} MiB\nestimate: {:.1} MiB\n\
         points kept per series: {}\nrecording one tick of 100,000 series: {:.1} ms",
        (after - before) as f64 / 1024.0,
        estimate as f64 / (1 << 20) as f64,
        points.t.len(),
        elapsed.as_secs_f64() * 1000.0 / 900.0
    );
}
