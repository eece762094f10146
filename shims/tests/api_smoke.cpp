// Smoke test of the C ABI against a model directory made by cb_make_weights:
// per-token API == batched API, counters, error mapping, the throw hook.
// usage: api_smoke MODEL_DIR   (exit 0 = pass)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "crossbench_shim.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, \
                   __LINE__, #cond, cb_last_error());                 \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

static int collect(int32_t tok, uint64_t, void* user) {
  static_cast<std::vector<int32_t>*>(user)->push_back(tok);
  return 0;
}
static int stop_after_two(int32_t, uint64_t i, void*) { return i >= 1; }

static void per_token_matches_batched(cb_model* m) {
  const int32_t prompt[] = {5, 100, 2000, 31000, 7};
  cb_sampling greedy{0.0f, 1.0f, 0};
  std::vector<int32_t> batched;
  cb_counters bc{};
  CHECK(cb_generate(m, prompt, 5, 16, &greedy, collect, &batched, &bc) == CB_OK);
  CHECK(batched.size() == 16 && bc.callbacks == 16 && bc.generated_tokens == 16);
  CHECK(bc.bytes_out == 64 && bc.prompt_tokens == 5);
  cb_session* s = nullptr;
  CHECK(cb_session_new(m, &greedy, &s) == CB_OK);
  std::vector<int32_t> stepped(1);
  CHECK(cb_prefill(s, prompt, 5, &stepped[0]) == CB_OK);
  for (int i = 1; i < 16; ++i) {
    int32_t t = -1;
    CHECK(cb_decode_step(s, &t) == CB_OK);
    stepped.push_back(t);
  }
  CHECK(stepped == batched);
  cb_counters sc{};
  CHECK(cb_session_counters(s, &sc) == CB_OK);
  CHECK(sc.generated_tokens == 16 && sc.syncs >= 16 && sc.evals >= 16 && sc.prefill_ns > 0);
  CHECK(cb_prefill(s, prompt, 5, &stepped[0]) == CB_ERR_ARGUMENT);  // twice
  cb_session_free(s);
}

static void errors_are_mapped(cb_model* m) {
  const int32_t prompt[] = {1, 2};
  cb_sampling greedy{0.0f, 1.0f, 0};
  CHECK(cb_generate(m, prompt, 2, 8, &greedy, stop_after_two, nullptr, nullptr) ==
        CB_ERR_CALLBACK);
  CHECK(cb_generate(m, prompt, 0, 8, &greedy, nullptr, nullptr, nullptr) == CB_ERR_ARGUMENT);
  CHECK(cb_generate(nullptr, prompt, 2, 8, &greedy, nullptr, nullptr, nullptr) ==
        CB_ERR_ARGUMENT);
  cb_sampling bad{-1.0f, 1.0f, 0};
  cb_session* s = nullptr;
  CHECK(cb_session_new(m, &bad, &s) == CB_ERR_ARGUMENT && s == nullptr);
  CHECK(cb_debug_arm_throw("runtime") == CB_OK);
  float v = 0;
  CHECK(cb_mlx_eval_one(&v) == CB_ERR_RUNTIME);
  CHECK(std::strstr(cb_last_error(), "armed") != nullptr);
  CHECK(cb_debug_arm_throw("bad_alloc") == CB_OK);
  CHECK(cb_mlx_eval_one(&v) == CB_ERR_RUNTIME);
  CHECK(std::strstr(cb_last_error(), "bad_alloc") != nullptr);
  CHECK(cb_mlx_eval_one(&v) == CB_OK && v == 3.0f);  // one-shot
  CHECK(cb_set_device("tpu") == CB_ERR_ARGUMENT);
  CHECK(cb_noop(41) == 41);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::printf("mlx %s\n", cb_mlx_version());
  cb_model* m = nullptr;
  CHECK(cb_model_load(argv[1], &m) == CB_OK);
  if (!m) return 1;
  cb_model_info info{};
  CHECK(cb_model_get_info(m, &info) == CB_OK);
  std::printf("hidden %d layers %d bits %d dtype %s params %llu\n", info.hidden_size,
              info.num_layers, info.quant_bits, info.dtype,
              (unsigned long long)info.parameter_bytes);
  per_token_matches_batched(m);
  errors_are_mapped(m);
  const int32_t prompt[] = {3, 4, 5};
  std::vector<float> h(info.hidden_size);
  size_t len = 0;
  CHECK(cb_embed(m, prompt, 3, h.data(), h.size(), &len) == CB_OK);
  CHECK(len == size_t(info.hidden_size) && std::isfinite(h[0]));
  cb_model_free(m);
  std::printf(failures ? "FAILED (%d)\n" : "OK\n", failures);
  return failures ? 1 : 0;
}
