//! Where lines go: each calling thread packs them into a datagram buffer of
//! its own and sends a full datagram itself (a non-blocking send); a
//! background thread sends what is left at every flush interval.
//!
//! The path per line, for a thread with a [`thread_index`]: lock the
//! thread's buffer (one `try_lock` on a [`SpinLock`]: only the sender
//! thread ever contends for it, and then the line takes the other path),
//! format the line into it;
//! when the datagram would overflow, send it on the caller's non-blocking
//! socket, or, if the socket would block, hand it to the sender (`ready`).
//! A thread without a number, or whose buffer the sender holds, formats the
//! line into a pooled string on the bounded `lines` queue, which the sender
//! packs; a full queue drops the line and counts it.
//!
//! Order: a thread's lines leave in the order it wrote them. It hands a
//! datagram to `ready` only while holding its buffer, and the sender, while
//! holding a buffer, first sends everything in `ready`, then the buffer. A
//! line takes the `lines` queue when the sender holds the thread's buffer,
//! and the thread's next lines follow it there until the sender has sent
//! every one of them (the slot's `diverted` count), so none can leave
//! earlier from the thread's own datagram.

use std::net::UdpSocket;
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use crate::spin_lock::SpinLock;
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
    /// Lines accepted for sending. A line in a thread's own datagram is
    /// counted when the datagram leaves that buffer (sent, handed to the
    /// sender, or taken by it at a flush), so during writing this trails by
    /// at most one partial datagram per thread; after a flush it is exact.
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
    /// Where a line that did not fit waits while the datagram is sent.
    scratch: String,
}

/// A thread's datagram, and how many of its lines wait in the shared queue;
/// a cache line (two, for adjacent-line prefetch) of its own, so threads
/// writing their own slots do not slow each other.
#[repr(align(128))]
#[derive(Default)]
struct Slot {
    datagram: SpinLock<Datagram>,
    /// The thread's lines in `lines`, not yet sent: while there are any,
    /// its next lines queue behind them (so they cannot overtake them).
    diverted: AtomicU64,
}

/// Marks a queued line of a thread without a slot.
const NO_SLOT: u8 = u8::MAX;

