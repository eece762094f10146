#include "glue.h"

#include "_cgo_export.h"

static int32_t to_go(int32_t x, void* user) {
  (void)user;
  return goIntCallback(x);
}

static int32_t in_c(int32_t x, void* user) {
  (void)user;
  return x;
}

// n C->Go callbacks from this (a Go-created) thread.
int64_t cbgo_go_callbacks(uint64_t n) { return cb_call_callback_n(to_go, 0, n); }

// n C->Go callbacks from a C++ thread the shim starts for this call.
int64_t cbgo_go_callbacks_new_thread(uint64_t n) {
  return cb_call_callback_n_thread(to_go, 0, n);
}

// The same thread and loop, calling a C function instead of Go.
int64_t cbgo_c_callbacks_new_thread(uint64_t n) {
  return cb_call_callback_n_thread(in_c, 0, n);
}
