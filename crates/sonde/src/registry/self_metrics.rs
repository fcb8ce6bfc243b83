//! `sonde_*` families that report the registry's own work and losses.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::family::Collect;
use super::RegistryInner;
use crate::metrics::DropReason;
use crate::snapshot::{FamilySnapshot, SeriesValue};
use crate::MetricKind;

fn counter(v: u64) -> SeriesValue {
    SeriesValue::Counter { value: v as f64, exact: Some(v) }
}

fn family(name: &str, help: &str, kind: MetricKind, labels: &[&str]) -> FamilySnapshot {
    let names: Vec<Box<str>> = labels.iter().map(|l| (*l).into()).collect();
    FamilySnapshot::new(name, help, None, kind, names.into())
}

pub(super) fn append(out: &mut Vec<FamilySnapshot>, families: &[Arc<dyn Collect>], inner: &RegistryInner) {
    let series: usize = out.iter().map(|f| f.len()).sum();

    let mut f = family("sonde_collections", "Snapshots taken of this registry.", MetricKind::Counter, &[]);
    f.push([], counter(inner.collections.load(Relaxed)), None, &[], &[]);
    out.push(f);

    let mut f = family(
        "sonde_collection_duration_seconds",
        "Duration of the previous snapshot of this registry.",
        MetricKind::Gauge,
        &[],
    );
    f.push([], SeriesValue::Gauge(inner.last_collection_ns.load(Relaxed) as f64 / 1e9), None, &[], &[]);
    out.push(f);

    let mut f = family("sonde_metric_families", "Metric families registered.", MetricKind::Gauge, &[]);
    f.push([], SeriesValue::Gauge(families.len() as f64), None, &[], &[]);
    out.push(f);

    let mut f = family("sonde_series", "Series in this registry, self-metrics excluded.", MetricKind::Gauge, &[]);
    f.push([], SeriesValue::Gauge(series as f64), None, &[], &[]);
    out.push(f);

    let bytes: usize = families.iter().map(|f| f.collected_bytes()).sum();
    let mut f = family(
        "sonde_series_bytes",
        "Estimated heap bytes of this registry's series (label keys, index and cells), self-metrics excluded.",
        MetricKind::Gauge,
        &[],
    );
    f.push([], SeriesValue::Gauge(bytes as f64), None, &[], &[]);
    out.push(f);

    let mut f = family(
        "sonde_series_refused",
        "New series refused because the registry held its max_series (sent to the family's overflow series).",
        MetricKind::Counter,
        &[],
    );
    f.push([], counter(inner.series.refused.load(Relaxed)), None, &[], &[]);
    out.push(f);

    let mut f = family(
        "sonde_dropped_values",
        "Values dropped on the recording path (process-wide), by reason.",
        MetricKind::Counter,
        &["reason"],
    );
    for r in DropReason::ALL {
        f.push([r.as_str()], counter(r.count()), None, &[], &[]);
    }
    out.push(f);

    let resizes = crate::metrics::native_cell::RESIZES.load(Relaxed);
    if resizes > 0 {
        let mut f = family(
            "sonde_native_bucket_resizes",
            "Native bucket windows widened (process-wide): each is one allocation on the recording path.",
            MetricKind::Counter,
            &[],
        );
        f.push([], counter(resizes), None, &[], &[]);
        out.push(f);
    }

    let mut over = family(
        "sonde_cardinality_overflow",
        "Lookups sent to a family's overflow series (limit reached or invalid labels).",
        MetricKind::Counter,
        &["metric"],
    );
    let mut expired = family(
        "sonde_series_expired",
        "Series removed after their time-to-live without change.",
        MetricKind::Counter,
        &["metric"],
    );
    for (fam, snap) in families.iter().zip(out.iter()) {
        if fam.overflowed() > 0 {
            over.push([snap.name.as_str()], counter(fam.overflowed()), None, &[], &[]);
        }
        if fam.expired() > 0 {
            expired.push([snap.name.as_str()], counter(fam.expired()), None, &[], &[]);
        }
    }
    over.sort();
    expired.sort();
    out.push(over);
    out.push(expired);
}
