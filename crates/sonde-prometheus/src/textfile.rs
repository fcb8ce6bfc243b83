//! Atomic textfiles for node_exporter's textfile collector.

use std::path::{Path, PathBuf};

use sonde::{encode, Snapshot};

use crate::Error;

/// The environment variable naming the directory of the default textfile.
pub const TEXTFILE_DIR_ENV: &str = "SONDE_TEXTFILE_DIR";

/// `$SONDE_TEXTFILE_DIR/metrics.prom`, or `./metrics.prom` when unset.
pub fn default_textfile_path() -> PathBuf {
    let dir = std::env::var_os(TEXTFILE_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    dir.join("metrics.prom")
}

/// Writes `snapshot` in Prometheus text format to `path` atomically: the
/// text goes to `<path>.tmp` in the same directory, is fsynced, and renamed
/// over `path` (then the directory is fsynced). A reader sees the old file or
/// the new one, never a partial one. Creates missing parent directories.
///
/// # Errors
///
/// [`Error`] with the I/O error of writing the temporary file or renaming it over `path`; the old file stays
/// intact.
pub fn write_textfile(snapshot: &Snapshot, path: &Path) -> Result<(), Error> {
    let text = encode::prometheus_text(snapshot);
    sonde_export::write_atomic(path, text.as_bytes())
        .map_err(|source| Error::Textfile { path: path.to_owned(), source })
}

/// Writes each snapshot to a textfile (for node_exporter's textfile
/// collector), atomically; drive it with `sonde_export::PeriodicExporter`.
#[derive(Clone, Debug)]
pub struct TextfileExporter {
    path: PathBuf,
}

impl TextfileExporter {
    /// Writes to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Writes to [`default_textfile_path`].
    pub fn at_default_path() -> Self {
        Self::new(default_textfile_path())
    }
}

impl sonde_export::Exporter for TextfileExporter {
    fn name(&self) -> &str {
        "textfile"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), sonde_export::Error> {
        let text = encode::prometheus_text(snapshot);
        sonde_export::write_atomic(&self.path, text.as_bytes())
            .map_err(|source| sonde_export::Error::Io { exporter: "textfile".into(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn writes_atomically_and_reports_errors() {
        let dir = std::env::temp_dir().join(format!("sonde-textfile-{}", std::process::id()));
        let path = dir.join("nested/metrics.prom");
        let r = sonde::Registry::new();
        r.counter("written_total").register().unwrap().inc();
        write_textfile(&r.snapshot(), &path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("written_total 1\n"));
        assert!(!path.with_file_name("metrics.prom.tmp").exists());
        // A directory in the way of the file is an error, not a panic.
        let blocked = dir.join("blocked");
        fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(matches!(write_textfile(&r.snapshot(), &blocked), Err(Error::Textfile { .. })));
        let exporter = TextfileExporter::new(dir.join("via-trait.prom"));
        sonde_export::Exporter::export(&exporter, &r.snapshot()).unwrap();
        assert!(fs::read_to_string(dir.join("via-trait.prom")).unwrap().contains("written_total 1\n"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
