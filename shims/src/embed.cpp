#include "embed.hpp"

#include "errors.hpp"

namespace cb {

mx::array embed_last_array(const Model& model, const int32_t* prompt, size_t n) {
  if (!prompt || n == 0) fail(CB_ERR_ARGUMENT, "prompt must contain at least one token");
  for (size_t i = 0; i < n; ++i)
    if (prompt[i] < 0 || prompt[i] >= model.cfg.vocab_size)
      fail(CB_ERR_ARGUMENT, "prompt token outside [0, vocab_size)");
  KVCache cache(model.layers.size());
  mx::array ids(prompt, {1, int(n)}, mx::int32);
  auto h = model.hidden(ids, cache);
  const int H = h.shape(2);
  auto last = mx::astype(mx::reshape(mx::slice(h, {0, int(n) - 1, 0}, {1, int(n), H}), {H}),
                         mx::float32);
  // A lent pointer is read as H consecutive floats: insist on that layout.
  last = mx::contiguous(last);
  mx::eval(last);
  if (!last.flags().row_contiguous || last.size() != size_t(H))
    fail(CB_ERR_RUNTIME, "hidden state is not a contiguous float32 vector");
  return last;
}

mx::array test_array(size_t n) {
  if (n == 0) fail(CB_ERR_ARGUMENT, "n must be > 0");
  auto a = mx::arange(0.0, double(n), 1.0, mx::float32);
  mx::eval(a);
  return a;
}

}  // namespace cb
