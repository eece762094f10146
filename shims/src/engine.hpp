// The serving engine behind cb_engine_* (crossbench_shim.h, "Serving engine"):
// continuous batching over one model, every request with its own KV cache,
// one batched decode pass per step. Deterministic admission in closed-loop
// mode, so every design that drives it gets the same steps and ids.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crossbench_shim.h"
#include "model.hpp"

namespace cb {

struct EngineRequest {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  uint32_t max_new = 0;
  cb_request_callback callback = nullptr;
  void* user = nullptr;
};

// One step as the schedule records it.
struct StepRecord {
  uint64_t start_ns = 0;
  std::vector<uint64_t> prefilled, decoded;
};

class Engine {
 public:
  Engine(const Model& model, const cb_engine_options& options, mx::Device device);
  ~Engine();  // out of line: Sequence is complete only in engine.cpp

  void submit(EngineRequest request);  // thread-safe
  void close();                        // thread-safe
  void cancel(uint64_t id);            // thread-safe; applied at the next step
  // One step on the calling thread: tokens appended to out. Returns true once
  // nothing is left and nothing more can come.
  bool step(std::vector<cb_engine_token>& out);
  size_t pending() const;  // active + queued
  cb_engine_stats stats() const;
  std::vector<uint64_t> schedule_words() const;
  const cb_engine_options& options() const { return options_; }

 private:
  struct Sequence;
  std::vector<EngineRequest> admit();
  void wait_for_fill(std::unique_lock<std::mutex>& lock);
  bool finished_locked() const;
  void drop_cancelled_locked();
  mx::array prefill(Sequence& s);
  mx::array decode(const std::vector<Sequence*>& batch);
  void deliver(Sequence& s, int32_t token, std::vector<cb_engine_token>& out);

  const Model& model_;
  const cb_engine_options options_;
  const mx::Device device_;

  mutable std::mutex mutex_;  // guards queue_, closed_, submitted_, ended_
  std::condition_variable arrived_;
  std::deque<EngineRequest> queue_;
  bool closed_ = false;
  uint64_t submitted_ = 0;
  uint64_t ended_ = 0;  // requests done or cancelled
  std::vector<uint64_t> cancelled_;  // cb_engine_cancel's, not yet applied

  std::vector<std::unique_ptr<Sequence>> active_;  // admission order; step thread only
  std::vector<StepRecord> schedule_;
  cb_engine_stats stats_{};
};

}  // namespace cb
