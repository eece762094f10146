// libFuzzer harness for the shim's model-file parsers: the safetensors header
// reader (shims/src/safetensors.cpp), the config.json reader (config.cpp) and
// the JSON parser under both (json.cpp). Built by scripts/fuzz.sh with
// -fsanitize=fuzzer,address,undefined; none of these files needs MLX.
//
// Both readers take paths, so each input is written to a scratch directory as
// model.safetensors and as config.json and handed to both: a safetensors
// input fails the JSON reader on its first byte and a JSON input fails the
// safetensors length check, so running both costs little and the corpus stays
// plain files. Each input is also tried as a safetensors header behind a
// length prefix the harness computes (LLVMFuzzerTestOneInput).
//
// Beyond "no crash": an accepted input must satisfy what the loader relies on
// (offsets inside the data section, byte spans matching dtype x shape without
// overflow, positive dimensions), and a refused one must be refused with
// cb::Error (the status the C ABI reports), not some other exception.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "config.hpp"
#include "errors.hpp"
#include "json.hpp"
#include "safetensors.hpp"

namespace {

std::string g_dir;

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s: %s\n", what, detail.c_str());
  std::abort();
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) violated("harness", "cannot write " + path);
}

// What the loader assumes of every tensor read_safetensors_header accepts.
void check_tensors(const std::map<std::string, cb::TensorInfo>& tensors, uint64_t data_size) {
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") violated("safetensors", "__metadata__ returned as a tensor");
    if (t.begin > t.end || t.end > data_size)
      violated("safetensors", "tensor '" + name + "' offsets outside the data section");
    size_t es = cb::safetensors_dtype_size(t.dtype);
    if (es == 0) continue;  // unknown dtypes are refused later, by the loader
    uint64_t bytes = es;
    for (int64_t d : t.shape) {
      if (d < 0) violated("safetensors", "tensor '" + name + "' has a negative dimension");
      if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
        violated("safetensors", "tensor '" + name + "' byte size overflows 64 bits: " +
                                    cb::shape_str(t.shape));
    }
    if (bytes != t.end - t.begin)
      violated("safetensors", "tensor '" + name + "' span does not match dtype x shape");
  }
}

void fuzz_safetensors(const uint8_t* data, size_t size) {
  const std::string path = g_dir + "/model.safetensors";
  write_file(path, data, size);
  try {
    auto tensors = cb::read_safetensors_header(path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | data[i];  // accepted => size >= 8
    check_tensors(tensors, size - 8 - hlen);
  } catch (const cb::Error& e) {
    if (std::string(e.what()).empty()) violated("safetensors", "empty error message");
  } catch (const std::exception& e) {
    violated("safetensors: not a cb::Error", e.what());
  }
}

void check_config(const cb::Config& c) {
  if (c.model_type != "mistral" && c.model_type != "llama")
    violated("config", "model_type '" + c.model_type + "' accepted");
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0 ||
      c.head_dim <= 0 || c.intermediate_size <= 0 || c.vocab_size <= 0)
    violated("config", "a non-positive dimension accepted");
  if (c.num_heads % c.num_kv_heads != 0)
    violated("config", "num_key_value_heads does not divide num_attention_heads");
  if (!std::isfinite(c.rms_norm_eps) || !std::isfinite(c.rope_theta))
    violated("config", "a non-finite rms_norm_eps or rope_theta accepted");
}

void fuzz_config(const uint8_t* data, size_t size) {
  write_file(g_dir + "/config.json", data, size);
  try {
    check_config(cb::load_config(g_dir));
  } catch (const cb::Error& e) {
    if (std::string(e.what()).empty()) violated("config", "empty error message");
  } catch (const std::exception& e) {
    violated("config: not a cb::Error", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // In memory where there is a /dev/shm: every input is written twice.
  char tmpl[] = "/dev/shm/crossbench-fuzz-XXXXXX";
  char fallback[] = "/tmp/crossbench-fuzz-XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (!dir) dir = mkdtemp(fallback);
  if (!dir) violated("harness", "mkdtemp failed");
  g_dir = dir;
  // Removed at exit; a crash leaves two small files behind, which is harmless.
  std::atexit([] {
    std::remove((g_dir + "/model.safetensors").c_str());
    std::remove((g_dir + "/config.json").c_str());
    rmdir(g_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_safetensors(data, size);
  // Also as a header with a length prefix that matches: a mutation of the
  // raw bytes rarely keeps the prefix consistent, so without this the JSON
  // inside a header would hardly be explored. The input up to its first NUL
  // is the header, the rest the data section.
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const uint64_t hlen = nul ? uint64_t(nul - data) : size;
  std::vector<uint8_t> framed(8 + size);
  for (int i = 0; i < 8; ++i) framed[i] = uint8_t(hlen >> (8 * i));  // little endian
  std::memcpy(framed.data() + 8, data, size);
  fuzz_safetensors(framed.data(), framed.size());
  fuzz_config(data, size);
  return 0;
}
