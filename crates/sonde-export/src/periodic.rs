//! Drives an exporter on an interval.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sonde::{Buckets, Counter, Histogram, Registry};

use crate::{Error, Exporter};

/// Options for a [`PeriodicExporter`].
#[must_use = "nothing runs until `start` is called"]
pub struct PeriodicBuilder<E> {
    registry: Registry,
    exporter: E,
    interval: Duration,
    jitter: f64,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
}

impl<E: Exporter + 'static> PeriodicBuilder<E> {
    /// Time between exports (default 10 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Random spread of each wait, as a fraction of the interval (default
    /// 0.1: ±10 %), so that many processes do not push in step.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Retries after a retryable failure (default 3), waiting `initial`,
    /// then twice as long each time, at most `max` (defaults 100 ms, 5 s),
    /// each wait jittered.
    pub fn retries(mut self, retries: u32, initial: Duration, max: Duration) -> Self {
        self.retries = retries;
        self.backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Starts the export thread.
    ///
    /// # Errors
    ///
    /// [`Error`] when the worker thread cannot be started, or the registry's error when a `sonde_export_*`
    /// self-metric name is already taken by another kind.
    pub fn start(self) -> Result<PeriodicExporter, Error> {
        if self.interval.is_zero() {
            return Err(Error::Other {
                exporter: self.exporter.name().into(),
                message: "interval must be > 0".into(),
                retryable: false,
            });
        }
        let name = self.exporter.name().to_owned();
        let reg = |e: sonde::Error| Error::Other { exporter: name.clone(), message: e.to_string(), retryable: false };
        let runs = self
            .registry
            .counter("sonde_export_runs_total")
            .help("Export runs, by exporter.")
            .labels(["exporter"])
            .register()
            .map_err(reg)?;
        let failures = self
            .registry
            .counter("sonde_export_failures_total")
            .help("Export runs that failed after their retries, by exporter.")
            .labels(["exporter"])
            .register()
            .map_err(reg)?;
        let duration = self
            .registry
            .histogram("sonde_export_duration_seconds")
            .help("Export run duration, retries included, by exporter.")
            .labels(["exporter"])
            .buckets(Buckets::exponential(0.001, 4.0, 8).expect("constant buckets"))
            .register()
            .map_err(reg)?;
        let metrics =
            Metrics { runs: runs.bind(&[&name]), failures: failures.bind(&[&name]), duration: duration.bind(&[&name]) };
        let control = Arc::new(Control { stop: Mutex::new(false), wake: Condvar::new() });
        let (done_tx, done_rx) = mpsc::channel();
        let worker = Worker {
            registry: self.registry,
            exporter: self.exporter,
            interval: self.interval,
            jitter: self.jitter,
            retries: self.retries,
            backoff: self.backoff,
            max_backoff: self.max_backoff,
            metrics,
            control: control.clone(),
        };
        std::thread::Builder::new()
            .name(format!("sonde-export-{name}"))
            .spawn(move || {
                let result = worker.run();
                let _ = done_tx.send(result);
            })
            .map_err(|source| Error::Io { exporter: name.clone(), source })?;
        Ok(PeriodicExporter { control, done: Mutex::new(Some(done_rx)), name })
    }
}

struct Metrics {
    runs: Counter,
    failures: Counter,
    duration: Histogram,
}

struct Control {
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Control {
    /// Waits up to `d`; true if asked to stop.
    fn wait(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        while !*stop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stop = self.wake.wait_timeout(stop, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        *stop
    }
}

struct Worker<E> {
    registry: Registry,
    exporter: E,
    interval: Duration,
    jitter: f64,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    metrics: Metrics,
    control: Arc<Control>,
}

fn jittered(d: Duration, fraction: f64) -> Duration {
    d.mul_f64(1.0 + fraction * (fastrand::f64() * 2.0 - 1.0))
}

impl<E: Exporter> Worker<E> {
    fn run(self) -> Result<(), Error> {
        loop {
            if self.control.wait(jittered(self.interval, self.jitter)) {
                break;
            }
            let _ = self.export_once(true);
        }
        // Final flush: one attempt, no waiting on backoff.
        let last = self.export_once(false);
        let shutdown = self.exporter.shutdown();
        last.and(shutdown)
    }

    fn export_once(&self, with_retries: bool) -> Result<(), Error> {
        let started = Instant::now();
        let snapshot = self.registry.snapshot();
        let mut backoff = self.backoff;
        let mut attempt = 0;
        let result = loop {
            match self.exporter.export(&snapshot) {
                Ok(()) => break Ok(()),
                Err(e) if with_retries && e.is_retryable() && attempt < self.retries => {
                    attempt += 1;
                    log::debug!(target: "sonde::export", "{}: {e}; retry {attempt} in {backoff:?}", self.exporter.name());
                    if self.control.wait(jittered(backoff, 0.2)) {
                        break Err(e); // stopping: the final flush takes over
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                }
                Err(e) => break Err(e),
            }
        };
        self.metrics.runs.inc();
        self.metrics.duration.observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            self.metrics.failures.inc();
            log::warn!(target: "sonde::export", "{}: export failed: {e}", self.exporter.name());
        }
        result
    }
}

/// Exports a registry on an interval from its own thread; see
/// [`PeriodicBuilder`]. Stop it with [`PeriodicExporter::stop`] (dropping it
/// stops it too, waiting up to five seconds).
pub struct PeriodicExporter {
    control: Arc<Control>,
    done: Mutex<Option<mpsc::Receiver<Result<(), Error>>>>,
    name: String,
}

impl std::fmt::Debug for PeriodicExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeriodicExporter").field("exporter", &self.name).finish()
    }
}

impl PeriodicExporter {
    /// Options for exporting `registry` through `exporter`.
    pub fn builder<E: Exporter + 'static>(registry: Registry, exporter: E) -> PeriodicBuilder<E> {
        PeriodicBuilder {
            registry,
            exporter,
            interval: Duration::from_secs(10),
            jitter: 0.1,
            retries: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Stops the thread after one last export; waits at most `timeout` and
    /// returns that export's result (or an error if it did not finish).
    ///
    /// # Errors
    ///
    /// [`Error`] when the final export did not finish within `timeout` (the worker is left to finish on its
    /// own) or failed.
    pub fn stop(&self, timeout: Duration) -> Result<(), Error> {
        *self.control.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.control.wake.notify_all();
        let Some(done) = self.done.lock().unwrap_or_else(|p| p.into_inner()).take() else { return Ok(()) };
        match done.recv_timeout(timeout) {
            Ok(result) => result,
            Err(_) => Err(Error::Other {
                exporter: self.name.clone(),
                message: format!("did not stop within {timeout:?}"),
                retryable: false,
            }),
        }
    }
}

impl Drop for PeriodicExporter {
    fn drop(&mut self) {
        let _ = self.stop(Duration::from_secs(5));
    }
}
