//! A first-in, first-out queue of encoded requests, bounded by bytes, on
//! disk or in memory: what a forwarder has accepted and not yet delivered.
//!
//! On disk, requests are checksummed records (see `store::frame`) appended
//! to numbered segment files (`0000000000000001.spool`, …); a `cursor` file
//! names the first request not yet delivered (segment and offset, with a
//! checksum). A delivered request moves the cursor; a segment whose every
//! request was delivered is deleted. A crash between a delivery and the
//! cursor's write sends that request again: delivery is at least once.
//! Opening cuts a damaged tail off (kept aside first) and resumes at the
//! cursor; a damaged cursor resumes at the oldest segment.
//!
//! When a new request would pass the budget, the oldest requests are
//! dropped, their items counted, and the cursor moved past them (a
//! segment goes once nothing in it is left).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::store::frame::{self, framed, FramedFile};
use crate::store::Fsync;

/// A segment file is closed and a new one started past a sixteenth of the
/// budget, within these bounds; delivered requests wait in their segment
/// until it is, so the files exceed the budget by at most one segment.
const SEGMENT_BYTES: (u64, u64) = (64 << 10, 8 << 20);
/// A record's header: enqueue time (ms) and item count.
const HEADER: usize = 16;

/// One queued request, as the queue tracks it.
#[derive(Debug)]
struct Entry {
    /// Its number in this queue's life (what [`Spool::ack`] names).
    seq: u64,
    /// The segment it is in (disk), or 0.
    segment: u64,
    /// Where its frame starts in the segment.
    offset: u64,
    /// Its frame's length (header and checksum included).
    len: u64,
    items: u64,
    time_ms: u64,
    /// The body, in memory mode.
    body: Option<Vec<u8>>,
}

/// The next request to deliver.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Which request (for [`Spool::ack`]).
    pub(crate) seq: u64,
    /// The encoded request.
    pub(crate) body: Vec<u8>,
    /// The items it carries.
    pub(crate) items: u64,
}

/// What opening a queue on disk found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SpoolRecovery {
    /// Requests found waiting.
    pub(crate) requests: u64,
    /// Their items.
    pub(crate) items: u64,
    /// Bytes of damaged records cut away.
    pub(crate) lost_bytes: u64,
}

/// Items dropped by a push or a read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// Oldest requests dropped to keep within the budget.
    pub(crate) budget: u64,
    /// Requests that could not be written or read back.
    pub(crate) io: u64,
}

struct Disk {
    dir: PathBuf,
    damaged: PathBuf,
    /// The segment being appended to: its number, file and length.
    active: (u64, FramedFile, u64),
    /// Segment numbers still on disk, oldest first (the active one last).
    segments: VecDeque<u64>,
    /// Where a segment is closed.
    segment_bytes: u64,
    /// The head segment's read handle.
    reader: Option<(u64, File)>,
    /// The `cursor` file, rewritten in place.
    cursor: File,
    fsync: Fsync,
    last_sync: Instant,
    /// Appended to since the last sync.
    dirty: bool,
}

struct State {
    entries: VecDeque<Entry>,
    /// The next entry's number.
    next_seq: u64,
    bytes: u64,
    items: u64,
    disk: Option<Disk>,
}

/// A byte-bounded FIFO of encoded requests; see the module docs.
pub(crate) struct Spool {
    state: Mutex<State>,
    changed: Condvar,
    budget: u64,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.spool"))
}

/// The cursor: the segment and offset of the first request not delivered,
/// as one checksummed record (a torn write fails its checksum, and the
/// queue resumes at the oldest segment: more sent again, nothing lost).
fn read_cursor(dir: &Path) -> Option<(u64, u64)> {
    let bytes = fs::read(dir.join("cursor")).ok()?;
    let (segment, offset) = frame::payload(&bytes)?.split_at_checked(8)?;
    Some((u64::from_le_bytes(segment.try_into().ok()?), u64::from_le_bytes(offset.try_into().ok()?)))
}

fn write_cursor(file: &File, (segment, offset): (u64, u64)) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(24);
    framed(&mut bytes, |out| {
        out.extend_from_slice(&segment.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    });
    file.write_all_at(&bytes, 0)
}

fn header_of(payload: &[u8]) -> (u64, u64) {
    let word = |i: usize| u64::from_le_bytes(payload[i..i + 8].try_into().unwrap_or_default());
    (word(0), word(8))
}

