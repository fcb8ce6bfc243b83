//! Forwarding received requests as they are (a hub passing spans on).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sonde::Counter;

use crate::transport::{Body, Client, ExportRequest};

/// Why forwarded items were not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The queue held its byte budget (or the forwarder was stopping).
    QueueFull,
    /// The downstream refused them or stayed unreachable through the retries.
    Failed,
    /// Still queued, or in flight, when shutdown's deadline passed.
    Shutdown,
}

impl DropReason {
    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::Failed => "failed",
            Self::Shutdown => "shutdown",
        }
    }

    const ALL: [Self; 3] = [Self::QueueFull, Self::Failed, Self::Shutdown];
}

/// The forwarder's counts, as counters of the registry it reports to.
struct Counts {
    queued: Counter,
    delivered: Counter,
    dropped: [Counter; 3],
}

impl Counts {
    fn dropped(&self, reason: DropReason) -> &Counter {
        &self.dropped[reason as usize]
    }

    fn register(registry: &sonde::Registry, items: &str) -> sonde::Result<Self> {
        let queued = registry
            .counter(&format!("sonde_otlp_forward_{items}_queued_total"))
            .help(&format!("Received {items} queued for forwarding over OTLP."))
            .register()?;
        let delivered = registry
            .counter(&format!("sonde_otlp_forward_{items}_delivered_total"))
            .help(&format!("Forwarded {items} the downstream accepted."))
            .register()?;
        let dropped = registry
            .counter(&format!("sonde_otlp_forward_{items}_dropped_total"))
            .help(&format!("Received {items} not forwarded, by reason: queue_full, failed (after retries), shutdown."))
            .labels(["reason"])
            .register()?;
        let dropped = DropReason::ALL.map(|r| dropped.bind(&[r.as_str()]));
        Ok(Self { queued, delivered, dropped })
    }
}

/// A queued request: the request, its items and the bytes it holds.
struct Queued<R> {
    request: R,
    items: u64,
    bytes: usize,
}

struct Queue<R> {
    waiting: VecDeque<Queued<R>>,
    bytes: usize,
    /// Items of the request being sent.
    in_flight: u64,
    closed: bool,
}

struct Shared<R> {
    queue: Mutex<Queue<R>>,
    /// Signals the sender (new work, or closing) and waiters (progress).
    changed: Condvar,
    max_bytes: usize,
    counts: Counts,
}

/// What a forwarder's shutdown left undelivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardReport {
    /// Items delivered over the forwarder's life.
    pub delivered: u64,
    /// Items dropped at shutdown (queued or in flight at the deadline).
    pub dropped_at_shutdown: u64,
    /// Items dropped earlier (queue full, or failed after retries).
    pub dropped_before: u64,
}

/// Sends whole export requests to the configured receiver from a thread of
/// its own, through a queue bounded by the bytes its requests hold:
/// [`Forwarder::forward`] never waits; what does not fit is dropped and
/// counted, by item, as is what the downstream refuses and what a
/// shutdown cannot deliver in time.
pub struct Forwarder<R: ExportRequest> {
    shared: Arc<Shared<R>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    client: Arc<Client>,
}

