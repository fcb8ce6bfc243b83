//! Recent values per sample, in two tiers: every second for the last two
//! minutes, then every ten seconds for fifteen minutes. Values are `f32`
//! and timestamps are shared by all series, so a series costs about 1 KB;
//! a byte budget caps how many series are tracked (the rest are counted).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::samples::Sample;

/// Points at one-second resolution.
pub const FINE: usize = 120;
/// Points at ten-second resolution (fifteen minutes).
pub const COARSE: usize = 90;
/// Ticks (seconds) per coarse point.
const COARSE_EVERY: u64 = 10;

/// Estimated bytes per tracked series: both rings plus key and map overhead.
pub const BYTES_PER_SERIES: usize = (FINE + COARSE) * 4 + 160;

struct Ring<const N: usize> {
    times: Box<[u64; N]>,
    head: usize,
    len: usize,
}

impl<const N: usize> Ring<N> {
    fn new() -> Self {
        Self { times: Box::new([0; N]), head: 0, len: 0 }
    }

    /// Advances; returns the slot to write.
    fn advance(&mut self, t: u64) -> usize {
        let slot = self.head;
        self.times[slot] = t;
        self.head = (self.head + 1) % N;
        self.len = (self.len + 1).min(N);
        slot
    }

    /// Slots oldest first.
    fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).map(move |i| (self.head + N - self.len + i) % N)
    }
}

struct Series {
    fine: Box<[f32; FINE]>,
    coarse: Box<[f32; COARSE]>,
}

struct State {
    fine: Ring<FINE>,
    coarse: Ring<COARSE>,
    ticks: u64,
    index: HashMap<String, usize>,
    series: Vec<Series>,
}

/// The history of every sample, bounded by a byte budget. Cheap to clone.
#[derive(Clone)]
pub struct History(Arc<Shared>);

struct Shared {
    state: Mutex<State>,
    max_series: usize,
    untracked: AtomicU64,
}

/// One series' recent points, oldest first (`t` in Unix milliseconds).
#[derive(Debug, Default, serde::Serialize, PartialEq)]
pub struct Points {
    /// Timestamps.
    pub t: Vec<u64>,
    /// Values (`null` where the series did not exist yet).
    pub v: Vec<Option<f64>>,
}

impl History {
    /// A history using at most about `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self(Arc::new(Shared {
            state: Mutex::new(State {
                fine: Ring::new(),
                coarse: Ring::new(),
                ticks: 0,
                index: HashMap::new(),
                series: Vec::new(),
            }),
            max_series: max_bytes / BYTES_PER_SERIES,
            untracked: AtomicU64::new(0),
        }))
    }

    /// Whether the budget allows any series at all.
    pub fn is_enabled(&self) -> bool {
        self.0.max_series > 0
    }

    /// Records one tick (call once a second) at `now_ms`.
    pub fn record(&self, now_ms: u64, samples: &[Sample]) {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *st;
        st.ticks += 1;
        let fine = st.fine.advance(now_ms);
        let coarse = (st.ticks % COARSE_EVERY == 1).then(|| st.coarse.advance(now_ms));
        for series in st.series.iter_mut() {
            series.fine[fine] = f32::NAN;
            if let Some(c) = coarse {
                series.coarse[c] = f32::NAN;
            }
        }
        let mut untracked = 0;
        for sample in samples {
            let i = match st.index.get(&sample.id) {
                Some(&i) => i,
                None if st.series.len() < self.0.max_series => {
                    st.series.push(Series { fine: Box::new([f32::NAN; FINE]), coarse: Box::new([f32::NAN; COARSE]) });
                    st.index.insert(sample.id.clone(), st.series.len() - 1);
                    st.series.len() - 1
                }
                None => {
                    untracked += 1;
                    continue;
                }
            };
            let v = sample.value as f32;
            st.series[i].fine[fine] = v;
            if let Some(c) = coarse {
                st.series[i].coarse[c] = v;
            }
        }
        self.0.untracked.store(untracked, Relaxed);
    }

    /// The points of `id`: the coarse tier older than the fine one, then
    /// the fine tier.
    pub fn points(&self, id: &str) -> Points {
        let st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&i) = st.index.get(id) else { return Points::default() };
        let s = &st.series[i];
        let mut out = Points::default();
        let fine_start = st.fine.slots().next().map(|slot| st.fine.times[slot]).unwrap_or(u64::MAX);
        let value = |v: f32| (!v.is_nan()).then_some(v as f64);
        for slot in st.coarse.slots() {
            if st.coarse.times[slot] < fine_start {
                out.t.push(st.coarse.times[slot]);
                out.v.push(value(s.coarse[slot]));
            }
        }
        for slot in st.fine.slots() {
            out.t.push(st.fine.times[slot]);
            out.v.push(value(s.fine[slot]));
        }
        out
    }

    /// Series tracked, series left out by the budget at the last tick, and
    /// the estimated bytes in use.
    pub fn usage(&self) -> (usize, u64, usize) {
        let st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        (st.series.len(), self.0.untracked.load(Relaxed), st.series.len() * BYTES_PER_SERIES)
    }

    /// Exposes `sonde_dashboard_history_{series,bytes,untracked_series}`.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the `sonde_dashboard_history_*` names is already declared as another
    /// kind.
    pub fn register_metrics(&self, registry: &sonde::Registry) -> sonde::Result<()> {
        let h = self.clone();
        registry.gauge_fn("sonde_dashboard_history_series", "Series the dashboard keeps history for.", move || {
            h.usage().0 as f64
        })?;
        let h = self.clone();
        registry.gauge_fn(
            "sonde_dashboard_history_bytes",
            "Estimated memory of the dashboard history.",
            move || h.usage().2 as f64,
        )?;
        let h = self.clone();
        registry.gauge_fn(
            "sonde_dashboard_history_untracked_series",
            "Series left out of the dashboard history by its memory budget.",
            move || h.usage().1 as f64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, value: f64) -> Sample {
        Sample { id: id.into(), family: "f".into(), value }
    }

    #[test]
    fn fine_then_coarse_and_gaps() {
        let h = History::new(1 << 20);
        for t in 1..=200u64 {
            let mut s = vec![sample("a", t as f64)];
            if t > 150 {
                s.push(sample("b", 1.0));
            }
            h.record(t * 1000, &s);
        }
        let a = h.points("a");
        assert_eq!(a.t.len(), a.v.len());
        assert_eq!(*a.t.last().unwrap(), 200_000);
        assert_eq!(a.v.last().unwrap(), &Some(200.0));
        assert_eq!(a.t.iter().filter(|t| **t > 80_000).count(), FINE, "the last two minutes, every second");
        assert!(a.t.windows(2).all(|w| w[0] < w[1]), "oldest first");
        let b = h.points("b");
        assert_eq!(b.v.iter().filter(|v| v.is_some()).count(), 50, "a later series has gaps before it");
        assert_eq!(h.points("nope"), Points::default());
    }

    #[test]
    fn the_budget_caps_series_and_counts_the_rest() {
        let h = History::new(BYTES_PER_SERIES * 10);
        let many: Vec<Sample> = (0..25).map(|i| sample(&format!("s{i}"), 1.0)).collect();
        h.record(1000, &many);
        assert_eq!(h.usage(), (10, 15, 10 * BYTES_PER_SERIES));
    }
}
