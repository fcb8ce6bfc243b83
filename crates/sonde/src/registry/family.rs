//! A labeled family: series keyed by label values, with a lock-free lookup.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::label_index::LabelIndex;
use super::reclaim::ReadGuard;
use super::SeriesBudget;
use crate::labels::{LabelKeyRef, LabelLookup, MAX_LABEL_VALUE_LEN, OVERFLOW_LABEL_VALUE};
use crate::metrics::Metric;
use crate::snapshot::FamilySnapshot;
use crate::{Error, MetricKind, Result};

/// What identifies a family for get-or-create: everything but the series.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Descriptor<L> {
    pub(crate) kind: MetricKind,
    pub(crate) label_names: Arc<[Box<str>]>,
    pub(crate) unit: Option<String>,
    pub(crate) layout: L,
}

/// Per series (by encoded key): the last fingerprint and when it changed.
type LastChanges = HashMap<Box<[u8]>, (u64, Instant)>;

pub(crate) struct FamilyCore<M: Metric> {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) desc: Descriptor<M::Layout>,
    series: LabelIndex<M>,
    limit: usize,
    /// The registry-wide count and limit of series.
    budget: Arc<SeriesBudget>,
    ttl: Option<Duration>,
    /// Per series: last fingerprint and when it last changed (TTL only).
    seen: Mutex<LastChanges>,
    pub(crate) overflowed: AtomicU64,
    pub(crate) expired: AtomicU64,
    /// Heap bytes as of the last collection.
    collected_bytes: AtomicUsize,
}

impl<M: Metric> FamilyCore<M> {
    pub(crate) fn new(
        name: String,
        help: String,
        desc: Descriptor<M::Layout>,
        limit: usize,
        ttl: Option<Duration>,
        budget: Arc<SeriesBudget>,
    ) -> Self {
        Self {
            name,
            help,
            desc,
            series: LabelIndex::new(),
            limit,
            budget,
            ttl,
            seen: Mutex::new(HashMap::new()),
            overflowed: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            collected_bytes: AtomicUsize::new(0),
        }
    }

    /// Adds a series made outside the family (for `Registry::register`).
    pub(crate) fn insert(&self, values: &[&str], metric: M) {
        let guard = ReadGuard::enter();
        let lookup = LabelLookup { prefix: &[], values };
        self.series.get_or_insert_with(&lookup, || self.budget.counted(metric), &guard);
    }

    fn overflow_series<'g>(&'g self, guard: &'g ReadGuard) -> &'g M {
        self.overflowed.fetch_add(1, Relaxed);
        let values: Vec<&str> = self.desc.label_names.iter().map(|_| OVERFLOW_LABEL_VALUE).collect();
        let lookup = LabelLookup { prefix: &[], values: &values };
        // The overflow series itself is never refused: one per family.
        self.series.get_or_insert_with(&lookup, || self.budget.counted(M::create(&self.desc.layout)), guard)
    }

