// One generation session: the mlx-lm generate_step loop, split into
// prefill() and step() so the per-token C API can drive it one token a call.
#pragma once
#include <chrono>
#include <memory>
#include <optional>

#include "crossbench_shim.h"
#include "model.hpp"

namespace cb {

// mlx-lm sample_utils: greedy argmax, or top-p then categorical(logp / temp).
class Sampler {
 public:
  explicit Sampler(const cb_sampling& s);
  mx::array operator()(const mx::array& logprobs);

 private:
  float temperature_, top_p_;
  std::optional<mx::array> key_;  // split every call, like mx.random's state
};

class Session {
 public:
  Session(const Model& model, const cb_sampling& sampling);

  // Feeds the prompt and returns the first token; the following step is
  // already queued (async_eval) before the item() wait, as in mlx-lm.
  int32_t prefill(const int32_t* prompt, size_t n);
  // Returns the token queued by the previous call, queueing the next one.
  int32_t step();
  // Waits for the step queued past the last token: nothing of this session is
  // still computing when the caller moves on. Idempotent.
  void finish();
  const cb_counters& counters() const { return counters_; }

 private:
  using Clock = std::chrono::steady_clock;
  mx::array forward(const mx::array& tokens);  // -> sampled token, shape [1]
  // Builds and dispatches the next step; *built_at (if given) marks the
  // boundary between the two.
  void schedule(const mx::array& tokens, uint64_t* built_at = nullptr);
  // The two halves of schedule(): the lazy graph of the next step, then
  // its async_eval.
  void build(const mx::array& tokens) { next_ = forward(tokens); }
  void dispatch();
  // Reads the token back; *read_at (if given) marks when it arrived.
  int32_t hand_out(const mx::array& y, uint64_t* read_at = nullptr);

  const Model& model_;
  KVCache cache_;
  Sampler sampler_;
  std::optional<mx::array> next_;
  cb_counters counters_{};
  Clock::time_point first_token_at_;
  uint64_t handed_ = 0;
  // Test knob (CROSSBENCH_INJECT_SLOWDOWN_PCT, read once per session): each
  // decode token's computation takes pct% longer. 0 = off.
  double inject_pct_ = 0.0;
  // When the stream thread finished the last spin (or the prefill's last
  // chunk): written and read on that thread only.
  std::shared_ptr<Clock::time_point> spin_ended_ = std::make_shared<Clock::time_point>();
  void enqueue_spin(bool mark_only);
};

// What one run of the batched loop leaves: its counters, and whether the
// callback asked to stop.
struct Generation {
  cb_counters counters{};
  bool stopped = false;
};

// The batched API's loop (cb_generate, cb_generate_start): mlx-lm's
// generate_step as cb_prefill/cb_decode_step run it, each token's successor
// already scheduled when the token is handed to the callback, the pass past
// the last token drained before returning. max_new == 0 does nothing.
Generation run_generation(const Model& model, const int32_t* prompt, size_t n, size_t max_new,
                          const cb_sampling& sampling, cb_token_callback callback, void* user);

// Final-normed hidden state of the prompt's last position, as float32.
std::vector<float> embed_last(const Model& model, const int32_t* prompt, size_t n);

}  // namespace cb