impl Spool {
    /// A queue in memory holding at most `budget` bytes.
    pub(crate) fn in_memory(budget: u64) -> Self {
        Self::with(State { entries: VecDeque::new(), next_seq: 0, bytes: 0, items: 0, disk: None }, budget)
    }

    fn with(state: State, budget: u64) -> Self {
        Self { state: Mutex::new(state), changed: Condvar::new(), budget }
    }

    /// Opens (creating) the queue in `dir`, holding at most `budget` bytes
    /// on disk; damaged files are copied into `damaged` before repair.
    pub(crate) fn open(dir: &Path, damaged: &Path, budget: u64, fsync: Fsync) -> io::Result<(Self, SpoolRecovery)> {
        fs::create_dir_all(dir)?;
        let mut numbers: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".spool")?.parse().ok())
            .collect();
        numbers.sort_unstable();
        let cursor = read_cursor(dir);
        let mut recovery = SpoolRecovery::default();
        let mut entries = VecDeque::new();
        let mut segments = VecDeque::new();
        let mut active = None;
        let last = numbers.last().copied();
        for n in numbers {
            let path = segment_path(dir, n);
            if cursor.is_some_and(|(segment, _)| n < segment) {
                fs::remove_file(&path)?; // delivered before the stop
                continue;
            }
            let (file, scanned) = FramedFile::open(&path, damaged)?;
            recovery.lost_bytes += scanned.damaged_bytes;
            let mut offset = 0u64;
            for payload in &scanned.records {
                let len = (payload.len() + 8) as u64;
                let delivered = cursor.is_some_and(|(segment, at)| n == segment && offset < at);
                if payload.len() >= HEADER && !delivered {
                    let (time_ms, items) = header_of(payload);
                    let seq = entries.len() as u64;
                    entries.push_back(Entry { seq, segment: n, offset, len, items, time_ms, body: None });
                }
                offset += len;
            }
            segments.push_back(n);
            if Some(n) == last {
                active = Some((n, file, offset));
            }
        }
        let active = match active {
            Some(a) => a,
            None => {
                let n = cursor.map_or(1, |(segment, _)| segment + 1);
                let (file, _) = FramedFile::open(&segment_path(dir, n), damaged)?;
                segments.push_back(n);
                (n, file, 0)
            }
        };
        recovery.requests = entries.len() as u64;
        recovery.items = entries.iter().map(|e| e.items).sum();
        let bytes = entries.iter().map(|e| e.len).sum();
        let disk = Disk {
            dir: dir.to_owned(),
            damaged: damaged.to_owned(),
            active,
            segments,
            segment_bytes: (budget / 16).clamp(SEGMENT_BYTES.0, SEGMENT_BYTES.1),
            reader: None,
            cursor: OpenOptions::new().write(true).create(true).truncate(false).open(dir.join("cursor"))?,
            fsync,
            last_sync: Instant::now(),
            dirty: false,
        };
        let next_seq = entries.len() as u64;
        let state = State { items: recovery.items, entries, next_seq, bytes, disk: Some(disk) };
        Ok((Self::with(state, budget), recovery))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `body`, which carries `items` items; handed to the operating
    /// system (on disk) when this returns. Returns what was dropped to
    /// make room, or the request itself when it could not be written.
    pub(crate) fn push(&self, body: &[u8], items: u64) -> Dropped {
        let mut dropped = Dropped::default();
        let len = (body.len() + HEADER + 8) as u64;
        if len > self.budget {
            dropped.budget += items; // it could never fit
            return dropped;
        }
        let mut state = self.lock();
        let State { entries, next_seq, bytes, items: held, disk } = &mut *state;
        while *bytes + len > self.budget {
            let Some(oldest) = entries.pop_front() else { break };
            *bytes -= oldest.len;
            *held -= oldest.items;
            dropped.budget += oldest.items;
        }
        if let (Some(d), true) = (disk.as_mut(), dropped.budget > 0) {
            // The cursor moves past what was dropped, so a restart does not bring it back.
            let next = entries.front().map_or((d.active.0, d.active.2), |e| (e.segment, e.offset));
            if let Err(e) = d.advance(next) {
                log::warn!(target: "sonde::hub", "forward queue {}: cannot move the cursor: {e}", d.dir.display());
            }
        }
        let time_ms = now_ms();
        let (segment, offset) = match disk {
            None => (0, 0),
            Some(d) => match d.append(body, items, time_ms) {
                Ok(at) => at,
                Err(e) => {
                    log::warn!(target: "sonde::hub", "forward queue {}: cannot write: {e}", d.dir.display());
                    dropped.io += items;
                    return dropped;
                }
            },
        };
        let body = disk.is_none().then(|| body.to_vec());
        entries.push_back(Entry { seq: *next_seq, segment, offset, len, items, time_ms, body });
        *next_seq += 1;
        *bytes += len;
        *held += items;
        drop(state);
        self.changed.notify_all();
        dropped
    }

    /// The oldest request, left in the queue until [`Spool::ack`]; waits up
    /// to `wait` for one. A request that cannot be read back is dropped
    /// (counted in the second value) and the next one tried.
    pub(crate) fn next(&self, wait: Duration) -> (Option<Pending>, u64) {
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        let mut unreadable = 0;
        loop {
            let State { entries, bytes, items, disk, .. } = &mut *state;
            if let Some(head) = entries.front() {
                let read = match (&head.body, disk) {
                    (Some(body), _) => Ok(body.clone()),
                    (None, Some(d)) => d.read(head),
                    (None, None) => Err(io::Error::other("a request without a body")),
                };
                match read {
                    Ok(body) => return (Some(Pending { seq: head.seq, body, items: head.items }), unreadable),
                    Err(e) => {
                        log::warn!(target: "sonde::hub", "forward queue: a request cannot be read back: {e}");
                        let gone = entries.pop_front().expect("a head");
                        *bytes -= gone.len;
                        *items -= gone.items;
                        unreadable += gone.items;
                        continue;
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (None, unreadable);
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Request `seq` was delivered (or refused for good): removes it, if
    /// it is still the oldest; false when the budget dropped it meanwhile
    /// (it was counted then).
    pub(crate) fn ack(&self, seq: u64) -> bool {
        let mut state = self.lock();
        let State { entries, bytes, items, disk, .. } = &mut *state;
        if entries.front().is_none_or(|e| e.seq != seq) {
            return false;
        }
        let Some(done) = entries.pop_front() else { return false };
        *bytes -= done.len;
        *items -= done.items;
        if let Some(d) = disk {
            let next = entries.front().map_or((done.segment, done.offset + done.len), |e| (e.segment, e.offset));
            if let Err(e) = d.advance(next) {
                log::warn!(target: "sonde::hub", "forward queue {}: cannot move the cursor: {e}", d.dir.display());
            }
        }
        drop(state);
        self.changed.notify_all();
        true
    }

    /// Items and bytes waiting, and when the oldest was queued (ms).
    pub(crate) fn depth(&self) -> (u64, u64, Option<u64>) {
        let state = self.lock();
        (state.items, state.bytes, state.entries.front().map(|e| e.time_ms))
    }

    /// Flushes the active segment to stable storage.
    pub(crate) fn sync(&self) {
        if let Some(d) = &mut self.lock().disk {
            let _ = d.sync();
        }
    }

    /// Flushes when `fsync = "interval"` and the interval has passed since
    /// the last flush, with something appended since (the sending thread
    /// calls it as it wakes, so the last requests do not wait for the next
    /// append).
    pub(crate) fn sync_if_due(&self) {
        if let Some(d) = &mut self.lock().disk {
            if let Err(e) = d.sync_if_due() {
                log::warn!(target: "sonde::hub", "forward queue {}: cannot sync: {e}", d.dir.display());
            }
        }
    }

    /// Empties a memory queue, returning the items it held (a disk queue
    /// keeps them for the next start and returns 0).
    pub(crate) fn abandon(&self) -> u64 {
        let mut state = self.lock();
        if state.disk.is_some() {
            return 0;
        }
        state.entries.clear();
        state.bytes = 0;
        std::mem::take(&mut state.items)
    }
}

impl Disk {
    /// Appends one record; returns its segment and offset.
    fn append(&mut self, body: &[u8], items: u64, time_ms: u64) -> io::Result<(u64, u64)> {
        if self.active.2 >= self.segment_bytes {
            self.rotate()?;
        }
        let mut record = Vec::with_capacity(body.len() + HEADER + 8);
        framed(&mut record, |out| {
            out.extend_from_slice(&time_ms.to_le_bytes());
            out.extend_from_slice(&items.to_le_bytes());
            out.extend_from_slice(body);
        });
        let (n, file, len) = &mut self.active;
        file.append(&record)?;
        let at = (*n, *len);
        *len += record.len() as u64;
        self.dirty = true;
        match self.fsync {
            Fsync::Always => self.sync()?,
            Fsync::Interval(_) => self.sync_if_due()?,
            Fsync::Never => {}
        }
        Ok(at)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.active.1.sync()?;
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn sync_if_due(&mut self) -> io::Result<()> {
        match self.fsync {
            Fsync::Interval(every) if self.dirty && self.last_sync.elapsed() >= every => self.sync(),
            _ => Ok(()),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        let n = self.active.0 + 1;
        self.sync()?;
        let (file, _) = FramedFile::open(&segment_path(&self.dir, n), &self.damaged)?;
        self.active = (n, file, 0);
        self.segments.push_back(n);
        Ok(())
    }

    fn read(&mut self, entry: &Entry) -> io::Result<Vec<u8>> {
        if self.reader.as_ref().is_none_or(|(n, _)| *n != entry.segment) {
            self.reader = Some((entry.segment, File::open(segment_path(&self.dir, entry.segment))?));
        }
        let (_, file) = self.reader.as_ref().expect("opened above");
        let mut record = vec![0u8; entry.len as usize];
        file.read_exact_at(&mut record, entry.offset)?;
        if frame::payload(&record).is_none_or(|p| p.len() < HEADER) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "checksum mismatch"));
        }
        record.drain(..8 + HEADER); // the frame's length and checksum, then the header
        Ok(record)
    }

    /// Moves the cursor to `to` (the segment and offset of the first
    /// request not delivered, or where the next will be written); deletes
    /// the segments before it, nothing being left in them.
    fn advance(&mut self, to: (u64, u64)) -> io::Result<()> {
        while self.segments.len() > 1 && self.segments[0] < to.0 {
            let old = self.segments.pop_front().expect("checked");
            if self.reader.as_ref().is_some_and(|(n, _)| *n == old) {
                self.reader = None;
            }
            fs::remove_file(segment_path(&self.dir, old))?;
        }
        write_cursor(&self.cursor, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, budget: u64) -> (Spool, SpoolRecovery) {
        Spool::open(&dir.join("q"), &dir.join("damaged"), budget, Fsync::Never).unwrap()
    }

    fn drain(spool: &Spool) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        while let (Some(p), _) = spool.next(Duration::ZERO) {
            out.push((p.body, p.items));
            spool.ack(p.seq);
        }
        out
    }

    #[test]
    fn in_order_across_a_restart_and_nothing_delivered_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, r) = open(dir.path(), 1 << 20);
        assert_eq!(r, SpoolRecovery::default());
        for i in 0..10u64 {
            spool.push(format!("request {i}").as_bytes(), i);
        }
        for _ in 0..4 {
            let p = spool.next(Duration::ZERO).0.unwrap();
            spool.ack(p.seq);
        }
        assert_eq!(spool.depth().0, (4..10).sum::<u64>());
        drop(spool);
        let (spool, r) = open(dir.path(), 1 << 20);
        assert_eq!((r.requests, r.items, r.lost_bytes), (6, (4..10).sum(), 0));
        let got = drain(&spool);
        let want: Vec<_> = (4..10u64).map(|i| (format!("request {i}").into_bytes(), i)).collect();
        assert_eq!(got, want);
        drop(spool);
        assert_eq!(open(dir.path(), 1 << 20).1.requests, 0, "delivered requests stay delivered");
    }

    #[test]
    fn the_oldest_go_first_when_the_budget_is_reached() {
        for disk in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let record = (100 + HEADER + 8) as u64;
            let spool = if disk { open(dir.path(), record * 5).0 } else { Spool::in_memory(record * 5) };
            let mut dropped = 0;
            for i in 0..8u8 {
                dropped += spool.push(&[i; 100], 1).budget;
            }
            assert_eq!(dropped, 3, "disk: {disk}");
            let got: Vec<u8> = drain(&spool).iter().map(|(b, _)| b[0]).collect();
            assert_eq!(got, [3, 4, 5, 6, 7], "disk: {disk}");
            assert_eq!(spool.push(&[0; 1000], 7).budget, 7, "a request larger than the budget is dropped");
            // A request dropped for the budget while it was being sent: its
            // acknowledgement must not remove the request now oldest.
            spool.push(&[1; 100], 1);
            let sending = spool.next(Duration::ZERO).0.unwrap();
            for i in 2..7u8 {
                spool.push(&[i; 100], 1);
            }
            assert!(!spool.ack(sending.seq), "the request sent was dropped meanwhile");
            let got: Vec<u8> = drain(&spool).iter().map(|(b, _)| b[0]).collect();
            assert_eq!(got, [2, 3, 4, 5, 6], "disk: {disk}");
        }
    }

    #[test]
    fn segments_rotate_and_go_once_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = open(dir.path(), 1 << 30);
        let body = vec![7u8; 1 << 20];
        for _ in 0..20 {
            spool.push(&body, 1);
        }
        let files = |d: &Path| {
            fs::read_dir(d.join("q"))
                .unwrap()
                .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "spool")))
                .count()
        };
        assert!(files(dir.path()) >= 3, "{} segments", files(dir.path()));
        assert_eq!(drain(&spool).len(), 20);
        assert_eq!(files(dir.path()), 1, "only the active segment is left");
    }

    #[test]
    fn a_damaged_tail_or_cursor_loses_only_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = open(dir.path(), 1 << 20);
        for i in 0..5u8 {
            spool.push(&[i; 50], 1);
        }
        let p = spool.next(Duration::ZERO).0.unwrap();
        spool.ack(p.seq);
        drop(spool);
        let segment = segment_path(&dir.path().join("q"), 1);
        let len = fs::metadata(&segment).unwrap().len();
        let file = OpenOptions::new().write(true).open(&segment).unwrap();
        file.set_len(len - 10).unwrap(); // the last record cut short
        let (spool, r) = open(dir.path(), 1 << 20);
        assert_eq!((r.requests, r.lost_bytes), (3, (50 + HEADER + 8 - 10) as u64));
        assert_eq!(drain(&spool).iter().map(|(b, _)| b[0]).collect::<Vec<_>>(), [1, 2, 3]);
        spool.push(&[9; 50], 1);
        drop(spool);
        fs::write(dir.path().join("q/cursor"), b"garbage").unwrap();
        let (spool, r) = open(dir.path(), 1 << 20);
        assert_eq!(r.requests, 5, "a damaged cursor sends again from the oldest segment");
        assert_eq!(drain(&spool).last().unwrap().0, vec![9; 50]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// A segment or the cursor cut or overwritten anywhere: the queue
        /// opens, and what it gives back are requests that were queued, in
        /// the order they were queued.
        #[test]
        fn damage_anywhere_opens_and_gives_back_only_what_was_queued(
            cursor in proptest::bool::ANY,
            at in 0.0..1.0f64,
            junk in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (spool, _) = open(dir.path(), 1 << 20);
            for i in 0..30u8 {
                spool.push(&[i; 40], u64::from(i));
            }
            for _ in 0..5 {
                let p = spool.next(Duration::ZERO).0.unwrap();
                spool.ack(p.seq);
            }
            drop(spool);
            let path = if cursor { dir.path().join("q/cursor") } else { segment_path(&dir.path().join("q"), 1) };
            let mut bytes = fs::read(&path).unwrap();
            let cut = (bytes.len() as f64 * at) as usize;
            if junk.is_empty() {
                bytes.truncate(cut);
            } else {
                for (i, b) in junk.iter().enumerate() {
                    if let Some(old) = bytes.get_mut(cut + i) {
                        *old = if *old == *b { !*b } else { *b };
                    }
                }
            }
            fs::write(&path, &bytes).unwrap();
            let (spool, _) = open(dir.path(), 1 << 20);
            let got: Vec<(Vec<u8>, u64)> = drain(&spool);
            let mut last = None;
            for (body, items) in &got {
                proptest::prop_assert_eq!(body, &vec![body[0]; 40], "a request that was never queued");
                proptest::prop_assert_eq!(u64::from(body[0]), *items);
                proptest::prop_assert!(last.is_none_or(|l| body[0] > l), "out of order: {:?}", got.iter().map(|g| g.0[0]).collect::<Vec<_>>());
                last = Some(body[0]);
            }
            if !cursor {
                // The cursor is intact: nothing delivered comes back.
                proptest::prop_assert!(got.first().is_none_or(|g| g.0[0] >= 5));
            }
        }
    }

    #[test]
    fn next_waits_for_a_push() {
        let spool = std::sync::Arc::new(Spool::in_memory(1 << 20));
        let pusher = spool.clone();
        let t = std::thread::spawn(move || pusher.push(b"late", 1));
        let (got, _) = spool.next(Duration::from_secs(10));
        assert_eq!(got.unwrap().body, b"late");
        t.join().unwrap();
    }
}
