//! A strict registry: only the metrics declared up front may be created, so
//! a typo or a wrong kind at a call site is an error instead of a new series.
//!
//! `cargo run -p sonde --example strict_registry`

use sonde::{MetricKind, MetricSpec, Registry};

fn main() -> Result<(), sonde::Error> {
    let registry = Registry::strict([
        MetricSpec::new("jobs_total", MetricKind::Counter, "Jobs run."),
        MetricSpec::new("job_duration", MetricKind::Histogram, "Job time.").unit("seconds"),
        MetricSpec::new("queue_depth", MetricKind::Gauge, "Jobs waiting."),
    ])?;
    // Help and unit come from the spec; the unit becomes the name's suffix.
    let jobs = registry.counter("jobs_total").register()?;
    let duration = registry.histogram("job_duration").register()?;
    jobs.inc();
    duration.observe(0.25);

    let typo = registry.counter("jobs_totl").register();
    println!("undeclared: {}", typo.unwrap_err());
    let wrong_kind = registry.counter("queue_depth").register();
    println!("wrong kind: {}", wrong_kind.unwrap_err());

    print!("{}", sonde::encode::prometheus_text(&registry.snapshot()));
    Ok(())
}
