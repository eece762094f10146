#include "engine.hpp"

#include <algorithm>
#include <chrono>

#include "errors.hpp"
#include "phases.hpp"

namespace cb {

constexpr int kPrefillChunk = 2048;  // mlx-lm's prefill_step_size, as Session

namespace {
// Session's greedy sampler on logits [R, V]: argmax of the log-probabilities,
// as int32 so the step's single eval leaves the ids readable.
mx::array greedy(const mx::array& logits) {
  auto logprobs = mx::subtract(logits, mx::logsumexp(logits, -1, true));
  return mx::astype(mx::argmax(logprobs, -1), mx::int32);
}
}  // namespace

struct Engine::Sequence {
  EngineRequest request;
  KVCache cache;
  int32_t last = 0;        // the token the next decode pass feeds
  uint32_t generated = 0;  // tokens handed out
  bool ended = false;      // finished or cancelled: leaves after this step
  Sequence(EngineRequest r, size_t layers) : request(std::move(r)), cache(layers) {}
};

Engine::Engine(const Model& model, const cb_engine_options& options, mx::Device device)
    : model_(model), options_(options), device_(device) {
  if (options.max_batch < 1) fail(CB_ERR_ARGUMENT, "max_batch must be >= 1");
  if (options.expected_requests < 1) fail(CB_ERR_ARGUMENT, "expected_requests must be >= 1");
  if (options.admit_timeout_ns < 1) fail(CB_ERR_ARGUMENT, "admit_timeout_ns must be >= 1");
}

Engine::~Engine() = default;

void Engine::submit(EngineRequest r) {
  if (r.prompt.empty()) fail(CB_ERR_ARGUMENT, "prompt must contain at least one token");
  if (r.max_new < 1) fail(CB_ERR_ARGUMENT, "max_new must be >= 1");
  for (size_t i = 0; i < r.prompt.size(); ++i)
    if (r.prompt[i] < 0 || r.prompt[i] >= model_.cfg.vocab_size)
      fail(CB_ERR_ARGUMENT, "prompt token " + std::to_string(r.prompt[i]) + " at index " +
                                std::to_string(i) + " is outside [0, vocab_size)");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) fail(CB_ERR_ARGUMENT, "engine is closed: no more submissions");
    if (submitted_ >= options_.expected_requests)
      fail(CB_ERR_ARGUMENT, "more submissions than expected_requests (" +
                                std::to_string(options_.expected_requests) + ")");
    submitted_++;
    queue_.push_back(std::move(r));
  }
  arrived_.notify_all();
}

void Engine::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  arrived_.notify_all();
}

void Engine::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_.push_back(id);
}

// Before admission, so a cancelled request's slot counts as free (as when its
// callback cancels it). Runs on the stepping thread, which owns active_.
void Engine::drop_cancelled_locked() {
  for (uint64_t id : cancelled_) {
    auto it = std::find_if(active_.begin(), active_.end(),
                           [&](const std::unique_ptr<Sequence>& s) { return s->request.id == id; });
    auto q = std::find_if(queue_.begin(), queue_.end(),
                          [&](const EngineRequest& r) { return r.id == id; });
    if (it != active_.end()) active_.erase(it);
    else if (q != queue_.end()) queue_.erase(q);
    else continue;  // finished already, or never submitted
    stats_.requests_cancelled++;
    ended_++;
  }
  cancelled_.clear();
}

size_t Engine::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + active_.size();
}

bool Engine::finished_locked() const {
  const bool no_more = closed_ || submitted_ >= options_.expected_requests;
  return no_more && queue_.empty() && active_.empty();
}

// Closed loop: wait until min(fill_to, max_batch, requests not yet ended)
// are active or queued. Open loop: an idle engine waits for anything.
void Engine::wait_for_fill(std::unique_lock<std::mutex>& lock) {
  const uint64_t cap = std::min<uint64_t>(options_.max_batch, options_.expected_requests - ended_);
  const uint64_t target = options_.fill_to > 0 ? std::min<uint64_t>(options_.fill_to, cap)
                                               : (active_.empty() ? 1 : 0);
  auto ready = [&] {
    return closed_ || queue_.size() + active_.size() >= target || finished_locked();
  };
  if (ready()) return;
  const auto t0 = std::chrono::steady_clock::now();
  if (!arrived_.wait_for(lock, std::chrono::nanoseconds(options_.admit_timeout_ns), ready))
    fail(CB_ERR_RUNTIME, "no request arrived within " +
                             std::to_string(options_.admit_timeout_ns / 1000000) +
                             " ms at step " + std::to_string(stats_.steps) + " (active " +
                             std::to_string(active_.size()) + ", queued " +
                             std::to_string(queue_.size()) + ", waiting for " +
                             std::to_string(target) + ")");
  stats_.admit_wait_ns += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - t0)
                                       .count());
}

