//! Files written atomically, and the JSON-file exporter.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sonde::{encode, Snapshot};

use crate::{Error, Exporter};

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsynced, renamed over `path`, then the directory fsynced.
/// Readers see the old file or the new one, never a partial one. Creates
/// missing parent directories.
///
/// # Errors
///
/// The I/O error of creating, writing, syncing or renaming the temporary file (which is removed on failure).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes each snapshot as JSON (the shape of `sonde::encode::json`, plus
/// `"running": true`) to a file, atomically.
#[derive(Debug, Clone)]
pub struct JsonFileExporter {
    path: PathBuf,
}

impl JsonFileExporter {
    /// Writes to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Exporter for JsonFileExporter {
    fn name(&self) -> &str {
        "json_file"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let mut extra = serde_json::Map::new();
        extra.insert("running".into(), serde_json::Value::Bool(true));
        let text = encode::json_with(snapshot, extra);
        write_atomic(&self.path, text.as_bytes()).map_err(|source| Error::Io { exporter: self.name().into(), source })
    }
}
