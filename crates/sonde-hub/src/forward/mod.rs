//! Forwarding that survives outages and restarts: every destination (OTLP
//! traces, logs and metrics; remote write) is a [`Spool`] of encoded
//! requests with one sending thread. Received spans and events, and
//! snapshots of the registry every export interval, are encoded and queued
//! (on disk under `<data dir>/forward/<destination>`, or in memory with
//! `--ephemeral`); the thread sends the oldest, removes it once the
//! downstream accepted it (or refused it for good), and backs off while
//! the downstream is down, slow or answering retryable errors. So delivery
//! is in order, at least once, and resumes after a restart; what passes
//! the byte budget is dropped oldest first, and everything is counted.

pub(crate) mod spool;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message;
use sonde::events::{Event, EventExporter};
use sonde::{Counter, Family, Gauge, Registry, Snapshot};
use sonde_export::{Exporter, PeriodicExporter};
use sonde_otlp::{Otlp, OtlpSender, Signal};
use sonde_remote_write::RemoteWriteExporter;

use crate::store::Fsync;
use crate::{DropReport, Error};
use spool::Spool;

/// The first wait after a failed send; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between tries while the downstream is down.
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// The destinations, each with its queue and sending thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    OtlpTraces,
    OtlpLogs,
    OtlpMetrics,
    RemoteWrite,
}

impl Route {
    /// The `destination` label and the queue's directory name.
    fn name(self) -> &'static str {
        match self {
            Self::OtlpTraces => "otlp_traces",
            Self::OtlpLogs => "otlp_logs",
            Self::OtlpMetrics => "otlp_metrics",
            Self::RemoteWrite => "remote_write",
        }
    }
}

/// Where a destination sends.
enum Downstream {
    Otlp(Box<OtlpSender>),
    RemoteWrite(Arc<RemoteWriteExporter>),
}

impl Downstream {
    /// Sends one request: `Err(true)` when trying again may succeed.
    fn send(&self, body: &[u8]) -> Result<(), (bool, String)> {
        match self {
            Self::Otlp(s) => s.send_protobuf(body).map_err(|e| (e.is_retryable(), e.to_string())),
            Self::RemoteWrite(r) => r.send_body(body).map_err(|e| (e.is_retryable(), e.to_string())),
        }
    }
}

/// The counts of one destination.
struct Counts {
    queued: Counter,
    delivered: Counter,
    retries: Counter,
    dropped: Family<Counter>,
    items: Gauge,
    bytes: Gauge,
    age: Gauge,
}

/// One queue and what it reports.
pub(crate) struct Destination {
    route: Route,
    spool: Spool,
    counts: Counts,
}

impl Destination {
    /// Queues one encoded request carrying `items` items.
    pub(crate) fn push(&self, body: &[u8], items: u64) {
        let dropped = self.spool.push(body, items);
        self.counts.queued.inc_by(items);
        self.drop_items("budget", dropped.budget);
        self.drop_items("io", dropped.io);
        self.refresh();
    }

    fn drop_items(&self, reason: &str, n: u64) {
        if n > 0 {
            self.counts.dropped.with(&[self.route.name(), reason]).inc_by(n);
        }
    }

    /// Sets the depth and age gauges.
    fn refresh(&self) {
        let (items, bytes, oldest) = self.spool.depth();
        self.counts.items.set(items as f64);
        self.counts.bytes.set(bytes as f64);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        self.counts.age.set(oldest.map_or(0.0, |t| now.saturating_sub(u128::from(t)) as f64 / 1000.0));
    }

    /// Items waiting.
    pub(crate) fn depth(&self) -> u64 {
        self.spool.depth().0
    }
}

/// How a stop is going: draining (send what is queued, then end), or over.
#[derive(Default)]
struct Stop {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Stop {
    fn set(&self, draining: bool, over: bool) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = (s.0 | draining, s.1 | over);
        self.changed.notify_all();
    }

    fn get(&self) -> (bool, bool) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits `d` or until the stop is over; true when it is.
    fn wait(&self, d: Duration) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (s, _) = self.changed.wait_timeout_while(s, d, |s| !s.1).unwrap_or_else(|p| p.into_inner());
        s.1
    }
}

/// Sends the oldest request until the stop is over (or, draining, until
/// the queue is empty).
fn send_loop(dest: &Destination, downstream: &Downstream, stop: &Stop) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (draining, over) = stop.get();
        if over {
            return;
        }
        let (pending, unreadable) = dest.spool.next(Duration::from_millis(250));
        dest.spool.sync_if_due();
        dest.drop_items("io", unreadable);
        dest.refresh();
        let Some(pending) = pending else {
            if draining {
                return;
            }
            continue;
        };
        match downstream.send(&pending.body) {
            Ok(()) => {
                if dest.spool.ack(pending.seq) {
                    dest.counts.delivered.inc_by(pending.items);
                }
                backoff = FIRST_BACKOFF;
            }
            Err((true, why)) => {
                log::debug!(target: "sonde::hub", "forward {}: {why}; trying again in {backoff:?}", dest.route.name());
                dest.counts.retries.inc();
                if stop.wait(backoff) {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err((false, why)) => {
                log::warn!(target: "sonde::hub", "forward {}: refused for good, dropped: {why}", dest.route.name());
                if dest.spool.ack(pending.seq) {
                    dest.drop_items("refused", pending.items);
                }
            }
        }
        dest.refresh();
    }
}

