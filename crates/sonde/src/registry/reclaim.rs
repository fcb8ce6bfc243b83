//! Read-side protection for lock-free label indexes, and deferred freeing.
//!
//! A reader marks its thread slot active while it holds references into an
//! index (a plain store to a cache line only its thread writes, then a
//! compiler-only fence). A writer that unlinks memory retires it, and frees it
//! only after a *heavy* barrier (`membarrier(PRIVATE_EXPEDITED)` on Linux:
//! every running thread of the process executes a full fence) shows no
//! reader active. This is the asymmetric-fence pattern of userspace RCU: the
//! reader pays two plain stores, the rare writer pays a system call.
//! Where `membarrier` is unavailable (and under loom and Miri), readers use
//! a real `SeqCst` fence.

use crossbeam_utils::CachePadded;

use crate::metrics::thread_slot;
use crate::sync::{compiler_fence, fence, AtomicU32, AtomicU8, Mutex, Ordering::*};

/// Threads with a slot below this track their reads in their own line;
/// others share one atomic counter.
#[cfg(not(loom))]
const TRACKED: usize = 256;
/// Under the model: two tracked slots, so a third thread shares the counter.
#[cfg(loom)]
const TRACKED: usize = 2;

const UNKNOWN: u8 = 0;
const FAST: u8 = 1;
const FENCED: u8 = 2;

/// The readers of every label index.
#[cfg(not(loom))]
static READERS: Readers = Readers::new();
#[cfg(not(loom))]
static STRATEGY: AtomicU8 = AtomicU8::new(UNKNOWN);
#[cfg(not(loom))]
static DECIDING: Mutex<()> = Mutex::new(());

// Under the model: the same, fresh for each model execution.
#[cfg(loom)]
loom::lazy_static! {
    static ref READERS: Readers = Readers::new();
    static ref STRATEGY: AtomicU8 = AtomicU8::new(UNKNOWN);
    static ref DECIDING: Mutex<()> = Mutex::new(());
}

/// Chooses the barrier strategy once (cold: the first index created), and
/// returns only once it is decided: a second caller waits for the first.
/// (Returning early would let a thread build and write an index while the
/// strategy is still unknown: its writer would free after a plain fence
/// while readers that saw `FAST` rely on the heavy barrier.)
pub(crate) fn init() {
    if STRATEGY.load(Acquire) != UNKNOWN {
        return;
    }
    let _deciding = DECIDING.lock().unwrap_or_else(|p| p.into_inner());
    if STRATEGY.load(Relaxed) == UNKNOWN {
        let s = if membarrier::register() { FAST } else { FENCED };
        STRATEGY.store(s, Release);
    }
}

/// Whether [`init`] has decided (the loom model).
#[cfg(all(test, loom))]
pub(crate) fn decided() -> bool {
    STRATEGY.load(Relaxed) != UNKNOWN
}

/// A set of readers: a depth counter per tracked thread slot (each in its
/// own cache line, written only by its thread) and one shared counter for
/// the other slots.
pub(crate) struct Readers {
    depth: [CachePadded<AtomicU32>; TRACKED],
    shared: CachePadded<AtomicU32>,
}

impl Readers {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            depth: [const { CachePadded::new(AtomicU32::new(0)) }; TRACKED],
            shared: CachePadded::new(AtomicU32::new(0)),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            depth: std::array::from_fn(|_| CachePadded::new(AtomicU32::new(0))),
            shared: CachePadded::new(AtomicU32::new(0)),
        }
    }

    /// Marks the calling thread as reading until the guard drops.
    #[inline(always)]
    pub(crate) fn enter(&'static self) -> ReadGuard {
        let slot = thread_slot::current();
        if (slot as usize) < TRACKED {
            let d = &self.depth[slot as usize];
            d.store(d.load(Relaxed) + 1, Relaxed);
        } else {
            self.shared.fetch_add(1, SeqCst);
        }
        light_barrier();
        ReadGuard { readers: self, slot, _not_send: std::marker::PhantomData }
    }

    /// True when no thread (the caller included: it may hold a lent series)
    /// is between `enter` and its guard's drop, as seen after a heavy
    /// barrier: memory unlinked before this call can then be freed.
    pub(crate) fn quiescent(&self) -> bool {
        if STRATEGY.load(Acquire) == FAST {
            membarrier::heavy();
        }
        fence(SeqCst);
        self.depth.iter().all(|d| d.load(Acquire) == 0) && self.shared.load(Acquire) == 0
    }
}

/// Marks the calling thread as reading until the guard drops.
pub(crate) struct ReadGuard {
    readers: &'static Readers,
    slot: u32,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ReadGuard {
    /// Enters the label indexes' read side.
    #[inline(always)]
    pub(crate) fn enter() -> Self {
        READERS.enter()
    }
}

impl Drop for ReadGuard {
    #[inline(always)]
    fn drop(&mut self) {
        if (self.slot as usize) < TRACKED {
            let d = &self.readers.depth[self.slot as usize];
            d.store(d.load(Relaxed) - 1, Release);
        } else {
            self.readers.shared.fetch_sub(1, Release);
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

/// [`Readers::quiescent`] for the label indexes' readers.
pub(crate) fn quiescent() -> bool {
    READERS.quiescent()
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
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

/// Elsewhere, and under loom and Miri (which model neither the system call
/// nor its effect on other threads), readers take the fenced strategy.
#[cfg(any(not(target_os = "linux"), loom, miri))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }
    pub(super) fn heavy() {}
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_quiesce() {
        init();
        // A reader set of its own, so other tests' readers do not interfere.
        static READERS: Readers = Readers::new();
        let readers = &READERS;
        assert!(readers.quiescent());
        let a = readers.enter();
        let b = readers.enter();
        assert!(!readers.quiescent(), "a reader on this thread blocks freeing");
        assert!(!std::thread::spawn(|| readers.quiescent()).join().unwrap(), "another thread sees this reader");
        drop(b);
        assert!(!readers.quiescent(), "guards nest");
        drop(a);
        assert!(readers.quiescent());
    }

    #[test]
    fn a_reader_on_another_thread_blocks_until_it_leaves() {
        init();
        static READERS: Readers = Readers::new();
        let readers = &READERS;
        let (entered, leave) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        std::thread::scope(|s| {
            s.spawn(|| {
                let _g = readers.enter();
                entered.wait();
                leave.wait();
            });
            entered.wait();
            // Release the reader before asserting, so a failure cannot hang.
            let seen_quiescent = readers.quiescent();
            leave.wait();
            assert!(!seen_quiescent, "a reader on another thread blocks freeing");
        });
        assert!(readers.quiescent());
    }
}
