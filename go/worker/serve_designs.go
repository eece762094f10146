package main

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
)

// The two Go serve designs: who runs the engine's steps and how a token
// reaches the request's channel. Both drive the engine from the worker's
// main goroutine, which init (main.go) locked to the main thread. The shim
// runs every step on its shared MLX stream whatever thread calls, so the
// lock is not for MLX; it is for cb_last_error, which is per thread (a
// failed step's or join's message is read on the thread that made the
// call), and it keeps go-cgo-token's step loop on one OS thread, as a C++
// caller's loop would be, instead of migrating between steps.

//export goOnRequestToken
func goOnRequestToken(request C.uint64_t, token C.int32_t, index C.uint64_t, finished C.int,
	handle C.uintptr_t) (ret C.int) {
	// A Go panic must never unwind into the engine's C++ frames: it ends the
	// request (found by its id, should its handle be what failed) and
	// cancels it.
	defer func() {
		if p := recover(); p != nil {
			ret = 1
			if s := activeServer; s != nil && uint64(request) < uint64(len(s.reqs)) {
				r := s.reqs[request]
				r.failed.Store(true)
				s.end(r, "panic in the Go token callback: "+fmt.Sprint(p))
				closeTokens(r)
			}
		}
	}()
	r := cgo.Handle(handle).Value().(*serveReq)
	activeServer.goCallbacks.Add(1)
	if activeServer.deliver(r, int32(token), finished != 0) {
		return 1
	}
	return 0
}

// activeServer is the serve in progress (one at a time: the worker reads its
// requests in order); goOnRequestToken reaches it without a second handle.
var activeServer *server

// runStream is go-cgo-stream: the engine steps on the shim's C++ thread and
// calls goOnRequestToken per token, which sends into the request's channel
// without blocking (the note's GenerateStream callback, `ch <- token`, but
// never blocking the thread that serves every other request).
func (s *server) runStream() *genError {
	if st := C.cb_engine_start(s.engine); st != C.CB_OK {
		return shimError(st)
	}
	if st := C.cb_engine_join(s.engine); st != C.CB_OK {
		return shimError(st)
	}
	return nil
}

// runToken is go-cgo-token: this goroutine calls cb_engine_step per step,
// then fans the step's tokens out to the requests' channels. A request whose
// consumer failed or stalled is cancelled here, between steps, with one more
// cgo call (cb_engine_cancel): the engine drops it at the next step.
func (s *server) runToken() *genError {
	// Go memory handed to C for the call only (cgo pins it for the call);
	// cap = max_batch holds any step's tokens (crossbench_shim.h).
	buf := make([]C.cb_engine_token, s.t.maxBatch)
	var n, active C.size_t
	var done C.int
	for {
		st := C.cb_engine_step(s.engine, &buf[0], C.size_t(len(buf)), &n, &active, &done)
		if st != C.CB_OK {
			return shimError(st)
		}
		for _, t := range buf[:n] {
			if t.request >= C.uint64_t(len(s.reqs)) {
				return &genError{"CB_ERR_RUNTIME", fmt.Sprintf("the engine returned a token of request %d, not in the trace", t.request)}
			}
			if s.deliver(s.reqs[t.request], int32(t.token), t.finished != 0) {
				if st := C.cb_engine_cancel(s.engine, t.request); st != C.CB_OK {
					return shimError(st)
				}
			}
		}
		if done != 0 {
			return nil
		}
	}
}
