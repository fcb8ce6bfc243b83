//! The sample store as a PromQL [`Source`]: series found by their labels
//! (parsed once, as series appear), samples read in one pass per block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sonde_promql::{Error, Labels, MatchOp, Matcher, Series, Source, METRIC_NAME};

use crate::store::SampleStore;

/// The store's series by their labels.
#[derive(Default)]
struct SeriesIndex {
    /// How many of the store's series are indexed.
    seen: usize,
    series: Vec<(Labels, Arc<str>)>,
    by_name: HashMap<String, Vec<usize>>,
}

impl SeriesIndex {
    fn refresh(&mut self, samples: &SampleStore) {
        let (new, total) = samples.ids_since(self.seen);
        for id in new {
            let Some(labels) = Labels::parse_series(&id) else { continue };
            let name = labels.name().unwrap_or_default().to_owned();
            self.by_name.entry(name).or_default().push(self.series.len());
            self.series.push((labels, id));
        }
        self.seen = total;
    }

    /// A histogram's derived quantile series (the dashboard's, not
    /// Prometheus'): `name{quantile=..}` where `name_bucket` exists.
    fn derived(&self, labels: &Labels) -> bool {
        labels.get("quantile").is_some()
            && labels.name().is_some_and(|n| self.by_name.contains_key(&format!("{n}_bucket")))
    }
}

/// The hub's sample store, queried by PromQL. Cheap to clone.
#[derive(Clone)]
pub(crate) struct StoreSource {
    samples: SampleStore,
    index: Arc<Mutex<SeriesIndex>>,
}

impl StoreSource {
    pub(crate) fn new(samples: SampleStore) -> Self {
        Self { samples, index: Arc::default() }
    }

    /// The labels and ids of the series all `matchers` match.
    fn matching(&self, matchers: &[Matcher]) -> Vec<(Labels, Arc<str>)> {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.refresh(&self.samples);
        let name = matchers.iter().find_map(|m| match &m.op {
            MatchOp::Equal(v) if m.name == METRIC_NAME => Some(v.as_str()),
            _ => None,
        });
        let candidates: Box<dyn Iterator<Item = &(Labels, Arc<str>)>> = match name {
            Some(n) => Box::new(index.by_name.get(n).into_iter().flatten().map(|&i| &index.series[i])),
            None => Box::new(index.series.iter()),
        };
        candidates
            .filter(|(labels, _)| matchers.iter().all(|m| m.matches_labels(labels)) && !index.derived(labels))
            .cloned()
            .collect()
    }
}

impl StoreSource {
    /// The labels of the series all `matchers` match, whatever their time.
    pub(crate) fn labels_of(&self, matchers: &[Matcher]) -> Vec<Labels> {
        self.matching(matchers).into_iter().map(|(l, _)| l).collect()
    }
}

impl Source for StoreSource {
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>, Error> {
        let found = self.matching(matchers);
        let ids: Vec<&str> = found.iter().map(|(_, id)| &**id).collect();
        let ranges = self.samples.ranges(&ids, start_ms, end_ms);
        Ok(found
            .into_iter()
            .zip(ranges)
            .filter(|(_, samples)| !samples.is_empty())
            .map(|((labels, _), samples)| Series { labels, samples })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SampleOptions;
    use sonde_promql::{Engine, Value};

    #[test]
    fn promql_reads_the_store() {
        let store = SampleStore::in_memory(SampleOptions::default());
        for tick in 0..=60 {
            let t = tick * 1000;
            let (a, b) = ((tick * 2) as f64, (tick * 3) as f64);
            store.append(
                t,
                [
                    ("req", r#"req_total{route="/"}"#, a),
                    ("req", r#"req_total{route="/x"}"#, b),
                    ("lat", r#"lat_bucket{le="+Inf"}"#, a),
                    ("lat", r#"lat{quantile="0.5"}"#, 1.0),
                ],
            );
            if tick % 20 == 0 {
                store.seal(t);
            }
        }
        let source = StoreSource::new(store);
        let engine = Engine::default();
        let Value::Vector(v) = engine.instant(&source, "sum by (route) (rate(req_total[30s]))", 60_000).unwrap() else {
            panic!()
        };
        let mut got: Vec<(String, f64)> = v.iter().map(|s| (s.labels.to_string(), s.v)).collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, [(r#"{route="/"}"#.to_owned(), 2.0), (r#"{route="/x"}"#.to_owned(), 3.0)]);
        // The dashboard's derived quantiles of a histogram are not series.
        let Value::Vector(v) = engine.instant(&source, "lat", 60_000).unwrap() else { panic!() };
        assert!(v.is_empty(), "{v:?}");
        let Value::Vector(v) = engine.instant(&source, "lat_bucket", 60_000).unwrap() else { panic!() };
        assert_eq!(v.len(), 1);
    }
}
