package main

/*
#include "glue.h"
*/
import "C"

import (
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
)

// What a serve measures around itself: crossings counted twice (by Go's
// runtime and by the shim), the process's CPU time, and Go's runtime/metrics
// (the scheduler the note's claims are about), as deltas over the serve.
type serveMeasures struct {
	abiCalls, cgoCalls   uint64
	cpuNs                uint64
	goroutinesEnd        int
	mlxPeak              uint64
	osThreads            uint64
	samples0, samples1   []metrics.Sample
	abiBefore, cpuBefore uint64
	cgoBefore            int64
}

// The runtime/metrics read before and after a serve; a name this Go does
// not know reads as KindBad and is left out (threads and goroutines-created
// are Go 1.26+).
var serveMetricNames = []string{
	"/sched/latencies:seconds",
	"/sched/goroutines:goroutines",
	"/sched/gomaxprocs:threads",
	"/sched/threads/total:threads",
	"/sched/goroutines-created:goroutines",
	"/gc/cycles/total:gc-cycles",
	"/sync/mutex/wait/total:seconds",
}

func readMetrics() []metrics.Sample {
	s := make([]metrics.Sample, len(serveMetricNames))
	for i, n := range serveMetricNames {
		s[i].Name = n
	}
	metrics.Read(s)
	return s
}

// before and after bracket the serve. The shim's count is read by a cgo call
// outside Go's count on both sides, so the two counts see the same calls.
func (m *serveMeasures) before() {
	m.samples0 = readMetrics()
	m.cpuBefore = processCPUNs()
	m.abiBefore = uint64(C.cbgo_abi_calls_total())
	m.cgoBefore = runtime.NumCgoCall()
}

func (m *serveMeasures) after() {
	m.cgoCalls = uint64(runtime.NumCgoCall() - m.cgoBefore)
	m.abiCalls = uint64(C.cbgo_abi_calls_total()) - m.abiBefore
	m.cpuNs = processCPUNs() - m.cpuBefore
	m.osThreads = osThreads()
	m.samples1 = readMetrics()
}

func processCPUNs() uint64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Utime.Nano() + ru.Stime.Nano())
}

// osThreads is the process's `Threads:` in /proc/self/status (0 elsewhere).
func osThreads() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, _ := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}

type field struct {
	key   string
	value uint64
}

func (s *server) appendServed(out []byte, st *C.cb_engine_stats, m *serveMeasures, serveNs uint64) []byte {
	fields := []field{
		{"requests", uint64(len(s.reqs))}, {"tokens", uint64(st.generated_tokens)},
		{"steps", uint64(st.steps)}, {"forward_passes", uint64(st.forward_passes)},
		{"evals", uint64(st.evals)}, {"syncs", uint64(st.syncs)},
		{"calls", m.abiCalls}, {"callbacks", uint64(st.callbacks)},
		{"requests_cancelled", uint64(st.requests_cancelled)},
		{"admit_wait_ns", uint64(st.admit_wait_ns)}, {"max_active", uint64(st.max_active)},
		{"serve_ns", serveNs}, {"start_ns", s.start}, // the client's start (open loop: arrivals count from it)
		{"process_cpu_ns", m.cpuNs}, {"os_threads", m.osThreads},
		{"peak_rss_bytes", peakRSSBytes()}, {"mlx_peak_bytes", m.mlxPeak},
		{"prompt_tokens", uint64(st.prompt_tokens)}, {"requests_done", uint64(st.requests_done)},
		{"cgo_calls", m.cgoCalls}, {"go_callbacks", s.goCallbacks.Load()},
	}
	out = append(out, `{"ev":"served"`...)
	out = appendFields(out, fields)
	goFields := m.goFields(s.goroutinesPeak)
	out = append(out, `,"go":{"`+goFields[0].key+`":`...)
	out = strconv.AppendUint(out, goFields[0].value, 10)
	out = appendFields(out, goFields[1:])
	return append(out, "}}"...)
}

func appendFields(out []byte, fields []field) []byte {
	for _, f := range fields {
		out = append(out, `,"`+f.key+`":`...)
		out = strconv.AppendUint(out, f.value, 10)
	}
	return out
}

// goFields are the Go runtime's view of the serve: scheduling latency (time
// a runnable goroutine waited for a thread: the cost of cgo holding threads
// and of callbacks arriving on the engine's thread), goroutines, threads.
func (m *serveMeasures) goFields(goroutinesPeak int) []field {
	lat := histDelta(m.samples0[0].Value, m.samples1[0].Value)
	fields := []field{
		{"sched_latency_p50_ns", lat.quantileNs(0.50)},
		{"sched_latency_p99_ns", lat.quantileNs(0.99)},
		{"sched_latency_max_ns", lat.quantileNs(1)},
		{"sched_latency_samples", lat.total()},
		{"goroutines_peak", uint64(goroutinesPeak)},
		{"goroutines_end", uint64(m.goroutinesEnd)},
	}
	gauge := func(key string, i int) {
		if v := m.samples1[i].Value; v.Kind() == metrics.KindUint64 {
			fields = append(fields, field{key, v.Uint64()})
		}
	}
	delta := func(key string, i int, scale float64) {
		v0, v1 := m.samples0[i].Value, m.samples1[i].Value
		switch v1.Kind() {
		case metrics.KindUint64:
			fields = append(fields, field{key, v1.Uint64() - v0.Uint64()})
		case metrics.KindFloat64:
			fields = append(fields, field{key, uint64(math.Max(0, (v1.Float64()-v0.Float64())*scale))})
		}
	}
	gauge("goroutines", 1)
	gauge("gomaxprocs", 2)
	gauge("threads", 3)
	delta("goroutines_created", 4, 1)
	delta("gc_cycles", 5, 1)
	delta("mutex_wait_ns", 6, 1e9)
	return fields
}

// hist is a runtime/metrics histogram's counts over the serve.
type hist struct {
	counts  []uint64
	buckets []float64 // seconds; len(counts)+1 boundaries
}

func histDelta(v0, v1 metrics.Value) hist {
	if v1.Kind() != metrics.KindFloat64Histogram {
		return hist{}
	}
	h0, h1 := v0.Float64Histogram(), v1.Float64Histogram()
	d := hist{counts: make([]uint64, len(h1.Counts)), buckets: h1.Buckets}
	for i, c := range h1.Counts {
		d.counts[i] = c - h0.Counts[i] // the buckets are fixed for the process
	}
	return d
}

func (h hist) total() uint64 {
	var n uint64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// quantileNs is the upper bound of the bucket holding quantile q (its lower
// bound for the open last bucket); 0 without samples.
func (h hist) quantileNs(q float64) uint64 {
	rank := uint64(math.Ceil(q * float64(h.total())))
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if c > 0 && cum >= rank {
			hi := h.buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = h.buckets[i]
			}
			return uint64(math.Max(0, hi*1e9))
		}
	}
	return 0
}
