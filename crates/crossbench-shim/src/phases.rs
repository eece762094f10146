//! The shim's spans of the phase timeline (`cb_phases_record`), recorded into
//! a buffer this side owns and preallocates, so the shim allocates nothing
//! and does no I/O while it records.

use crate::error::check;
use crate::{sys, Result};

/// Recording of the shim's spans, from `start` until `finish` (or drop).
///
/// The shim writes through raw pointers into memory this struct owns; no Rust
/// reference to that memory exists until recording has stopped.
pub struct PhaseRecording {
    spans: *mut sys::cb_span,
    capacity: usize,
    len: *mut usize,
    recording: bool,
}

impl PhaseRecording {
    /// Starts recording the spans of the generations that follow, up to
    /// `capacity` of them (later ones are dropped). Call between generations.
    pub fn start(capacity: usize) -> Result<PhaseRecording> {
        let empty = sys::cb_span {
            begin_ns: 0,
            end_ns: 0,
            phase: 0,
            reserved: 0,
        };
        let spans = Box::into_raw(vec![empty; capacity].into_boxed_slice()) as *mut sys::cb_span;
        let len = Box::into_raw(Box::new(0usize));
        let mut rec = PhaseRecording {
            spans,
            capacity,
            len,
            recording: false,
        };
        // SAFETY: both pointers come from live boxes this struct owns and frees only in
        // Drop, after recording is stopped; `capacity` is the slice's length, so the shim
        // writes within it. The shim catches every exception (guard).
        check(unsafe { sys::cb_phases_record(rec.spans, capacity, rec.len) })?;
        rec.recording = true;
        Ok(rec)
    }

    /// Room for the shim's spans of a generation of `max_new` tokens.
    pub fn for_tokens(max_new: usize) -> Result<PhaseRecording> {
        PhaseRecording::start(sys::CB_SPANS_PER_TOKEN as usize * (max_new + 1))
    }

    /// Stops recording; returns the spans as `[phase, begin_ns, end_ns]` and
    /// how many did not fit.
    pub fn finish(mut self) -> Result<(Vec<[u64; 3]>, u64)> {
        self.stop()?;
        // SAFETY: recording has stopped, so the shim no longer writes; `len` is a live box.
        let counted = unsafe { *self.len };
        let n = counted.min(self.capacity);
        // SAFETY: `spans` points at `capacity` initialised cb_span (the boxed slice), and
        // nothing else accesses it now.
        let spans = unsafe { std::slice::from_raw_parts(self.spans, n) };
        let spans = spans
            .iter()
            .map(|s| [u64::from(s.phase), s.begin_ns, s.end_ns])
            .collect();
        Ok((spans, (counted - n) as u64))
    }

    fn stop(&mut self) -> Result<()> {
        if !self.recording {
            return Ok(());
        }
        self.recording = false;
        // SAFETY: a NULL buffer uninstalls the recorder; the shim keeps no pointer after.
        check(unsafe { sys::cb_phases_record(std::ptr::null_mut(), 0, std::ptr::null_mut()) })
    }
}

impl Drop for PhaseRecording {
    fn drop(&mut self) {
        if self.stop().is_err() {
            // Uninstalling cannot fail (no argument is checked); if it ever did, leaking the
            // buffers is the only sound choice: the shim might still write to them.
            return;
        }
        // SAFETY: both pointers came from Box::into_raw in `start` (a boxed slice of
        // `capacity` and one usize), are freed once here, and the shim no longer holds them.
        unsafe {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.spans,
                self.capacity,
            )));
            drop(Box::from_raw(self.len));
        }
    }
}
