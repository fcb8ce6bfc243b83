//! A bounded lock-free queue drained in batches by a background thread.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::sync::thread::{self, JoinHandle};
use crate::sync::{Arc, ArrayQueue, AtomicBool, Condvar, Mutex, Ordering::*};

use crate::{Error, Result};

/// Batching options (OpenTelemetry's defaults).
#[derive(Clone, Copy, Debug)]
pub struct BatchOptions {
    /// Items held at most; beyond it new items are dropped and counted.
    pub max_queue: usize,
    /// Items per export.
    pub max_batch: usize,
    /// Longest an item waits before export.
    pub delay: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { max_queue: 2048, max_batch: 512, delay: Duration::from_secs(5) }
    }
}

/// Counts of a batching pipeline's work.
#[derive(Default, Debug)]
pub struct BatchStats {
    /// Items exported successfully.
    pub exported: AtomicU64,
    /// Items dropped because the queue was full (or after shutdown).
    pub dropped: AtomicU64,
    /// Items whose export failed.
    pub failed: AtomicU64,
}

/// Picks one counter out of [`BatchStats`].
type StatField = fn(&BatchStats) -> &AtomicU64;

/// (flushes requested, flushes completed, worker stopped)
type FlushState = (u64, u64, bool);

struct Shared<T> {
    queue: ArrayQueue<T>,
    stats: std::sync::Arc<BatchStats>,
    wake: Mutex<FlushState>,
    /// Items of the batch being exported (0 when none).
    in_flight: crate::sync::AtomicU64,
    signal: Condvar,
    done: Condvar,
    stopping: AtomicBool,
}

/// Queues items without blocking the producer and exports them in batches
/// from one background thread: when a batch fills, when `delay` passes, on
/// `flush`, and at `shutdown` (which exports everything queued).
pub(crate) struct Batcher<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    max_batch: usize,
    thread: Mutex<Option<JoinHandle<()>>>,
    name: &'static str,
}

