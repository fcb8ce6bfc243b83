//! The sample store as a PromQL [`Source`]: series found by their labels
//! (parsed once, as series appear), samples read in one pass per block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sonde_promql::{Error, Labels, Matcher, Series, Source};

use crate::store::SampleStore;

/// The store's series by their labels.
#[derive(Default)]
struct SeriesIndex {
    /// How many of the store's series are indexed.
    seen: usize,
    /// Each series' labels and its number in the store.
    series: Vec<(Labels, u32)>,
    /// Which series have a `quantile` label (maybe a histogram's derived
    /// quantile, see [`SeriesIndex::derived`]).
    quantiles: Vec<bool>,
    by_name: HashMap<String, Vec<usize>>,
}

impl SeriesIndex {
    fn refresh(&mut self, samples: &SampleStore) {
        let (new, total) = samples.ids_since(self.seen);
        for (number, id) in (self.seen as u32..).zip(new) {
            let Some(labels) = Labels::parse_series(&id) else { continue };
            let name = labels.name().unwrap_or_default().to_owned();
            self.by_name.entry(name).or_default().push(self.series.len());
            self.quantiles.push(labels.get("quantile").is_some());
            self.series.push((labels, number));
        }
        self.seen = total;
    }

    /// A histogram's derived quantile series (the dashboard's, not
    /// Prometheus'): `name{quantile=..}` where `name_bucket` exists.
    fn derived(&self, i: usize) -> bool {
        self.quantiles[i] && self.series[i].0.name().is_some_and(|n| self.by_name.contains_key(&format!("{n}_bucket")))
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

    /// The labels and store numbers of the series all `matchers` match.
    fn matching(&self, matchers: &[Matcher]) -> Vec<(Labels, u32)> {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.refresh(&self.samples);
        let by_name = matchers.iter().position(|m| m.metric_name().is_some());
        let candidates: Box<dyn Iterator<Item = usize>> = match by_name.and_then(|i| matchers[i].metric_name()) {
            Some(n) => Box::new(index.by_name.get(n).into_iter().flatten().copied()),
            None => Box::new(0..index.series.len()),
        };
        // Found by its name, a series needs no check of it.
        let rest: Vec<&Matcher> =
            matchers.iter().enumerate().filter(|(i, _)| Some(*i) != by_name).map(|(_, m)| m).collect();
        candidates
            .filter(|&i| rest.iter().all(|m| m.matches_labels(&index.series[i].0)) && !index.derived(i))
            .map(|i| index.series[i].clone())
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
        let numbers: Vec<u32> = found.iter().map(|(_, n)| *n).collect();
        let ranges = self.samples.ranges_by_number(&numbers, start_ms, end_ms);
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
