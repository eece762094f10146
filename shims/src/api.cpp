// The C ABI. Every entry point runs inside guard() (abi.hpp), which counts the
// crossing and converts any C++ exception into a cb_status plus a thread-local
// message: nothing unwinds across the FFI boundary.
#include <mlx/mlx.h>

#include <cstring>
#include <memory>
#include <new>

#include "abi.hpp"
#include "crossbench_shim.h"
#include "embed.hpp"
#include "errors.hpp"
#include "generation.hpp"
#include "handles.hpp"
#include "make_weights.hpp"
#include "model.hpp"


namespace {
namespace mx = mlx::core;
using cb::abi::Entry;
using cb::abi::guard;

void need(const void* p, const char* what) {
  if (!p) cb::fail(CB_ERR_ARGUMENT, std::string(what) + " must not be NULL");
}

// Hands out a view of an evaluated float32 array (see cb_array_view).
void lend(mx::array a, cb_array_view** out, const float** data, size_t* len) {
  auto* view = new cb_array_view{std::move(a)};
  *out = view;
  *data = view->array.data<float>();
  *len = view->array.size();
}

void need_view_outs(cb_array_view** out, const float** data, size_t* len) {
  need(out, "out");
  need(data, "data");
  need(len, "len");
  *out = nullptr;
  *data = nullptr;
  *len = 0;
}

}  // namespace

