//! Values dropped on the hot path, counted process-wide.
//!
//! Recording calls return nothing, so a value that cannot be recorded is
//! dropped and counted here; every registry exposes these counts as
//! `sonde_dropped_values_total{reason="..."}`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a value was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// A counter increment that was negative, NaN or infinite.
    InvalidCounterAdd,
    /// An up-down counter increment that was NaN or infinite.
    InvalidUpDownAdd,
    /// A histogram, timer or summary observation that was NaN.
    NanObservation,
}

impl DropReason {
    /// Every reason, in exposition order.
    pub const ALL: [DropReason; 3] = [Self::InvalidCounterAdd, Self::InvalidUpDownAdd, Self::NanObservation];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCounterAdd => "invalid_counter_add",
            Self::InvalidUpDownAdd => "invalid_updowncounter_add",
            Self::NanObservation => "nan_observation",
        }
    }

    /// How many values were dropped for this reason since the process started.
    pub fn count(self) -> u64 {
        DROPPED[self as usize].load(Relaxed)
    }
}

static DROPPED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

#[cold]
#[inline(never)]
pub(crate) fn drop_value(reason: DropReason) {
    DROPPED[reason as usize].fetch_add(1, Relaxed);
}
