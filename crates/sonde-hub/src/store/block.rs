//! Sealed chunks, in blocks: every series' chunk for one stretch of time,
//! written together when the head is cut. Blocks are appended to segment
//! files (or kept in memory in the same format), and read back by binary
//! search of their index, so nothing per chunk stays in memory.
//!
//! ```text
//! block  = magic "SBK1" | crc32 (of n .. the index's end) | n: u32 | 0: u32
//!          | min_t: i64 | max_t: i64 | data_len: u64 | index | data
//! index  = n × (series: u32 | offset: u32 | len: u32 | samples: u32 | crc32 of the chunk)
//! ```
//!
//! All integers little-endian; index entries sorted by series.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::RwLock;

const MAGIC: [u8; 4] = *b"SBK1";
const HEADER: usize = 40;
const ENTRY: usize = 20;
/// Sanity bounds for a header read back.
const MAX_ENTRIES: u32 = 16 << 20;

/// One series' sealed chunk, to be written.
#[derive(Debug)]
pub(crate) struct Sealed<'a> {
    pub(crate) series: u32,
    pub(crate) samples: u32,
    pub(crate) bytes: &'a [u8],
}

/// Encodes a block from chunks (sorted here by series).
pub(crate) fn encode(mut chunks: Vec<Sealed<'_>>, min_t: i64, max_t: i64) -> Vec<u8> {
    chunks.sort_unstable_by_key(|c| c.series);
    let data_len: usize = chunks.iter().map(|c| c.bytes.len()).sum();
    let mut out = Vec::with_capacity(HEADER + chunks.len() * ENTRY + data_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0; 4]); // the crc, below
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&min_t.to_le_bytes());
    out.extend_from_slice(&max_t.to_le_bytes());
    out.extend_from_slice(&(data_len as u64).to_le_bytes());
    let mut offset = 0u32;
    for c in &chunks {
        for v in [c.series, offset, c.bytes.len() as u32, c.samples, crc32fast::hash(c.bytes)] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        offset += c.bytes.len() as u32;
    }
    let crc = crc32fast::hash(&out[8..]);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    for c in chunks {
        out.extend_from_slice(c.bytes);
    }
    out
}

/// The number of chunks in an encoded block.
pub(crate) fn entries(block: &[u8]) -> u32 {
    u32_at(block, 8)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// Where a block is in its segment and what it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockMeta {
    pub(crate) offset: u64,
    pub(crate) entries: u32,
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    pub(crate) len: u64,
}

/// What reading a segment's bytes found.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The good blocks (offsets in `rewritten` when there is one).
    pub(crate) blocks: Vec<BlockMeta>,
    /// Bytes that were not part of a good block.
    pub(crate) lost_bytes: u64,
    /// Chunks dropped for a bad checksum, and their samples.
    pub(crate) lost_chunks: u64,
    pub(crate) lost_samples: u64,
    /// The segment without its damage, when it had any.
    pub(crate) rewritten: Option<Vec<u8>>,
}

/// Checks a block's header and index at `pos`; its total length if good.
fn header_at(bytes: &[u8], pos: usize) -> Option<(BlockMeta, usize)> {
    let head = bytes.get(pos..pos + HEADER)?;
    if head[..4] != MAGIC {
        return None;
    }
    let n = u32_at(head, 8);
    let data_len = u64_at(head, 32) as usize;
    if n > MAX_ENTRIES {
        return None;
    }
    let index_end = pos + HEADER + n as usize * ENTRY;
    let covered = bytes.get(pos + 8..index_end)?;
    if crc32fast::hash(covered) != u32_at(head, 4) {
        return None;
    }
    let total = HEADER + n as usize * ENTRY + data_len;
    bytes.get(pos..pos + total)?;
    let meta = BlockMeta {
        offset: pos as u64,
        entries: n,
        min_t: u64_at(head, 16) as i64,
        max_t: u64_at(head, 24) as i64,
        len: total as u64,
    };
    Some((meta, total))
}

