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

/// The cell. 32 bytes until it is contended.
pub(crate) struct SumCell {
    /// `slot + 1` of the owning thread, 0 while no thread has written.
    owner: AtomicU32,
    int: AtomicU64,
    float: AtomicU64,
    stripes: AtomicPtr<Stripes>,
}

impl Default for SumCell {
    fn default() -> Self {
        Self::new()
    }
}

impl SumCell {
    /// Heap bytes beyond the cell itself: the stripes, once contended.
    pub(crate) fn heap_bytes(&self) -> usize {
        if self.stripes.load(Relaxed).is_null() {
            0
        } else {
            size_of::<Stripes>()
        }
    }

    pub(crate) fn new() -> Self {
        Self {
            owner: AtomicU32::new(0),
            int: AtomicU64::new(0),
            float: AtomicU64::new(0),
            stripes: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Adds `n` to the integer part (wrapping).
    #[inline(always)]
    pub(crate) fn add_int(&self, n: u64) {
        let stripes = self.stripes.load(Acquire);
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
        // SAFETY: a published stripes pointer stays valid until `self` drops.
        self.add_int_striped(unsafe { &*stripes }, n)
    }

    /// Adds `v` to the floating-point part.
    #[inline(always)]
    pub(crate) fn add_float(&self, v: f64) {
        let stripes = self.stripes.load(Acquire);
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

    #[cold]
    #[inline(never)]
    fn inflate(&self) -> &Stripes {
        let current = self.stripes.load(Acquire);
        if !current.is_null() {
            // SAFETY: published pointers live as long as `self`.
            return unsafe { &*current };
        }
        let fresh: Box<Stripes> = Box::new(std::array::from_fn(|_| CachePadded::new(Stripe::default())));
        let fresh = Box::into_raw(fresh);
        match self.stripes.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            // SAFETY: we just published it.
            Ok(_) => unsafe { &*fresh },
            Err(existing) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: published pointers live as long as `self`.
                unsafe { &*existing }
            }
        }
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

    /// Whether the cell has inflated into stripes (test and benchmark aid).
    #[cfg(test)]
    pub(crate) fn is_striped(&self) -> bool {
        self.stripes().is_some()
    }

    fn stripes(&self) -> Option<&Stripes> {
        let p = self.stripes.load(Acquire);
        // SAFETY: published pointers live as long as `self`.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

impl Drop for SumCell {
    fn drop(&mut self) {
        // `&mut self`: no other reference exists, so a relaxed load is exact.
        let p = self.stripes.load(Relaxed);
        if !p.is_null() {
            // SAFETY: we own the only reference now.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// What `reset` subtracts; read-side, so a reset never races a writer.
///
/// Order matters: a reader loads the baseline *before* the cell, and a reset
/// publishes the baseline with a release store *after* reading the cell. A
/// reader that sees a new baseline then sees the cell at least as far as the
/// reset did, so it never subtracts more than it read (which would wrap to
/// about 1.8e19). The loom model `models::cells` checks this.
#[derive(Default)]
pub(crate) struct Baseline {
    int: AtomicU64,
    float: AtomicU64,
}

impl Baseline {
    /// The cell's parts minus the baseline.
    pub(crate) fn read(&self, cell: &SumCell) -> (u64, f64) {
        let (base_int, base_float) = (self.int.load(Acquire), f64::from_bits(self.float.load(Acquire)));
        (cell.int().wrapping_sub(base_int), cell.float() - base_float)
    }

    /// Makes the cell's current parts the new zero.
    pub(crate) fn reset(&self, cell: &SumCell) {
        let (int, float) = (cell.int(), cell.float());
        self.int.store(int, Release);
        self.float.store(float.to_bits(), Release);
    }
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
}