/// Encodes a snapshot into request bodies, each with its item count.
type Encode = Box<dyn Fn(&Snapshot) -> Vec<(Vec<u8>, u64)> + Send + Sync>;

/// Queues a registry snapshot for a destination every interval.
struct SnapshotEncoder {
    dest: Arc<Destination>,
    encode: Encode,
}

impl Exporter for SnapshotEncoder {
    fn name(&self) -> &str {
        self.dest.route.name()
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), sonde_export::Error> {
        for (body, items) in (self.encode)(snapshot) {
            self.dest.push(&body, items);
        }
        Ok(())
    }
}

/// Queues event batches as OTLP log requests.
struct LogEncoder {
    dest: Arc<Destination>,
    resource: Vec<(String, String)>,
}

impl EventExporter for LogEncoder {
    fn export(&self, batch: &[Arc<Event>]) -> sonde::Result<()> {
        let request = sonde_otlp::logs_request(batch, &self.resource);
        self.dest.push(&request.encode_to_vec(), batch.len() as u64);
        Ok(())
    }
}

/// Where forwarding keeps its queues.
pub(crate) struct ForwardOptions<'a> {
    /// The data directory (queues under `forward/`), or `None` for memory.
    pub(crate) dir: Option<&'a Path>,
    /// Bytes of every queue together.
    pub(crate) budget: u64,
    /// When queued requests are flushed to stable storage.
    pub(crate) fsync: Fsync,
}

/// The running destinations.
pub(crate) struct Forwarding {
    /// The resource OTLP log requests carry.
    resource: Vec<(String, String)>,
    periodic: Vec<PeriodicExporter>,
    destinations: Vec<Arc<Destination>>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<Stop>,
    on_disk: bool,
}

fn counts(registry: &Registry, name: &str) -> Result<Counts, Error> {
    let family = |metric: &str, help: &str| registry.counter(metric).help(help).labels(["destination"]).register();
    let gauge = |metric: &str, help: &str| registry.gauge(metric).help(help).labels(["destination"]).register();
    let items = "items (spans, log records, metric series)";
    Ok(Counts {
        queued: family("sonde_forward_queued_total", &format!("{items} queued for forwarding, by destination."))?
            .bind(&[name]),
        delivered: family(
            "sonde_forward_delivered_total",
            &format!("{items} the downstream accepted, by destination."),
        )?
        .bind(&[name]),
        retries: family("sonde_forward_retries_total", "Sends tried again after a retryable failure, by destination.")?
            .bind(&[name]),
        dropped: registry
            .counter("sonde_forward_dropped_total")
            .help(&format!(
                "{items} not forwarded, by destination and reason: budget (the oldest, past [forward] max_disk_bytes), \
                 refused (for good by the downstream), io (not written or read back), shutdown (in memory at a stop)."
            ))
            .labels(["destination", "reason"])
            .register()?,
        items: gauge("sonde_forward_queue_items", &format!("{items} waiting to be forwarded, by destination."))?
            .bind(&[name]),
        bytes: gauge("sonde_forward_queue_bytes", "Bytes of requests waiting to be forwarded, by destination.")?
            .bind(&[name]),
        age: gauge(
            "sonde_forward_queue_age_seconds",
            "How long the oldest waiting request has waited (0 when none), by destination.",
        )?
        .bind(&[name]),
    })
}

