//! Append-only files of checksummed records (the write-ahead log and the
//! series list): each record is its length (u32, little-endian), the CRC-32
//! of its payload, then the payload. Reading stops at the first record that
//! is cut short or fails its checksum; what follows is the damaged tail.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The largest record accepted back (a tick of a million series fits).
const MAX_RECORD: usize = 64 << 20;

/// Frames `payload` into `out`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
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
    while let Some(head) = all.get(pos..pos + 8) {
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap_or_default());
        let Some(payload) = all.get(pos + 8..pos + 8 + len).filter(|_| len <= MAX_RECORD) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        out.records.push(payload.to_vec());
        pos += 8 + len;
    }
    out.good_len = pos as u64;
    out.damaged_bytes = (all.len() - pos) as u64;
    Ok(out)
}

/// An open framed file, appended to.
#[derive(Debug)]
pub(crate) struct FramedFile {
    file: File,
    len: u64,
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
        Ok((Self { file, len: scanned.good_len }, scanned))
    }

    /// Appends framed bytes (one or more records) with one write: handed to
    /// the operating system when this returns.
    pub(crate) fn append(&mut self, framed: &[u8]) -> io::Result<()> {
        self.file.write_all(framed)?;
        self.len += framed.len() as u64;
        Ok(())
    }

    /// Empties the file (after its records were made durable elsewhere).
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.len = 0;
        Ok(())
    }

    /// Bytes in the file.
    pub(crate) fn len(&self) -> u64 {
        self.len
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
        frame(b"one", &mut buf);
        frame(b"two", &mut buf);
        f.append(&buf).unwrap();
        f.append(&[9, 0, 0, 0, 1, 2]).unwrap(); // a record cut short
        drop(f);
        let (f, s) = FramedFile::open(&path, &aside).unwrap();
        assert_eq!(s.records, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!((s.damaged_bytes, f.len()), (6, 22));
        assert_eq!(std::fs::read_dir(&aside).unwrap().count(), 1, "the damaged file is kept");
        // A flipped byte in the second record: only the first survives.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, s) = FramedFile::open(&path, &aside).unwrap();
        assert_eq!((s.records.len(), s.damaged_bytes), (1, 11));
    }
}
