//! A lock-free DDSketch: quantiles with a relative-error guarantee.
//!
//! DDSketch (Masson, Rim and Lee, VLDB 2019) maps a positive value `x` to the
//! bucket `ceil(log_γ x)` with `γ = (1 + α) / (1 − α)`, and answers a
//! quantile with the bucket's representative `2γ^k / (γ + 1)`. Every answer
//! is within relative error `α` of the true quantile of the values seen.
//! Here `α = 1%`, buckets are atomic counters allocated in chunks on first
//! touch, and values are covered for magnitudes in
//! `[MIN_MAGNITUDE, MAX_MAGNITUDE]`: smaller ones count as zero and larger
//! ones land in the top bucket (outside that range the bound does not hold).

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

/// Relative accuracy of every quantile answer.
pub(crate) const RELATIVE_ACCURACY: f64 = 0.01;
/// Smallest magnitude told apart from zero.
pub(crate) const MIN_MAGNITUDE: f64 = 1e-9;
/// Largest magnitude with the accuracy guarantee.
pub(crate) const MAX_MAGNITUDE: f64 = 1e12;

const CHUNK: usize = 64;

struct Mapping {
    gamma: f64,
    ln_gamma: f64,
    min_key: i32,
    keys: usize,
}

fn mapping() -> &'static Mapping {
    static M: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        let ln_gamma = gamma.ln();
        let min_key = (MIN_MAGNITUDE.ln() / ln_gamma).ceil() as i32;
        let max_key = (MAX_MAGNITUDE.ln() / ln_gamma).ceil() as i32;
        Mapping { gamma, ln_gamma, min_key, keys: (max_key - min_key + 1) as usize }
    })
}

/// Counts for one sign: bucket index → count, chunks allocated on demand.
struct Store {
    chunks: Box<[AtomicPtr<[AtomicU64; CHUNK]>]>,
}

impl Store {
    /// Heap bytes: the chunk table and the chunks in use.
    fn heap_bytes(&self) -> usize {
        let used = self.chunks.iter().filter(|c| !c.load(Relaxed).is_null()).count();
        self.chunks.len() * size_of::<AtomicPtr<[AtomicU64; CHUNK]>>() + used * size_of::<[AtomicU64; CHUNK]>()
    }

    fn new() -> Self {
        let n = mapping().keys.div_ceil(CHUNK);
        Self { chunks: (0..n).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect() }
    }

    fn add(&self, index: usize) {
        let slot = &self.chunks[index / CHUNK];
        let mut p = slot.load(Acquire);
        if p.is_null() {
            p = Self::allocate(slot);
        }
        // SAFETY: published chunks live until the store drops.
        unsafe { &(*p)[index % CHUNK] }.fetch_add(1, Relaxed);
    }

