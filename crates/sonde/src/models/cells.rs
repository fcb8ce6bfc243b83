//! The single-writer cells: the owner path, inflation by a second writer,
//! the shared stripe of high thread slots, and reset baselines.

use crate::metrics::bucket_cell::BucketCell;
use crate::metrics::sum_cell::SumCell;
use crate::sync::{thread, Arc};

/// Property: whichever thread claims the cell, however the others inflate
/// it, and whichever slots they get (with one single-writer stripe under
/// the model, the third writer lands on the shared stripe), every add is
/// counted exactly once, and a concurrent reader never sees more than was
/// added.
#[test]
fn owner_inflation_and_the_shared_stripe_keep_exact_totals() {
    super::check(|| {
        let cell = Arc::new(SumCell::new());
        let writers: Vec<_> = [1u64, 10, 100]
            .into_iter()
            .map(|n| {
                let cell = cell.clone();
                thread::spawn(move || {
                    cell.add_int(n);
                    cell.add_float(0.5);
                })
            })
            .collect();
        let seen = cell.int();
        assert!(seen <= 111 && [0, 1, 10, 100, 11, 101, 110, 111].contains(&seen), "read {seen}");
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(cell.int(), 111);
        assert_eq!(cell.float(), 1.5);
    });
}

/// Property: a reader concurrent with a reset never subtracts a baseline
/// larger than the total it read: a counter reads 0 or 1 here, never a
/// wrapped 2^64 - 1. (Reading the cell before the baseline broke this.)
#[test]
fn a_reset_never_makes_a_reader_subtract_more_than_it_read() {
    super::check(|| {
        let series = Arc::new(SumCell::new());
        let writer = {
            let s = series.clone();
            thread::spawn(move || s.add_int(1))
        };
        let resetter = {
            let s = series.clone();
            thread::spawn(move || s.reset())
        };
        let (int, _) = series.read();
        assert!(int <= 1, "read {int} (a wrapped subtraction)");
        writer.join().unwrap();
        resetter.join().unwrap();
        let (int, _) = series.read();
        assert!(int <= 1);
    });
}

/// Property: histogram observations from the owner, an inflating second
/// writer and pre-aggregated bucket counts all land in their buckets; the
/// count (the sum of the buckets) and the sum are exact.
#[test]
fn bucket_cell_observations_and_added_counts_are_exact() {
    super::check(|| {
        let cell = Arc::new(BucketCell::new(3));
        let a = {
            let c = cell.clone();
            thread::spawn(move || c.observe(0, 1.0))
        };
        let b = {
            let c = cell.clone();
            thread::spawn(move || c.observe(1, 2.0))
        };
        cell.add_counts(&[0, 0, 3], 30.0);
        a.join().unwrap();
        b.join().unwrap();
        let mut counts = [0u64; 3];
        let sum = cell.read_into(&mut counts);
        assert_eq!(counts, [1, 1, 3]);
        assert_eq!(sum, 33.0);
    });
}
