//! Atomic textfiles for node_exporter's textfile collector.

use std::fs::{self, File};
use std::io::Write;
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
pub fn write_textfile(snapshot: &Snapshot, path: &Path) -> Result<(), Error> {
    let err = |source| Error::Textfile { path: path.to_owned(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let text = encode::prometheus_text(snapshot);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        fs::remove_dir_all(&dir).unwrap();
    }
}
