// Model directory loading: find the shards, validate every header and shape
// against config.json ourselves (precise errors), then hand files to MLX.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <unordered_map>

#include "errors.hpp"
#include "json.hpp"
#include "model.hpp"
#include "safetensors.hpp"

namespace cb {
namespace {
namespace fs = std::filesystem;
using Index = std::map<std::string, TensorInfo>;
using Arrays = std::unordered_map<std::string, mx::array>;

// Where a weight file may live. Every weight file (weight_map entries,
// model.safetensors, *.safetensors found in the directory) must resolve,
// symlinks followed, inside the model directory, so a hostile index or a
// planted symlink cannot make us open (and quote in errors) files elsewhere.
// The Hugging Face hub cache keeps snapshots/<rev>/<file> as a symlink to
// ../../blobs/<hash>: when the model directory's real parent is named
// "snapshots", its sibling blobs/ directory is allowed too. A weight_map entry
// itself must be a relative path without ".." (HF writes bare file names).
// The same rule is in crates/crossbench-mlx-rs/src/checkpoint/files.rs.
struct Roots {
  fs::path dir;
  std::optional<fs::path> blobs;
};

Roots allowed_roots(const std::string& dir) {
  std::error_code ec;
  Roots r{fs::canonical(dir, ec), std::nullopt};
  if (ec) fail(CB_ERR_IO, "cannot resolve model directory " + dir + ": " + ec.message());
  if (r.dir.parent_path().filename() == "snapshots") {
    fs::path blobs = fs::canonical(r.dir.parent_path().parent_path() / "blobs", ec);
    if (!ec) r.blobs = blobs;
  }
  return r;
}

bool within(const fs::path& p, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), p.begin(), p.end()).first == root.end();
}

// The reason `file` may not be read, or "" when it is a regular file (not a
// FIFO that would block, not a directory) inside the allowed roots.
std::string refuse_reason(const Roots& r, const fs::path& file) {
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (ec) return "cannot be resolved: " + ec.message();
  if (!within(real, r.dir) && !(r.blobs && within(real, *r.blobs)))
    return "resolves to " + real.string() + ", outside the model directory " + r.dir.string();
  if (!fs::is_regular_file(real, ec)) return "is not a regular file";
  return "";
}

// One weight_map value ("where" names it), checked by the rule above.
std::string entry_file(const std::string& dir, const Roots& roots, const std::string& where,
                       const json::Value& f) {
  if (!f.is_string()) fail(CB_ERR_FORMAT, where + " is not a string");
  const std::string shown = where + " = '" + json::escape(f.str) + "'";
  const fs::path rel(f.str);
  const bool dotdot = std::any_of(rel.begin(), rel.end(), [](const fs::path& c) {
    return c == "..";
  });
  if (f.str.empty() || f.str.find('\0') != std::string::npos || rel.has_root_path() || dotdot)
    fail(CB_ERR_FORMAT, shown + ": must be a relative path inside the model directory "
                                "(no absolute path, no '..')");
  const fs::path full = fs::path(dir) / rel;
  std::error_code ec;
  if (!fs::exists(full, ec)) fail(CB_ERR_IO, shown + ": weight file not found: " + full.string());
  if (std::string why = refuse_reason(roots, full); !why.empty())
    fail(CB_ERR_FORMAT, shown + " " + why);
  return full.string();
}

std::vector<std::string> index_files(const std::string& dir, const std::string& path) {
  json::Value root;
  try {
    root = json::parse(read_file(path));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(CB_ERR_FORMAT, path + ": " + e.what());
  }
  const json::Value* wm = root.find("weight_map");
  if (!wm || !wm->is_object()) fail(CB_ERR_FORMAT, path + ": missing weight_map object");
  const Roots roots = allowed_roots(dir);
  std::set<std::string> files;
  for (const auto& [name, f] : wm->obj)
    files.insert(entry_file(dir, roots, path + ": weight_map['" + json::escape(name) + "']", f));
  return {files.begin(), files.end()};
}

std::vector<std::string> listed_files(const std::string& dir) {
  const fs::path d(dir), single = d / "model.safetensors";
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::exists(single, ec)) files.push_back(single.string());
  else
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail(CB_ERR_IO, "no *.safetensors files in " + dir);
  const Roots roots = allowed_roots(dir);
  for (const auto& f : files)
    if (std::string why = refuse_reason(roots, f); !why.empty())
      fail(CB_ERR_FORMAT, "weight file " + f + " " + why);
  return files;
}

