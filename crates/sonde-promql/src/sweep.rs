//! A range function of a selector (`rate(x[5m])`) over every step of a
//! range query at once: one pass along each series, its window sliding
//! forward, instead of one visit to every series per step. The values are
//! the same as step by step (the same [`range_function`]); the work is
//! sequential in memory, which is what makes a range query over many
//! series fast.
//!
//! [`range_function`]: crate::functions

use promql_parser::parser::MatrixSelector;

use crate::engine::{millis, without_stale, Eval};
use crate::Error;

/// Most values one sweep keeps (series × steps); a larger query is
/// evaluated step by step.
pub(crate) const MAX_VALUES: usize = 8 << 20;

/// A range query's steps: first, last and interval (milliseconds).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
}

impl Grid {
    fn steps(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }

    /// Which step `ts` is, when it is one.
    pub(crate) fn index(&self, ts: i64) -> Option<usize> {
        (ts >= self.start && ts <= self.end && (ts - self.start) % self.step == 0)
            .then(|| ((ts - self.start) / self.step) as usize)
    }
}

/// One function's values at every step: `values[step * series + i]`.
pub(crate) struct Sweep {
    pub(crate) series: usize,
    pub(crate) values: Vec<f64>,
    pub(crate) present: Vec<bool>,
}

impl Sweep {
    /// Computes `f` over `ms`'s window at every step of `grid`; `None`
    /// when the selector was not loaded or the sweep would be too large.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the query runs past its deadline.
    pub(crate) fn compute(
        ev: &Eval<'_>,
        ms: &MatrixSelector,
        grid: Grid,
        mut f: impl FnMut(i64, i64, &[(i64, f64)]) -> Option<f64>,
    ) -> Result<Option<Sweep>, Error> {
        let Some((series, _, _)) = ev.loaded(&ms.vs) else { return Ok(None) };
        let (n, steps) = (series.len(), grid.steps());
        if n.saturating_mul(steps) > MAX_VALUES {
            return Ok(None);
        }
        let range = millis(&ms.range);
        let mut values = vec![0.0; n * steps];
        let mut present = vec![false; n * steps];
        let mut scratch = Vec::new();
        for (i, s) in series.iter().enumerate() {
            if i % 256 == 0 {
                ev.check_deadline()?;
            }
            let samples = &s.samples;
            let (mut a, mut b, mut last_from) = (0, 0, i64::MIN);
            for k in 0..steps {
                let end = ev.selector_base(&ms.vs, grid.start + k as i64 * grid.step);
                let from = end - range;
                if from < last_from {
                    (a, b) = (0, 0);
                }
                last_from = from;
                // The window holds the samples in from..=end, as
                // Eval::each_window takes them.
                while a < samples.len() && samples[a].0 < from {
                    a += 1;
                }
                b = b.max(a);
                while b < samples.len() && samples[b].0 <= end {
                    b += 1;
                }
                let window = without_stale(&samples[a..b], &mut scratch);
                if window.is_empty() {
                    continue;
                }
                if let Some(v) = f(from, end, window) {
                    values[k * n + i] = v;
                    present[k * n + i] = true;
                }
            }
        }
        Ok(Some(Sweep { series: n, values, present }))
    }
}
