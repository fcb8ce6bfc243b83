//! OTLP metrics folded into a Sonde registry, the way the OpenTelemetry
//! Collector's Prometheus exporter presents them: monotonic sums become
//! counters (`_total`), gauges and non-monotonic sums become gauges,
//! explicit-bucket histograms become histograms, exponential histograms
//! become native histograms (scale kept up to 20; a Prometheus scrape lowers
//! it to 8), summaries become gauges
//! per quantile plus `_sum` and `_count`. Cumulative points are turned into
//! increments against the previous point of the same series (a drop is a
//! restart: the new total counts from zero); delta points are added.
//! Names and attribute keys are sanitised; `service.name` becomes the `job`
//! label and `service.instance.id` the `instance` label, as in
//! OpenTelemetry's Prometheus compatibility rules, so two processes of one
//! service keep separate series.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{exponential_histogram_data_point, ExponentialHistogramDataPoint};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point, AggregationTemporality, Metric};
use sonde::ingest::{IngestTable, Refusal};
use sonde::{
    Buckets, Counter, ExponentialBuckets, Family, Gauge, Histogram, NativeBuckets, NativeHistogramSnapshot, Registry,
};

use super::{service_name, value_text};

/// Most distinct metric names accepted; points of new names beyond it are
/// refused (`too_many_metrics`).
pub const MAX_METRIC_NAMES: usize = 10_000;
/// Most series whose previous cumulative point is remembered; points of new
/// series beyond it are refused (`too_many_series`).
pub const MAX_TRACKED_SERIES: usize = 200_000;
/// Most labels per point (attributes beyond it are refused with the point).
const MAX_LABELS: usize = 32;

/// What a metric's points become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Native,
}

#[derive(Clone)]
enum Target {
    Counter(Family<Counter>),
    Gauge(Family<Gauge>),
    Histogram(Family<Histogram>, std::sync::Arc<[f64]>),
    Native(Family<Histogram>),
}

/// The previous cumulative point of one series.
enum Previous {
    Total(f64),
    Buckets(Vec<u64>, f64),
    Native(Box<NativeHistogramSnapshot>),
}

#[derive(Default)]
struct State {
    /// The previous cumulative point, by (name, label values).
    previous: HashMap<(String, Vec<String>), Previous>,
}

/// Folds OTLP metric requests into a registry; see the module docs.
pub struct MetricIngest {
    registry: Registry,
    targets: IngestTable<Kind, Target>,
    state: Mutex<State>,
    received: Counter,
    rejected: Family<Counter>,
}

fn unit_name(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        _ => return None,
    })
}

