//! The serving engine (`cb_engine_*`): continuous batching over one model.
//! Requests are submitted from any thread; steps run on whichever thread
//! calls [`Engine::step`], and each token reaches the engine's `on_token`
//! there. A panic in `on_token` is caught at the boundary and cancels that
//! request only.

use crate::callback::panic_message;
use crate::error::{check, ShimError};
use crate::{sys, Flow, Model, Result};
use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::time::Duration;

pub type EngineStats = sys::cb_engine_stats;

/// `cb_engine_options`: see the header's "Serving engine".
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    pub max_batch: u32,
    /// Closed-loop concurrency; 0 for an open loop.
    pub fill_to: u32,
    pub expected_requests: u64,
    pub admit_timeout: Duration,
}

/// One token of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepToken {
    pub request: u64,
    pub token: u32,
    pub index: u32,
    pub finished: bool,
}

/// One step of the schedule: its start (CLOCK_MONOTONIC ns), the requests
/// prefilled in it and those in its decode pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledStep {
    pub start_ns: u64,
    pub prefilled: Vec<u64>,
    pub decoded: Vec<u64>,
}

type OnToken<'f> = dyn Fn(u64, u32, u64, bool) -> Flow + Sync + 'f;

struct Callback<'f> {
    on_token: Box<OnToken<'f>>,
    panics: Mutex<Vec<(u64, String)>>,
}

pub struct Engine<'m> {
    raw: NonNull<sys::cb_engine>,
    callback: Box<Callback<'m>>,
    max_batch: usize,
    _model: PhantomData<&'m mut Model>,
}

// SAFETY: the C++ engine guards its queue with a mutex (submit, close: any
// thread, concurrently), and every step holds the shim's shared-stream mutex,
// so two threads stepping at once run one after the other. What is not
// synchronised in C++ (stats, schedule) takes &mut self here. The callback is
// Sync, and the model is borrowed mutably for the engine's whole life.
unsafe impl Send for Engine<'_> {}
unsafe impl Sync for Engine<'_> {}

/// Called by C++ for each token of a request. Never unwinds.
extern "C" fn trampoline(
    request: u64,
    token: i32,
    index: u64,
    finished: c_int,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the engine's boxed Callback, alive until the engine is
    // freed (Drop frees the C++ engine, whose steps make these calls, first).
    let cb = unsafe { &*(user as *const Callback<'_>) };
    let call = || (cb.on_token)(request, token as u32, index, finished != 0);
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Flow::Continue) => 0,
        Ok(Flow::Stop) => 1,
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            cb.panics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((request, msg));
            1
        }
    }
}

