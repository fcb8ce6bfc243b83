//! Span processors: what happens to a span when it ends.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::export::SpanExporter;
use super::span::SpanData;
use super::tracer::Pipeline;

/// Takes back the storage of spans a processor is done with, so that
/// steady-state tracing allocates nothing.
pub struct Recycler<'a>(pub(crate) &'a Pipeline);

impl Recycler<'_> {
    /// Returns a span's storage for reuse.
    pub fn recycle(&self, span: Box<SpanData>) {
        self.0.recycle(span)
    }
}
use crate::pipeline::{BatchOptions, BatchStats, Batcher};
use crate::Result;

/// Receives every span that ends.
pub trait SpanProcessor: Send + Sync {
    /// Takes a finished span. Must not block the caller on I/O; give the
    /// storage to `recycler` when done with it.
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>);
    /// Exports everything received so far.
    ///
    /// # Errors
    ///
    /// An error when spans queued before the call could not be exported.
    fn force_flush(&self) -> Result<()>;
    /// Flushes, then stops; waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// An error when queued spans were not exported within `timeout`.
    fn shutdown(&self, timeout: Duration) -> Result<()>;
}

/// Exports each span as it ends, on the ending thread. For tests and
/// debugging; use [`BatchProcessor`] in production.
pub struct SimpleProcessor<E> {
    exporter: E,
    failures: AtomicU64,
}

impl<E: SpanExporter> SimpleProcessor<E> {
    /// Wraps an exporter.
    pub fn new(exporter: E) -> Self {
        Self { exporter, failures: AtomicU64::new(0) }
    }

    /// Exports that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Relaxed)
    }
}

impl<E: SpanExporter> SpanProcessor for SimpleProcessor<E> {
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>) {
        if self.exporter.export(std::slice::from_ref(&span)).is_err() {
            self.failures.fetch_add(1, Relaxed);
        }
        recycler.recycle(span);
    }

    fn force_flush(&self) -> Result<()> {
        Ok(())
    }

    fn shutdown(&self, _: Duration) -> Result<()> {
        self.exporter.shutdown();
        Ok(())
    }
}

/// Queues finished spans in a bounded lock-free queue and exports them in
/// batches from a background thread: when a batch fills, when `delay`
/// passes, on `force_flush`, and on `shutdown` (which exports everything
/// queued). A full queue drops the new span and counts it; the instrumented
/// code never waits.
pub struct BatchProcessor {
    batcher: Batcher<Box<SpanData>>,
    /// The pipeline to hand exported span storage back to (set by the first
    /// span; a lock-free read afterwards).
    pipeline: Arc<OnceLock<Weak<Pipeline>>>,
}

impl BatchProcessor {
    /// Starts the export thread.
    pub fn new(exporter: impl SpanExporter + 'static, options: BatchOptions) -> Self {
        let exporter = Arc::new(exporter);
        let pipeline: Arc<OnceLock<Weak<Pipeline>>> = Arc::default();
        let (e1, e2, home) = (exporter.clone(), exporter, pipeline.clone());
        let batcher = Batcher::new(
            "span",
            options,
            move |batch: &[Box<SpanData>]| e1.export(batch),
            // One upgrade per batch: the pipeline's reference count is
            // shared with every span's start and end on the recording
            // threads, so touching it per span from here moved its cache
            // line between cores for every span.
            move |spans| {
                if let Some(p) = home.get().and_then(Weak::upgrade) {
                    spans.for_each(|span| p.recycle(span));
                }
            },
            move || e2.shutdown(),
        );
        Self { batcher, pipeline }
    }

    /// Exported, dropped and failed counts.
    pub fn stats(&self) -> &BatchStats {
        self.batcher.stats()
    }

    /// Registers `sonde_spans_exported_total`, `sonde_spans_dropped_total`
    /// and `sonde_spans_export_failed_total` on `registry`.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) when a `sonde_spans_*` name is already declared as another
    /// kind.
    pub fn register_metrics(&self, registry: &crate::Registry) -> Result<()> {
        self.batcher.register_metrics(registry, "spans")
    }
}

impl SpanProcessor for BatchProcessor {
    #[inline]
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>) {
        if self.pipeline.get().is_none() {
            let _ = self.pipeline.set(recycler.0.weak());
        }
        if let Err(span) = self.batcher.push(span) {
            recycler.recycle(span);
        }
    }

    fn force_flush(&self) -> Result<()> {
        self.batcher.flush(Duration::from_secs(30))
    }

    fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.batcher.shutdown(timeout)
    }
}
