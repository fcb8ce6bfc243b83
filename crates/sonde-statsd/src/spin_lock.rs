//! The lock on a thread's datagram: taken by its thread with one attempt
//! (never waiting) and by the sender, which spins for the few nanoseconds
//! a line takes. Unlike `std::sync::Mutex` it has no waiters to wake, so
//! releasing it is a plain store rather than a second atomic
//! read-modify-write on every line.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering::*};

/// A value behind a try-or-spin lock.
#[derive(Default)]
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a `Guard`, and at most one
// guard exists at a time (the `locked` flag, taken with Acquire and given
// back with Release, orders each holder's accesses after the previous
// holder's); so sharing the lock shares `T` only by moving access between
// threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Access to the locked value; releases the lock when dropped.
pub(crate) struct Guard<'a, T>(&'a SpinLock<T>);

impl<T> SpinLock<T> {
    /// The lock if it is free now.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
        self.locked.compare_exchange(false, true, Acquire, Relaxed).ok().map(|_| Guard(self))
    }

    /// The lock, spinning (then yielding) while another holder has it.
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        let mut spins = 0u32;
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            while self.locked.load(Relaxed) {
                spins += 1;
                if spins < 128 {
                    std::hint::spin_loop();
                } else {
                    // The holder was descheduled (or is sending a datagram).
                    std::thread::yield_now();
                }
            }
        }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock (see `Sync` above).
        unsafe { &*self.0.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock (see `Sync` above), and `&mut
        // self` makes this the only reference through it.
        unsafe { &mut *self.0.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.0.locked.store(false, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads adding through the lock (one trying, one spinning) lose
    /// no update, and a held lock cannot be tried.
    #[test]
    fn excludes_and_loses_nothing() {
        let lock = SpinLock::<u64>::default();
        let held = lock.try_lock().unwrap();
        assert!(lock.try_lock().is_none());
        drop(held);
        let rounds = if cfg!(miri) { 200 } else { 200_000 };
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut done = 0;
                while done < rounds {
                    if let Some(mut v) = lock.try_lock() {
                        *v += 1;
                        done += 1;
                    }
                }
            });
            s.spawn(|| {
                for _ in 0..rounds {
                    *lock.lock() += 1;
                }
            });
        });
        assert_eq!(*lock.lock(), 2 * rounds);
    }
}
