//! The registry: named families, get-or-create, scopes, strict specs,
//! snapshots and self-metrics. Everything here is the cold path.

mod builder;
mod callback_family;
mod family;
pub(crate) mod label_index;
pub(crate) mod reclaim;
mod self_metrics;
mod spec;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Instant, SystemTime};

use builder::Declaration;
pub use builder::{FamilyBuilder, MetricBuilder};
pub use family::{Child, Family};
pub use spec::MetricSpec;

use crate::labels::{validate_label_name, validate_metric_name, MAX_LABEL_NAMES};
use crate::metrics::{Counter, CounterFn, GaugeFn, Metric};
use crate::snapshot::{FamilySnapshot, Snapshot};
use crate::{Error, MetricKind, Result};
use callback_family::CallbackFamily;
use family::{Collect, Descriptor, FamilyCore};

/// Default per-family cardinality limit.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 10_000;

/// The registry-wide count of series and its limit, shared by every family.
pub(crate) struct SeriesBudget {
    pub(crate) max: usize,
    used: AtomicUsize,
    pub(crate) refused: AtomicU64,
}

impl SeriesBudget {
    fn new(max: usize) -> Self {
        Self { max, used: AtomicUsize::new(0), refused: AtomicU64::new(0) }
    }

    /// Whether a new (non-overflow) series must be refused. Checked before
    /// inserting, so concurrent creators can overshoot by a few series.
    pub(crate) fn is_full(&self) -> bool {
        self.used.load(Relaxed) >= self.max
    }

    /// Counts a series being created; returns it.
    pub(crate) fn counted<M>(&self, metric: M) -> M {
        self.used.fetch_add(1, Relaxed);
        metric
    }

    /// Uncounts `n` removed series.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.used.fetch_sub(n, Relaxed);
        }
    }
}

pub(crate) struct RegistryInner {
    families: RwLock<Families>,
    series: Arc<SeriesBudget>,
    specs: Option<BTreeMap<String, MetricSpec>>,
    cardinality_limit: usize,
    self_metrics: bool,
    collections: AtomicU64,
    last_collection_ns: AtomicU64,
}

/// Registered families, and the sample names each one exposes (so that a
/// gauge `x_total` cannot shadow counter `x`'s samples).
#[derive(Default)]
struct Families {
    by_name: BTreeMap<String, Arc<dyn Collect>>,
    exposed: std::collections::HashMap<String, String>,
}

fn exposed_names(name: &str, kind: MetricKind) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        MetricKind::Counter => &["_total", "_created"],
        MetricKind::Gauge | MetricKind::UpDownCounter => &[""],
        MetricKind::Histogram => &["", "_bucket", "_sum", "_count", "_created"],
        MetricKind::Summary => &["", "_sum", "_count", "_created"],
    };
    suffixes.iter().map(|s| format!("{name}{s}")).collect()
}

impl Families {
    fn get(&self, name: &str) -> Option<&Arc<dyn Collect>> {
        self.by_name.get(name)
    }

    /// Adds a family unless its name or one of its sample names is taken.
    fn insert(&mut self, name: String, kind: MetricKind, family: Arc<dyn Collect>, requested: String) -> Result<()> {
        if let Some(existing) = self.by_name.get(&name) {
            return Err(Error::Conflict { name, existing: existing.describe(), requested });
        }
        let names = exposed_names(&name, kind);
        if let Some((sample, owner)) = names.iter().find_map(|n| self.exposed.get(n).map(|o| (n, o))) {
            return Err(Error::Conflict {
                name: name.clone(),
                existing: format!("sample name {sample:?} is already exposed by {owner:?}"),
                requested,
            });
        }
        for n in names {
            self.exposed.insert(n, name.clone());
        }
        self.by_name.insert(name, family);
        Ok(())
    }

    fn remove(&mut self, name: &str) -> bool {
        let found = self.by_name.remove(name).is_some();
        if found {
            self.exposed.retain(|_, owner| owner != name);
        }
        found
    }
}

