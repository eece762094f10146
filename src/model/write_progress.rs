//! Progress while the shim writes a model's weights: a full-size model takes
//! minutes here and the C++ writer says nothing until it is done, so a
//! watcher thread reports the bytes on disk against the expected total.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes per parameter of a dtype's weights, roughly: quantized types carry
/// float32 scales and biases per group of 64 (8 bytes per 64 weights).
pub fn bytes_per_parameter(dtype: &str) -> f64 {
    match dtype {
        "float32" => 4.0,
        "float16" | "bfloat16" => 2.0,
        "q4" => 0.5 + 8.0 / 64.0,
        "q8" => 1.0 + 8.0 / 64.0,
        _ => 4.0,
    }
}

/// "1.21 of ~4.38 GiB (28%), 1 min 5 s".
pub fn progress_line(written: u64, expected: u64, elapsed: Duration) -> String {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let pct = if expected > 0 {
        (written as f64 / expected as f64 * 100.0).min(100.0)
    } else {
        0.0
    };
    let s = elapsed.as_secs();
    format!(
        "{:.2} of ~{:.2} GiB ({pct:.0}%), {} min {} s",
        gib(written),
        gib(expected),
        s / 60,
        s % 60
    )
}

/// Reports every `every` until dropped; silent for writes that end sooner.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    pub fn start(dir: &Path, expected: u64, every: Duration) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, dir): (Arc<AtomicBool>, PathBuf) = (Arc::clone(&stop), dir.to_path_buf());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut next = every;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if start.elapsed() >= next {
                    let line = progress_line(bytes_under(&dir), expected, start.elapsed());
                    eprintln!("crossbench: writing weights: {line}");
                    next += every;
                }
            }
        });
        Watcher {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                // Follow symlinks (a shard may link into a cache's blobs).
                .filter_map(|e| std::fs::metadata(e.path()).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_plainly_and_estimates_by_dtype() {
        let line = progress_line(1 << 30, 4 << 30, Duration::from_secs(65));
        assert_eq!(line, "1.00 of ~4.00 GiB (25%), 1 min 5 s");
        assert_eq!(bytes_per_parameter("bfloat16"), 2.0);
        assert!((bytes_per_parameter("q4") - 0.625).abs() < 1e-12);
    }

    #[test]
    fn the_watcher_reports_what_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors"), vec![0u8; 4096]).unwrap();
        assert_eq!(bytes_under(dir.path()), 4096);
        // Dropping it stops and joins its thread promptly.
        let t = Instant::now();
        drop(Watcher::start(dir.path(), 8192, Duration::from_secs(3600)));
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn symlinked_files_count_at_their_targets_size() {
        let (dir, away) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(away.path().join("blob"), vec![0u8; 4096]).unwrap();
        let link = dir.path().join("model.safetensors");
        std::os::unix::fs::symlink(away.path().join("blob"), link).unwrap();
        assert_eq!(bytes_under(dir.path()), 4096);
    }
}
