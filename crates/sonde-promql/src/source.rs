//! Where samples come from: the [`Source`] a query reads, the
//! [`Matcher`]s that pick series, and [`MemorySource`], a source held in
//! memory.

use regex::Regex;

use crate::{Error, Labels, Series};

/// How a matcher compares a label's value.
#[derive(Clone, Debug)]
pub enum MatchOp {
    /// `=`
    Equal(String),
    /// `!=`
    NotEqual(String),
    /// `=~` (anchored at both ends)
    Regex(Regex),
    /// `!~` (anchored at both ends)
    NotRegex(Regex),
}

/// One label matcher of a selector. A missing label matches as the empty
/// value, as in Prometheus.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The label's name (`__name__` for the metric name).
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
}

impl Matcher {
    /// A matcher of `name` equal to `value`.
    pub fn equal(name: &str, value: &str) -> Self {
        Matcher { name: name.into(), op: MatchOp::Equal(value.into()) }
    }

    /// The metric name this matcher asks for exactly (`__name__="x"`).
    pub fn metric_name(&self) -> Option<&str> {
        match &self.op {
            MatchOp::Equal(v) if self.name == crate::labels::METRIC_NAME => Some(v),
            _ => None,
        }
    }

    /// Whether `value` (empty for a missing label) matches.
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal(want) => value == want,
            MatchOp::NotEqual(want) => value != want,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }

    /// Whether the series with `labels` matches.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    pub(crate) fn from_parser(m: &promql_parser::label::Matcher) -> Self {
        use promql_parser::label::MatchOp as P;
        let op = match &m.op {
            P::Equal => MatchOp::Equal(m.value.clone()),
            P::NotEqual => MatchOp::NotEqual(m.value.clone()),
            P::Re(re) => MatchOp::Regex(re.clone()),
            P::NotRe(re) => MatchOp::NotRegex(re.clone()),
        };
        Matcher { name: m.name.clone(), op }
    }
}

/// Where a query reads its samples.
pub trait Source: Sync {
    /// Every series that all `matchers` match, with its samples in
    /// `start_ms..=end_ms`, oldest first (Prometheus' staleness markers
    /// included). Series without samples in the range may be left out.
    ///
    /// # Errors
    ///
    /// When the samples cannot be read ([`Error::Source`]).
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>, Error>;

    /// The labels of every series that all `matchers` match and that has
    /// samples in `start_ms..=end_ms`.
    ///
    /// # Errors
    ///
    /// When the series cannot be read ([`Error::Source`]).
    fn series(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Labels>, Error> {
        Ok(self
            .select(matchers, start_ms, end_ms)?
            .into_iter()
            .filter(|s| !s.samples.is_empty())
            .map(|s| s.labels)
            .collect())
    }
}

/// Series held in memory (tests, rule unit tests).
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    series: Vec<Series>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample to the series with `labels` (created if new); samples
    /// must come oldest first per series.
    pub fn push(&mut self, labels: &Labels, t_ms: i64, v: f64) {
        match self.series.binary_search_by(|s| s.labels.cmp(labels)) {
            Ok(i) => self.series[i].samples.push((t_ms, v)),
            Err(i) => self.series.insert(i, Series { labels: labels.clone(), samples: vec![(t_ms, v)] }),
        }
    }

    /// Every series held.
    pub fn all(&self) -> &[Series] {
        &self.series
    }
}

impl Source for MemorySource {
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>, Error> {
        Ok(self
            .series
            .iter()
            .filter(|s| matchers.iter().all(|m| m.matches_labels(&s.labels)))
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s.samples.iter().copied().filter(|(t, _)| (start_ms..=end_ms).contains(t)).collect(),
            })
            .collect())
    }
}
