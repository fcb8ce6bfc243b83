//! The rules every classic histogram series obeys, whatever the format:
//! buckets in increasing `le` order with cumulative counts, a `+Inf`
//! bucket, and a count equal to it.

use crate::Finding;

/// One histogram series (one label set without `le`) as its samples arrive.
#[derive(Default)]
pub(crate) struct Series {
    /// `(le, cumulative count, line)` in the order given.
    buckets: Vec<(f64, f64, usize)>,
    /// `_count` (or `_gcount`) and its line.
    count: Option<(f64, usize)>,
    /// Whether `_sum` was given.
    sum: bool,
    /// Whether `_gsum` was given, and whether it was negative.
    gsum: Option<bool>,
    first_line: usize,
}

impl Series {
    pub(crate) fn bucket(&mut self, le: f64, count: f64, line: usize) {
        self.first(line);
        self.buckets.push((le, count, line));
    }

    pub(crate) fn count(&mut self, count: f64, line: usize) {
        self.first(line);
        self.count = Some((count, line));
    }

    pub(crate) fn sum(&mut self, line: usize) {
        self.first(line);
        self.sum = true;
    }

    pub(crate) fn gsum(&mut self, value: f64, line: usize) {
        self.first(line);
        self.gsum = Some(value < 0.0);
    }

    fn first(&mut self, line: usize) {
        if self.first_line == 0 {
            self.first_line = line;
        }
    }

    /// The findings for the series of `family`. `openmetrics` adds that
    /// format's pairing rules for `_count` and `_sum`.
    pub(crate) fn check(&self, family: &str, openmetrics: bool, out: &mut Vec<Finding>) {
        let line = self.buckets.first().map_or(self.first_line, |b| b.2);
        if self.buckets.is_empty() && !openmetrics {
            // Text: `_sum` and `_count` alone are a histogram without
            // buckets, which the format allows.
            return;
        }
        if let Some(w) = self.buckets.windows(2).find(|w| w[0].0 >= w[1].0) {
            out.push(Finding::error(w[1].2, format!("histogram {family}: buckets not in increasing le order")));
        }
        if let Some(w) = self.buckets.windows(2).find(|w| w[1].1 < w[0].1) {
            out.push(Finding::error(w[1].2, format!("histogram {family}: bucket counts are not cumulative")));
        }
        match self.buckets.iter().find(|b| b.0 == f64::INFINITY) {
            Some(&(_, inf, _)) => {
                if let Some((count, at)) = self.count {
                    if count != inf {
                        out.push(Finding::error(
                            at,
                            format!("histogram {family}: count {count} differs from the +Inf bucket {inf}"),
                        ));
                    }
                }
            }
            None => out.push(Finding::error(line, format!("histogram {family}: no +Inf bucket"))),
        }
        if !openmetrics {
            return;
        }
        let negative = self.buckets.iter().any(|b| b.0 < 0.0);
        let at = self.count.map_or(line, |c| c.1);
        if self.sum && self.count.is_none() {
            out.push(Finding::error(at, format!("histogram {family}: _sum without _count")));
        }
        if self.gsum.is_some() && self.count.is_none() {
            out.push(Finding::error(at, format!("gauge histogram {family}: _gsum without _gcount")));
        }
        if !self.sum && self.gsum.is_none() && self.count.is_some() {
            out.push(Finding::error(at, format!("histogram {family}: a count without a sum")));
        }
        if negative && self.sum {
            out.push(Finding::error(at, format!("histogram {family}: _sum with negative buckets")));
        }
        if !negative && self.gsum == Some(true) {
            out.push(Finding::error(at, format!("gauge histogram {family}: negative _gsum without negative buckets")));
        }
    }
}
