//! SIGINT/SIGTERM/SIGHUP handling: the handler only records the signal; the
//! driver polls it between events (and while writing to a worker) and stops
//! promptly, keeping what it measured.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked to stop, 0 while none has.
static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);

/// The signals that stop a run the way Ctrl-C does: a service manager's
/// SIGTERM and a closed terminal's SIGHUP must not lose what was measured.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: one atomic store.
    INTERRUPTED_BY.store(signal, Ordering::SeqCst);
}

/// Routes SIGINT, SIGTERM and SIGHUP to the interrupt flag.
pub fn install_interrupt_handler() -> std::io::Result<()> {
    for signal in STOP_SIGNALS {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler is async-signal-safe (a single atomic store).
        if unsafe { libc::signal(signal, handler) } == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn interrupt_requested() -> bool {
    INTERRUPTED_BY.load(Ordering::SeqCst) != 0
}

/// The name of the signal that interrupted the run (`SIGTERM`), or
/// `interrupt` when it was requested otherwise; None when not interrupted.
pub fn interrupt_cause() -> Option<&'static str> {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => None,
        libc::SIGINT => Some("SIGINT"),
        libc::SIGTERM => Some("SIGTERM"),
        libc::SIGHUP => Some("SIGHUP"),
        _ => Some("interrupt"),
    }
}

/// The shell's exit status for the interrupting signal (128 + its number;
/// 130, as for SIGINT, when it was requested otherwise).
pub fn interrupt_exit_code() -> i32 {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        s if STOP_SIGNALS.contains(&s) => 128 + s,
        _ => 128 + libc::SIGINT,
    }
}

/// Sets the flag as a signal would (tests, or a caller with its own handler).
pub fn request_interrupt() {
    INTERRUPTED_BY.store(-1, Ordering::SeqCst);
}

pub fn clear_interrupt() {
    INTERRUPTED_BY.store(0, Ordering::SeqCst);
}
