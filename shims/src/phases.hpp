// The shim's half of the phase timeline (cb_phases_record): spans of the
// generation loop written into a buffer the caller owns and preallocated, so
// recording allocates nothing and does no I/O inside the generation. Off (one
// predictable branch per mark) unless a caller installed a buffer.
#pragma once
#include <time.h>

#include <cstddef>
#include <cstdint>

#include "crossbench_shim.h"

namespace cb::phases {

struct Recorder {
  cb_span* buffer = nullptr;
  size_t capacity = 0;
  size_t* len = nullptr;  // the caller's count, advanced as spans are written
};

// Installed and removed between generations only (cb_phases_record); read by
// the one generation thread that runs at a time (streams are serialized).
extern Recorder g_recorder;

inline bool on() { return g_recorder.buffer != nullptr; }

// CLOCK_MONOTONIC, the clock every worker stamps tokens with (not
// steady_clock, whose epoch the standard leaves open).
inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Spans past the capacity are dropped but still counted: *len above the
// capacity tells the caller how many did not fit.
inline void span(cb_phase phase, uint64_t begin_ns, uint64_t end_ns) {
  Recorder& r = g_recorder;
  if (!r.buffer) return;
  if (*r.len < r.capacity) r.buffer[*r.len] = cb_span{begin_ns, end_ns, uint32_t(phase), 0};
  ++*r.len;
}

// A mark: the time when recording, else 0 without reading the clock.
inline uint64_t mark() { return on() ? now_ns() : 0; }

}  // namespace cb::phases
