//! The batch pipeline's queue handoff and shutdown.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::pipeline::{BatchOptions, Batcher};
use crate::sync::{thread, Arc, AtomicU64, Ordering};

/// A batcher whose export counts the items it was given.
fn counting_batcher(max_queue: usize) -> (Batcher<u32>, Arc<AtomicU64>) {
    let exported = Arc::new(AtomicU64::new(0));
    let options = BatchOptions { max_queue, max_batch: 16, delay: Duration::from_secs(3600) };
    let counted = exported.clone();
    let export = move |batch: &[u32]| {
        counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    };
    (Batcher::new("model", options, export, |b| drop(b), || {}), exported)
}

/// Property: nothing queued is lost without a count. A producer pushing
/// while the batcher shuts down gets each item either exported, refused
/// (counted as dropped) or, if it slipped in after the worker's last drain,
/// counted as dropped when the batcher stops or drops: exported plus
/// dropped equals what was pushed. (Before the leftover count, an item
/// queued in that window vanished.)
#[test]
fn every_pushed_item_is_exported_or_counted_dropped() {
    super::check(|| {
        let (batcher, exported) = counting_batcher(2);
        let batcher = Arc::new(batcher);
        let stats = batcher.stats_handle();
        let producer = {
            let batcher = batcher.clone();
            thread::spawn(move || {
                let _ = batcher.push(1);
                let _ = batcher.push(2);
            })
        };
        let _ = batcher.shutdown(Duration::from_secs(60));
        producer.join().unwrap();
        drop(batcher);
        let (exported, dropped) = (exported.load(Ordering::Relaxed), stats.dropped.load(Relaxed));
        assert_eq!(exported + dropped, 2, "exported {exported}, dropped {dropped}");
        assert_eq!(stats.exported.load(Relaxed), exported);
    });
}

/// Property: `flush` returns only after everything queued before it was
/// exported (the flush handshake through the worker's mutex and condvar).
#[test]
fn flush_waits_for_what_was_queued_before_it() {
    super::check(|| {
        let (batcher, exported) = counting_batcher(4);
        batcher.push(7).unwrap();
        batcher.flush(Duration::from_secs(60)).unwrap();
        assert_eq!(exported.load(Ordering::Relaxed), 1);
        batcher.shutdown(Duration::from_secs(60)).unwrap();
    });
}
