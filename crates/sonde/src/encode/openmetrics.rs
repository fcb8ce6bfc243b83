//! OpenMetrics 1.0 text.

use super::number::{unix_seconds, write_help, write_u64, write_value};
use super::prometheus_text::{formatted, sample_with, write_labels};
use crate::snapshot::{Exemplar, FamilySnapshot, SeriesRef, SeriesValue, Snapshot};
use crate::MetricKind;

/// Encodes a snapshot as OpenMetrics 1.0 text, ending with `# EOF`.
///
/// Differences from the Prometheus text format: counter families are named
/// without `_total` (the sample has it), `# UNIT` lines, `_created` samples
/// for counters, histograms and summaries, `le` and `quantile` in canonical
/// float form (`1.0`), HELP also escapes `"`, and exemplars
/// (`# {trace_id="..",span_id=".."} value timestamp`) on counter and bucket
/// samples.
///
/// OpenMetrics treats `_sum` as a counter and quantiles as non-negative, so
/// what it cannot carry is left out rather than sent to be rejected: a
/// histogram with a negative bucket bound or a negative (or NaN) sum has no
/// `_sum`/`_count`; a summary drops negative quantile values and, with a
/// negative sum, its `_sum`/`_count`. The Prometheus text format keeps them.
pub fn openmetrics(snapshot: &Snapshot) -> String {
    let mut out = String::with_capacity(snapshot.series_count() * 80 + 256);
    openmetrics_into(snapshot, &mut out);
    out
}

/// Like [`openmetrics`], appending to `out`.
pub fn openmetrics_into(snapshot: &Snapshot, out: &mut String) {
    for f in &snapshot.families {
        family(out, f);
    }
    out.push_str("# EOF\n");
}

fn family(out: &mut String, f: &FamilySnapshot) {
    let kind = match f.kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge | MetricKind::UpDownCounter => "gauge",
        MetricKind::Histogram => "histogram",
        MetricKind::Summary => "summary",
    };
    out.push_str("# TYPE ");
    out.push_str(&f.name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    if let Some(unit) = &f.unit {
        out.push_str("# UNIT ");
        out.push_str(&f.name);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
    if !f.help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(&f.name);
        out.push(' ');
        write_help(out, &f.help, true);
        out.push('\n');
    }
    let mut labels = String::new();
    let les = formatted(f.bounds.iter().copied().chain(f.kind.is_histogram().then_some(f64::INFINITY)), true);
    let qs = formatted(f.quantiles.iter().copied(), true);
    for s in f.series() {
        labels.clear();
        write_labels(&mut labels, &s);
        match *s.value() {
            SeriesValue::Counter { value, exact } => {
                sample_with(out, &f.name, "_total", &labels, None);
                match exact {
                    Some(n) => write_u64(out, n),
                    None => write_value(out, value),
                }
                if let Some(e) = s.exemplar() {
                    exemplar(out, e);
                }
                out.push('\n');
                created(out, f, &labels, &s);
            }
            SeriesValue::Gauge(v) => {
                sample_with(out, &f.name, "", &labels, None);
                write_value(out, v);
                out.push('\n');
            }
            SeriesValue::Histogram { count, sum } => {
                let ex = s.exemplar();
                let mut ex_bucket = ex.map(|e| f.bounds.iter().take_while(|&&b| b < e.value).count());
                for (i, (le, n)) in les.iter().zip(s.buckets()).enumerate() {
                    sample_with(out, &f.name, "_bucket", &labels, Some(("le", le)));
                    write_u64(out, *n);
                    if ex_bucket == Some(i) {
                        exemplar(out, ex.expect("bucket chosen from an exemplar"));
                        ex_bucket = None;
                    }
                    out.push('\n');
                }
                if f.bounds.first().is_none_or(|b| *b >= 0.0) {
                    sum_count(out, f, &labels, sum, count);
                }
                created(out, f, &labels, &s);
            }
            SeriesValue::Summary { count, sum } => {
                for (q, v) in qs.iter().zip(s.quantiles()).filter(|(_, v)| v.is_nan() || **v >= 0.0) {
                    sample_with(out, &f.name, "", &labels, Some(("quantile", q)));
                    write_value(out, *v);
                    out.push('\n');
                }
                sum_count(out, f, &labels, sum, count);
                created(out, f, &labels, &s);
            }
        }
    }
}

/// `_sum` and `_count`, when the sum is a valid OpenMetrics counter value.
fn sum_count(out: &mut String, f: &FamilySnapshot, labels: &str, sum: f64, count: u64) {
    if sum.is_nan() || sum < 0.0 {
        return;
    }
    sample_with(out, &f.name, "_sum", labels, None);
    write_value(out, sum);
    out.push('\n');
    sample_with(out, &f.name, "_count", labels, None);
    write_u64(out, count);
    out.push('\n');
}

fn created(out: &mut String, f: &FamilySnapshot, labels: &str, s: &SeriesRef<'_>) {
    if let Some(t) = s.created() {
        sample_with(out, &f.name, "_created", labels, None);
        out.push_str(ryu::Buffer::new().format(unix_seconds(t)));
        out.push('\n');
    }
}

fn exemplar(out: &mut String, e: &Exemplar) {
    out.push_str(" # {trace_id=\"");
    out.push_str(&e.trace_id);
    out.push_str("\",span_id=\"");
    out.push_str(&e.span_id);
    out.push_str("\"} ");
    write_value(out, e.value);
    out.push(' ');
    out.push_str(ryu::Buffer::new().format(unix_seconds(e.timestamp)));
}

#[cfg(test)]
mod tests {
    use crate::{encode::openmetrics, Buckets, Registry, SummaryOptions};

    #[test]
    fn families_units_created_and_eof() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        r.counter("jobs_total").help("Say \"hi\"").register().unwrap().inc();
        let h = r.histogram("wait").unit("seconds").buckets(Buckets::new([1.0]).unwrap()).register().unwrap();
        h.observe(0.5);
        r.summary("s").options(SummaryOptions::default().quantiles([0.5]).unwrap()).register().unwrap();
        let text = openmetrics(&r.snapshot());
        assert!(
            text.starts_with("# TYPE jobs counter\n# HELP jobs Say \\\"hi\\\"\njobs_total 1\njobs_created "),
            "{text}"
        );
        assert!(text.contains("# TYPE wait_seconds histogram\n# UNIT wait_seconds seconds\n"));
        assert!(text.contains("wait_seconds_bucket{le=\"1.0\"} 1\nwait_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("s{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\n"), "empty summary window is NaN: {text}");
        assert!(text.ends_with("# EOF\n"));
    }

    /// An exemplar on a bucket's bound belongs to that bucket (`le` is
    /// inclusive), not the next one.
    #[test]
    fn an_exemplar_on_a_bound_sits_on_that_bucket() {
        use crate::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};
        let r = Registry::builder().self_metrics(false).build().unwrap();
        let h = r.histogram("wait").buckets(Buckets::new([1.0, 2.0]).unwrap()).exemplars().register().unwrap();
        let provider = TracerProvider::builder().processor(SimpleProcessor::new(InMemoryExporter::new())).build();
        provider.tracer("t").in_span("op", |_| h.observe(1.0));
        let text = openmetrics(&r.snapshot());
        let line = text.lines().find(|l| l.starts_with("wait_bucket{le=\"1.0\"}")).unwrap();
        assert!(line.contains(" # {trace_id="), "{text}");
        assert!(!text.lines().find(|l| l.starts_with("wait_bucket{le=\"2.0\"}")).unwrap().contains('#'));
    }
}
