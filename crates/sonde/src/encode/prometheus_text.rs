//! The Prometheus text exposition format, version 0.0.4.

use super::number::{write_help, write_label_value, write_u64, write_value};
use crate::snapshot::{FamilySnapshot, SeriesRef, SeriesValue, Snapshot};
use crate::MetricKind;

/// Encodes a snapshot in the Prometheus text format 0.0.4.
///
/// Counters get the `_total` suffix; up-down counters are gauges; histograms
/// write `_bucket` (with `le`), `_sum` and `_count`; summaries write
/// `quantile` samples, `_sum` and `_count`. Label values escape `\`, `"` and
/// newline; HELP escapes `\` and newline.
pub fn prometheus_text(snapshot: &Snapshot) -> String {
    let mut out = String::with_capacity(snapshot.series_count() * 64 + 256);
    prometheus_text_into(snapshot, &mut out);
    out
}

/// Like [`prometheus_text`], appending to `out`.
pub fn prometheus_text_into(snapshot: &Snapshot, out: &mut String) {
    for f in &snapshot.families {
        family(out, f);
    }
}

fn family(out: &mut String, f: &FamilySnapshot) {
    let (suffix, kind) = match f.kind {
        MetricKind::Counter => ("_total", "counter"),
        MetricKind::Gauge | MetricKind::UpDownCounter => ("", "gauge"),
        MetricKind::Histogram => ("", "histogram"),
        MetricKind::Summary => ("", "summary"),
    };
    out.push_str("# HELP ");
    out.push_str(&f.name);
    out.push_str(suffix);
    out.push(' ');
    write_help(out, &f.help, false);
    out.push_str("\n# TYPE ");
    out.push_str(&f.name);
    out.push_str(suffix);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    let mut labels = String::new();
    // Bucket bounds and quantiles are the same for every series: format once.
    let les = formatted(f.bounds.iter().copied().chain(f.kind.is_histogram().then_some(f64::INFINITY)), false);
    let qs = formatted(f.quantiles.iter().copied(), false);
    for s in f.series() {
        labels.clear();
        write_labels(&mut labels, &s);
        match *s.value() {
            SeriesValue::Counter { value, exact } => {
                sample(out, &f.name, "_total", &labels, None);
                match exact {
                    Some(n) => write_u64(out, n),
                    None => write_value(out, value),
                }
                out.push('\n');
            }
            SeriesValue::Gauge(v) => {
                sample(out, &f.name, "", &labels, None);
                write_value(out, v);
                out.push('\n');
            }
            SeriesValue::Histogram { count, sum } => {
                for (le, n) in les.iter().zip(s.buckets()) {
                    sample(out, &f.name, "_bucket", &labels, Some(("le", le)));
                    write_u64(out, *n);
                    out.push('\n');
                }
                sum_count(out, &f.name, &labels, sum, count);
            }
            SeriesValue::Summary { count, sum } => {
                for (q, v) in qs.iter().zip(s.quantiles()) {
                    sample(out, &f.name, "", &labels, Some(("quantile", q)));
                    write_value(out, *v);
                    out.push('\n');
                }
                sum_count(out, &f.name, &labels, sum, count);
            }
        }
    }
}

/// `k="v",k="v"` for a series (escaped), without braces.
pub(super) fn write_labels(out: &mut String, s: &SeriesRef<'_>) {
    for (i, (n, v)) in s.labels().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(n);
        out.push_str("=\"");
        write_label_value(out, v);
        out.push('"');
    }
}

/// Each value spelled as a sample value (`canonical`: as OpenMetrics wants
/// `le` and `quantile` label values).
pub(super) fn formatted(values: impl Iterator<Item = f64>, canonical: bool) -> Vec<String> {
    values
        .map(|v| {
            let mut s = String::new();
            if canonical {
                super::number::write_canonical(&mut s, v);
            } else {
                write_value(&mut s, v);
            }
            s
        })
        .collect()
}

/// Writes `name{labels,extra} ` (braces only when there are labels).
#[inline]
pub(super) fn sample_with(out: &mut String, name: &str, suffix: &str, labels: &str, extra: Option<(&str, &str)>) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some((k, v)) = extra {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
}

fn sample(out: &mut String, name: &str, suffix: &str, labels: &str, extra: Option<(&str, &str)>) {
    sample_with(out, name, suffix, labels, extra)
}

fn sum_count(out: &mut String, name: &str, labels: &str, sum: f64, count: u64) {
    sample(out, name, "_sum", labels, None);
    write_value(out, sum);
    out.push('\n');
    sample(out, name, "_count", labels, None);
    write_u64(out, count);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use crate::{encode::prometheus_text, Buckets, Registry};

    #[test]
    fn every_kind() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        r.counter("c_total").help("A \"counter\".\nSecond line \\").register().unwrap().inc_by(3);
        r.gauge("g").labels(["k"]).register().unwrap().with(&["a\"b\\c\nd"]).set(f64::NAN);
        let h = r.histogram("h_seconds").buckets(Buckets::new([0.5, 1.0]).unwrap()).register().unwrap();
        h.observe(0.7);
        r.up_down_counter("u").register().unwrap().dec();
        let text = prometheus_text(&r.snapshot());
        let want = "\
# HELP c_total A \"counter\".\\nSecond line \\\\
# TYPE c_total counter
c_total 3
# HELP g 
# TYPE g gauge
g{k=\"a\\\"b\\\\c\\nd\"} NaN
# HELP h_seconds 
# TYPE h_seconds histogram
h_seconds_bucket{le=\"0.5\"} 0
h_seconds_bucket{le=\"1\"} 1
h_seconds_bucket{le=\"+Inf\"} 1
h_seconds_sum 0.7
h_seconds_count 1
# HELP u 
# TYPE u gauge
u -1
";
        assert_eq!(text, want);
    }
}
