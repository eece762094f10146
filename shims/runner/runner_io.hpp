// What the native runner's translation units share: the clock every worker
// stamps with, and one JSON line per event on stdout.
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "../src/json.hpp"
#include "crossbench_shim.h"

namespace runner {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

inline const char* status_name(cb_status s) {
  switch (s) {
    case CB_OK: return "CB_OK";
    case CB_ERR_IO: return "CB_ERR_IO";
    case CB_ERR_FORMAT: return "CB_ERR_FORMAT";
    case CB_ERR_SHAPE: return "CB_ERR_SHAPE";
    case CB_ERR_UNSUPPORTED: return "CB_ERR_UNSUPPORTED";
    case CB_ERR_ARGUMENT: return "CB_ERR_ARGUMENT";
    case CB_ERR_RUNTIME: return "CB_ERR_RUNTIME";
    case CB_ERR_CALLBACK: return "CB_ERR_CALLBACK";
  }
  return "CB_ERR_RUNTIME";
}

// One line per event, flushed at once so a reader sees it when it happens.
inline void emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

inline void emit_error(const char* code, const std::string& msg) {
  emit(std::string("{\"ev\":\"error\",\"code\":\"") + code + "\",\"message\":\"" +
       cb::json::escape(msg) + "\"}");
}

inline void emit_error(cb_status s, const std::string& msg) { emit_error(status_name(s), msg); }

inline uint64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return uint64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace runner
