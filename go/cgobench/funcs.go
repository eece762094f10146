// Package cgobench holds the cgo side of crossbench's Go microbenchmarks
// (bench_test.go), in the style of Go's own src/internal/runtime/cgobench:
// cgo cannot be used in _test.go files, so each crossing is a small exported
// function here and the benchmark calls it.
package cgobench

/*
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import "unsafe"

//go:noinline
func GoNoop(x int32) int32 { return x }

// CgoNoop is one empty Go->C call (the shim's cb_noop).
func CgoNoop(x int32) int32 { return int32(C.cb_noop(C.int32_t(x))) }

//export goIntCallback
func goIntCallback(x C.int32_t) C.int32_t { return x }

// GoCallbacks makes n C->Go callbacks from one cgo call, on this thread.
func GoCallbacks(n int) int64 { return int64(C.cbgo_go_callbacks(C.uint64_t(n))) }

// GoCallbacksNewThread makes n C->Go callbacks from a new C++ thread.
func GoCallbacksNewThread(n int) int64 {
	return int64(C.cbgo_go_callbacks_new_thread(C.uint64_t(n)))
}

// CCallbacksNewThread is GoCallbacksNewThread with a C callee: its twin.
func CCallbacksNewThread(n int) int64 {
	return int64(C.cbgo_c_callbacks_new_thread(C.uint64_t(n)))
}

// CBuffer is memory allocated by C, as the note's C.malloc'd array.
type CBuffer struct {
	ptr *C.float
	n   int
}

func NewCBuffer(n int) CBuffer {
	return CBuffer{(*C.float)(C.malloc(C.size_t(n) * 4)), n}
}

func (b CBuffer) Free() { C.free(unsafe.Pointer(b.ptr)) }

// SetEach hands src to C one cgo call per element (the note's "Terrible!").
func (b CBuffer) SetEach(src []float32) {
	for i, v := range src {
		C.cb_set_float(b.ptr, C.size_t(i), C.float(v))
	}
}

// CopyAll hands src to C in one call that copies it (memcpy in C).
func (b CBuffer) CopyAll(src []float32) {
	C.cb_copy_floats(b.ptr, (*C.float)(unsafe.Pointer(unsafe.SliceData(src))), C.size_t(len(src)))
}

// Borrow lends src to C without a copy (the note's unsafe.Pointer "No copy!");
// legal under cgo's rules because []float32 holds no Go pointers.
func Borrow(src []float32) float32 {
	return float32(C.cb_borrow_floats((*C.float)(unsafe.Pointer(unsafe.SliceData(src))), C.size_t(len(src))))
}

// PromptCString passes a prompt as the note's Generate() does: C.CString
// (allocation + copy), the callee's strlen, C.free.
func PromptCString(s string) uint64 {
	cs := C.CString(s)
	sum := uint64(C.cb_prompt_cstr(cs))
	C.free(unsafe.Pointer(cs))
	return sum
}

// PromptBytes lends the prompt's bytes with their length: no copy, no scan.
func PromptBytes(b []byte) uint64 {
	return uint64(C.cb_prompt_bytes((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))))
}
