//! StatsD client cost per line, from one thread: Sonde against cadence.

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::Duration;

use cadence::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};

fn statsd(c: &mut Criterion) {
    // A receiver nobody reads: the kernel drops what does not fit, sends succeed.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sink.local_addr().unwrap();
    let mut g = c.benchmark_group("statsd_line");

    // Lines delivered, not calls made: chunks of calls, each followed by a
    // flush that returns once every queued line is on the socket.
    const CHUNK: u64 = 10_000;
    let sonde = sonde_statsd::StatsdClient::builder("127.0.0.1", addr.port()).prefix("app").build().unwrap();
    g.bench_function("sonde", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                for _ in 0..n {
                    sonde.incr(black_box("requests"), 1, 1.0);
                }
                assert!(sonde.flush(Duration::from_secs(10)));
                left -= n;
            }
            start.elapsed()
        })
    });
    assert_eq!(sonde.stats().dropped.load(std::sync::atomic::Ordering::Relaxed), 0, "every line was delivered");

    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    let buffered = cadence::BufferedUdpMetricSink::from(addr, socket).unwrap();
    let cad = cadence::StatsdClient::from_sink("app", buffered);
    g.bench_function("cadence_buffered", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                for _ in 0..n {
                    cad.incr(black_box("requests")).unwrap();
                }
                cad.flush().unwrap();
                left -= n;
            }
            start.elapsed()
        })
    });

    g.finish();
}

/// The hub's side: lines folded into a registry per second, one thread, in
/// datagrams of 10 realistic lines (tagged counters, timers, gauges, a set).
fn ingest(c: &mut Criterion) {
    let ingest = sonde_statsd::StatsdIngest::new(sonde::Registry::new(), sonde::Buckets::default_seconds()).unwrap();
    let datagram = "api.requests:1|c|#route:/orders,code:200\n\
                    api.latency:12.5|ms|#route:/orders\n\
                    api.requests:1|c|#route:/users,code:200\n\
                    api.latency:3.1|ms|#route:/users\n\
                    queue.depth:17|g\n\
                    api.requests:1|c|#route:/orders,code:500\n\
                    api.latency:250|ms|#route:/orders\n\
                    jobs.done:3|c\n\
                    queue.depth:-2|g\n\
                    users.online:alice|s";
    ingest.ingest(datagram);
    let mut g = c.benchmark_group("statsd_ingest");
    g.throughput(criterion::Throughput::Elements(10));
    g.bench_function("sonde_10_lines", |b| b.iter(|| ingest.ingest(black_box(datagram))));

    // The same with the hub's store on: another thread samples the
    // registry into a sample store on disk, ten times a second (the hub
    // does it once a second), among 10,000 other series.
    let registry = sonde::Registry::new();
    let stored = sonde_statsd::StatsdIngest::new(registry.clone(), sonde::Buckets::default_seconds()).unwrap();
    let others: String = (0..10_000).map(|i| format!("other.gauge:{i}|g|#n:{i}\n")).collect();
    stored.ingest(&others);
    stored.ingest(datagram);
    let dir = tempfile::tempdir().unwrap();
    let store = sonde_hub::store::SampleStore::open(dir.path(), Default::default()).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (registry, store, stop) = (registry.clone(), store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut t = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                t += 100;
                let samples = sonde_dashboard::samples(&registry.snapshot());
                store.append(t, samples.iter().map(|s| (s.family.as_str(), s.id.as_str(), s.value)));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    g.bench_function("sonde_10_lines_store_sampling", |b| b.iter(|| stored.ingest(black_box(datagram))));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = statsd, ingest
}
criterion_main!(benches);
