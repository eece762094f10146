use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ExportError;

/// Writes `bytes` to `path` via a temp file in the same directory: write,
/// fsync, rename (atomic on POSIX), then fsync the directory so the rename
/// survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let werr = |source| ExportError::Write {
        file: path.display().to_string(),
        source,
    };
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(werr(e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Best effort: some filesystems refuse to fsync directories.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// A hidden name unique to this process and call, next to `path`.
fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Creates `dir` if needed and proves it writable by writing a probe file,
/// so a bad output directory fails before anything is measured.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), ExportError> {
    let nerr = |source| ExportError::NotWritable {
        dir: dir.display().to_string(),
        source,
    };
    fs::create_dir_all(dir).map_err(nerr)?;
    let probe = temp_path(&dir.join("write-probe"));
    File::create(&probe).map_err(nerr)?;
    fs::remove_file(&probe).map_err(nerr)
}
