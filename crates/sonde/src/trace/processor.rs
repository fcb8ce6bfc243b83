//! Span processors: what happens to a span when it ends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

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
use crate::{Error, Result};

/// Receives every span that ends.
pub trait SpanProcessor: Send + Sync {
    /// Takes a finished span. Must not block the caller on I/O; give the
    /// storage to `recycler` when done with it.
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>);
    /// Exports everything received so far.
    fn force_flush(&self) -> Result<()>;
    /// Flushes, then stops; waits at most `timeout`.
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

/// Batching options (OpenTelemetry's defaults).
#[derive(Clone, Copy, Debug)]
pub struct BatchOptions {
    /// Spans held at most; beyond it new spans are dropped and counted.
    pub max_queue: usize,
    /// Spans per export.
    pub max_batch: usize,
    /// Longest a span waits before export.
    pub delay: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { max_queue: 2048, max_batch: 512, delay: Duration::from_secs(5) }
    }
}

/// Counts of a [`BatchProcessor`]'s work.
#[derive(Default, Debug)]
pub struct BatchStats {
    /// Spans exported successfully.
    pub exported: AtomicU64,
    /// Spans dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Spans whose export failed.
    pub failed: AtomicU64,
}

struct Shared {
    queue: ArrayQueue<Box<SpanData>>,
    stats: BatchStats,
    /// Flush requests made and completed (generation counters).
    wake: Mutex<(u64, u64, bool)>,
    signal: Condvar,
    done: Condvar,
    stopping: AtomicBool,
    /// The pipeline to hand exported span storage back to (set by the first
    /// span; a lock-free read afterwards).
    pipeline: std::sync::OnceLock<std::sync::Weak<Pipeline>>,
}

/// Queues finished spans in a bounded lock-free queue and exports them in
/// batches from a background thread: when a batch fills, when `delay`
/// passes, on `force_flush`, and on `shutdown` (which exports everything
/// queued). A full queue drops the new span and counts it; the instrumented
/// code never waits.
pub struct BatchProcessor {
    shared: Arc<Shared>,
    options: BatchOptions,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl BatchProcessor {
    /// Starts the export thread.
    pub fn new(exporter: impl SpanExporter + 'static, options: BatchOptions) -> Self {
        let options =
            BatchOptions { max_queue: options.max_queue.max(1), max_batch: options.max_batch.max(1), ..options };
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(options.max_queue),
            stats: BatchStats::default(),
            wake: Mutex::new((0, 0, false)),
            signal: Condvar::new(),
            done: Condvar::new(),
            stopping: AtomicBool::new(false),
            pipeline: std::sync::OnceLock::new(),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-span-batch".into())
            .spawn(move || run(worker, exporter, options))
            .ok();
        Self { shared, options, thread: Mutex::new(thread) }
    }

    /// Exported, dropped and failed counts.
    pub fn stats(&self) -> &BatchStats {
        &self.shared.stats
    }

    /// Registers `sonde_spans_exported_total`, `sonde_spans_dropped_total`
    /// and `sonde_spans_export_failed_total` on `registry`.
    pub fn register_metrics(&self, registry: &crate::Registry) -> Result<()> {
        let s = self.shared.clone();
        registry.counter_fn("sonde_spans_exported_total", "Spans exported by the batch processor.", move || {
            s.stats.exported.load(Relaxed) as f64
        })?;
        let s = self.shared.clone();
        registry.counter_fn(
            "sonde_spans_dropped_total",
            "Spans dropped because the export queue was full.",
            move || s.stats.dropped.load(Relaxed) as f64,
        )?;
        let s = self.shared.clone();
        registry.counter_fn("sonde_spans_export_failed_total", "Spans whose export failed.", move || {
            s.stats.failed.load(Relaxed) as f64
        })
    }

    fn request_flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut w = self.shared.wake.lock().unwrap_or_else(|p| p.into_inner());
        w.0 += 1;
        let want = w.0;
        self.shared.signal.notify_one();
        while w.1 < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || w.2 {
                return if w.1 >= want {
                    Ok(())
                } else {
                    Err(Error::Export {
                        exporter: "batch".into(),
                        reason: format!("flush did not finish within {timeout:?}"),
                    })
                };
            }
            w = self.shared.done.wait_timeout(w, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        Ok(())
    }
}

fn run(shared: Arc<Shared>, exporter: impl SpanExporter, options: BatchOptions) {
    let mut batch: Vec<Box<SpanData>> = Vec::with_capacity(options.max_batch);
    loop {
        let flush_to = {
            let mut w = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            if w.0 == w.1 && shared.queue.len() < options.max_batch && !shared.stopping.load(Acquire) {
                w = shared.signal.wait_timeout(w, options.delay).unwrap_or_else(|p| p.into_inner()).0;
            }
            w.0
        };
        // Export everything queued, batch by batch.
        loop {
            while batch.len() < options.max_batch {
                match shared.queue.pop() {
                    Some(s) => batch.push(s),
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let n = batch.len() as u64;
            match exporter.export(&batch) {
                Ok(()) => shared.stats.exported.fetch_add(n, Relaxed),
                Err(_) => shared.stats.failed.fetch_add(n, Relaxed),
            };
            let pipeline = shared.pipeline.get().and_then(|w| w.upgrade());
            for s in batch.drain(..) {
                if let Some(p) = &pipeline {
                    p.recycle(s);
                }
            }
        }
        let stopping = shared.stopping.load(Acquire);
        {
            let mut w = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            w.1 = w.1.max(flush_to);
            if stopping {
                w.1 = w.0;
                w.2 = true;
            }
            shared.done.notify_all();
        }
        if stopping && shared.queue.is_empty() {
            exporter.shutdown();
            return;
        }
    }
}

impl SpanProcessor for BatchProcessor {
    #[inline]
    fn on_end(&self, span: Box<SpanData>, recycler: &Recycler<'_>) {
        let pipeline = recycler.0;
        if self.shared.stopping.load(Relaxed) {
            self.shared.stats.dropped.fetch_add(1, Relaxed);
            return pipeline.recycle(span);
        }
        if self.shared.pipeline.get().is_none() {
            let _ = self.shared.pipeline.set(pipeline.weak());
        }
        if let Err(span) = self.shared.queue.push(span) {
            self.shared.stats.dropped.fetch_add(1, Relaxed);
            return pipeline.recycle(span);
        }
        if self.shared.queue.len() == self.options.max_batch {
            self.shared.signal.notify_one();
        }
    }

    fn force_flush(&self) -> Result<()> {
        self.request_flush(Duration::from_secs(30))
    }

    fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.shared.stopping.store(true, Release);
        let result = self.request_flush(timeout);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if result.is_ok() {
                let _ = t.join();
            }
        }
        result
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        let _ = self.shutdown(Duration::from_secs(5));
    }
}
