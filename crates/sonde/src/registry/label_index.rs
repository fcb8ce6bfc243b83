//! A lock-free map from label values to series, built for the lookup path.
//!
//! Open addressing with linear probing over a table of entry pointers. Reads
//! take no lock and touch no shared counter: hash the values, probe, compare.
//! Writes (new series, removals, growth) take a mutex and publish with
//! release stores. Unlinked entries and outgrown tables are retired and freed
//! once [`reclaim::quiescent`] shows no reader can still hold them.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};
use std::sync::Mutex;

use super::reclaim::{self, ReadGuard};
use crate::labels::{LabelKey, LabelLookup};

/// A slot whose entry was removed: probing continues past it.
const TOMBSTONE: usize = 1;

struct Entry<M> {
    hash: u64,
    key: LabelKey,
    metric: M,
}

struct Table<M> {
    slots: Box<[AtomicPtr<Entry<M>>]>,
}

impl<M> Table<M> {
    fn new(capacity: usize) -> Box<Self> {
        Box::new(Self {
            slots: (0..capacity)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        })
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }
}

/// Unlinked memory waiting for quiescence; held only so dropping frees it.
#[allow(dead_code)]
enum Retired<M> {
    Entry(Box<Entry<M>>),
    Table(Box<Table<M>>),
}

struct Writer<M> {
    /// Slots holding a tombstone in the current table.
    tombstones: usize,
    retired: Vec<Retired<M>>,
}

pub(crate) struct LabelIndex<M> {
    table: AtomicPtr<Table<M>>,
    len: AtomicUsize,
    seed: u64,
    writer: Mutex<Writer<M>>,
}

// SAFETY: entries are shared between threads only through `&M` and `&LabelKey`,
// which requires `M: Sync`; moving the index moves owned `M`s (`M: Send`).
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

/// Reads up to 8 bytes as a word without a call: whole words directly,
/// shorter tails as two overlapping reads (the wyhash trick).
#[inline(always)]
fn tail_word(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
        (hi << 32) | lo
    } else if n > 0 {
        ((b[0] as u64) << 16) | ((b[n / 2] as u64) << 8) | b[n - 1] as u64
    } else {
        0
    }
}