std::vector<std::string> weight_files(const std::string& dir) {
  fs::path d(dir);
  if (fs::exists(d / "model.safetensors.index.json"))
    return index_files(dir, (d / "model.safetensors.index.json").string());
  return listed_files(dir);
}

Index read_headers(const std::vector<std::string>& files) {
  Index idx;
  for (const auto& f : files)
    for (auto& [name, info] : read_safetensors_header(f))
      if (auto [it, fresh] = idx.emplace(name, info); !fresh)
        // Which copy MLX would use is an accident of load order.
        fail(CB_ERR_FORMAT, "tensor '" + json::escape(name) + "' is in both " + it->second.file +
                                " and " + f);
  return idx;
}

struct Checker {
  const Index& idx;
  const Config& cfg;
  std::string dir;

  const TensorInfo& need(const std::string& name) const {
    auto it = idx.find(name);
    if (it == idx.end())
      fail(CB_ERR_SHAPE, "tensor '" + name + "' is missing from the safetensors files in " + dir);
    return it->second;
  }
  void shape(const TensorInfo& t, const std::string& name,
             const std::vector<int64_t>& want, const std::string& keys) const {
    if (t.shape != want)
      fail(CB_ERR_SHAPE, t.file + ": tensor '" + name + "' has shape " + shape_str(t.shape) +
                             " but config.json implies " + shape_str(want) + " (" + keys + ")");
  }
  void float_dtype(const TensorInfo& t, const std::string& name) const {
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16")
      fail(CB_ERR_UNSUPPORTED, t.file + ": tensor '" + name + "' has dtype " + t.dtype +
                                   " (supported: F32, F16, BF16)");
  }
  void plain(const std::string& name, const std::vector<int64_t>& want,
             const std::string& keys) const {
    const TensorInfo& t = need(name);
    float_dtype(t, name);
    shape(t, name, want, keys);
  }
  void quantized(const std::string& p, int64_t out, int64_t in, const std::string& keys) const;
  void linear(const std::string& p, int64_t out, int64_t in, const std::string& keys) const {
    bool has_scales = idx.count(p + ".scales") > 0;
    if (!has_scales && cfg.quant_for(p) && need(p + ".weight").dtype == "U32")
      fail(CB_ERR_SHAPE, "tensor '" + p + ".scales' is missing (packed " + p +
                             ".weight needs it) in " + dir);
    if (has_scales) quantized(p, out, in, keys);
    else plain(p + ".weight", {out, in}, keys);
  }
};

void Checker::quantized(const std::string& p, int64_t out, int64_t in,
                        const std::string& keys) const {
  const auto q = cfg.quant_for(p);
  if (!q)
    fail(CB_ERR_FORMAT, dir + ": '" + p + ".scales' exists but config.json quantizes no '" + p +
                            "' (no 'quantization' {group_size, bits}, or it sets '" + p +
                            "' to false)");
  const int bits = q->bits, g = q->group_size;
  const std::string src = cfg.quant_overrides.count(p) ? "quantization." + p + "." : "quantization.";
  const std::string qkeys = keys + ", " + src + "bits=" + std::to_string(bits) + ", " + src +
                            "group_size=" + std::to_string(g);
  if ((in * bits) % 32 != 0 || in % g != 0)
    fail(CB_ERR_SHAPE, dir + ": '" + p + "' input dim " + std::to_string(in) +
                           " is not divisible by the quantization group (" + qkeys + ")");
  const TensorInfo& w = need(p + ".weight");
  if (w.dtype != "U32")
    fail(CB_ERR_UNSUPPORTED, w.file + ": tensor '" + p + ".weight' has dtype " + w.dtype +
                                 " but quantized weights must be U32");
  shape(w, p + ".weight", {out, in * bits / 32}, qkeys);
  for (const char* part : {".scales", ".biases"}) {
    std::string name = p + part;
    if (std::string(part) == ".biases" && !idx.count(name)) continue;
    const TensorInfo& t = need(name);
    float_dtype(t, name);
    shape(t, name, {out, in / g}, qkeys);
  }
}

