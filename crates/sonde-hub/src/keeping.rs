//! The hub's stores opened for its storage choice, and the thread that
//! samples the registry into the sample store, flushes on the fsync
//! interval and applies retention.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sonde::events::EventLog;
use sonde::Registry;
use sonde_otlp::receive::TraceStore;

use crate::rules::RuleRunner;
use crate::store::{move_aside, DataDir, Fsync, RecordStore, Recovery, SampleOptions, SampleStore};
use crate::{Error, Storage};

/// How often spans and events past their retention are deleted (more
/// often for a retention under four minutes: a quarter of it).
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);

/// The sampler's progress, for answers that may only be sent once what
/// they acknowledge is in the sample store's log: ticks started, and ticks
/// written.
#[derive(Debug)]
pub(crate) struct Ticks {
    started: std::sync::atomic::AtomicU64,
    written: tokio::sync::watch::Sender<u64>,
    /// The longest wait: three sampling intervals and a second.
    limit: Duration,
}

impl Ticks {
    fn new(interval: Duration) -> Self {
        let limit = interval * 3 + Duration::from_secs(1);
        Self { started: Default::default(), written: tokio::sync::watch::Sender::new(0), limit }
    }

    /// Waits (at most a few intervals) until a tick that started after
    /// this call has been written: what the registry held when called is
    /// then in the log. False when the limit passed first.
    pub(crate) async fn written_after_now(&self) -> bool {
        let target = self.started.load(std::sync::atomic::Ordering::SeqCst) + 1;
        let mut written = self.written.subscribe();
        tokio::time::timeout(self.limit, written.wait_for(|w| *w >= target)).await.is_ok_and(|r| r.is_ok())
    }
}

