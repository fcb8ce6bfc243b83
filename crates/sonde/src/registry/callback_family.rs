//! A family whose single series is computed by a closure at collection.

use std::any::Any;
use std::sync::Arc;

use super::family::Collect;
use crate::snapshot::{FamilySnapshot, SeriesValue};
use crate::MetricKind;

pub(crate) struct CallbackFamily {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    pub(crate) kind: MetricKind,
    pub(crate) label_names: Arc<[Box<str>]>,
    pub(crate) label_values: Arc<[Box<str>]>,
    pub(crate) f: Arc<dyn Fn() -> f64 + Send + Sync>,
}

impl Collect for CallbackFamily {
    fn collect(&self) -> FamilySnapshot {
        let mut out =
            FamilySnapshot::new(&self.name, &self.help, self.unit.clone(), self.kind, self.label_names.clone());
        let v = (self.f)();
        let value = match self.kind {
            // A counter callback that returns a negative or NaN total has no
            // valid sample this time.
            MetricKind::Counter if v.is_nan() || v < 0.0 => return out,
            MetricKind::Counter => {
                let exact = (v >= 0.0 && v.fract() == 0.0 && v < 9.007_199_254_740_992e15).then_some(v as u64);
                SeriesValue::Counter { value: v, exact }
            }
            _ => SeriesValue::Gauge(v),
        };
        out.push(self.label_values.iter().map(|v| &**v), value, None, &[], &[]);
        out
    }

    fn reset(&self, _all: bool) {}

    fn describe(&self) -> String {
        format!("{} callback", self.kind)
    }

    fn overflowed(&self) -> u64 {
        0
    }

    fn expired(&self) -> u64 {
        0
    }

    /// A callback holds no series: its value is read at collection.
    fn heap_bytes(&self) -> usize {
        0
    }

    fn collected_bytes(&self) -> usize {
        0
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
