//! Views: a metric family, or a PromQL expression, and how to chart it.
//! Registered from code or configuration here; the page keeps its own in
//! the browser.

use std::str::FromStr;
use std::sync::{Arc, RwLock};

use serde::Serialize;

/// How a view draws what it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Lines over time (a family's counters as per-second rates).
    Line,
    /// Stacked areas over time.
    StackedArea,
    /// The current value against its recent range.
    Gauge,
    /// Current values side by side.
    Bar,
    /// A histogram's buckets over time: a grid of how many observations
    /// fell in each bucket per interval (a clicked cell links its exemplar).
    /// A PromQL view draws the series its expression gives per `le`.
    Heatmap,
    /// One big number.
    SingleStat,
}

impl ChartKind {
    /// Every kind, by its name.
    pub const ALL: [(&'static str, ChartKind); 6] = [
        ("line", ChartKind::Line),
        ("stacked_area", ChartKind::StackedArea),
        ("gauge", ChartKind::Gauge),
        ("bar", ChartKind::Bar),
        ("heatmap", ChartKind::Heatmap),
        ("single_stat", ChartKind::SingleStat),
    ];
}

/// A chart kind's name that is none of [`ChartKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chart kind {0:?} (line, stacked_area, gauge, bar, heatmap or single_stat)")]
pub struct UnknownChartKind(pub String);

impl FromStr for ChartKind {
    type Err = UnknownChartKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChartKind::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, k)| *k)
            .ok_or_else(|| UnknownChartKind(s.to_owned()))
    }
}

/// One registered view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    /// Its heading (the metric's name for a metric view); one view per title.
    pub title: String,
    /// The metric family it shows, for a metric view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The PromQL expression it charts, for a query view (drawn where the
    /// page can ask `/api/v1/query_range`: the hub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// How.
    pub kind: ChartKind,
}

impl View {
    /// A view of the metric family `metric`.
    pub fn metric(metric: &str, kind: ChartKind) -> Self {
        Self { title: metric.to_owned(), metric: Some(metric.to_owned()), query: None, kind }
    }

    /// A view of the PromQL expression `query`, headed `title`.
    pub fn query(title: &str, query: &str, kind: ChartKind) -> Self {
        Self { title: title.to_owned(), metric: None, query: Some(query.to_owned()), kind }
    }
}

/// The views registered from code or configuration. Cheap to clone.
#[derive(Clone, Default)]
pub struct Views(Arc<RwLock<Vec<View>>>);

impl Views {
    /// Adds `view`, replacing an earlier one with its title.
    pub fn register(&self, view: View) {
        let mut views = self.0.write().unwrap_or_else(|p| p.into_inner());
        views.retain(|v| v.title != view.title);
        views.push(view);
    }

    /// Every registered view, in registration order.
    pub fn list(&self) -> Vec<View> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_name_and_a_title_is_registered_once() {
        for (name, kind) in ChartKind::ALL {
            assert_eq!(name.parse::<ChartKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        assert!("pie".parse::<ChartKind>().is_err());
        let views = Views::default();
        views.register(View::metric("a", ChartKind::Line));
        views.register(View::query("a", "rate(a[1m])", ChartKind::Bar));
        views.register(View::query("errors", "sum(rate(e_total[5m]))", ChartKind::SingleStat));
        let list = views.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].query.as_deref(), Some("rate(a[1m])"));
        assert_eq!(
            serde_json::to_value(&list[1]).unwrap(),
            serde_json::json!({"title": "errors", "query": "sum(rate(e_total[5m]))", "kind": "single_stat"})
        );
    }
}
