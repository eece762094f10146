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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The Go serving client (docs/protocol.md "Serving"): the design note's
// MLXServer, one goroutine and one buffered channel per request, in front of
// the shim's continuous-batching engine. go-cgo-stream lets the engine run on
// the shim's C++ thread and call back into Go per token (serve_designs.go);
// go-cgo-token steps the engine from one goroutine through cgo and fans each
// step's tokens out. Everything is the same here: the trace, the dispatcher
// (closed or open loop), the consumers, and the non-blocking hand-off.

// channelCap is each request's channel: tokens the consumer may leave unread
// before the producer gives up on it (the engine must never block on Go).
const channelCap = 64

// serveReq is one request of the trace. ids and stamps are written only by
// the request's consumer goroutine and preallocated for max_new tokens;
// tokens is sent to and closed only by the producer side (closeTokens).
type serveReq struct {
	id        uint64
	maxNew    uint32
	arrivalNs uint64
	prompt    *C.int32_t // into the server's C block
	promptLen int
	user      C.uintptr_t // the engine's callback argument
	handle    cgo.Handle  // go-cgo-stream: what user names
	fault     string      // CROSSBENCH_SERVE_FAULT kind aimed at this request

	tokens       chan int32
	ids          []int32
	stamps       []uint64
	failed       atomic.Bool   // the consumer failed: cancel at the next token
	producerDone atomic.Bool   // tokens is closed
	engineDoneNs atomic.Uint64 // when the engine sent the last token (watchdog)
	ended        atomic.Bool   // end ran: err and endNs are set
	submitted    bool          // dispatcher's; read after it returned
	submitNs     uint64
	endNs        uint64
	err          string
}

type server struct {
	backend  string
	shape    shape
	t        *trace
	engine   *C.cb_engine
	callback C.cb_request_callback
	reqs     []*serveReq
	prompts  unsafe.Pointer // C memory: every prompt of the trace
	msg      []C.char       // the dispatcher's buffer for a failed submit's message

	start      uint64
	ends       chan *serveReq // buffered for every request: end never blocks
	finished   chan *serveReq // the engine sent a request's last token (buffered alike)
	abort      chan struct{}  // closed when the engine failed
	dispatched chan struct{}  // closed when the dispatcher returned
	release    chan struct{}  // closed once serving is over: stalled consumers return
	consumers  sync.WaitGroup

	goCallbacks    atomic.Uint64
	goroutinesPeak int // sampled by the dispatcher at each submit and end
}

// newServer allocates everything the serve touches before it starts: the
// prompts in C memory (cb_engine_submit copies them, and C memory is exempt
// from cgo's pointer rules), the per-request slices and channels, and the
// go-cgo-stream handles.
func newServer(backend string, sh shape, t *trace) *server {
	n := len(t.requests)
	s := &server{backend: backend, shape: sh, t: t, reqs: make([]*serveReq, n),
		ends: make(chan *serveReq, n), finished: make(chan *serveReq, n), abort: make(chan struct{}),
		dispatched: make(chan struct{}), release: make(chan struct{}), msg: make([]C.char, 1024)}
	total := 0
	for _, r := range t.requests {
		total += len(r.prompt)
	}
	s.prompts = C.malloc(C.size_t(4 * total))
	prompts := unsafe.Slice((*int32)(s.prompts), total)
	if sh != perToken {
		s.callback = C.cb_request_callback(C.cbgo_on_request_token)
	} // go-cgo-token: no callback; tokens come out of cb_engine_step's buffer
	faultKind, faultAt := serveFaultFromEnv(backend)
	off := 0
	for i, tr := range t.requests {
		r := &serveReq{id: uint64(i), maxNew: tr.maxNew, arrivalNs: tr.arrivalNs,
			prompt: (*C.int32_t)(unsafe.Pointer(&prompts[off])), promptLen: len(tr.prompt),
			tokens: make(chan int32, channelCap),
			ids:    make([]int32, 0, tr.maxNew), stamps: make([]uint64, 0, tr.maxNew)}
		off += copy(prompts[off:], tr.prompt)
		if sh != perToken {
			r.handle = cgo.NewHandle(r)
			r.user = C.uintptr_t(r.handle)
		}
		if faultKind != "" && faultAt == uint64(i) {
			r.fault = faultKind
		}
		s.reqs[i] = r
	}
	return s
}

func (s *server) free() {
	if s.engine != nil {
		C.cb_engine_free(s.engine) // joins the engine's thread if one was started
	}
	for _, r := range s.reqs {
		if r.handle != 0 {
			r.handle.Delete()
		}
	}
	C.free(s.prompts)
}

func (s *server) open(model *C.cb_model) *genError {
	fill := uint32(0)
	if s.t.closed {
		fill = s.t.concurrency
	}
	opts := C.cb_engine_options{max_batch: C.uint32_t(s.t.maxBatch), fill_to: C.uint32_t(fill),
		expected_requests: C.uint64_t(len(s.reqs)), admit_timeout_ns: C.uint64_t(s.t.admitTimeout)}
	if st := C.cb_engine_new(model, &opts, &s.engine); st != C.CB_OK {
		s.engine = nil
		return shimError(st)
	}
	return nil
}

// serveFaultFromEnv reads CROSSBENCH_SERVE_FAULT="<backend>:<kind>@<request
// id>": that request's consumer panics (`panic`) or stops reading (`stall`)
// at its second token.
func serveFaultFromEnv(backend string) (string, uint64) {
	spec, ok := strings.CutPrefix(os.Getenv("CROSSBENCH_SERVE_FAULT"), backend+":")
	kind, at, found := strings.Cut(spec, "@")
	id, err := strconv.ParseUint(at, 10, 64)
	if !ok || !found || err != nil || (kind != "panic" && kind != "stall") {
		return "", 0
	}
	return kind, id
}

