//! Fan-out to several exporters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sonde::Snapshot;

use crate::{Error, Exporter};

/// Sends each snapshot to every child. A failing child does not stop the
/// others; failures are counted per child, and the call reports which
/// children failed (as a non-retryable [`Error::Partial`], so that a
/// periodic driver does not send duplicates to the children that succeeded).
pub struct MultiExporter {
    children: Vec<(Box<dyn Exporter>, AtomicU64)>,
    name: String,
}

impl MultiExporter {
    /// An exporter over `children`.
    pub fn new(children: Vec<Box<dyn Exporter>>) -> Self {
        let name = format!("multi[{}]", children.iter().map(|c| c.name()).collect::<Vec<_>>().join(","));
        Self { children: children.into_iter().map(|c| (c, AtomicU64::new(0))).collect(), name }
    }

    /// Failures of the child called `name` so far.
    pub fn failures(&self, name: &str) -> Option<u64> {
        self.children.iter().find(|(c, _)| c.name() == name).map(|(_, n)| n.load(Relaxed))
    }
}

impl Exporter for MultiExporter {
    fn name(&self) -> &str {
        &self.name
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let mut failed = Vec::new();
        for (child, failures) in &self.children {
            if let Err(e) = child.export(snapshot) {
                failures.fetch_add(1, Relaxed);
                log::warn!(target: "sonde::export", "{}: {e}", child.name());
                failed.push(child.name().to_owned());
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Partial(failed))
        }
    }

    fn shutdown(&self) -> Result<(), Error> {
        let failed: Vec<String> =
            self.children.iter().filter(|(c, _)| c.shutdown().is_err()).map(|(c, _)| c.name().to_owned()).collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Partial(failed))
        }
    }
}
