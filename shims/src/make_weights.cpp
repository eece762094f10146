// cb_make_weights: deterministic random Mistral weights in mlx-community
// layout. We write the safetensors files ourselves (sorted header keys, fixed
// metadata) so identical inputs give byte-identical files, and generate one
// tensor group at a time so a 7B model never sits in memory at once.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "errors.hpp"
#include "json.hpp"
#include "make_weights.hpp"
#include "model.hpp"

namespace cb {
namespace {
namespace fs = std::filesystem;

// One generated group: a norm vector or a (possibly quantized) linear.
struct Unit {
  std::string prefix;  // e.g. "model.layers.0.mlp.up_proj"
  int out = 0, in = 0; // in == 0 marks a norm of length `out`
  float std = 0.0f;
};

struct Entry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

struct Plan {
  Config cfg;
  mx::Dtype dtype = mx::float32;   // unquantized weights
  mx::Dtype sdtype = mx::float32;  // scales/biases and norms when quantized
  int bits = 0;
  uint64_t seed = 0;
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

const char* st_dtype(mx::Dtype d) {
  if (d == mx::float32) return "F32";
  if (d == mx::float16) return "F16";
  if (d == mx::bfloat16) return "BF16";
  return "U32";
}

mx::Dtype parse_float_dtype(const std::string& s, const char* what) {
  if (s == "float32") return mx::float32;
  if (s == "float16") return mx::float16;
  if (s == "bfloat16") return mx::bfloat16;
  fail(CB_ERR_UNSUPPORTED, std::string(what) + " '" + s +
                               "' is not supported (float32, float16, bfloat16)");
}

// Init scales: the residual stream is dominated by the token embedding and
// every block adds a small update, so the next token depends mostly on the
// current one with some context; that keeps greedy decoding from collapsing
// into a short loop while activations stay O(1) in every dtype.
std::vector<Unit> make_units(const Config& c) {
  const int H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim;
  auto s = [](int in, float gain) { return gain / std::sqrt(float(in)); };
  // Tied models read logits off the embedding itself, so a residual stream
  // dominated by the current token's embedding would predict that token
  // again; stronger block outputs move the final state away from it.
  const float out_gain = c.tie_word_embeddings ? 3.0f : 0.5f;
  std::vector<Unit> u{{"model.embed_tokens", V, H, 1.0f}, {"model.norm", H, 0, 0}};
  if (!c.tie_word_embeddings) u.push_back({"lm_head", V, H, s(H, 1.0f)});
  for (int i = 0; i < c.num_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    u.push_back({p + "input_layernorm", H, 0, 0});
    u.push_back({p + "post_attention_layernorm", H, 0, 0});
    u.push_back({p + "self_attn.q_proj", Q, H, s(H, 1.0f)});
    u.push_back({p + "self_attn.k_proj", KV, H, s(H, 1.0f)});
    u.push_back({p + "self_attn.v_proj", KV, H, s(H, 1.0f)});
    u.push_back({p + "self_attn.o_proj", H, Q, s(Q, out_gain)});
    u.push_back({p + "mlp.gate_proj", I, H, s(H, 1.0f)});
    u.push_back({p + "mlp.up_proj", I, H, s(H, 1.0f)});
    u.push_back({p + "mlp.down_proj", H, I, s(I, out_gain)});
  }
  std::sort(u.begin(), u.end(),
            [](const Unit& a, const Unit& b) { return a.prefix < b.prefix; });
  return u;
}

std::vector<Entry> unit_entries(const Plan& p, const Unit& u) {
  auto bytes = [](mx::Dtype d, int64_t n) { return uint64_t(n) * mx::size_of(d); };
  if (u.in == 0) {
    mx::Dtype d = p.bits ? p.sdtype : p.dtype;
    return {{u.prefix + ".weight", st_dtype(d), {u.out}, bytes(d, u.out)}};
  }
  if (!p.bits) {
    int64_t n = int64_t(u.out) * u.in;
    return {{u.prefix + ".weight", st_dtype(p.dtype), {u.out, u.in}, bytes(p.dtype, n)}};
  }
  const int64_t packed = int64_t(u.in) * p.bits / 32, groups = u.in / 64;
  // Same order as mx::quantize's outputs: weight, scales, biases.
  return {{u.prefix + ".weight", "U32", {u.out, packed}, bytes(mx::uint32, u.out * packed)},
          {u.prefix + ".scales", st_dtype(p.sdtype), {u.out, groups},
           bytes(p.sdtype, u.out * groups)},
          {u.prefix + ".biases", st_dtype(p.sdtype), {u.out, groups},
           bytes(p.sdtype, u.out * groups)}};
}

std::vector<mx::array> unit_arrays(const Plan& p, const Unit& u) {
  if (u.in == 0) return {mx::ones({u.out}, p.bits ? p.sdtype : p.dtype)};
  uint64_t k = fnv1a(u.prefix + ".weight") ^ (p.seed * 0x9E3779B97F4A7C15ull);
  auto w = mx::random::normal({u.out, u.in}, mx::float32, 0.0f, u.std, mx::random::key(k));
  if (!p.bits) return {mx::astype(w, p.dtype)};
  // Like nn.quantize: quantize the weight in the dtype its scales will have.
  return mx::quantize(mx::astype(w, p.sdtype), 64, p.bits, "affine");
}

void write_bytes(std::ofstream& f, const std::string& path, const void* data, size_t n) {
  f.write(static_cast<const char*>(data), std::streamsize(n));
  if (!f) fail(CB_ERR_IO, "write failed: " + path);
}

std::string header_json(const std::vector<std::vector<Entry>>& groups) {
  std::map<std::string, std::string> sorted;  // name -> entry JSON, sorted keys
  uint64_t off = 0;
  for (const auto& g : groups)
    for (const auto& e : g) {
      std::string shape;
      for (size_t i = 0; i < e.shape.size(); ++i)
        shape += (i ? "," : "") + std::to_string(e.shape[i]);
      sorted[e.name] = "{\"dtype\":\"" + e.dtype + "\",\"shape\":[" + shape +
                       "],\"data_offsets\":[" + std::to_string(off) + "," +
                       std::to_string(off + e.bytes) + "]}";
      off += e.bytes;
    }
  std::string h = "{\"__metadata__\":{\"format\":\"mlx\"}";
  for (const auto& [name, v] : sorted) h += ",\"" + json::escape(name) + "\":" + v;
  h += "}";
  while ((8 + h.size()) % 8 != 0) h += ' ';  // data section 8-byte aligned
  return h;
}

void write_shard(const Plan& p, const std::vector<Unit>& units, const std::string& path) {
  std::vector<std::vector<Entry>> groups;
  for (const auto& u : units) groups.push_back(unit_entries(p, u));
  std::string header = header_json(groups);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail(CB_ERR_IO, "cannot create " + path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  write_bytes(f, path, len, 8);
  write_bytes(f, path, header.data(), header.size());
  for (size_t i = 0; i < units.size(); ++i) {
    std::vector<mx::array> arrays = unit_arrays(p, units[i]);
    for (auto& a : arrays) a = mx::contiguous(a);
    mx::eval(arrays);
    for (size_t j = 0; j < arrays.size(); ++j) {
      if (arrays[j].nbytes() != groups[i][j].bytes)
        fail(CB_ERR_RUNTIME, "internal: size mismatch for " + groups[i][j].name);
      write_bytes(f, path, arrays[j].data<uint8_t>(), arrays[j].nbytes());
    }
  }
  f.close();
  if (!f) fail(CB_ERR_IO, "write failed: " + path);
}

Plan make_plan(const std::string& dir, uint64_t seed, const std::string& dtype,
               const char* scales_dtype) {
  Plan p{load_config(dir), mx::float32, mx::float32, 0, seed};
  const Config& c = p.cfg;
  if (dtype == "q4" || dtype == "q8") {
    p.bits = dtype == "q4" ? 4 : 8;
    if (c.quant_bits != p.bits || c.quant_group_size != 64)
      fail(CB_ERR_ARGUMENT, dir + "/config.json: dtype " + dtype + " needs \"quantization\": "
                            "{\"group_size\": 64, \"bits\": " + std::to_string(p.bits) +
                            "} but config.json has bits=" + std::to_string(c.quant_bits) +
                            ", group_size=" + std::to_string(c.quant_group_size));
    p.sdtype = parse_float_dtype(scales_dtype ? scales_dtype : "float32", "scales_dtype");
    for (int in : {c.hidden_size, c.intermediate_size, c.num_heads * c.head_dim})
      if (in % 64 != 0)
        fail(CB_ERR_SHAPE, dir + "/config.json: input dim " + std::to_string(in) +
                               " is not a multiple of the group size 64");
  } else {
    p.dtype = parse_float_dtype(dtype, "dtype");
    if (c.quant_bits)
      fail(CB_ERR_ARGUMENT, dir + "/config.json has \"quantization\" but dtype is " + dtype +
                                " (use q4 or q8)");
  }
  return p;
}

}  // namespace

namespace {

uint64_t unit_bytes(const Plan& p, const Unit& u) {
  uint64_t n = 0;
  for (const auto& e : unit_entries(p, u)) n += e.bytes;
  return n;
}

// Greedy packing in sorted order; a unit larger than shard_bytes gets its own
// shard (a tensor group is never split).
std::vector<std::vector<Unit>> pack(const Plan& p, const std::vector<Unit>& units,
                                    uint64_t shard_bytes) {
  std::vector<std::vector<Unit>> shards(1);
  uint64_t cur = 0;
  for (const auto& u : units) {
    uint64_t b = unit_bytes(p, u);
    if (shard_bytes && cur > 0 && cur + b > shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(u);
    cur += b;
  }
  return shards;
}

// Old outputs of another shard layout would confuse the loader (an index
// json wins over model.safetensors), so remove exactly the names we write.
void remove_old_outputs(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    bool ours = n == "model.safetensors" || n == "model.safetensors.index.json" ||
                (n.rfind("model-", 0) == 0 && n.size() > 12 &&
                 n.compare(n.size() - 12, 12, ".safetensors") == 0);
    if (ours) fs::remove(e.path());
  }
}

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

void write_index(const Plan& p, const std::string& dir,
                 const std::vector<std::vector<Unit>>& shards) {
  std::map<std::string, std::string> map;
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i)
    for (const auto& u : shards[i])
      for (const auto& e : unit_entries(p, u)) {
        map[e.name] = shard_name(i, shards.size());
        total += e.bytes;
      }
  std::string s = "{\n  \"metadata\": {\n    \"total_size\": " + std::to_string(total) +
                  "\n  },\n  \"weight_map\": {";
  bool first = true;
  for (const auto& [k, v] : map) {
    s += std::string(first ? "" : ",") + "\n    \"" + json::escape(k) + "\": \"" + v + "\"";
    first = false;
  }
  s += "\n  }\n}\n";
  std::string path = (fs::path(dir) / "model.safetensors.index.json").string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << s;
  f.close();
  if (!f) fail(CB_ERR_IO, "write failed: " + path);
}

}  // namespace

void make_weights(const std::string& dir, uint64_t seed, const std::string& dtype,
                  const char* scales_dtype, uint64_t shard_bytes) {
  Plan p = make_plan(dir, seed, dtype, scales_dtype);
  std::vector<Unit> units = make_units(p.cfg);
  auto shards = pack(p, units, shard_bytes);
  remove_old_outputs(dir);
  if (shards.size() == 1) {
    write_shard(p, shards[0], (fs::path(dir) / "model.safetensors").string());
    return;
  }
  for (size_t i = 0; i < shards.size(); ++i) {
    write_shard(p, shards[i], (fs::path(dir) / shard_name(i, shards.size())).string());
    mx::clear_cache();
  }
  write_index(p, dir, shards);
}

}  // namespace cb