fn point_value(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> Result<f64, Refusal> {
    match p.value {
        Some(number_data_point::Value::AsInt(i)) => Ok(i as f64),
        Some(number_data_point::Value::AsDouble(d)) => Ok(d),
        None => Err(Refusal::NoValue),
    }
}

fn is_cumulative(t: i32) -> bool {
    t != AggregationTemporality::Delta as i32
}

/// Who sent a batch of points: its `job` and `instance` labels.
struct Source {
    job: String,
    instance: Option<String>,
}

/// A point's label names and values: `job` from the service, then the
/// sanitised attributes, sorted by name.
fn labels(source: &Source, attributes: &[KeyValue]) -> Result<Vec<(String, String)>, Refusal> {
    if attributes.len() > MAX_LABELS {
        return Err(Refusal::TooManyLabels);
    }
    let mut out = vec![("job".to_owned(), source.job.clone())];
    if let Some(instance) = &source.instance {
        out.push(("instance".to_owned(), instance.clone()));
    }
    for kv in attributes {
        let name = sonde::sanitize_label_name(&kv.key);
        if name == "job" || name == "instance" {
            continue;
        }
        out.push((name, sonde::sanitize_label_value(&value_text(kv.value.as_ref())).into_owned()));
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// How many data points a metric carries (whatever its kind).
pub fn point_count(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

impl MetricIngest {
    /// Folds into `registry`, registering `sonde_otlp_received_points_total`
    /// and `sonde_otlp_rejected_points_total{reason}` there.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the ingest's self-metric names is already declared as another kind.
    pub fn new(registry: Registry) -> sonde::Result<Self> {
        let received =
            registry.counter("sonde_otlp_received_points_total").help("OTLP metric points received.").register()?;
        let rejected = registry
            .counter("sonde_otlp_rejected_points_total")
            .help("OTLP metric points refused, by reason.")
            .labels(["reason"])
            .register()?;
        Ok(Self { registry, targets: IngestTable::new(MAX_METRIC_NAMES), state: Mutex::default(), received, rejected })
    }

    /// Folds every point of `request` in; returns how many were refused.
    pub fn ingest(&self, request: &ExportMetricsServiceRequest) -> i64 {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut rejected = 0;
        for rm in &request.resource_metrics {
            let attrs = rm.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or_default();
            let instance =
                attrs.iter().find(|kv| kv.key == "service.instance.id").map(|kv| value_text(kv.value.as_ref()));
            let job = Source { job: service_name(attrs), instance: instance.filter(|i| !i.is_empty()) };
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    for result in self.metric(&mut state, &job, m) {
                        self.received.inc();
                        if let Err(reason) = result {
                            self.rejected.with(&[reason.as_str()]).inc();
                            rejected += 1;
                        }
                    }
                }
            }
        }
        rejected
    }

    /// One result per point.
    fn metric(&self, state: &mut State, job: &Source, m: &Metric) -> Vec<Result<(), Refusal>> {
        let name = sonde::sanitize_metric_name(&m.name);
        let unit = unit_name(&m.unit);
        match &m.data {
            Some(Data::Sum(s)) if s.is_monotonic => s
                .data_points
                .iter()
                .map(|p| {
                    let labels = labels(job, &p.attributes)?;
                    let v = point_value(p)?;
                    if v.is_nan() || v < 0.0 || v.is_infinite() {
                        return Err(Refusal::BadValue);
                    }
                    let (target, values) = self.target(&name, Kind::Counter, unit, &m.description, &labels, None)?;
                    let Target::Counter(f) = target else { return Err(Refusal::NameConflict) };
                    let inc = if is_cumulative(s.aggregation_temporality) {
                        self.since_last(&mut state.previous, &name, &values, v)?
                    } else {
                        v
                    };
                    f.with(&values).add(inc);
                    Ok(())
                })
                .collect(),
            Some(Data::Sum(s)) => {
                self.gauges(job, &name, unit, m, &s.data_points, !is_cumulative(s.aggregation_temporality))
            }
            Some(Data::Gauge(g)) => self.gauges(job, &name, unit, m, &g.data_points, false),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter()
                .map(|p| {
                    let labels = labels(job, &p.attributes)?;
                    if p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
                        return Err(Refusal::BadBuckets);
                    }
                    let bounds = Some(&p.explicit_bounds[..]);
                    let (target, values) =
                        self.target(&name, Kind::Histogram, unit, &m.description, &labels, bounds)?;
                    let Target::Histogram(f, bounds) = target else { return Err(Refusal::NameConflict) };
                    if bounds[..] != p.explicit_bounds[..] {
                        return Err(Refusal::BucketMismatch);
                    }
                    let sum = p.sum.unwrap_or(0.0);
                    let mut counts = p.bucket_counts.clone();
                    let mut add_sum = sum;
                    if is_cumulative(h.aggregation_temporality) {
                        let now = Previous::Buckets(p.bucket_counts.clone(), sum);
                        if let Some(Previous::Buckets(before, before_sum)) =
                            remember(&mut state.previous, &name, &values, now)?
                        {
                            if before.len() == counts.len() && counts.iter().zip(&before).all(|(c, b)| c >= b) {
                                counts.iter_mut().zip(&before).for_each(|(c, b)| *c -= b);
                                add_sum = sum - before_sum;
                            }
                        }
                    }
                    f.with(&values).add_bucket_counts(&counts, add_sum).map_err(|_| Refusal::BadBuckets)
                })
                .collect(),
            Some(Data::Summary(s)) => s
                .data_points
                .iter()
                .flat_map(|p| {
                    let mut results = Vec::new();
                    let base = match labels(job, &p.attributes) {
                        Ok(l) => l,
                        Err(e) => return vec![Err(e)],
                    };
                    for q in &p.quantile_values {
                        let mut l = base.clone();
                        l.push(("quantile".into(), q.quantile.to_string()));
                        l.sort();
                        results.push(self.set_gauge(&name, None, &m.description, &l, q.value));
                    }
                    results.push(self.set_gauge(&format!("{name}_sum"), None, &m.description, &base, p.sum));
                    results.push(self.set_gauge(&format!("{name}_count"), None, &m.description, &base, p.count as f64));
                    results
                })
                .collect(),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter()
                .map(|p| {
                    let labels = labels(job, &p.attributes)?;
                    let point = native_point(p)?;
                    let (target, values) = self.target(&name, Kind::Native, unit, &m.description, &labels, None)?;
                    let Target::Native(f) = target else { return Err(Refusal::NameConflict) };
                    let mut add = point;
                    if is_cumulative(h.aggregation_temporality) {
                        let now = Previous::Native(Box::new(add.clone()));
                        if let Some(Previous::Native(before)) = remember(&mut state.previous, &name, &values, now)? {
                            let mut change = add.clone();
                            change.subtract(&before);
                            // A count that went down anywhere is a restart: the point counts whole.
                            let went_down = |b: &ExponentialBuckets| b.counts.iter().any(|&c| c > add.count);
                            if add.count >= before.count
                                && change.zero_count <= add.count
                                && !went_down(&change.positive)
                                && !went_down(&change.negative)
                            {
                                add = change;
                            }
                        }
                    }
                    f.with(&values).add_native(&add).map_err(|_| Refusal::BadValue)
                })
                .collect(),
            None => vec![Err(Refusal::NoData)],
        }
    }

    fn gauges(
        &self,
        job: &Source,
        name: &str,
        unit: Option<&str>,
        m: &Metric,
        points: &[opentelemetry_proto::tonic::metrics::v1::NumberDataPoint],
        delta: bool,
    ) -> Vec<Result<(), Refusal>> {
        points
            .iter()
            .map(|p| {
                let labels = labels(job, &p.attributes)?;
                let v = point_value(p)?;
                if delta {
                    let (target, values) = self.target(name, Kind::Gauge, unit, &m.description, &labels, None)?;
                    let Target::Gauge(f) = target else { return Err(Refusal::NameConflict) };
                    f.with(&values).add(v);
                    Ok(())
                } else {
                    self.set_gauge(name, unit, &m.description, &labels, v)
                }
            })
            .collect()
    }

    fn set_gauge(
        &self,
        name: &str,
        unit: Option<&str>,
        help: &str,
        labels: &[(String, String)],
        v: f64,
    ) -> Result<(), Refusal> {
        let (target, values) = self.target(name, Kind::Gauge, unit, help, labels, None)?;
        let Target::Gauge(f) = target else { return Err(Refusal::NameConflict) };
        f.with(&values).set(v);
        Ok(())
    }

    /// The increment a cumulative total means since the series' last point.
    fn since_last(
        &self,
        previous: &mut HashMap<(String, Vec<String>), Previous>,
        name: &str,
        values: &[&str],
        total: f64,
    ) -> Result<f64, Refusal> {
        Ok(match remember(previous, name, values, Previous::Total(total))? {
            Some(Previous::Total(before)) if total >= before => total - before,
            _ => total,
        })
    }

    /// Finds or declares the family `name` of `kind` in the ingest table;
    /// returns it with this point's label values in the family's order
    /// (missing labels empty, unknown ones refused).
    fn target<'l>(
        &self,
        name: &str,
        kind: Kind,
        unit: Option<&str>,
        help: &str,
        labels: &'l [(String, String)],
        bounds: Option<&[f64]>,
    ) -> Result<(Target, Vec<&'l str>), Refusal> {
        let declare = |names: &[String]| {
            let r = &self.registry;
            // A HELP line for metrics sent without a description (promtool lints its absence).
            let generated;
            let help = if help.trim().is_empty() {
                let what = match kind {
                    Kind::Counter => "counter",
                    Kind::Gauge => "gauge",
                    Kind::Histogram | Kind::Native => "histogram",
                };
                generated = format!("OTLP {what} {name}, received without a description.");
                &generated
            } else {
                help
            };
            let conflict = |_| Refusal::NameConflict;
            Ok(match kind {
                Kind::Counter => {
                    let mut b = r.counter(name).help(help);
                    if let Some(u) = unit {
                        b = b.unit(u);
                    }
                    Target::Counter(b.labels(names).register().map_err(conflict)?)
                }
                Kind::Histogram => {
                    let bounds: std::sync::Arc<[f64]> = bounds.unwrap_or(&[]).into();
                    let buckets = Buckets::new(bounds.iter().copied()).map_err(|_| Refusal::BadBuckets)?;
                    let mut b = r.histogram(name).help(help);
                    if let Some(u) = unit {
                        b = b.unit(u);
                    }
                    Target::Histogram(b.labels(names).buckets(buckets).register().map_err(conflict)?, bounds)
                }
                Kind::Native => {
                    let mut b = r.histogram(name).help(help);
                    if let Some(u) = unit {
                        b = b.unit(u);
                    }
                    Target::Native(
                        b.labels(names).buckets(Buckets::native(native_buckets())).register().map_err(conflict)?,
                    )
                }
                Kind::Gauge => {
                    let mut b = r.gauge(name).help(help);
                    if let Some(u) = unit {
                        b = b.unit(u);
                    }
                    Target::Gauge(b.labels(names).register().map_err(conflict)?)
                }
            })
        };
        self.targets.target(name, kind, labels, declare)
    }
}

