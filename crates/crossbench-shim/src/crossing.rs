//! Safe wrappers over the shim's crossing test hooks, used by the criterion
//! benchmarks in `benches/` (see `crossbench claims`). Each wrapper is what a
//! real caller would write, bounds checks included, so the numbers are those
//! of safe Rust code, not of raw `unsafe` calls.

use crate::error::check;
use crate::{sys, Result};
use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

struct State<F> {
    f: F,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// Called by C++ `n` times. Never unwinds into C++: a panic is stored and
/// re-raised in Rust once the shim returns.
extern "C" fn int_trampoline<F: FnMut(i32) -> i32>(x: i32, user: *mut c_void) -> i32 {
    // SAFETY: `user` is the &mut State<F> that `call_callback_n` passed for this call.
    let state = unsafe { &mut *(user as *mut State<F>) };
    if state.panic.is_some() {
        return 0;
    }
    match catch_unwind(AssertUnwindSafe(|| (state.f)(x))) {
        Ok(v) => v,
        Err(p) => {
            state.panic = Some(p);
            0
        }
    }
}

/// One Rust→C crossing in which C calls `f(i)` for i in 0..n (n C→Rust
/// crossings); returns the sum of the results.
pub fn call_callback_n<F: FnMut(i32) -> i32>(n: u64, f: F) -> i64 {
    let mut state = State { f, panic: None };
    let user = (&mut state as *mut State<F>).cast();
    // SAFETY: `user` points at `state`, which outlives the call: cb_call_callback_n runs the
    // trampoline synchronously on this thread, n times, before it returns; the trampoline
    // (matching cb_int_callback's signature) never unwinds into C++.
    let sum = unsafe { sys::cb_call_callback_n(Some(int_trampoline::<F>), user, n) };
    if let Some(p) = state.panic.take() {
        resume_unwind(p);
    }
    sum
}

/// Passes a NUL-terminated prompt; C scans it for its length.
#[inline]
pub fn prompt_cstr(s: &CStr) -> u64 {
    // SAFETY: `s` is a valid NUL-terminated string borrowed for the call; the shim only reads
    // it up to its NUL (strlen) and keeps no pointer.
    unsafe { sys::cb_prompt_cstr(s.as_ptr()) }
}

/// Passes a prompt as borrowed bytes plus a length: no allocation, no scan.
#[inline]
pub fn prompt_bytes(b: &[u8]) -> u64 {
    // SAFETY: `b` is valid for `b.len()` byte reads during the call; for n == 0 the shim reads
    // nothing, so an empty slice's dangling pointer is never dereferenced.
    unsafe { sys::cb_prompt_bytes(b.as_ptr(), b.len()) }
}

/// One crossing per element: C writes `v` at `dst[i]`.
#[inline]
pub fn set_float(dst: &mut [f32], i: usize, v: f32) {
    assert!(i < dst.len(), "index {i} out of bounds ({})", dst.len());
    // SAFETY: the assert above gives `i < dst.len()`, so the shim's unchecked `dst[i] = v`
    // writes inside the exclusively borrowed slice.
    unsafe { sys::cb_set_float(dst.as_mut_ptr(), i, v) }
}

/// One crossing, one bulk copy of `src` into `dst` by C.
#[inline]
pub fn copy_floats(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy_floats needs equal lengths");
    // SAFETY: both slices hold `src.len()` floats (asserted) and cannot overlap (`&mut` vs `&`),
    // as the shim's memcpy requires; it copies nothing when n == 0.
    unsafe { sys::cb_copy_floats(dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// One crossing, no copy: C reads the caller's memory through the pointer.
#[inline]
pub fn borrow_floats(src: &[f32]) -> f32 {
    // SAFETY: `src` is valid for `src.len()` reads; the shim reads only src[0] and src[n - 1],
    // and nothing when n == 0.
    unsafe { sys::cb_borrow_floats(src.as_ptr(), src.len()) }
}

/// `n` tiny MLX evaluations inside one crossing (the in-C++ twin of `n`
/// [`crate::mlx_eval_one`] calls).
pub fn mlx_eval_n(n: u64) -> Result<f32> {
    let mut out = 0f32;
    // SAFETY: `out` is a live, writable f32 for the call; the shim writes only it and catches
    // every exception (guard_uncounted).
    check(unsafe { sys::cb_mlx_eval_n(n, &mut out) })?;
    Ok(out)
}
