//! A lock-free map from label values to series, built for the lookup path.
//!
//! Open addressing with linear probing over a table of entry pointers. Reads
//! take no lock and touch no shared counter: hash the values, probe, compare.
//! Writes (new series, removals, growth) take a mutex and publish with
//! release stores. Unlinked entries and outgrown tables are retired and freed
//! once [`reclaim::quiescent`] shows no reader can still hold them.

use crate::sync::{AtomicPtr, AtomicUsize, Liveness, Mutex, Ordering::*};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};

use super::reclaim::{self, ReadGuard};
use crate::labels::{encode_len, LabelKeyRef, LabelLookup};

/// Slots in a new index's table.
#[cfg(not(loom))]
const INITIAL_CAPACITY: usize = 16;
/// Under the model: two slots, so the second insert already grows the table.
#[cfg(loom)]
const INITIAL_CAPACITY: usize = 2;

/// The table grows when entries and tombstones would fill more than this
/// many sixteenths of its slots. At 13/16 a lookup of a
/// present series probes about three slots on average, one for a missing
/// series about fourteen. The slots cost 8 / load bytes per series: 10 to
/// 20, by where the count falls between two growths (11 to 21 when the
/// table grew at 3/4 to half full).
const MAX_LOAD_SIXTEENTHS: usize = 13;

/// A slot whose entry was removed: probing continues past it.
const TOMBSTONE: usize = 1;

/// An entry: this header, then the encoded label key, in one allocation (so
/// a lookup reaches hash, metric and key bytes in one or two cache lines).
/// The hash and the key's length are 32 bits (keys are far shorter: values
/// are capped at `MAX_LABEL_VALUE_LEN`), so with a one-word metric handle
/// the header is 16 bytes.
#[repr(C)]
struct Entry<M> {
    hash: u32,
    key_len: u32,
    /// Zero-sized outside the loom model, where it catches reads after free.
    live: Liveness,
    metric: M,
}

impl<M> Entry<M> {
    fn layout(key_len: usize) -> (Layout, usize) {
        let (layout, offset) = Layout::new::<Self>()
            .extend(Layout::array::<u8>(key_len).expect("key length fits"))
            .expect("entry layout fits");
        debug_assert_eq!(offset, size_of::<Self>());
        (layout.pad_to_align(), offset)
    }

    /// Allocates an entry for `lookup`'s values.
    fn allocate(hash: u32, lookup: &LabelLookup<'_>, metric: M) -> *mut Self {
        let key_len: usize = lookup.iter().map(|v| encode_len(v.len()).1 + v.len()).sum();
        // Values are capped far below this; a prefix of constant labels over
        // 4 GiB cannot be built in the first place.
        let stored_len = u32::try_from(key_len).expect("label key under 4 GiB");
        let (layout, offset) = Self::layout(key_len);
        // SAFETY: the layout is non-zero-sized (the header has two words).
        let p = unsafe { alloc(layout) } as *mut Self;
        if p.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: `p` is a fresh allocation of `layout`: the header fits at
        // the start and `key_len` bytes at `offset`.
        unsafe {
            p.write(Self { hash, key_len: stored_len, live: Liveness::new(), metric });
            let mut at = (p as *mut u8).add(offset);
            for v in lookup.iter() {
                let (len, n) = encode_len(v.len());
                std::ptr::copy_nonoverlapping(len.as_ptr(), at, n);
                std::ptr::copy_nonoverlapping(v.as_ptr(), at.add(n), v.len());
                at = at.add(n + v.len());
            }
        }
        p
    }

    /// The entry's hash.
    ///
    /// # Safety
    /// `p` must be a live entry from [`Entry::allocate`].
    #[inline(always)]
    unsafe fn hash_of(p: *const Self) -> u32 {
        // SAFETY: per the contract.
        unsafe {
            (*p).live.check();
            (*p).hash
        }
    }

    /// The encoded key.
    ///
    /// # Safety
    /// `p` must be a live entry from [`Entry::allocate`].
    #[inline(always)]
    unsafe fn key<'a>(p: *const Self) -> LabelKeyRef<'a> {
        // SAFETY: per the contract, the key bytes follow the header; bytes
        // have alignment 1, so they start right at the header's size.
        unsafe {
            (*p).live.check();
            let len = (*p).key_len as usize;
            LabelKeyRef::new(std::slice::from_raw_parts((p as *const u8).add(size_of::<Self>()), len))
        }
    }

