//! The storage behind native (exponential) histograms.
//!
//! A cell is made of rows, owned as in [`super::bucket_cell`]: the first
//! writing thread owns the base row; a second writer inflates the cell into
//! one row per low thread slot (single-writer too) and a shared row for the
//! rest. Each row keeps its zero bucket, sum, min and max, and a **window**:
//! a dense run of bucket counters per sign at one schema.
//!
//! Recording into a row finds the bucket's index (a table lookup and one
//! comparison for schemas up to 8) and, when the window covers it, adds one:
//! a plain load and store in a single-writer row, an atomic add in the
//! shared one. No lock, no allocation.
//!
//! **When it allocates.** Only when a value falls outside its row's window:
//! the writer builds a wider window (with room to spare), lowering the
//! schema first if the buckets in use would exceed the limit, copies its
//! counts and publishes it. Each such step is counted
//! (`sonde_native_bucket_resizes_total`); their number per row is bounded,
//! because windows only widen and schemas only fall (at most 12 steps from
//! schema 8 to -4), and once the range of values in use is covered a row
//! never allocates again.
//!
//! **Freeing.** A single-writer row's replaced window is freed at once if no
//! reader is inside the cell (readers announce themselves in `readers`; a
//! `SeqCst` fence follows the writer's swap and the reader's announcement,
//! so either the writer sees the reader or the reader sees the new
//! window), otherwise it is kept
//! and freed at the row's next resize or with the cell. In the shared row
//! other threads may still be adding to a replaced window, so it stays
//! linked behind the new one and is read with it until the cell drops.

use std::cell::UnsafeCell;
use std::sync::atomic::AtomicU64 as StdAtomicU64;

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use crate::NativeHistogramSnapshot;

use super::buckets::NativeBuckets;
use super::exponential::{
    bucket_index, downscale_index, range_coarser, range_span, range_union, IndexRange, MIN_SCHEMA,
};
use super::sum_cell::STRIPES;
use super::thread_slot::{self, NO_SLOT};

/// Window resizes since the process started (each one allocation).
pub(crate) static RESIZES: StdAtomicU64 = StdAtomicU64::new(0);

/// Buckets a new window gets beyond those in use, at least.
const MIN_ROOM: u32 = 8;

pub(crate) struct NativeCell {
    options: NativeBuckets,
    owner: AtomicU32,
    base: Row,
    /// `STRIPES + 1` rows, or null.
    stripes: AtomicPtr<CachePadded<Row>>,
    /// Readers inside the cell right now.
    readers: AtomicU32,
}

struct Row {
    sum: AtomicU64,
    zero: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    window: AtomicPtr<Window>,
    /// Windows this (single-writer) row replaced while a reader was inside;
    /// touched only by the row's writer and by `Drop`.
    retired: UnsafeCell<Vec<*mut Window>>,
}

// SAFETY: `retired` is only accessed by the row's single writer (a thread
// slot is held by one live thread at a time, and handed over through a
// mutex) and by `Drop`, which has exclusive access; everything else is
// atomic.
unsafe impl Sync for Row {}
// SAFETY: as above; the raw pointers are owned windows.
unsafe impl Send for Row {}

/// A dense run of counters per sign: positive buckets first.
struct Window {
    schema: i8,
    positive_start: i32,
    positive_len: u32,
    negative_start: i32,
    negative_len: u32,
    counts: Box<[AtomicU64]>,
    /// The shared row's previous window, still counted; null elsewhere.
    previous: *mut Window,
    /// Under the model, a replaced window is marked instead of freed, so a
    /// reader reaching it is caught (loom cannot see a use after free).
    #[cfg(loom)]
    freed: crate::sync::AtomicBool,
}

/// The range of bucket indexes one sign uses: `(lowest, highest)`.
type Used = IndexRange;

