//! Where the hub keeps what it receives: samples of every series
//! ([`SampleStore`]: Gorilla chunks in checksummed blocks, a write-ahead
//! log for the head) and spans and events ([`RecordStore`]: SQLite in WAL
//! mode, FTS5 for event text), under one data directory guarded by a lock
//! file, or in memory.

mod block;
pub(crate) mod frame;
mod gorilla;
mod records;
mod samples;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use records::RecordStore;
pub use samples::{SampleOptions, SampleStore, STALE_NAN};

/// When the stores flush to stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// After every write: nothing acknowledged is lost on power loss.
    Always,
    /// On a timer: power loss loses at most this long.
    Interval(Duration),
    /// Never explicitly (the operating system decides); a killed process
    /// still loses nothing it acknowledged.
    Never,
}

/// What opening a store found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of damaged or cut-short data cut away.
    pub lost_bytes: u64,
    /// Samples in damaged chunks or log records that could not be read.
    pub lost_samples: u64,
    /// Files copied into `damaged/` before they were repaired.
    pub files_set_aside: u64,
    /// Samples replayed from the write-ahead log into the heads.
    pub replayed_samples: u64,
    /// How long opening took.
    pub took: Duration,
}

/// Where `path` is kept in `dir` (created): under its name and the time.
fn aside(path: &Path, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    Ok(dir.join(format!("{name}.{stamp}")))
}

/// Copies `path` into `dir`, before it is repaired in place.
pub(crate) fn set_aside(path: &Path, dir: &Path) -> io::Result<PathBuf> {
    let target = aside(path, dir)?;
    fs::copy(path, &target)?;
    Ok(target)
}

/// Moves `path` (a file or a directory) into `dir`, to start afresh
/// without it.
pub(crate) fn move_aside(path: &Path, dir: &Path) -> io::Result<PathBuf> {
    let target = aside(path, dir)?;
    fs::rename(path, &target)?;
    Ok(target)
}

/// The platform's data directory for the hub: `$XDG_DATA_HOME/sonde`,
/// else `~/.local/share/sonde`.
pub fn default_data_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = xdg.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))?;
    Some(base.join("sonde"))
}

/// A data directory held by this process: an exclusive lock on its `LOCK`
/// file, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates `path` if needed and locks it.
    ///
    /// # Errors
    ///
    /// [`crate::Error::DataDirLocked`] when another process holds it, or
    /// an I/O error when it cannot be created.
    pub fn lock(path: &Path) -> Result<Self, crate::Error> {
        let io = |source| crate::Error::DataDir { path: path.to_owned(), source };
        fs::create_dir_all(path).map_err(io)?;
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(path.join("LOCK")).map_err(io)?;
        match lock.try_lock() {
            Ok(()) => Ok(Self { path: path.to_owned(), _lock: lock }),
            Err(fs::TryLockError::WouldBlock) => Err(crate::Error::DataDirLocked(path.to_owned())),
            Err(fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::lock(dir.path()).unwrap();
        let second = DataDir::lock(dir.path()).unwrap_err();
        assert!(second.to_string().contains("another sonde"), "{second}");
        drop(first);
        DataDir::lock(dir.path()).unwrap();
    }
}
