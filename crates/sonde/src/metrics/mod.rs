//! Instruments: the hot-path handles and the cells behind them.
//!
//! Every handle is a cheap `Clone` (one `triomphe::Arc`), `Send + Sync`, and records
//! without locking or allocating. Collection reads the cells into a
//! [`crate::FamilySnapshot`]; nothing here knows about encoders or exporters.

pub(crate) mod bucket_cell;
pub(crate) mod buckets;
mod callback;
mod counter;
pub(crate) mod dropped;
pub mod exponential;
mod exponential_bounds;
mod gauge;
mod histogram;
pub(crate) mod native_cell;
mod quantile_sketch;
pub(crate) mod sum_cell;
mod summary;
pub(crate) mod thread_slot;
mod timer;
mod up_down_counter;

pub use buckets::{Buckets, NativeBuckets};
pub use callback::{CounterFn, GaugeFn};
pub use counter::Counter;
pub use dropped::DropReason;
pub use gauge::Gauge;
pub use histogram::Histogram;
pub use summary::{Summary, SummaryOptions};
pub use timer::{Stopwatch, Timer};
pub use up_down_counter::UpDownCounter;

use crate::snapshot::FamilySnapshot;

/// The count in front of every handle's state. Handles are `triomphe::Arc`s:
/// `std`'s `Arc` protocol without weak references, so one count (8 bytes)
/// instead of two (16), which in a family of 100,000 series is the
/// difference of an allocator size class per series.
pub(crate) const ARC_HEADER: usize = size_of::<usize>();

/// The kinds of metric a registry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MetricKind {
    /// A monotonic total.
    Counter,
    /// A total that can go down (exposed as a Prometheus gauge).
    UpDownCounter,
    /// A value that is set.
    Gauge,
    /// A bucketed distribution (timers are histograms in seconds).
    Histogram,
    /// Sliding-window quantiles plus all-time count and sum.
    Summary,
}

impl MetricKind {
    /// The lowercase name used in specs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::UpDownCounter => "updowncounter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
        }
    }

    pub(crate) fn is_histogram(self) -> bool {
        self == Self::Histogram
    }
}

impl std::fmt::Display for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MetricKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "counter" => Self::Counter,
            "updowncounter" | "up_down_counter" => Self::UpDownCounter,
            "gauge" => Self::Gauge,
            "histogram" | "timer" => Self::Histogram,
            "summary" => Self::Summary,
            other => return Err(format!("unknown metric kind {other:?}")),
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// An instrument that a [`crate::Family`] can hold: implemented by every
/// handle type of this crate, and only by them.
pub trait Metric: Clone + Send + Sync + sealed::Sealed + 'static {
    /// The kind it is exposed as.
    const KIND: MetricKind;
    /// Per-family configuration shared by every series (bucket layout,
    /// quantiles); `()` when there is none.
    type Layout: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static;

    #[doc(hidden)]
    fn create(layout: &Self::Layout) -> Self;
    /// The layout a family gets when none is given, from its unit.
    #[doc(hidden)]
    fn default_layout(unit: Option<&str>) -> Self::Layout;
    /// The layout of native buckets, for the kinds that have them.
    #[doc(hidden)]
    fn native_layout(native: NativeBuckets) -> Option<Self::Layout> {
        let _ = native;
        None
    }
    /// The layout of an existing instrument (for `Registry::register`).
    #[doc(hidden)]
    fn layout(&self) -> Self::Layout;
    /// The layout with exemplar capture switched on, where the kind has it.
    #[doc(hidden)]
    fn with_exemplars(layout: Self::Layout) -> Self::Layout {
        layout
    }
    #[doc(hidden)]
    fn empty_family(
        name: &str,
        help: &str,
        unit: Option<&str>,
        labels: std::sync::Arc<[Box<str>]>,
        layout: &Self::Layout,
    ) -> FamilySnapshot {
        let _ = layout;
        FamilySnapshot::new(name, help, unit.map(str::to_owned), Self::KIND, labels)
    }
    #[doc(hidden)]
    fn collect_into<'a>(&self, values: impl IntoIterator<Item = &'a str>, out: &mut FamilySnapshot);
    #[doc(hidden)]
    fn reset(&self);
    /// A number that changes whenever the series is written (for idle expiry).
    #[doc(hidden)]
    fn fingerprint(&self) -> u64;
    /// Estimated heap bytes of the series' state (what its handle points to).
    #[doc(hidden)]
    fn heap_bytes(&self) -> usize;
}

macro_rules! seal {
    ($($t:ty),*) => { $(impl sealed::Sealed for $t {})* };
}
seal!(Counter, UpDownCounter, Gauge, Histogram, Summary, Timer);
