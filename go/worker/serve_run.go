package main

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"strconv"
	"unsafe"
)

// serveRequest answers one `serve` line: serve the whole trace, then write
// every event (nothing is written while serving). The checks come in the
// Rust workers' order: the line, the backend, the trace file.
func (w *worker) serveRequest(line string) {
	path, err := serveTracePath(line)
	if err == nil && w.shape == batched {
		err = &genError{"CB_ERR_UNSUPPORTED", w.backend + " has no serving design (serve: go-cgo-stream, go-cgo-token)"}
	}
	var t *trace
	if err == nil {
		t, err = readTrace(path)
	}
	if err != nil {
		w.emit(errorLine(err.code, err.message))
		return
	}
	s := newServer(w.backend, w.shape, t)
	defer s.free()
	if err := s.open(w.model); err != nil {
		w.emit(errorLine(err.code, err.message))
		return
	}
	engineErr, m := s.run()
	w.out.Write(s.render(engineErr, m))
}

// run serves the trace: the dispatcher on its own goroutine, the engine
// driven from this (the main, locked) goroutine, until every request ended
// and every consumer goroutine returned.
func (s *server) run() (*genError, *serveMeasures) {
	activeServer = s
	m := &serveMeasures{}
	m.before()
	s.start = nowNs()
	go s.dispatch()
	var engineErr *genError
	if s.shape == stream {
		engineErr = s.runStream()
	} else {
		engineErr = s.runToken()
	}
	if engineErr != nil {
		close(s.abort)
	}
	<-s.dispatched
	s.sweep(engineErr)
	m.goroutinesEnd = runtime.NumGoroutine() // a stalled consumer is still one
	close(s.release)
	s.consumers.Wait() // every ids/stamps write happens before the render
	for _, r := range s.reqs {
		// Only after a failed engine: the dispatcher left before this
		// stalled consumer's request could end.
		if r.submitted && !r.ended.Load() {
			s.end(r, "consumer stalled: its last tokens unread when the engine failed")
		}
	}
	m.after()
	m.mlxPeak = uint64(C.cb_mlx_peak_memory())
	return engineErr, m
}

// render writes the request events (id order), then schedule and served,
// or, when the engine failed, the error in their place.
func (s *server) render(engineErr *genError, m *serveMeasures) []byte {
	var out []byte
	lastEnd := s.start
	for _, r := range s.reqs {
		if !r.submitted {
			continue // the engine failed before the client got to it
		}
		out = appendRequest(out, r)
		lastEnd = max(lastEnd, r.endNs)
	}
	if engineErr != nil {
		return append(out, errorLine(engineErr.code, engineErr.message)+"\n"...)
	}
	out = s.appendSchedule(out)
	var st C.cb_engine_stats
	if code := C.cb_engine_get_stats(s.engine, &st); code != C.CB_OK {
		e := shimError(code)
		return append(out, errorLine(e.code, e.message)+"\n"...)
	}
	return append(s.appendServed(out, &st, m, lastEnd-s.start), '\n')
}

// appendU64s and appendIDs write a JSON array of integers (token ids as the
// u32 they are on the wire).
func appendU64s(out []byte, vs []uint64) []byte {
	out = append(out, '[')
	for i, v := range vs {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, v, 10)
	}
	return append(out, ']')
}

func appendIDs(out []byte, ids []int32) []byte {
	out = append(out, '[')
	for i, id := range ids {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(uint32(id)), 10)
	}
	return append(out, ']')
}

func appendRequest(out []byte, r *serveReq) []byte {
	out = append(out, `{"ev":"request","id":`...)
	out = strconv.AppendUint(out, r.id, 10)
	out = append(out, `,"submit_ns":`...)
	out = strconv.AppendUint(out, r.submitNs, 10)
	out = appendIDs(append(out, `,"ids":`...), r.ids)
	out = appendU64s(append(out, `,"t_ns":`...), r.stamps)
	if r.err != "" {
		quoted, _ := json.Marshal(r.err) // a string always marshals
		out = append(out, `,"error":`...)
		out = append(out, quoted...)
	}
	return append(out, "}\n"...)
}

// appendSchedule renders cb_engine_schedule's flat words: per step its time,
// the prefilled ids, the decoded ids.
func (s *server) appendSchedule(out []byte) []byte {
	need := C.cb_engine_schedule(s.engine, nil, 0)
	words := make([]uint64, max(int(need), 1))
	got := C.cb_engine_schedule(s.engine, (*C.uint64_t)(unsafe.Pointer(&words[0])), C.size_t(len(words)))
	words = words[:min(int(got), len(words))]
	out = append(out, `{"ev":"schedule","steps":[`...)
	for i, step := 0, 0; i < len(words); step++ {
		if step > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		out = strconv.AppendUint(out, words[i], 10)
		i++
		for part := 0; part < 2 && i < len(words); part++ {
			k := int(words[i])
			ids := words[i+1 : min(i+1+k, len(words))]
			i += 1 + k
			out = appendU64s(append(out, ','), ids)
		}
		out = append(out, ']')
	}
	return append(out, "]}\n"...)
}