impl Window {
    #[inline(always)]
    fn slot(&self, positive: bool, index: i32) -> Option<&AtomicU64> {
        let (start, len, base) = if positive {
            (self.positive_start, self.positive_len, 0)
        } else {
            (self.negative_start, self.negative_len, self.positive_len)
        };
        let offset = index.wrapping_sub(start) as u32;
        if offset < len {
            self.counts.get((base + offset) as usize)
        } else {
            None
        }
    }

    /// `(index, count)` of every counted bucket of one sign.
    fn counted(&self, positive: bool) -> impl Iterator<Item = (i32, u64)> + '_ {
        let (start, range) = if positive {
            (self.positive_start, 0..self.positive_len as usize)
        } else {
            (self.negative_start, self.positive_len as usize..(self.positive_len + self.negative_len) as usize)
        };
        self.counts[range]
            .iter()
            .enumerate()
            .map(move |(i, c)| (start + i as i32, c.load(Relaxed)))
            .filter(|&(_, c)| c != 0)
    }

    /// The indexes in use per sign: from the lowest to the highest counted.
    fn used(&self, positive: bool) -> Used {
        let mut it = self.counted(positive).map(|(i, _)| i);
        let first = it.next()?;
        Some((first, it.last().unwrap_or(first)))
    }
}

/// Buckets from the lowest to the highest in use, saturating at `u32::MAX`.
fn span(used: Used) -> u32 {
    u32::try_from(range_span(used)).unwrap_or(u32::MAX)
}

/// A window covering `positive` and `negative` at `schema`, with room to
/// grow: at least `MIN_ROOM` more buckets per sign in use, as many as the
/// ones in use, within `limit` in all (unless the used ones alone exceed it).
fn allocate(schema: i8, positive: Used, negative: Used, limit: u32, previous: *mut Window) -> *mut Window {
    let used = span(positive).saturating_add(span(negative));
    let signs = u32::from(positive.is_some()) + u32::from(negative.is_some());
    let room = limit.saturating_sub(used) / signs.max(1);
    let layout = |u: Used| -> (i32, u32) {
        match u {
            None => (0, 0),
            Some((lo, hi)) => {
                let len = span(Some((lo, hi)));
                let extra = len.max(MIN_ROOM).min(room);
                let below = extra / 2;
                (lo.saturating_sub(below as i32), len + extra)
            }
        }
    };
    let (positive_start, positive_len) = layout(positive);
    let (negative_start, negative_len) = layout(negative);
    let counts = (0..positive_len + negative_len).map(|_| AtomicU64::new(0)).collect();
    RESIZES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Box::into_raw(Box::new(Window {
        schema,
        positive_start,
        positive_len,
        negative_start,
        negative_len,
        counts,
        previous,
        #[cfg(loom)]
        freed: crate::sync::AtomicBool::new(false),
    }))
}

/// Frees a window the row's writer replaced and no reader can reach.
///
/// # Safety
/// `w` comes from `allocate`, is no longer published, and no reader that
/// loaded it is still inside the cell.
unsafe fn free_replaced(w: *mut Window) {
    #[cfg(not(loom))]
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(w) });
    #[cfg(loom)]
    // SAFETY: per the contract the window is still allocated (leaked under
    // the model so that a wrong free shows up as a read of a marked window).
    unsafe { &*w }.freed.store(true, SeqCst);
}

/// The finest schema, at most `schema`, at which `positive` and `negative`
/// (given at `schema`) span at most `limit` buckets, with the ranges there.
fn fit(mut schema: i8, mut positive: Used, mut negative: Used, limit: u32) -> (i8, Used, Used) {
    while span(positive).saturating_add(span(negative)) > limit && schema > MIN_SCHEMA {
        schema -= 1;
        positive = range_coarser(positive, 1);
        negative = range_coarser(negative, 1);
    }
    (schema, positive, negative)
}

impl Row {
    fn new() -> Self {
        Self {
            sum: AtomicU64::new(0),
            zero: AtomicU64::new(0),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            window: AtomicPtr::new(std::ptr::null_mut()),
            retired: UnsafeCell::new(Vec::new()),
        }
    }

