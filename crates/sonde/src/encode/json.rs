//! JSON: one object per series, keyed by its Prometheus-style identity.

use serde_json::{json as j, Map, Value};

use super::number::unix_seconds;
use crate::snapshot::{SeriesValue, Snapshot};

/// Encodes a snapshot as a JSON document:
///
/// ```json
/// {"timestamp": 1632150000.0,
///  "metrics": {"http_requests_total{method=\"GET\"}": {
///     "name": "http_requests_total", "kind": "counter", "help": "...",
///     "value": 1027, "labels": {"method": "GET"}, "timestamp": 1632150000.0}}}
/// ```
///
/// Histograms carry `{"count", "sum", "mean", "buckets": {"0.1": n, ..,
/// "+Inf": n}}` as value; summaries `{"count", "sum", "quantiles": {..}}`.
/// Native histograms add `"native": {"schema", "zero_threshold",
/// "zero_count", "min", "max", "positive": {"offset", "counts"},
/// "negative": {..}}`: per-bucket counts from Prometheus' bucket index
/// `offset` (bucket `i` holds `(2^((i-1)/2^schema), 2^(i/2^schema)]`).
/// Non-finite numbers become `null` (JSON has no NaN).
pub fn json(snapshot: &Snapshot) -> String {
    json_with(snapshot, Map::new())
}

/// Like [`json`], with extra top-level fields (for example `events_count`
/// and `running`).
pub fn json_with(snapshot: &Snapshot, extra: Map<String, Value>) -> String {
    let ts = unix_seconds(snapshot.timestamp);
    let mut metrics = Map::new();
    for f in &snapshot.families {
        let full = if f.kind == crate::MetricKind::Counter { format!("{}_total", f.name) } else { f.name.clone() };
        for s in f.series() {
            let labels: Map<String, Value> = s.labels().map(|(k, v)| (k.to_owned(), Value::from(v))).collect();
            let mut id = full.clone();
            if !labels.is_empty() {
                let mut text = String::new();
                super::prometheus_text::write_labels(&mut text, &s);
                id = format!("{full}{{{text}}}");
            }
            let value = match *s.value() {
                SeriesValue::Counter { exact: Some(n), .. } => Value::from(n),
                SeriesValue::Counter { value, .. } | SeriesValue::Gauge(value) => num(value),
                SeriesValue::Histogram { count, sum } => {
                    let mut buckets = Map::new();
                    let bounds = f.bounds.iter().copied().chain(std::iter::once(f64::INFINITY));
                    for (b, n) in bounds.zip(s.buckets()) {
                        let key =
                            if b.is_infinite() { "+Inf".to_owned() } else { ryu::Buffer::new().format(b).to_owned() };
                        buckets.insert(key, Value::from(*n));
                    }
                    let mean = if count == 0 { f64::NAN } else { sum / count as f64 };
                    let mut value = j!({"count": count, "sum": num(sum), "mean": num(mean), "buckets": buckets});
                    if let Some(n) = s.native() {
                        value["native"] = native(n);
                    }
                    value
                }
                SeriesValue::Summary { count, sum } => {
                    let qs: Map<String, Value> = f
                        .quantiles
                        .iter()
                        .zip(s.quantiles())
                        .map(|(q, v)| (ryu::Buffer::new().format(*q).to_owned(), num(*v)))
                        .collect();
                    j!({"count": count, "sum": num(sum), "quantiles": qs})
                }
            };
            metrics.insert(
                id,
                j!({"name": full, "kind": f.kind.as_str(), "help": f.help, "value": value, "labels": labels, "timestamp": ts}),
            );
        }
    }
    let mut doc = Map::new();
    doc.insert("timestamp".into(), Value::from(ts));
    doc.insert("metrics".into(), Value::Object(metrics));
    doc.extend(extra);
    Value::Object(doc).to_string()
}

fn native(n: &crate::NativeHistogramSnapshot) -> Value {
    let run = |b: &crate::ExponentialBuckets| j!({"offset": b.offset, "counts": b.counts});
    j!({
        "schema": n.schema,
        "zero_threshold": num(n.zero_threshold),
        "zero_count": n.zero_count,
        "min": n.min.map_or(Value::Null, num),
        "max": n.max.map_or(Value::Null, num),
        "positive": run(&n.positive),
        "negative": run(&n.negative),
    })
}

fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use crate::Registry;

    #[test]
    fn shape_matches_the_collector_spec() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        r.counter("requests_total").help("Total").register().unwrap().inc_by(1027);
        r.gauge("temp").labels(["room"]).register().unwrap().with(&["a"]).set(f64::NAN);
        let doc: serde_json::Value = serde_json::from_str(&super::json(&r.snapshot())).unwrap();
        let c = &doc["metrics"]["requests_total"];
        assert_eq!(c["value"], 1027);
        assert_eq!(c["labels"], serde_json::json!({}));
        assert!(doc["timestamp"].as_f64().unwrap() > 1.6e9);
        assert_eq!(doc["metrics"]["temp{room=\"a\"}"]["value"], serde_json::Value::Null);
    }

    #[test]
    fn numbers_and_histogram_means() {
        let r = Registry::builder().self_metrics(false).build().unwrap();
        r.gauge("g").register().unwrap().set(2.5);
        let h = r.histogram("h").buckets(crate::Buckets::new([1.0]).unwrap()).register().unwrap();
        h.observe(0.5);
        h.observe(2.5);
        r.histogram("empty").buckets(crate::Buckets::new([1.0]).unwrap()).register().unwrap();
        let doc: serde_json::Value = serde_json::from_str(&super::json(&r.snapshot())).unwrap();
        assert_eq!(doc["metrics"]["g"]["value"], 2.5);
        let h = &doc["metrics"]["h"]["value"];
        assert_eq!((h["count"].as_u64(), h["sum"].as_f64(), h["mean"].as_f64()), (Some(2), Some(3.0), Some(1.5)));
        assert_eq!(h["buckets"], serde_json::json!({"1.0": 1, "+Inf": 2}));
        let n = r
            .histogram("n")
            .buckets(crate::Buckets::native(crate::NativeBuckets::new().schema(0).unwrap()))
            .register()
            .unwrap();
        n.observe(3.0);
        n.observe(0.0);
        let doc: serde_json::Value = serde_json::from_str(&super::json(&r.snapshot())).unwrap();
        assert_eq!(
            doc["metrics"]["n"]["value"]["native"],
            serde_json::json!({"schema": 0, "zero_threshold": 2f64.powi(-128), "zero_count": 1, "min": 0.0, "max": 3.0,
                "positive": {"offset": 2, "counts": [1]}, "negative": {"offset": 0, "counts": []}})
        );
        assert_eq!(doc["metrics"]["empty"]["value"]["mean"], serde_json::Value::Null, "no observations: no mean");
    }
}
