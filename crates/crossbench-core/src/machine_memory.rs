//! The whole machine's memory in use over a run (MemTotal - MemAvailable of
//! /proc/meminfo), sampled by a driver thread twice a second: a full-size run
//! must show it stayed below what the machine has, not only each worker's RSS.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineMemory {
    pub total_bytes: u64,
    /// Largest MemTotal - MemAvailable seen (page cache that can be dropped
    /// does not count: it is available).
    pub peak_used_bytes: u64,
    pub samples: u64,
}

impl MachineMemory {
    /// "4.9 of 23.5 GiB".
    pub fn describe(&self) -> String {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        format!(
            "{:.1} of {:.1} GiB",
            gib(self.peak_used_bytes),
            gib(self.total_bytes)
        )
    }
}

/// MemTotal and MemAvailable in bytes, from /proc/meminfo text.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

fn read_meminfo() -> Option<(u64, u64)> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// Samples until dropped or `finish`ed; None where /proc/meminfo is absent.
pub struct Sampler {
    total: u64,
    peak: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start() -> Option<Sampler> {
        let (total, available) = read_meminfo()?;
        let peak = Arc::new(AtomicU64::new(total.saturating_sub(available)));
        let samples = Arc::new(AtomicU64::new(1));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, n, s) = (Arc::clone(&peak), Arc::clone(&samples), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(EVERY);
                if let Some((t, a)) = read_meminfo() {
                    p.fetch_max(t.saturating_sub(a), Ordering::Relaxed);
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Some(Sampler {
            total,
            peak,
            samples,
            stop,
            thread: Some(thread),
        })
    }

    /// What was seen so far (the sampler keeps running).
    pub fn read(&self) -> MachineMemory {
        MachineMemory {
            total_bytes: self.total,
            peak_used_bytes: self.peak.load(Ordering::Relaxed),
            samples: self.samples.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_are_read_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   20480000 kB\n";
        assert_eq!(
            parse_meminfo(text),
            Some((24576000 * 1024, 20480000 * 1024))
        );
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn the_sampler_reports_a_peak_within_the_machine() {
        let Some(s) = Sampler::start() else { return };
        let m = s.read();
        assert!(m.samples >= 1 && m.peak_used_bytes > 0 && m.peak_used_bytes <= m.total_bytes);
    }
}