void validate(const Checker& ck) {
  const Config& c = ck.cfg;
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int64_t Q = int64_t(c.num_heads) * c.head_dim;
  const int64_t KV = int64_t(c.num_kv_heads) * c.head_dim;
  const std::string hk = "hidden_size=" + std::to_string(H);
  const std::string qk = "num_attention_heads*head_dim=" + std::to_string(Q) + ", " + hk;
  const std::string kvk = "num_key_value_heads*head_dim=" + std::to_string(KV) + ", " + hk;
  const std::string ik = "intermediate_size=" + std::to_string(I) + ", " + hk;
  const std::string vk = "vocab_size=" + std::to_string(V) + ", " + hk;
  ck.linear("model.embed_tokens", V, H, vk);
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    ck.linear(p + "self_attn.q_proj", Q, H, qk);
    ck.linear(p + "self_attn.k_proj", KV, H, kvk);
    ck.linear(p + "self_attn.v_proj", KV, H, kvk);
    ck.linear(p + "self_attn.o_proj", H, Q, qk);
    ck.linear(p + "mlp.gate_proj", I, H, ik);
    ck.linear(p + "mlp.up_proj", I, H, ik);
    ck.linear(p + "mlp.down_proj", H, I, ik);
    ck.plain(p + "input_layernorm.weight", {H}, hk);
    ck.plain(p + "post_attention_layernorm.weight", {H}, hk);
  }
  ck.plain("model.norm.weight", {H}, hk);
  if (!c.tie_word_embeddings) ck.linear("lm_head", V, H, vk + ", tie_word_embeddings=false");
}

Arrays load_arrays(const std::vector<std::string>& files, const Index& idx) {
  Arrays out;
  for (const auto& f : files) {
    auto [arrays, meta] = mx::load_safetensors(f);
    for (auto& [name, a] : arrays)
      if (idx.count(name)) out.emplace(name, a);
  }
  return out;
}

struct Builder {
  Arrays& arrays;
  const Config& cfg;
  std::vector<mx::array> used;

  mx::array get(const std::string& name) {
    auto it = arrays.find(name);
    if (it == arrays.end()) fail(CB_ERR_FORMAT, "MLX did not load tensor '" + name + "'");
    used.push_back(it->second);
    return it->second;
  }
  std::optional<mx::array> maybe(const std::string& name) {
    if (!arrays.count(name)) return std::nullopt;
    return get(name);
  }
  Linear linear(const std::string& p) {
    Linear l{get(p + ".weight"), maybe(p + ".scales"), maybe(p + ".biases")};
    if (l.quantized()) {
      const auto q = cfg.quant_for(p);  // validate() made sure it exists
      l.bits = q->bits;
      l.group_size = q->group_size;
    }
    return l;
  }
  Layer layer(int i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    return Layer{get(p + "input_layernorm.weight"), get(p + "post_attention_layernorm.weight"),
                 linear(p + "self_attn.q_proj"), linear(p + "self_attn.k_proj"),
                 linear(p + "self_attn.v_proj"), linear(p + "self_attn.o_proj"),
                 linear(p + "mlp.gate_proj"), linear(p + "mlp.up_proj"),
                 linear(p + "mlp.down_proj")};
  }
};

}  // namespace

Model load_model(const std::string& dir) {
  Config cfg = load_config(dir);
  std::vector<std::string> files = weight_files(dir);
  Index idx = read_headers(files);
  validate(Checker{idx, cfg, dir});
  Arrays arrays = load_arrays(files, idx);
  Builder b{arrays, cfg, {}};
  Linear embed = b.linear("model.embed_tokens");
  std::vector<Layer> layers;
  for (int i = 0; i < cfg.num_layers; ++i) layers.push_back(b.layer(i));
  mx::array norm = b.get("model.norm.weight");
  std::optional<Linear> head;
  if (!cfg.tie_word_embeddings) head = b.linear("lm_head");
  // Evaluate now so load time is real and bad data surfaces at load.
  mx::eval(b.used);
  uint64_t bytes = 0;
  for (const auto& a : b.used) bytes += a.nbytes();
  mx::Dtype dtype = embed.quantized() ? embed.scales->dtype() : embed.w.dtype();
  return Model{cfg, std::move(embed), std::move(layers), norm, std::move(head), dtype, bytes};
}

}  // namespace cb