    /// Records `v` into a row this thread alone writes.
    #[inline(always)]
    fn observe_owned(&self, cell: &NativeCell, v: f64) {
        let a = v.abs();
        if a <= cell.options.zero_threshold {
            bump(&self.zero);
        } else {
            let w = self.window.load(Relaxed);
            // SAFETY: only this thread replaces or frees this row's windows.
            let slot = unsafe { w.as_ref() }.and_then(|w| w.slot(v > 0.0, bucket_index(a, w.schema)));
            match slot {
                Some(slot) => bump(slot),
                None => self.resize_owned(cell, v > 0.0, a),
            }
        }
        let sum = &self.sum;
        sum.store((f64::from_bits(sum.load(Relaxed)) + v).to_bits(), Relaxed);
        if v < f64::from_bits(self.min.load(Relaxed)) {
            self.min.store(v.to_bits(), Relaxed);
        }
        if v > f64::from_bits(self.max.load(Relaxed)) {
            self.max.store(v.to_bits(), Relaxed);
        }
    }

    /// Moves this row to a window that covers `a`, copying its counts.
    #[cold]
    #[inline(never)]
    fn resize_owned(&self, cell: &NativeCell, positive: bool, a: f64) {
        let old = self.window.load(Relaxed);
        // SAFETY: as in `observe_owned`.
        let old_ref = unsafe { old.as_ref() };
        let schema = old_ref.map_or(cell.options.schema, |w| w.schema);
        let (p, n) = old_ref.map_or((None, None), |w| (w.used(true), w.used(false)));
        let index = bucket_index(a, schema);
        let (p, n) = if positive {
            (range_union(p, Some((index, index))), n)
        } else {
            (p, range_union(n, Some((index, index))))
        };
        let (schema, p, n) = fit(schema, p, n, cell.options.max_buckets);
        let fresh = allocate(schema, p, n, cell.options.max_buckets, std::ptr::null_mut());
        // SAFETY: `fresh` is not shared yet.
        let fresh_ref = unsafe { &*fresh };
        if let Some(w) = old_ref {
            for side in [true, false] {
                for (i, c) in w.counted(side) {
                    let i = downscale_index(i, (w.schema - schema) as u32);
                    if let Some(slot) = fresh_ref.slot(side, i) {
                        slot.store(slot.load(Relaxed) + c, Relaxed);
                    }
                }
            }
        }
        if let Some(slot) = fresh_ref.slot(positive, bucket_index(a, schema)) {
            bump(slot);
        }
        self.window.swap(fresh, SeqCst);
        // Pairs with the reader's fence after announcing itself: either the
        // reader sees the new window, or this load sees the reader.
        fence(SeqCst);
        if old.is_null() {
            return;
        }
        // SAFETY: only this row's writer touches `retired`.
        let retired = unsafe { &mut *self.retired.get() };
        retired.push(old);
        if cell.readers.load(SeqCst) == 0 {
            for w in retired.drain(..) {
                // SAFETY: replaced, and no reader was inside after the swap.
                unsafe { free_replaced(w) };
            }
        }
    }

    /// Records `v` into the row shared by the threads beyond the stripes.
    fn observe_shared(&self, cell: &NativeCell, v: f64) {
        let a = v.abs();
        if a <= cell.options.zero_threshold {
            self.zero.fetch_add(1, Relaxed);
        } else {
            // SAFETY: shared-row windows live until the cell drops.
            let schema = unsafe { self.window.load(Acquire).as_ref() }.map_or(cell.options.schema, |w| w.schema);
            self.add_shared(cell, v > 0.0, bucket_index(a, schema), schema, 1);
        }
        self.add_totals(v, v, v);
    }

