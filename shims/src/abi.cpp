#include "abi.hpp"

#include <new>
#include <stdexcept>

#include "errors.hpp"

namespace cb::abi {

std::atomic<uint64_t> g_entry_calls[int(Entry::kCount)];

const char* const kEntryNames[int(Entry::kCount)] = {
    "cb_set_device", "cb_default_device", "cb_model_load", "cb_model_free", "cb_model_get_info",
    "cb_session_new", "cb_session_free", "cb_prefill", "cb_decode_step",
    "cb_session_counters", "cb_session_finish", "cb_generate", "cb_embed",
    "cb_mlx_version", "cb_mlx_peak_memory", "cb_mlx_active_memory",
    "cb_mlx_reset_peak_memory", "cb_mlx_set_cache_limit", "cb_make_weights",
    "cb_debug_arm_throw", "cb_embed_view", "cb_array_view_copy",
    "cb_array_view_free", "cb_test_array_view", "cb_generate_start", "cb_stream_wait",
    "cb_phases_record", "cb_engine_new", "cb_engine_free", "cb_engine_submit",
    "cb_engine_close", "cb_engine_step", "cb_engine_start", "cb_engine_join",
    "cb_engine_get_stats", "cb_engine_schedule", "cb_engine_cancel",
};

namespace {
thread_local std::string g_last_error;
thread_local std::string g_armed;  // one-shot exception kind for tests
}  // namespace

cb_status set_error(cb_status s, const std::string& msg) {
  g_last_error = msg;
  return s;
}

const char* last_error() { return g_last_error.c_str(); }

void arm(const std::string& kind) { g_armed = kind; }

void maybe_throw_armed() {
  if (g_armed.empty()) return;
  std::string kind;
  kind.swap(g_armed);
  if (kind == "bad_alloc") throw std::bad_alloc();
  throw std::runtime_error("armed test exception (" + kind + ")");
}

// Called inside a catch(...) block: rethrows to learn the exception's type.
cb_status guard_current_exception() {
  try {
    throw;
  } catch (const cb::Error& e) {
    return set_error(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(CB_ERR_RUNTIME, "out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    return set_error(CB_ERR_RUNTIME, e.what());
  } catch (...) {
    return set_error(CB_ERR_RUNTIME, "unknown C++ exception");
  }
}

}  // namespace cb::abi

extern "C" {

const char* cb_last_error(void) { return cb::abi::last_error(); }

size_t cb_abi_counts(cb_abi_count* out, size_t cap) {
  using namespace cb::abi;
  const size_t n = size_t(Entry::kCount);
  for (size_t i = 0; out && i < cap && i < n; ++i)
    out[i] = cb_abi_count{kEntryNames[i], g_entry_calls[i].load(std::memory_order_relaxed)};
  return n;
}

void cb_abi_counts_reset(void) {
  for (auto& c : cb::abi::g_entry_calls) c.store(0, std::memory_order_relaxed);
}

}  // extern "C"