/// What a scoped view adds to every name and series.
#[derive(Clone, Default)]
struct Scope {
    prefix: String,
    const_names: Vec<Box<str>>,
    const_values: Arc<[Box<str>]>,
    /// Histograms declared without buckets get these native buckets.
    native_default: Option<crate::NativeBuckets>,
}

/// A set of metric families: where instruments are declared and from which
/// snapshots are taken.
///
/// Cloning is cheap and clones share the same families. A registry can be
/// scoped ([`Registry::with_namespace`], [`Registry::with_subsystem`],
/// [`Registry::with_labels`]): the scoped view shares the families and adds a
/// name prefix and constant labels to what it declares.
///
/// Declaring is get-or-create: asking again for the same name, kind, labels
/// and layout returns the same instrument; anything else is an
/// [`Error::Conflict`].
///
/// ```
/// let r = sonde::Registry::new();
/// let api = r.with_namespace("shop").with_labels([("service", "api")]).unwrap();
/// let orders = api.counter("orders_total").help("Orders placed.").register().unwrap();
/// orders.inc();
/// let same = api.counter("orders_total").register().unwrap();
/// assert_eq!(same.value(), 1.0);
/// assert!(r.gauge("shop_orders_total").register().is_err()); // kind conflict
/// let snap = r.snapshot();
/// let fam = snap.family("shop_orders").unwrap();
/// assert_eq!(fam.series().next().unwrap().label("service"), Some("api"));
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegistryInner>,
    scope: Arc<Scope>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.families.read().map(|m| m.by_name.len()).unwrap_or(0);
        f.debug_struct("Registry").field("families", &n).field("prefix", &self.scope.prefix).finish()
    }
}

impl Registry {
    /// The process-wide default registry, created on first use, for code
    /// that has no registry handed to it (libraries, scripts). Everything
    /// else works the same with an explicit [`Registry::new`], which tests
    /// should prefer: state in the global one is shared by the process.
    ///
    /// ```
    /// let jobs = sonde::Registry::global().counter("doc_global_jobs_total").register()?;
    /// jobs.inc();
    /// // Declaring it again elsewhere returns the same counter.
    /// let again = sonde::Registry::global().counter("doc_global_jobs_total").register()?;
    /// assert_eq!(again.value(), 1.0);
    /// # Ok::<(), sonde::Error>(())
    /// ```
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    /// An empty registry with self-metrics on.
    pub fn new() -> Self {
        Self::build(None, DEFAULT_CARDINALITY_LIMIT, usize::MAX, true)
    }

    /// A strict registry: only the declared specs can be registered, each
    /// with its declared kind; help and unit default to the spec's.
    ///
    /// ```
    /// use sonde::{MetricKind, MetricSpec, Registry};
    /// let r = Registry::strict([
    ///     MetricSpec::new("jobs_total", MetricKind::Counter, "Jobs run."),
    /// ]).unwrap();
    /// assert!(r.counter("jobs_total").register().is_ok());
    /// assert!(r.counter("typo_total").register().is_err());
    /// assert!(r.gauge("jobs_total").register().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateSpec`](crate::Error::DuplicateSpec) when a name is declared twice, or an error
    /// naming an invalid name or unit.
    pub fn strict(specs: impl IntoIterator<Item = MetricSpec>) -> Result<Self> {
        Self::builder().specs(specs).build()
    }

