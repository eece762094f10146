#include "model.hpp"

#include <cmath>

namespace cb {

mx::array Linear::operator()(const mx::array& x) const {
  if (quantized())
    return mx::quantized_matmul(x, w, *scales, biases, /*transpose=*/true,
                                group_size, bits, "affine");
  return mx::matmul(x, mx::transpose(w));
}

mx::array Linear::embed(const mx::array& ids) const {
  if (!quantized()) return mx::take(w, ids, 0);
  std::optional<mx::array> b;
  if (biases) b = mx::take(*biases, ids, 0);
  return mx::dequantize(mx::take(w, ids, 0), mx::take(*scales, ids, 0), b,
                        group_size, bits, "affine");
}

std::pair<mx::array, mx::array> LayerCache::update_and_fetch(const mx::array& k,
                                                             const mx::array& v) {
  constexpr int kStep = 256;
  const int prev = offset;
  const int B = k.shape(0), H = k.shape(1), L = k.shape(2), D = k.shape(3);
  const int Dv = v.shape(3);
  if (!keys || prev + L > keys->shape(2)) {
    int n_steps = (kStep + L - 1) / kStep;
    auto new_k = mx::zeros({B, H, n_steps * kStep, D}, k.dtype());
    auto new_v = mx::zeros({B, H, n_steps * kStep, Dv}, v.dtype());
    if (keys) {
      if (prev % kStep != 0) {
        keys = mx::slice(*keys, {0, 0, 0, 0}, {B, H, prev, D});
        values = mx::slice(*values, {0, 0, 0, 0}, {B, H, prev, Dv});
      }
      keys = mx::concatenate({*keys, new_k}, 2);
      values = mx::concatenate({*values, new_v}, 2);
    } else {
      keys = new_k;
      values = new_v;
    }
  }
  offset += L;
  keys = mx::slice_update(*keys, k, mx::Shape{0, 0, prev, 0}, mx::Shape{B, H, offset, D});
  values = mx::slice_update(*values, v, mx::Shape{0, 0, prev, 0}, mx::Shape{B, H, offset, Dv});
  if (offset < keys->shape(2))
    return {mx::slice(*keys, {0, 0, 0, 0}, {B, H, offset, D}),
            mx::slice(*values, {0, 0, 0, 0}, {B, H, offset, Dv})};
  return {*keys, *values};
}

std::vector<mx::array> KVCache::state() const {
  std::vector<mx::array> out;
  for (const auto& l : layers) {
    if (l.keys) out.push_back(*l.keys);
    if (l.values) out.push_back(*l.values);
  }
  return out;
}

namespace {

// mlx-lm's swiglu is mx.compile(shapeless=True)'d; compiling ours the same
// way keeps half-precision rounding identical to the reference.
mx::array swiglu(const mx::array& gate, const mx::array& x) {
  static auto fn = mx::compile(
      [](const std::vector<mx::array>& in) -> std::vector<mx::array> {
        const auto& g = in[0];
        return {mx::multiply(mx::multiply(g, mx::sigmoid(g)), in[1])};
      },
      /*shapeless=*/true);
  return fn({gate, x})[0];
}

mx::array attention(const Model& m, const Layer& l, const mx::array& x,
                    LayerCache& cache) {
  const Config& c = m.cfg;
  const int B = x.shape(0), L = x.shape(1);
  auto heads = [&](const mx::array& t, int n) {
    return mx::transpose(mx::reshape(t, {B, L, n, -1}), {0, 2, 1, 3});
  };
  auto q = heads(l.q(x), c.num_heads);
  auto k = heads(l.k(x), c.num_kv_heads);
  auto v = heads(l.v(x), c.num_kv_heads);
  q = mx::fast::rope(q, c.head_dim, c.rope_traditional, c.rope_theta, 1.0f,
                     cache.offset);
  k = mx::fast::rope(k, c.head_dim, c.rope_traditional, c.rope_theta, 1.0f,
                     cache.offset);
  auto [keys, values] = cache.update_and_fetch(k, v);
  // base.py: "causal" for multi-token chunks, no mask for a single token.
  const float scale = float(std::pow(double(c.head_dim), -0.5));
  auto out = mx::fast::scaled_dot_product_attention(q, keys, values, scale,
                                                    L > 1 ? "causal" : "");
  out = mx::reshape(mx::transpose(out, {0, 2, 1, 3}), {B, L, -1});
  return l.o(out);
}

// attention() for a decode batch: row b is one token of its own sequence at
// its own offset, so rope, the cache update and the attention run per row.
mx::array batch_attention(const Model& m, const Layer& l, const mx::array& x,
                          const std::vector<KVCache*>& caches, size_t layer) {
  const Config& c = m.cfg;
  const int B = x.shape(0);
  auto q = l.q(x), k = l.k(x), v = l.v(x);  // [B, 1, heads * head_dim]
  auto row = [](const mx::array& t, int b, int n) {
    auto r = mx::slice(t, {b, 0, 0}, {b + 1, 1, t.shape(2)});
    return mx::transpose(mx::reshape(r, {1, 1, n, -1}), {0, 2, 1, 3});
  };
  const float scale = float(std::pow(double(c.head_dim), -0.5));
  std::vector<mx::array> outs;
  outs.reserve(B);
  for (int b = 0; b < B; ++b) {
    LayerCache& cache = caches[b]->layers[layer];
    auto qb = mx::fast::rope(row(q, b, c.num_heads), c.head_dim, c.rope_traditional,
                             c.rope_theta, 1.0f, cache.offset);
    auto kb = mx::fast::rope(row(k, b, c.num_kv_heads), c.head_dim, c.rope_traditional,
                             c.rope_theta, 1.0f, cache.offset);
    auto [keys, values] = cache.update_and_fetch(kb, row(v, b, c.num_kv_heads));
    auto o = mx::fast::scaled_dot_product_attention(qb, keys, values, scale, "");
    outs.push_back(mx::reshape(mx::transpose(o, {0, 2, 1, 3}), {1, 1, -1}));
  }
  return l.o(mx::concatenate(outs, 0));
}

}  // namespace

mx::array Model::decode_hidden(const mx::array& ids,
                               const std::vector<KVCache*>& caches) const {
  auto h = embed_tokens.embed(ids);
  const float eps = cfg.rms_norm_eps;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    h = mx::add(h, batch_attention(*this, l, mx::fast::rms_norm(h, l.input_norm, eps),
                                   caches, i));
    auto n = mx::fast::rms_norm(h, l.post_norm, eps);
    h = mx::add(h, l.down(swiglu(l.gate(n), l.up(n))));
  }
  return mx::fast::rms_norm(h, norm, eps);
}

mx::array Model::hidden(const mx::array& ids, KVCache& cache) const {
  auto h = embed_tokens.embed(ids);
  const float eps = cfg.rms_norm_eps;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    auto r = attention(*this, l, mx::fast::rms_norm(h, l.input_norm, eps),
                       cache.layers[i]);
    h = mx::add(h, r);
    auto n = mx::fast::rms_norm(h, l.post_norm, eps);
    r = l.down(swiglu(l.gate(n), l.up(n)));
    h = mx::add(h, r);
  }
  return mx::fast::rms_norm(h, norm, eps);
}

mx::array Model::logits(const mx::array& hidden) const {
  // Tied: embed_tokens.as_linear, i.e. the same (quantized) matmul.
  return lm_head ? (*lm_head)(hidden) : embed_tokens(hidden);
}

}  // namespace cb
