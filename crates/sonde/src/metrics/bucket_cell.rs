//! A row of bucket counters plus a floating-point sum: the storage behind
//! histograms and timers.
//!
//! Ownership and striping work as in [`super::sum_cell`]: the first writing
//! thread owns the base row and updates it with plain loads and stores; a
//! second writer inflates the cell into padded rows indexed by thread slot.
//! The observation count is not stored: it is the sum of the bucket counts,
//! so a reader always sees `_count` equal to the `+Inf` bucket.

use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use super::sum_cell::STRIPES;
use super::thread_slot::{self, NO_SLOT};

/// Row layout: `[sum_bits, bucket_0, .., bucket_n]`.
const SUM: usize = 0;

pub(crate) struct BucketCell {
    owner: AtomicU32,
    base: Box<[AtomicU64]>,
    /// `STRIPES + 1` rows of `stride` words each, or null: one single-writer
    /// row per low thread slot, then one shared (atomic) row for the rest.
    stripes: AtomicPtr<AtomicU64>,
}

fn zeroed(len: usize) -> Box<[AtomicU64]> {
    (0..len).map(|_| AtomicU64::new(0)).collect()
}

impl BucketCell {
    /// A cell for `buckets` buckets (the `+Inf` bucket included).
    pub(crate) fn new(buckets: usize) -> Self {
        Self { owner: AtomicU32::new(0), base: zeroed(buckets + 1), stripes: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// Heap bytes: the base row, and the stripe rows once contended.
    pub(crate) fn heap_bytes(&self) -> usize {
        let stripes = if self.stripes.load(Relaxed).is_null() { 0 } else { (STRIPES + 1) * self.stride() };
        (self.base.len() + stripes) * size_of::<AtomicU64>()
    }

    fn row_len(&self) -> usize {
        self.base.len()
    }

    /// Words per stripe row: the row rounded up, plus a cache line of gap so
    /// neighbouring rows never share a line whatever the allocation's alignment.
    fn stride(&self) -> usize {
        self.row_len().div_ceil(8) * 8 + 8
    }

    /// Counts one observation of `v` in bucket `idx` (caller guarantees
    /// `idx < buckets`).
    #[inline(always)]
    pub(crate) fn observe(&self, idx: usize, v: f64) {
        let stripes = self.stripes.load(Acquire);
        if stripes.is_null() {
            let me = thread_slot::current();
            if me != NO_SLOT {
                let owner = self.owner.load(Relaxed);
                if owner == me + 1 || (owner == 0 && self.claim(me)) {
                    single_writer_observe(&self.base, idx, v);
                    return;
                }
            }
            let row = self.stripe_row(self.inflate(), me);
            return self.row_observe(row, me, idx, v);
        }
        let me = thread_slot::current();
        let row = self.stripe_row(stripes, me);
        self.row_observe(row, me, idx, v)
    }

    /// Adds pre-aggregated per-bucket `counts` (one per bucket) and `sum`,
    /// through the shared stripe that is only ever updated atomically, so it
    /// is safe whoever owns the cell. Cold: receivers of bucketed data only.
    #[cold]
    pub(crate) fn add_counts(&self, counts: &[u64], sum: f64) {
        let stripes = match self.stripes.load(Acquire) {
            p if p.is_null() => self.inflate(),
            p => p,
        };
        let row = self.stripe_row(stripes, STRIPES as u32);
        for (i, &c) in counts.iter().enumerate().take(self.row_len() - 1) {
            if c > 0 {
                row[i + 1].fetch_add(c, Relaxed);
            }
        }
        let mut cur = row[SUM].load(Relaxed);
        while let Err(seen) =
            row[SUM].compare_exchange_weak(cur, (f64::from_bits(cur) + sum).to_bits(), Relaxed, Relaxed)
        {
            cur = seen;
        }
    }

    #[inline]
    fn claim(&self, me: u32) -> bool {
        self.owner.compare_exchange(0, me + 1, Relaxed, Relaxed).is_ok()
    }

    #[inline]
    fn stripe_row(&self, stripes: *mut AtomicU64, me: u32) -> &[AtomicU64] {
        let r = (me as usize).min(STRIPES);
        // SAFETY: `stripes` points at (STRIPES + 1) * stride words that live as
        // long as `self`; row `r <= STRIPES` starts at `r * stride` and holds
        // `row_len` words.
        unsafe { std::slice::from_raw_parts(stripes.add(r * self.stride()), self.row_len()) }
    }

    #[inline]
    fn row_observe(&self, row: &[AtomicU64], me: u32, idx: usize, v: f64) {
        if (me as usize) < STRIPES {
            single_writer_observe(row, idx, v);
        } else {
            row[idx + 1].fetch_add(1, Relaxed);
            let mut cur = row[SUM].load(Relaxed);
            loop {
                let new = (f64::from_bits(cur) + v).to_bits();
                match row[SUM].compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                    Ok(_) => return,
                    Err(seen) => cur = seen,
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn inflate(&self) -> *mut AtomicU64 {
        let current = self.stripes.load(Acquire);
        if !current.is_null() {
            return current;
        }
        let words = zeroed((STRIPES + 1) * self.stride());
        let fresh = Box::into_raw(words) as *mut AtomicU64;
        match self.stripes.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` was never shared; rebuild the boxed slice.
                drop(unsafe { self.rebuild(fresh) });
                existing
            }
        }
    }

    /// # Safety
    /// `p` must come from `inflate`'s allocation for this cell.
    unsafe fn rebuild(&self, p: *mut AtomicU64) -> Box<[AtomicU64]> {
        let len = (STRIPES + 1) * self.stride();
        // SAFETY: per the contract, `p` is a leaked `Box<[AtomicU64]>` of `len`.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) }
    }

    /// Adds the cell's current counts into `counts` (non-cumulative, one per
    /// bucket) and returns the sum of observations.
    pub(crate) fn read_into(&self, counts: &mut [u64]) -> f64 {
        let mut sum = read_row(&self.base, counts);
        let p = self.stripes.load(Acquire);
        if !p.is_null() {
            for r in 0..=STRIPES {
                // SAFETY: as in `stripe_row`.
                let row = unsafe { std::slice::from_raw_parts(p.add(r * self.stride()), self.row_len()) };
                sum += read_row(row, counts);
            }
        }
        sum
    }
}

#[inline(always)]
fn single_writer_observe(row: &[AtomicU64], idx: usize, v: f64) {
    let b = &row[idx + 1];
    b.store(b.load(Relaxed) + 1, Relaxed);
    let s = &row[SUM];
    s.store((f64::from_bits(s.load(Relaxed)) + v).to_bits(), Relaxed);
}

fn read_row(row: &[AtomicU64], counts: &mut [u64]) -> f64 {
    for (c, b) in counts.iter_mut().zip(&row[1..]) {
        *c = c.wrapping_add(b.load(Relaxed));
    }
    f64::from_bits(row[SUM].load(Relaxed))
}

impl Drop for BucketCell {
    fn drop(&mut self) {
        // `&mut self`: no other reference exists, so a relaxed load is exact.
        let p = self.stripes.load(Relaxed);
        if !p.is_null() {
            // SAFETY: the pointer came from `inflate` and nobody else holds it.
            drop(unsafe { self.rebuild(p) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_and_sum_across_threads_are_exact() {
        let rounds: u64 = if cfg!(miri) { 100 } else { 50_000 };
        let cell = Arc::new(BucketCell::new(3));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    for i in 0..rounds as usize {
                        cell.observe((i + t) % 3, 1.0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut counts = vec![0u64; 3];
        let sum = cell.read_into(&mut counts);
        assert_eq!(counts.iter().sum::<u64>(), 4 * rounds);
        assert_eq!(sum, (4 * rounds) as f64);
    }
}