/// Hashes label values: length and 8-byte words of each, folded with a
/// per-process random seed.
#[inline(always)]
fn hash_values<'a>(seed: u64, values: impl Iterator<Item = &'a str>) -> u64 {
    let mut h = seed;
    for v in values {
        let b = v.as_bytes();
        h = fold(h ^ b.len() as u64, K1);
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            h = fold(
                h ^ u64::from_le_bytes(c.try_into().expect("8-byte chunk")),
                K2,
            );
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            h = fold(h ^ tail_word(rest), K2);
        }
    }
    h ^ (h >> 29)
}

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
            table: AtomicPtr::new(Box::into_raw(Table::new(16))),
            len: AtomicUsize::new(0),
            seed: random_seed(),
            writer: Mutex::new(Writer {
                tombstones: 0,
                retired: Vec::new(),
            }),
        }
    }

    #[inline(always)]
    fn hash(&self, lookup: &LabelLookup<'_>) -> u64 {
        hash_values(self.seed, lookup.iter())
    }

    /// The series for `lookup`, if present. Lock-free.
    #[inline(always)]
    pub(crate) fn get<'g>(
        &'g self,
        lookup: &LabelLookup<'_>,
        _guard: &'g ReadGuard,
    ) -> Option<&'g M> {
        let hash = self.hash(lookup);
        // SAFETY: the current table stays allocated while a guard is held
        // (outgrown tables are retired, not freed).
        let table = unsafe { &*self.table.load(Acquire) };
        let mask = table.mask();
        let mut i = hash as usize & mask;
        loop {
            let p = table.slots[i].load(Acquire);
            if p.is_null() {
                return None;
            }
            if p as usize != TOMBSTONE {
                // SAFETY: published entries stay allocated while a guard is held.
                let e = unsafe { &*p };
                if e.hash == hash && lookup.matches(&e.key) {
                    return Some(&e.metric);
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
        let hash = self.hash(lookup);
        let entry = Box::into_raw(Box::new(Entry {
            hash,
            key: lookup.to_key(),
            metric: make(),
        }));
        self.insert_locked(&mut w, entry);
        self.try_reclaim(&mut w);
        // SAFETY: just published; freed only after removal and quiescence.
        unsafe { &(*entry).metric }
    }

    fn insert_locked(&self, w: &mut Writer<M>, entry: *mut Entry<M>) {
        // SAFETY: only the writer (we hold the lock) replaces the table.
        let mut table = unsafe { &*self.table.load(Acquire) };
        let used = self.len.load(Relaxed) + w.tombstones + 1;
        if used * 4 > table.slots.len() * 3 {
            table = self.grow(w, table);
        }
        // SAFETY: `entry` is a live, unpublished allocation.
        let hash = unsafe { (*entry).hash };
        let mask = table.mask();
        let mut i = hash as usize & mask;
        loop {
            let p = table.slots[i].load(Relaxed);
            if p.is_null() || p as usize == TOMBSTONE {
                if p as usize == TOMBSTONE {
                    w.tombstones -= 1;
                }
                table.slots[i].store(entry, Release);
                self.len.fetch_add(1, Relaxed);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Copies live entries into a table twice as large (or the same size
    /// when tombstones dominate), publishes it and retires the old one.
    fn grow<'t>(&'t self, w: &mut Writer<M>, old: &Table<M>) -> &'t Table<M> {
        let live = self.len.load(Relaxed);
        let mut cap = old.slots.len();
        while (live + 1) * 2 > cap {
            cap *= 2;
        }
        let fresh = Table::new(cap);
        let mask = fresh.mask();
        for s in old.slots.iter() {
            let p = s.load(Relaxed);
            if p.is_null() || p as usize == TOMBSTONE {
                continue;
            }
            // SAFETY: live entry owned by this index.
            let mut i = unsafe { (*p).hash } as usize & mask;
            while !fresh.slots[i].load(Relaxed).is_null() {
                i = (i + 1) & mask;
            }
            fresh.slots[i].store(p, Relaxed);
        }
        let fresh = Box::into_raw(fresh);
        let old = self.table.swap(fresh, AcqRel);
        w.tombstones = 0;
        // SAFETY: `old` came from Box::into_raw and is now unlinked.
        w.retired
            .push(Retired::Table(unsafe { Box::from_raw(old) }));
        // SAFETY: just published; replaced only under the writer lock.
        unsafe { &*fresh }
    }

    /// Removes the entries for which `remove` is true; returns how many.
    pub(crate) fn remove_where(&self, mut remove: impl FnMut(&LabelKey, &M) -> bool) -> usize {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: only the writer replaces the table.
        let table = unsafe { &*self.table.load(Acquire) };
        let mut removed = 0;
        for s in table.slots.iter() {
            let p = s.load(Relaxed);
            if p.is_null() || p as usize == TOMBSTONE {
                continue;
            }
            // SAFETY: live entry owned by this index.
            let e = unsafe { &*p };
            if remove(&e.key, &e.metric) {
                s.store(TOMBSTONE as *mut Entry<M>, Release);
                w.tombstones += 1;
                self.len.fetch_sub(1, Relaxed);
                // SAFETY: unlinked; readers may still hold it until quiescence.
                w.retired.push(Retired::Entry(unsafe { Box::from_raw(p) }));
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
    pub(crate) fn for_each(&self, _guard: &ReadGuard, mut f: impl FnMut(&LabelKey, &M)) {
        // SAFETY: as in `get`.
        let table = unsafe { &*self.table.load(Acquire) };
        for s in table.slots.iter() {
            let p = s.load(Acquire);
            if !p.is_null() && p as usize != TOMBSTONE {
                // SAFETY: as in `get`.
                let e = unsafe { &*p };
                f(&e.key, &e.metric);
            }
        }
    }

    /// Number of series.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }
}

impl<M> Drop for LabelIndex<M> {
    fn drop(&mut self) {
        // `&mut self`: no reader holds a guard borrowed from this index.
        let table = *self.table.get_mut();
        // SAFETY: the current table and its live entries are owned here.
        let table = unsafe { Box::from_raw(table) };
        for s in table.slots.iter() {
            let p = s.load(Relaxed);
            if !p.is_null() && p as usize != TOMBSTONE {
                // SAFETY: live entry, owned by the index.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn lookup<'a>(v: &'a [&'a str]) -> LabelLookup<'a> {
        LabelLookup {
            prefix: &[],
            values: v,
        }
    }

    #[test]
    fn insert_get_grow_remove() {
        let idx = LabelIndex::<u32>::new();
        let g = ReadGuard::enter();
        let names: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                *idx.get_or_insert_with(&lookup(&[n, "x"]), || i as u32, &g),
                i as u32
            );
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
        assert_eq!(seen.len(), idx.len());
        assert_eq!(idx.len(), 550);
    }

    #[test]
    fn concurrent_readers_and_writers() {
        let idx = Arc::new(LabelIndex::<Arc<u64>>::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let idx = idx.clone();
                std::thread::spawn(move || {
                    for round in 0..2000u64 {
                        let k = format!("k{}", round % 300);
                        let g = ReadGuard::enter();
                        let v =
                            idx.get_or_insert_with(&lookup(&[&k]), || Arc::new(round % 300), &g);
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
