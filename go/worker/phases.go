package main

/*
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"os"
	"strconv"
	"unsafe"
)

// The phase timeline (bench --phases, CROSSBENCH_PHASES=1; docs/protocol.md):
// the shim records its spans into C memory this worker allocates (C keeps the
// pointer between calls, which cgo forbids for Go memory), and Go records its
// own crossing and consumer spans into a slice preallocated per generation.
var phasesOn = os.Getenv("CROSSBENCH_PHASES") == "1"

// [run] token_progress (CROSSBENCH_TOKEN_PROGRESS=1): a stderr line per token.
var tokenProgress = os.Getenv("CROSSBENCH_TOKEN_PROGRESS") == "1"

const (
	phaseCrossing = 4 // cb_phase ids
	phaseConsumer = 5
)

type phaseLog struct {
	spans   [][3]uint64 // Go's own: [phase, begin, end]
	dropped uint64
	shim    *C.cb_span // C.malloc'd, CB_SPANS_PER_TOKEN * (maxNew+1) of them
	shimCap C.size_t
	shimLen *C.size_t
}

// startPhases installs the shim's recorder; nil when phases are off.
func startPhases(maxNew uint32) *phaseLog {
	if !phasesOn {
		return nil
	}
	p := &phaseLog{spans: make([][3]uint64, 0, 2*int(maxNew)+2)}
	p.shimCap = C.size_t(C.CB_SPANS_PER_TOKEN * (int(maxNew) + 1))
	p.shim = (*C.cb_span)(C.malloc(p.shimCap * C.size_t(unsafe.Sizeof(C.cb_span{}))))
	p.shimLen = (*C.size_t)(C.malloc(C.size_t(unsafe.Sizeof(C.size_t(0)))))
	*p.shimLen = 0
	C.cb_phases_record(p.shim, p.shimCap, p.shimLen)
	return p
}

// add records a span of Go's own; past the preallocated room it is counted.
func (p *phaseLog) add(phase, begin, end uint64) {
	if p == nil {
		return
	}
	if len(p.spans) < cap(p.spans) {
		p.spans = append(p.spans, [3]uint64{phase, begin, end})
	} else {
		p.dropped++
	}
}

// finish uninstalls the recorder and renders the phases event; the spans
// that did not fit go to *dropped.
func (p *phaseLog) finish(dropped *uint64) []byte {
	C.cb_phases_record(nil, 0, nil)
	defer C.free(unsafe.Pointer(p.shim))
	defer C.free(unsafe.Pointer(p.shimLen))
	n := *p.shimLen
	*dropped = p.dropped
	if n > p.shimCap {
		*dropped += uint64(n - p.shimCap)
		n = p.shimCap
	}
	out := []byte(`{"ev":"phases","names":["build","dispatch","wait","host","crossing","consumer","pipe"],"spans":[`)
	sep := ""
	appendSpan := func(phase, begin, end uint64) {
		out = append(out, sep+"["...)
		out = strconv.AppendUint(out, phase, 10)
		out = append(out, ',')
		out = strconv.AppendUint(out, begin, 10)
		out = append(out, ',')
		out = strconv.AppendUint(out, end, 10)
		out = append(out, ']')
		sep = ","
	}
	for _, s := range p.spans {
		appendSpan(s[0], s[1], s[2])
	}
	for _, s := range unsafe.Slice(p.shim, int(n)) {
		appendSpan(uint64(s.phase), uint64(s.begin_ns), uint64(s.end_ns))
	}
	return append(out, "]}\n"...)
}