    /// # Safety
    /// `p` must be a live entry no one else can reach.
    unsafe fn free(p: *mut Self) {
        // SAFETY: per the contract.
        unsafe {
            (*p).live.retire();
            let layout = Self::layout((*p).key_len as usize).0;
            std::ptr::drop_in_place(p);
            dealloc(p as *mut u8, layout);
        }
    }
}

/// A table: its mask, then `mask + 1` slots, in one allocation.
#[repr(C)]
struct Table {
    mask: usize,
    /// Zero-sized outside the loom model, where it catches reads after free.
    live: Liveness,
}

impl Table {
    /// Where the slots start: right after the header, aligned for them.
    const SLOTS_AT: usize = size_of::<Self>().next_multiple_of(align_of::<AtomicPtr<()>>());

    /// The allocation's layout and the slots' offset in it.
    fn layout(capacity: usize) -> (Layout, usize) {
        let (layout, offset) = Layout::new::<Self>()
            .extend(Layout::array::<AtomicPtr<()>>(capacity).expect("capacity fits"))
            .expect("table layout fits");
        debug_assert_eq!(offset, Self::SLOTS_AT);
        (layout.pad_to_align(), offset)
    }

    /// A table of `capacity` (a power of two) empty slots.
    fn allocate(capacity: usize) -> *mut Self {
        let (layout, offset) = Self::layout(capacity);
        // SAFETY: non-zero size (the header is at least one word).
        let p = unsafe { alloc(layout) } as *mut Self;
        if p.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: fresh allocation with room for the header at the start and
        // `capacity` slots at `offset`, each written before use.
        unsafe {
            p.write(Self { mask: capacity - 1, live: Liveness::new() });
            let slots = (p as *mut u8).add(offset) as *mut AtomicPtr<()>;
            for i in 0..capacity {
                slots.add(i).write(AtomicPtr::new(std::ptr::null_mut()));
            }
        }
        p
    }

    /// # Safety
    /// `p` must be a live table from [`Table::allocate`].
    #[inline(always)]
    unsafe fn slots<'a, M>(p: *const Self) -> &'a [AtomicPtr<Entry<M>>] {
        // SAFETY: per the contract, `mask + 1` initialised slots start at
        // the layout's offset (`AtomicPtr<T>` has the same layout for all T).
        unsafe {
            (*p).live.check();
            let capacity = (*p).mask + 1;
            std::slice::from_raw_parts((p as *const u8).add(Self::SLOTS_AT) as *const AtomicPtr<Entry<M>>, capacity)
        }
    }

    /// # Safety
    /// `p` must be a live table no reader can reach; its entries are not freed.
    unsafe fn free(p: *mut Self) {
        // SAFETY: per the contract; the slots and header were written by
        // `allocate` and are dropped in place (a no-op outside the model).
        unsafe {
            (*p).live.retire();
            let capacity = (*p).mask + 1;
            let (layout, offset) = Self::layout(capacity);
            let slots = (p as *mut u8).add(offset) as *mut AtomicPtr<()>;
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(slots, capacity));
            std::ptr::drop_in_place(p);
            dealloc(p as *mut u8, layout);
        }
    }
}

/// Memory unlinked from the index, freed when dropped.
enum Retired<M> {
    Entry(*mut Entry<M>),
    Table(*mut Table),
}

impl<M> Drop for Retired<M> {
    fn drop(&mut self) {
        // SAFETY: retired memory is unreachable by readers once quiescence was
        // observed (or the index is being dropped), and owned only here.
        unsafe {
            match *self {
                Self::Entry(p) => Entry::free(p),
                Self::Table(p) => Table::free(p),
            }
        }
    }
}

struct Writer<M> {
    /// Slots holding a tombstone in the current table.
    tombstones: usize,
    retired: Vec<Retired<M>>,
    /// Tables built so far (grown or rehashed in place).
    rebuilds: usize,
}

pub(crate) struct LabelIndex<M> {
    table: AtomicPtr<Table>,
    len: AtomicUsize,
    /// Bytes of the live entries' allocations (keys included).
    entry_bytes: AtomicUsize,
    /// Bumped whenever the set of entries changes.
    generation: AtomicUsize,
    /// Entries sorted by label values, valid for `generation`.
    sorted: Mutex<(usize, Vec<*mut Entry<M>>)>,
    seed: u64,
    writer: Mutex<Writer<M>>,
}

