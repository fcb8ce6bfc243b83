//! Thread slots: unique among live threads, reused after a thread exits.

use crate::metrics::sum_cell::SumCell;
use crate::metrics::thread_slot::{self, NO_SLOT};
use crate::sync::{thread, Arc, Mutex};

/// Property: live threads hold distinct slots; a slot released when its
/// thread exits may go to a later thread, which then owns the cells the old
/// thread owned and updates them with plain stores, yet no add is lost: the
/// slot pool's mutex orders the old owner's last store before the new
/// owner's first load.
#[test]
fn a_reused_slot_inherits_its_cells_without_losing_adds() {
    super::check(|| {
        let cell = Arc::new(SumCell::new());
        let live = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (cell, live) = (cell.clone(), live.clone());
                thread::spawn(move || {
                    let me = thread_slot::current();
                    assert_ne!(me, NO_SLOT);
                    {
                        let mut live = live.lock().unwrap();
                        assert!(!live.contains(&me), "slot {me} held by two live threads");
                        live.push(me);
                    }
                    cell.add_int(1);
                    cell.add_int(1);
                    live.lock().unwrap().retain(|s| *s != me);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(cell.int(), 4);
    });
}
