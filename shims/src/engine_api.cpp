// The serving engine's C ABI (cb_engine_*). Every entry is guarded like
// api.cpp's: nothing unwinds into the caller, whatever language it is.
#include <memory>
#include <string>
#include <thread>

#include "abi.hpp"
#include "crossbench_shim.h"
#include "engine.hpp"
#include "errors.hpp"
#include "handles.hpp"
#include "shared_stream.hpp"

struct cb_engine {
  std::unique_ptr<cb::Engine> engine;
  mlx::core::Device device;
  std::thread thread;  // cb_engine_start's; joined by cb_engine_join or free
  cb_status thread_status = CB_OK;
  std::string thread_message;
};

namespace {
namespace mx = mlx::core;
using cb::abi::Entry;
using cb::abi::guard;

void need(const void* p, const char* what) {
  if (!p) cb::fail(CB_ERR_ARGUMENT, std::string(what) + " must not be NULL");
}

// One step on the shared stream (shared_stream.hpp), whichever thread calls.
bool step_on_shared_stream(cb_engine* e, std::vector<cb_engine_token>& out) {
  std::lock_guard<std::mutex> lock(cb::shared_stream_mutex());
  mx::set_default_stream(cb::shared_stream(e->device));
  return e->engine->step(out);
}

// The body of cb_engine_start's thread: steps until done. guard_uncounted
// keeps every exception on this thread (std::terminate otherwise).
void run_engine(cb_engine* e) {
  e->thread_status = cb::abi::guard_uncounted([&] {
    std::vector<cb_engine_token> out;
    for (bool done = false; !done; out.clear()) done = step_on_shared_stream(e, out);
  });
  if (e->thread_status != CB_OK) e->thread_message = cb::abi::last_error();
}

}  // namespace

extern "C" {

cb_status cb_engine_new(cb_model* model, const cb_engine_options* options, cb_engine** out) {
  return guard(Entry::kEngineNew, [&] {
    need(model, "model");
    need(options, "options");
    need(out, "out");
    *out = nullptr;
    // The caller's device (cb_set_device), whatever thread steps later.
    const mx::Device device = mx::default_device();
    auto e = std::make_unique<cb_engine>(cb_engine{nullptr, device, {}, CB_OK, {}});
    e->engine = std::make_unique<cb::Engine>(model->model, *options, device);
    *out = e.release();
  });
}

void cb_engine_free(cb_engine* engine) {
  cb::abi::count(Entry::kEngineFree);
  if (!engine) return;
  if (engine->thread.joinable()) {
    engine->engine->close();
    engine->thread.join();
  }
  delete engine;
}

cb_status cb_engine_submit(cb_engine* engine, uint64_t request, const int32_t* prompt,
                           size_t n, uint32_t max_new, cb_request_callback callback,
                           void* user) {
  return guard(Entry::kEngineSubmit, [&] {
    need(engine, "engine");
    if (n > 0) need(prompt, "prompt");
    cb::EngineRequest r{request, std::vector<int32_t>(prompt, prompt + n), max_new, callback,
                        user};
    engine->engine->submit(std::move(r));
  });
}

cb_status cb_engine_cancel(cb_engine* engine, uint64_t request) {
  return guard(Entry::kEngineCancel, [&] {
    need(engine, "engine");
    engine->engine->cancel(request);
  });
}

cb_status cb_engine_close(cb_engine* engine) {
  return guard(Entry::kEngineClose, [&] {
    need(engine, "engine");
    engine->engine->close();
  });
}

cb_status cb_engine_step(cb_engine* engine, cb_engine_token* out, size_t cap, size_t* n_out,
                         size_t* active, int* done) {
  return guard(Entry::kEngineStep, [&] {
    need(engine, "engine");
    need(n_out, "n_out");
    need(active, "active");
    need(done, "done");
    if (cap > 0) need(out, "out");
    *n_out = 0;
    if (cap < engine->engine->options().max_batch)
      cb::fail(CB_ERR_ARGUMENT, "cap " + std::to_string(cap) + " is below max_batch " +
                                    std::to_string(engine->engine->options().max_batch));
    if (engine->thread.joinable())
      cb::fail(CB_ERR_ARGUMENT, "the engine runs on its own thread (cb_engine_start)");
    std::vector<cb_engine_token> tokens;
    *done = step_on_shared_stream(engine, tokens) ? 1 : 0;
    std::copy(tokens.begin(), tokens.end(), out);
    *n_out = tokens.size();
    *active = engine->engine->pending();
  });
}

cb_status cb_engine_start(cb_engine* engine) {
  return guard(Entry::kEngineStart, [&] {
    need(engine, "engine");
    if (engine->thread.joinable()) cb::fail(CB_ERR_ARGUMENT, "the engine was already started");
    engine->thread = std::thread(run_engine, engine);
  });
}

cb_status cb_engine_join(cb_engine* engine) {
  cb::abi::count(Entry::kEngineJoin);
  if (!engine) return cb::abi::set_error(CB_ERR_ARGUMENT, "engine must not be NULL");
  if (!engine->thread.joinable())
    return cb::abi::set_error(CB_ERR_ARGUMENT, "the engine has no thread to join");
  engine->thread.join();
  if (engine->thread_status != CB_OK)
    return cb::abi::set_error(engine->thread_status, engine->thread_message);
  return CB_OK;
}

cb_status cb_engine_get_stats(const cb_engine* engine, cb_engine_stats* out) {
  return guard(Entry::kEngineGetStats, [&] {
    need(engine, "engine");
    need(out, "out");
    *out = engine->engine->stats();
  });
}

size_t cb_engine_schedule(const cb_engine* engine, uint64_t* out, size_t cap) {
  cb::abi::count(Entry::kEngineSchedule);
  if (!engine) return 0;
  std::vector<uint64_t> words;
  if (cb::abi::guard_uncounted([&] { words = engine->engine->schedule_words(); }) != CB_OK)
    return 0;
  if (out) std::copy_n(words.begin(), std::min(cap, words.size()), out);
  return words.size();
}

}  // extern "C"