// SAFETY: entries are shared between threads only through `&M`, which needs
// `M: Sync`; dropping the index drops owned `M`s, which needs `M: Send`.
unsafe impl<M: Send + Sync> Send for LabelIndex<M> {}
// SAFETY: as above.
unsafe impl<M: Send + Sync> Sync for LabelIndex<M> {}

#[inline(always)]
fn fold(x: u64, k: u64) -> u64 {
    let m = (x as u128).wrapping_mul(k as u128);
    (m as u64) ^ ((m >> 64) as u64)
}

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xBF58_476D_1CE4_E5B9;

/// Hashes label values with a per-process random seed. Each value is
/// hashed on its own (one multiply for values up to 16 bytes, so the values'
/// multiplies overlap in the pipeline) and the results are combined in
/// order. Equality is always checked on the full values; the hash only picks
/// the slot.
#[inline(always)]
fn hash_values(seed: u64, lookup: &LabelLookup<'_>) -> u64 {
    let mut h = seed;
    for v in lookup.prefix {
        h = h.rotate_left(23) ^ hash_value(seed, v.as_bytes());
    }
    for v in lookup.values {
        h = h.rotate_left(23) ^ hash_value(seed, v.as_bytes());
    }
    fold(h, K2)
}

#[inline(always)]
fn hash_value(seed: u64, b: &[u8]) -> u64 {
    let n = b.len();
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    match n {
        0..=8 => fold(tail_word(b) ^ seed, K1 ^ n as u64),
        9..=16 => fold(word(0) ^ seed, word(n - 8) ^ K1 ^ n as u64),
        _ => {
            let mut h = fold(seed ^ n as u64, K1);
            let mut chunks = b.chunks_exact(8);
            for c in &mut chunks {
                h = fold(h ^ u64::from_le_bytes(c.try_into().expect("8-byte chunk")), K2);
            }
            fold(h ^ tail_word(&b[n - 8..]), K1)
        }
    }
}

/// Reads up to 8 bytes as a word without a call: a whole word directly,
/// shorter values as two overlapping reads (the wyhash trick).
#[inline(always)]
fn tail_word(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 8 {
        u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
    } else if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
        (hi << 32) | lo
    } else if n > 0 {
        ((b[0] as u64) << 16) | ((b[n / 2] as u64) << 8) | b[n - 1] as u64
    } else {
        0
    }
}

/// Under the model a fixed seed: loom replays each execution, which must
/// then probe the same slots.
#[cfg(loom)]
fn random_seed() -> u64 {
    0x9E37_79B9_7F4A_7C15
}

#[cfg(not(loom))]
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(&h as *const _ as usize);
    h.finish() | 1
}

impl<M> LabelIndex<M> {
    pub(crate) fn new() -> Self {
        reclaim::init();
        Self {
            table: AtomicPtr::new(Table::allocate(INITIAL_CAPACITY)),
            len: AtomicUsize::new(0),
            entry_bytes: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sorted: Mutex::new((usize::MAX, Vec::new())),
            seed: random_seed(),
            writer: Mutex::new(Writer { tombstones: 0, retired: Vec::new(), rebuilds: 0 }),
        }
    }

    /// The slot-choosing hash of `lookup` (the low half of the 64-bit one).
    #[inline(always)]
    fn hash(&self, lookup: &LabelLookup<'_>) -> u32 {
        hash_values(self.seed, lookup) as u32
    }