impl<R: ExportRequest> Forwarder<R> {
    /// Starts the sending thread; the queue holds at most `max_bytes` (as
    /// the caller measures each request). `items` names what the requests
    /// carry (`spans`) in the self-metrics registered in `registry`.
    pub(crate) fn start(
        client: Client,
        max_bytes: usize,
        items: &'static str,
        registry: &sonde::Registry,
    ) -> Result<Self, crate::Error> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { waiting: VecDeque::new(), bytes: 0, in_flight: 0, closed: false }),
            changed: Condvar::new(),
            max_bytes,
            counts: Counts::register(registry, items).map_err(|e| crate::Error::Config(e.to_string()))?,
        });
        let client = Arc::new(client);
        let (sender, worker) = (client.clone(), shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("sonde-otlp-forward-{}", client.signal().as_str()))
            .spawn(move || send_loop(&worker, &sender))
            .map_err(|e| crate::Error::Config(format!("cannot start the forwarding thread: {e}")))?;
        let forwarder = Self { shared, thread: Mutex::new(Some(thread)), client };
        forwarder.register_metrics(registry, items).map_err(|e| crate::Error::Config(e.to_string()))?;
        Ok(forwarder)
    }

    /// Queues `request`, which carries `items` items and holds `bytes`;
    /// false (and counted) when it does not fit or the forwarder stopped.
    pub fn forward(&self, request: R, items: u64, bytes: usize) -> bool {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.closed || q.bytes + bytes > self.shared.max_bytes {
            drop(q);
            self.shared.counts.dropped(DropReason::QueueFull).inc_by(items);
            return false;
        }
        q.bytes += bytes;
        q.waiting.push_back(Queued { request, items, bytes });
        drop(q);
        self.shared.counts.queued.inc_by(items);
        self.shared.changed.notify_all();
        true
    }

    /// Items dropped for `reason` so far.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.shared.counts.dropped(reason).exact().unwrap_or(0)
    }

    /// Items queued so far, and delivered so far.
    pub fn counts(&self) -> (u64, u64) {
        let c = &self.shared.counts;
        (c.queued.exact().unwrap_or(0), c.delivered.exact().unwrap_or(0))
    }

    /// Bytes held by the queue now.
    pub fn queue_bytes(&self) -> usize {
        self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// The client's request, failure, retry and rejection counts
    /// (`sonde_otlp_forward_<signal>_requests_total`...) and the queue's
    /// bytes (`sonde_otlp_forward_<items>_queue_bytes`), next to the item
    /// counters made at start: `sonde_otlp_forward_<items>_{queued,delivered}_total`
    /// and `sonde_otlp_forward_<items>_dropped_total{reason}` (`queue_full`,
    /// `failed`, `shutdown`).
    fn register_metrics(&self, registry: &sonde::Registry, items: &str) -> sonde::Result<()> {
        super::register(&self.client, registry, "sonde_otlp_forward")?;
        let shared = self.shared.clone();
        registry.gauge_fn(
            &format!("sonde_otlp_forward_{items}_queue_bytes"),
            &format!("Bytes held by {items} waiting to be forwarded."),
            move || shared.queue.lock().unwrap_or_else(|p| p.into_inner()).bytes as f64,
        )
    }

    /// Stops taking requests and waits up to `timeout` for the queued ones
    /// to be sent; whatever is still queued or in flight then is counted as
    /// dropped (`shutdown`) and reported. The sending thread is left to end
    /// on its own if it is stuck in a send.
    pub fn shutdown(&self, timeout: Duration) -> ForwardReport {
        let deadline = Instant::now() + timeout;
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.closed = true;
        self.shared.changed.notify_all();
        while !(q.waiting.is_empty() && q.in_flight == 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            q = self.shared.changed.wait_timeout(q, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        let stranded: u64 = q.waiting.drain(..).map(|w| w.items).sum::<u64>() + std::mem::take(&mut q.in_flight);
        q.bytes = 0;
        drop(q);
        self.shared.counts.dropped(DropReason::Shutdown).inc_by(stranded);
        if stranded == 0 {
            if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = t.join();
            }
        }
        ForwardReport {
            delivered: self.counts().1,
            dropped_at_shutdown: self.dropped(DropReason::Shutdown),
            dropped_before: self.dropped(DropReason::QueueFull) + self.dropped(DropReason::Failed),
        }
    }
}

/// Sends queued requests in order until the queue is closed and empty.
fn send_loop<R: ExportRequest>(shared: &Shared<R>, client: &Client) {
    loop {
        let next = {
            let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(next) = q.waiting.pop_front() {
                    q.bytes -= next.bytes;
                    q.in_flight = next.items;
                    break next;
                }
                if q.closed {
                    return;
                }
                q = shared.changed.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        let delivered = client.send(Body::Tree(&next.request)).is_ok(); // failures are counted by the client too
        let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        // A shutdown that gave up on this request already counted it.
        if q.in_flight == next.items {
            q.in_flight = 0;
            let counter = if delivered { &shared.counts.delivered } else { shared.counts.dropped(DropReason::Failed) };
            counter.inc_by(next.items);
        }
        drop(q);
        shared.changed.notify_all();
    }
}