impl Model {
    /// A serving engine over this model. `on_token(request, token, index,
    /// finished)` runs on the stepping thread; `Flow::Stop` cancels the request.
    pub fn engine<'m, F>(&'m mut self, options: EngineOptions, on_token: F) -> Result<Engine<'m>>
    where
        F: Fn(u64, u32, u64, bool) -> Flow + Sync + 'm,
    {
        let opts = sys::cb_engine_options {
            max_batch: options.max_batch,
            fill_to: options.fill_to,
            expected_requests: options.expected_requests,
            admit_timeout_ns: options.admit_timeout.as_nanos().min(u64::MAX as u128) as u64,
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: the model handle is live and borrowed mutably for 'm; `opts` and `raw`
        // are valid for the call (the shim copies the options).
        check(unsafe { sys::cb_engine_new(self.raw.as_ptr(), &opts, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or_else(|| ShimError::null("cb_engine_new"))?;
        let callback = Box::new(Callback {
            on_token: Box::new(on_token),
            panics: Mutex::new(Vec::new()),
        });
        Ok(Engine {
            raw,
            callback,
            max_batch: options.max_batch as usize,
            _model: PhantomData,
        })
    }
}

impl Engine<'_> {
    /// Queues a request (any thread). Its tokens go to the engine's `on_token`.
    pub fn submit(&self, request: u64, prompt: &[u32], max_new: u32) -> Result<()> {
        let user = &*self.callback as *const Callback<'_> as *mut c_void;
        // SAFETY: the engine is live; the shim copies the prompt (u32 has i32's layout);
        // `user` stays valid until the engine is freed (see trampoline).
        check(unsafe {
            sys::cb_engine_submit(
                self.raw.as_ptr(),
                request,
                prompt.as_ptr().cast(),
                prompt.len(),
                max_new,
                Some(trampoline),
                user,
            )
        })
    }

    /// Cancels a request from outside its callback (any thread); it leaves
    /// at the start of the next step.
    pub fn cancel(&self, request: u64) -> Result<()> {
        // SAFETY: the engine is live; cancel is synchronised in C++.
        check(unsafe { sys::cb_engine_cancel(self.raw.as_ptr(), request) })
    }

    /// No more submissions (any thread).
    pub fn close(&self) -> Result<()> {
        // SAFETY: the engine is live; close is synchronised in C++.
        check(unsafe { sys::cb_engine_close(self.raw.as_ptr()) })
    }

    /// One step on this thread; its tokens are appended to `out`. Returns true
    /// once the engine is done.
    pub fn step(&self, out: &mut Vec<StepToken>) -> Result<bool> {
        let mut buf = vec![
            sys::cb_engine_token {
                request: 0,
                token: 0,
                index: 0,
                finished: 0,
                reserved: 0
            };
            self.max_batch
        ];
        let (mut n, mut active, mut done) = (0usize, 0usize, 0 as c_int);
        // SAFETY: the engine is live; `buf` holds max_batch entries, which the shim checks
        // against cap; the out pointers are valid for the call.
        check(unsafe {
            sys::cb_engine_step(
                self.raw.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut n,
                &mut active,
                &mut done,
            )
        })?;
        out.extend(buf[..n.min(buf.len())].iter().map(|t| StepToken {
            request: t.request,
            token: t.token as u32,
            index: t.index,
            finished: t.finished != 0,
        }));
        Ok(done != 0)
    }

    /// Panics caught in `on_token` since the last call: (request, message).
    pub fn take_panics(&self) -> Vec<(u64, String)> {
        std::mem::take(
            &mut *self
                .callback
                .panics
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    pub fn stats(&mut self) -> Result<EngineStats> {
        // SAFETY: cb_engine_stats is plain integers, for which all-zero is valid.
        let mut s: EngineStats = unsafe { std::mem::zeroed() };
        // SAFETY: the engine is live and no step runs (&mut self); `s` is a valid out pointer.
        check(unsafe { sys::cb_engine_get_stats(self.raw.as_ptr(), &mut s) })?;
        Ok(s)
    }

    /// The step schedule so far.
    pub fn schedule(&mut self) -> Vec<ScheduledStep> {
        // SAFETY: the engine is live and no step runs (&mut self); a NULL out with cap 0
        // only asks for the length.
        let n = unsafe { sys::cb_engine_schedule(self.raw.as_ptr(), std::ptr::null_mut(), 0) };
        let mut words = vec![0u64; n];
        // SAFETY: as above, with `words` holding n entries.
        let n = unsafe { sys::cb_engine_schedule(self.raw.as_ptr(), words.as_mut_ptr(), n) };
        parse_schedule(&words[..n.min(words.len())])
    }
}

/// The header's flat schedule: per step start, n, ids, n, ids.
fn parse_schedule(words: &[u64]) -> Vec<ScheduledStep> {
    let mut steps = Vec::new();
    let mut it = words.iter().copied();
    let take = |it: &mut dyn Iterator<Item = u64>| {
        let n = it.next().unwrap_or(0) as usize;
        it.take(n).collect::<Vec<u64>>()
    };
    while let Some(start_ns) = it.next() {
        let prefilled = take(&mut it);
        let decoded = take(&mut it);
        steps.push(ScheduledStep {
            start_ns,
            prefilled,
            decoded,
        });
    }
    steps
}

impl Drop for Engine<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once, here; the callback box is dropped
        // after this (field order does not matter: Drop::drop runs before the fields').
        unsafe { sys::cb_engine_free(self.raw.as_ptr()) }
    }
}