    /// The series for `lookup`, if present. Lock-free.
    #[inline(always)]
    pub(crate) fn get<'g>(&'g self, lookup: &LabelLookup<'_>, _guard: &'g ReadGuard) -> Option<&'g M> {
        let hash = self.hash(lookup);
        // SAFETY: the current table stays allocated while a guard is held
        // (outgrown tables are retired, not freed).
        let slots = unsafe { Table::slots::<M>(self.table.load(Acquire)) };
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let p = slots[i].load(Acquire);
            if p.is_null() {
                return None;
            }
            if p.addr() != TOMBSTONE {
                // SAFETY: published entries stay allocated while a guard is held.
                if unsafe { Entry::hash_of(p) } == hash && lookup.matches(unsafe { Entry::key(p) }) {
                    // SAFETY: as above.
                    return Some(unsafe { &(*p).metric });
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The series for `lookup`, inserting `make()` if absent.
    pub(crate) fn get_or_insert_with<'g>(
        &'g self,
        lookup: &LabelLookup<'_>,
        make: impl FnOnce() -> M,
        guard: &'g ReadGuard,
    ) -> &'g M {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = self.get(lookup, guard) {
            return m;
        }
        let entry = Entry::allocate(self.hash(lookup), lookup, make());
        self.insert_locked(&mut w, entry);
        self.try_reclaim(&mut w);
        // SAFETY: just published; freed only after removal and quiescence.
        unsafe { &(*entry).metric }
    }

    fn insert_locked(&self, w: &mut Writer<M>, entry: *mut Entry<M>) {
        let mut table = self.table.load(Acquire);
        // SAFETY: only the writer (we hold the lock) replaces the table.
        let capacity = unsafe { (*table).mask + 1 };
        if (self.len.load(Relaxed) + w.tombstones + 1) * 16 > capacity * MAX_LOAD_SIXTEENTHS {
            table = self.grow(w, table);
        }
        // SAFETY: live table; `entry` is a live, unpublished allocation.
        let (slots, hash) = unsafe { (Table::slots::<M>(table), (*entry).hash) };
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let p = slots[i].load(Relaxed);
            if p.is_null() || p.addr() == TOMBSTONE {
                if p.addr() == TOMBSTONE {
                    w.tombstones -= 1;
                }
                slots[i].store(entry, Release);
                self.len.fetch_add(1, Relaxed);
                // SAFETY: live entry, owned by this index.
                self.entry_bytes.fetch_add(Entry::<M>::layout(unsafe { (*entry).key_len } as usize).0.size(), Relaxed);
                self.generation.fetch_add(1, Release);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Copies live entries into the smallest table, no smaller than the old
    /// one, whose live entries leave at least 2/16 of its slots free under
    /// the load limit: twice the size when live entries filled the old one,
    /// the same size when tombstones did. The headroom keeps churn cheap: a
    /// table rebuilt in place takes cap/8 more inserts or removals before it
    /// is rebuilt again. Publishes it and retires the old one.
    fn grow(&self, w: &mut Writer<M>, old: *mut Table) -> *mut Table {
        let live = self.len.load(Relaxed);
        // SAFETY: `old` is the live table; we hold the writer lock.
        let old_slots = unsafe { Table::slots::<M>(old) };
        let mut cap = old_slots.len();
        while (live + 1) * 16 > cap * (MAX_LOAD_SIXTEENTHS - 2) {
            cap *= 2;
        }
        let fresh = Table::allocate(cap);
        // SAFETY: fresh, unpublished table.
        let slots = unsafe { Table::slots::<M>(fresh) };
        for s in old_slots {
            let p = s.load(Relaxed);
            if p.is_null() || p.addr() == TOMBSTONE {
                continue;
            }
            // SAFETY: live entry owned by this index.
            let mut i = unsafe { Entry::hash_of(p) } as usize & (cap - 1);
            while !slots[i].load(Relaxed).is_null() {
                i = (i + 1) & (cap - 1);
            }
            slots[i].store(p, Relaxed);
        }
        self.table.store(fresh, Release);
        w.tombstones = 0;
        w.rebuilds += 1;
        w.retired.push(Retired::Table(old));
        fresh
    }

    /// Removes the entries for which `remove` is true; returns how many.
    pub(crate) fn remove_where(&self, mut remove: impl FnMut(LabelKeyRef<'_>, &M) -> bool) -> usize {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: only the writer replaces the table.
        let slots = unsafe { Table::slots::<M>(self.table.load(Acquire)) };
        let mut removed = 0;
        for s in slots {
            let p = s.load(Relaxed);
            if p.is_null() || p.addr() == TOMBSTONE {
                continue;
            }
            // SAFETY: live entry owned by this index.
            if remove(unsafe { Entry::key(p) }, unsafe { &(*p).metric }) {
                s.store(std::ptr::without_provenance_mut(TOMBSTONE), Release);
                w.tombstones += 1;
                self.len.fetch_sub(1, Relaxed);
                // SAFETY: as above.
                self.entry_bytes.fetch_sub(Entry::<M>::layout(unsafe { (*p).key_len } as usize).0.size(), Relaxed);
                w.retired.push(Retired::Entry(p));
                self.generation.fetch_add(1, Release);
                removed += 1;
            }
        }
        self.try_reclaim(&mut w);
        removed
    }

    /// Frees retired memory if no reader can hold it any more.
    fn try_reclaim(&self, w: &mut Writer<M>) {
        if !w.retired.is_empty() && reclaim::quiescent() {
            w.retired.clear();
        }
    }

    /// Frees retired memory when safe (called at collection time).
    pub(crate) fn reclaim(&self) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.try_reclaim(&mut w);
    }

    /// Calls `f` for every series (in table order).
    pub(crate) fn for_each<'g>(&'g self, _guard: &'g ReadGuard, mut f: impl FnMut(LabelKeyRef<'g>, &'g M)) {
        // SAFETY: as in `get`.
        let slots = unsafe { Table::slots::<M>(self.table.load(Acquire)) };
        for s in slots {
            let p = s.load(Acquire);
            if !p.is_null() && p.addr() != TOMBSTONE {
                // SAFETY: as in `get`.
                f(unsafe { Entry::key(p) }, unsafe { &(*p).metric });
            }
        }
    }

    /// Calls `f` for every series in label-value order. The order is cached
    /// until the set of series changes, so steady-state scrapes do not sort.
    pub(crate) fn for_each_sorted<'g>(&'g self, guard: &'g ReadGuard, mut f: impl FnMut(LabelKeyRef<'g>, &'g M)) {
        let mut sorted = self.sorted.lock().unwrap_or_else(|p| p.into_inner());
        let generation = self.generation.load(Acquire);
        if sorted.0 != generation {
            let mut entries: Vec<*mut Entry<M>> = Vec::with_capacity(self.len());
            // SAFETY: as in `get`.
            let slots = unsafe { Table::slots::<M>(self.table.load(Acquire)) };
            entries.extend(slots.iter().map(|s| s.load(Acquire)).filter(|p| !p.is_null() && p.addr() != TOMBSTONE));
            // SAFETY: live entries (guard held).
            entries.sort_unstable_by(|a, b| unsafe { Entry::key(*a).values().cmp(Entry::key(*b).values()) });
            *sorted = (generation, entries);
        }
        let _ = guard;
        for &p in &sorted.1 {
            // SAFETY: the cache matches a generation observed under this
            // guard; entries removed since then are retired, and retired
            // memory is not freed while the guard is held.
            f(unsafe { Entry::key(p) }, unsafe { &(*p).metric });
        }
    }

    /// Heap bytes of the index itself: its table, its entries (label keys
    /// included, the metrics' own allocations not), its sorted-order cache.
    pub(crate) fn heap_bytes(&self) -> usize {
        // SAFETY: the table pointer is always a live table; only its mask is read.
        let capacity = unsafe { (*self.table.load(Acquire)).mask } + 1;
        let sorted = self.sorted.lock().unwrap_or_else(|p| p.into_inner()).1.capacity();
        Table::layout(capacity).0.size() + self.entry_bytes.load(Relaxed) + sorted * size_of::<*mut Entry<M>>()
    }

    /// Number of series.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }
}

