//! Append-only files of checksummed records (the write-ahead log and the
//! series list): each record is its length (u32, little-endian), the CRC-32
//! of its payload, then the payload. Reading stops at the first record that
//! is cut short or fails its checksum; what follows is the damaged tail.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The largest record accepted back (a tick of a million series fits).
const MAX_RECORD: usize = 64 << 20;

/// Appends one record to `out`: `write` puts the payload in place, after
/// room for the length and checksum, which are filled in afterwards.
pub(crate) fn framed(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    write(out);
    let payload = &out[start + 8..];
    let (len, crc) = (payload.len() as u32, crc32fast::hash(payload));
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The payload of the record at the start of `bytes`, when it is whole
/// and its checksum matches.
pub(crate) fn payload(bytes: &[u8]) -> Option<&[u8]> {
    let head = bytes.get(..8)?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    let payload = bytes.get(8..8 + len).filter(|_| len <= MAX_RECORD)?;
    (crc32fast::hash(payload) == crc).then_some(payload)
}

/// What reading a framed file found.
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    /// The good records, in order.
    pub(crate) records: Vec<Vec<u8>>,
    /// Where the good records end.
    pub(crate) good_len: u64,
    /// Bytes after them (a cut-short or damaged tail).
    pub(crate) damaged_bytes: u64,
}

/// Reads every good record of `file` from its start.
pub(crate) fn scan(file: &mut File) -> io::Result<Scanned> {
    let mut all = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut all)?;
    let mut out = Scanned::default();
    let mut pos = 0usize;
    while let Some(payload) = payload(&all[pos..]) {
        out.records.push(payload.to_vec());
        pos += 8 + payload.len();
    }
    out.good_len = pos as u64;
    out.damaged_bytes = (all.len() - pos) as u64;
    Ok(out)
}

/// An open framed file, appended to.
#[derive(Debug)]
pub(crate) struct FramedFile {
    file: File,
}

impl FramedFile {
    /// Opens (creating) `path`, reads its good records and cuts a damaged
    /// tail off, after copying the whole file into `damaged_dir`.
    pub(crate) fn open(path: &Path, damaged_dir: &Path) -> io::Result<(Self, Scanned)> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let scanned = scan(&mut file)?;
        if scanned.damaged_bytes > 0 {
            super::set_aside(path, damaged_dir)?;
            file.set_len(scanned.good_len)?;
        }
        file.seek(SeekFrom::Start(scanned.good_len))?;
        Ok((Self { file }, scanned))
    }

    /// Appends framed bytes (one or more records) with one write: handed to
    /// the operating system when this returns.
    pub(crate) fn append(&mut self, framed: &[u8]) -> io::Result<()> {
        self.file.write_all(framed)
    }

    /// Empties the file (after its records were made durable elsewhere).
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0)).map(drop)
    }

    /// Flushes to stable storage.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_tail_is_cut_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (path, aside) = (dir.path().join("log"), dir.path().join("damaged"));
        let (mut f, s) = FramedFile::open(&path, &aside).unwrap();
        assert!(s.records.is_empty());
        let mut buf = Vec::new();
        framed(&mut buf, |out| out.extend_from_slice(b"one"));
        framed(&mut buf, |out| out.extend_from_slice(b"two"));
        f.append(&buf).unwrap();
        f.append(&[9, 0, 0, 0, 1, 2]).unwrap(); // a record cut short
        drop(f);
        let (f, s) = FramedFile::open(&path, &aside).unwrap();
        assert_eq!(s.records, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!((s.damaged_bytes, s.good_len), (6, 22));
        assert_eq!(f.file.metadata().unwrap().len(), 22, "the tail is cut off");
        assert_eq!(std::fs::read_dir(&aside).unwrap().count(), 1, "the damaged file is kept");
        // A flipped byte in the second record: only the first survives.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, s) = FramedFile::open(&path, &aside).unwrap();
        assert_eq!((s.records.len(), s.damaged_bytes), (1, 11));
    }
}