extern "C" {

const char* cb_mlx_version(void) {
  cb::abi::count(Entry::kMlxVersion);
  return mx::version();
}

cb_status cb_set_device(const char* device) {
  return guard(Entry::kSetDevice, [&] {
    need(device, "device");
    std::string d = device;
    if (d == "cpu") {
      mx::set_default_device(mx::Device::cpu);
    } else if (d == "gpu") {
      if (!mx::is_available(mx::Device::gpu))
        cb::fail(CB_ERR_UNSUPPORTED, "device 'gpu' is not available in this MLX build "
                                     "(no Metal/CUDA backend); use 'cpu'");
      mx::set_default_device(mx::Device::gpu);
    } else {
      cb::fail(CB_ERR_ARGUMENT, "unknown device '" + d + "' (expected cpu or gpu)");
    }
  });
}

const char* cb_default_device(void) {
  cb::abi::count(Entry::kDefaultDevice);
  try {
    return mx::default_device() == mx::Device::gpu ? "gpu" : "cpu";
  } catch (...) {
    return "unknown";
  }
}

cb_status cb_model_load(const char* dir, cb_model** out) {
  return guard(Entry::kModelLoad, [&] {
    need(dir, "dir");
    need(out, "out");
    *out = nullptr;
    *out = new cb_model{cb::load_model(dir)};
  });
}

void cb_model_free(cb_model* model) {
  cb::abi::count(Entry::kModelFree);
  delete model;
}

cb_status cb_model_get_info(const cb_model* model, cb_model_info* out) {
  return guard(Entry::kModelGetInfo, [&] {
    need(model, "model");
    need(out, "out");
    const cb::Model& m = model->model;
    const cb::Config& c = m.cfg;
    cb_model_info info{};
    info.vocab_size = c.vocab_size;
    info.hidden_size = c.hidden_size;
    info.num_layers = c.num_layers;
    info.num_heads = c.num_heads;
    info.num_kv_heads = c.num_kv_heads;
    info.head_dim = c.head_dim;
    info.intermediate_size = c.intermediate_size;
    info.quant_bits = c.quant_bits;
    info.quant_group_size = c.quant_group_size;
    info.parameter_bytes = m.parameter_bytes;
    const char* dt = m.dtype == mx::float16    ? "float16"
                     : m.dtype == mx::bfloat16 ? "bfloat16"
                                               : "float32";
    std::strncpy(info.dtype, dt, sizeof info.dtype - 1);
    *out = info;
  });
}

cb_status cb_session_new(cb_model* model, const cb_sampling* sampling, cb_session** out) {
  return guard(Entry::kSessionNew, [&] {
    need(model, "model");
    need(sampling, "sampling");
    need(out, "out");
    *out = nullptr;
    *out = new cb_session{cb::Session(model->model, *sampling)};
  });
}

void cb_session_free(cb_session* session) {
  cb::abi::count(Entry::kSessionFree);
  delete session;
}

cb_status cb_prefill(cb_session* session, const int32_t* prompt, size_t n,
                     int32_t* first_token) {
  return guard(Entry::kPrefill, [&] {
    need(session, "session");
    need(first_token, "first_token");
    *first_token = session->session.prefill(prompt, n);
  });
}

cb_status cb_decode_step(cb_session* session, int32_t* next_token) {
  return guard(Entry::kDecodeStep, [&] {
    need(session, "session");
    need(next_token, "next_token");
    *next_token = session->session.step();
  });
}

cb_status cb_session_counters(const cb_session* session, cb_counters* out) {
  return guard(Entry::kSessionCounters, [&] {
    need(session, "session");
    need(out, "out");
    *out = session->session.counters();
  });
}

cb_status cb_session_finish(cb_session* session, cb_counters* out) {
  return guard(Entry::kSessionFinish, [&] {
    need(session, "session");
    need(out, "out");
    session->session.finish();
    *out = session->session.counters();
  });
}

cb_status cb_generate(cb_model* model, const int32_t* prompt, size_t n, size_t max_new,
                      const cb_sampling* sampling, cb_token_callback callback,
                      void* user, cb_counters* counters) {
  return guard(Entry::kGenerate, [&] {
    need(model, "model");
    need(sampling, "sampling");
    if (counters) *counters = cb_counters{};
    cb::Generation g =
        cb::run_generation(model->model, prompt, n, max_new, *sampling, callback, user);
    if (counters) *counters = g.counters;
    if (g.stopped) cb::fail(CB_ERR_CALLBACK, "token callback asked to stop generation");
  });
}

cb_status cb_embed(cb_model* model, const int32_t* prompt, size_t n, float* out,
                   size_t cap, size_t* len) {
  return guard(Entry::kEmbed, [&] {
    need(model, "model");
    need(len, "len");
    if (cap > 0) need(out, "out");
    std::vector<float> h = cb::embed_last(model->model, prompt, n);
    if (cap > 0) std::memcpy(out, h.data(), std::min(cap, h.size()) * sizeof(float));
    *len = h.size();
  });
}

uint64_t cb_mlx_peak_memory(void) {
  cb::abi::count(Entry::kMlxPeakMemory);
  try {
    return mx::get_peak_memory();
  } catch (...) {
    return 0;
  }
}

uint64_t cb_mlx_active_memory(void) {
  cb::abi::count(Entry::kMlxActiveMemory);
  try {
    return mx::get_active_memory();
  } catch (...) {
    return 0;
  }
}

void cb_mlx_reset_peak_memory(void) {
  cb::abi::count(Entry::kMlxResetPeakMemory);
  try {
    mx::reset_peak_memory();
  } catch (...) {
  }
}

uint64_t cb_mlx_set_cache_limit(uint64_t bytes) {
  cb::abi::count(Entry::kMlxSetCacheLimit);
  try {
    return mx::set_cache_limit(bytes);
  } catch (...) {
    return 0;
  }
}

cb_status cb_make_weights(const char* dir, uint64_t seed, const char* dtype,
                          const char* scales_dtype, uint64_t shard_bytes) {
  return guard(Entry::kMakeWeights, [&] {
    need(dir, "dir");
    need(dtype, "dtype");
    cb::make_weights(dir, seed, dtype, scales_dtype, shard_bytes);
  });
}

cb_status cb_mlx_eval_one(float* out) {
  return cb::abi::guard_uncounted([&] {
    need(out, "out");
    auto a = mx::add(mx::array(1.0f), mx::array(2.0f));
    mx::eval(a);
    *out = a.item<float>();
  });
}

int32_t cb_noop(int32_t x) { return x; }

cb_status cb_debug_arm_throw(const char* kind) {
  // Not guarded: arming must not consume the armed exception itself.
  cb::abi::count(Entry::kDebugArmThrow);
  if (!kind) return cb::abi::set_error(CB_ERR_ARGUMENT, "kind must not be NULL");
  std::string k = kind;
  if (k != "runtime" && k != "bad_alloc")
    return cb::abi::set_error(CB_ERR_ARGUMENT, "unknown kind '" + k + "' (runtime, bad_alloc)");
  cb::abi::arm(k);
  return CB_OK;
}


cb_status cb_embed_view(cb_model* model, const int32_t* prompt, size_t n,
                        cb_array_view** out, const float** data, size_t* len) {
  return guard(Entry::kEmbedView, [&] {
    need(model, "model");
    need_view_outs(out, data, len);
    lend(cb::embed_last_array(model->model, prompt, n), out, data, len);
  });
}

cb_status cb_array_view_copy(const cb_array_view* view, float* out, size_t cap,
                             size_t* len) {
  return guard(Entry::kArrayViewCopy, [&] {
    need(view, "view");
    need(len, "len");
    if (cap > 0) need(out, "out");
    size_t n = view->array.size();
    if (cap > 0) std::memcpy(out, view->array.data<float>(), std::min(cap, n) * sizeof(float));
    *len = n;
  });
}

void cb_array_view_free(cb_array_view* view) {
  cb::abi::count(Entry::kArrayViewFree);
  delete view;
}

cb_status cb_test_array_view(size_t n, cb_array_view** out, const float** data,
                             size_t* len) {
  return guard(Entry::kTestArrayView, [&] {
    need_view_outs(out, data, len);
    lend(cb::test_array(n), out, data, len);
  });
}

cb_status cb_mlx_eval_n(uint64_t n, float* out) {
  return cb::abi::guard_uncounted([&] {
    need(out, "out");
    for (uint64_t i = 0; i < n; ++i) {
      auto a = mx::add(mx::array(1.0f), mx::array(2.0f));
      mx::eval(a);
      *out = a.item<float>();
    }
  });
}

}  // extern "C"
