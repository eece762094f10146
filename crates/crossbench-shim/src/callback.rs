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
    // SAFETY: `user` is the &mut CallbackState<F> passed by `generate` for this call only.
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

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
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
    let mut counters: sys::cb_counters = unsafe { std::mem::zeroed() };
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
    if let Some(msg) = state.panic.take() {
        return Err(ShimError::CallbackPanic(msg));
    }
    match check(status) {
        // A stop the consumer asked for is not an error.
        Err(e) if e.kind() == ErrorKind::Callback => Ok(counters),
        other => other.map(|_| counters),
    }
}
