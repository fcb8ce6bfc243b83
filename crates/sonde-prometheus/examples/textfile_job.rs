//! A batch job that leaves its metrics for the node exporter's textfile
//! collector: it records while it works, then writes the file atomically
//! (a temporary file, fsync, rename), so a scrape never reads half a file.
//!
//! `cargo run -p sonde-prometheus --example textfile_job -- /tmp/job.prom`

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sonde::Registry;
use sonde_prometheus::write_textfile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(sonde_prometheus::default_textfile_path);
    let registry = Registry::builder().self_metrics(false).build()?;
    let processed = registry.counter("backup_files_total").help("Files backed up.").register()?;
    let bytes = registry.counter("backup_bytes_total").help("Bytes backed up.").register()?;
    let last_success =
        registry.gauge("backup_last_success_timestamp_seconds").help("When the last backup finished.").register()?;
    let duration = registry.gauge("backup_duration_seconds").help("How long the last backup took.").register()?;

    let started = Instant::now();
    for size in [1200u64, 5300, 870] {
        processed.inc();
        bytes.inc_by(size);
    }
    duration.set(started.elapsed().as_secs_f64());
    last_success.set(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64());

    write_textfile(&registry.snapshot(), &path)?;
    println!("wrote {}", path.display());
    Ok(())
}
