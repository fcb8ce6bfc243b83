//! What the three instrument classes share: a family declared now (label
//! names given) or at first use (label names taken from the first
//! attributes), and the lookup of a series by label values or attributes.

use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use sonde::{Family, Metric};

type Declare<M> = Box<dyn Fn(&[String]) -> sonde::Result<Family<M>> + Send + Sync>;

/// A family, declared now or at its first use.
pub(crate) struct Instrument<M: Metric> {
    pub(crate) name: String,
    declare: Declare<M>,
    declared: OnceLock<Declared<M>>,
    declaring: Mutex<()>,
    /// Handles made by `labels(*values)`, keyed by the values' tuple (at
    /// most `MAX_CHILDREN`; then started afresh).
    pub(crate) children: Py<PyDict>,
}

/// Bound handles `labels()` keeps for reuse, per instrument.
pub(crate) const MAX_CHILDREN: usize = 4096;

pub(crate) struct Declared<M: Metric> {
    pub(crate) label_names: Vec<String>,
    pub(crate) family: Family<M>,
    /// The one series of a family without labels.
    pub(crate) unlabeled: Option<M>,
}

impl<M: Metric + Clone> Instrument<M> {
    /// An instrument whose family `declare` makes; with `labels`, made now.
    pub(crate) fn new(
        py: Python<'_>,
        name: &str,
        labels: Option<Vec<String>>,
        declare: Declare<M>,
    ) -> PyResult<Arc<Self>> {
        let instrument = Arc::new(Self {
            name: name.to_owned(),
            declare,
            declared: OnceLock::new(),
            declaring: Mutex::new(()),
            children: PyDict::new(py).unbind(),
        });
        match labels {
            Some(labels) => {
                instrument.declared(&labels)?;
            }
            // Declared at first use; a bad name is refused now all the same.
            None if sonde::sanitize_metric_name(name) != name || name.starts_with("__") => {
                return Err(PyValueError::new_err(format!("invalid metric name {name:?}")));
            }
            None => {}
        }
        Ok(instrument)
    }

    /// The family, declared with `names` if it is not yet; an error if it
    /// was declared with other names.
    pub(crate) fn declared(&self, names: &[String]) -> PyResult<&Declared<M>> {
        let d = match self.declared.get() {
            Some(d) => d,
            None => {
                let _one = self.declaring.lock().unwrap_or_else(|p| p.into_inner());
                if self.declared.get().is_none() {
                    let family = (self.declare)(names).map_err(value_error)?;
                    let unlabeled = names.is_empty().then(|| family.bind(&[]));
                    let _ = self.declared.set(Declared { label_names: names.to_vec(), family, unlabeled });
                }
                self.declared.get().expect("set above")
            }
        };
        if d.label_names != names {
            return Err(PyValueError::new_err(format!(
                "{} has labels {:?}, not {:?}",
                self.name, d.label_names, names
            )));
        }
        Ok(d)
    }

    /// The family if it has been declared.
    pub(crate) fn family(&self) -> Option<&Declared<M>> {
        self.declared.get()
    }

    /// Runs `f` on the series of `attributes` (a dict of label names to
    /// values, or None for the series without labels).
    pub(crate) fn with_attributes<R>(
        &self,
        attributes: Option<&Bound<'_, PyDict>>,
        f: impl FnOnce(&M) -> R,
    ) -> PyResult<R> {
        let Some(attributes) = attributes.filter(|a| !a.is_empty()) else {
            let d = match self.declared.get() {
                Some(d) => d,
                None => self.declared(&[])?,
            };
            return match &d.unlabeled {
                Some(series) => Ok(f(series)),
                None => Err(PyValueError::new_err(format!(
                    "{} has labels {:?}: give their values",
                    self.name, d.label_names
                ))),
            };
        };
        let d = match self.declared.get() {
            Some(d) => d,
            None => {
                let mut keys: Vec<String> = attributes.keys().iter().map(|k| text(&k)).collect::<PyResult<_>>()?;
                keys.sort_unstable();
                self.declared(&keys)?
            }
        };
        let mismatch = || {
            let given: Vec<String> = attributes.keys().iter().filter_map(|k| text(&k).ok()).collect();
            PyValueError::new_err(format!("{} has labels {:?}, not {:?}", self.name, d.label_names, given))
        };
        if d.label_names.len() != attributes.len() {
            return Err(mismatch());
        }
        let mut owned = Vec::with_capacity(d.label_names.len());
        for n in &d.label_names {
            match attributes.get_item(n)? {
                Some(v) => owned.push(text(&v)?),
                None => return Err(mismatch()),
            }
        }
        let values: Vec<&str> = owned.iter().map(String::as_str).collect();
        let series = d.family.try_with(&values).map_err(value_error)?;
        Ok(f(&series))
    }

    /// The series of label values given as prometheus_client's `labels()`
    /// takes them: positionally, or by name.
    pub(crate) fn bind(&self, values: &Bound<'_, PyTuple>, names: Option<&Bound<'_, PyDict>>) -> PyResult<M> {
        let d = match (self.declared.get(), names) {
            (Some(d), _) => d,
            (None, Some(kw)) if values.is_empty() => {
                let mut keys: Vec<String> = kw.keys().iter().map(|k| text(&k)).collect::<PyResult<_>>()?;
                keys.sort_unstable();
                self.declared(&keys)?
            }
            (None, _) => return Err(PyValueError::new_err(format!("{} has no label names declared", self.name))),
        };
        let given: Vec<String> = match names.filter(|kw| !kw.is_empty()) {
            Some(kw) => {
                if !values.is_empty() {
                    return Err(PyValueError::new_err("labels() takes values by position or by name, not both"));
                }
                if kw.len() != d.label_names.len() {
                    return Err(PyValueError::new_err(format!("{} has labels {:?}", self.name, d.label_names)));
                }
                d.label_names
                    .iter()
                    .map(|n| match kw.get_item(n)? {
                        Some(v) => Ok(text(&v)?),
                        None => Err(PyValueError::new_err(format!(
                            "{} has labels {:?}: {n} missing",
                            self.name, d.label_names
                        ))),
                    })
                    .collect::<PyResult<_>>()?
            }
            None => values.iter().map(|v| text(&v)).collect::<PyResult<_>>()?,
        };
        if given.len() != d.label_names.len() {
            return Err(PyValueError::new_err(format!(
                "{} has labels {:?}: {} values given",
                self.name,
                d.label_names,
                given.len()
            )));
        }
        let refs: Vec<&str> = given.iter().map(String::as_str).collect();
        let series = d.family.try_with(&refs).map_err(value_error)?;
        Ok((*series).clone())
    }
}

/// A core error as Python's `ValueError`.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `str(value)` as a Rust string.
pub(crate) fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Ok(value.str()?.to_cow()?.into_owned()),
    }
}