pub(crate) struct Shared {
    /// Lines from threads without a buffer of their own (or whose buffer
    /// the sender holds, and their lines after them until sent), with the
    /// slot of the thread that wrote them.
    lines: ArrayQueue<(String, u8)>,
    /// Sent lines' strings, cleared, for reuse: steady state allocates nothing.
    pub(crate) free: ArrayQueue<String>,
    /// Full datagrams the callers could not send without blocking, with
    /// their line counts.
    ready: ArrayQueue<(String, u64)>,
    /// Per-thread datagrams, by [`thread_index`].
    slots: Box<[Slot]>,
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
            slots: (0..thread_index::THREADS).map(|_| Slot::default()).collect(),
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
        let index = thread_index::current();
        if let Some(slot) = index.map(|i| &self.slots[i]) {
            if slot.diverted.load(Acquire) == 0 {
                if let Some(mut d) = slot.datagram.try_lock() {
                    self.append(&mut d, lines, &write);
                    return;
                }
            }
        }
        self.queue(lines, &write, index);
    }

    fn append(&self, d: &mut Datagram, lines: u64, write: &impl Fn(&mut String)) {
        let Datagram { buf, lines: held, scratch } = d;
        if buf.capacity() < 2 * self.max_packet {
            // Room for a last line that overflows before it moves on (a
            // datagram's buffer is under `max_packet` bytes between lines).
            buf.reserve(2 * self.max_packet - buf.len());
            scratch.reserve(self.max_packet);
        }
        // Written in place; moved to the next datagram if it does not fit.
        let mark = buf.len();
        if mark > 0 {
            buf.push('\n');
        }
        write(buf);
        if mark > 0 && buf.len() > self.max_packet {
            scratch.clear();
            scratch.push_str(&buf[mark + 1..]);
            buf.truncate(mark);
            let full = std::mem::take(buf);
            *buf = self.hand_over(full, std::mem::take(held));
            buf.push_str(scratch);
        }
        *held += lines;
        if buf.len() >= self.max_packet {
            // Full, or one line at least as long as a datagram: it goes alone.
            let full = std::mem::take(buf);
            *buf = self.hand_over(full, std::mem::take(held));
        }
    }

    /// Sends a full datagram from the caller without blocking, or gives it
    /// to the sender; returns an empty buffer to fill next.
    fn hand_over(&self, mut full: String, lines: u64) -> String {
        self.stats.queued.fetch_add(lines, Relaxed);
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

    fn queue(&self, lines: u64, write: &impl Fn(&mut String), slot: Option<usize>) {
        if self.lines.is_full() {
            self.stats.dropped.fetch_add(lines, Relaxed);
            return;
        }
        let mut l = self.free.pop().unwrap_or_else(|| String::with_capacity(64));
        write(&mut l);
        // Counted before it can be sent (and uncounted), so never below zero.
        if let Some(i) = slot {
            self.slots[i].diverted.fetch_add(1, Relaxed);
        }
        if self.lines.push((l, slot.map_or(NO_SLOT, |i| i as u8))).is_err() {
            if let Some(i) = slot {
                self.slots[i].diverted.fetch_sub(1, Relaxed);
            }
            self.stats.dropped.fetch_add(lines, Relaxed);
            return;
        }
        self.stats.queued.fetch_add(lines, Relaxed);
        if self.lines.len().is_multiple_of(64) {
            self.nudge();
        }
    }

    /// The queued lines of `owed` (per slot) were sent or dropped: their
    /// threads may use their own datagrams again once none are left.
    fn settle(&self, owed: &mut [u64; thread_index::THREADS]) {
        for (slot, n) in self.slots.iter().zip(owed.iter_mut()) {
            if *n > 0 {
                slot.diverted.fetch_sub(std::mem::take(n), Release);
            }
        }
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
    for slot in shared.slots.iter() {
        let mut d = slot.datagram.lock();
        // Datagrams this thread handed over come before its current one.
        if !send_ready(shared, transport) {
            return false;
        }
        if !d.buf.is_empty() {
            let lines = std::mem::take(&mut d.lines);
            shared.stats.queued.fetch_add(lines, Relaxed);
            if !send(shared, transport, &mut d.buf, lines) {
                return false;
            }
        }
    }
    if !send_ready(shared, transport) {
        return false;
    }
    let mut lines = 0;
    // Lines per slot in `packet`, uncounted from `diverted` once it is sent.
    let mut owed = [0u64; thread_index::THREADS];
    while let Some((mut line, slot)) = shared.lines.pop() {
        let full = !packet.is_empty() && packet.len() + 1 + line.len() > shared.max_packet;
        if full {
            let sent = send(shared, transport, packet, std::mem::take(&mut lines));
            shared.settle(&mut owed);
            if !sent {
                // The line popped for the next packet is lost with it.
                shared.stats.dropped.fetch_add(1 + line.matches('\n').count() as u64, Relaxed);
                if let Some(n) = owed.get_mut(slot as usize) {
                    *n += 1;
                }
                shared.settle(&mut owed);
                return false;
            }
        }
        if let Some(n) = owed.get_mut(slot as usize) {
            *n += 1;
        }
        if !packet.is_empty() {
            packet.push('\n');
        }
        packet.push_str(&line);
        lines += 1 + line.matches('\n').count() as u64;
        line.clear();
        let _ = shared.free.push(line);
    }
    let sent = packet.is_empty() || send(shared, transport, packet, lines);
    shared.settle(&mut owed);
    sent
}

/// Counts everything still waiting as dropped (a stop on a congested socket).
fn discard(shared: &Shared) {
    let mut dropped = 0;
    while let Some((_, lines)) = shared.ready.pop() {
        dropped += lines;
    }
    for slot in shared.slots.iter() {
        let mut d = slot.datagram.lock();
        let lines = std::mem::take(&mut d.lines);
        shared.stats.queued.fetch_add(lines, Relaxed);
        dropped += lines;
        d.buf.clear();
    }
    let mut owed = [0u64; thread_index::THREADS];
    while let Some((line, slot)) = shared.lines.pop() {
        dropped += 1 + line.matches('\n').count() as u64;
        if let Some(n) = owed.get_mut(slot as usize) {
            *n += 1;
        }
    }
    shared.settle(&mut owed);
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
