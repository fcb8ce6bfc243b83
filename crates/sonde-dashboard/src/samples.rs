//! A snapshot as flat samples with stable ids: what charts plot.

use sonde::{FamilySnapshot, MetricKind, SeriesValue, Snapshot};

/// One plottable number.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Stable id: the Prometheus sample name with its labels
    /// (`http_requests_total{code="200"}`); histograms add a derived
    /// `quantile="0.9"` series; native histograms give `_bucket{le}` samples
    /// at their bucket bounds, as classic ones do.
    pub id: String,
    /// The family it belongs to.
    pub family: String,
    /// The value now.
    pub value: f64,
}

/// Most buckets of a native histogram kept as `_bucket` samples.
const NATIVE_SHOWN: usize = 32;

fn id(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// Every sample of `family`.
pub(crate) fn family_samples(f: &FamilySnapshot, out: &mut Vec<Sample>) {
    for s in f.series() {
        let labels: Vec<(&str, &str)> = s.labels().collect();
        let mut push = |name: String, extra: Option<(&str, String)>, value: f64| {
            let mut l = labels.clone();
            let q;
            if let Some((k, v)) = extra {
                q = v;
                l.push((k, &q));
            }
            out.push(Sample { id: id(&name, &l), family: f.name.clone(), value });
        };
        match (f.kind, s.value()) {
            (MetricKind::Counter, v) => push(format!("{}_total", f.name), None, v.as_f64()),
            (MetricKind::Histogram, SeriesValue::Histogram { count, sum }) => {
                push(format!("{}_count", f.name), None, *count as f64);
                push(format!("{}_sum", f.name), None, *sum);
                if let Some(n) = s.native().filter(|_| f.bounds.is_empty()) {
                    // A native-only histogram is drawn as a classic one: its
                    // quantiles, and cumulative counts at its bucket bounds
                    // (at most `NATIVE_SHOWN` buckets, coarser if need be).
                    for q in [0.5, 0.9, 0.99] {
                        push(f.name.clone(), Some(("quantile", q.to_string())), n.quantile(q));
                    }
                    let mut shown = n.clone();
                    shown.limit_buckets(NATIVE_SHOWN);
                    let mut below = 0u64;
                    for (_, upper, c) in shown.buckets() {
                        below += c;
                        push(format!("{}_bucket", f.name), Some(("le", upper.to_string())), below as f64);
                    }
                    push(format!("{}_bucket", f.name), Some(("le", "+Inf".to_owned())), *count as f64);
                } else if let Some(h) = s.histogram() {
                    for q in [0.5, 0.9, 0.99] {
                        push(f.name.clone(), Some(("quantile", q.to_string())), h.quantile(q));
                    }
                    // Cumulative bucket counts, for heatmaps over time.
                    for (bound, count) in h.buckets() {
                        let le = if bound.is_infinite() { "+Inf".to_owned() } else { bound.to_string() };
                        push(format!("{}_bucket", f.name), Some(("le", le)), count as f64);
                    }
                }
            }
            (MetricKind::Summary, SeriesValue::Summary { count, sum }) => {
                push(format!("{}_count", f.name), None, *count as f64);
                push(format!("{}_sum", f.name), None, *sum);
                for (q, v) in f.quantiles.iter().zip(s.quantiles()) {
                    push(f.name.clone(), Some(("quantile", q.to_string())), *v);
                }
            }
            (_, v) => push(f.name.clone(), None, v.as_f64()),
        }
    }
}

/// Every sample of `snapshot`.
pub fn samples(snapshot: &Snapshot) -> Vec<Sample> {
    let mut out = Vec::with_capacity(snapshot.series_count());
    for f in &snapshot.families {
        family_samples(f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde::{Buckets, NativeBuckets, Registry};

    #[test]
    fn native_histograms_are_drawn_as_classic_ones() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        let h = r.histogram("n").buckets(Buckets::native(NativeBuckets::new().schema(0).unwrap())).register().unwrap();
        for v in [0.0, 0.75, 3.0, 3.5] {
            h.observe(v);
        }
        let got: Vec<(String, f64)> = samples(&r.snapshot()).into_iter().map(|s| (s.id, s.value)).collect();
        let find = |id: &str| got.iter().find(|(i, _)| i == id).map(|(_, v)| *v);
        assert_eq!(find("n_count"), Some(4.0));
        // zero bucket (le = threshold), (0.5, 1], (2, 4], +Inf: cumulative
        assert_eq!(find(&format!("n_bucket{{le=\"{}\"}}", 2f64.powi(-128))), Some(1.0));
        assert_eq!(find("n_bucket{le=\"1\"}"), Some(2.0));
        assert_eq!(find("n_bucket{le=\"4\"}"), Some(4.0));
        assert_eq!(find("n_bucket{le=\"+Inf\"}"), Some(4.0));
        let median = find("n{quantile=\"0.5\"}").unwrap();
        assert!((0.5..=1.0).contains(&median), "{median}");
    }
}
