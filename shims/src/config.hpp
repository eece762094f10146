// Mistral / llama hyper-parameters read from an mlx-community config.json.
#pragma once
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
};

// Reads and validates dir/config.json. Throws cb::Error with CB_ERR_IO when the
// file is missing, CB_ERR_FORMAT when a key is malformed and
// CB_ERR_UNSUPPORTED for architectures the C++ model does not implement.
Config load_config(const std::string& dir);

// Reads a whole file; CB_ERR_IO naming the path on failure.
std::string read_file(const std::string& path);

}  // namespace cb
