//! Where lines go: each calling thread packs them into a datagram buffer of
//! its own and sends a full datagram itself (a non-blocking send); a
//! background thread sends what is left at every flush interval.
//!
//! The path per line, for a thread with a [`thread_index`]: lock the
//! thread's buffer (`try_lock`: only the sender thread ever contends for
//! it, and then the line takes the other path), format the line, append it;
//! when the datagram would overflow, send it on the caller's non-blocking
//! socket, or, if the socket would block, hand it to the sender (`ready`).
//! A thread without a number, or whose buffer the sender holds, formats the
//! line into a pooled string on the bounded `lines` queue, which the sender
//! packs; a full queue drops the line and counts it.
//!
//! Order: a thread's lines leave in the order it wrote them. It hands a
//! datagram to `ready` only while holding its buffer, and the sender, while
//! holding a buffer, first sends everything in `ready`, then the buffer;
//! a line takes the `lines` queue only while the sender holds the thread's
//! buffer, and the sender drains that queue after the buffers.

use std::net::UdpSocket;
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use crate::thread_index;

/// Where datagrams go.
pub(crate) enum Transport {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

impl Transport {
    /// A timeout on each send (the sender's socket).
    pub(crate) fn set_send_timeout(&self, timeout: Duration) -> std::io::Result<()> {
        match self {
            Self::Udp(s) => s.set_write_timeout(Some(timeout)),
            #[cfg(unix)]
            Self::Unix(s) => s.set_write_timeout(Some(timeout)),
        }
    }