    /// The series for `lookup`, created if the limit allows.
    fn lookup<'g>(&'g self, lookup: &LabelLookup<'_>, guard: &'g ReadGuard) -> Result<&'g M> {
        if let Some(m) = self.series.get(lookup, guard) {
            return Ok(m);
        }
        let expected = self.desc.label_names.len();
        let got = lookup.prefix.len() + lookup.values.len();
        if got != expected {
            return Err(Error::LabelCount {
                metric: self.name.clone(),
                expected: expected - lookup.prefix.len(),
                got: lookup.values.len(),
            });
        }
        if let Some(v) = lookup.values.iter().find(|v| v.len() > MAX_LABEL_VALUE_LEN) {
            return Err(Error::LabelValueTooLong {
                metric: self.name.clone(),
                len: v.len(),
                limit: MAX_LABEL_VALUE_LEN,
            });
        }
        if self.series.len() >= self.limit {
            return Err(Error::CardinalityLimit { metric: self.name.clone(), limit: self.limit });
        }
        if self.budget.is_full() {
            self.budget.refused.fetch_add(1, Relaxed);
            return Err(Error::SeriesLimit { metric: self.name.clone(), limit: self.budget.max });
        }
        Ok(self.series.get_or_insert_with(lookup, || self.budget.counted(M::create(&self.desc.layout)), guard))
    }

    pub(crate) fn collect(&self) -> FamilySnapshot {
        if let Some(ttl) = self.ttl {
            self.expire(ttl);
        }
        self.series.reclaim();
        let mut out = M::empty_family(
            &self.name,
            &self.help,
            self.desc.unit.as_deref(),
            self.desc.label_names.clone(),
            &self.desc.layout,
        );
        let guard = ReadGuard::enter();
        out.reserve(self.series.len());
        let mut bytes = 0;
        self.series.for_each_sorted(&guard, |key, m| {
            bytes += m.heap_bytes();
            m.collect_into(key.values(), &mut out)
        });
        self.collected_bytes.store(bytes + self.series.heap_bytes(), Relaxed);
        out
    }

    /// Heap bytes of the series: label keys, the index and each series' state.
    pub(crate) fn heap_bytes(&self) -> usize {
        let guard = ReadGuard::enter();
        let mut bytes = self.series.heap_bytes();
        self.series.for_each(&guard, |_, m| bytes += m.heap_bytes());
        bytes
    }

    /// Removes series whose value has not changed for `ttl`.
    fn expire(&self, ttl: Duration) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.series.remove_where(|key, m| {
            let fp = m.fingerprint();
            match seen.get_mut(key.bytes()) {
                Some((last, at)) if *last == fp => {
                    let stale = now.duration_since(*at) >= ttl && key.values().any(|v| v != OVERFLOW_LABEL_VALUE);
                    if stale {
                        seen.remove(key.bytes());
                    }
                    stale
                }
                Some(entry) => {
                    *entry = (fp, now);
                    false
                }
                None => {
                    seen.insert(key.bytes().into(), (fp, now));
                    false
                }
            }
        });
        self.expired.fetch_add(removed as u64, Relaxed);
        self.budget.release(removed);
    }

    pub(crate) fn reset(&self) {
        self.for_each(|_, m| m.reset());
    }

    pub(crate) fn for_each(&self, f: impl FnMut(LabelKeyRef<'_>, &M)) {
        let guard = ReadGuard::enter();
        self.series.for_each(&guard, f);
    }
}

impl<M: Metric> Drop for FamilyCore<M> {
    fn drop(&mut self) {
        // An unregistered family's series leave the registry's count.
        self.budget.release(self.series.len());
    }
}

/// The type-erased face of a family, as the registry stores it.
pub(crate) trait Collect: Send + Sync {
    fn collect(&self) -> FamilySnapshot;
    /// Resets counters, histograms and summaries; gauges too if `all`.
    fn reset(&self, all: bool);
    fn describe(&self) -> String;
    fn overflowed(&self) -> u64;
    fn expired(&self) -> u64;
    /// Heap bytes of the family's series now (walks them).
    fn heap_bytes(&self) -> usize;
    /// Heap bytes of the family's series at its last collection.
    fn collected_bytes(&self) -> usize;
    fn as_any(&self) -> &dyn Any;
}

impl<M: Metric> Collect for FamilyCore<M> {
    fn collect(&self) -> FamilySnapshot {
        FamilyCore::collect(self)
    }

    fn reset(&self, all: bool) {
        let persists = matches!(M::KIND, MetricKind::Gauge | MetricKind::UpDownCounter);
        if all || !persists {
            FamilyCore::reset(self);
        }
    }

    fn describe(&self) -> String {
        let d = &self.desc;
        format!("{} with labels {:?}, unit {:?}, layout {:?}", d.kind, d.label_names, d.unit, d.layout)
    }

    fn overflowed(&self) -> u64 {
        self.overflowed.load(Relaxed)
    }

    fn heap_bytes(&self) -> usize {
        FamilyCore::heap_bytes(self)
    }

    fn collected_bytes(&self) -> usize {
        self.collected_bytes.load(Relaxed)
    }