/// Reads every block of a segment's bytes, checking every checksum; a
/// damaged header or index loses its block (reading resumes at the next
/// block's magic), a damaged chunk loses that chunk.
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut good: Vec<(BlockMeta, Option<Vec<u8>>)> = Vec::new();
    let mut damaged = false;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some((meta, total)) = header_at(bytes, pos) else {
            damaged = true;
            let next = bytes[pos + 1..].windows(4).position(|w| w == MAGIC).map(|p| pos + 1 + p);
            let next = next.unwrap_or(bytes.len());
            out.lost_bytes += (next - pos) as u64;
            pos = next;
            continue;
        };
        let block = &bytes[pos..pos + total];
        let data = &block[HEADER + meta.entries as usize * ENTRY..];
        let mut kept = Vec::new();
        let mut bad = false;
        for i in 0..meta.entries as usize {
            let e = HEADER + i * ENTRY;
            let (series, off, len, samples, crc) = (
                u32_at(block, e),
                u32_at(block, e + 4),
                u32_at(block, e + 8),
                u32_at(block, e + 12),
                u32_at(block, e + 16),
            );
            match data.get(off as usize..off as usize + len as usize).filter(|c| crc32fast::hash(c) == crc) {
                Some(chunk) => kept.push(Sealed { series, samples, bytes: chunk }),
                None => {
                    bad = true;
                    out.lost_chunks += 1;
                    out.lost_samples += u64::from(samples);
                    out.lost_bytes += u64::from(len);
                }
            }
        }
        if bad {
            damaged = true;
            good.push((meta, Some(encode(kept, meta.min_t, meta.max_t))));
        } else {
            good.push((meta, None));
        }
        pos += total;
    }
    if !damaged {
        out.blocks = good.into_iter().map(|(m, _)| m).collect();
        return out;
    }
    let mut rewritten = Vec::new();
    for (meta, re) in good {
        let offset = rewritten.len() as u64;
        match re {
            Some(block) => {
                rewritten.extend_from_slice(&block);
                out.blocks.push(BlockMeta { offset, entries: entries(&block), len: block.len() as u64, ..meta });
            }
            None => {
                rewritten.extend_from_slice(&bytes[meta.offset as usize..(meta.offset + meta.len) as usize]);
                out.blocks.push(BlockMeta { offset, ..meta });
            }
        }
    }
    out.rewritten = Some(rewritten);
    out
}

/// A segment's bytes: a file (read at offsets, appended to), or memory.
#[derive(Debug)]
enum SegmentData {
    File(File, PathBuf),
    Memory(RwLock<Vec<u8>>),
}

/// One segment: blocks appended in time order.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    data: SegmentData,
}

impl Segment {
    /// A segment kept in memory.
    pub(crate) fn memory(seq: u64) -> Self {
        Self { seq, data: SegmentData::Memory(RwLock::default()) }
    }

    /// An existing segment file, read only.
    pub(crate) fn read_file(seq: u64, path: PathBuf) -> io::Result<Self> {
        Ok(Self { seq, data: SegmentData::File(File::open(&path)?, path) })
    }

