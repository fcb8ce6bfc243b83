//! Declared metric specs: the fixed list a strict registry accepts.

use std::collections::BTreeMap;

use crate::labels::{validate_metric_name, validate_unit};
use crate::{Error, MetricKind, Result};

/// One declared metric: name, kind, unit and help.
///
/// A strict registry ([`crate::Registry::strict`]) is built from a list of
/// these and rejects every other name or kind; `sonde lint` checks source
/// call sites against the same list.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricSpec {
    /// The full metric name (counters may include `_total`).
    pub name: String,
    /// The kind.
    pub kind: MetricKind,
    /// The unit, such as `seconds` or `bytes`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub unit: Option<String>,
    /// The help text.
    #[cfg_attr(feature = "serde", serde(default))]
    pub help: String,
}

impl MetricSpec {
    /// A spec without a unit.
    pub fn new(name: impl Into<String>, kind: MetricKind, help: impl Into<String>) -> Self {
        Self { name: name.into(), kind, unit: None, help: help.into() }
    }

    /// Sets the unit.
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_metric_name(&self.name)?;
        if let Some(u) = &self.unit {
            validate_unit(u)?;
        }
        Ok(())
    }
}

/// Validates and indexes specs by name.
pub(crate) fn index(specs: Vec<MetricSpec>) -> Result<BTreeMap<String, MetricSpec>> {
    let mut map = BTreeMap::new();
    for s in specs {
        s.validate()?;
        let name = s.name.clone();
        if map.insert(name.clone(), s).is_some() {
            return Err(Error::DuplicateSpec { name });
        }
    }
    Ok(map)
}
