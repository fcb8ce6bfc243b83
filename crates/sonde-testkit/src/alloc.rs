//! A counting allocator, for tests that a path allocates nothing.
//!
//! Declare it in the test binary, then count around the calls:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: sonde_testkit::alloc::Counting = sonde_testkit::alloc::Counting;
//!
//! assert_eq!(sonde_testkit::alloc::allocations(|_| counter.inc()), 0);
//! ```
//!
//! The count is per thread, so tests running in parallel do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting this thread's allocations and
/// reallocations.
pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator, which
// upholds `GlobalAlloc`'s contract; counting touches only a thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's `layout` contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` above, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as in `dealloc`; the size contract is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` 10,000 times (with the iteration number) and returns how many
/// allocations this thread made meanwhile; counts only with [`Counting`]
/// as the global allocator.
pub fn allocations(mut f: impl FnMut(u64)) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..10_000 {
        f(i);
    }
    ALLOCATIONS.with(Cell::get) - before
}

#[cfg(test)]
mod tests {
    #[global_allocator]
    static GLOBAL: super::Counting = super::Counting;

    /// Guards every no-allocation test against one that cannot fail.
    #[test]
    fn allocations_are_counted() {
        assert!(super::allocations(|i| drop(std::hint::black_box(vec![i]))) >= 10_000);
    }
}
