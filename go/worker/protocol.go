package main

// The request lines of docs/protocol.md, parsed with the rules and messages of
// crossbench-core's protocol.rs word for word: tests/protocol_conformance.rs
// sends the same lines to every worker and expects the same answers.

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

type request struct {
	maxNew      uint32
	temperature float32
	topP        float32
	seed        uint64
	prompt      []int32
}

var (
	// Rust's integer grammar: ASCII digits with an optional leading '+'.
	intWord = regexp.MustCompile(`^\+?[0-9]+$`)
	// Rust's f32 grammar minus inf/nan (rejected as not finite there):
	// no hex floats or underscores, which Go's ParseFloat would accept.
	floatWord = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
)

var keys = []string{"max_new", "temperature", "top_p", "seed", "prompt"}

func parseUint(s string, bits int) (uint64, bool) {
	if !intWord.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, bits)
	return v, err == nil
}

// A finite float32 for which valid holds.
func parseFloat(s string, valid func(float32) bool) (float32, bool) {
	if !floatWord.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 32)
	f := float32(v)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || !valid(f) {
		return 0, false
	}
	return f, true
}

func parsePrompt(s string) ([]int32, bool) {
	parts := strings.Split(s, ",")
	ids := make([]int32, 0, len(parts))
	for _, p := range parts {
		v, ok := parseUint(p, 32)
		if !ok {
			return nil, false
		}
		// Ids are u32 on the wire; the shim rejects those >= vocab_size.
		ids = append(ids, int32(uint32(v)))
	}
	return ids, true
}

// applyKey sets one key's value, or reports that the value is bad.
func applyKey(r *request, key, value string) bool {
	switch key {
	case "max_new":
		n, ok := parseUint(value, 32)
		r.maxNew = uint32(n)
		return ok && n > 0
	case "temperature":
		t, ok := parseFloat(value, func(t float32) bool { return t >= 0 })
		r.temperature = t
		return ok
	case "top_p":
		p, ok := parseFloat(value, func(p float32) bool { return p > 0 && p <= 1 })
		r.topP = p
		return ok
	case "seed":
		s, ok := parseUint(value, 64)
		r.seed = s
		return ok
	default: // prompt
		ids, ok := parsePrompt(value)
		r.prompt = ids
		return ok
	}
}

func isKey(k string) bool {
	for _, known := range keys {
		if k == known {
			return true
		}
	}
	return false
}

// parseGenerate reads the key=value words after `generate`; the error is the
// first rule broken, left to right.
func parseGenerate(words []string) (request, error) {
	r := request{topP: 1}
	seen := map[string]bool{}
	for _, w := range words {
		key, value, found := strings.Cut(w, "=")
		switch {
		case !found:
			return r, fmt.Errorf("`%s` is not key=value", w)
		case !isKey(key):
			return r, fmt.Errorf("unknown key `%s` (allowed: max_new, temperature, top_p, seed, prompt)", key)
		case seen[key]:
			return r, fmt.Errorf("repeated key `%s`", key)
		}
		seen[key] = true
		if !applyKey(&r, key, value) {
			return r, fmt.Errorf("bad value for `%s`: `%s`", key, value)
		}
	}
	for _, k := range []string{"max_new", "prompt"} {
		if !seen[k] {
			return r, fmt.Errorf("missing key `%s`", k)
		}
	}
	return r, nil
}
