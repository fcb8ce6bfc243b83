//! What receivers share when they fold received values into a registry
//! (the hub's StatsD and OTLP ingest): one table of the families they
//! declared, keyed by name and kind, and one enum of the reasons a value
//! is refused.
//!
//! ```
//! use sonde::ingest::{IngestTable, Refusal};
//! use sonde::Registry;
//!
//! let registry = Registry::new();
//! let table: IngestTable<&str, sonde::Family<sonde::Gauge>> = IngestTable::new(100);
//! let declare = |names: &[String]| registry.gauge("depth").labels(names).register().map_err(|_| Refusal::NameConflict);
//! let (depth, values) = table.target("depth", "gauge", &[("route", "/a")], declare)?;
//! depth.with(&values).set(3.0);
//! // A label the family was not declared with is refused, and says why.
//! let other = table.target("depth", "gauge", &[("user", "u1")], |_| unreachable!());
//! assert_eq!(other.unwrap_err(), Refusal::LabelMismatch);
//! # Ok::<(), Refusal>(())
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Why a received value was refused: the `reason` label of a receiver's
/// rejected counter (`sonde_statsd_rejected_total`,
/// `sonde_otlp_rejected_points_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A point without a value.
    NoValue,
    /// A metric without data points.
    NoData,
    /// A value the kind does not allow (a negative counter increment, NaN).
    BadValue,
    /// More labels than a point may carry.
    TooManyLabels,
    /// A new name past the table's limit.
    TooManyMetrics,
    /// A new series past the receiver's limit.
    TooManySeries,
    /// The name is already declared as another kind (or by someone else).
    NameConflict,
    /// Label names other than the family was declared with.
    LabelMismatch,
    /// Histogram bounds that are not increasing and finite.
    BadBuckets,
    /// Histogram bounds other than the family was declared with.
    BucketMismatch,
    /// An exponential histogram whose scale is outside -4..=20.
    BadScale,
    /// A histogram whose count is not its buckets' (and zero bucket's) total.
    CountMismatch,
    /// A set already holding its most distinct members this interval.
    SetFull,
    /// An event, where no event log was given.
    NoEventLog,
}

impl Refusal {
    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoValue => "no_value",
            Self::NoData => "no_data",
            Self::BadValue => "bad_value",
            Self::TooManyLabels => "too_many_labels",
            Self::TooManyMetrics => "too_many_metrics",
            Self::TooManySeries => "too_many_series",
            Self::NameConflict => "name_conflict",
            Self::LabelMismatch => "label_mismatch",
            Self::BadBuckets => "bad_buckets",
            Self::BucketMismatch => "bucket_mismatch",
            Self::BadScale => "bad_scale",
            Self::CountMismatch => "count_mismatch",
            Self::SetFull => "set_full",
            Self::NoEventLog => "no_event_log",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Refusal {}

/// The families a receiver declared, by name and kind (`K`, the
/// receiver's own kinds), each with its label names and the receiver's
/// handle on it (`T`, cheap to clone: a [`crate::Family`] or an enum of
/// them). At most `max` names.
pub struct IngestTable<K, T> {
    max: usize,
    /// By kind, then name (so a lookup borrows the name it is given).
    entries: Mutex<HashMap<K, HashMap<String, Declared<T>>>>,
}

/// One declared family: its label names and the receiver's handle.
type Declared<T> = (Vec<String>, T);

impl<K: Eq + Hash + Copy, T: Clone> IngestTable<K, T> {
    /// An empty table of at most `max` names.
    pub fn new(max: usize) -> Self {
        Self { max, entries: Mutex::new(HashMap::new()) }
    }

    /// The family `name` of `kind`, declared on first use by `declare`
    /// (given the label names of that first point), and the values of
    /// `labels` in the declared order: a declared name the point does not
    /// carry gets an empty value (as Prometheus reads an absent label).
    ///
    /// # Errors
    ///
    /// [`Refusal::LabelMismatch`] when the point carries a label name the
    /// family was not declared with, [`Refusal::TooManyMetrics`] for a new
    /// name past the limit, or `declare`'s refusal.
    pub fn target<'l, N: AsRef<str>, V: AsRef<str>>(
        &self,
        name: &str,
        kind: K,
        labels: &'l [(N, V)],
        declare: impl FnOnce(&[String]) -> Result<T, Refusal>,
    ) -> Result<(T, Vec<&'l str>), Refusal> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !entries.get(&kind).is_some_and(|of_kind| of_kind.contains_key(name)) {
            if entries.values().map(HashMap::len).sum::<usize>() >= self.max {
                return Err(Refusal::TooManyMetrics);
            }
            let names: Vec<String> = labels.iter().map(|(n, _)| n.as_ref().to_owned()).collect();
            let target = declare(&names)?;
            entries.entry(kind).or_default().insert(name.to_owned(), (names, target));
        }
        let (declared, target) = &entries[&kind][name];
        if labels.iter().any(|(n, _)| !declared.iter().any(|d| d == n.as_ref())) {
            return Err(Refusal::LabelMismatch);
        }
        let values = declared
            .iter()
            .map(|d| labels.iter().find(|(n, _)| n.as_ref() == d).map_or("", |(_, v)| v.as_ref()))
            .collect();
        Ok((target.clone(), values))
    }

    /// The family `name` of `kind`, if declared.
    pub fn get(&self, name: &str, kind: K) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&kind)?.get(name).map(|(_, t)| t.clone())
    }

    /// How many names are declared.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).values().map(HashMap::len).sum()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_bounds_names_and_orders_label_values() {
        let table: IngestTable<u8, u32> = IngestTable::new(2);
        let none: [(&str, &str); 0] = [];
        let (t, values) = table.target("x", 0, &[("a", "1"), ("b", "2")], |names| Ok(names.len() as u32)).unwrap();
        assert_eq!((t, values), (2, vec!["1", "2"]));
        let (t, values) = table.target("x", 0, &[("b", "3")], |_| Ok(99)).unwrap();
        assert_eq!((t, values), (2, vec!["", "3"]), "declared once; an absent label is empty");
        assert_eq!(table.target("x", 1, &none, |_| Ok(7)).map(|t| t.0), Ok(7), "another kind is another entry");
        assert_eq!(table.target("x", 0, &[("c", "1")], |_| Ok(3)), Err(Refusal::LabelMismatch));
        assert_eq!(table.target("y", 0, &none, |_| Ok(4)), Err(Refusal::TooManyMetrics));
        assert_eq!((table.get("x", 1), table.get("y", 0), table.len(), table.is_empty()), (Some(7), None, 2, false));
        let fresh: IngestTable<u8, u32> = IngestTable::new(5);
        assert_eq!(fresh.target("z", 0, &none, |_| Err(Refusal::NameConflict)), Err(Refusal::NameConflict));
        assert!(fresh.is_empty(), "a refused declaration takes no place");
        assert_eq!(Refusal::SetFull.to_string(), "set_full");
    }
}
