#pragma once
#include <cstdint>
#include <string>

namespace cb {
// See cb_make_weights in crossbench_shim.h.
void make_weights(const std::string& dir, uint64_t seed, const std::string& dtype,
                  const char* scales_dtype, uint64_t shard_bytes);
}  // namespace cb
