// The Mistral/llama forward pass, a line-by-line mirror of mlx-lm's
// models/llama.py so greedy token ids match mlx-lm exactly.
#pragma once
#include <mlx/mlx.h>

#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace cb {
namespace mx = mlx::core;

// nn.Linear (bias-free) or nn.QuantizedLinear when scales are present.
struct Linear {
  mx::array w;
  std::optional<mx::array> scales, biases;
  int bits = 0, group_size = 0;

  bool quantized() const { return scales.has_value(); }
  mx::array operator()(const mx::array& x) const;
  // nn.Embedding / nn.QuantizedEmbedding lookup of rows `ids`.
  mx::array embed(const mx::array& ids) const;
};

struct Layer {
  mx::array input_norm, post_norm;
  Linear q, k, v, o, gate, up, down;
};

// mlx-lm cache.KVCache (step 256): preallocated, grown by concatenation.
struct LayerCache {
  std::optional<mx::array> keys, values;
  int offset = 0;
  std::pair<mx::array, mx::array> update_and_fetch(const mx::array& k,
                                                   const mx::array& v);
};

struct KVCache {
  std::vector<LayerCache> layers;
  explicit KVCache(size_t n) : layers(n) {}
  int offset() const { return layers.empty() ? 0 : layers[0].offset; }
  std::vector<mx::array> state() const;  // keys and values of every layer
};

struct Model {
  Config cfg;
  Linear embed_tokens;
  std::vector<Layer> layers;
  mx::array norm;
  std::optional<Linear> lm_head;  // absent when tied to embed_tokens
  mx::Dtype dtype = mx::float32;  // activation dtype
  uint64_t parameter_bytes = 0;

  // ids: int32 [1, L]. Returns the final-normed hidden state [1, L, hidden].
  mx::array hidden(const mx::array& ids, KVCache& cache) const;
  mx::array logits(const mx::array& hidden) const;
  // One decode position for each of B sequences, each with its own cache
  // (the serving engine): ids int32 [B, 1], caches[b] the cache of row b.
  // Projections and MLP run as one [B, 1, hidden] matmul; attention runs per
  // row over that row's cache. Returns the final-normed hidden [B, 1, hidden].
  mx::array decode_hidden(const mx::array& ids, const std::vector<KVCache*>& caches) const;
  mx::array operator()(const mx::array& ids, KVCache& cache) const {
    return logits(hidden(ids, cache));
  }
};

// Loads config.json and the safetensors weights of an mlx-community model
// directory, validating every tensor before MLX touches it (loader.cpp).
Model load_model(const std::string& dir);

}  // namespace cb
