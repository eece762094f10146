// The serve trace file (docs/protocol.md, "The trace file") and the native
// runner's in-process serving client (serve_client.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crossbench_shim.h"

namespace runner {

struct TraceRequest {
  uint64_t id = 0, arrival_ns = 0;
  uint32_t max_new = 0;
  std::vector<int32_t> prompt;
};

struct Trace {
  bool closed = true;
  uint32_t concurrency = 0, max_batch = 0;
  uint64_t admit_timeout_ms = 0;
  std::vector<TraceRequest> requests;
};

// Reads and checks a trace file; the error names the file and line.
std::optional<Trace> read_trace(const std::string& path, std::string& error);

// Serves the trace through the shim's engine (the floor of the serving
// designs) and writes the request, schedule and served events. Returns the
// status of the engine (CB_OK also when single requests failed).
cb_status serve_trace(cb_model* model, const Trace& trace);

}  // namespace runner