    /// A new segment file, read and appended to through one handle.
    pub(crate) fn create_file(seq: u64, path: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).append(true).create(true).open(&path)?;
        Ok(Self { seq, data: SegmentData::File(file, path) })
    }

    /// Appends a block (synced to stable storage when `sync`).
    pub(crate) fn append(&self, block: &[u8], sync: bool) -> io::Result<()> {
        match &self.data {
            SegmentData::File(f, _) => {
                (&*f).write_all(block)?;
                if sync {
                    f.sync_data()?;
                }
                Ok(())
            }
            SegmentData::Memory(m) => {
                m.write().unwrap_or_else(|p| p.into_inner()).extend_from_slice(block);
                Ok(())
            }
        }
    }

    /// Flushes a segment file to stable storage.
    pub(crate) fn sync(&self) -> io::Result<()> {
        match &self.data {
            SegmentData::File(f, _) => f.sync_data(),
            SegmentData::Memory(_) => Ok(()),
        }
    }

    /// Deletes a segment file (readers holding it still read it: the file
    /// goes when its last handle does).
    pub(crate) fn remove(&self) {
        if let SegmentData::File(_, path) = &self.data {
            let _ = std::fs::remove_file(path);
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.data {
            SegmentData::File(f, _) => f.read_exact_at(buf, offset),
            SegmentData::Memory(m) => {
                let m = m.read().unwrap_or_else(|p| p.into_inner());
                let src = m.get(offset as usize..offset as usize + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    /// The chunk of `series` in the block at `meta`, with its sample
    /// count: found by binary search of the index; `None` when the block
    /// has none, an error when it cannot be read or fails its checksum.
    #[cfg(test)]
    fn chunk(&self, meta: &BlockMeta, series: u32) -> io::Result<Option<(u32, Vec<u8>)>> {
        Ok(BlockBytes::Piecewise(self, meta.offset).chunk(meta, series, &mut 0)?.map(|(n, c)| (n, c.into_owned())))
    }

    /// The whole block at `meta`, read at once (for reading many of its
    /// chunks).
    pub(crate) fn whole(&self, meta: &BlockMeta) -> io::Result<BlockBytes<'_>> {
        let mut bytes = vec![0; meta.len as usize];
        self.read_at(meta.offset, &mut bytes)?;
        Ok(BlockBytes::Whole(bytes))
    }
}

/// A block's bytes: read piece by piece from its segment (a few chunks),
/// or held whole (many).
pub(crate) enum BlockBytes<'a> {
    /// Read from the segment, the block starting at this offset.
    Piecewise(&'a Segment, u64),
    /// The block's bytes.
    Whole(Vec<u8>),
}

impl BlockBytes<'_> {
    fn read(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            BlockBytes::Piecewise(segment, offset) => segment.read_at(offset + at, buf),
            BlockBytes::Whole(bytes) => {
                let src = bytes.get(at as usize..at as usize + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    /// The chunk of `series` in this block, with its sample count: found
    /// by binary search of the index from entry `*from` on, which is left
    /// where `series` is or would be (so a reader asking for series in
    /// ascending order searches less each time); `None` when the block has
    /// none, an error when it cannot be read or fails its checksum.
    pub(crate) fn chunk(
        &self,
        meta: &BlockMeta,
        series: u32,
        from: &mut u32,
    ) -> io::Result<Option<(u32, Cow<'_, [u8]>)>> {
        let (mut lo, mut hi) = ((*from).min(meta.entries), meta.entries);
        let mut entry = [0u8; ENTRY];
        // Galloping first: the series asked next is usually just ahead.
        let mut step = 1u32;
        loop {
            let probe = lo.saturating_add(step - 1);
            if probe >= hi {
                break;
            }
            self.read((HEADER + probe as usize * ENTRY) as u64, &mut entry)?;
            if u32_at(&entry, 0) < series {
                lo = probe + 1;
                step = step.saturating_mul(2);
            } else {
                hi = probe + 1;
                break;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.read((HEADER + mid as usize * ENTRY) as u64, &mut entry)?;
            match u32_at(&entry, 0).cmp(&series) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    *from = mid;
                    let (off, len, samples, crc) =
                        (u32_at(&entry, 4), u32_at(&entry, 8), u32_at(&entry, 12), u32_at(&entry, 16));
                    let data = (HEADER + meta.entries as usize * ENTRY) as u64 + u64::from(off);
                    // A whole block lends its bytes; a piecewise one reads them.
                    let chunk = match self {
                        BlockBytes::Whole(bytes) => Cow::Borrowed(
                            bytes
                                .get(data as usize..data as usize + len as usize)
                                .ok_or(io::ErrorKind::UnexpectedEof)?,
                        ),
                        BlockBytes::Piecewise(..) => {
                            let mut chunk = vec![0; len as usize];
                            self.read(data, &mut chunk)?;
                            Cow::Owned(chunk)
                        }
                    };
                    if crc32fast::hash(&chunk) != crc {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "chunk checksum"));
                    }
                    return Ok(Some((samples, chunk)));
                }
            }
        }
        *from = lo;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(series: &[u32], t: i64) -> Vec<u8> {
        let bytes: Vec<[u8; 5]> = series.iter().map(|s| [*s as u8; 5]).collect();
        let chunks = series.iter().zip(&bytes).map(|(s, b)| Sealed { series: *s, samples: 1, bytes: b }).collect();
        encode(chunks, t, t + 10)
    }

    #[test]
    fn a_cursor_through_the_index_finds_what_a_fresh_search_finds() {
        let series: Vec<u32> = (0..400).filter(|s| s % 3 == 0 || s % 7 == 0).collect();
        let bytes = block(&series, 0);
        let parsed = parse(&bytes);
        let whole = BlockBytes::Whole(bytes.clone());
        let meta = &parsed.blocks[0];
        // Ascending with gaps of every size, through one cursor.
        for stride in [1, 2, 5, 13, 64] {
            let mut from = 0;
            for s in (0..420).step_by(stride) {
                let found = whole.chunk(meta, s, &mut from).unwrap().map(|(n, c)| (n, c.into_owned()));
                let fresh = whole.chunk(meta, s, &mut 0).unwrap().map(|(n, c)| (n, c.into_owned()));
                assert_eq!(found, fresh, "series {s}, stride {stride}");
                assert_eq!(found.is_some(), series.contains(&s), "series {s}");
            }
        }
    }

    #[test]
    fn chunks_are_found_by_series_and_damage_loses_only_its_part() {
        let mut bytes = block(&[7, 3, 5], 0);
        let second = bytes.len();
        bytes.extend(block(&[1, 3], 100));
        let parsed = parse(&bytes);
        assert!(parsed.rewritten.is_none());
        assert_eq!(parsed.blocks.len(), 2);
        let seg = Segment::memory(0);
        seg.append(&bytes, false).unwrap();
        assert_eq!(seg.chunk(&parsed.blocks[0], 5).unwrap(), Some((1, vec![5; 5])));
        assert_eq!(seg.chunk(&parsed.blocks[0], 4).unwrap(), None);
        assert_eq!(seg.chunk(&parsed.blocks[1], 1).unwrap(), Some((1, vec![1; 5])));

        // A flipped data byte loses one chunk; the block is rewritten.
        let mut hurt = bytes.clone();
        let last = second - 1; // series 7's chunk is last in the first block
        hurt[last] ^= 1;
        let p = parse(&hurt);
        assert_eq!((p.lost_chunks, p.lost_samples, p.blocks.len()), (1, 1, 2));
        let re = p.rewritten.unwrap();
        assert_eq!(parse(&re).blocks, p.blocks, "the rewrite reads back clean");
        let seg = Segment::memory(0);
        seg.append(&re, false).unwrap();
        assert_eq!(seg.chunk(&p.blocks[0], 7).unwrap(), None);
        assert_eq!(seg.chunk(&p.blocks[0], 3).unwrap(), Some((1, vec![3; 5])));

        // A damaged header loses its block; the next block is found.
        let mut hurt = bytes.clone();
        hurt[10] ^= 1;
        let p = parse(&hurt);
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(p.lost_bytes, second as u64);
        // A cut tail loses the last block.
        let p = parse(&bytes[..bytes.len() - 3]);
        assert_eq!((p.blocks.len(), p.lost_bytes), (1, (bytes.len() - 3 - second) as u64));
    }
}
