//! `SlimArc`: the reference-counted pointer behind every metric handle.
//!
//! An `Arc` keeps two word-sized counts (strong and weak) in front of its
//! value: 16 bytes per series that a labeled family with 100,000 series
//! pays 100,000 times, and that push a counter's 48 bytes of state into the
//! allocator's next size class. Metric handles never need weak references,
//! and a count of two billion handles to one series is far past any real
//! use, so `SlimArc` keeps one 32-bit count (8 bytes with the value's
//! alignment). Everything else is `Arc`'s protocol: a relaxed increment on
//! clone, a release decrement on drop and an acquire fence before the value
//! is dropped, an abort (as `Arc` does) if leaked clones push the count to
//! its limit.

use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering::*};

/// Clones past this abort the process (only handles leaked in a loop get
/// there), so the count never wraps to zero while handles are alive.
const MAX_COUNT: u32 = i32::MAX as u32;

/// Bytes in front of the value: the count, padded to the value's alignment
/// (8 for every metric's state).
pub(crate) const SLIM_ARC_HEADER: usize = 8;

#[repr(C)]
struct Inner<T> {
    count: AtomicU32,
    value: T,
}

/// A thread-safe reference-counted pointer with a 32-bit count and no weak
/// references.
pub(crate) struct SlimArc<T> {
    ptr: NonNull<Inner<T>>,
    /// Owns an `Inner<T>` (for drop check and auto traits' sake).
    _owns: PhantomData<Inner<T>>,
}

// SAFETY: as for `Arc`: the value is shared between threads (`Sync`) and
// dropped by whichever thread drops the last handle (`Send`).
unsafe impl<T: Send + Sync> Send for SlimArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for SlimArc<T> {}

impl<T> SlimArc<T> {
    /// Moves `value` into a new allocation with a count of one.
    pub(crate) fn new(value: T) -> Self {
        let inner = Box::new(Inner { count: AtomicU32::new(1), value });
        Self { ptr: NonNull::from(Box::leak(inner)), _owns: PhantomData }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the allocation lives while this handle holds its count.
        unsafe { self.ptr.as_ref() }
    }

    /// Handles to this value alive now (a test aid; racy like
    /// `Arc::strong_count`).
    #[cfg(test)]
    pub(crate) fn count(this: &Self) -> u32 {
        this.inner().count.load(Acquire)
    }
}

impl<T> Deref for SlimArc<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Clone for SlimArc<T> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as in `Arc`: a new handle is made from an existing one,
        // which already keeps the allocation alive.
        let before = self.inner().count.fetch_add(1, Relaxed);
        if before > MAX_COUNT {
            std::process::abort();
        }
        Self { ptr: self.ptr, _owns: PhantomData }
    }
}

impl<T> Drop for SlimArc<T> {
    #[inline]
    fn drop(&mut self) {
        if self.inner().count.fetch_sub(1, Release) != 1 {
            return;
        }
        // Every other handle's uses happen before their release decrements;
        // this fence orders them before the value is dropped.
        fence(Acquire);
        // SAFETY: the count reached zero, so this was the last handle; the
        // allocation came from `Box::new` in `SlimArc::new`.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Counts its drops, to check the value is dropped exactly once.
    struct Tally(Arc<AtomicUsize>);

    impl Drop for Tally {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn the_header_is_one_word() {
        assert_eq!(size_of::<Inner<u64>>(), SLIM_ARC_HEADER + 8);
        assert_eq!(size_of::<Inner<[u64; 6]>>(), SLIM_ARC_HEADER + 48);
        assert_eq!(size_of::<SlimArc<u64>>(), 8);
        assert_eq!(size_of::<Option<SlimArc<u64>>>(), 8);
    }

    #[test]
    fn the_value_is_dropped_once_with_the_last_handle() {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = SlimArc::new(Tally(drops.clone()));
        let b = a.clone();
        assert_eq!(SlimArc::count(&a), 2);
        drop(a);
        assert_eq!(drops.load(Relaxed), 0);
        drop(b);
        assert_eq!(drops.load(Relaxed), 1);
    }

    #[test]
    fn clones_and_drops_across_threads() {
        let drops = Arc::new(AtomicUsize::new(0));
        let shared = SlimArc::new(Tally(drops.clone()));
        let rounds = if cfg!(miri) { 50 } else { 10_000 };
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let mine = shared.clone();
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        drop(mine.clone());
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(SlimArc::count(&shared), 1);
        drop(shared);
        assert_eq!(drops.load(Relaxed), 1);
    }
}