    /// A builder for registries with non-default options.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder { specs: None, limit: DEFAULT_CARDINALITY_LIMIT, max_series: usize::MAX, self_metrics: true }
    }

    fn build(specs: Option<BTreeMap<String, MetricSpec>>, limit: usize, max_series: usize, self_metrics: bool) -> Self {
        Self {
            inner: Arc::new(RegistryInner {
                families: RwLock::new(Families::default()),
                series: Arc::new(SeriesBudget::new(max_series)),
                specs,
                cardinality_limit: limit,
                self_metrics,
                collections: AtomicU64::new(0),
                last_collection_ns: AtomicU64::new(0),
            }),
            scope: Arc::new(Scope::default()),
        }
    }

    /// A view whose names get `namespace_` in front.
    pub fn with_namespace(&self, namespace: &str) -> Self {
        self.prefixed(namespace)
    }

    /// A view whose names get `subsystem_` in front (after any namespace).
    pub fn with_subsystem(&self, subsystem: &str) -> Self {
        self.prefixed(subsystem)
    }

    fn prefixed(&self, part: &str) -> Self {
        let mut prefix = self.scope.prefix.clone();
        if !part.is_empty() {
            prefix.push_str(part);
            prefix.push('_');
        }
        self.view(Scope { prefix, ..(*self.scope).clone() })
    }

    /// A view of the same families with `scope`.
    fn view(&self, scope: Scope) -> Self {
        Self { inner: self.inner.clone(), scope: Arc::new(scope) }
    }

    /// A view that adds constant labels to everything it declares.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLabelName`](crate::Error::InvalidLabelName) for an invalid name or one already
    /// constant in this view, or [`Error::LabelValueTooLong`](crate::Error::LabelValueTooLong).
    pub fn with_labels<'a>(&self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut names = self.scope.const_names.clone();
        let mut values: Vec<Box<str>> = self.scope.const_values.to_vec();
        for (n, v) in labels {
            validate_label_name(n)?;
            if names.iter().any(|x| &**x == n) {
                return Err(Error::InvalidLabelName { name: n.into(), reason: "label declared twice" });
            }
            names.push(n.into());
            values.push(v.into());
        }
        Ok(self.view(Scope { const_names: names, const_values: values.into(), ..(*self.scope).clone() }))
    }

    /// A view in which histograms and timers declared without buckets get
    /// native buckets (`native`) instead of their unit's classic preset, as
    /// the OpenTelemetry SDKs do with
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram`.
    /// Histograms given buckets keep them.
    ///
    /// ```
    /// use sonde::{NativeBuckets, Registry};
    /// let r = Registry::new().with_native_histograms(NativeBuckets::new().schema(20).unwrap());
    /// let h = r.histogram("latency_seconds").register().unwrap();
    /// h.observe(0.2);
    /// assert_eq!(h.native().unwrap().schema, 20);
    /// ```
    pub fn with_native_histograms(&self, native: crate::NativeBuckets) -> Self {
        self.view(Scope { native_default: Some(native), ..(*self.scope).clone() })
    }

    /// Declares (or gets) a counter.
    pub fn counter(&self, name: &str) -> MetricBuilder<'_, crate::Counter> {
        MetricBuilder::new(self, name)
    }

    /// Declares (or gets) an up-down counter.
    pub fn up_down_counter(&self, name: &str) -> MetricBuilder<'_, crate::UpDownCounter> {
        MetricBuilder::new(self, name)
    }

    /// Declares (or gets) a gauge.
    pub fn gauge(&self, name: &str) -> MetricBuilder<'_, crate::Gauge> {
        MetricBuilder::new(self, name)
    }

    /// Declares (or gets) a histogram; buckets default to the unit's preset.
    pub fn histogram(&self, name: &str) -> MetricBuilder<'_, crate::Histogram> {
        MetricBuilder::new(self, name)
    }

    /// Declares (or gets) a summary.
    pub fn summary(&self, name: &str) -> MetricBuilder<'_, crate::Summary> {
        MetricBuilder::new(self, name)
    }

    /// Declares (or gets) a timer: a histogram in seconds.
    pub fn timer(&self, name: &str) -> MetricBuilder<'_, crate::Timer> {
        MetricBuilder::new(self, name).unit("seconds")
    }

    /// Registers a gauge computed by `f` at each collection.
    ///
    /// # Errors
    ///
    /// An error naming the input for an invalid name, or [`Error::Conflict`](crate::Error::Conflict) when the
    /// name is declared as something else.
    pub fn gauge_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) -> Result<()> {
        self.register_callback(name, help, MetricKind::Gauge, GaugeFn::new(f).0)
    }

    /// Registers a counter computed by `f` at each collection (`f` must
    /// not decrease).
    ///
    /// # Errors
    ///
    /// An error naming the input for an invalid name, or [`Error::Conflict`](crate::Error::Conflict) when the
    /// name is declared as something else.
    pub fn counter_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) -> Result<()> {
        self.register_callback(name, help, MetricKind::Counter, CounterFn::new(f).0)
    }

    fn register_callback(
        &self,
        name: &str,
        help: &str,
        kind: MetricKind,
        f: Arc<dyn Fn() -> f64 + Send + Sync>,
    ) -> Result<()> {
        let (full, help, unit) = self.resolve(name, help, None, kind)?;
        let full = if kind == MetricKind::Counter { strip_total(&full) } else { full };
        let family = CallbackFamily {
            name: full.clone(),
            help,
            unit,
            kind,
            label_names: self.scope.const_names.clone().into(),
            label_values: self.scope.const_values.clone(),
            f,
        };
        let mut families = self.inner.families.write().unwrap_or_else(|p| p.into_inner());
        families.insert(full, kind, Arc::new(family), format!("{kind} callback"))
    }

    /// Registers an instrument made outside the registry under `name`.
    ///
    /// ```
    /// let r = sonde::Registry::new();
    /// let c = sonde::Counter::new();
    /// r.register("made_elsewhere_total", "A counter made elsewhere.", c.clone()).unwrap();
    /// c.inc();
    /// assert_eq!(r.snapshot().family("made_elsewhere").unwrap().len(), 1);
    /// assert!(r.unregister("made_elsewhere_total"));
    /// ```
    ///
    /// # Errors
    ///
    /// An error naming the input for an invalid name, [`Error::Conflict`](crate::Error::Conflict) when the
    /// name is already registered, or (in a strict registry) a name not declared or of another kind.
    pub fn register<M: Metric>(&self, name: &str, help: &str, metric: M) -> Result<()> {
        let (full, help, unit) = self.resolve(name, help, None, M::KIND)?;
        let full = if M::KIND == MetricKind::Counter { strip_total(&full) } else { full };
        let desc = Descriptor {
            kind: M::KIND,
            label_names: self.scope.const_names.clone().into(),
            unit,
            layout: metric.layout(),
        };
        let core = FamilyCore::<M>::new(
            full.clone(),
            help,
            desc,
            self.inner.cardinality_limit,
            None,
            self.inner.series.clone(),
        );
        let values: Vec<&str> = self.scope.const_values.iter().map(|v| &**v).collect();
        core.insert(&values, metric);
        let mut families = self.inner.families.write().unwrap_or_else(|p| p.into_inner());
        families.insert(full, M::KIND, Arc::new(core), format!("registered {}", M::KIND))
    }

    /// Removes the family called `name` (with this view's prefix); true if
    /// it existed. For counters, `name` may carry the `_total` suffix.
    pub fn unregister(&self, name: &str) -> bool {
        let full = format!("{}{}", self.scope.prefix, name);
        let mut families = self.inner.families.write().unwrap_or_else(|p| p.into_inner());
        families.remove(&full) || families.remove(&strip_total(&full))
    }

    /// Applies the spec check, the prefix, and the unit suffix.
    fn resolve(
        &self,
        name: &str,
        help: &str,
        unit: Option<&str>,
        kind: MetricKind,
    ) -> Result<(String, String, Option<String>)> {
        let mut full = format!("{}{}", self.scope.prefix, name);
        validate_metric_name(&full)?;
        let mut help = help.to_owned();
        let mut unit = unit.map(str::to_owned);
        if let Some(u) = &unit {
            crate::labels::validate_unit(u)?;
        }
        if let Some(specs) = &self.inner.specs {
            // A spec may be declared under the plain name or under the name
            // with the unit suffix the builder's `.unit()` adds.
            let suffixed = unit.as_deref().map(|u| with_unit_suffix(&full, u));
            let spec = specs
                .get(&full)
                .or_else(|| suffixed.as_ref().and_then(|s| specs.get(s)))
                .ok_or_else(|| Error::Undeclared { name: full.clone() })?;
            if spec.kind != kind {
                return Err(Error::KindMismatch { name: full, declared: spec.kind, requested: kind });
            }
            if help.is_empty() {
                help = spec.help.clone();
            }
            if unit.is_none() {
                unit = spec.unit.clone();
                if let Some(u) = &unit {
                    crate::labels::validate_unit(u)?;
                }
            }
        }
        if let Some(u) = &unit {
            full = with_unit_suffix(&full, u);
        }
        Ok((full, help, unit))
    }

    pub(crate) fn declare<M: Metric>(&self, d: Declaration<M::Layout>) -> Result<Family<M>> {
        let Declaration { name, help, unit, labels, layout, exemplars, limit, ttl } = d;
        let (name, help, unit, labels) = (name.as_str(), help.as_str(), unit.as_deref(), labels.as_slice());
        let (full, help, unit) = self.resolve(name, help, unit, M::KIND)?;
        let full = if M::KIND == MetricKind::Counter { strip_total(&full) } else { full };
        let mut names: Vec<Box<str>> = self.scope.const_names.clone();
        for l in labels {
            validate_label_name(l)?;
            let reserved = match M::KIND {
                MetricKind::Histogram => l == "le",
                MetricKind::Summary => l == "quantile",
                _ => false,
            };
            if reserved {
                return Err(Error::InvalidLabelName { name: l.clone(), reason: "reserved for this metric kind" });
            }
            if names.iter().any(|n| **n == **l) {
                return Err(Error::InvalidLabelName { name: l.clone(), reason: "label declared twice" });
            }
            names.push(l.as_str().into());
        }
        if names.len() > MAX_LABEL_NAMES {
            return Err(Error::TooManyLabels { metric: full, count: names.len(), limit: MAX_LABEL_NAMES });
        }
        let layout = layout
            .or_else(|| self.scope.native_default.and_then(M::native_layout))
            .unwrap_or_else(|| M::default_layout(unit.as_deref()));
        let layout = if exemplars { M::with_exemplars(layout) } else { layout };
        let desc = Descriptor { kind: M::KIND, label_names: names.into(), unit, layout };
        let limit = limit.unwrap_or(self.inner.cardinality_limit);
        if limit == 0 {
            return Err(Error::InvalidOption { metric: full, reason: "cardinality limit must be at least 1".into() });
        }
        let prefix = self.scope.const_values.clone();
        {
            let families = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
            if let Some(existing) = families.get(&full) {
                return Self::same_family(existing, &full, &help, desc, prefix);
            }
        }
        let mut families = self.inner.families.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = families.get(&full) {
            return Self::same_family(existing, &full, &help, desc, prefix);
        }
        let requested = format!("{} with labels {:?}", desc.kind, desc.label_names);
        let core = Arc::new(FamilyCore::<M>::new(full.clone(), help, desc, limit, ttl, self.inner.series.clone()));
        families.insert(full, M::KIND, core.clone(), requested)?;
        Ok(Family { core, prefix })
    }

    fn same_family<M: Metric>(
        existing: &Arc<dyn Collect>,
        name: &str,
        help: &str,
        desc: Descriptor<M::Layout>,
        prefix: Arc<[Box<str>]>,
    ) -> Result<Family<M>> {
        let conflict = |existing: String| Error::Conflict {
            name: name.into(),
            existing,
            requested: format!(
                "{} with labels {:?}, unit {:?}, layout {:?}",
                desc.kind, desc.label_names, desc.unit, desc.layout
            ),
        };
        let Some(core) = existing.as_any().downcast_ref::<FamilyCore<M>>() else {
            return Err(conflict(existing.describe()));
        };
        if core.desc != desc || (!help.is_empty() && !core.help.is_empty() && core.help != help) {
            return Err(conflict(existing.describe()));
        }
        let raw = Arc::into_raw(existing.clone()) as *const FamilyCore<M>;
        // SAFETY: `as_any` proved the concrete type is `FamilyCore<M>`, so this
        // is the pointer the `Arc<FamilyCore<M>>` was made from (what
        // `Arc::downcast` does for `dyn Any`).
        let core = unsafe { Arc::from_raw(raw) };
        Ok(Family { core, prefix })
    }

    /// Collects every family (and the self-metrics) into a snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let started = Instant::now();
        let families: Vec<Arc<dyn Collect>> = {
            let map = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
            map.by_name.values().cloned().collect()
        };
        let mut out: Vec<FamilySnapshot> = families.iter().map(|f| f.collect()).collect();
        if self.inner.self_metrics {
            self_metrics::append(&mut out, &families, &self.inner);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        self.inner.collections.fetch_add(1, Relaxed);
        self.inner.last_collection_ns.store(started.elapsed().as_nanos() as u64, Relaxed);
        Snapshot { timestamp: SystemTime::now(), families: out }
    }

    /// Calls `f` with each family's snapshot in name order, one at a time,
    /// without building the whole snapshot (self-metrics excluded).
    pub fn visit(&self, mut f: impl FnMut(&FamilySnapshot)) {
        let families: Vec<Arc<dyn Collect>> = {
            let map = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
            map.by_name.values().cloned().collect()
        };
        for fam in families {
            f(&fam.collect());
        }
    }

    /// Snapshots of the named families only (as the registry names them:
    /// counters without `_total`), in name order; names not registered are
    /// skipped. For readers that follow a few families, so that their cost
    /// does not grow with the rest of the registry.
    ///
    /// ```
    /// let r = sonde::Registry::new();
    /// r.counter("a_total").register()?.inc();
    /// r.gauge("b").register()?.set(2.0);
    /// let some = r.snapshot_families(["b", "missing"]);
    /// assert_eq!(some.len(), 1);
    /// assert_eq!(some[0].name, "b");
    /// # Ok::<(), sonde::Error>(())
    /// ```
    pub fn snapshot_families<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<FamilySnapshot> {
        let families: Vec<Arc<dyn Collect>> = {
            let map = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
            let mut wanted: Vec<&str> = names.into_iter().collect();
            wanted.sort_unstable();
            wanted.dedup();
            wanted.iter().filter_map(|n| map.by_name.get(*n).cloned()).collect()
        };
        families.iter().map(|f| f.collect()).collect()
    }

    /// Names of the registered families, sorted.
    pub fn names(&self) -> Vec<String> {
        self.inner.families.read().unwrap_or_else(|p| p.into_inner()).by_name.keys().cloned().collect()
    }

    /// Zeroes counters, histograms and summaries; gauges and up-down
    /// counters keep their values.
    pub fn reset(&self) {
        self.each(|f| f.reset(false));
    }

    /// Zeroes every series, gauges included.
    pub fn reset_all(&self) {
        self.each(|f| f.reset(true));
    }

    fn each(&self, mut f: impl FnMut(&dyn Collect)) {
        let map = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
        for fam in map.by_name.values() {
            f(&**fam);
        }
    }

    /// Series held by the registry, all families together (overflow series
    /// included, self-metrics excluded): what [`RegistryBuilder::max_series`]
    /// bounds. Cheap: one atomic read.
    pub fn series_count(&self) -> usize {
        self.inner.series.used.load(Relaxed)
    }

    /// Estimated heap bytes of the registry's series, all families together
    /// (label keys, the index tables and each series' cells; self-metrics
    /// excluded). Walks every series: for budgets and diagnostics, not for a
    /// hot loop. Collections report the same figure as `sonde_series_bytes`.
    ///
    /// ```
    /// let r = sonde::Registry::new();
    /// let before = r.series_bytes();
    /// let c = r.counter("requests_total").labels(["path"]).register().unwrap();
    /// c.with(&["/a/long/path/value"]).inc();
    /// assert!(r.series_bytes() > before);
    /// ```
    pub fn series_bytes(&self) -> usize {
        let mut bytes = 0;
        self.each(|f| bytes += f.heap_bytes());
        bytes
    }

    /// Per-second rate of the counter `name` since its first increment,
    /// summed over its series; None if no such counter exists.
    ///
    /// ```
    /// let r = sonde::Registry::new();
    /// let c = r.counter("ticks_total").register().unwrap();
    /// c.inc_by(10);
    /// assert!(r.counter_rate("ticks_total").unwrap() > 0.0);
    /// ```
    pub fn counter_rate(&self, name: &str) -> Option<f64> {
        let full = strip_total(&format!("{}{}", self.scope.prefix, name));
        let map = self.inner.families.read().unwrap_or_else(|p| p.into_inner());
        let fam = map.get(&full)?;
        let core = fam.as_any().downcast_ref::<FamilyCore<Counter>>()?;
        let mut rate = 0.0;
        core.for_each(|_, c| rate += c.rate());
        Some(rate)
    }
}

