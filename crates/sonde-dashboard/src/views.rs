//! Views registered from code: a metric and how to chart it.

use std::sync::{Arc, RwLock};

use serde::Serialize;

/// How a view draws its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Lines over time (counters as per-second rates).
    Line,
    /// Stacked areas over time.
    StackedArea,
    /// The current value against its recent range.
    Gauge,
    /// Current values side by side.
    Bar,
    /// A histogram's buckets over time: a grid of how many observations
    /// fell in each bucket per interval (a clicked cell links its exemplar).
    Heatmap,
    /// One big number.
    SingleStat,
}

/// One registered view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    /// The metric family it shows.
    pub metric: String,
    /// How.
    pub kind: ChartKind,
}

/// The views registered from code. Cheap to clone.
#[derive(Clone, Default)]
pub struct Views(Arc<RwLock<Vec<View>>>);

impl Views {
    /// Shows `metric` as `kind` (replacing an earlier view of it).
    pub fn register(&self, metric: &str, kind: ChartKind) {
        let mut views = self.0.write().unwrap_or_else(|p| p.into_inner());
        views.retain(|v| v.metric != metric);
        views.push(View { metric: metric.to_owned(), kind });
    }

    /// Every registered view, in registration order.
    pub fn list(&self) -> Vec<View> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