/// The stores a hub keeps its data in.
pub(crate) struct Keeping {
    pub(crate) samples: SampleStore,
    /// The sampler's progress, on disk only (nothing to wait for in memory).
    pub(crate) ticks: Option<Arc<Ticks>>,
    pub(crate) records: Option<RecordStore>,
    /// False in memory with a zero budget: no history is kept at all.
    sampling: bool,
    _dir: Option<DataDir>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Keeping {
    /// Opens the stores (locking the directory), recovering what a crash
    /// left; damage is set aside and logged, never fatal. In memory, the
    /// samples get `memory_bytes` (0: no history at all).
    pub(crate) fn open(storage: &Storage, options: &SampleOptions, memory_bytes: usize) -> Result<Self, Error> {
        let Storage::Dir(path) = storage else {
            let options = SampleOptions { max_bytes: memory_bytes as u64, ..options.clone() };
            let samples = SampleStore::in_memory(options);
            let sampling = memory_bytes > 0;
            return Ok(Self {
                samples,
                ticks: None,
                records: None,
                sampling,
                _dir: None,
                stop: Arc::default(),
                sampler: None,
            });
        };
        let dir = DataDir::lock(path)?;
        let samples_dir = path.join("samples");
        let samples = match SampleStore::open(&samples_dir, options.clone()) {
            Ok(s) => s,
            Err(e) => {
                // Unusable as it is: keep it aside and start afresh.
                eprintln!(
                    "sonde: the sample store in {} cannot be opened ({e}); moving it aside",
                    samples_dir.display()
                );
                move_aside(&samples_dir, &path.join("damaged")).map_err(Error::Io)?;
                SampleStore::open(&samples_dir, options.clone()).map_err(Error::Io)?
            }
        };
        report(samples.recovery(), &samples_dir);
        let (records, aside) = RecordStore::open(path, options.fsync, options.retention, options.max_bytes)?;
        if aside > 0 {
            eprintln!(
                "sonde: the span and event database in {} was damaged; kept aside in damaged/, started a new one",
                path.display()
            );
        }
        Ok(Self {
            samples,
            ticks: Some(Arc::new(Ticks::new(options.interval))),
            records: Some(records),
            sampling: true,
            _dir: Some(dir),
            stop: Arc::default(),
            sampler: None,
        })
    }

    /// Whether samples are kept at all (not with a zero memory budget).
    pub(crate) fn samples_kept(&self) -> bool {
        self.sampling
    }

    /// Sends every span the trace store keeps, and every event, to the
    /// records database as they arrive (before the request is answered);
    /// failures are counted in `sonde_store_records_failed_total`. Exposes
    /// the sample store's self-metrics too.
    pub(crate) fn persist(&self, traces: &TraceStore, events: &EventLog, registry: &Registry) -> sonde::Result<()> {
        self.samples.register_metrics(registry)?;
        let Some(records) = &self.records else { return Ok(()) };
        records.register_metrics(registry)?;
        let failed = registry
            .counter("sonde_store_records_failed_total")
            .help("Spans and events the records database failed to keep.")
            .register()?;
        let (r, f) = (records.clone(), failed.clone());
        traces.add_hook(move |spans| {
            if r.insert_spans(spans).is_err() {
                f.inc_by(spans.len() as u64);
            }
        });
        let (r, f) = (records.clone(), failed.clone());
        events.add_hook(move |e| {
            if r.insert_event(e).is_err() {
                f.inc();
            }
        });
        Ok(())
    }

    /// Starts sampling `registry` every interval (times on the interval's
    /// grid), flushing and applying retention on their timers.
    /// `rules`, when given, are evaluated just before each tick, at its
    /// time.
    pub(crate) fn start_sampling(&mut self, registry: Registry, mut rules: Option<RuleRunner>) -> std::io::Result<()> {
        if !self.sampling {
            return Ok(());
        }
        let (samples, records, stop) = (self.samples.clone(), self.records.clone(), self.stop.clone());
        let ticks = self.ticks.clone();
        let handle = std::thread::Builder::new().name("sonde-hub-sampler".into()).spawn(move || {
            let options = samples.options().clone();
            let interval = options.interval.max(Duration::from_millis(10));
            let step = interval.as_millis().max(1) as i64;
            let mut last_sync = Instant::now();
            let mut last_maintain = Instant::now();
            let maintain_every = MAINTAIN_EVERY.min(options.retention / 4).max(Duration::from_millis(100));
            let mut last_tick = i64::MIN;
            while !stop.load(Relaxed) {
                let now = now_ms();
                let grid = now - now.rem_euclid(step);
                if grid > last_tick {
                    last_tick = grid;
                    let n = ticks.as_ref().map(|t| t.started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1);
                    if let Some(r) = rules.as_mut() {
                        r.tick(grid);
                    }
                    let snapshot = registry.snapshot();
                    let all = sonde_dashboard::samples(&snapshot);
                    samples.append(grid, all.iter().map(|s| (s.family.as_str(), s.id.as_str(), s.value)));
                    if let (Some(t), Some(n)) = (&ticks, n) {
                        t.written.send_replace(n);
                    }
                }
                if let Fsync::Interval(every) = options.fsync {
                    if last_sync.elapsed() >= every {
                        last_sync = Instant::now();
                        samples.sync();
                        if let Some(r) = &records {
                            r.upkeep(false, 0);
                        }
                    }
                }
                if last_maintain.elapsed() >= maintain_every {
                    last_maintain = Instant::now();
                    if let Some(r) = &records {
                        r.upkeep(true, now as u64 * 1_000_000);
                    }
                }
                // Sleep to the next grid point, waking often enough to stop promptly.
                let next = grid + step - now_ms();
                std::thread::sleep(Duration::from_millis(next.clamp(1, 200) as u64));
            }
        })?;
        self.sampler = Some(handle);
        Ok(())
    }

    /// Stops sampling, seals the heads (so the log is empty) and flushes.
    pub(crate) fn close(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.sampler.take() {
            let _ = h.join();
        }
        self.samples.seal(now_ms());
        self.samples.sync();
        if let Some(r) = &self.records {
            r.upkeep(false, 0);
        }
    }
}

fn report(r: &Recovery, dir: &std::path::Path) {
    if r.lost_bytes > 0 || r.lost_samples > 0 || r.files_set_aside > 0 {
        eprintln!(
            "sonde: recovered the sample store in {} in {:?}: {} damaged bytes cut away, {} samples lost, {} files \
             kept in damaged/, {} samples replayed from the log",
            dir.display(),
            r.took,
            r.lost_bytes,
            r.lost_samples,
            r.files_set_aside,
            r.replayed_samples
        );
    }
}