/// Keeps `now` as the series' previous cumulative point and returns the one
/// it replaces; a new series past [`MAX_TRACKED_SERIES`] is refused.
fn remember(
    previous: &mut HashMap<(String, Vec<String>), Previous>,
    name: &str,
    values: &[&str],
    now: Previous,
) -> Result<Option<Previous>, Refusal> {
    let key = (name.to_owned(), values.iter().map(|v| v.to_string()).collect());
    if !previous.contains_key(&key) && previous.len() >= MAX_TRACKED_SERIES {
        return Err(Refusal::TooManySeries);
    }
    Ok(previous.insert(key, now))
}

/// Native buckets of the families exponential histograms fold into: any
/// scale OTLP senders use (up to 20) is kept; the zero bucket is OTLP's
/// default, zero wide (a point's zero count is added to it).
fn native_buckets() -> NativeBuckets {
    NativeBuckets::new().schema(sonde::exponential::MAX_SCHEMA).and_then(|n| n.zero_threshold(0.0)).unwrap_or_default()
}

/// Lowest and highest OTLP bucket index a finite double or infinity can
/// have at `scale`: beyond them a point is malformed.
fn index_range(scale: i32) -> (i64, i64) {
    let per_octave = 1i64 << scale.max(0);
    let shift = (-scale).max(0);
    ((-1075 * per_octave) >> shift, (1025 * per_octave) >> shift)
}