impl Forwarding {
    /// Starts a destination for each of OTLP's signals (with `otlp`) and for
    /// remote write (with `remote_write` and its interval), queues opened
    /// per `options`, counts registered in `registry`.
    ///
    /// # Errors
    ///
    /// A queue that cannot be opened, a sender that cannot be built, a
    /// thread that cannot start, or a self-metric name taken.
    pub(crate) fn start(
        otlp: Option<&Otlp>,
        remote_write: Option<(RemoteWriteExporter, Duration)>,
        registry: &Registry,
        options: &ForwardOptions<'_>,
    ) -> Result<Self, Error> {
        let mut planned: Vec<(Route, Downstream)> = Vec::new();
        if let Some(o) = otlp {
            for (route, signal) in [
                (Route::OtlpTraces, Signal::Traces),
                (Route::OtlpLogs, Signal::Logs),
                (Route::OtlpMetrics, Signal::Metrics),
            ] {
                let sender = o.sender(signal)?;
                sender.register_metrics(registry, "sonde_otlp_forward")?;
                planned.push((route, Downstream::Otlp(Box::new(sender))));
            }
        }
        let remote_write = remote_write.map(|(e, every)| (Arc::new(e), every));
        if let Some((r, _)) = &remote_write {
            planned.push((Route::RemoteWrite, Downstream::RemoteWrite(r.clone())));
        }
        let mut forwarding = Self {
            resource: otlp.map(|o| o.resource().to_vec()).unwrap_or_default(),
            periodic: Vec::new(),
            destinations: Vec::new(),
            threads: Vec::new(),
            stop: Arc::default(),
            on_disk: options.dir.is_some(),
        };
        let budget = options.budget / planned.len().max(1) as u64;
        for (route, downstream) in planned {
            let name = route.name();
            let spool = match options.dir {
                None => Spool::in_memory(budget),
                Some(dir) => {
                    let (spool, found) =
                        Spool::open(&dir.join("forward").join(name), &dir.join("damaged"), budget, options.fsync)?;
                    if found.requests > 0 || found.lost_bytes > 0 {
                        log::warn!(
                            target: "sonde::hub",
                            "forward {name}: {} item(s) in {} request(s) waiting from before; {} damaged byte(s) cut",
                            found.items, found.requests, found.lost_bytes
                        );
                    }
                    spool
                }
            };
            let dest = Arc::new(Destination { route, spool, counts: counts(registry, name)? });
            dest.refresh();
            let (worker, stop) = (dest.clone(), forwarding.stop.clone());
            forwarding.threads.push(
                std::thread::Builder::new()
                    .name(format!("sonde-forward-{name}"))
                    .spawn(move || send_loop(&worker, &downstream, &stop))?,
            );
            forwarding.destinations.push(dest);
        }
        let mut encoders: Vec<(SnapshotEncoder, Duration)> = Vec::new();
        if let (Some(o), Some(dest)) = (otlp, forwarding.destination(Route::OtlpMetrics)) {
            let encoder = o.metric_encoder();
            let encode = move |s: &Snapshot| vec![(encoder.encode_to_vec(s), s.series_count() as u64)];
            encoders.push((SnapshotEncoder { dest, encode: Box::new(encode) }, o.metric_interval()));
        }
        if let (Some((r, every)), Some(dest)) = (remote_write, forwarding.destination(Route::RemoteWrite)) {
            let encode = move |s: &Snapshot| r.bodies(s);
            encoders.push((SnapshotEncoder { dest, encode: Box::new(encode) }, every));
        }
        for (encoder, every) in encoders {
            let periodic = PeriodicExporter::builder(registry.clone(), encoder)
                .interval(every)
                .retries(0, Duration::from_millis(1), Duration::from_millis(1))
                .start()
                .map_err(|e| Error::Forward(e.to_string()))?;
            forwarding.periodic.push(periodic);
        }
        Ok(forwarding)
    }

    fn destination(&self, route: Route) -> Option<Arc<Destination>> {
        self.destinations.iter().find(|d| d.route == route).cloned()
    }

    /// The spans destination, when forwarding over OTLP.
    pub(crate) fn traces(&self) -> Option<Arc<Destination>> {
        self.destination(Route::OtlpTraces)
    }

    /// An event exporter into the logs destination, when forwarding over OTLP.
    pub(crate) fn log_exporter(&self) -> Option<impl EventExporter + 'static> {
        let dest = self.destination(Route::OtlpLogs)?;
        Some(LogEncoder { dest, resource: self.resource.clone() })
    }

    /// Flushes every queue to stable storage.
    pub(crate) fn sync(&self) {
        for d in &self.destinations {
            d.spool.sync();
        }
    }

    /// Queues a last snapshot, then sends what is queued for at most
    /// `timeout`. What is left waits on disk for the next start or, in
    /// memory, is dropped and counted (`shutdown`).
    pub(crate) fn stop(mut self, timeout: Duration) -> DropReport {
        let deadline = Instant::now() + timeout;
        for p in self.periodic.drain(..) {
            let _ = p.stop(timeout / 4);
        }
        self.stop.set(true, false);
        for t in &self.threads {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::park_timeout(Duration::from_millis(20));
            }
        }
        self.stop.set(true, true);
        for t in self.threads.drain(..) {
            if t.is_finished() {
                let _ = t.join();
            } // else stuck in a send: left to end on its own
        }
        self.sync();
        let mut left = DropReport { on_disk: self.on_disk, ..DropReport::default() };
        for d in &self.destinations {
            let n = if self.on_disk { d.depth() } else { d.spool.abandon() };
            if !self.on_disk {
                d.drop_items("shutdown", n);
            }
            match d.route {
                Route::OtlpTraces => left.spans = n,
                Route::OtlpLogs => left.events = n,
                Route::OtlpMetrics | Route::RemoteWrite => {}
            }
            d.refresh();
        }
        left
    }
}
