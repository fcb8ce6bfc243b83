//! Many threads on the same instruments end with exact totals.

use std::sync::{Arc, Barrier};

use sonde::{Buckets, NativeBuckets, Registry};

const THREADS: usize = 8;
const PER_THREAD: u64 = 200_000;

fn hammer(f: impl Fn(usize, u64) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, b) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                for i in 0..PER_THREAD {
                    f(t, i);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
}

#[test]
fn counter_total_is_exact() {
    let r = Registry::new();
    let c = r.counter("hits_total").register().unwrap();
    let c2 = c.clone();
    hammer(move |_, _| c2.inc());
    assert_eq!(c.exact(), Some(THREADS as u64 * PER_THREAD));
}

#[test]
fn labeled_family_totals_are_exact() {
    let r = Registry::new();
    let f = r.counter("req_total").labels(["method", "code"]).register().unwrap();
    let f2 = f.clone();
    hammer(move |t, i| {
        let code = if i % 2 == 0 { "200" } else { "500" };
        f2.with(&[if t % 2 == 0 { "GET" } else { "PUT" }, code]).inc();
    });
    let per_series = THREADS as u64 / 2 * PER_THREAD / 2;
    for m in ["GET", "PUT"] {
        for c in ["200", "500"] {
            assert_eq!(f.with(&[m, c]).exact(), Some(per_series), "{m} {c}");
        }
    }
    assert_eq!(f.len(), 4);
}

#[test]
fn histogram_totals_are_exact() {
    let r = Registry::new();
    let h = r.histogram("lat_seconds").buckets(Buckets::new([0.5, 1.0]).unwrap()).register().unwrap();
    let h2 = h.clone();
    hammer(move |_, i| h2.observe(if i % 4 == 0 { 2.0 } else { 0.25 }));
    let s = h.snapshot();
    let n = THREADS as u64 * PER_THREAD;
    assert_eq!(s.count, n);
    assert_eq!(s.cumulative, vec![n / 4 * 3, n / 4 * 3, n]);
    assert_eq!(s.sum, (n / 4) as f64 * 2.0 + (n / 4 * 3) as f64 * 0.25);
}

#[test]
fn concurrent_series_creation_converges() {
    let r = Registry::new();
    let f = r.gauge("g").labels(["k"]).register().unwrap();
    let f2 = f.clone();
    hammer(move |_, i| f2.with(&[&(i % 1000).to_string()]).inc());
    assert_eq!(f.len(), 1000);
    let total: f64 = (0..1000).map(|k| f.with(&[&k.to_string()]).value()).sum();
    assert_eq!(total, (THREADS as u64 * PER_THREAD) as f64);
}

#[test]
fn snapshots_during_writes_never_see_count_and_buckets_disagree() {
    let r = Registry::new();
    let h = r.histogram("h").register().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (h, stop) = (h.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    h.observe(0.3);
                }
            })
        })
        .collect();
    for _ in 0..200 {
        let snap = r.snapshot();
        let s = snap.family("h").unwrap().series().next().unwrap().histogram().unwrap();
        assert_eq!(s.count, *s.cumulative.last().unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writers.into_iter().for_each(|w| w.join().unwrap());
}

/// More live threads than single-writer stripes: high thread slots must not
/// share a stripe with a thread that writes it without atomics.
#[test]
fn more_threads_than_stripes_keep_exact_totals() {
    const MANY: usize = 48;
    let r = Registry::new();
    let c = r.counter("many_total").register().unwrap();
    let h = r.histogram("many_seconds").buckets(Buckets::new([1.0]).unwrap()).register().unwrap();
    let native = r.histogram("many_native").buckets(Buckets::native(NativeBuckets::new())).register().unwrap();
    let barrier = Arc::new(Barrier::new(MANY));
    let threads: Vec<_> = (0..MANY)
        .map(|_| {
            let (c, h, n, b) = (c.clone(), h.clone(), native.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait(); // all MANY threads hold a slot at once
                for i in 0..50_000u32 {
                    c.inc();
                    h.observe(0.5);
                    // wandering over twenty powers of two: rows resize while others add
                    n.observe(f64::from(1 + i % 1000) * 1e-3 * f64::from(1 << (i % 20)));
                }
                b.wait();
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(c.exact(), Some(MANY as u64 * 50_000));
    assert_eq!(h.snapshot().count, MANY as u64 * 50_000);
    let n = native.native().unwrap();
    assert_eq!(n.count, MANY as u64 * 50_000);
    assert_eq!(n.positive.total(), n.count);
    assert!(n.bucket_span() <= 160);
}

#[test]
fn native_histogram_totals_are_exact() {
    let r = Registry::new();
    let h = r.histogram("lat_native").buckets(Buckets::native(NativeBuckets::new())).register().unwrap();
    let h2 = h.clone();
    hammer(move |t, i| {
        h2.observe(if i.is_multiple_of(5) { 0.0 } else { (t as f64 + 1.0) * 0.25 * (1 + i % 64) as f64 })
    });
    let n = h.native().unwrap();
    let total = THREADS as u64 * PER_THREAD;
    assert_eq!(n.count, total);
    assert_eq!(n.zero_count, total / 5);
    assert_eq!(n.zero_count + n.positive.total(), total);
    let expected: f64 = (0..THREADS)
        .map(|t| {
            (0..PER_THREAD).filter(|i| i % 5 != 0).map(|i| (t as f64 + 1.0) * 0.25 * (1 + i % 64) as f64).sum::<f64>()
        })
        .sum();
    assert_eq!(n.sum, expected, "quarters sum exactly in any order");
    assert_eq!(h.snapshot().count, total);
}

/// Series removed and recreated while eight threads look them up and
/// record, with collections reclaiming what was unlinked: no crash and no
/// read of freed memory (`scripts/sanitize.sh` runs this under
/// AddressSanitizer), and the family ends with at most the keys in use.
#[test]
fn removal_and_reclamation_race_lookups_safely() {
    let r = Registry::new();
    let f = r.counter("churn_total").labels(["key"]).register().unwrap();
    let (f2, r2) = (f.clone(), r.clone());
    const KEYS: [&str; 4] = ["a", "b", "c", "d"];
    hammer(move |t, i| {
        f2.with(&[KEYS[(i as usize + t) % 4]]).inc();
        if t == 0 && i % 64 == 0 {
            f2.remove(&[KEYS[(i / 64) as usize % 4]]);
        }
        if t == 1 && i % 1024 == 0 {
            r2.snapshot();
        }
    });
    assert!(f.len() <= KEYS.len());
    let snap = r.snapshot();
    assert_eq!(snap.family("churn").unwrap().series().count(), f.len());
}