/// An exponential histogram point as native data, checked: scale within
/// -4..=20 (`bad_scale`), buckets within the range of doubles
/// (`bad_buckets`), count equal to the zero bucket plus every bucket
/// (`count_mismatch`), a sum and zero threshold that are numbers (`bad_value`).
fn native_point(p: &ExponentialHistogramDataPoint) -> Result<NativeHistogramSnapshot, Refusal> {
    let range = sonde::exponential::MIN_SCHEMA..=sonde::exponential::MAX_SCHEMA;
    let scale = i8::try_from(p.scale).ok().filter(|s| range.contains(s)).ok_or(Refusal::BadScale)?;
    let sum = p.sum.unwrap_or(0.0);
    if sum.is_nan() || p.zero_threshold.is_nan() || p.zero_threshold < 0.0 {
        return Err(Refusal::BadValue);
    }
    let (lowest, highest) = index_range(p.scale);
    let buckets = |b: &Option<exponential_histogram_data_point::Buckets>| -> Result<ExponentialBuckets, Refusal> {
        let Some(b) = b else { return Ok(ExponentialBuckets::default()) };
        let first = i64::from(b.offset);
        let last = first + b.bucket_counts.len() as i64 - 1;
        if !b.bucket_counts.is_empty() && (first < lowest || last > highest) {
            return Err(Refusal::BadBuckets);
        }
        // OTLP's bucket i is Prometheus' bucket i + 1.
        let mut out = ExponentialBuckets { offset: b.offset.saturating_add(1), counts: b.bucket_counts.clone() };
        out.trim();
        Ok(out)
    };
    let (positive, negative) = (buckets(&p.positive)?, buckets(&p.negative)?);
    let total = [positive.counts.iter(), negative.counts.iter()]
        .into_iter()
        .flatten()
        .try_fold(p.zero_count, |a, &c| a.checked_add(c))
        .ok_or(Refusal::CountMismatch)?;
    if total != p.count {
        return Err(Refusal::CountMismatch);
    }
    Ok(NativeHistogramSnapshot {
        schema: scale,
        zero_threshold: p.zero_threshold,
        zero_count: p.zero_count,
        count: p.count,
        sum,
        min: p.min,
        max: p.max,
        positive,
        negative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram as OtlpHistogram, HistogramDataPoint,
        NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn attr(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
            ..Default::default()
        }
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource { attributes: vec![attr("service.name", "shop")], ..Default::default() }),
                scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn sum(name: &str, v: i64, temporality: AggregationTemporality, attrs: Vec<KeyValue>) -> Metric {
        Metric {
            name: name.into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes: attrs,
                    value: Some(number_data_point::Value::AsInt(v)),
                    ..Default::default()
                }],
                aggregation_temporality: temporality as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    fn histogram(counts: Vec<u64>, sum: f64) -> Metric {
        Metric {
            name: "http.server.duration".into(),
            unit: "s".into(),
            data: Some(Data::Histogram(OtlpHistogram {
                data_points: vec![HistogramDataPoint {
                    count: counts.iter().sum(),
                    sum: Some(sum),
                    bucket_counts: counts,
                    explicit_bounds: vec![0.1, 1.0],
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        }
    }

    fn value(r: &Registry, family: &str, labels: &[&str]) -> f64 {
        r.snapshot().family(family).and_then(|f| f.find(labels).map(|s| s.value().as_f64())).unwrap_or(f64::NAN)
    }

    #[test]
    fn cumulative_and_delta_points_become_prometheus_series() {
        let r = Registry::new();
        let ingest = MetricIngest::new(r.clone()).unwrap();
        let cumulative = AggregationTemporality::Cumulative;
        assert_eq!(ingest.ingest(&request(vec![sum("orders", 5, cumulative, vec![attr("route", "/a")])])), 0);
        assert_eq!(ingest.ingest(&request(vec![sum("orders", 8, cumulative, vec![attr("route", "/a")])])), 0);
        assert_eq!(value(&r, "orders", &["shop", "/a"]), 8.0, "cumulative totals, not their sum");
        ingest.ingest(&request(vec![sum("orders", 2, cumulative, vec![attr("route", "/a")])]));
        assert_eq!(value(&r, "orders", &["shop", "/a"]), 10.0, "a drop is a restart");
        let delta = AggregationTemporality::Delta;
        ingest.ingest(&request(vec![sum("jobs", 3, delta, vec![]), sum("jobs", 4, delta, vec![])]));
        assert_eq!(value(&r, "jobs", &["shop"]), 7.0, "deltas add up");

        ingest.ingest(&request(vec![histogram(vec![1, 2, 0], 1.0)]));
        ingest.ingest(&request(vec![histogram(vec![2, 3, 1], 4.0)]));
        let snap = r.snapshot();
        let h = snap.family("http_server_duration_seconds").unwrap().series().next().unwrap().histogram().unwrap();
        assert_eq!((h.cumulative.clone(), h.count, h.sum), (vec![2, 5, 6], 6, 4.0));

        let gauge = Metric {
            name: "temp".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    value: Some(number_data_point::Value::AsDouble(21.5)),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        };
        ingest.ingest(&request(vec![gauge]));
        assert_eq!(value(&r, "temp", &["shop"]), 21.5);

        // Sent without descriptions, they get generated HELP lines; a sent one is kept.
        let described = Metric { description: "Jobs run.".into(), ..sum("runs", 1, delta, vec![]) };
        ingest.ingest(&request(vec![described]));
        let text = sonde::encode::prometheus_text(&r.snapshot());
        for help in [
            "# HELP orders_total OTLP counter orders, received without a description.",
            "# HELP temp OTLP gauge temp, received without a description.",
            "# HELP runs_total Jobs run.",
        ] {
            assert!(text.contains(help), "{help} in {text}");
        }
    }

    /// Exponential histograms become native series: cumulative points fold
    /// into changes (a drop restarts), deltas add, scales above 8 are kept.
    #[test]
    fn exponential_histograms_become_native_histograms() {
        let r = Registry::new();
        let ingest = MetricIngest::new(r.clone()).unwrap();
        let point = |temporality: AggregationTemporality, scale, zero, offset, counts: Vec<u64>, sum| Metric {
            name: "rpc.duration".into(),
            unit: "s".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    count: zero + counts.iter().sum::<u64>(),
                    zero_count: zero,
                    scale,
                    sum: Some(sum),
                    positive: Some(exponential_histogram_data_point::Buckets { offset, bucket_counts: counts }),
                    min: Some(0.0),
                    max: Some(9.0),
                    ..Default::default()
                }],
                aggregation_temporality: temporality as i32,
            })),
            ..Default::default()
        };
        let native = |r: &Registry| {
            let snap = r.snapshot();
            let n = snap.family("rpc_duration_seconds").unwrap().series().next().unwrap().native().unwrap().clone();
            n
        };
        let cumulative = AggregationTemporality::Cumulative;
        assert_eq!(ingest.ingest(&request(vec![point(cumulative, 12, 1, 4096, vec![2, 0, 3], 10.0)])), 0);
        let n = native(&r);
        assert_eq!((n.schema, n.count, n.zero_count, n.sum), (12, 6, 1, 10.0));
        // OTLP bucket 4096 at scale 12 is Prometheus' 4097: (2^1, 2^(4097/4096)]
        assert_eq!((n.positive.offset, n.positive.counts.clone()), (4097, vec![2, 0, 3]));
        assert_eq!((n.min, n.max), (Some(0.0), Some(9.0)));
        // the next cumulative point adds its change only
        ingest.ingest(&request(vec![point(cumulative, 12, 1, 4096, vec![2, 1, 5], 14.0)]));
        let n = native(&r);
        assert_eq!((n.count, n.sum, n.positive.counts.clone()), (9, 14.0, vec![2, 1, 5]));
        // a drop is a restart: the whole point counts
        ingest.ingest(&request(vec![point(cumulative, 12, 0, 4096, vec![1], 1.0)]));
        assert_eq!(native(&r).count, 10);
        // delta points add, at a coarser scale the series follows
        ingest.ingest(&request(vec![point(AggregationTemporality::Delta, 3, 0, 8, vec![4], 9.0)]));
        let n = native(&r);
        assert_eq!((n.schema, n.count), (3, 14));
        assert_eq!(n.positive.total(), 13);
        let protobuf = sonde::encode::prometheus_text(&r.snapshot());
        assert!(protobuf.contains("rpc_duration_seconds_count{job=\"shop\"} 14"), "{protobuf}");
    }

    #[test]
    fn refused_points_are_counted_by_reason() {
        let r = Registry::new();
        let ingest = MetricIngest::new(r.clone()).unwrap();
        let cumulative = AggregationTemporality::Cumulative;
        ingest.ingest(&request(vec![sum("a", 1, cumulative, vec![attr("x", "1")])]));
        let exp = Metric {
            name: "e".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint { count: 5, ..Default::default() }],
                aggregation_temporality: 2,
            })),
            ..Default::default()
        };
        let refused = ingest.ingest(&request(vec![
            sum("a", 1, cumulative, vec![attr("other", "1")]),
            sum("a", -1, AggregationTemporality::Delta, vec![]),
            exp,
            histogram(vec![1, 2], 1.0),
            Metric { name: "empty".into(), ..Default::default() },
        ]));
        assert_eq!(refused, 5);
        for reason in ["label_mismatch", "bad_value", "count_mismatch", "bad_buckets", "no_data"] {
            assert_eq!(value(&r, "sonde_otlp_rejected_points", &[reason]), 1.0, "{reason}");
        }
        let exponential = |p: ExponentialHistogramDataPoint| Metric {
            name: "bad".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![p],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        };
        let buckets = |offset, counts: Vec<u64>| {
            Some(exponential_histogram_data_point::Buckets { offset, bucket_counts: counts })
        };
        let malformed = [
            ExponentialHistogramDataPoint { scale: 21, ..Default::default() },
            ExponentialHistogramDataPoint { scale: -5, ..Default::default() },
            ExponentialHistogramDataPoint { count: 2, positive: buckets(0, vec![1]), ..Default::default() },
            ExponentialHistogramDataPoint {
                count: u64::MAX,
                zero_count: 1,
                positive: buckets(0, vec![u64::MAX]),
                ..Default::default()
            },
            ExponentialHistogramDataPoint { count: 1, positive: buckets(i32::MAX, vec![1]), ..Default::default() },
            ExponentialHistogramDataPoint {
                count: 1,
                scale: 20,
                negative: buckets(i32::MIN, vec![1]),
                ..Default::default()
            },
            ExponentialHistogramDataPoint { sum: Some(f64::NAN), ..Default::default() },
            ExponentialHistogramDataPoint { zero_threshold: -1.0, ..Default::default() },
        ];
        let refused = ingest.ingest(&request(malformed.into_iter().map(exponential).collect()));
        assert_eq!(refused, 8, "malformed exponential histograms are refused, never a panic");
        for (reason, n) in [("bad_scale", 2.0), ("count_mismatch", 3.0), ("bad_buckets", 3.0), ("bad_value", 3.0)] {
            assert_eq!(value(&r, "sonde_otlp_rejected_points", &[reason]), n, "{reason}");
        }
        let hostile = sum("x\ny{z=\"1\"}", 1, cumulative, vec![attr("__name__", "\"\n")]);
        assert_eq!(ingest.ingest(&request(vec![hostile])), 0, "names are sanitised, values kept as data");
        let text = sonde::encode::prometheus_text(&r.snapshot());
        // Control characters in values are replaced (sonde::sanitize_label_value).
        assert!(text.contains("x_y_z__1___total{job=\"shop\",key___name__=\"\\\"\u{FFFD}\"} 1"), "{text}");
    }
}
