//! The background sender: packs queued lines into datagrams.

use std::net::UdpSocket;
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

/// Where datagrams go.
pub(crate) enum Transport {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

impl Transport {
    fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Udp(s) => s.send(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.send(buf),
        }
    }
}

/// Counts of the client's work.
#[derive(Debug, Default)]
pub struct Stats {
    /// Lines queued.
    pub queued: AtomicU64,
    /// Lines dropped because the buffer was full.
    pub dropped: AtomicU64,
    /// Lines skipped by client-side sampling.
    pub sampled_out: AtomicU64,
    /// Datagrams sent.
    pub datagrams: AtomicU64,
    /// Datagrams the socket refused.
    pub send_errors: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) queue: ArrayQueue<String>,
    /// Sent lines' buffers, cleared, for the next calls to reuse: steady
    /// state allocates nothing.
    pub(crate) free: ArrayQueue<String>,
    pub(crate) stats: Stats,
    pub(crate) max_packet: usize,
    /// (flushes requested, flushes done)
    wake: Mutex<(u64, u64)>,
    signal: Condvar,
    done: Condvar,
    pub(crate) stopping: AtomicBool,
}

impl Shared {
    pub(crate) fn new(capacity: usize, max_packet: usize) -> Self {
        Self {
            queue: ArrayQueue::new(capacity),
            free: ArrayQueue::new(capacity.min(4096)),
            stats: Stats::default(),
            max_packet,
            wake: Mutex::new((0, 0)),
            signal: Condvar::new(),
            done: Condvar::new(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Wakes the sender when a datagram's worth is waiting.
    pub(crate) fn nudge(&self) {
        self.signal.notify_one();
    }

    /// Sends everything queued so far; waits at most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut w = self.wake.lock().unwrap_or_else(|p| p.into_inner());
        w.0 += 1;
        let want = w.0;
        self.signal.notify_one();
        while w.1 < want {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            w = self.done.wait_timeout(w, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }
}

/// Runs until stopped: every `interval`, or when nudged or flushed, packs
/// queued lines into datagrams of at most `max_packet` bytes.
pub(crate) fn run(shared: Arc<Shared>, transport: Transport, interval: Duration) {
    let mut packet = String::with_capacity(shared.max_packet);
    loop {
        let flush_to = {
            let mut w = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            if w.0 == w.1 && !shared.stopping.load(Acquire) {
                w = shared.signal.wait_timeout(w, interval).unwrap_or_else(|p| p.into_inner()).0;
            }
            w.0
        };
        while let Some(mut line) = shared.queue.pop() {
            if !packet.is_empty() && packet.len() + 1 + line.len() > shared.max_packet {
                send(&shared, &transport, &mut packet);
            }
            if !packet.is_empty() {
                packet.push('\n');
            }
            packet.push_str(&line);
            line.clear();
            let _ = shared.free.push(line);
        }
        if !packet.is_empty() {
            send(&shared, &transport, &mut packet);
        }
        {
            let mut w = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            w.1 = w.1.max(flush_to);
            shared.done.notify_all();
        }
        if shared.stopping.load(Acquire) && shared.queue.is_empty() {
            return;
        }
    }
}

fn send(shared: &Shared, transport: &Transport, packet: &mut String) {
    match transport.send(packet.as_bytes()) {
        Ok(_) => shared.stats.datagrams.fetch_add(1, Relaxed),
        Err(_) => shared.stats.send_errors.fetch_add(1, Relaxed),
    };
    packet.clear();
}
