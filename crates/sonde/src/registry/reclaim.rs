//! Read-side protection for lock-free label indexes, and deferred freeing.
//!
//! A reader marks its thread slot active while it holds references into an
//! index (a plain store to a cache line only its thread writes, then a
//! compiler-only fence). A writer that unlinks memory retires it, and frees it
//! only after a *heavy* barrier (`membarrier(PRIVATE_EXPEDITED)` on Linux:
//! every running thread of the process executes a full fence) shows no
//! reader active. This is the asymmetric-fence pattern of userspace RCU: the
//! reader pays two plain stores, the rare writer pays a system call.
//! Where `membarrier` is unavailable, readers use a real `SeqCst` fence.

use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicU32, AtomicU8, Ordering::*};

use crossbeam_utils::CachePadded;

use crate::metrics::thread_slot;

/// Threads with a slot below this track their reads in their own line;
/// others share one atomic counter.
const TRACKED: usize = 256;

static DEPTH: [CachePadded<AtomicU32>; TRACKED] = [const { CachePadded::new(AtomicU32::new(0)) }; TRACKED];
static SHARED_DEPTH: CachePadded<AtomicU32> = CachePadded::new(AtomicU32::new(0));

const UNKNOWN: u8 = 0;
const FAST: u8 = 1;
const FENCED: u8 = 2;
static STRATEGY: AtomicU8 = AtomicU8::new(UNKNOWN);
static DETECTING: AtomicBool = AtomicBool::new(false);

/// Chooses the barrier strategy once (cold: the first index created).
pub(crate) fn init() {
    if STRATEGY.load(Acquire) != UNKNOWN || DETECTING.swap(true, AcqRel) {
        return;
    }
    let s = if membarrier::register() { FAST } else { FENCED };
    STRATEGY.store(s, Release);
}

/// Marks the calling thread as reading until the guard drops.
pub(crate) struct ReadGuard {
    slot: u32,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ReadGuard {
    #[inline(always)]
    pub(crate) fn enter() -> Self {
        let slot = thread_slot::current();
        if (slot as usize) < TRACKED {
            let d = &DEPTH[slot as usize];
            d.store(d.load(Relaxed) + 1, Relaxed);
        } else {
            SHARED_DEPTH.fetch_add(1, SeqCst);
        }
        light_barrier();
        Self { slot, _not_send: std::marker::PhantomData }
    }
}

impl Drop for ReadGuard {
    #[inline(always)]
    fn drop(&mut self) {
        if (self.slot as usize) < TRACKED {
            let d = &DEPTH[self.slot as usize];
            d.store(d.load(Relaxed) - 1, Release);
        } else {
            SHARED_DEPTH.fetch_sub(1, Release);
        }
    }
}

#[inline(always)]
fn light_barrier() {
    if STRATEGY.load(Relaxed) == FAST {
        compiler_fence(SeqCst);
    } else {
        fence(SeqCst);
    }
}

/// True when no thread (the caller included: it may hold a lent series) is
/// between `ReadGuard::enter` and its drop, as seen after a heavy barrier:
/// memory unlinked before this call can then be freed.
pub(crate) fn quiescent() -> bool {
    if STRATEGY.load(Acquire) == FAST {
        membarrier::heavy();
    }
    fence(SeqCst);
    DEPTH.iter().all(|d| d.load(Acquire) == 0) && SHARED_DEPTH.load(Acquire) == 0
}

#[cfg(target_os = "linux")]
mod membarrier {
    const QUERY: i32 = 0;
    const PRIVATE_EXPEDITED: i32 = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: i32 = 1 << 4;

    fn call(cmd: i32) -> i64 {
        // SAFETY: membarrier takes (cmd, flags, cpu_id) and touches no memory.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0, 0) as i64 }
    }

    pub(super) fn register() -> bool {
        let supported = call(QUERY);
        supported > 0 && supported & PRIVATE_EXPEDITED as i64 != 0 && call(REGISTER_PRIVATE_EXPEDITED) == 0
    }

    pub(super) fn heavy() {
        if call(PRIVATE_EXPEDITED) != 0 {
            // Registered and supported, so this does not fail; stay safe anyway.
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }
    pub(super) fn heavy() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Other tests in this process may be reading at any moment, so the
    /// positive case is checked with retries.
    fn eventually_quiescent() -> bool {
        (0..1000).any(|_| {
            std::thread::yield_now();
            quiescent()
        })
    }

    #[test]
    fn guards_nest_and_quiesce() {
        init();
        let a = ReadGuard::enter();
        let b = ReadGuard::enter();
        assert!(!quiescent(), "a reader on this thread blocks freeing");
        assert!(!std::thread::spawn(quiescent).join().unwrap(), "another thread sees this reader");
        drop(b);
        assert!(!quiescent(), "guards nest");
        drop(a);
        assert!(eventually_quiescent());
    }
}