// end ends r once, with err ("" = completed) and the time, and tells the
// dispatcher; the first caller wins (the consumer, or the producer when the
// consumer stalled).
func (s *server) end(r *serveReq, err string) {
	if !r.ended.CompareAndSwap(false, true) {
		return
	}
	r.err, r.endNs = err, nowNs()
	s.ends <- r
}

// closeTokens closes r's channel once: after its last token, or when the
// request was dropped (cancelled, rejected, or left by a failed engine).
func closeTokens(r *serveReq) {
	if r.producerDone.CompareAndSwap(false, true) {
		close(r.tokens)
	}
}

// deliver hands one token to r's consumer without ever blocking the engine's
// thread; true asks the engine to cancel r. A full channel means the
// consumer stalled: the request ends with that error.
func (s *server) deliver(r *serveReq, tok int32, finished bool) bool {
	if r.producerDone.Load() {
		return true
	}
	if r.failed.Load() {
		closeTokens(r)
		return true
	}
	select {
	case r.tokens <- tok:
		if finished {
			closeTokens(r)
			r.engineDoneNs.Store(nowNs())
			s.finished <- r
		}
		return false
	default:
		s.end(r, fmt.Sprintf("consumer stalled: %d tokens unread", channelCap))
		closeTokens(r)
		return true
	}
}

// consume is a request's goroutine: it stamps each token as it receives it.
// A panic ends the request with an error and never leaves the goroutine; the
// producer sees failed and cancels the request at its next token.
func (s *server) consume(r *serveReq) {
	defer s.consumers.Done()
	defer func() {
		if p := recover(); p != nil {
			r.failed.Store(true)
			s.end(r, "panic in the Go token consumer: "+fmt.Sprint(p))
		}
	}()
	for tok := range r.tokens {
		r.stamps = append(r.stamps, nowNs())
		r.ids = append(r.ids, tok)
		if r.fault != "" && len(r.ids) == 2 {
			injectServeFault(r, s.release)
			return // stalled until the serve was over
		}
	}
	s.end(r, "")
}

// injectServeFault, at the faulted request's second token: panic, or stall
// (read nothing more until the serve is over; the producer or the watchdog
// ends the request).
func injectServeFault(r *serveReq, release chan struct{}) {
	if r.fault == "panic" {
		panic(fmt.Sprintf("injected panic in the consumer of request %d at token 1", r.id))
	}
	<-release
}

// submit starts r's goroutine, then hands r to the engine (thread-safe). A
// rejected request ends at once with the shim's message. The prompt is C
// memory; s.msg is Go memory that C writes during the call only and holds
// no Go pointers, which cgo's rules allow (it is pinned for the call).
func (s *server) submit(r *serveReq) {
	r.submitted = true
	r.submitNs = nowNs()
	s.consumers.Add(1)
	go s.consume(r)
	st := C.cbgo_engine_submit(s.engine, C.uint64_t(r.id), r.prompt, C.size_t(r.promptLen),
		C.uint32_t(r.maxNew), s.callback, r.user, &s.msg[0], C.size_t(len(s.msg)))
	if st != C.CB_OK {
		e := statusError(st, C.GoString(&s.msg[0]))
		closeTokens(r)
		s.end(r, "submit failed: "+e.code+": "+e.message)
	}
}

// dispatch is the client: closed loop, C requests in flight, the next
// submitted as one ends; open loop, each submitted at its arrival time. It
// returns when every request ended, or when the engine failed.
func (s *server) dispatch() {
	defer close(s.dispatched)
	n := len(s.reqs)
	arrival := time.NewTimer(time.Hour)
	arrival.Stop()
	dog := newWatchdog(n)
	next, ended := 0, 0
	for ended < n {
		for next < n && s.due(next, ended) {
			s.submit(s.reqs[next])
			if next++; next == n {
				C.cb_engine_close(s.engine) // no more submissions
			}
			s.goroutinesPeak = max(s.goroutinesPeak, runtime.NumGoroutine())
		}
		var arrived <-chan time.Time
		if !s.t.closed && next < n {
			arrival.Reset(time.Duration(int64(s.start+s.reqs[next].arrivalNs) - int64(nowNs())))
			arrived = arrival.C
		}
		select {
		case <-s.ends:
			ended++
			s.goroutinesPeak = max(s.goroutinesPeak, runtime.NumGoroutine())
		case r := <-s.finished:
			dog.watch(r)
		case <-dog.wake():
			dog.check(s)
		case <-arrived:
		case <-s.abort:
			return
		}
	}
}

func (s *server) due(next, ended int) bool {
	if s.t.closed {
		return next-ended < int(s.t.concurrency)
	}
	return nowNs() >= s.start+s.reqs[next].arrivalNs
}

// sweep ends the requests a failed engine left behind. The engine's thread
// is joined (or its stepping goroutine returned) and the dispatcher is gone,
// so nothing else sends to or closes these channels now.
func (s *server) sweep(engineErr *genError) {
	if engineErr == nil {
		return
	}
	for _, r := range s.reqs {
		if r.submitted && !r.producerDone.Load() {
			s.end(r, "engine failed: "+engineErr.code+": "+engineErr.message)
			closeTokens(r)
		}
	}
}