    /// Adds `count` to bucket `index` at `schema` in the shared row.
    fn add_shared(&self, cell: &NativeCell, positive: bool, index: i32, schema: i8, count: u64) {
        loop {
            let w = self.window.load(Acquire);
            // SAFETY: shared-row windows live until the cell drops.
            let current = unsafe { w.as_ref() };
            if let Some(window) = current.filter(|w| schema >= w.schema) {
                if let Some(slot) = window.slot(positive, downscale_index(index, (schema - window.schema) as u32)) {
                    slot.fetch_add(count, Relaxed);
                    return;
                }
            }
            let at = current.map_or(cell.options.schema, |w| w.schema).min(schema);
            let index = downscale_index(index, (schema - at) as u32);
            let (p, n) = if positive { (Some((index, index)), None) } else { (None, Some((index, index))) };
            self.grow_shared(cell, w, p, n, at);
        }
    }

    /// Publishes a shared-row window covering the buckets in use in the
    /// current chain of windows and the ranges `positive` and `negative`
    /// (at `schema`, at most the current window's), the current window
    /// linked behind it; if another thread published first, leaves theirs.
    /// What is in use only grows, so growth ends.
    #[cold]
    fn grow_shared(&self, cell: &NativeCell, w: *mut Window, positive: Used, negative: Used, schema: i8) {
        let (mut p, mut n) = (positive, negative);
        let mut link = w;
        // SAFETY: shared-row windows live until the cell drops.
        while let Some(window) = unsafe { link.as_ref() } {
            let by = (window.schema - schema.min(window.schema)) as u32;
            p = range_union(p, range_coarser(window.used(true), by));
            n = range_union(n, range_coarser(window.used(false), by));
            link = window.previous;
        }
        let (schema, p, n) = fit(schema, p, n, cell.options.max_buckets);
        let fresh = allocate(schema, p, n, cell.options.max_buckets, w);
        if self.window.compare_exchange(w, fresh, AcqRel, Acquire).is_err() {
            // SAFETY: `fresh` was never shared.
            drop(unsafe { Box::from_raw(fresh) });
        }
    }

    /// Adds to the shared row's sum and widens its min and max.
    fn add_totals(&self, sum: f64, min: f64, max: f64) {
        add_float(&self.sum, sum);
        update(&self.min, |cur| min < cur, min);
        update(&self.max, |cur| max > cur, max);
    }

    /// Adds this row into `out`.
    fn read_into(&self, out: &mut NativeHistogramSnapshot) {
        out.zero_count = out.zero_count.wrapping_add(self.zero.load(Relaxed));
        out.sum += f64::from_bits(self.sum.load(Relaxed));
        let (min, max) = (f64::from_bits(self.min.load(Relaxed)), f64::from_bits(self.max.load(Relaxed)));
        if min <= max {
            out.min = Some(out.min.map_or(min, |m| m.min(min)));
            out.max = Some(out.max.map_or(max, |m| m.max(max)));
        }
        let mut w = self.window.load(SeqCst);
        // SAFETY: the caller announced itself in `readers`, so the windows
        // it reaches are not freed while it reads them.
        while let Some(window) = unsafe { w.as_ref() } {
            #[cfg(loom)]
            assert!(!window.freed.load(SeqCst), "a reader reached a freed window");
            out.make_room(window.schema, window.used(true), window.used(false));
            let by = (window.schema - out.schema) as u32;
            for (i, c) in window.counted(true) {
                out.positive.add(downscale_index(i, by), c);
            }
            for (i, c) in window.counted(false) {
                out.negative.add(downscale_index(i, by), c);
            }
            w = window.previous;
        }
    }

    fn free(&mut self) {
        let mut w = self.window.load(Relaxed); // `&mut self`: exact
        while !w.is_null() {
            // SAFETY: `&mut self`: nobody else holds the row's windows.
            let window = unsafe { Box::from_raw(w) };
            w = window.previous;
        }
        for w in self.retired.get_mut().drain(..) {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(w) });
        }
    }
}

#[inline(always)]
fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

fn add_float(c: &AtomicU64, v: f64) {
    let mut cur = c.load(Relaxed);
    while let Err(seen) = c.compare_exchange_weak(cur, (f64::from_bits(cur) + v).to_bits(), Relaxed, Relaxed) {
        cur = seen;
    }
}

