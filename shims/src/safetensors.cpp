#include "safetensors.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "errors.hpp"
#include "json.hpp"

namespace cb {

size_t safetensors_dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64" || d == "C64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2")
    return 1;
  return 0;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

// MLX keeps every dimension in an int32, so a larger one cannot be loaded.
constexpr uint64_t kMaxDim = 0x7fffffff;
// Offsets beyond 2^53 are not exact in a JSON double, and no file is that large.
constexpr uint64_t kMaxOffset = uint64_t(1) << 53;

// A JSON number that is a whole number in [0, max]; checked before any cast,
// since casting an out-of-range double to an integer is undefined behaviour.
bool whole(const json::Value& v, uint64_t max, uint64_t& out) {
  if (!v.is_number() || !(v.num >= 0) || v.num > double(max) || v.num != std::floor(v.num))
    return false;
  out = uint64_t(v.num);
  return true;
}

TensorInfo parse_entry(const std::string& path, const std::string& name,
                       const json::Value& v) {
  auto bad = [&](const std::string& why) {
    fail(CB_ERR_FORMAT, path + ": tensor '" + json::escape(name) + "': " + why);
  };
  const json::Value* dt = v.find("dtype");
  const json::Value* sh = v.find("shape");
  const json::Value* off = v.find("data_offsets");
  if (!dt || !dt->is_string()) bad("missing dtype");
  if (!sh || !sh->is_array()) bad("missing shape");
  if (!off || !off->is_array() || off->arr.size() != 2) bad("missing data_offsets");
  TensorInfo t;
  t.file = path;
  t.dtype = dt->str;
  const size_t es = safetensors_dtype_size(t.dtype);
  if (es == 0) bad("unknown dtype '" + json::escape(t.dtype) + "'");
  uint64_t bytes = es;  // dtype size x every dimension, overflow-checked
  for (const auto& d : sh->arr) {
    uint64_t n = 0;
    if (!whole(d, kMaxDim, n))
      bad("shape entry must be a whole number in [0, " + std::to_string(kMaxDim) + "]");
    t.shape.push_back(int64_t(n));
    if (__builtin_mul_overflow(bytes, n, &bytes))
      bad("shape " + shape_str(t.shape) + "... overflows a 64-bit byte count");
  }
  if (!whole(off->arr[0], kMaxOffset, t.begin) || !whole(off->arr[1], kMaxOffset, t.end))
    bad("data_offsets must be whole numbers in [0, 2^53]");
  if (t.end < t.begin) bad("data_offsets end before begin");
  if (t.end - t.begin != bytes)
    bad("data_offsets span " + std::to_string(t.end - t.begin) + " bytes but " + t.dtype +
        " " + shape_str(t.shape) + " needs " + std::to_string(bytes));
  return t;
}

}  // namespace

std::map<std::string, TensorInfo> read_safetensors_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(CB_ERR_IO, "cannot open " + path);
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail(CB_ERR_IO, "cannot size " + path + ": " + ec.message());
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8))
    fail(CB_ERR_IO, path + ": truncated (shorter than the 8-byte header length)");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | len_bytes[i];  // little endian
  if (hlen > 100u * 1024 * 1024)
    fail(CB_ERR_FORMAT, path + ": header length " + std::to_string(hlen) + " is implausible");
  if (8 + hlen > file_size)
    fail(CB_ERR_IO, path + ": truncated (header needs " + std::to_string(8 + hlen) +
                        " bytes, file has " + std::to_string(file_size) + ")");
  std::string header(hlen, '\0');
  in.read(header.data(), std::streamsize(hlen));
  json::Value root;
  try {
    root = json::parse(header);
  } catch (const std::exception& e) {
    fail(CB_ERR_FORMAT, path + ": malformed safetensors header: " + e.what());
  }
  if (!root.is_object()) fail(CB_ERR_FORMAT, path + ": header is not a JSON object");
  std::map<std::string, TensorInfo> out;
  uint64_t data_size = file_size - 8 - hlen;
  for (const auto& [name, v] : root.obj) {
    if (name == "__metadata__") continue;
    TensorInfo t = parse_entry(path, name, v);
    if (t.end > data_size)
      fail(CB_ERR_IO, path + ": truncated: tensor '" + json::escape(name) + "' ends at byte " +
                          std::to_string(8 + hlen + t.end) + " but the file has " +
                          std::to_string(file_size) + " bytes");
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace cb
