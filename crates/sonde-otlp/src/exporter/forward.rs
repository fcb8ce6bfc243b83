//! Forwarding received requests as they are (a hub passing spans on).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::transport::{Client, ExportRequest};

#[derive(Default)]
struct Counts {
    queued: AtomicU64,
    dropped: AtomicU64,
}

/// Sends whole export requests to the configured receiver from a thread of
/// its own, through a bounded queue: [`Forwarder::forward`] never waits; a
/// full queue drops the request and counts it.
pub struct Forwarder<R: ExportRequest> {
    queue: Mutex<Option<SyncSender<R>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counts: Arc<Counts>,
    client: Arc<Client>,
}

impl<R: ExportRequest> Forwarder<R> {
    pub(crate) fn start(client: Client, capacity: usize) -> Result<Self, crate::Error> {
        let (tx, rx) = sync_channel::<R>(capacity.max(1));
        let client = Arc::new(client);
        let sender = client.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sonde-otlp-forward-{}", client.signal().as_str()))
            .spawn(move || {
                for request in rx {
                    let _ = sender.send(&request); // failures are counted by the client
                }
            })
            .map_err(|e| crate::Error::Config(format!("cannot start the forwarding thread: {e}")))?;
        Ok(Self { queue: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), counts: Arc::default(), client })
    }

    /// Queues `request`; false (and counted) if the queue is full or closed.
    pub fn forward(&self, request: R) -> bool {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let sent = match queue.as_ref().map(|q| q.try_send(request)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        };
        let counter = if sent { &self.counts.queued } else { &self.counts.dropped };
        counter.fetch_add(1, Relaxed);
        sent
    }

    /// Requests queued, and dropped because the queue was full.
    pub fn counts(&self) -> (u64, u64) {
        (self.counts.queued.load(Relaxed), self.counts.dropped.load(Relaxed))
    }

    /// Exposes `sonde_otlp_forward_<signal>_{queued,dropped}_total` and the
    /// client's request, failure, retry and rejection counts
    /// (`sonde_otlp_forward_<signal>_requests_total`...).
    ///
    /// # Errors
    ///
    /// The registry's error when a `sonde_otlp_forward_*` name is already declared as another kind.
    pub fn register_metrics(&self, registry: &sonde::Registry) -> sonde::Result<()> {
        super::register(&self.client, registry, "sonde_otlp_forward")?;
        let signal = self.client.signal().as_str();
        for (what, help) in
            [("queued", "queued for forwarding"), ("dropped", "dropped because the forwarding queue was full")]
        {
            let counts = self.counts.clone();
            registry.counter_fn(
                &format!("sonde_otlp_forward_{signal}_{what}_total"),
                &format!("OTLP {signal} requests {help}."),
                move || if what == "queued" { counts.queued.load(Relaxed) } else { counts.dropped.load(Relaxed) } as f64,
            )?;
        }
        Ok(())
    }

    /// Stops taking requests and waits up to `timeout` for the queued ones
    /// to be sent; true if everything went out in time.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() else { return true };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return false; // the thread ends on its own once its sends give up
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = thread.join();
        true
    }
}