std::vector<EngineRequest> Engine::admit() {
  std::unique_lock<std::mutex> lock(mutex_);
  drop_cancelled_locked();
  wait_for_fill(lock);
  // Id order, not arrival order: two requests that end in one step are
  // resubmitted by racing threads, and the schedule must not depend on it.
  std::sort(queue_.begin(), queue_.end(),
            [](const EngineRequest& a, const EngineRequest& b) { return a.id < b.id; });
  std::vector<EngineRequest> admitted;
  while (!queue_.empty() && active_.size() + admitted.size() < options_.max_batch) {
    admitted.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return admitted;
}

// Session::prefill's chunks: everything but the last token fills the cache,
// the last chunk's logits give the first token (not yet evaluated).
mx::array Engine::prefill(Sequence& s) {
  const auto& p = s.request.prompt;
  mx::array all(p.data(), {int(p.size())}, mx::int32);
  int done = 0;
  while (int(p.size()) - done > 1) {
    int len = std::min(kPrefillChunk, int(p.size()) - done - 1);
    model_(mx::reshape(mx::slice(all, {done}, {done + len}), {1, -1}), s.cache);
    stats_.forward_passes++;
    mx::eval(s.cache.state());
    stats_.evals++;
    done += len;
  }
  stats_.prompt_tokens += p.size();
  auto logits = model_(mx::reshape(mx::slice(all, {done}, {int(p.size())}), {1, -1}), s.cache);
  stats_.forward_passes++;
  const int L = logits.shape(1), V = logits.shape(2);
  logits = mx::reshape(mx::slice(logits, {0, L - 1, 0}, {1, L, V}), {1, V});
  return greedy(logits);
}

mx::array Engine::decode(const std::vector<Sequence*>& batch) {
  const int B = int(batch.size());
  std::vector<int32_t> ids(B);
  std::vector<KVCache*> caches(B);
  for (int b = 0; b < B; ++b) {
    ids[b] = batch[b]->last;
    caches[b] = &batch[b]->cache;
  }
  auto logits = model_.logits(model_.decode_hidden(mx::array(ids.data(), {B, 1}, mx::int32),
                                                   caches));
  logits = mx::reshape(logits, {B, -1});
  stats_.forward_passes++;
  return greedy(logits);
}

void Engine::deliver(Sequence& s, int32_t token, std::vector<cb_engine_token>& out) {
  const uint32_t index = s.generated++;
  const bool finished = s.generated >= s.request.max_new;
  s.last = token;
  stats_.generated_tokens++;
  out.push_back({s.request.id, token, index, finished ? 1u : 0u, 0u});
  bool cancelled = false;
  if (s.request.callback) {
    stats_.callbacks++;
    cancelled = s.request.callback(s.request.id, token, index, finished, s.request.user) != 0;
  }
  if (finished || cancelled) {
    s.ended = true;
    (cancelled && !finished ? stats_.requests_cancelled : stats_.requests_done)++;
  }
}

}  // namespace cb

namespace cb {

bool Engine::step(std::vector<cb_engine_token>& out) {
  std::vector<EngineRequest> admitted = admit();
  // After admission: a closed loop's wait for resubmissions is not the step's.
  const uint64_t start = phases::now_ns();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (admitted.empty() && active_.empty()) return finished_locked();
  }
  StepRecord rec{start, {}, {}};
  // Build every graph of the step first, then one eval and one read-back.
  std::vector<Sequence*> batch;
  for (auto& s : active_) {
    batch.push_back(s.get());
    rec.decoded.push_back(s->request.id);
  }
  std::vector<mx::array> outputs;
  if (!batch.empty()) outputs.push_back(decode(batch));
  for (auto& r : admitted) {
    rec.prefilled.push_back(r.id);
    active_.push_back(std::make_unique<Sequence>(std::move(r), model_.layers.size()));
    outputs.push_back(prefill(*active_.back()));
  }
  mx::eval(outputs);
  stats_.evals++;
  stats_.syncs++;
  stats_.max_active = std::max<uint64_t>(stats_.max_active, batch.size());
  // Tokens in admission order: the decode batch, then the prefilled.
  std::vector<int32_t> tokens;
  for (auto& o : outputs) {
    const int32_t* p = o.data<int32_t>();
    tokens.insert(tokens.end(), p, p + o.size());
  }
  for (size_t i = 0; i < active_.size(); ++i) deliver(*active_[i], tokens[i], out);
  size_t ended = 0;
  std::erase_if(active_, [&](const std::unique_ptr<Sequence>& s) {
    ended += s->ended;
    return s->ended;
  });
  schedule_.push_back(std::move(rec));
  if (++stats_.steps % 256 == 0) mx::clear_cache();  // as mlx-lm, per 256 tokens
  std::lock_guard<std::mutex> lock(mutex_);
  ended_ += ended;
  return finished_locked();
}

cb_engine_stats Engine::stats() const { return stats_; }

std::vector<uint64_t> Engine::schedule_words() const {
  std::vector<uint64_t> w;
  for (const auto& s : schedule_) {
    w.push_back(s.start_ns);
    w.push_back(s.prefilled.size());
    w.insert(w.end(), s.prefilled.begin(), s.prefilled.end());
    w.push_back(s.decoded.size());
    w.insert(w.end(), s.decoded.begin(), s.decoded.end());
  }
  return w;
}

}  // namespace cb
