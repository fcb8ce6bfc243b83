//! The sample store: every series the hub holds, sampled on a fixed grid
//! into Gorilla chunks.
//!
//! Each series has a head chunk in memory. Every tick is appended to the
//! write-ahead log (`wal.log`) before the tick returns, so a killed hub
//! loses at most the tick it was sampling. Every `cut_every` ticks all head
//! chunks are sealed into one block appended to the current segment file
//! (`blocks/NNNNNNNN.seg`), the segment is synced, and the log is emptied.
//! Series names live in `series.log`. On open, segments are checked
//! (damaged blocks and chunks are dropped and counted, the file kept aside
//! in `damaged/` and rewritten), then the log is replayed into the heads.
//!
//! Without a directory the same blocks are kept in memory.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Buf;
use prost::encoding::{decode_varint, encode_varint};
use sonde_dashboard::Points;

use super::block::{self, BlockBytes, BlockMeta, Sealed, Segment};
use super::frame::{self, FramedFile};
use super::gorilla::{self, ChunkWriter};
use super::{set_aside, Fsync, Recovery};

/// Prometheus' staleness marker: a NaN with this bit pattern.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

const TAG_SAME: u8 = 0;
const TAG_VALUE: u8 = 1;
const TAG_STALE: u8 = 2;

/// How the sample store keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOptions {
    /// Sampling interval (sample times are on this grid).
    pub interval: Duration,
    /// Data older than this is deleted.
    pub retention: Duration,
    /// Bytes the sealed blocks may take (on disk, or in memory without a
    /// directory); the oldest go first.
    pub max_bytes: u64,
    /// Ticks per sealed block.
    pub cut_every: u32,
    /// When files are flushed to stable storage.
    pub fsync: Fsync,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 2 << 30,
            cut_every: 120,
            fsync: Fsync::Interval(Duration::from_secs(1)),
        }
    }
}

struct SeriesState {
    head: ChunkWriter,
    /// The last value written to the log since it was last emptied (a
    /// repeat is logged as "same").
    logged: Option<u64>,
    /// Present at the sampler's last tick (a series the sampler stops
    /// seeing gets a staleness marker).
    live: bool,
    /// Written by [`SampleStore::append_written`] (rule outputs): the
    /// writer marks it stale itself, the sampler never does.
    written: bool,
    seen_tick: u64,
}

/// A segment with its length and newest sample time.
struct Held {
    segment: Arc<Segment>,
    len: u64,
    newest: i64,
}

struct Files {
    dir: PathBuf,
    wal: FramedFile,
    series: FramedFile,
}

struct Inner {
    index: HashMap<Arc<str>, u32>,
    /// Each series' id, by its number (the order series were first seen).
    ids: Vec<Arc<str>>,
    series: Vec<SeriesState>,
    /// Sealed blocks, oldest first.
    blocks: VecDeque<(Arc<Segment>, BlockMeta)>,
    /// Segments, oldest first.
    segments: VecDeque<Held>,
    /// Whether new blocks may go to the last segment (not after a restart
    /// or a failed write: those start a new one).
    appending: bool,
    files: Option<Files>,
    ticks: u64,
    since_cut: u32,
    /// Bytes appended to the log since it was last emptied.
    logged_bytes: u64,
    next_seq: u64,
    /// Samples older than this were sealed (log replay skips them).
    sealed_until: i64,
    /// The newest sample time held.
    newest: i64,
}

#[derive(Default)]
struct Stats {
    appended: AtomicU64,
    out_of_order: AtomicU64,
    write_errors: AtomicU64,
    damaged_reads: AtomicU64,
    deleted_blocks: AtomicU64,
}

/// The sample store. Cheap to clone.
#[derive(Clone)]
pub struct SampleStore(Arc<Shared>);

struct Shared {
    inner: Mutex<Inner>,
    options: SampleOptions,
    stats: Stats,
    recovery: Recovery,
}

/// Decodes a chunk's samples with `start <= t <= end` onto `out`.
/// Appends the samples of a chunk in `start..=end` to `out`, gathered in
/// `scratch` first so that `out` grows once, by what it gets.
fn decode_into(
    bytes: &[u8],
    count: u32,
    start: i64,
    end: i64,
    scratch: &mut Vec<(i64, f64)>,
    out: &mut Vec<(i64, f64)>,
) {
    scratch.clear();
    gorilla::decode(bytes, count, &mut |t: i64, v: f64| {
        if t >= start && t <= end {
            scratch.push((t, v));
        }
    });
    out.reserve_exact(scratch.len());
    out.extend_from_slice(scratch);
}

fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 16).clamp(64 << 10, 128 << 20)
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join("blocks").join(format!("{seq:08}.seg"))
}

impl SampleStore {
    /// A store kept in memory only.
    pub fn in_memory(options: SampleOptions) -> Self {
        Self::with(Inner::empty(), options, Recovery::default())
    }

    /// Opens (or creates) the store under `dir`, recovering what a crash
    /// left. Damage is cut away and counted, never fatal.
    ///
    /// # Errors
    ///
    /// An I/O error when the directory cannot be created or its files
    /// cannot be opened for writing at all.
    pub fn open(dir: &Path, options: SampleOptions) -> io::Result<Self> {
        let started = std::time::Instant::now();
        let damaged = dir.join("damaged");
        fs::create_dir_all(dir.join("blocks"))?;
        let mut recovery = Recovery::default();
        let (series_log, scanned) = FramedFile::open(&dir.join("series.log"), &damaged)?;
        recovery.lost_bytes += scanned.damaged_bytes;
        recovery.files_set_aside += u64::from(scanned.damaged_bytes > 0);
        let mut inner = Inner::empty();
        for record in &scanned.records {
            if let Some(id) = decode_series(record) {
                inner.add_series(id.into());
            }
        }
        // Segments, oldest first.
        let mut seqs: Vec<u64> = fs::read_dir(dir.join("blocks"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        seqs.sort_unstable();
        for seq in seqs {
            let path = segment_path(dir, seq);
            let bytes = fs::read(&path)?;
            let parsed = block::parse(&bytes);
            recovery.lost_bytes += parsed.lost_bytes;
            recovery.lost_samples += parsed.lost_samples;
            if let Some(clean) = &parsed.rewritten {
                set_aside(&path, &damaged)?;
                recovery.files_set_aside += 1;
                let tmp = path.with_extension("tmp");
                fs::write(&tmp, clean)?;
                File::open(&tmp)?.sync_all()?;
                fs::rename(&tmp, &path)?;
            }
            let len = parsed.rewritten.as_ref().map_or(bytes.len(), Vec::len) as u64;
            if parsed.blocks.is_empty() {
                fs::remove_file(&path)?;
                continue;
            }
            let segment = Arc::new(Segment::read_file(seq, path)?);
            let newest = parsed.blocks.iter().map(|b| b.max_t).max().unwrap_or(i64::MIN);
            for b in parsed.blocks {
                inner.blocks.push_back((segment.clone(), b));
            }
            inner.sealed_until = inner.sealed_until.max(newest);
            inner.segments.push_back(Held { segment, len, newest });
            inner.next_seq = seq + 1;
        }
        inner.newest = inner.sealed_until;
        // The log: ticks since the last cut.
        let (wal, scanned) = FramedFile::open(&dir.join("wal.log"), &damaged)?;
        recovery.lost_bytes += scanned.damaged_bytes;
        recovery.files_set_aside += u64::from(scanned.damaged_bytes > 0);
        for record in &scanned.records {
            let (replayed, lost) = inner.replay(record);
            recovery.replayed_samples += replayed;
            recovery.lost_samples += lost;
        }
        inner.logged_bytes = scanned.good_len;
        inner.files = Some(Files { dir: dir.to_owned(), wal, series: series_log });
        recovery.took = started.elapsed();
        Ok(Self::with(inner, options, recovery))
    }

    fn with(inner: Inner, options: SampleOptions, recovery: Recovery) -> Self {
        Self(Arc::new(Shared { inner: Mutex::new(inner), options, stats: Stats::default(), recovery }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What opening found and repaired.
    pub fn recovery(&self) -> &Recovery {
        &self.0.recovery
    }

    /// The options it runs with.
    pub fn options(&self) -> &SampleOptions {
        &self.0.options
    }

    /// Appends one tick at `t_ms`: `(family, id, value)` for every series
    /// present; series present at the last tick and absent now get a
    /// staleness marker. Logged before it returns.
    pub fn append<'a>(&self, t_ms: i64, samples: impl IntoIterator<Item = (&'a str, &'a str, f64)>) {
        self.append_tick(t_ms, samples, false);
    }

    /// Appends samples at `t_ms` for the series named (a rule's outputs)
    /// and nothing else: no other series is marked stale (the writer
    /// writes [`STALE_NAN`] itself for what it no longer gives), and no
    /// block is cut. The sampler never marks these series stale. Call it
    /// before the sampler's tick at the same time.
    pub fn append_written<'a>(&self, t_ms: i64, samples: impl IntoIterator<Item = (&'a str, &'a str, f64)>) {
        self.append_tick(t_ms, samples, true);
    }

    fn append_tick<'a>(&self, t_ms: i64, samples: impl IntoIterator<Item = (&'a str, &'a str, f64)>, written: bool) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner.ticks += 1;
        let tick = inner.ticks;
        let mut new_series = Vec::new();
        let mut entries: Vec<(u32, u8, u64)> = Vec::new();
        let mut out_of_order = 0;
        for (family, id, value) in samples {
            let r = match inner.index.get(id) {
                Some(&r) => r,
                None => {
                    frame::framed(&mut new_series, |out| encode_series(family, id, out));
                    inner.add_series(id.into())
                }
            };
            let s = &mut inner.series[r as usize];
            if s.seen_tick == tick || (!s.head.is_empty() && t_ms <= s.head.last_time()) || t_ms <= inner.sealed_until {
                out_of_order += 1;
                continue;
            }
            s.seen_tick = tick;
            s.written = written;
            s.live = !written;
            let bits = value.to_bits();
            s.head.push(t_ms, value);
            let tag = if s.logged == Some(bits) { TAG_SAME } else { TAG_VALUE };
            s.logged = Some(bits);
            entries.push((r, tag, bits));
        }
        // Only the sampler's ticks mark what they no longer see.
        for (r, s) in inner.series.iter_mut().enumerate().filter(|_| !written) {
            if s.live && s.seen_tick != tick && (s.head.is_empty() || t_ms > s.head.last_time()) {
                s.live = false;
                s.head.push(t_ms, f64::from_bits(STALE_NAN));
                s.logged = None;
                entries.push((r as u32, TAG_STALE, STALE_NAN));
            }
        }
        inner.newest = inner.newest.max(t_ms);
        self.0.stats.appended.fetch_add(entries.len() as u64, Relaxed);
        self.0.stats.out_of_order.fetch_add(out_of_order, Relaxed);
        if let Some(files) = &mut inner.files {
            let mut tick_record = Vec::with_capacity(24 + entries.len() * 3);
            frame::framed(&mut tick_record, |out| encode_tick(t_ms, &mut entries, out));
            inner.logged_bytes += tick_record.len() as u64;
            let appended = files.series.append(&new_series).and_then(|()| files.wal.append(&tick_record));
            let synced = appended.and_then(|()| match self.0.options.fsync {
                Fsync::Always => files.series.sync().and_then(|()| files.wal.sync()),
                _ => Ok(()),
            });
            if synced.is_err() {
                self.0.stats.write_errors.fetch_add(1, Relaxed);
            }
        }
        if written {
            return; // blocks are cut on the sampler's ticks only
        }
        inner.since_cut += 1;
        // Every `cut_every` ticks, or sooner once the log holds a
        // sixteenth of the budget (many series changing every tick).
        if inner.since_cut >= self.0.options.cut_every.max(1) || inner.logged_bytes >= self.0.options.max_bytes / 16 {
            self.cut(inner, t_ms);
        }
    }

    /// Seals every head chunk now (also done every `cut_every` ticks).
    pub fn seal(&self, now_ms: i64) {
        let mut inner = self.lock();
        self.cut(&mut inner, now_ms);
    }

    /// Seals the heads into a block. The heads and the log are emptied only
    /// once the block is written: a failed write keeps both, and the next
    /// cut writes them again.
    fn cut(&self, inner: &mut Inner, now_ms: i64) {
        inner.since_cut = 0;
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        let mut chunks = Vec::new();
        for (r, s) in inner.series.iter().enumerate().filter(|(_, s)| !s.head.is_empty()) {
            min_t = min_t.min(s.head.first_time());
            max_t = max_t.max(s.head.last_time());
            chunks.push(Sealed { series: r as u32, samples: s.head.len(), bytes: s.head.bytes() });
        }
        if !chunks.is_empty() {
            let bytes = block::encode(chunks, min_t, max_t);
            if self.write_block(inner, &bytes, min_t, max_t).is_err() {
                self.0.stats.write_errors.fetch_add(1, Relaxed);
                return;
            }
            inner.sealed_until = inner.sealed_until.max(max_t);
        }
        for s in &mut inner.series {
            s.head = ChunkWriter::default();
            s.logged = None;
        }
        inner.logged_bytes = 0;
        if let Some(files) = &mut inner.files {
            if files.wal.clear().is_err() {
                self.0.stats.write_errors.fetch_add(1, Relaxed);
            }
        }
        self.retain(inner, now_ms);
    }

    /// Appends an encoded block to the last segment, or to a new one when
    /// that would pass the segment size (or the last is not being appended
    /// to); synced unless the policy is `never`.
    fn write_block(&self, inner: &mut Inner, bytes: &[u8], min_t: i64, max_t: i64) -> io::Result<()> {
        let roll = segment_bytes(self.0.options.max_bytes);
        let fits = inner.segments.back().is_some_and(|h| h.len + bytes.len() as u64 <= roll);
        if !(inner.appending && fits) {
            let seq = inner.next_seq;
            let segment = match &inner.files {
                None => Segment::memory(seq),
                Some(files) => Segment::create_file(seq, segment_path(&files.dir, seq))?,
            };
            inner.segments.push_back(Held { segment: Arc::new(segment), len: 0, newest: max_t });
            inner.next_seq += 1;
            inner.appending = true;
        }
        let last = inner.segments.back_mut().expect("a segment was pushed above");
        if let Err(e) = last.segment.append(bytes, self.0.options.fsync != Fsync::Never) {
            inner.appending = false; // whatever part was written is cut away at the next open
            return Err(e);
        }
        let meta =
            BlockMeta { offset: last.len, entries: block::entries(bytes), min_t, max_t, len: bytes.len() as u64 };
        last.len += bytes.len() as u64;
        last.newest = last.newest.max(max_t);
        inner.blocks.push_back((last.segment.clone(), meta));
        Ok(())
    }

    /// Deletes what is past the retention time or over the byte budget,
    /// oldest segment first.
    fn retain(&self, inner: &mut Inner, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.0.options.retention.as_millis() as i64);
        let mut total: u64 = inner.segments.iter().map(|h| h.len).sum();
        while let Some(oldest) = inner.segments.front() {
            if total <= self.0.options.max_bytes && oldest.newest >= cutoff {
                break;
            }
            total -= oldest.len;
            let seq = oldest.segment.seq;
            oldest.segment.remove();
            inner.segments.pop_front();
            inner.appending &= !inner.segments.is_empty();
            let before = inner.blocks.len();
            inner.blocks.retain(|(s, _)| s.seq != seq);
            self.0.stats.deleted_blocks.fetch_add((before - inner.blocks.len()) as u64, Relaxed);
        }
        // Samples past the cutoff inside a segment still in use are skipped by reads.
    }

    /// The ids of the series of `family` the store holds (a counter's
    /// `_total`, a histogram's `_bucket`, `_sum` and `_count` included),
    /// sorted, at most `limit`.
    pub fn ids_of(&self, family: &str, limit: usize) -> Vec<String> {
        const SUFFIXES: [&str; 5] = ["_total", "_sum", "_count", "_bucket", "_created"];
        let belongs = |id: &str| {
            let Some(rest) = id.strip_prefix(family) else { return false };
            let rest = SUFFIXES.iter().find_map(|s| rest.strip_prefix(s)).unwrap_or(rest);
            rest.is_empty() || rest.starts_with('{')
        };
        let inner = self.lock();
        let mut ids: Vec<String> = inner.index.keys().filter(|id| belongs(id)).map(|id| id.to_string()).collect();
        drop(inner);
        ids.sort_unstable();
        ids.truncate(limit);
        ids
    }

    /// The ids of the series first seen after the first `from` (in the
    /// order they were first seen), and how many series there are: a
    /// reader keeping its own index asks for what is new since it last
    /// looked.
    pub fn ids_since(&self, from: usize) -> (Vec<Arc<str>>, usize) {
        let inner = self.lock();
        (inner.ids.get(from..).map(<[_]>::to_vec).unwrap_or_default(), inner.ids.len())
    }

    /// Every sample of `id` with `start_ms <= t <= end_ms` and within the
    /// retention, oldest first (staleness markers included, as
    /// [`STALE_NAN`]).
    pub fn range(&self, id: &str, start_ms: i64, end_ms: i64) -> Vec<(i64, f64)> {
        self.ranges(&[id], start_ms, end_ms).pop().unwrap_or_default()
    }

    /// [`SampleStore::range`] of each of `ids` (an unknown id has none):
    /// each block is read once, whole when many of its chunks are wanted.
    pub fn ranges(&self, ids: &[&str], start_ms: i64, end_ms: i64) -> Vec<Vec<(i64, f64)>> {
        self.read(ids.len(), start_ms, end_ms, |inner| {
            ids.iter().enumerate().filter_map(|(i, id)| inner.index.get(*id).map(|&r| (i, r))).collect()
        })
    }

    /// [`SampleStore::ranges`] of series by their numbers: the positions
    /// of their ids in what [`SampleStore::ids_since`] gives (a reader
    /// keeping its own index need not look ids up again).
    pub fn ranges_by_number(&self, numbers: &[u32], start_ms: i64, end_ms: i64) -> Vec<Vec<(i64, f64)>> {
        self.read(numbers.len(), start_ms, end_ms, |inner| {
            numbers
                .iter()
                .enumerate()
                .filter(|(_, &r)| (r as usize) < inner.series.len())
                .map(|(i, &r)| (i, r))
                .collect()
        })
    }

    /// Reads `n` outputs: `wanted` gives (output, series number) pairs.
    fn read(
        &self,
        n: usize,
        start_ms: i64,
        end_ms: i64,
        wanted: impl FnOnce(&Inner) -> Vec<(usize, u32)>,
    ) -> Vec<Vec<(i64, f64)>> {
        let (wanted, start, blocks, heads) = {
            let inner = self.lock();
            let wanted = wanted(&inner);
            let cutoff = inner.newest.saturating_sub(self.0.options.retention.as_millis() as i64);
            let start = start_ms.max(cutoff);
            let blocks: Vec<(Arc<Segment>, BlockMeta)> =
                inner.blocks.iter().filter(|(_, b)| b.max_t >= start && b.min_t <= end_ms).cloned().collect();
            let heads: Vec<(Vec<u8>, u32)> = wanted
                .iter()
                .map(|&(_, r)| {
                    let head = &inner.series[r as usize].head;
                    match head.len() {
                        0 => (Vec::new(), 0),
                        n => (head.bytes().to_vec(), n),
                    }
                })
                .collect();
            (wanted, start, blocks, heads)
        };
        // Each block read once (whole when at least one chunk in 32 is wanted).
        let blocks: Vec<(BlockMeta, BlockBytes<'_>)> = blocks
            .iter()
            .filter_map(|(segment, meta)| {
                let bytes = if wanted.len() as u64 * 32 >= u64::from(meta.entries) {
                    match segment.whole(meta) {
                        Ok(b) => b,
                        Err(_) => {
                            self.0.stats.damaged_reads.fetch_add(1, Relaxed);
                            return None;
                        }
                    }
                } else {
                    BlockBytes::Piecewise(segment, meta.offset)
                };
                Some((*meta, bytes))
            })
            .collect();
        let mut out = vec![Vec::new(); n];
        // Many series are decoded on every core, each thread its share.
        let threads =
            if wanted.len() >= 8192 { std::thread::available_parallelism().map_or(1, |n| n.get()).min(4) } else { 1 };
        let share = wanted.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            let mut rest: &mut [Vec<(i64, f64)>] = &mut out;
            let mut taken = 0;
            for (part, heads) in wanted.chunks(share).zip(heads.chunks(share)) {
                // This part's outputs: from its first series' index on.
                let end = part.last().map_or(taken, |&(i, _)| i + 1);
                let (mine, later) = std::mem::take(&mut rest).split_at_mut(end - taken);
                let first = taken;
                (rest, taken) = (later, end);
                let blocks = &blocks;
                let mut work = move || self.decode_part(blocks, part, heads, start, end_ms, mine, first);
                if threads > 1 {
                    scope.spawn(work);
                } else {
                    work();
                }
            }
        });
        out
    }

