// C helpers of the Go worker, each one cgo call: the shim's token callback
// reaches Go through a C trampoline (glue.c), because a Go function cannot be
// handed to C as a function pointer, and the callback's userdata is a
// runtime/cgo.Handle (an integer), never a Go pointer.
#include <stddef.h>
#include <stdint.h>

#include "crossbench_shim.h"

uint64_t cbgo_now_ns(void);
uint64_t cbgo_abi_calls_total(void);
cb_status cbgo_generate(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                        const cb_sampling* sampling, uintptr_t handle, cb_counters* counters);
cb_status cbgo_generate_start(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                              const cb_sampling* sampling, uintptr_t handle, cb_stream** out);
// cb_stream_wait, with the failure's message copied out in the same call: the
// waiting goroutine is not locked to a thread, and cb_last_error is per thread.
cb_status cbgo_stream_wait(cb_stream* stream, cb_counters* counters, char* msg, size_t cap);