impl<T: Send + 'static> Batcher<T> {
    /// Starts the worker. `export` sends a batch; `release` then takes the
    /// batch's items (to recycle them), once per batch, so per-batch work
    /// such as reaching a shared pool is not repeated per item.
    pub(crate) fn new(
        name: &'static str,
        options: BatchOptions,
        mut export: impl FnMut(&[T]) -> Result<()> + Send + 'static,
        release: impl Fn(std::vec::Drain<'_, T>) + Send + 'static,
        on_stop: impl FnOnce() + Send + 'static,
    ) -> Self {
        let max_batch = options.max_batch.max(1);
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(options.max_queue.max(1)),
            stats: std::sync::Arc::default(),
            wake: Mutex::new((0, 0, false)),
            in_flight: crate::sync::AtomicU64::new(0),
            signal: Condvar::new(),
            done: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let worker = shared.clone();
        let thread = thread::Builder::new()
            .name(format!("sonde-{name}-batch"))
            .spawn(move || {
                let mut batch: Vec<T> = Vec::with_capacity(max_batch);
                loop {
                    let flush_to = {
                        let mut w = worker.wake.lock().unwrap_or_else(|p| p.into_inner());
                        if w.0 == w.1 && worker.queue.len() < max_batch && !worker.stopping.load(Acquire) {
                            w = worker.signal.wait_timeout(w, options.delay).unwrap_or_else(|p| p.into_inner()).0;
                        }
                        w.0
                    };
                    loop {
                        while batch.len() < max_batch {
                            match worker.queue.pop() {
                                Some(item) => batch.push(item),
                                None => break,
                            }
                        }
                        if batch.is_empty() {
                            break;
                        }
                        worker.in_flight.store(batch.len() as u64, Relaxed);
                        let result = export(&batch);
                        // A shutdown that gave up on this batch already
                        // counted it as dropped (whoever swaps first counts).
                        let n = worker.in_flight.swap(0, AcqRel);
                        match result {
                            Ok(()) => worker.stats.exported.fetch_add(n, Relaxed),
                            Err(_) => worker.stats.failed.fetch_add(n, Relaxed),
                        };
                        release(batch.drain(..));
                    }
                    // Exit once stopping with nothing left; a late push that
                    // lands after this check is counted by `count_leftovers`.
                    let exiting = worker.stopping.load(Acquire) && worker.queue.is_empty();
                    {
                        let mut w = worker.wake.lock().unwrap_or_else(|p| p.into_inner());
                        w.1 = w.1.max(flush_to);
                        if exiting {
                            w.1 = w.0;
                            w.2 = true;
                        }
                        worker.done.notify_all();
                    }
                    if exiting {
                        on_stop();
                        return;
                    }
                }
            })
            .ok();
        Self { shared, max_batch, thread: Mutex::new(thread), name }
    }

    /// Queues `item`; gives it back (counted as dropped) when the queue is
    /// full or the batcher is stopping. Never blocks.
    #[inline]
    pub(crate) fn push(&self, item: T) -> std::result::Result<(), T> {
        if self.shared.stopping.load(Relaxed) {
            self.shared.stats.dropped.fetch_add(1, Relaxed);
            return Err(item);
        }
        if let Err(item) = self.shared.queue.push(item) {
            self.shared.stats.dropped.fetch_add(1, Relaxed);
            return Err(item);
        }
        if self.shared.queue.len() == self.max_batch {
            self.shared.signal.notify_one();
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> &BatchStats {
        &self.shared.stats
    }

    /// The counts, readable after the batcher is gone (its final drop
    /// counts late arrivals too).
    #[cfg(all(test, loom))]
    pub(crate) fn stats_handle(&self) -> std::sync::Arc<BatchStats> {
        self.shared.stats.clone()
    }

    /// Registers `sonde_<what>_exported_total`, `_dropped_total` and
    /// `_export_failed_total` as callback counters.
    pub(crate) fn register_metrics(&self, registry: &crate::Registry, what: &str) -> Result<()> {
        let counters: [(&str, &str, StatField); 3] = [
            ("exported", "exported by the batch pipeline", |s| &s.exported),
            ("dropped", "dropped because the export queue was full", |s| &s.dropped),
            ("export_failed", "whose export failed", |s| &s.failed),
        ];
        for (suffix, help, field) in counters {
            let shared = self.shared.clone();
            registry.counter_fn(
                &format!("sonde_{what}_{suffix}_total"),
                &format!("Items ({what}) {help}."),
                move || field(&shared.stats).load(Relaxed) as f64,
            )?;
        }
        Ok(())
    }

    /// Waits until everything queued before this call is exported, or the
    /// worker has exited (after draining the queue: whatever is queued
    /// later is counted as dropped at shutdown).
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut w = self.shared.wake.lock().unwrap_or_else(|p| p.into_inner());
        w.0 += 1;
        let want = w.0;
        self.shared.signal.notify_one();
        while w.1 < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || w.2 {
                break;
            }
            w = self.shared.done.wait_timeout(w, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        if w.1 >= want || w.2 {
            Ok(())
        } else {
            Err(Error::Export {
                exporter: self.name.into(),
                reason: format!("flush did not finish within {timeout:?}"),
            })
        }
    }

    /// Stops accepting, exports everything queued, stops the worker. Waits
    /// at most `timeout`; a worker stuck in an exporter is left behind.
    ///
    /// A `push` that raced the stop (it saw the batcher open, then queued
    /// after the worker's last drain) is counted as dropped here, or at the
    /// latest when the batcher drops: nothing queued is lost without a count.
    ///
    /// When the deadline passes first (an exporter stuck on a downstream
    /// that does not answer), what is still queued and the batch in flight
    /// are counted as dropped at once: the stop says what it lost.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.shared.stopping.store(true, Release);
        let result = self.flush(timeout);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if result.is_ok() {
                let _ = t.join();
            }
        }
        if result.is_err() {
            let abandoned = self.shared.in_flight.swap(0, AcqRel);
            self.shared.stats.dropped.fetch_add(abandoned, Relaxed);
        }
        self.count_leftovers();
        result
    }

    /// Counts (and drops) items still queued once the worker has exited.
    fn count_leftovers(&self) {
        while self.shared.queue.pop().is_some() {
            self.shared.stats.dropped.fetch_add(1, Relaxed);
        }
    }
}

impl<T: Send + 'static> Drop for Batcher<T> {
    fn drop(&mut self) {
        // An explicit shutdown already waited (with its own deadline): a
        // second wait here would only delay the drop.
        if !self.shared.stopping.load(Acquire) {
            let _ = self.shutdown(Duration::from_secs(5));
        }
        // No `push` can run any more (it borrows the batcher); if the worker
        // has exited, whatever is left was queued too late: count it.
        let exited = self.thread.lock().unwrap_or_else(|p| p.into_inner()).is_none();
        if exited {
            self.count_leftovers();
        }
    }
}