fn update(c: &AtomicU64, better: impl Fn(f64) -> bool, v: f64) {
    let mut cur = c.load(Relaxed);
    while better(f64::from_bits(cur)) {
        match c.compare_exchange_weak(cur, v.to_bits(), Relaxed, Relaxed) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

impl NativeCell {
    pub(crate) fn new(options: NativeBuckets) -> Self {
        Self {
            options,
            owner: AtomicU32::new(0),
            base: Row::new(),
            stripes: AtomicPtr::new(std::ptr::null_mut()),
            readers: AtomicU32::new(0),
        }
    }

    pub(crate) fn options(&self) -> NativeBuckets {
        self.options
    }

    /// Records one observation (not NaN).
    #[inline(always)]
    pub(crate) fn observe(&self, v: f64) {
        let stripes = self.stripes.load(Acquire);
        let me = thread_slot::current();
        if stripes.is_null() && me != NO_SLOT {
            let owner = self.owner.load(Relaxed);
            if owner == me + 1 || (owner == 0 && self.owner.compare_exchange(0, me + 1, Relaxed, Relaxed).is_ok()) {
                return self.base.observe_owned(self, v);
            }
        }
        let stripes = if stripes.is_null() { self.inflate() } else { stripes };
        let r = (me as usize).min(STRIPES);
        // SAFETY: `stripes` holds STRIPES + 1 rows living as long as `self`.
        let row = unsafe { &*stripes.add(r) };
        if r < STRIPES {
            row.observe_owned(self, v);
        } else {
            row.observe_shared(self, v);
        }
    }

    #[cold]
    #[inline(never)]
    fn inflate(&self) -> *mut CachePadded<Row> {
        let current = self.stripes.load(Acquire);
        if !current.is_null() {
            return current;
        }
        let rows: Box<[CachePadded<Row>]> = (0..=STRIPES).map(|_| CachePadded::new(Row::new())).collect();
        let fresh = Box::into_raw(rows) as *mut CachePadded<Row>;
        match self.stripes.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Self::rebuild(fresh) });
                existing
            }
        }
    }

    /// # Safety
    /// `p` must come from `inflate`'s allocation.
    unsafe fn rebuild(p: *mut CachePadded<Row>) -> Box<[CachePadded<Row>]> {
        // SAFETY: per the contract, a leaked boxed slice of STRIPES + 1 rows.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, STRIPES + 1)) }
    }

    /// Adds pre-aggregated native data (a received OTLP point, say) through
    /// the shared row, whose updates are atomic whoever else writes. Cold:
    /// receivers only. The zero bucket keeps this cell's threshold.
    pub(crate) fn add(&self, data: &NativeHistogramSnapshot) {
        let stripes = match self.stripes.load(Acquire) {
            p if p.is_null() => self.inflate(),
            p => p,
        };
        // SAFETY: as in `observe`; row STRIPES is the shared one.
        let row = unsafe { &*stripes.add(STRIPES) };
        row.zero.fetch_add(data.zero_count, Relaxed);
        // One window for the whole point, rather than one per bucket beyond the last.
        let w = row.window.load(Acquire);
        // SAFETY: shared-row windows live until the cell drops.
        let at = unsafe { w.as_ref() }.map_or(self.options.schema, |w| w.schema).min(data.schema);
        let by = (data.schema - at) as u32;
        let (p, n) =
            (range_coarser(data.positive.counted_range(), by), range_coarser(data.negative.counted_range(), by));
        let covered = |positive: bool, used: Used| {
            // SAFETY: as above.
            let current = unsafe { w.as_ref() }.filter(|w| w.schema == at);
            used.is_none_or(|(lo, hi)| {
                current.is_some_and(|w| w.slot(positive, lo).is_some() && w.slot(positive, hi).is_some())
            })
        };
        if !covered(true, p) || !covered(false, n) {
            row.grow_shared(self, w, p, n, at);
        }
        for (positive, buckets) in [(true, &data.positive), (false, &data.negative)] {
            for (i, c) in buckets.iter().filter(|&(_, c)| c > 0) {
                row.add_shared(self, positive, i, data.schema, c);
            }
        }
        row.add_totals(data.sum, data.min.unwrap_or(f64::INFINITY), data.max.unwrap_or(f64::NEG_INFINITY));
    }

    /// The cell's state: every row merged at the coarsest schema among
    /// them, then coarsened until the buckets in use fit the limit.
    pub(crate) fn read(&self) -> NativeHistogramSnapshot {
        let mut out = NativeHistogramSnapshot::empty(self.options.schema, self.options.zero_threshold);
        self.readers.fetch_add(1, SeqCst);
        fence(SeqCst);
        self.base.read_into(&mut out);
        let p = self.stripes.load(Acquire);
        if !p.is_null() {
            for r in 0..=STRIPES {
                // SAFETY: as in `observe`.
                unsafe { &*p.add(r) }.read_into(&mut out);
            }
        }
        self.readers.fetch_sub(1, SeqCst);
        out.positive.trim();
        out.negative.trim();
        out.count = out.zero_count.wrapping_add(out.positive.total()).wrapping_add(out.negative.total());
        if out.count == 0 {
            (out.min, out.max) = (None, None);
        }
        out.limit_buckets(self.options.max_buckets as usize);
        out
    }

    /// Heap bytes: the windows in use and the stripes once contended.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.readers.fetch_add(1, SeqCst);
        fence(SeqCst);
        let mut bytes = 0;
        let mut row_bytes = |row: &Row| {
            let mut w = row.window.load(SeqCst);
            // SAFETY: announced in `readers`, as in `read`.
            while let Some(window) = unsafe { w.as_ref() } {
                bytes += size_of::<Window>() + window.counts.len() * size_of::<AtomicU64>();
                w = window.previous;
            }
        };
        row_bytes(&self.base);
        let p = self.stripes.load(Acquire);
        if !p.is_null() {
            for r in 0..=STRIPES {
                // SAFETY: as in `observe`.
                row_bytes(unsafe { &*p.add(r) });
            }
        }
        self.readers.fetch_sub(1, SeqCst);
        if !p.is_null() {
            bytes += (STRIPES + 1) * size_of::<CachePadded<Row>>();
        }
        bytes
    }
}

