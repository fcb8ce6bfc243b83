//! The synchronisation primitives the core's concurrent structures are
//! written against: `std`'s, or loom's under `cfg(loom)`, so that the same
//! code runs in production and under the model checker (`src/models/`).
//!
//! Only the structures that carry a concurrency protocol go through this
//! shim: thread slots, the single-writer cells, the label index and its
//! reclamation, the batch pipeline and the span pool. Statistics counters
//! elsewhere use `std` directly.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(not(loom))]
pub(crate) use crossbeam_queue::ArrayQueue;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex};
#[cfg(loom)]
pub(crate) use loom::thread;

/// loom has no compiler fence; under the model the reclamation always takes
/// the fenced strategy (see `registry::reclaim`), which never calls this.
#[cfg(loom)]
pub(crate) fn compiler_fence(_: Ordering) {}

#[cfg(loom)]
pub(crate) use model_queue::ArrayQueue;

/// Under the model, a bounded queue with `crossbeam_queue::ArrayQueue`'s
/// interface over a loom mutex: crossbeam's internals are invisible to
/// loom, so the models check Sonde's protocol around the queue (handoff,
/// shutdown, recycling), trusting crossbeam's own tests for the queue.
#[cfg(loom)]
mod model_queue {
    use std::collections::VecDeque;

    pub(crate) struct ArrayQueue<T> {
        items: loom::sync::Mutex<VecDeque<T>>,
        cap: usize,
    }

    impl<T> ArrayQueue<T> {
        pub(crate) fn new(cap: usize) -> Self {
            Self { items: loom::sync::Mutex::new(VecDeque::new()), cap }
        }

        pub(crate) fn push(&self, item: T) -> Result<(), T> {
            let mut q = self.items.lock().unwrap();
            if q.len() == self.cap {
                return Err(item);
            }
            q.push_back(item);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.items.lock().unwrap().pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            self.items.lock().unwrap().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }
}

/// A marker for raw memory that readers reach without a lock: under the
/// model, every [`Liveness::check`] is a read and [`Liveness::retire`] (just
/// before the memory is freed) a write of a loom cell, so a read that is not
/// ordered before the free is reported as a causality violation: a
/// use-after-free. Zero-sized and free of cost outside the model.
#[cfg(not(loom))]
pub(crate) struct Liveness;

#[cfg(not(loom))]
impl Liveness {
    pub(crate) const fn new() -> Self {
        Self
    }

    #[inline(always)]
    pub(crate) fn check(&self) {}

    #[inline(always)]
    pub(crate) fn retire(&self) {}
}

#[cfg(loom)]
pub(crate) struct Liveness(loom::cell::UnsafeCell<()>);

#[cfg(loom)]
impl Liveness {
    pub(crate) fn new() -> Self {
        Self(loom::cell::UnsafeCell::new(()))
    }

    pub(crate) fn check(&self) {
        self.0.with(|_| ());
    }

    pub(crate) fn retire(&self) {
        self.0.with_mut(|_| ());
    }
}