    fn expired(&self) -> u64 {
        self.expired.load(Relaxed)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A labeled metric family: look series up by label values.
///
/// `with` finds (or creates) the series for the given values and lends it
/// for one call chain, without touching reference counts; `bind` returns an
/// owned handle that skips the lookup from then on. Lookups are lock-free.
///
/// A lookup that cannot get its own series (wrong number of values, a value
/// over [`crate::MAX_LABEL_VALUE_LEN`] bytes, or the family at its
/// cardinality limit) records into the overflow series, whose labels all
/// read [`crate::OVERFLOW_LABEL_VALUE`], and is counted in
/// `sonde_cardinality_overflow_total`; [`Family::try_with`] reports those
/// cases as errors instead.
///
/// ```
/// let r = sonde::Registry::new();
/// let requests = r.counter("http_requests_total").labels(["method", "code"]).register().unwrap();
/// requests.with(&["GET", "200"]).inc();
/// let get_ok = requests.bind(&["GET", "200"]); // owned: no more lookups
/// get_ok.inc();
/// assert_eq!(requests.with(&["GET", "200"]).value(), 2.0);
/// ```
pub struct Family<M: Metric> {
    pub(crate) core: Arc<FamilyCore<M>>,
    /// Constant label values of the scope that registered it.
    pub(crate) prefix: Arc<[Box<str>]>,
}

impl<M: Metric> Clone for Family<M> {
    fn clone(&self) -> Self {
        Self { core: self.core.clone(), prefix: self.prefix.clone() }
    }
}

impl<M: Metric> std::fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family").field("name", &self.core.name).field("kind", &M::KIND).finish()
    }
}

/// A series lent by [`Family::with`]; dereferences to the metric handle.
/// Hold it briefly: while any `Child` lives, memory of removed series is not
/// freed (it is, later, once no `Child` is held anywhere).
pub struct Child<'a, M> {
    metric: *const M,
    _guard: ReadGuard,
    _family: std::marker::PhantomData<&'a M>,
}

impl<M> std::ops::Deref for Child<'_, M> {
    type Target = M;

    #[inline(always)]
    fn deref(&self) -> &M {
        // SAFETY: the read guard keeps the entry (and so the metric) allocated.
        unsafe { &*self.metric }
    }
}

impl<M: Metric> Family<M> {
    /// The series for `values` (one per declared label, in order).
    #[inline]
    pub fn with(&self, values: &[&str]) -> Child<'_, M> {
        let guard = ReadGuard::enter();
        let lookup = LabelLookup { prefix: &self.prefix, values };
        let metric: *const M = match self.core.series.get(&lookup, &guard) {
            Some(m) => m,
            None => self.with_slow(&lookup, &guard),
        };
        Child { metric, _guard: guard, _family: std::marker::PhantomData }
    }

    #[cold]
    fn with_slow<'g>(&'g self, lookup: &LabelLookup<'_>, guard: &'g ReadGuard) -> &'g M {
        match self.core.lookup(lookup, guard) {
            Ok(m) => m,
            Err(_) => self.core.overflow_series(guard),
        }
    }

    /// Like [`Family::with`], but reports a wrong number of values, an
    /// oversize value or a full family as an error.
    ///
    /// # Errors
    ///
    /// [`Error::LabelCount`](crate::Error::LabelCount) for the wrong number of values,
    /// [`Error::LabelValueTooLong`](crate::Error::LabelValueTooLong) for an oversize value, or
    /// [`Error::CardinalityLimit`](crate::Error::CardinalityLimit) when the family is full.
    pub fn try_with(&self, values: &[&str]) -> Result<Child<'_, M>> {
        let guard = ReadGuard::enter();
        let lookup = LabelLookup { prefix: &self.prefix, values };
        let metric: *const M = self.core.lookup(&lookup, &guard)?;
        Ok(Child { metric, _guard: guard, _family: std::marker::PhantomData })
    }

    /// An owned handle to the series for `values`: a bound child that
    /// records without any lookup.
    pub fn bind(&self, values: &[&str]) -> M {
        (*self.with(values)).clone()
    }

    /// Removes the series for `values`; true if it existed. Handles bound to
    /// it keep working but are no longer exported.
    pub fn remove(&self, values: &[&str]) -> bool {
        let lookup = LabelLookup { prefix: &self.prefix, values };
        // The idle-series record goes too, so a series recreated with the
        // same values starts a fresh TTL. (Lock order as in `expire`.)
        let mut seen = self.core.seen.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.core.series.remove_where(|key, _| {
            let matches = lookup.matches(key);
            if matches {
                seen.remove(key.bytes());
            }
            matches
        });
        self.core.budget.release(removed);
        removed > 0
    }

    /// Number of series, the overflow series included.
    pub fn len(&self) -> usize {
        self.core.series.len()
    }

    /// True when no series exists yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Lookups sent to the overflow series so far.
    pub fn overflowed(&self) -> u64 {
        self.core.overflowed.load(Relaxed)
    }
}