impl Drop for NativeCell {
    fn drop(&mut self) {
        self.base.free();
        let p = self.stripes.load(Relaxed); // `&mut self`: exact
        if !p.is_null() {
            // SAFETY: from `inflate`; `&mut self` means nobody else holds it.
            let mut rows = unsafe { Self::rebuild(p) };
            for row in rows.iter_mut() {
                row.free();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn options(schema: i8, max: u32) -> NativeBuckets {
        NativeBuckets::new().schema(schema).unwrap().max_buckets(max).unwrap()
    }

    #[test]
    fn one_thread_counts_every_value_in_its_bucket() {
        let cell = NativeCell::new(options(3, 160));
        for v in [1.0, 1.0, 2.0, 3.0, -0.5, 0.0] {
            cell.observe(v);
        }
        let s = cell.read();
        assert_eq!((s.schema, s.count, s.zero_count, s.sum), (3, 6, 1, 6.5));
        assert_eq!(s.positive.iter().filter(|&(_, c)| c > 0).collect::<Vec<_>>(), vec![(0, 2), (8, 1), (13, 1)]);
        assert_eq!(s.negative.iter().filter(|&(_, c)| c > 0).collect::<Vec<_>>(), vec![(-8, 1)]);
        assert_eq!((s.min, s.max), (Some(-0.5), Some(3.0)));
    }

    #[test]
    fn a_wide_range_lowers_the_schema_within_the_limit() {
        let cell = NativeCell::new(options(8, 20));
        // exact powers of two (Miri makes `powi` imprecise on purpose)
        let power = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
        for e in -20..20 {
            cell.observe(power(e));
        }
        let s = cell.read();
        assert_eq!(s.count, 40);
        assert!(s.bucket_span() <= 20, "{}", s.bucket_span());
        assert_eq!(s.schema, -2, "2^-20..2^19 span 21 buckets at schema -1, 11 at -2");
        // once covered, observing again keeps the window (RESIZES is
        // process-wide, and other tests resize in parallel)
        let before = cell.base.window.load(Relaxed);
        for e in -20..20 {
            cell.observe(power(e) * 0.9);
        }
        assert_eq!(cell.base.window.load(Relaxed), before, "no new window");
    }

    #[test]
    fn the_widest_range_there_is_fits_at_the_finest_schema_too() {
        // At schema 20 the smallest subnormal's bucket and infinity's are
        // more than i32::MAX indexes apart (a property test found the
        // overflow); both signs at once, so the two spans' sum passes u32.
        let cell = NativeCell::new(options(20, 160).zero_threshold(0.0).unwrap());
        for v in [f64::INFINITY, 5e-324, f64::NEG_INFINITY, -5e-324] {
            cell.observe(v);
        }
        let s = cell.read();
        assert_eq!((s.count, s.zero_count), (4, 0));
        // Even the coarsest schema needs 133 buckets a sign for this range,
        // past the limit of 160 for both: the limit gives way, as documented.
        assert_eq!(s.schema, MIN_SCHEMA);
        let (lo, hi) = (bucket_index(5e-324, MIN_SCHEMA), bucket_index(f64::INFINITY, MIN_SCHEMA));
        assert_eq!(hi - lo + 1, 133);
        let counted: Vec<(i32, u64)> = s.positive.iter().filter(|&(_, c)| c > 0).collect();
        assert_eq!(counted, vec![(lo, 1), (hi, 1)]);
        assert_eq!(s.bucket_span(), 2 * 133);
    }

    #[test]
    fn rows_far_apart_are_read_at_a_schema_where_they_fit() {
        // Each thread's row is narrow, at schema 20, but one holds infinity
        // and the other the smallest subnormal: read densely at schema 20
        // they would need more than 2^31 buckets.
        let cell = Arc::new(NativeCell::new(options(20, 160).zero_threshold(0.0).unwrap()));
        cell.observe(f64::INFINITY);
        let other = cell.clone();
        std::thread::spawn(move || other.observe(5e-324)).join().unwrap();
        let s = cell.read();
        assert_eq!(s.count, 2);
        assert!(s.bucket_span() <= 160, "{}", s.bucket_span());
        let counted: Vec<(i32, u64)> = s.positive.iter().filter(|&(_, c)| c > 0).collect();
        assert_eq!(counted, vec![(bucket_index(5e-324, s.schema), 1), (bucket_index(f64::INFINITY, s.schema), 1)]);
    }

    #[test]
    fn threads_beyond_the_stripes_share_a_row_and_lose_nothing() {
        let rounds: u64 = if cfg!(miri) { 20 } else { 2_000 };
        let threads = if cfg!(miri) { 4 } else { STRIPES as u64 + 6 };
        let cell = Arc::new(NativeCell::new(options(8, 40)));
        let barrier = Arc::new(std::sync::Barrier::new(threads as usize));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (cell, barrier) = (cell.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait(); // all alive at once: some slots are past the stripes
                    for i in 0..rounds {
                        // spread over many powers of two, so rows resize while others write
                        let v = 2f64.powi(((i + t) % 30) as i32 - 15) * if i % 7 == 0 { -1.0 } else { 1.0 };
                        cell.observe(v);
                    }
                })
            })
            .collect();
        let mut last = 0;
        while !handles.iter().all(|h| h.is_finished()) {
            let s = cell.read();
            assert!(s.count >= last, "counts never go back");
            last = s.count;
        }
        handles.into_iter().for_each(|h| h.join().unwrap());
        let s = cell.read();
        assert_eq!(s.count, threads * rounds);
        assert!(s.bucket_span() <= 40);
    }
}
