//! A summing cell: the storage behind counters and up-down counters.
//!
//! The cell keeps an integer part (wrapping `u64`, read as `u64` or `i64`)
//! and a floating-point part, so integer counters stay exact past 2^53 while
//! fractional adds still work.
//!
//! Writes take one of two paths:
//! - **owned**: the first thread to write becomes the cell's owner; it, and
//!   only it, updates the base words with a plain load and store (no atomic
//!   read-modify-write, no lock).
//! - **striped**: when a second thread writes, the cell inflates into
//!   cache-padded stripes indexed by thread slot. Slots below [`STRIPES`] are
//!   unique among live threads, so those stripes are single-writer too; every
//!   higher slot shares one extra stripe, updated only with atomic adds (a
//!   high slot never touches a single-writer stripe). After inflation the base words
//!   are read-only for everyone but the owner, and the header is never written
//!   again, so two threads on one counter do not bounce a cache line.
//!
//! Readers add the base and all stripes. A read is not a snapshot across
//! stripes, which is the usual and accepted contract for metric counters.
//!
//! A reset does not touch what writers write: it records a baseline that
//! reads subtract. The baseline and the stripes live in an extension the
//! cell allocates at its first reset or its second writer, so a series that
//! is never reset nor contended costs its 32 bytes and nothing more.

use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use crossbeam_utils::CachePadded;

use super::thread_slot::{self, NO_SLOT};

/// Stripes allocated when a cell sees a second writer thread.
#[cfg(not(loom))]
pub(crate) const STRIPES: usize = 16;
/// Under the model one single-writer stripe, so that a third thread already
/// takes the shared (atomic) stripe.
#[cfg(loom)]
pub(crate) const STRIPES: usize = 1;

#[derive(Default)]
struct Stripe {
    int: AtomicU64,
    float: AtomicU64,
}

/// `STRIPES` single-writer stripes, then the shared (atomic) one.
type Stripes = [CachePadded<Stripe>; STRIPES + 1];

/// What a cell allocates only when it needs it: the baseline of its last
/// reset, and its stripes once a second thread writes.
struct Ext {
    baseline: Baseline,
    stripes: AtomicPtr<Stripes>,
}

/// The cell. 32 bytes until it is reset or contended.
pub(crate) struct SumCell {
    /// `slot + 1` of the owning thread, 0 while no thread has written.
    owner: AtomicU32,
    int: AtomicU64,
    float: AtomicU64,
    /// Null until the first reset or the second writer thread.
    ext: AtomicPtr<Ext>,
}

impl Default for SumCell {
    fn default() -> Self {
        Self::new()
    }
}

