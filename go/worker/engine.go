package main

/*
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// The API shape a Go backend uses (the design note's three Go designs).
type shape int

const (
	perToken shape = iota // go-cgo-token: Go owns the loop, one cgo call per token
	batched               // go-cgo-batched: one cgo call, an exported Go callback per token
	stream                // go-cgo-stream: the loop on the shim's C++ thread, tokens into a channel
)

// genError is a failed generation: a CB_ERR_* code and a message.
type genError struct{ code, message string }

func (e *genError) Error() string { return e.message }

var statusNames = map[C.cb_status]string{
	C.CB_ERR_IO: "CB_ERR_IO", C.CB_ERR_FORMAT: "CB_ERR_FORMAT", C.CB_ERR_SHAPE: "CB_ERR_SHAPE",
	C.CB_ERR_UNSUPPORTED: "CB_ERR_UNSUPPORTED", C.CB_ERR_ARGUMENT: "CB_ERR_ARGUMENT",
	C.CB_ERR_RUNTIME: "CB_ERR_RUNTIME", C.CB_ERR_CALLBACK: "CB_ERR_CALLBACK",
}

// shimError reads the message of a failed call. Only valid on the thread that
// made the call: the worker's main goroutine is locked to its thread (main.go).
func shimError(s C.cb_status) *genError {
	return statusError(s, C.GoString(C.cb_last_error()))
}

func statusError(s C.cb_status, msg string) *genError {
	name, ok := statusNames[s]
	if !ok {
		name = "CB_ERR_RUNTIME"
	}
	return &genError{name, msg}
}

// generation is one request's state, reached from the shim's callback
// through a cgo.Handle. ids and stamps are allocated for the whole request
// before it starts, so recording a token allocates nothing.
type generation struct {
	ids      []int32
	stamps   []uint64
	fault    fault
	panicMsg string
	// Counted where they happen: each call of goOnToken.
	goCallbacks uint64
	// go-cgo-stream only: the callback sends into tokens; stop asks the
	// shim's thread to end the generation (the consumer panicked).
	tokens chan int32
	stop   atomic.Bool
	// bench --phases (nil when off); consumerSpans is false for go-cgo-stream,
	// whose consumer runs on another thread than the shim's loop.
	phases        *phaseLog
	consumerSpans bool
}

// take is the consumer: it holds the token now.
func (g *generation) take(token int32) {
	t := nowNs()
	g.fault.maybeInject(uint64(len(g.ids)))
	g.ids = append(g.ids, token)
	g.stamps = append(g.stamps, t)
	if g.consumerSpans {
		g.phases.add(phaseConsumer, t, nowNs())
	}
	if tokenProgress { // [run] token_progress: one stderr line per token
		os.Stderr.WriteString("crossbench-token\n")
	}
}

//export goOnToken
func goOnToken(token C.int32_t, index C.uint64_t, handle C.uintptr_t) (ret C.int) {
	g := cgo.Handle(handle).Value().(*generation)
	g.goCallbacks++
	// A Go panic must never unwind into the shim's C++ frames: keep its
	// message, and return non-zero so that the shim stops the generation.
	defer func() {
		if r := recover(); r != nil {
			g.panicMsg = fmt.Sprint(r)
			ret = 1
		}
	}()
	if g.tokens != nil {
		if g.stop.Load() {
			return 1
		}
		g.tokens <- int32(token) // buffered for the whole request: never blocks
		return 0
	}
	g.take(int32(token))
	return 0
}

func cSampling(r request) C.cb_sampling {
	return C.cb_sampling{temperature: C.float(r.temperature), top_p: C.float(r.topP), seed: C.uint64_t(r.seed)}
}

func promptPtr(r request) *C.int32_t {
	return (*C.int32_t)(unsafe.Pointer(unsafe.SliceData(r.prompt)))
}

// runPerToken: Go owns the loop; one cgo call per token, then finish drains
// the step queued past the last token (the same passes as every backend).
func runPerToken(model *C.cb_model, r request, g *generation) (c C.cb_counters, err *genError) {
	samp := cSampling(r)
	var sess *C.cb_session
	if s := C.cb_session_new(model, &samp, &sess); s != C.CB_OK {
		return c, shimError(s)
	}
	defer C.cb_session_free(sess)
	var tok C.int32_t
	if s := C.cb_prefill(sess, promptPtr(r), C.size_t(len(r.prompt)), &tok); s != C.CB_OK {
		return c, shimError(s)
	}
	g.take(int32(tok))
	for i := uint32(1); i < r.maxNew; i++ {
		begin := uint64(0)
		if g.phases != nil {
			begin = nowNs()
		}
		if s := C.cb_decode_step(sess, &tok); s != C.CB_OK {
			return c, shimError(s)
		}
		if g.phases != nil {
			g.phases.add(phaseCrossing, begin, nowNs())
		}
		g.take(int32(tok))
	}
	if s := C.cb_session_finish(sess, &c); s != C.CB_OK {
		return c, shimError(s)
	}
	return c, nil
}

// runBatched: one cgo call for the whole generation; the shim calls back
// into Go (goOnToken) on this goroutine's own thread.
func runBatched(model *C.cb_model, r request, g *generation) (c C.cb_counters, err *genError) {
	samp := cSampling(r)
	h := cgo.NewHandle(g)
	defer h.Delete()
	s := C.cbgo_generate(model, promptPtr(r), C.size_t(len(r.prompt)), C.size_t(r.maxNew), &samp, C.uintptr_t(h), &c)
	if g.panicMsg != "" {
		return c, &genError{"CB_ERR_CALLBACK_PANIC", "panic in the Go token callback: " + g.panicMsg}
	}
	if s != C.CB_OK {
		return c, shimError(s)
	}
	return c, nil
}

type waited struct {
	status   C.cb_status
	counters C.cb_counters
	message  string
}

// runStream: the design note's GenerateStream. The shim runs the loop on a
// C++ thread it starts; each token arrives through goOnToken on that foreign
// thread and goes into a channel that this goroutine consumes. A second
// goroutine waits for the shim's thread and closes the channel.
func runStream(model *C.cb_model, r request, g *generation) (c C.cb_counters, err *genError) {
	samp := cSampling(r)
	g.tokens = make(chan int32, r.maxNew)
	h := cgo.NewHandle(g)
	defer h.Delete()
	var job *C.cb_stream
	s := C.cbgo_generate_start(model, promptPtr(r), C.size_t(len(r.prompt)), C.size_t(r.maxNew), &samp, C.uintptr_t(h), &job)
	if s != C.CB_OK {
		return c, shimError(s)
	}
	done := make(chan waited, 1)
	go func() {
		var w waited
		msg := make([]byte, 1024)
		w.status = C.cbgo_stream_wait(job, &w.counters, (*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)))
		w.message = C.GoString((*C.char)(unsafe.Pointer(&msg[0])))
		close(g.tokens) // the shim's thread has ended: no callback can send any more
		done <- w
	}()
	consumerPanic := consumeStream(g)
	w := <-done
	switch {
	case consumerPanic != "":
		return w.counters, &genError{"CB_ERR_CALLBACK_PANIC", "panic in the Go token consumer: " + consumerPanic}
	case g.panicMsg != "":
		return w.counters, &genError{"CB_ERR_CALLBACK_PANIC", "panic in the Go token callback: " + g.panicMsg}
	case w.status != C.CB_OK:
		return w.counters, statusError(w.status, w.message)
	}
	return w.counters, nil
}

// consumeStream takes every token from the channel until it is closed. A panic
// in the consumer stops the generation and drains the channel, so the shim's
// thread and the waiting goroutine always finish.
func consumeStream(g *generation) (panicMsg string) {
	defer func() {
		if r := recover(); r != nil {
			panicMsg = fmt.Sprint(r)
			g.stop.Store(true)
			for range g.tokens {
			}
		}
	}()
	for tok := range g.tokens {
		g.take(tok)
	}
	return ""
}

// guardGo turns a Go panic in the Go-owned loop (go-cgo-token's consumer)
// into a typed error: the loop's cgo calls have all returned by then.
func guardGo(run func() (C.cb_counters, *genError)) (c C.cb_counters, err *genError) {
	defer func() {
		if r := recover(); r != nil {
			err = &genError{"CB_ERR_CALLBACK_PANIC", "panic in the Go token consumer: " + fmt.Sprint(r)}
		}
	}()
	return run()
}

// crossings are the generation's boundary crossings, counted where they
// happen: cgo calls by Go's runtime, entry points by the shim.
type crossings struct{ cgoCalls, abiCalls uint64 }

func countCrossings(run func()) crossings {
	abiBefore := uint64(C.cbgo_abi_calls_total())
	cgoBefore := runtime.NumCgoCall()
	run()
	cgo := uint64(runtime.NumCgoCall() - cgoBefore)
	return crossings{cgoCalls: cgo, abiCalls: uint64(C.cbgo_abi_calls_total()) - abiBefore}
}
