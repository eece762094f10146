//! Zero-copy delivery of MLX results: a guard that keeps the MLX array alive
//! and lends its buffer as `&[f32]`.
//!
//! Why this is sound: `cb_array_view` owns a reference to the evaluated MLX
//! array, so the pointer the shim hands out stays valid until
//! `cb_array_view_free`, which only [`EmbeddingView`]'s `Drop` calls. The
//! slice `Deref` returns borrows the guard, so the borrow checker rejects any
//! use of the slice after the guard is dropped:
//!
//! ```compile_fail
//! fn first(model: &crossbench_shim::Model) -> f32 {
//!     let slice: &[f32] = {
//!         let view = model.embed_view(&[1, 2, 3]).unwrap();
//!         &view[..] // error: `view` does not live long enough
//!     };
//!     slice[0]
//! }
//! ```
//!
//! ```compile_fail
//! fn first(model: &crossbench_shim::Model) -> f32 {
//!     let view = model.embed_view(&[1, 2, 3]).unwrap();
//!     let slice: &[f32] = &view;
//!     drop(view); // error: cannot move out of `view` because it is borrowed
//!     slice[0]
//! }
//! ```
//!
//! The guard also borrows the model, so the model cannot be freed under it:
//!
//! ```compile_fail
//! fn first(model: crossbench_shim::Model) -> f32 {
//!     let view = model.embed_view(&[1, 2, 3]).unwrap();
//!     drop(model); // error: cannot move out of `model` because it is borrowed
//!     view[0]
//! }
//! ```

use crate::error::check;
use crate::{sys, Model, Result, ShimError};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A float32 vector owned by MLX, borrowed for as long as this guard lives.
/// Not `Send`: MLX arrays are used on the thread that made them.
pub struct EmbeddingView<'m> {
    raw: NonNull<sys::cb_array_view>,
    data: *const f32,
    len: usize,
    _owner: PhantomData<&'m Model>,
}

impl<'m> EmbeddingView<'m> {
    /// Takes ownership of a view the shim just handed out.
    fn adopt(raw: *mut sys::cb_array_view, data: *const f32, len: usize) -> Result<Self> {
        let raw = NonNull::new(raw).ok_or_else(|| ShimError::null("cb_array_view"))?;
        // Constructed first so that the view is freed even on the error below.
        let view = EmbeddingView {
            raw,
            data,
            len,
            _owner: PhantomData,
        };
        if data.is_null() || !(data as usize).is_multiple_of(std::mem::align_of::<f32>()) {
            return Err(ShimError::null("cb_array_view data"));
        }
        Ok(view)
    }

    /// The copying path, for comparison: one crossing that copies the floats
    /// into `out` (as `cb_embed` does). Returns how many were written.
    pub fn copy_into(&self, out: &mut [f32]) -> Result<usize> {
        let mut len = 0usize;
        // SAFETY: `self.raw` is a live view (freed only in Drop); `out` has `out.len()` writable
        // floats and the shim copies at most min(cap, len) of them; `len` is a valid out pointer.
        check(unsafe {
            sys::cb_array_view_copy(self.raw.as_ptr(), out.as_mut_ptr(), out.len(), &mut len)
        })?;
        Ok(len.min(out.len()))
    }
}

impl std::ops::Deref for EmbeddingView<'_> {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `data` points at `len` initialised, aligned f32s inside the MLX buffer that
        // `raw` keeps alive until `drop`; the returned slice borrows `self`, so it cannot outlive
        // that. MLX never writes to an evaluated array it has handed out: no aliasing `&mut`.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

impl Drop for EmbeddingView<'_> {
    fn drop(&mut self) {
        // SAFETY: `self.raw` was handed out by the shim and adopted by this guard alone; it is
        // freed once, here, and no slice from Deref can outlive `self`.
        unsafe { sys::cb_array_view_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for EmbeddingView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingView")
            .field("len", &self.len)
            .finish()
    }
}

impl Model {
    /// Final hidden state of the prompt's last position, borrowed from MLX
    /// with no copy (compare [`Model::embed`], which copies into a Vec).
    pub fn embed_view(&self, prompt: &[u32]) -> Result<EmbeddingView<'_>> {
        let (mut raw, mut data, mut len) = (std::ptr::null_mut(), std::ptr::null(), 0usize);
        // SAFETY: the model handle is live (self is borrowed for the view's 'm); `prompt` is valid
        // for `prompt.len()` i32-sized reads (u32 layout; n == 0 is rejected before any read); the
        // three out pointers are valid locals, and `adopt` takes ownership of the returned view.
        check(unsafe {
            sys::cb_embed_view(
                self.raw.as_ptr(),
                prompt.as_ptr().cast(),
                prompt.len(),
                &mut raw,
                &mut data,
                &mut len,
            )
        })?;
        EmbeddingView::adopt(raw, data, len)
    }
}

/// An evaluated MLX array 0, 1, ..., n-1 lent as a view (delivery benchmarks).
pub fn test_array_view(n: usize) -> Result<EmbeddingView<'static>> {
    let (mut raw, mut data, mut len) = (std::ptr::null_mut(), std::ptr::null(), 0usize);
    // SAFETY: the three out pointers are valid locals; on success the shim hands over a new
    // view (owning its array) that `adopt` takes ownership of; no model is involved.
    check(unsafe { sys::cb_test_array_view(n, &mut raw, &mut data, &mut len) })?;
    EmbeddingView::adopt(raw, data, len)
}