/// Options for a new [`Registry`].
///
/// ```
/// let r = sonde::Registry::builder().cardinality_limit(100).self_metrics(false).build().unwrap();
/// assert!(r.snapshot().families.is_empty());
/// ```
#[derive(Debug)]
pub struct RegistryBuilder {
    specs: Option<Vec<MetricSpec>>,
    limit: usize,
    max_series: usize,
    self_metrics: bool,
}

impl RegistryBuilder {
    /// Default cardinality limit of each family (10,000 unless set).
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The most series the registry holds, all families together (default:
    /// no limit). Beyond it a new series is refused: [`Family::with`] sends
    /// its values to the family's overflow series, [`Family::try_with`]
    /// returns [`Error::SeriesLimit`]; refusals are counted in
    /// `sonde_series_refused_total`. A server that takes series from the
    /// network (the hub) sets it so that memory stays bounded.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Whether snapshots include the `sonde_*` self-metrics (default on).
    pub fn self_metrics(mut self, on: bool) -> Self {
        self.self_metrics = on;
        self
    }

    /// Makes the registry strict (see [`Registry::strict`]).
    pub fn specs(mut self, specs: impl IntoIterator<Item = MetricSpec>) -> Self {
        self.specs = Some(specs.into_iter().collect());
        self
    }

    /// Builds the registry, validating the options.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) for a zero cardinality limit, or the errors of
    /// [`Registry::strict`] for the specs.
    pub fn build(self) -> Result<Registry> {
        if self.limit == 0 {
            return Err(Error::InvalidOption {
                metric: String::new(),
                reason: "cardinality limit must be at least 1".into(),
            });
        }
        let specs = match self.specs {
            None => None,
            Some(list) => Some(spec::index(list)?),
        };
        Ok(Registry::build(specs, self.limit, self.max_series, self.self_metrics))
    }
}

/// `name` with `_<unit>` appended (before a counter's `_total`) unless it
/// already ends that way: OpenMetrics requires the unit as a name suffix.
fn with_unit_suffix(name: &str, unit: &str) -> String {
    let suffix = format!("_{unit}");
    let base = strip_total(name);
    if base.ends_with(&suffix) {
        name.to_owned()
    } else if base.len() != name.len() {
        format!("{base}{suffix}_total")
    } else {
        format!("{name}{suffix}")
    }
}

/// Counters are named without `_total` inside the registry; encoders add it.
pub(crate) fn strip_total(name: &str) -> String {
    name.strip_suffix("_total").filter(|s| !s.is_empty()).unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests;
