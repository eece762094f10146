// The streaming API (cb_generate_start / cb_stream_wait): the batched loop on a
// C++ thread the shim starts, so every token callback arrives on a thread the
// caller's language runtime did not create (the design note's GenerateStream).
#include <mlx/mlx.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "abi.hpp"
#include "crossbench_shim.h"
#include "errors.hpp"
#include "handles.hpp"
#include "shared_stream.hpp"

// One generation in flight. The thread owns nothing but reads the fields set
// before it started; the caller reads the results only after joining it.
struct cb_stream {
  std::vector<int32_t> prompt;  // copied: the caller's buffer may go away
  cb_sampling sampling{};
  cb_status status = CB_OK;
  std::string message;
  cb_counters counters{};
  std::thread thread;
};

namespace {
namespace mx = mlx::core;
using cb::abi::Entry;

void need(const void* p, const char* what) {
  if (!p) cb::fail(CB_ERR_ARGUMENT, std::string(what) + " must not be NULL");
}

// The body of the shim's thread. Nothing may escape it (std::terminate):
// guard_uncounted turns every exception into a status kept for cb_stream_wait.
void run_stream(cb_stream* job, const cb::Model* model, size_t max_new, mx::Device device,
                cb_token_callback callback, void* user) {
  // One streaming generation at a time: the shared stream is not thread-safe.
  std::lock_guard<std::mutex> lock(cb::shared_stream_mutex());
  job->status = cb::abi::guard_uncounted([&] {
    mx::set_default_stream(cb::shared_stream(device));
    cb::Generation g = cb::run_generation(*model, job->prompt.data(), job->prompt.size(),
                                          max_new, job->sampling, callback, user);
    job->counters = g.counters;
    if (g.stopped) cb::fail(CB_ERR_CALLBACK, "token callback asked to stop generation");
  });
  if (job->status != CB_OK) job->message = cb::abi::last_error();
}

}  // namespace

extern "C" {

cb_status cb_generate_start(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                            const cb_sampling* sampling, cb_token_callback callback,
                            void* user, cb_stream** out) {
  return cb::abi::guard(Entry::kGenerateStart, [&] {
    need(model, "model");
    need(sampling, "sampling");
    need(out, "out");
    *out = nullptr;
    if (n > 0) need(prompt, "prompt");
    auto job = std::make_unique<cb_stream>();
    job->prompt.assign(prompt, prompt + n);
    job->sampling = *sampling;
    cb_stream* j = job.get();
    const cb::Model* m = &model->model;
    // The caller's device (cb_set_device), not the new thread's default.
    const mx::Device device = mx::default_device();
    j->thread = std::thread(run_stream, j, m, max_new, device, callback, user);
    *out = job.release();
  });
}

cb_status cb_stream_wait(cb_stream* stream, cb_counters* counters) {
  cb::abi::count(Entry::kStreamWait);
  if (!stream) return cb::abi::set_error(CB_ERR_ARGUMENT, "stream must not be NULL");
  std::unique_ptr<cb_stream> job(stream);
  if (job->thread.joinable()) job->thread.join();
  if (counters) *counters = job->counters;
  if (job->status != CB_OK) return cb::abi::set_error(job->status, job->message);
  return CB_OK;
}

}  // extern "C"

namespace cb {

std::mutex& shared_stream_mutex() {
  static std::mutex m;
  return m;
}

mx::Stream shared_stream(mx::Device device) {
  static std::vector<mx::Stream> streams;  // guarded by shared_stream_mutex()
  for (const auto& s : streams)
    if (s.device == device) return s;
  streams.push_back(mx::new_thread_unsafe_stream(device));
  return streams.back();
}

}  // namespace cb
