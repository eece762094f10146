package main

/*
#include "glue.h"
*/
import "C"

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// generate runs one request and renders all its events: the token lines,
// stamped during the generation and written only after it (nothing crosses
// the pipe inside it), then done or error.
func (w *worker) generate(r request) []byte {
	g := &generation{
		ids:    make([]int32, 0, r.maxNew),
		stamps: make([]uint64, 0, r.maxNew),
		fault:  faultFromEnv(w.backend),
		phases: startPhases(r.maxNew),
	}
	g.consumerSpans = g.phases != nil && w.shape != stream
	var counters C.cb_counters
	var err *genError
	var mlxPeak uint64
	started := nowNs()
	cross := countCrossings(func() {
		counters, err = guardGo(func() (C.cb_counters, *genError) {
			switch w.shape {
			case perToken:
				return runPerToken(w.model, r, g)
			case batched:
				return runBatched(w.model, r, g)
			default:
				return runStream(w.model, r, g)
			}
		})
		mlxPeak = uint64(C.cb_mlx_peak_memory())
	})
	workerGenNs := nowNs() - started
	out := make([]byte, 0, 64*(len(g.ids)+4))
	for i, id := range g.ids {
		out = append(out, `{"ev":"token","i":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"id":`...)
		out = strconv.AppendUint(out, uint64(uint32(id)), 10)
		out = append(out, `,"t_ns":`...)
		out = strconv.AppendUint(out, g.stamps[i], 10)
		out = append(out, "}\n"...)
	}
	var phaseLine []byte
	var dropped uint64
	if g.phases != nil {
		phaseLine = g.phases.finish(&dropped)
	}
	if err != nil {
		return append(out, errorLine(err.code, err.message)+"\n"...)
	}
	out = append(out, phaseLine...)
	fields := []struct {
		key   string
		value uint64
	}{
		{"prefill_ns", uint64(counters.prefill_ns)},
		{"decode_ns", uint64(counters.decode_ns)},
		{"worker_gen_ns", workerGenNs},
		{"forward_passes", uint64(counters.forward_passes)},
		{"evals", uint64(counters.evals)},
		{"syncs", uint64(counters.syncs)},
		{"callbacks", uint64(counters.callbacks)},
		{"prompt_tokens", uint64(counters.prompt_tokens)},
		{"bytes_out", uint64(counters.bytes_out)},
		{"calls", cross.abiCalls},
		{"cgo_calls", cross.cgoCalls},
		{"go_callbacks", g.goCallbacks},
		{"mlx_peak_bytes", mlxPeak},
		{"peak_rss_bytes", peakRSSBytes()},
	}
	if g.phases != nil {
		fields = append(fields, struct {
			key   string
			value uint64
		}{"phase_spans_dropped", dropped})
	}
	out = append(out, `{"ev":"done","tokens":`...)
	out = strconv.AppendInt(out, int64(len(g.ids)), 10)
	for _, f := range fields {
		out = append(out, `,"`+f.key+`":`...)
		out = strconv.AppendUint(out, f.value, 10)
	}
	return append(out, "}\n"...)
}

func peakRSSBytes() uint64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024 // Linux reports KiB
}

// fault is crossbench's test hook, CROSSBENCH_FAULT="<backend>:<kind>@N": at
// token N the consumer panics (`panic`), the worker kills itself (`kill`) or
// hangs (`hang`), so the driver's handling is tested on the Go backends.
type fault struct {
	kind string
	at   uint64
}

func faultFromEnv(backend string) fault {
	spec, ok := strings.CutPrefix(os.Getenv("CROSSBENCH_FAULT"), backend+":")
	kind, at, found := strings.Cut(spec, "@")
	n, err := strconv.ParseUint(at, 10, 64)
	if !ok || !found || err != nil {
		return fault{}
	}
	return fault{kind: kind, at: n}
}

func (f fault) maybeInject(index uint64) {
	if f.kind == "" || index != f.at {
		return
	}
	switch f.kind {
	case "panic":
		panic("injected panic in the token consumer at token " + strconv.FormatUint(index, 10))
	case "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "hang":
		for { // a sleeping goroutine is not a deadlock to Go's runtime
			time.Sleep(time.Hour)
		}
	}
}
