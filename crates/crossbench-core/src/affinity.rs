//! Which CPUs a run may use: read for every run's environment, and set for
//! the same-job A/B (`gate --against --pin-cpu`), whose driver and workers
//! of both builds then share one CPU.
//!
//! Why pin the A/B: on the 2-core VMs each vCPU's speed wanders on its own
//! (reps of two `bench` runs started together, each on its own CPU, were no
//! more alike than the reps of one run; docs/measurements/gate-experiment.md,
//! "Where the noise comes from"), so a head worker and its base twin a
//! second apart are alike only when they ran on the same CPU. Unpinned,
//! the scheduler puts a worker's threads on either.

use std::process::Command;

/// The CPUs this process may run on, as the kernel lists them ("0-1",
/// "1"), from /proc/self/status; None where there is no such file.
pub fn allowed_cpu_list() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

/// "0-2,5" -> [0, 1, 2, 5]; None when malformed.
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// The CPU `--pin-cpu` names: "none" -> None; "auto" -> the highest CPU
/// this process may use when it may use two or more (CPU 0 takes more of
/// the machine's interrupts), else None; a number -> that CPU, which must
/// be one this process may use.
pub fn resolve_pin(flag: &str) -> Result<Option<usize>, String> {
    let allowed = allowed_cpu_list();
    let cpus = allowed.as_deref().and_then(parse_cpu_list);
    match flag {
        "none" => Ok(None),
        "auto" => Ok(cpus
            .filter(|c| c.len() >= 2)
            .and_then(|c| c.into_iter().max())),
        n => {
            let cpu: usize = n
                .parse()
                .map_err(|_| format!("--pin-cpu {n}: expected auto, none or a CPU number"))?;
            match &cpus {
                Some(c) if c.contains(&cpu) && cpu < libc::CPU_SETSIZE as usize => Ok(Some(cpu)),
                _ => Err(format!(
                    "--pin-cpu {n}: this process may run on CPUs {}",
                    allowed
                        .as_deref()
                        .unwrap_or("(unknown: no /proc/self/status)")
                )),
            }
        }
    }
}

/// Makes the process `cmd` starts, and everything it starts, run on `cpu`
/// alone (`cpu` from `resolve_pin`, so below CPU_SETSIZE).
#[cfg(target_os = "linux")]
pub fn pin_command(cmd: &mut Command, cpu: usize) {
    use std::os::unix::process::CommandExt;
    // SAFETY: cpu_set_t is plain bits; all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET sets one bit of `set`; resolve_pin keeps cpu below
    // CPU_SETSIZE, the set's size in bits.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: the closure runs between fork and exec and makes one
    // async-signal-safe system call on a set built before the fork; it
    // allocates nothing (last_os_error reads errno).
    unsafe {
        cmd.pre_exec(move || {
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_setaffinity(0, size, &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere there is nothing to pin with; `resolve_pin` finds no CPUs.
#[cfg(not(target_os = "linux"))]
pub fn pin_command(_cmd: &mut Command, _cpu: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("2-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn resolves_the_flag_against_this_process() {
        assert_eq!(resolve_pin("none"), Ok(None));
        let err = resolve_pin("banana").unwrap_err();
        assert!(err.contains("--pin-cpu banana"), "{err}");
        let err = resolve_pin("100000").unwrap_err();
        assert!(err.contains("may run on CPUs"), "{err}");
        if let Some(cpus) = allowed_cpu_list().as_deref().and_then(parse_cpu_list) {
            let first = cpus[0];
            assert_eq!(resolve_pin(&first.to_string()), Ok(Some(first)));
            let auto = resolve_pin("auto").unwrap();
            assert_eq!(auto, (cpus.len() >= 2).then(|| *cpus.iter().max().unwrap()));
        }
    }

    /// A pinned child sees one allowed CPU: the pin reaches the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_command_runs_on_that_cpu_only() {
        let Some(cpu) = allowed_cpu_list()
            .as_deref()
            .and_then(parse_cpu_list)
            .and_then(|c| c.last().copied())
        else {
            return;
        };
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "grep Cpus_allowed_list: /proc/self/status"]);
        pin_command(&mut cmd, cpu);
        let out = cmd.output().expect("sh runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split(':').nth(1).map(str::trim),
            Some(cpu.to_string().as_str()),
            "{text}"
        );
    }
}
