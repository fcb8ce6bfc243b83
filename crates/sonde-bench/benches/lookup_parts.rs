//! Where a labeled lookup's time goes (diagnostic, not a peer comparison).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_parts");
    let map: papaya::HashMap<(String, String), u64, foldhash::fast::RandomState> = papaya::HashMap::default();
    map.pin().insert(("GET".into(), "200".into()), 1);
    g.bench_function("papaya_guard_enter_leave", |b| b.iter(|| black_box(map.guard())));
    let guard = map.guard();
    let key = ("GET".to_owned(), "200".to_owned());
    g.bench_function("papaya_get_held_guard", |b| b.iter(|| black_box(map.get(black_box(&key), &guard))));
    g.bench_function("foldhash_two_strs", |b| {
        use std::hash::BuildHasher;
        let s = foldhash::fast::RandomState::default();
        b.iter(|| s.hash_one(black_box(("GET", "200"))))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = parts
}
criterion_main!(benches);
