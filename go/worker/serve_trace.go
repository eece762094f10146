package main

// The `serve trace=PATH` request and its trace file (docs/protocol.md
// "Serving"): read whole before the serve starts, so nothing is parsed or
// allocated while requests are in flight.

import (
	"fmt"
	"os"
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

// parseServe reads the key=value words after `serve`, with generate's rules
// and messages (protocol.go): the only key is `trace`.
func parseServe(words []string) (string, error) {
	path, seen := "", false
	for _, w := range words {
		key, value, found := strings.Cut(w, "=")
		switch {
		case !found:
			return "", fmt.Errorf("`%s` is not key=value", w)
		case key != "trace":
			return "", fmt.Errorf("unknown key `%s` (allowed: trace)", key)
		case seen:
			return "", fmt.Errorf("repeated key `%s`", key)
		case value == "":
			return "", fmt.Errorf("bad value for `trace`: ``")
		}
		path, seen = value, true
	}
	if !seen {
		return "", fmt.Errorf("missing key `trace`")
	}
	return path, nil
}

// parseServeLine reads the words after `serve` and the trace they name.
func parseServeLine(words []string) (*trace, error) {
	path, err := parseServe(words)
	if err != nil {
		return nil, err
	}
	return readTrace(path)
}

// readTrace loads and checks a trace file; the error names the line.
func readTrace(path string) (*trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bad value for `trace`: `%s`: %v", path, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	t, err := parseTrace(lines)
	if err != nil {
		return nil, fmt.Errorf("bad value for `trace`: `%s`: %v", path, err)
	}
	return t, nil
}

// header reads line i as `name VALUE` with VALUE an integer in [min, 2^bits).
func header(lines []string, i int, name string, bits int, min uint64) (uint64, error) {
	if i >= len(lines) {
		return 0, fmt.Errorf("line %d: missing `%s`", i+1, name)
	}
	words := strings.Split(lines[i], " ")
	if len(words) != 2 || words[0] != name {
		return 0, fmt.Errorf("line %d: expected `%s N`, found `%s`", i+1, name, lines[i])
	}
	v, ok := parseUint(words[1], bits)
	if !ok || v < min {
		return 0, fmt.Errorf("line %d: bad value for `%s`: `%s`", i+1, name, words[1])
	}
	return v, nil
}

func parseTrace(lines []string) (*trace, error) {
	if lines[0] != "crossbench-serve-trace 1" {
		return nil, fmt.Errorf("line 1: expected `crossbench-serve-trace 1`, found `%s`", lines[0])
	}
	t := &trace{}
	if len(lines) < 2 {
		return nil, fmt.Errorf("line 2: missing `arrival`")
	}
	switch arrival := lines[1]; {
	case arrival == "arrival open":
	case strings.HasPrefix(arrival, "arrival closed "):
		c, ok := parseUint(strings.TrimPrefix(arrival, "arrival closed "), 32)
		if !ok || c == 0 {
			return nil, fmt.Errorf("line 2: bad concurrency in `%s`", arrival)
		}
		t.closed, t.concurrency = true, uint32(c)
	default:
		return nil, fmt.Errorf("line 2: expected `arrival closed C` or `arrival open`, found `%s`", arrival)
	}
	batch, err := header(lines, 2, "max_batch", 32, 1)
	if err != nil {
		return nil, err
	}
	timeoutMs, err := header(lines, 3, "admit_timeout_ms", 44, 0) // fits ns in 64 bits
	if err != nil {
		return nil, err
	}
	n, err := header(lines, 4, "requests", 32, 1)
	if err != nil {
		return nil, err
	}
	if uint64(len(lines)-5) != n {
		return nil, fmt.Errorf("`requests %d` but %d request lines follow", n, len(lines)-5)
	}
	t.maxBatch, t.admitTimeout = uint32(batch), timeoutMs*1_000_000
	t.requests = make([]traceRequest, n)
	for i := range t.requests {
		r, err := parseTraceRequest(lines[5+i], uint64(i), t.closed)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", 6+i, err)
		}
		t.requests[i] = r
	}
	return t, nil
}

// parseTraceRequest reads `request <id> <arrival_ns> <max_new> <prompt>`.
func parseTraceRequest(line string, id uint64, closed bool) (traceRequest, error) {
	var r traceRequest
	w := strings.Split(line, " ")
	if len(w) != 5 || w[0] != "request" {
		return r, fmt.Errorf("expected `request <id> <arrival_ns> <max_new> <prompt>`, found `%s`", line)
	}
	if got, ok := parseUint(w[1], 64); !ok || got != id {
		return r, fmt.Errorf("expected request id %d, found `%s`", id, w[1])
	}
	arrival, ok := parseUint(w[2], 64)
	if !ok {
		return r, fmt.Errorf("bad arrival_ns `%s`", w[2])
	}
	if closed && arrival != 0 {
		return r, fmt.Errorf("arrival_ns `%s` in a closed loop (must be 0)", w[2])
	}
	maxNew, ok := parseUint(w[3], 32)
	if !ok || maxNew == 0 {
		return r, fmt.Errorf("bad max_new `%s`", w[3])
	}
	prompt, ok := parsePrompt(w[4])
	if !ok {
		return r, fmt.Errorf("bad prompt `%s`", w[4])
	}
	return traceRequest{arrivalNs: arrival, maxNew: uint32(maxNew), prompt: prompt}, nil
}