    /// Decodes the series of `part` (output index, series) from `blocks`
    /// then their heads into `out`, which starts at output index `first`.
    #[allow(clippy::too_many_arguments)]
    fn decode_part(
        &self,
        blocks: &[(BlockMeta, BlockBytes<'_>)],
        part: &[(usize, u32)],
        heads: &[(Vec<u8>, u32)],
        start: i64,
        end_ms: i64,
        out: &mut [Vec<(i64, f64)>],
        first: usize,
    ) {
        let mut scratch = Vec::new();
        for (meta, bytes) in blocks {
            // Series come in ascending order: each search starts where the
            // last one ended (or from the start when they do not).
            let (mut from, mut last) = (0, 0);
            for &(i, r) in part {
                if r < last {
                    from = 0;
                }
                last = r;
                match bytes.chunk(meta, r, &mut from) {
                    Ok(Some((count, chunk))) => {
                        decode_into(&chunk, count, start, end_ms, &mut scratch, &mut out[i - first]);
                    }
                    Ok(None) => {}
                    Err(_) => {
                        self.0.stats.damaged_reads.fetch_add(1, Relaxed);
                    }
                }
            }
        }
        for (&(i, _), (bytes, count)) in part.iter().zip(heads) {
            if *count > 0 {
                decode_into(bytes, *count, start, end_ms, &mut scratch, &mut out[i - first]);
            }
        }
    }

    /// `id` at every `step` from `start_ms` to `end_ms`: the latest sample
    /// within one step (and at least two sampling intervals) before each
    /// point, `None` where there is none or it is a staleness marker.
    pub fn points(&self, id: &str, start_ms: i64, end_ms: i64, step_ms: i64) -> Points {
        let step = step_ms.max(1);
        let lookback = step.max(2 * self.0.options.interval.as_millis() as i64);
        let samples = self.range(id, start_ms.saturating_sub(lookback), end_ms);
        let mut out = Points::default();
        let mut i = 0;
        let mut t = start_ms;
        let mut last: Option<(i64, f64)> = None;
        while t <= end_ms && out.t.len() < 100_000 {
            while i < samples.len() && samples[i].0 <= t {
                last = Some(samples[i]);
                i += 1;
            }
            let v = last.filter(|(st, v)| *st > t - lookback && v.to_bits() != STALE_NAN).map(|(_, v)| v);
            out.t.push(t.max(0) as u64);
            out.v.push(v);
            t += step;
        }
        out
    }

    /// Bytes held by sealed blocks (disk or memory).
    pub fn bytes(&self) -> u64 {
        self.lock().segments.iter().map(|h| h.len).sum()
    }

    /// Flushes the open files to stable storage (the interval policy calls
    /// this on a timer).
    pub fn sync(&self) {
        let inner = self.lock();
        if let Some(files) = &inner.files {
            let r = files.wal.sync().and_then(|()| files.series.sync());
            let last = inner.segments.back().filter(|_| inner.appending);
            if r.and_then(|()| last.map_or(Ok(()), |h| h.segment.sync())).is_err() {
                self.0.stats.write_errors.fetch_add(1, Relaxed);
            }
        }
    }

    /// Exposes `sonde_store_*` self-metrics for samples.
    ///
    /// # Errors
    ///
    /// The registry's error when a name is already declared as another kind.
    pub fn register_metrics(&self, registry: &sonde::Registry) -> sonde::Result<()> {
        type Field = fn(&Stats) -> &AtomicU64;
        let counts: [(&str, &str, Field); 5] = [
            ("sonde_store_samples_appended_total", "Samples (and staleness markers) appended.", |s| &s.appended),
            ("sonde_store_samples_out_of_order_total", "Samples refused: not newer than the series' last.", |s| {
                &s.out_of_order
            }),
            ("sonde_store_write_errors_total", "Writes or syncs of the sample store that failed.", |s| &s.write_errors),
            ("sonde_store_damaged_reads_total", "Chunks that failed their checksum when read.", |s| &s.damaged_reads),
            ("sonde_store_blocks_deleted_total", "Sealed blocks deleted by retention.", |s| &s.deleted_blocks),
        ];
        for (name, help, field) in counts {
            let shared = self.0.clone();
            registry.counter_fn(name, help, move || field(&shared.stats).load(Relaxed) as f64)?;
        }
        let store = self.clone();
        registry
            .gauge_fn("sonde_store_sample_bytes", "Bytes of sealed sample blocks.", move || store.bytes() as f64)?;
        let budget = self.0.options.max_bytes as f64;
        registry
            .gauge_fn("sonde_store_sample_max_bytes", "The byte budget of sealed sample blocks.", move || budget)?;
        let store = self.clone();
        registry.gauge_fn("sonde_store_series", "Series the sample store knows.", move || {
            store.lock().series.len() as f64
        })?;
        let r = self.0.recovery.clone();
        registry.gauge_fn(
            "sonde_store_recovery_lost_samples",
            "Samples found damaged and dropped when the store was opened.",
            move || r.lost_samples as f64,
        )?;
        let r = self.0.recovery.clone();
        registry.gauge_fn(
            "sonde_store_recovery_lost_bytes",
            "Bytes found damaged and cut away when the store was opened.",
            move || r.lost_bytes as f64,
        )
    }
}

impl Inner {
    fn empty() -> Self {
        Self {
            index: HashMap::new(),
            ids: Vec::new(),
            series: Vec::new(),
            blocks: VecDeque::new(),
            segments: VecDeque::new(),
            appending: false,
            files: None,
            ticks: 0,
            since_cut: 0,
            logged_bytes: 0,
            next_seq: 1,
            sealed_until: i64::MIN,
            newest: i64::MIN,
        }
    }

    fn add_series(&mut self, id: Arc<str>) -> u32 {
        let r = self.series.len() as u32;
        self.index.insert(id.clone(), r);
        self.ids.push(id);
        self.series.push(SeriesState {
            head: ChunkWriter::default(),
            logged: None,
            live: false,
            written: false,
            seen_tick: 0,
        });
        r
    }

    /// Replays one logged tick into the heads; (samples replayed, samples
    /// lost to an unknown series or a damaged record).
    fn replay(&mut self, mut record: &[u8]) -> (u64, u64) {
        let r = &mut record;
        let (Ok(t), Ok(n)) = (r.try_get_i64_le(), decode_varint(r)) else { return (0, 0) };
        let (mut series, mut replayed, mut lost) = (0u64, 0, 0);
        for _ in 0..n {
            let (Ok(delta), Ok(tag)) = (decode_varint(r), r.try_get_u8()) else { return (replayed, lost + 1) };
            series += delta;
            let value = match tag {
                TAG_VALUE => match r.try_get_u64_le() {
                    Ok(v) => Some(v),
                    Err(_) => return (replayed, lost + 1),
                },
                TAG_STALE => Some(STALE_NAN),
                _ => None,
            };
            let Some(s) = self.series.get_mut(series as usize) else {
                lost += 1;
                continue;
            };
            let Some(bits) = value.or(s.logged) else {
                lost += 1;
                continue;
            };
            s.logged = (bits != STALE_NAN).then_some(bits);
            s.live = bits != STALE_NAN;
            if t > self.sealed_until && (s.head.is_empty() || t > s.head.last_time()) {
                s.head.push(t, f64::from_bits(bits));
                self.newest = self.newest.max(t);
                replayed += 1;
            }
        }
        (replayed, lost)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    encode_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn get_str<'a>(r: &mut &'a [u8]) -> Option<&'a str> {
    let n = usize::try_from(decode_varint(r).ok()?).ok()?;
    let (text, rest) = (r.get(..n)?, r.get(n..)?);
    *r = rest;
    std::str::from_utf8(text).ok()
}

/// A series' record in `series.log`: its family (kept for the metadata a
/// query will need), then its id.
fn encode_series(family: &str, id: &str, out: &mut Vec<u8>) {
    put_str(out, family);
    put_str(out, id);
}

/// The id of a series record.
fn decode_series(mut record: &[u8]) -> Option<&str> {
    let r = &mut record;
    get_str(r)?;
    get_str(r)
}

/// A tick's log record: its time, then per series (ascending) the gap from
/// the previous series, a tag, and the value when it changed.
fn encode_tick(t: i64, entries: &mut [(u32, u8, u64)], out: &mut Vec<u8>) {
    entries.sort_unstable_by_key(|e| e.0);
    out.extend_from_slice(&t.to_le_bytes());
    encode_varint(entries.len() as u64, out);
    let mut previous = 0u32;
    for (series, tag, bits) in entries.iter() {
        encode_varint(u64::from(series - previous), out);
        previous = *series;
        out.push(*tag);
        if *tag == TAG_VALUE {
            out.extend_from_slice(&bits.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(cut_every: u32) -> SampleOptions {
        SampleOptions { cut_every, fsync: Fsync::Never, ..SampleOptions::default() }
    }

    fn tick(store: &SampleStore, t: i64, values: &[(&str, f64)]) {
        store.append(t, values.iter().map(|(id, v)| ("f", *id, *v)));
    }

    #[test]
    fn samples_come_back_across_blocks_and_the_head() {
        let dir = tempfile::tempdir().unwrap();
        for store in [SampleStore::in_memory(options(3)), SampleStore::open(dir.path(), options(3)).unwrap()] {
            for i in 0..10 {
                tick(&store, i * 1000, &[("a", i as f64), ("b", 1.0)]);
            }
            let a = store.range("a", 0, 100_000);
            assert_eq!(a.len(), 10);
            assert_eq!(a[9], (9000, 9.0));
            assert_eq!(store.range("a", 2500, 5000), vec![(3000, 3.0), (4000, 4.0), (5000, 5.0)]);
            assert!(store.range("nope", 0, 10).is_empty());
        }
    }

    /// Many series at once are decoded by several threads, each its share:
    /// every series still gets its own samples, unknown ids none.
    #[test]
    fn many_series_read_at_once_get_their_own_samples() {
        let store = SampleStore::in_memory(options(4));
        let ids: Vec<String> = (0..10_000).map(|i| format!("s{i}")).collect();
        for t in 0..10 {
            store.append(
                t * 1000,
                ids.iter().enumerate().map(|(i, id)| ("f", id.as_str(), (i * 100 + t as usize) as f64)),
            );
        }
        let mut asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        asked.insert(5000, "unknown");
        let got = store.ranges(&asked, 2000, 100_000);
        assert_eq!(got.len(), asked.len());
        assert!(got[5000].is_empty());
        for (i, samples) in got.iter().enumerate().filter(|(i, _)| *i != 5000) {
            let series = if i < 5000 { i } else { i - 1 };
            let want: Vec<(i64, f64)> = (2..10).map(|t| (t * 1000, (series * 100 + t as usize) as f64)).collect();
            assert_eq!(samples, &want, "series {series}");
        }
    }

    #[test]
    fn a_vanished_series_gets_one_staleness_marker() {
        let store = SampleStore::in_memory(options(100));
        tick(&store, 1000, &[("a", 1.0), ("b", 2.0)]);
        tick(&store, 2000, &[("a", 1.0)]);
        tick(&store, 3000, &[("a", 1.0)]);
        tick(&store, 4000, &[("a", 1.0), ("b", 5.0)]);
        let b: Vec<(i64, u64)> = store.range("b", 0, 9999).into_iter().map(|(t, v)| (t, v.to_bits())).collect();
        assert_eq!(b, vec![(1000, 2f64.to_bits()), (2000, STALE_NAN), (4000, 5f64.to_bits())]);
        let p = store.points("b", 1000, 4000, 1000);
        assert_eq!(p.v, vec![Some(2.0), None, None, Some(5.0)]);
    }

    #[test]
    fn a_reopened_store_has_every_tick_and_refuses_the_past() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SampleStore::open(dir.path(), options(4)).unwrap();
            for i in 1..=10 {
                tick(&store, i * 1000, &[("a", i as f64), ("b", 7.0)]);
            }
            // dropped without a seal: ticks 9 and 10 are only in the log
        }
        let store = SampleStore::open(dir.path(), options(4)).unwrap();
        assert_eq!(store.recovery().replayed_samples, 4, "two ticks of two series");
        assert_eq!(store.range("a", 0, 99_999).len(), 10);
        assert_eq!(store.range("b", 0, 99_999).iter().filter(|(_, v)| *v == 7.0).count(), 10);
        tick(&store, 5000, &[("a", 0.0)]); // older than what is sealed
        assert_eq!(store.range("a", 0, 99_999).len(), 10);
        tick(&store, 11_000, &[("a", 11.0), ("b", 7.0)]);
        assert_eq!(store.range("a", 0, 99_999).last(), Some(&(11_000, 11.0)));
    }

    #[test]
    fn a_family_s_ids_are_listed_with_their_suffixes_and_no_other() {
        let store = SampleStore::in_memory(options(4));
        let ids = [
            "req_total{a=\"1\"}",
            "req_created",
            "lat_seconds_bucket{le=\"1\"}",
            "lat_seconds_sum",
            "req",
            "request_size",
        ];
        store.append(1000, ids.iter().map(|id| ("f", *id, 1.0)));
        assert_eq!(store.ids_of("req", 10), ["req", "req_created", "req_total{a=\"1\"}"]);
        assert_eq!(store.ids_of("lat_seconds", 10), ["lat_seconds_bucket{le=\"1\"}", "lat_seconds_sum"]);
        assert_eq!(store.ids_of("req", 1).len(), 1);
        assert!(store.ids_of("nothing", 10).is_empty());
    }

    #[test]
    fn retention_by_bytes_deletes_the_oldest_segments() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SampleOptions { max_bytes: 256 << 10, ..options(1) };
        let store = SampleStore::open(dir.path(), opts).unwrap();
        let ids: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        for t in 0..400i64 {
            store.append(t * 1000, ids.iter().map(|id| ("f", id.as_str(), (t * 7919 % 1000) as f64)));
        }
        assert!(store.bytes() <= 256 << 10, "{}", store.bytes());
        let on_disk: u64 =
            fs::read_dir(dir.path().join("blocks")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        assert!(on_disk <= 256 << 10, "{on_disk}");
        let kept = store.range("s0", 0, i64::MAX);
        assert!(kept.first().unwrap().0 > 0, "the oldest went first");
        assert_eq!(kept.last().unwrap().0, 399_000);
    }

    #[test]
    fn retention_by_time() {
        let opts = SampleOptions { retention: Duration::from_secs(10), max_bytes: 1 << 20, ..options(2) };
        let store = SampleStore::in_memory(opts);
        for t in 0..2000i64 {
            tick(&store, t * 1000, &[("a", t as f64)]);
        }
        let kept = store.range("a", 0, i64::MAX);
        assert!(kept.first().unwrap().0 >= 1_980_000, "{:?}", kept.first());
    }
}
