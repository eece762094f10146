// Test hooks for the crossing microbenchmarks (crates/crossbench-shim/benches).
// Each is the smallest function that still has to do the work its crossing
// implies, so a benchmark measures the crossing and not an empty stub the
// compiler could elide. None of them lets an exception out.
#include <cstdint>
#include <cstring>
#include <thread>

#include "crossbench_shim.h"

extern "C" {

int64_t cb_call_callback_n(cb_int_callback callback, void* user, uint64_t n) {
  if (!callback) return 0;
  int64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += callback(int32_t(i), user);
  return sum;
}

// The callee of a C string must find its end itself: that scan is part of
// what passing a C string costs.
uint64_t cb_prompt_cstr(const char* s) {
  if (!s) return 0;
  size_t n = std::strlen(s);
  return n == 0 ? 0 : n * 131u + uint8_t(s[0]) + uint8_t(s[n - 1]);
}

uint64_t cb_prompt_bytes(const uint8_t* p, size_t n) {
  if (!p || n == 0) return 0;
  return n * 131u + p[0] + p[n - 1];
}

void cb_set_float(float* dst, size_t i, float v) {
  if (dst) dst[i] = v;
}

void cb_copy_floats(float* dst, const float* src, size_t n) {
  if (dst && src && n) std::memcpy(dst, src, n * sizeof(float));
}

float cb_borrow_floats(const float* src, size_t n) {
  if (!src || n == 0) return 0.0f;
  return src[0] + src[n - 1];
}

// A foreign thread for the callback microbenchmarks: the C->caller crossing
// made from a thread the caller's runtime has never seen.
int64_t cb_call_callback_n_thread(cb_int_callback callback, void* user, uint64_t n) {
  int64_t sum = 0;
  try {
    std::thread t([&] { sum = cb_call_callback_n(callback, user, n); });
    t.join();
  } catch (...) {
    return INT64_MIN;  // the thread could not be started
  }
  return sum;
}

}  // extern "C"
