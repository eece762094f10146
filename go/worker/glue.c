#include "glue.h"

#include <string.h>
#include <time.h>

#include "_cgo_export.h"

uint64_t cbgo_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cbgo_abi_calls_total(void) {
  cb_abi_count counts[64];
  size_t n = cb_abi_counts(counts, 64);
  uint64_t total = 0;
  for (size_t i = 0; i < n && i < 64; ++i) total += counts[i].calls;
  return total;
}

// The shim calls this once per token; goOnToken recovers every Go panic, so
// none unwinds through the shim's C++ frames.
static int on_token(int32_t token, uint64_t index, void* user) {
  return goOnToken(token, index, (uintptr_t)user);
}

cb_status cbgo_generate(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                        const cb_sampling* sampling, uintptr_t handle, cb_counters* counters) {
  return cb_generate(model, prompt, n, max_new, sampling, on_token, (void*)handle, counters);
}

cb_status cbgo_generate_start(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                              const cb_sampling* sampling, uintptr_t handle, cb_stream** out) {
  return cb_generate_start(model, prompt, n, max_new, sampling, on_token, (void*)handle, out);
}

cb_status cbgo_stream_wait(cb_stream* stream, cb_counters* counters, char* msg, size_t cap) {
  cb_status s = cb_stream_wait(stream, counters);
  if (cap > 0) {
    msg[0] = '\0';
    if (s != CB_OK) {
      strncpy(msg, cb_last_error(), cap - 1);
      msg[cap - 1] = '\0';
    }
  }
  return s;
}

int cbgo_on_request_token(uint64_t request, int32_t token, uint64_t index, int finished,
                          void* user) {
  return goOnRequestToken(request, token, index, finished, (uintptr_t)user);
}

cb_status cbgo_engine_submit(cb_engine* engine, uint64_t request, const int32_t* prompt,
                             size_t n, uint32_t max_new, cb_request_callback callback,
                             uintptr_t user, char* msg, size_t cap) {
  cb_status s = cb_engine_submit(engine, request, prompt, n, max_new, callback, (void*)user);
  if (cap > 0) {
    msg[0] = '\0';
    if (s != CB_OK) {
      strncpy(msg, cb_last_error(), cap - 1);
      msg[cap - 1] = '\0';
    }
  }
  return s;
}
