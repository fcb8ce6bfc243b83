//! Workloads shared by Sonde's benchmarks: the same 10,000-series registry
//! built in each library.

/// Families per kind and series per family: 40 counter, 40 gauge and 20
/// histogram families of 100 series = 10,000 series.
pub const COUNTER_FAMILIES: usize = 40;
/// Gauge families.
pub const GAUGE_FAMILIES: usize = 40;
/// Histogram families.
pub const HISTOGRAM_FAMILIES: usize = 20;
/// Series in each family.
pub const SERIES_PER_FAMILY: usize = 100;

/// The label values of series `i`: (`instance-<i>`, `GET`/`POST`).
pub fn labels(i: usize) -> (String, &'static str) {
    (format!("instance-{i}"), if i.is_multiple_of(2) { "GET" } else { "POST" })
}
