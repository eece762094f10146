// The hidden state behind cb_embed_view: kept as an MLX array so the C ABI
// can lend its buffer instead of copying it out.
#pragma once
#include "model.hpp"

namespace cb {

// Final-normed hidden state of the prompt's last position: an evaluated,
// row-contiguous float32 array of shape [hidden]. embed_last (generation.cpp)
// copies it into a std::vector.
mx::array embed_last_array(const Model& model, const int32_t* prompt, size_t n);

// An evaluated float32 array 0, 1, ..., n-1 (for delivery benchmarks).
mx::array test_array(size_t n);

}  // namespace cb
