#include "config.hpp"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "errors.hpp"
#include "json.hpp"

namespace cb {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(CB_ERR_IO, "cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(CB_ERR_IO, "cannot read " + path);
  return ss.str();
}

namespace {

struct Reader {
  const json::Value& root;
  std::string path;

  [[noreturn]] void bad(const std::string& key, const std::string& why) const {
    fail(CB_ERR_FORMAT, path + ": key '" + key + "' " + why);
  }
  const json::Value* get(const std::string& key) const {
    const json::Value* v = root.find(key);
    return (v && !v->is_null()) ? v : nullptr;
  }
  int integer(const std::string& key, const json::Value* v) const {
    if (!v->is_number() || v->num != std::floor(v->num) || v->num <= 0 ||
        v->num > 1e9)
      bad(key, "must be a positive integer");
    return int(v->num);
  }
  int req_int(const std::string& key) const {
    const json::Value* v = get(key);
    if (!v) bad(key, "is missing");
    return integer(key, v);
  }
  int opt_int(const std::string& key, int dflt) const {
    const json::Value* v = get(key);
    return v ? integer(key, v) : dflt;
  }
  float opt_float(const std::string& key, float dflt) const {
    const json::Value* v = get(key);
    if (!v) return dflt;
    // Casting a double outside float's range is undefined behaviour.
    if (!v->is_number() || !std::isfinite(v->num) || std::fabs(v->num) > FLT_MAX)
      bad(key, "must be a finite number within float range");
    return float(v->num);
  }
  bool opt_bool(const std::string& key, bool dflt) const {
    const json::Value* v = get(key);
    if (!v) return dflt;
    if (!v->is_bool()) bad(key, "must be true or false");
    return v->b;
  }
};

// {bits, group_size[, mode]} at `where` ("quantization" or
// "quantization.<module path>"), checked as MLX's affine quantization allows.
// A per-layer override may leave bits or group_size out or null: MLX's
// QuantizedLinear then takes affine's defaults, 4 bits in groups of 64
// (mlx.nn's _defaults_for_mode), as mixed recipes like mixed_3_6 write them.
Config::Quant read_quant_spec(const Reader& r, const json::Value& q, const std::string& where,
                              bool mlx_defaults) {
  if (!q.is_object()) r.bad(where, "must be an object");
  Reader qr{q, r.path};
  if (const json::Value* mode = qr.get("mode");
      mode && !(mode->is_string() && mode->str == "affine"))
    fail(CB_ERR_UNSUPPORTED,
         r.path + ": " + where + ".mode must be \"affine\" (the only mode supported)");
  Config::Quant spec = mlx_defaults
                           ? Config::Quant{qr.opt_int("bits", 4), qr.opt_int("group_size", 64)}
                           : Config::Quant{qr.req_int("bits"), qr.req_int("group_size")};
  int b = spec.bits;
  if (!(b == 2 || b == 3 || b == 4 || b == 5 || b == 6 || b == 8))
    fail(CB_ERR_UNSUPPORTED, r.path + ": " + where + ".bits = " + std::to_string(b) +
                                 " is not supported (expected 2, 3, 4, 5, 6 or 8)");
  int g = spec.group_size;
  if (!(g == 32 || g == 64 || g == 128))
    fail(CB_ERR_UNSUPPORTED, r.path + ": " + where + ".group_size = " + std::to_string(g) +
                                 " is not supported (32, 64, 128)");
  return spec;
}

// The model's quantization, and every other key of the object as a per-layer
// override (mlx-lm's load: a dict is that layer's own parameters, false
// leaves it unquantized, true gives it the model's).
void read_quantization(const Reader& r, Config& c) {
  const json::Value* q = r.get("quantization");
  if (!q) return;
  Config::Quant base = read_quant_spec(r, *q, "quantization", false);
  c.quant_bits = base.bits;
  c.quant_group_size = base.group_size;
  for (const auto& [key, v] : q->obj) {
    if (key == "bits" || key == "group_size" || key == "mode") continue;
    const std::string where = "quantization." + key;
    if (v.is_bool())
      c.quant_overrides[key] = v.b ? std::optional<Config::Quant>(base) : std::nullopt;
    else
      c.quant_overrides[key] = read_quant_spec(r, v, where, true);
  }
}

void reject_unsupported(const Reader& r) {
  const json::Value* mt = r.get("model_type");
  if (!mt || !mt->is_string()) r.bad("model_type", "is missing or not a string");
  if (mt->str != "mistral" && mt->str != "llama")
    fail(CB_ERR_UNSUPPORTED, r.path + ": model_type '" + mt->str +
                                 "' is not supported (expected mistral or llama)");
  if (r.get("rope_scaling"))
    fail(CB_ERR_UNSUPPORTED, r.path + ": rope_scaling must be null (scaled RoPE not implemented)");
  // mlx-lm's llama.py (which serves model_type mistral too) reads
  // sliding_window only for layers that layer_types marks "sliding_attention";
  // without layer_types every layer is full attention and the window is
  // ignored, as in the published Mistral-7B v0.1 config (sliding_window 4096).
  if (const json::Value* sw = r.get("sliding_window"); sw && !sw->is_number())
    r.bad("sliding_window", "must be a number or null");
  if (const json::Value* lt = r.get("layer_types")) {
    if (!lt->is_array()) r.bad("layer_types", "must be an array");
    for (const auto& t : lt->arr)
      if (!t.is_string() || t.str != "full_attention")
        fail(CB_ERR_UNSUPPORTED,
             r.path + ": layer_types may only contain \"full_attention\" (sliding-window "
                      "attention, which mlx-lm applies to \"sliding_attention\" layers, is not "
                      "implemented)");
  }
  if (r.opt_bool("attention_bias", false) || r.opt_bool("mlp_bias", false))
    fail(CB_ERR_UNSUPPORTED, r.path + ": attention_bias / mlp_bias are not supported");
}

// q_proj's width is a product of config values; it must fit a tensor
// dimension (MLX keeps dimensions in an int32) so that no later product of it,
// here or in MLX, overflows. k/v_proj's is no larger: the KV heads divide the
// heads. Each factor is at most 1e9 (integer()), so int64 cannot overflow.
void check_products(const Reader& r, const Config& c) {
  if (c.head_dim <= 0)
    r.bad("head_dim", "is missing and hidden_size / num_attention_heads is 0");
  const int64_t q = int64_t(c.num_heads) * c.head_dim;
  if (q > INT32_MAX)
    r.bad("num_attention_heads", "x head_dim = " + std::to_string(q) +
                                     " exceeds a tensor dimension's limit (2147483647)");
}

}  // namespace

Config load_config(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail(CB_ERR_IO, "model directory not found: " + dir);
  std::string path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(path)) fail(CB_ERR_IO, "config.json not found: " + path);
  json::Value root;
  try {
    root = json::parse(read_file(path));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(CB_ERR_FORMAT, path + ": " + e.what());
  }
  if (!root.is_object()) fail(CB_ERR_FORMAT, path + ": top level must be an object");
  Reader r{root, path};
  reject_unsupported(r);
  Config c;
  c.model_type = root.find("model_type")->str;
  c.hidden_size = r.req_int("hidden_size");
  c.num_layers = r.req_int("num_hidden_layers");
  c.num_heads = r.req_int("num_attention_heads");
  c.num_kv_heads = r.opt_int("num_key_value_heads", c.num_heads);
  c.head_dim = r.opt_int("head_dim", c.hidden_size / c.num_heads);
  c.intermediate_size = r.req_int("intermediate_size");
  c.vocab_size = r.req_int("vocab_size");
  c.rms_norm_eps = r.opt_float("rms_norm_eps", 1e-5f);
  if (!r.get("rms_norm_eps")) r.bad("rms_norm_eps", "is missing");
  c.rope_theta = r.opt_float("rope_theta", 10000.0f);
  c.rope_traditional = r.opt_bool("rope_traditional", false);
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings", true);
  if (c.num_heads % c.num_kv_heads != 0)
    r.bad("num_key_value_heads", "must divide num_attention_heads");
  check_products(r, c);
  read_quantization(r, c);
  return c;
}

}  // namespace cb
