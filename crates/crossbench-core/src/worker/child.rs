//! The child process underneath a worker: how it is started (its own process
//! group, killed with the driver), written to (never blocking past a
//! deadline), killed (as a group) and reaped (wait4, for its peak RSS).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command};
use std::time::{Duration, Instant};

use super::{ExitReport, POLL_SLICE};
use crate::interrupt::interrupt_requested;
use crate::protocol::maxrss_to_bytes;

/// Puts the child in a process group of its own, so the driver can kill it
/// together with anything it starts (`perf record`'s profiled worker) and a
/// terminal's Ctrl-C reaches only the driver, which then stops it; and, on
/// Linux, has the kernel SIGKILL it if the driver dies without cleaning up.
pub(super) fn isolate(cmd: &mut Command) {
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs between fork and exec and only makes two
        // async-signal-safe system calls (prctl, getppid); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || die_with_parent(parent));
        }
    }
}

/// In the forked child: SIGKILL when the parent dies. The kernel sends it when
/// the *thread* that forked exits, so workers must be spawned (as they are) by
/// the thread that runs the whole measurement.
#[cfg(target_os = "linux")]
fn die_with_parent(parent: u32) -> std::io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG only sets an attribute of this process.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // The parent may have died between fork and prctl, when no signal would
    // come any more: we have been re-parented, so give up now.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } as u32 != parent {
        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

/// SIGKILLs the child's whole process group.
///
/// Only while the child is not yet reaped: then its pid, which names the
/// group, cannot have been reused.
pub(super) fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill(2) touches no memory; the group id is our unreaped child's pid.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Makes writes to the child's stdin return WouldBlock instead of blocking,
/// so `write_by` can give up at a deadline. Only the driver holds this end.
pub(super) fn set_nonblocking(stdin: &ChildStdin) -> std::io::Result<()> {
    let fd = stdin.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL touch no memory.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Why `write_by` stopped before writing everything.
#[derive(Debug)]
pub(super) enum WriteStop {
    Deadline,
    Interrupted,
    Failed(std::io::Error),
}

/// Writes all of `bytes` to the (non-blocking) stdin by `deadline`: a worker
/// that stops reading while a request larger than the pipe buffer is written
/// (a long prompt) costs at most the deadline, and Ctrl-C still stops it.
pub(super) fn write_by(
    stdin: &mut ChildStdin,
    bytes: &[u8],
    deadline: Instant,
) -> Result<(), WriteStop> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match stdin.write(rest) {
            Ok(0) => return Err(WriteStop::Failed(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if interrupt_requested() {
                    return Err(WriteStop::Interrupted);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(WriteStop::Deadline);
                }
                wait_writable(stdin, left.min(POLL_SLICE)).map_err(WriteStop::Failed)?;
            }
            Err(e) => return Err(WriteStop::Failed(e)),
        }
    }
    Ok(())
}

/// Waits up to `timeout` for room in the pipe (or its reader to close).
fn wait_writable(stdin: &ChildStdin, timeout: Duration) -> std::io::Result<()> {
    let mut fd = libc::pollfd {
        fd: stdin.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, 1000) as libc::c_int;
    // SAFETY: one valid pollfd on our stack, for the duration of the call.
    if unsafe { libc::poll(&mut fd, 1, ms) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// One non-blocking wait4; Some once the child has exited.
pub(super) fn wait4_nohang(pid: libc::pid_t) -> Option<ExitReport> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals.
    let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
    if rc == 0 {
        return None;
    }
    if rc < 0 {
        // ECHILD: someone else reaped it; nothing more to learn.
        return Some(ExitReport {
            status: format!("unknown ({})", std::io::Error::last_os_error()),
            peak_rss_bytes: None,
        });
    }
    Some(ExitReport {
        status: describe_status(status),
        peak_rss_bytes: Some(maxrss_to_bytes(usage.ru_maxrss)),
    })
}

fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    }
}
