//! The counting layer: every call the model makes into MLX goes through here, so
//! `calls()` is the exact number of mlx-c *operation* calls issued (one per op:
//! array construction, math, fast kernels, eval/async_eval, item, clear_cache).
//!
//! Not counted: the handle bookkeeping mlx-rs 0.33 wraps around each of those
//! (per op it also calls mlx_device_new, mlx_get_default_device, mlx_stream_new,
//! mlx_get_default_stream, mlx_device_free, mlx_stream_free, mlx_array_new for the
//! result, and later mlx_array_free): a fixed overhead per op, read from its source.

use crate::Error;
use mlx_rs::Array;
use std::cell::Cell;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

/// mlx-c operation calls made so far by this thread.
pub fn calls() -> u64 {
    CALLS.with(Cell::get)
}

/// Counts `n` mlx-c operation calls and converts mlx-rs's error.
pub fn counted<T>(n: u64, r: Result<T, mlx_rs::error::Exception>) -> Result<T, Error> {
    CALLS.with(|c| c.set(c.get() + n));
    r.map_err(|e| Error::Mlx(e.to_string()))
}

/// One mlx-c call: the common case.
pub fn c<T>(r: Result<T, mlx_rs::error::Exception>) -> Result<T, Error> {
    counted(1, r)
}

/// `a[start..stop]` over every axis (unit strides): one mlx_slice.
pub fn slice(a: &Array, start: &[i32], stop: &[i32]) -> Result<Array, Error> {
    let strides = vec![1i32; start.len()];
    // SAFETY: `res` is raw_op's fresh handle, `a` is borrowed (alive) for the call, and each
    // pointer is valid for the length passed with it (`strides` has start.len() entries);
    // mlx-c catches MLX exceptions and reports them through the status.
    raw_op("mlx_slice", |res, s| unsafe {
        mlx_sys::mlx_slice(
            res,
            a.as_ptr(),
            start.as_ptr(),
            start.len(),
            stop.as_ptr(),
            stop.len(),
            strides.as_ptr(),
            strides.len(),
            s,
        )
    })
}

/// `a` with `a[start..stop] = update`: one mlx_slice_update.
pub fn slice_update(
    a: &Array,
    update: &Array,
    start: &[i32],
    stop: &[i32],
) -> Result<Array, Error> {
    let strides = vec![1i32; start.len()];
    // SAFETY: as in `slice`: `res` is raw_op's fresh handle, `a` and `update` are borrowed for
    // the call, and each pointer is valid for the length passed with it.
    raw_op("mlx_slice_update", |res, s| unsafe {
        mlx_sys::mlx_slice_update(
            res,
            a.as_ptr(),
            update.as_ptr(),
            start.as_ptr(),
            start.len(),
            stop.as_ptr(),
            stop.len(),
            strides.as_ptr(),
            strides.len(),
            s,
        )
    })
}

/// Runs one mlx-c op on the default stream, the way mlx-rs's own ops do.
fn raw_op(
    what: &str,
    op: impl FnOnce(*mut mlx_sys::mlx_array, mlx_sys::mlx_stream) -> i32,
) -> Result<Array, Error> {
    let stream = mlx_rs::Stream::thread_local_or_default();
    // SAFETY: a fresh empty handle, owned by the Array below whatever happens.
    let mut res = unsafe { mlx_sys::mlx_array_new() };
    let status = op(&mut res, stream.as_ptr());
    let out = unsafe { Array::from_ptr(res) };
    CALLS.with(|c| c.set(c.get() + 1));
    if status != 0 {
        return Err(Error::Mlx(format!("{what} failed (status {status})")));
    }
    Ok(out)
}
