// Mistral / llama hyper-parameters read from an mlx-community config.json.
#pragma once
#include <map>
#include <optional>
#include <string>

namespace cb {

struct Config {
  std::string model_type;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool rope_traditional = false;
  bool tie_word_embeddings = true;  // llama.py's default
  int quant_bits = 0;               // 0 = not quantized
  int quant_group_size = 0;

  // mlx-lm's per-layer overrides inside "quantization" (mixed-precision
  // recipes): module path -> its own {bits, group_size}, or nullopt where the
  // config says `false` (left unquantized).
  struct Quant {
    int bits = 0;
    int group_size = 0;
  };
  std::map<std::string, std::optional<Quant>> quant_overrides;

  // The quantization of the linear layer at `path` ("model.layers.0.mlp.up_proj"),
  // as mlx-lm's load resolves it: its override, else the model's, else none.
  std::optional<Quant> quant_for(const std::string& path) const {
    auto it = quant_overrides.find(path);
    if (it != quant_overrides.end()) return it->second;
    if (quant_bits == 0) return std::nullopt;
    return Quant{quant_bits, quant_group_size};
  }
};

// Reads and validates dir/config.json. Throws cb::Error with CB_ERR_IO when the
// file is missing, CB_ERR_FORMAT when a key is malformed and
// CB_ERR_UNSUPPORTED for architectures the C++ model does not implement.
Config load_config(const std::string& dir);

// Reads a whole file; CB_ERR_IO naming the path on failure.
std::string read_file(const std::string& path);

}  // namespace cb
