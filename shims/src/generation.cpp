#include "generation.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "embed.hpp"
#include "errors.hpp"
#include "mlx/scheduler.h"
#include "phases.hpp"

namespace cb {
namespace {

constexpr int kPrefillStep = 2048;  // mlx-lm generate_step's prefill_step_size

uint64_t ns_since(std::chrono::steady_clock::time_point t) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - t)
                      .count());
}

mx::array apply_top_p(const mx::array& logprobs, float top_p) {
  auto sorted = mx::sort(logprobs, -1);
  auto probs = mx::exp(mx::astype(sorted, mx::float32));
  auto mass_above = mx::cumsum(probs, -1, /*reverse=*/true, /*inclusive=*/false);
  const int R = probs.shape(0);
  auto total = mx::add(mx::slice(mass_above, {0, 0}, {R, 1}),
                       mx::slice(probs, {0, 0}, {R, 1}));
  auto dropped = mx::sum(
      mx::greater_equal(mass_above, mx::multiply(mx::array(top_p), total)), -1, true);
  auto threshold = mx::take_along_axis(sorted, dropped, -1);
  auto neg_inf = mx::array(-std::numeric_limits<float>::infinity(), logprobs.dtype());
  return mx::where(mx::less(logprobs, threshold), neg_inf, logprobs);
}

}  // namespace

Sampler::Sampler(const cb_sampling& s) : temperature_(s.temperature), top_p_(s.top_p) {
  if (!(s.temperature >= 0.0f) || !std::isfinite(s.temperature))
    fail(CB_ERR_ARGUMENT, "temperature must be a finite number >= 0");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f))
    fail(CB_ERR_ARGUMENT, "top_p must be in (0, 1]");
  if (temperature_ > 0.0f) key_ = mx::random::key(s.seed);
}

mx::array Sampler::operator()(const mx::array& logprobs) {
  if (temperature_ == 0.0f) return mx::argmax(logprobs, -1);
  mx::array lp = logprobs;
  if (top_p_ > 0.0f && top_p_ < 1.0f) lp = apply_top_p(lp, top_p_);
  // Same split as mx.random's global KeySequence::next(), so a Python run
  // seeded with mx.random.seed(seed) draws the same keys.
  auto [next, sub] = mx::random::split(*key_);
  key_ = next;
  // A Python float scalar is weakly typed: keep the logprobs' dtype.
  auto inv = mx::array(1.0f / temperature_, lp.dtype());
  return mx::random::categorical(mx::multiply(lp, inv), -1, sub);
}

// The regression gate's sensitivity test: a real per-token delay inside
// the generation loop, so every backend built on Session (ffi-token,
// ffi-batched, native-cpp) slows exactly where a code regression would.
// Only the backend named by `bench --inject-slowdown` gets the variable.
static double read_inject_pct() {
  const char* v = std::getenv("CROSSBENCH_INJECT_SLOWDOWN_PCT");
  if (!v || !*v) return 0.0;
  char* end = nullptr;
  double pct = std::strtod(v, &end);
  return (end && *end == '\0' && std::isfinite(pct) && pct > 0.0) ? pct : 0.0;
}

Session::Session(const Model& model, const cb_sampling& sampling)
    : model_(model), cache_(model.layers.size()), sampler_(sampling),
      inject_pct_(read_inject_pct()) {}

void Session::enqueue_spin(bool mark_only) {
  // A task on the stream's own thread, queued behind the token in flight and
  // ahead of the next step's operations: it runs when that token's
  // computation ends and spins pct% of it (from the previous spin's end, when
  // the stream thread started on this token, to now), so the computation of
  // every decode token takes pct% longer, in the critical path, with MLX's
  // pipelining untouched and nothing waited for on the caller's thread.
  // Busy-wait (not sleep): a sleep's wake-up latency would add its own,
  // machine-dependent delay. mark_only (prefill): start the clock only.
  const double fraction = mark_only ? 0.0 : inject_pct_ / 100.0;
  if (mx::default_device() != mx::Device::cpu)
    // A GPU stream's operations do not run on its scheduler thread: the
    // spin would run beside them, not in their path.
    fail(CB_ERR_ARGUMENT, "CROSSBENCH_INJECT_SLOWDOWN_PCT: the injected slowdown is CPU-only");
  auto ended = spin_ended_;  // the task may outlive this Session
  auto spin = [ended, fraction] {
    const auto now = Clock::now();
    const auto until = now + (now - *ended) * fraction;
    while (Clock::now() < until) {
    }
    *ended = Clock::now();
  };
  mx::scheduler::enqueue(mx::default_stream(mx::Device::cpu), std::move(spin));
}

mx::array Session::forward(const mx::array& tokens) {
  counters_.forward_passes++;
  auto logits = model_(mx::reshape(tokens, {1, -1}), cache_);  // [1, L, V]
  const int L = logits.shape(1), V = logits.shape(2);
  logits = mx::reshape(mx::slice(logits, {0, L - 1, 0}, {1, L, V}), {1, V});
  auto logprobs = mx::subtract(logits, mx::logsumexp(logits, /*keepdims=*/true));
  return sampler_(logprobs);
}

