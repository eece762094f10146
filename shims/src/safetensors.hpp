// Our own safetensors header reader: lets the loader reject truncated or
// mismatched files with a precise message before MLX ever maps them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cb {

struct TensorInfo {
  std::string file;
  std::string dtype;  // safetensors spelling: F32, F16, BF16, U32, ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
};

// Parses the header of one .safetensors file. CB_ERR_IO when the file is
// missing or shorter than the data its header describes, CB_ERR_FORMAT when
// the header is malformed (unknown dtype, a dimension over MLX's int32 limit,
// a byte count that overflows, offsets that disagree with dtype x shape).
std::map<std::string, TensorInfo> read_safetensors_header(const std::string& path);

// Bytes per element of a safetensors dtype, 0 when unknown.
size_t safetensors_dtype_size(const std::string& dtype);

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace cb
