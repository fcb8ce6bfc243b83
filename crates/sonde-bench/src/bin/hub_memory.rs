//! Resident memory of `sonde serve` holding 100,000 series received over
//! StatsD (10 metric names × 10,000 tag values, within the per-family
//! cardinality limit), without any dashboard history.
//!
//! ```sh
//! cargo build --release -p sonde-cli
//! cargo run --release -p sonde-bench --bin hub-memory -- target/release/sonde
//! cargo run --release -p sonde-bench --bin hub-memory -- target/release/sonde --with-history
//! ```

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use sonde_testkit::{poll_until, Hub};

fn main() {
    let sonde =
        std::env::args().nth(1).filter(|a| !a.starts_with("--")).unwrap_or_else(|| "target/release/sonde".into());
    // Without the dashboard's history (the hub's own footprint), unless
    // `--with-history` asks for the default 200 MB budget.
    let with_history = std::env::args().any(|a| a == "--with-history");
    let config = std::env::temp_dir().join(format!("sonde-hub-memory-{}.toml", std::process::id()));
    std::fs::write(&config, if with_history { "" } else { "[hub]\nhistory_bytes = 0\n" }).unwrap();
    let hub = Hub::serve(&sonde, &["--config", config.to_str().unwrap()]);
    let tcp = hub.addr("statsd tcp").to_owned();
    std::thread::sleep(Duration::from_millis(500));
    let before = hub.rss_bytes() / 1024;
    let mut s = TcpStream::connect(&tcp).unwrap();
    let mut chunk = String::new();
    for m in 0..10 {
        for i in 0..10_000 {
            chunk.push_str(&format!("app.metric{m}:1|c|#instance:host-{i:05},method:GET\n"));
            if chunk.len() > 60_000 {
                s.write_all(chunk.as_bytes()).unwrap();
                chunk.clear();
            }
        }
    }
    s.write_all(chunk.as_bytes()).unwrap();
    drop(s);
    let series_count = || hub.sample("sonde_series") as u64;
    let series = poll_until(Duration::from_secs(60), || Some(series_count()).filter(|n| *n >= 100_000))
        .unwrap_or_else(series_count);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(&config).ok();
    if with_history {
        std::thread::sleep(Duration::from_millis(1500)); // a history tick or two
    }
    let after = hub.rss_bytes() / 1024;
    println!(
        "history: {}\nseries: {series}\nRSS before: {:.1} MiB\nRSS after: {:.1} MiB\nper series: {:.0} B",
        if with_history { "on (200 MB budget)" } else { "off" },
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / series.max(1) as f64
    );
}
