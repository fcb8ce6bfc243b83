//! Workloads shared by Sonde's benchmarks: the same 10,000-series registry
//! built in each library, and the shared-instrument measurement.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::Criterion;

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

/// One recording into a shared instrument, from any thread.
pub type AddFn = Arc<dyn Fn() + Send + Sync>;

/// Nanoseconds per recording when `threads` threads each record
/// `per_thread` times into one shared instrument (wall time / total).
pub fn shared_ns(threads: usize, per_thread: u64, add: AddFn) -> f64 {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (b, add) = (barrier.clone(), add.clone());
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..per_thread {
                    add();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    handles.into_iter().for_each(|h| h.join().unwrap());
    start.elapsed().as_nanos() as f64 / (threads as u64 * per_thread) as f64
}

/// One thread, then two, recording into one shared instrument of each peer
/// (criterion reports the wall time per recording: two threads scale
/// perfectly when it halves).
pub fn shared(c: &mut Criterion, group: &str, peers: Vec<(&str, AddFn)>) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for (name, add) in peers {
        for threads in [1, 2] {
            g.bench_function(format!("{name}/{threads}_threads"), |b| {
                b.iter_custom(|iters| {
                    let per = 2_000_000u64;
                    let ns = shared_ns(threads, per, add.clone());
                    // report time per add, scaled to criterion's iteration count
                    Duration::from_nanos((ns * iters as f64) as u64)
                })
            });
        }
    }
    g.finish();
}