impl<M> Drop for LabelIndex<M> {
    fn drop(&mut self) {
        // `&mut self`: no reader holds a guard borrowed from this index.
        // `&mut self`: no other reference exists, so a relaxed load is exact.
        let table = self.table.load(Relaxed);
        // SAFETY: the current table and its live entries are owned here.
        unsafe {
            for s in Table::slots::<M>(table) {
                let p = s.load(Relaxed);
                if !p.is_null() && p.addr() != TOMBSTONE {
                    Entry::free(p);
                }
            }
            Table::free(table);
        }
        // Retired memory is freed by `Writer`'s drop.
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn lookup<'a>(v: &'a [&'a str]) -> LabelLookup<'a> {
        LabelLookup { prefix: &[], values: v }
    }

    #[test]
    fn insert_get_grow_remove() {
        let idx = LabelIndex::<u32>::new();
        let g = ReadGuard::enter();
        let names: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(*idx.get_or_insert_with(&lookup(&[n, "x"]), || i as u32, &g), i as u32);
        }
        assert_eq!(idx.len(), 1000);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(idx.get(&lookup(&[n, "x"]), &g), Some(&(i as u32)));
            assert_eq!(idx.get(&lookup(&[n, "y"]), &g), None);
        }
        drop(g);
        assert_eq!(idx.remove_where(|_, v| v % 2 == 0), 500);
        let g = ReadGuard::enter();
        assert_eq!(idx.get(&lookup(&["v2", "x"]), &g), None);
        assert_eq!(idx.get(&lookup(&["v3", "x"]), &g), Some(&3));
        // reinsertion reuses tombstones and stays findable
        for n in names.iter().take(100) {
            idx.get_or_insert_with(&lookup(&[n, "x"]), || 7, &g);
        }
        let mut seen = HashSet::new();
        idx.for_each(&g, |k, _| assert!(seen.insert(format!("{k:?}"))));
        assert!(seen.contains(r#"["v3", "x"]"#));
        assert_eq!(seen.len(), idx.len());
        assert_eq!(idx.len(), 550);
    }

    #[test]
    fn heap_bytes_follow_inserts_and_removals() {
        let idx = LabelIndex::<u64>::new();
        let empty = idx.heap_bytes();
        let g = ReadGuard::enter();
        let long = "x".repeat(1000);
        idx.get_or_insert_with(&lookup(&[&long]), || 1, &g);
        let one = idx.heap_bytes();
        // The entry holds the 1000-byte value and its 4-byte length.
        assert!(one - empty >= 1004 + size_of::<Entry<u64>>(), "{empty} -> {one}");
        assert!(one - empty < 1004 + size_of::<Entry<u64>>() + 16, "{empty} -> {one}");
        drop(g);
        idx.remove_where(|_, _| true);
        assert_eq!(idx.heap_bytes(), empty);
        let g = ReadGuard::enter();
        for i in 0..1000u64 {
            idx.get_or_insert_with(&lookup(&[&i.to_string()]), || i, &g);
        }
        // The table grew to at least two slots per series.
        assert!(idx.heap_bytes() >= 2000 * size_of::<usize>() + 1000 * size_of::<Entry<u64>>());
    }

    /// Churn at the load limit (remove one series, add another) rebuilds
    /// the table rarely: a rebuild leaves headroom, so it is not redone on
    /// the next insert.
    #[test]
    fn churn_at_the_load_limit_rebuilds_rarely() {
        let idx = LabelIndex::<u64>::new();
        let g = ReadGuard::enter();
        let limit = 1024 * MAX_LOAD_SIXTEENTHS / 16;
        for i in 0..limit as u64 {
            idx.get_or_insert_with(&lookup(&[&i.to_string()]), || i, &g);
        }
        drop(g);
        // SAFETY: the table pointer is always a live table; only its mask is read.
        let capacity = || unsafe { (*idx.table.load(Acquire)).mask } + 1;
        let rebuilds = || idx.writer.lock().unwrap().rebuilds;
        assert_eq!(capacity(), 1024, "filled to the limit, not past it");
        let before = rebuilds();
        let rounds = if cfg!(miri) { 200 } else { 4000 };
        for i in 0..rounds {
            assert_eq!(idx.remove_where(|_, v| *v == i), 1);
            let g = ReadGuard::enter();
            let fresh = limit as u64 + i;
            idx.get_or_insert_with(&lookup(&[&fresh.to_string()]), || fresh, &g);
        }
        assert_eq!(idx.len(), limit);
        let churned = rebuilds() - before;
        assert!(churned <= 1 + rounds as usize / 200, "{churned} rebuilds for {rounds} rounds of churn");
    }

    #[test]
    fn concurrent_readers_and_writers() {
        let idx = Arc::new(LabelIndex::<Arc<u64>>::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let idx = idx.clone();
                std::thread::spawn(move || {
                    for round in 0..if cfg!(miri) { 120 } else { 2000u64 } {
                        let k = format!("k{}", round % 300);
                        let g = ReadGuard::enter();
                        let v = idx.get_or_insert_with(&lookup(&[&k]), || Arc::new(round % 300), &g);
                        assert_eq!(**v, round % 300);
                        drop(g);
                        if t == 0 && round % 100 == 0 {
                            idx.remove_where(|_, v| **v % 7 == 0);
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
    }
}