    #[cold]
    fn allocate(slot: &AtomicPtr<[AtomicU64; CHUNK]>) -> *mut [AtomicU64; CHUNK] {
        let fresh = Box::into_raw(Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        match slot.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: never shared.
                drop(unsafe { Box::from_raw(fresh) });
                existing
            }
        }
    }

    /// `(index, count)` of non-empty buckets in ascending index order.
    fn for_each(&self, mut f: impl FnMut(usize, u64)) {
        for (ci, slot) in self.chunks.iter().enumerate() {
            let p = slot.load(Acquire);
            if p.is_null() {
                continue;
            }
            // SAFETY: as in `add`.
            for (i, c) in unsafe { &*p }.iter().enumerate() {
                let n = c.load(Relaxed);
                if n != 0 {
                    f(ci * CHUNK + i, n);
                }
            }
        }
    }

    fn clear(&self) {
        for slot in self.chunks.iter() {
            let p = slot.load(Acquire);
            if !p.is_null() {
                // SAFETY: as in `add`.
                for c in unsafe { &*p }.iter() {
                    c.store(0, Relaxed);
                }
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for slot in self.chunks.iter_mut() {
            let p = *slot.get_mut();
            if !p.is_null() {
                // SAFETY: we hold the only reference.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// A concurrent DDSketch over positive, negative and zero values.
pub(crate) struct Sketch {
    positive: Store,
    negative: Store,
    zero: AtomicU64,
}

impl Sketch {
    /// Heap bytes of both stores.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.positive.heap_bytes() + self.negative.heap_bytes()
    }

    pub(crate) fn new() -> Self {
        Self { positive: Store::new(), negative: Store::new(), zero: AtomicU64::new(0) }
    }

    /// The bucket index of magnitude `m` (`m >= MIN_MAGNITUDE`).
    #[inline]
    pub(crate) fn index_of(m: f64) -> usize {
        let map = mapping();
        // The cast saturates (an infinite magnitude is i64::MAX), and so does
        // the subtraction: huge magnitudes land in the top bucket.
        let key = (m.ln() / map.ln_gamma).ceil() as i64;
        key.saturating_sub(i64::from(map.min_key)).clamp(0, map.keys as i64 - 1) as usize
    }

    /// Adds `v` whose magnitude index was computed by [`Sketch::index_of`]
    /// (`None` for zero-like values).
    #[inline]
    pub(crate) fn add_indexed(&self, negative: bool, index: Option<usize>) {
        match (index, negative) {
            (None, _) => {
                self.zero.fetch_add(1, Relaxed);
            }
            (Some(i), false) => self.positive.add(i),
            (Some(i), true) => self.negative.add(i),
        }
    }

    pub(crate) fn clear(&self) {
        self.positive.clear();
        self.negative.clear();
        self.zero.store(0, Relaxed);
    }

    fn value_of(index: usize) -> f64 {
        let map = mapping();
        let key = index as i32 + map.min_key;
        2.0 * map.gamma.powi(key) / (map.gamma + 1.0)
    }

    /// Answers each of `qs` (each in `[0, 1]`) into `out`; NaN when empty.
    pub(crate) fn quantiles(&self, qs: &[f64], out: &mut Vec<f64>) {
        // Ascending order of value: negatives by descending magnitude, zero,
        // then positives by ascending magnitude.
        let mut values: Vec<(f64, u64)> = Vec::new();
        let mut neg = Vec::new();
        self.negative.for_each(|i, n| neg.push((-Self::value_of(i), n)));
        values.extend(neg.into_iter().rev());
        let zero = self.zero.load(Relaxed);
        if zero > 0 {
            values.push((0.0, zero));
        }
        self.positive.for_each(|i, n| values.push((Self::value_of(i), n)));
        let total: u64 = values.iter().map(|v| v.1).sum();
        for &q in qs {
            if total == 0 {
                out.push(f64::NAN);
                continue;
            }
            let rank = q * (total - 1) as f64;
            let mut seen = 0u64;
            let mut answer = values.last().map(|v| v.0).unwrap_or(f64::NAN);
            for &(v, n) in &values {
                seen += n;
                if seen as f64 > rank {
                    answer = v;
                    break;
                }
            }
            out.push(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &Sketch, v: f64) {
        let m = v.abs();
        let idx = (m >= MIN_MAGNITUDE).then(|| Sketch::index_of(m));
        s.add_indexed(v < 0.0, idx);
    }

    /// Infinities and magnitudes beyond the covered range land in the top
    /// bucket, the smallest covered ones in the first.
    #[test]
    fn out_of_range_magnitudes_are_clamped() {
        let top = mapping().keys - 1;
        assert_eq!(Sketch::index_of(f64::INFINITY), top);
        assert_eq!(Sketch::index_of(f64::MAX), top);
        assert_eq!(Sketch::index_of(MAX_MAGNITUDE * 1e6), top);
        assert_eq!(Sketch::index_of(MIN_MAGNITUDE), 0);
        let s = Sketch::new();
        add(&s, f64::NEG_INFINITY);
        add(&s, f64::INFINITY);
        let mut out = Vec::new();
        s.quantiles(&[0.0, 1.0], &mut out);
        let edge = MAX_MAGNITUDE * (1.0 - RELATIVE_ACCURACY);
        assert!(out[0] <= -edge && out[1] >= edge, "the top buckets: {out:?}");
    }

    #[test]
    fn quantiles_are_within_relative_error() {
        let s = Sketch::new();
        let values: Vec<f64> = (1..=10_000).map(|i| i as f64 * 0.37).collect();
        for &v in &values {
            add(&s, v);
        }
        let qs = [0.0, 0.5, 0.9, 0.99, 1.0];
        let mut out = Vec::new();
        s.quantiles(&qs, &mut out);
        for (q, got) in qs.iter().zip(out) {
            let exact = values[(q * (values.len() - 1) as f64) as usize];
            assert!((got - exact).abs() <= RELATIVE_ACCURACY * exact + 1e-12, "q={q}: {got} vs {exact}");
        }
    }

    #[test]
    fn negatives_and_zero_order_correctly() {
        let s = Sketch::new();
        for v in [-100.0, -1.0, 0.0, 1.0, 100.0] {
            add(&s, v);
        }
        let mut out = Vec::new();
        s.quantiles(&[0.0, 0.5, 1.0], &mut out);
        assert!((out[0] + 100.0).abs() <= 1.0);
        assert_eq!(out[1], 0.0);
        assert!((out[2] - 100.0).abs() <= 1.0);
        s.clear();
        out.clear();
        s.quantiles(&[0.5], &mut out);
        assert!(out[0].is_nan());
    }
}
