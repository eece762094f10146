//! The C→Rust token callback of `cb_generate`, with panics caught at the boundary.

use crate::error::{check, ErrorKind, ShimError};
use crate::sys;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What the consumer wants after a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

struct CallbackState<F> {
    on_token: F,
    panic: Option<String>,
}

/// Called by C++ once per token. Never unwinds: a panic is stored and generation stopped.
extern "C" fn trampoline<F>(token: i32, index: u64, user: *mut c_void) -> c_int
where
    F: FnMut(u32, u64) -> Flow,
{
    // SAFETY: `user` is the &mut CallbackState<F> that `generate` or
    // `generate_on_thread` passed for this generation only; it outlives every
    // callback (the call, or cb_stream_wait's join, returns first).
    let state = unsafe { &mut *(user as *mut CallbackState<F>) };
    match catch_unwind(AssertUnwindSafe(|| (state.on_token)(token as u32, index))) {
        Ok(Flow::Continue) => 0,
        Ok(Flow::Stop) => 1,
        Err(payload) => {
            state.panic = Some(panic_message(payload.as_ref()));
            1
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

pub(crate) fn generate<F>(
    model: *mut sys::cb_model,
    prompt: &[u32],
    max_new: usize,
    sampling: sys::cb_sampling,
    on_token: F,
) -> Result<sys::cb_counters, ShimError>
where
    F: FnMut(u32, u64) -> Flow,
{
    let mut state = CallbackState {
        on_token,
        panic: None,
    };
    // SAFETY: cb_counters is plain integers, for which all-zero is valid.
    let mut counters: sys::cb_counters = unsafe { std::mem::zeroed() };
    // SAFETY: `model` is live (the caller holds &mut Model); prompt (u32 = i32 layout, not read
    // if n == 0), `sampling` and `counters` are valid for the call; `state` outlives it, as
    // cb_generate runs the trampoline synchronously on this thread, and it never unwinds.
    let status = unsafe {
        sys::cb_generate(
            model,
            prompt.as_ptr().cast(),
            prompt.len(),
            max_new,
            &sampling,
            Some(trampoline::<F>),
            (&mut state as *mut CallbackState<F>).cast(),
            &mut counters,
        )
    };
    finish(status, state.panic.take(), counters)
}

/// [`generate`] with the loop on a C++ thread the shim starts (`cb_generate_start`),
/// so `on_token` runs on that thread; this call waits for it (`cb_stream_wait`)
/// before returning, which is what lets `on_token` borrow from the caller.
pub(crate) fn generate_on_thread<F>(
    model: *mut sys::cb_model,
    prompt: &[u32],
    max_new: usize,
    sampling: sys::cb_sampling,
    on_token: F,
) -> Result<sys::cb_counters, ShimError>
where
    F: FnMut(u32, u64) -> Flow + Send,
{
    let mut state = CallbackState {
        on_token,
        panic: None,
    };
    // SAFETY: cb_counters is plain integers, for which all-zero is valid.
    let mut counters: sys::cb_counters = unsafe { std::mem::zeroed() };
    let mut stream: *mut sys::cb_stream = std::ptr::null_mut();
    // SAFETY: `model` is a live handle (the caller borrows its Model mutably), the shim copies
    // the prompt, and `state` outlives the thread that uses it: cb_stream_wait below joins that
    // thread before `state` is dropped. F: Send makes handing `on_token` to that thread sound.
    let started = check(unsafe {
        sys::cb_generate_start(
            model,
            prompt.as_ptr().cast(),
            prompt.len(),
            max_new,
            &sampling,
            Some(trampoline::<F>),
            (&mut state as *mut CallbackState<F>).cast(),
            &mut stream,
        )
    });
    started?;
    // SAFETY: `stream` came from a successful cb_generate_start and is waited once.
    let status = unsafe { sys::cb_stream_wait(stream, &mut counters) };
    finish(status, state.panic.take(), counters)
}

/// A callback's panic first, then a stop the consumer asked for (not an error).
fn finish(
    status: sys::cb_status::Type,
    panic: Option<String>,
    counters: sys::cb_counters,
) -> Result<sys::cb_counters, ShimError> {
    if let Some(msg) = panic {
        return Err(ShimError::CallbackPanic(msg));
    }
    match check(status) {
        Err(e) if e.kind() == ErrorKind::Callback => Ok(counters),
        other => other.map(|_| counters),
    }
}