impl SumCell {
    /// Heap bytes beyond the cell itself: the extension and the stripes.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self.ext() {
            None => 0,
            Some(ext) if ext.stripes.load(Relaxed).is_null() => size_of::<Ext>(),
            Some(_) => size_of::<Ext>() + size_of::<Stripes>(),
        }
    }

    pub(crate) fn new() -> Self {
        Self {
            owner: AtomicU32::new(0),
            int: AtomicU64::new(0),
            float: AtomicU64::new(0),
            ext: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The published stripes, or null (one load until the cell is reset or
    /// contended, two after).
    #[inline(always)]
    fn stripes_ptr(&self) -> *const Stripes {
        let ext = self.ext.load(Acquire);
        if ext.is_null() {
            return std::ptr::null();
        }
        // SAFETY: a published extension stays valid until `self` drops.
        unsafe { (*ext).stripes.load(Acquire) }
    }

    /// Adds `n` to the integer part (wrapping).
    #[inline(always)]
    pub(crate) fn add_int(&self, n: u64) {
        let stripes = self.stripes_ptr();
        if stripes.is_null() {
            let me = thread_slot::current();
            if me != NO_SLOT {
                let owner = self.owner.load(Relaxed);
                if owner == me + 1 {
                    self.int.store(self.int.load(Relaxed).wrapping_add(n), Relaxed);
                    return;
                }
                if owner == 0 && self.claim(me) {
                    self.int.store(self.int.load(Relaxed).wrapping_add(n), Relaxed);
                    return;
                }
            }
            return self.add_int_striped(self.inflate(), n);
        }
        // SAFETY: published stripes stay valid until `self` drops.
        self.add_int_striped(unsafe { &*stripes }, n)
    }

    /// Adds `v` to the floating-point part.
    #[inline(always)]
    pub(crate) fn add_float(&self, v: f64) {
        let stripes = self.stripes_ptr();
        if stripes.is_null() {
            let me = thread_slot::current();
            if me != NO_SLOT {
                let owner = self.owner.load(Relaxed);
                if owner == me + 1 || (owner == 0 && self.claim(me)) {
                    let cur = f64::from_bits(self.float.load(Relaxed));
                    self.float.store((cur + v).to_bits(), Relaxed);
                    return;
                }
            }
            return self.add_float_striped(self.inflate(), v);
        }
        // SAFETY: as in `add_int`.
        self.add_float_striped(unsafe { &*stripes }, v)
    }

    #[inline]
    fn claim(&self, me: u32) -> bool {
        self.owner.compare_exchange(0, me + 1, Relaxed, Relaxed).is_ok()
    }

    #[inline]
    fn add_int_striped(&self, stripes: &Stripes, n: u64) {
        let me = thread_slot::current() as usize;
        if me < STRIPES {
            let s = &stripes[me].int;
            s.store(s.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            stripes[STRIPES].int.fetch_add(n, Relaxed);
        }
    }

    #[inline]
    fn add_float_striped(&self, stripes: &Stripes, v: f64) {
        let me = thread_slot::current() as usize;
        let s = &stripes[me.min(STRIPES)].float;
        if me < STRIPES {
            s.store((f64::from_bits(s.load(Relaxed)) + v).to_bits(), Relaxed);
        } else {
            let mut cur = s.load(Relaxed);
            loop {
                let new = (f64::from_bits(cur) + v).to_bits();
                match s.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                    Ok(_) => return,
                    Err(seen) => cur = seen,
                }
            }
        }
    }

    /// The extension, allocated and published by the first caller.
    #[cold]
    #[inline(never)]
    fn ext_or_publish(&self) -> &Ext {
        publish_once(&self.ext, || {
            Box::new(Ext { baseline: Baseline::default(), stripes: AtomicPtr::new(std::ptr::null_mut()) })
        })
    }

    #[cold]
    #[inline(never)]
    fn inflate(&self) -> &Stripes {
        publish_once(&self.ext_or_publish().stripes, || {
            Box::new(std::array::from_fn(|_| CachePadded::new(Stripe::default())))
        })
    }

    /// The integer part: base plus every stripe (wrapping).
    pub(crate) fn int(&self) -> u64 {
        let mut total = self.int.load(Relaxed);
        if let Some(stripes) = self.stripes() {
            for s in stripes {
                total = total.wrapping_add(s.int.load(Relaxed));
            }
        }
        total
    }

    /// The floating-point part: base plus every stripe.
    pub(crate) fn float(&self) -> f64 {
        let mut total = f64::from_bits(self.float.load(Relaxed));
        if let Some(stripes) = self.stripes() {
            for s in stripes {
                total += f64::from_bits(s.float.load(Relaxed));
            }
        }
        total
    }

    /// Both parts minus the baseline of the last [`SumCell::reset`].
    ///
    /// Order matters: the baseline is loaded *before* the cell, and a reset
    /// publishes the baseline with a release store *after* reading the
    /// cell. A reader that sees a new baseline then sees the cell at least
    /// as far as the reset did, so it never subtracts more than it read
    /// (which would wrap to about 1.8e19). The loom model `models::cells`
    /// checks this.
    pub(crate) fn read(&self) -> (u64, f64) {
        let (base_int, base_float) = match self.ext() {
            Some(ext) => (ext.baseline.int.load(Acquire), f64::from_bits(ext.baseline.float.load(Acquire))),
            None => (0, 0.0),
        };
        (self.int().wrapping_sub(base_int), self.float() - base_float)
    }

    /// Makes the cell's current parts the new zero. Read-side: writers
    /// never see it, so a reset never races them. The first reset
    /// allocates the cell's extension.
    pub(crate) fn reset(&self) {
        let ext = self.ext_or_publish();
        let (int, float) = (self.int(), self.float());
        ext.baseline.int.store(int, Release);
        ext.baseline.float.store(float.to_bits(), Release);
    }

    /// Whether the cell has inflated into stripes (test and benchmark aid).
    #[cfg(test)]
    pub(crate) fn is_striped(&self) -> bool {
        self.stripes().is_some()
    }

    fn ext(&self) -> Option<&Ext> {
        let p = self.ext.load(Acquire);
        // SAFETY: published extensions live as long as `self`.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    fn stripes(&self) -> Option<&Stripes> {
        let p = self.stripes_ptr();
        // SAFETY: published pointers live as long as `self`.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

impl Drop for SumCell {
    fn drop(&mut self) {
        // `&mut self`: no other reference exists, so relaxed loads are exact.
        let ext = self.ext.load(Relaxed);
        if ext.is_null() {
            return;
        }
        // SAFETY: we own the only reference to the extension and its stripes.
        let ext = unsafe { Box::from_raw(ext) };
        let stripes = ext.stripes.load(Relaxed);
        if !stripes.is_null() {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(stripes) });
        }
    }
}

/// What `slot` points to, published from `make()` by the first caller;
/// a caller that loses the race frees its own and uses the winner's.
/// Published values live as long as the cell, which frees them on drop.
fn publish_once<T>(slot: &AtomicPtr<T>, make: impl FnOnce() -> Box<T>) -> &T {
    let current = slot.load(Acquire);
    if !current.is_null() {
        // SAFETY: published pointers live as long as the cell owning `slot`.
        return unsafe { &*current };
    }
    let fresh = Box::into_raw(make());
    match slot.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
        // SAFETY: we just published it; it lives as long as the cell.
        Ok(_) => unsafe { &*fresh },
        Err(existing) => {
            // SAFETY: `fresh` was never shared.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: published pointers live as long as the cell.
            unsafe { &*existing }
        }
    }
}

/// What a reset subtracts (see [`SumCell::read`]).
#[derive(Default)]
struct Baseline {
    int: AtomicU64,
    float: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn single_thread_stays_compact() {
        let c = SumCell::new();
        for _ in 0..1000 {
            c.add_int(1);
        }
        c.add_float(0.5);
        assert_eq!(c.int(), 1000);
        assert_eq!(c.float(), 0.5);
        assert!(!c.is_striped());
        #[cfg(not(loom))]
        assert_eq!(std::mem::size_of::<SumCell>(), 32);
    }

    #[test]
    fn second_writer_inflates_and_totals_are_exact() {
        // Fewer rounds under Miri, which interprets every step.
        let rounds: u64 = if cfg!(miri) { 100 } else { 100_000 };
        let c = Arc::new(SumCell::new());
        c.add_int(1);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        c.add_int(1);
                        c.add_float(0.25);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.int(), 4 * rounds + 1);
        assert_eq!(c.float(), rounds as f64);
        assert!(c.is_striped());
    }

    #[test]
    fn wrapping_supports_signed_use() {
        let c = SumCell::new();
        c.add_int(5);
        c.add_int((-7i64) as u64);
        assert_eq!(c.int() as i64, -2);
    }

    #[test]
    fn a_reset_allocates_only_the_baseline_and_writers_stay_owned() {
        let c = SumCell::new();
        assert_eq!(c.heap_bytes(), 0);
        c.add_int(7);
        c.add_float(0.5);
        c.reset();
        assert_eq!(c.read(), (0, 0.0));
        assert_eq!(c.heap_bytes(), size_of::<Ext>());
        c.add_int(2);
        c.add_float(0.25);
        assert!(!c.is_striped(), "a reset does not inflate the cell");
        assert_eq!(c.read(), (2, 0.25));
        assert_eq!((c.int(), c.float()), (9, 0.75), "writers keep the raw totals");
        std::thread::scope(|s| {
            s.spawn(|| c.add_int(1));
        });
        assert!(c.is_striped());
        assert_eq!(c.heap_bytes(), size_of::<Ext>() + size_of::<Stripes>());
        assert_eq!(c.read(), (3, 0.25));
        c.reset();
        assert_eq!(c.read(), (0, 0.0));
    }
}
