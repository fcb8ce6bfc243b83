//! Small per-thread integers ("slots") that make single-writer cells possible.
//!
//! Every live thread that records a metric gets a slot number, unique among
//! the live threads and reused after a thread exits. A cell owned by slot `s`
//! is written only by the thread holding `s`, so that thread can update it
//! with a plain load and store instead of an atomic read-modify-write.
//!
//! Hand-over is safe: a slot is released in a thread-local destructor and
//! taken by the next thread through a mutex, which orders the old owner's last
//! store before the new owner's first load.

use std::cell::Cell;

use crate::sync::Mutex;

/// The value of a thread that has no slot: its thread-locals are being torn
/// down. Such a thread takes the shared (atomic read-modify-write) path.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Slot numbers handed out so far, and those freed by exited threads.
struct SlotPool {
    next: u32,
    free: Vec<u32>,
}

#[cfg(not(loom))]
static POOL: Mutex<SlotPool> = Mutex::new(SlotPool { next: 0, free: Vec::new() });

#[cfg(not(loom))]
thread_local! {
    /// `slot + 1`, or 0 before the thread first asks, or `NO_SLOT` after release.
    static SLOT_PLUS_ONE: Cell<u32> = const { Cell::new(0) };
    /// Releases the slot when the thread exits.
    static RELEASE: SlotRelease = const { SlotRelease };
}

// Under the model: the same, but per model execution and per loom thread.
#[cfg(loom)]
loom::lazy_static! {
    static ref POOL: Mutex<SlotPool> = Mutex::new(SlotPool { next: 0, free: Vec::new() });
}

#[cfg(loom)]
loom::thread_local! {
    static SLOT_PLUS_ONE: Cell<u32> = Cell::new(0);
    static RELEASE: SlotRelease = SlotRelease;
}

struct SlotRelease;

impl Drop for SlotRelease {
    fn drop(&mut self) {
        let held = SLOT_PLUS_ONE.try_with(|s| s.replace(NO_SLOT)).unwrap_or(NO_SLOT);
        if held != 0 && held != NO_SLOT {
            release(held - 1);
        }
    }
}

fn release(slot: u32) {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    pool.free.push(slot);
}

/// The calling thread's slot, or [`NO_SLOT`].
///
/// Costs one thread-local read after the first call on a thread.
#[inline(always)]
pub(crate) fn current() -> u32 {
    match SLOT_PLUS_ONE.try_with(Cell::get) {
        Ok(0) => assign(),
        Ok(NO_SLOT) | Err(_) => NO_SLOT,
        Ok(s) => s - 1,
    }
}

#[cold]
fn assign() -> u32 {
    let slot = {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        match pool.free.pop() {
            Some(s) => s,
            None => {
                let s = pool.next;
                // Leave room for the NO_SLOT sentinel and the +1 encoding.
                if s >= NO_SLOT - 1 {
                    return NO_SLOT;
                }
                pool.next += 1;
                s
            }
        }
    };
    // Registering the destructor fails only while the thread is exiting.
    if RELEASE.try_with(|_| ()).is_err() {
        release(slot);
        let _ = SLOT_PLUS_ONE.try_with(|s| s.set(NO_SLOT));
        return NO_SLOT;
    }
    let _ = SLOT_PLUS_ONE.try_with(|s| s.set(slot + 1));
    slot
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::{Arc, Barrier};

    #[test]
    fn slot_is_stable_on_a_thread() {
        let a = current();
        assert_ne!(a, NO_SLOT);
        assert_eq!(a, current());
    }

    #[test]
    fn live_threads_have_distinct_slots() {
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || {
                    let s = current();
                    b.wait(); // all threads alive at once
                    s
                })
            })
            .collect();
        let slots: HashSet<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(slots.len(), n);
    }

    #[test]
    fn exited_threads_return_their_slot() {
        let before = std::thread::spawn(current).join().unwrap();
        // The slot came back to the pool; some later thread gets a pooled slot
        // rather than the pool growing without bound.
        let later: Vec<u32> = (0..16).map(|_| std::thread::spawn(current).join().unwrap()).collect();
        let max_seen = later.iter().copied().max().unwrap();
        assert!(max_seen <= before + 16 + 8, "slots are recycled");
    }
}
