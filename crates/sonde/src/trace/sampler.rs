//! Sampling decisions: which traces are recorded.

use super::{SpanContext, TraceId};

/// Decides whether a new span is recorded and exported.
#[derive(Clone, Debug, PartialEq)]
pub enum Sampler {
    /// Record everything.
    AlwaysOn,
    /// Record nothing (spans still propagate context).
    AlwaysOff,
    /// Record a fixed fraction of traces, decided by the trace id so every
    /// service makes the same decision for the same trace.
    TraceIdRatio(f64),
    /// Follow the parent's sampled flag; use the inner sampler for roots.
    ParentBased(Box<Sampler>),
}

impl Default for Sampler {
    /// Parent-based, always-on for roots (OpenTelemetry's default).
    fn default() -> Self {
        Self::ParentBased(Box::new(Self::AlwaysOn))
    }
}

impl Sampler {
    /// Whether a span in `trace_id` with `parent` should be sampled.
    #[inline]
    pub fn should_sample(&self, parent: Option<&SpanContext>, trace_id: TraceId) -> bool {
        match self {
            Self::AlwaysOn => true,
            Self::AlwaysOff => false,
            Self::TraceIdRatio(r) => ratio_sample(*r, trace_id),
            Self::ParentBased(root) => match parent {
                Some(p) => p.is_sampled(),
                None => root.should_sample(None, trace_id),
            },
        }
    }
}

/// Compares the trace id's random low 56 bits (Trace Context Level 2) with
/// the ratio scaled to 2^56.
fn ratio_sample(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio.is_nan() || ratio <= 0.0 {
        return false;
    }
    let b = trace_id.to_bytes();
    let low = u64::from_be_bytes([0, b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    (low as f64) < ratio * (1u64 << 56) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_close_and_deterministic() {
        let s = Sampler::TraceIdRatio(0.25);
        let ids: Vec<TraceId> = (0..20_000).map(|_| TraceId::random()).collect();
        let n = ids.iter().filter(|t| s.should_sample(None, **t)).count();
        assert!((4_000..6_000).contains(&n), "{n}");
        assert!(ids.iter().all(|t| s.should_sample(None, *t) == s.should_sample(None, *t)));
        assert!(!Sampler::TraceIdRatio(0.0).should_sample(None, ids[0]));
        assert!(!Sampler::TraceIdRatio(f64::NAN).should_sample(None, ids[0]));
    }

    #[test]
    fn parent_based_follows_parent() {
        use crate::trace::{SpanId, TraceFlags};
        let s = Sampler::ParentBased(Box::new(Sampler::AlwaysOff));
        let t = TraceId::random();
        let sampled = SpanContext::new(t, SpanId::random(), TraceFlags::SAMPLED);
        let unsampled = SpanContext::new(t, SpanId::random(), TraceFlags::default());
        assert!(s.should_sample(Some(&sampled), t));
        assert!(!s.should_sample(Some(&unsampled), t));
        assert!(!s.should_sample(None, t));
    }
}