void Session::schedule(const mx::array& tokens, uint64_t* built_at) {
  build(tokens);
  if (built_at) *built_at = phases::mark();
  dispatch();
}

void Session::dispatch() {
  mx::async_eval({*next_});
  counters_.evals++;
}

int32_t Session::hand_out(const mx::array& y, uint64_t* read_at) {
  int32_t tok = y.dtype() == mx::int32 ? y.item<int32_t>() : int32_t(y.item<uint32_t>());
  if (read_at) *read_at = phases::mark();
  counters_.syncs++;
  counters_.generated_tokens++;
  counters_.bytes_out += sizeof(int32_t);
  // mlx-lm clears the allocator cache every 256 tokens.
  if (handed_++ % 256 == 0) mx::clear_cache();
  return tok;
}

int32_t Session::prefill(const int32_t* prompt, size_t n) {
  if (!prompt || n == 0) fail(CB_ERR_ARGUMENT, "prompt must contain at least one token");
  if (next_ || cache_.offset() > 0) fail(CB_ERR_ARGUMENT, "session was already prefilled");
  for (size_t i = 0; i < n; ++i)
    if (prompt[i] < 0 || prompt[i] >= model_.cfg.vocab_size)
      fail(CB_ERR_ARGUMENT, "prompt token " + std::to_string(prompt[i]) + " at index " +
                                std::to_string(i) + " is outside [0, vocab_size)");
  const auto t0 = Clock::now();
  mx::array all(prompt, {int(n)}, mx::int32);
  int done = 0;
  // Everything but the last token, in chunks, evaluating only the cache.
  while (int(n) - done > 1) {
    int len = std::min(kPrefillStep, int(n) - done - 1);
    model_(mx::reshape(mx::slice(all, {done}, {done + len}), {1, -1}), cache_);
    counters_.forward_passes++;
    mx::eval(cache_.state());
    counters_.evals++;
    done += len;
    mx::clear_cache();
  }
  counters_.prompt_tokens += n;
  schedule(mx::slice(all, {done}, {int(n)}));
  if (inject_pct_ > 0.0) enqueue_spin(true);  // the first decode token starts here
  mx::array y = *next_;
  schedule(y);
  // mlx-lm's `if n == 0: mx.eval(y)`: the first token is waited for by an
  // explicit eval (its item() below then finds it computed).
  mx::eval(y);
  counters_.evals++;
  int32_t tok = hand_out(y);
  first_token_at_ = Clock::now();
  counters_.prefill_ns += ns_since(t0);
  return tok;
}

int32_t Session::step() {
  if (!next_) fail(CB_ERR_ARGUMENT, "cb_decode_step called before cb_prefill");
  mx::array y = *next_;
  // The phase boundaries: build | dispatch (inside schedule) | wait | host.
  const uint64_t t_begin = phases::mark();
  uint64_t t_built = 0;
  // The regression gate's sensitivity test (see enqueue_spin).
  if (inject_pct_ > 0.0) enqueue_spin(false);
  schedule(y, &t_built);
  const uint64_t t_dispatched = phases::mark();
  uint64_t t_read = 0;
  int32_t tok = hand_out(y, &t_read);
  counters_.decode_ns = ns_since(first_token_at_);
  if (phases::on()) {
    phases::span(CB_PHASE_BUILD, t_begin, t_built);
    phases::span(CB_PHASE_DISPATCH, t_built, t_dispatched);
    phases::span(CB_PHASE_WAIT, t_dispatched, t_read);
    phases::span(CB_PHASE_HOST, t_read, phases::now_ns());
  }
  return tok;
}

void Session::finish() {
  if (!next_) return;
  // The queued pass is drained like mlx-lm's worker drains its stream
  // (synchronize, not an eval: neither side counts it).
  mx::synchronize();
  next_.reset();
}

std::vector<float> embed_last(const Model& model, const int32_t* prompt, size_t n) {
  // The copying twin of cb_embed_view: same array, copied out.
  auto last = embed_last_array(model, prompt, n);
  const float* p = last.data<float>();
  return std::vector<float>(p, p + last.size());
}

Generation run_generation(const Model& model, const int32_t* prompt, size_t n, size_t max_new,
                          const cb_sampling& sampling, cb_token_callback callback, void* user) {
  Generation g;
  if (max_new == 0) return g;
  Session s(model, sampling);
  uint64_t callbacks = 0;
  for (size_t i = 0; i < max_new && !g.stopped; ++i) {
    int32_t tok = i == 0 ? s.prefill(prompt, n) : s.step();
    if (callback) {
      ++callbacks;
      const uint64_t t_call = phases::mark();
      g.stopped = callback(tok, i, user) != 0;
      if (phases::on()) phases::span(CB_PHASE_CROSSING, t_call, phases::now_ns());
    }
  }
  s.finish();
  g.counters = s.counters();
  g.counters.callbacks = callbacks;
  return g;
}

}  // namespace cb