    pub(crate) fn set_nonblocking(&self) -> std::io::Result<()> {
        match self {
            Self::Udp(s) => s.set_nonblocking(true),
            #[cfg(unix)]
            Self::Unix(s) => s.set_nonblocking(true),
        }
    }

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
    /// Lines accepted for sending.
    pub queued: AtomicU64,
    /// Lines lost: refused for want of room, or in a datagram the socket
    /// refused (so lines delivered = lines written - sampled out - dropped).
    pub dropped: AtomicU64,
    /// Lines skipped by client-side sampling.
    pub sampled_out: AtomicU64,
    /// Datagrams sent.
    pub datagrams: AtomicU64,
    /// Datagrams the socket refused.
    pub send_errors: AtomicU64,
}

/// One thread's datagram being filled.
#[derive(Default)]
struct Datagram {
    buf: String,
    /// Lines in `buf` (for counting drops).
    lines: u64,
    /// Where a line is formatted before it is known to fit.
    scratch: String,
}

pub(crate) struct Shared {
    /// Lines from threads without a buffer of their own (or whose buffer
    /// the sender holds).
    pub(crate) lines: ArrayQueue<String>,
    /// Sent lines' strings, cleared, for reuse: steady state allocates nothing.
    pub(crate) free: ArrayQueue<String>,
    /// Full datagrams the callers could not send without blocking, with
    /// their line counts.
    ready: ArrayQueue<(String, u64)>,
    /// Per-thread datagrams, by [`thread_index`].
    datagrams: Box<[Mutex<Datagram>]>,
    /// The callers' socket: non-blocking.
    direct: Transport,
    pub(crate) stats: Arc<Stats>,
    pub(crate) max_packet: usize,
    /// (flushes requested, flushes done)
    wake: Mutex<(u64, u64)>,
    signal: Condvar,
    done: Condvar,
    pub(crate) stopping: AtomicBool,
}

impl Shared {
    /// `direct` must be non-blocking; the sender's own socket may block.
    pub(crate) fn new(capacity: usize, max_packet: usize, direct: Transport) -> Self {
        Self {
            lines: ArrayQueue::new(capacity),
            free: ArrayQueue::new(capacity.min(4096)),
            ready: ArrayQueue::new(64),
            datagrams: (0..thread_index::THREADS).map(|_| Mutex::new(Datagram::default())).collect(),
            direct,
            stats: Arc::default(),
            max_packet,
            wake: Mutex::new((0, 0)),
            signal: Condvar::new(),
            done: Condvar::new(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Writes the line(s) `write` appends (several, `\n`-separated, stay
    /// together and in order). Never blocks.
    #[inline]
    pub(crate) fn put(&self, lines: u64, write: impl Fn(&mut String)) {
        if let Some(i) = thread_index::current() {
            if let Ok(mut d) = self.datagrams[i].try_lock() {
                self.append(&mut d, lines, &write);
                return;
            }
        }
        self.queue(lines, &write);
    }

    fn append(&self, d: &mut Datagram, lines: u64, write: &impl Fn(&mut String)) {
        let Datagram { buf, lines: held, scratch } = d;
        scratch.clear();
        write(scratch);
        if !buf.is_empty() && buf.len() + 1 + scratch.len() > self.max_packet {
            let full = std::mem::take(buf);
            *buf = self.hand_over(full, std::mem::take(held));
        }
        if !buf.is_empty() {
            buf.push('\n');
        } else if buf.capacity() == 0 {
            buf.reserve(self.max_packet);
        }
        buf.push_str(scratch);
        *held += lines;
        self.stats.queued.fetch_add(lines, Relaxed);
        if buf.len() >= self.max_packet {
            // One line at least as long as a datagram: it goes alone.
            let full = std::mem::take(buf);
            *buf = self.hand_over(full, std::mem::take(held));
        }
    }

    /// Sends a full datagram from the caller without blocking, or gives it
    /// to the sender; returns an empty buffer to fill next.
    fn hand_over(&self, mut full: String, lines: u64) -> String {
        match self.direct.send(full.as_bytes()) {
            Ok(_) => {
                self.stats.datagrams.fetch_add(1, Relaxed);
                full.clear();
                full
            }
            Err(_) => {
                let next = self.free.pop().unwrap_or_default();
                if let Err((_, lines)) = self.ready.push((full, lines)) {
                    self.stats.dropped.fetch_add(lines, Relaxed);
                } else {
                    self.nudge();
                }
                next
            }
        }
    }

    fn queue(&self, lines: u64, write: &impl Fn(&mut String)) {
        if self.lines.is_full() {
            self.stats.dropped.fetch_add(lines, Relaxed);
            return;
        }
        let mut l = self.free.pop().unwrap_or_else(|| String::with_capacity(64));
        write(&mut l);
        if self.lines.push(l).is_err() {
            self.stats.dropped.fetch_add(lines, Relaxed);
            return;
        }
        self.stats.queued.fetch_add(lines, Relaxed);
        if self.lines.len() % 64 == 0 {
            self.nudge();
        }
    }

    /// Whether a line would be dropped for want of room (the shared queue is
    /// the only bounded path; a thread's own datagram always has room).
    pub(crate) fn is_full(&self) -> bool {
        thread_index::current().is_none() && self.lines.is_full()
    }

    /// Wakes the sender.
    pub(crate) fn nudge(&self) {
        self.signal.notify_one();
    }

    /// Sends everything written so far; waits at most `timeout`.
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

/// How long the sender waits on a congested socket before it gives the
/// round up (the data stays queued for the next one, or is counted as
/// dropped when stopping).
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// Runs until stopped: every `interval`, or when nudged or flushed, sends
/// the handed-over datagrams, every thread's partial datagram, and the
/// queued lines packed into datagrams of at most `max_packet` bytes. A
/// congested socket ends the round early; when stopping, what is left then
/// is counted as dropped.
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
        let stopping = shared.stopping.load(Acquire);
        let sent_all = round(&shared, &transport, &mut packet);
        {
            let mut w = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            w.1 = w.1.max(flush_to);
            shared.done.notify_all();
        }
        if stopping {
            if !sent_all {
                discard(&shared);
            }
            return;
        }
    }
}

/// One pass over everything waiting; false if the socket was congested.
fn round(shared: &Shared, transport: &Transport, packet: &mut String) -> bool {
    for slot in shared.datagrams.iter() {
        let mut d = slot.lock().unwrap_or_else(|p| p.into_inner());
        // Datagrams this thread handed over come before its current one.
        if !send_ready(shared, transport) {
            return false;
        }
        if !d.buf.is_empty() {
            let lines = std::mem::take(&mut d.lines);
            if !send(shared, transport, &mut d.buf, lines) {
                return false;
            }
        }
    }
    if !send_ready(shared, transport) {
        return false;
    }
    let mut lines = 0;
    while let Some(mut line) = shared.lines.pop() {
        let full = !packet.is_empty() && packet.len() + 1 + line.len() > shared.max_packet;
        if full && !send(shared, transport, packet, std::mem::take(&mut lines)) {
            // The line popped for the next packet is lost with it.
            shared.stats.dropped.fetch_add(1 + line.matches('\n').count() as u64, Relaxed);
            return false;
        }
        if !packet.is_empty() {
            packet.push('\n');
        }
        packet.push_str(&line);
        lines += 1 + line.matches('\n').count() as u64;
        line.clear();
        let _ = shared.free.push(line);
    }
    packet.is_empty() || send(shared, transport, packet, lines)
}

/// Counts everything still waiting as dropped (a stop on a congested socket).
fn discard(shared: &Shared) {
    let mut dropped = 0;
    while let Some((_, lines)) = shared.ready.pop() {
        dropped += lines;
    }
    for slot in shared.datagrams.iter() {
        let mut d = slot.lock().unwrap_or_else(|p| p.into_inner());
        dropped += std::mem::take(&mut d.lines);
        d.buf.clear();
    }
    while shared.lines.pop().is_some() {
        dropped += 1;
    }
    shared.stats.dropped.fetch_add(dropped, Relaxed);
}

fn send_ready(shared: &Shared, transport: &Transport) -> bool {
    while let Some((mut datagram, lines)) = shared.ready.pop() {
        let ok = send(shared, transport, &mut datagram, lines);
        let _ = shared.free.push(datagram);
        if !ok {
            return false;
        }
    }
    true
}

/// Sends `packet` (holding `lines` lines) and clears it; false when the
/// socket was congested. A refused packet is counted in `send_errors`, and
/// its lines in `dropped`.
fn send(shared: &Shared, transport: &Transport, packet: &mut String, lines: u64) -> bool {
    let ok = match transport.send(packet.as_bytes()) {
        Ok(_) => {
            shared.stats.datagrams.fetch_add(1, Relaxed);
            true
        }
        Err(e) => {
            shared.stats.send_errors.fetch_add(1, Relaxed);
            shared.stats.dropped.fetch_add(lines, Relaxed);
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        }
    };
    packet.clear();
    ok
}
