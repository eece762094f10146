package main

// The `serve trace=PATH` request and its trace file (docs/protocol.md
// "Serving"), read whole before the serve starts, so nothing is parsed or
// allocated while requests are in flight. The rules and messages are the
// native runner's (shims/runner/serve_trace.cpp, native_runner.cpp) word for
// word, so that every in-process worker accepts and rejects the same lines.

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

type traceRequest struct {
	arrivalNs uint64
	maxNew    uint32
	prompt    []int32
}

type trace struct {
	closed       bool   // arrival closed C; else open (arrival times)
	concurrency  uint32 // C of a closed loop
	maxBatch     uint32
	admitTimeout uint64 // ns
	requests     []traceRequest
}

// serveTracePath reads a `serve` line (trimmed): its one key, trace=PATH.
func serveTracePath(line string) (string, *genError) {
	words := strings.Fields(line)
	if len(words) != 2 || !strings.HasPrefix(words[1], "trace=") || len(words[1]) == len("trace=") {
		return "", &genError{"CB_ERR_PROTOCOL", "`serve` takes exactly one key, trace=PATH, in `" + line + "`"}
	}
	return strings.TrimPrefix(words[1], "trace="), nil
}

// readTrace reads and checks a trace file (CB_ERR_ARGUMENT when it is bad).
func readTrace(path string) (*trace, *genError) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &genError{"CB_ERR_ARGUMENT", "cannot read the trace file " + path}
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	t, lineno, why := parseTrace(lines)
	if why != "" {
		return nil, &genError{"CB_ERR_ARGUMENT", fmt.Sprintf("%s:%d: %s", path, lineno, why)}
	}
	return t, nil
}

// traceUint is the reader's integer: 1 to 19 ASCII digits.
func traceUint(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// parseTrace returns the trace, or the 1-based line and reason of the first
// problem.
func parseTrace(lines []string) (*trace, int, string) {
	if lines[0] != "crossbench-serve-trace 1" {
		return nil, 1, "not a crossbench-serve-trace 1 file"
	}
	t := &trace{closed: true}
	var count, timeoutMs uint64
	lineno := 2
	for ; lineno <= len(lines); lineno++ {
		line := lines[lineno-1]
		words := strings.Fields(line)
		switch {
		case len(words) > 0 && words[0] == "request":
			r, ok := parseTraceRequest(words[1:])
			if !ok {
				return nil, lineno, "malformed request line"
			}
			if r.id != uint64(len(t.requests)) {
				return nil, lineno, "request ids must count 0, 1, ..."
			}
			t.requests = append(t.requests, r.traceRequest)
		case len(t.requests) > 0 || !parseHeader(t, words, &count, &timeoutMs):
			return nil, lineno, "unexpected line `" + line + "`"
		}
	}
	if t.maxBatch == 0 || timeoutMs == 0 || (t.closed && t.concurrency == 0) {
		return nil, lineno, "missing arrival, max_batch or admit_timeout_ms"
	}
	if count != uint64(len(t.requests)) {
		return nil, lineno, fmt.Sprintf("`requests %d` but %d request lines", count, len(t.requests))
	}
	t.admitTimeout = math.MaxUint64
	if timeoutMs < math.MaxUint64/1_000_000 {
		t.admitTimeout = timeoutMs * 1_000_000
	}
	return t, 0, ""
}

// parseHeader reads one line before the requests; false when malformed.
func parseHeader(t *trace, words []string, count, timeoutMs *uint64) bool {
	if len(words) < 2 {
		return false
	}
	if words[0] == "arrival" {
		t.closed = words[1] == "closed"
		if !t.closed {
			return words[1] == "open" && len(words) == 2
		}
		c, ok := uint64(0), len(words) >= 3
		if ok {
			c, ok = traceUint(words[2])
		}
		t.concurrency = uint32(c)
		return ok && c >= 1 && c <= math.MaxUint32
	}
	v, ok := traceUint(words[1])
	if !ok || len(words) != 2 {
		return false
	}
	switch words[0] {
	case "max_batch":
		t.maxBatch = uint32(v)
		return v >= 1 && v <= math.MaxUint32
	case "admit_timeout_ms":
		*timeoutMs = v
		return v >= 1
	case "requests":
		*count = v
		return v >= 1
	}
	return false
}

type idRequest struct {
	id uint64
	traceRequest
}

// parseTraceRequest reads `<id> <arrival_ns> <max_new> <prompt>`.
func parseTraceRequest(w []string) (idRequest, bool) {
	var r idRequest
	if len(w) != 4 {
		return r, false
	}
	id, ok1 := traceUint(w[0])
	arrival, ok2 := traceUint(w[1])
	maxNew, ok3 := traceUint(w[2])
	if !ok1 || !ok2 || !ok3 || maxNew < 1 || maxNew > math.MaxUint32 {
		return r, false
	}
	parts := strings.Split(w[3], ",")
	prompt := make([]int32, len(parts))
	for i, p := range parts {
		v, ok := traceUint(p)
		if !ok || v > math.MaxInt32 {
			return r, false
		}
		prompt[i] = int32(v)
	}
	return idRequest{id, traceRequest{arrivalNs: arrival, maxNew: uint32(maxNew), prompt: prompt}}, true
}
