//! The lock-free label index and its reclamation.

use crate::labels::LabelLookup;
use crate::registry::label_index::LabelIndex;
use crate::registry::reclaim::{self, ReadGuard};
use crate::sync::{thread, Arc};

fn lookup<'a>(values: &'a [&'a str]) -> LabelLookup<'a> {
    LabelLookup { prefix: &[], values }
}

/// Property: a reader that looks series up while a writer inserts (growing
/// the table: two slots under the model), removes a series and reclaims
/// never touches an entry or a table after it is freed (entries and tables
/// carry a loom cell that their freeing writes; an unordered read of it is
/// a causality violation), and finds each series with its own value or not
/// at all. After both finish, the index holds exactly the kept series.
#[test]
fn readers_never_touch_freed_entries_or_tables() {
    super::check(|| {
        let index = Arc::new(LabelIndex::<u64>::new());
        index.get_or_insert_with(&lookup(&["a"]), || 1, &ReadGuard::enter());
        let writer = {
            let index = index.clone();
            thread::spawn(move || {
                let guard = ReadGuard::enter();
                assert_eq!(*index.get_or_insert_with(&lookup(&["b"]), || 2, &guard), 2);
                drop(guard);
                assert_eq!(index.remove_where(|_, v| *v == 1), 1);
            })
        };
        let reader = {
            let index = index.clone();
            thread::spawn(move || {
                let guard = ReadGuard::enter();
                if let Some(v) = index.get(&lookup(&["a"]), &guard) {
                    assert_eq!(*v, 1);
                }
                if let Some(v) = index.get(&lookup(&["b"]), &guard) {
                    assert_eq!(*v, 2);
                }
            })
        };
        writer.join().unwrap();
        reader.join().unwrap();
        index.reclaim();
        let guard = ReadGuard::enter();
        assert_eq!(index.get(&lookup(&["a"]), &guard), None);
        assert_eq!(index.get(&lookup(&["b"]), &guard), Some(&2));
        assert_eq!(index.len(), 1);
    });
}

/// Property: two threads inserting the same new series concurrently end up
/// with one entry, and both get it.
#[test]
fn concurrent_inserts_of_one_series_make_one_entry() {
    super::check(|| {
        let index = Arc::new(LabelIndex::<u64>::new());
        let threads: Vec<_> = (0..2u64)
            .map(|t| {
                let index = index.clone();
                thread::spawn(move || *index.get_or_insert_with(&lookup(&["x"]), || t, &ReadGuard::enter()))
            })
            .collect();
        let got: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got[0], got[1]);
        assert_eq!(index.len(), 1);
    });
}

/// Property (the open question of `reclaim::init`): `init` returns only
/// once the barrier strategy is decided, whichever of two concurrent
/// callers decides it. Before the fix the second caller returned at once
/// while the first was still deciding, so its index could read with one
/// strategy while a writer freed with the other.
#[test]
fn init_returns_only_once_the_strategy_is_decided() {
    super::check(|| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                thread::spawn(|| {
                    reclaim::init();
                    assert!(reclaim::decided(), "init returned while the strategy was undecided");
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}
