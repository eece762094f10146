//! The Mistral/llama forward pass over mlx-rs, op for op the C++ shim's
//! (shims/src/model.cpp), itself a mirror of mlx-lm's models/llama.py, so greedy
//! token ids match. Every MLX call goes through `ops::c` (counted).

use crate::config::Config;
use crate::ops::{c, counted, slice, slice_update};
use crate::Error;
use mlx_rs::fast::{self, ScaledDotProductAttentionMask};
use mlx_rs::{ops as mx, Array};

/// nn.Linear (bias-free), or nn.QuantizedLinear when scales are present.
pub struct Linear {
    pub w: Array,
    pub scales: Option<Array>,
    pub biases: Option<Array>,
    pub bits: i32,
    pub group_size: i32,
}

impl Linear {
    pub fn forward(&self, x: &Array) -> Result<Array, Error> {
        match &self.scales {
            Some(s) => c(mx::quantized_matmul(
                x,
                &self.w,
                s,
                self.biases.as_ref(),
                true,
                self.group_size,
                self.bits,
            )),
            // `x @ w.T`: the transpose is an op of its own, as in mlx-lm.
            None => c(x.matmul(c(self.w.transpose_axes(&[1, 0]))?)),
        }
    }

    /// nn.Embedding / nn.QuantizedEmbedding lookup of rows `ids`.
    pub fn embed(&self, ids: &Array) -> Result<Array, Error> {
        let Some(scales) = &self.scales else {
            return c(self.w.take_axis(ids, 0));
        };
        let biases = match &self.biases {
            Some(b) => Some(c(b.take_axis(ids, 0))?),
            None => None,
        };
        let w = c(self.w.take_axis(ids, 0))?;
        let s = c(scales.take_axis(ids, 0))?;
        c(mx::dequantize(
            &w,
            &s,
            biases.as_ref(),
            self.group_size,
            self.bits,
        ))
    }
}

pub struct Layer {
    pub input_norm: Array,
    pub post_norm: Array,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
}

pub struct Model {
    pub cfg: Config,
    pub embed_tokens: Linear,
    pub layers: Vec<Layer>,
    pub norm: Array,
    /// Absent when tied to embed_tokens.
    pub lm_head: Option<Linear>,
    pub parameter_bytes: u64,
}

/// mlx-lm cache.KVCache: preallocated in steps of 256 positions, grown by concatenation.
#[derive(Default)]
pub struct LayerCache {
    keys: Option<Array>,
    values: Option<Array>,
    pub offset: i32,
}

const KV_STEP: i32 = 256;

impl LayerCache {
    fn update_and_fetch(&mut self, k: &Array, v: &Array) -> Result<(Array, Array), Error> {
        let prev = self.offset;
        let (ks, vs) = (k.shape(), v.shape());
        let (b, h, l, d, dv) = (ks[0], ks[1], ks[2], ks[3], vs[3]);
        if self
            .keys
            .as_ref()
            .is_none_or(|keys| prev + l > keys.shape()[2])
        {
            let n = (KV_STEP + l - 1) / KV_STEP * KV_STEP;
            let new_k = c(mx::zeros_dtype(&[b, h, n, d], k.dtype()))?;
            let new_v = c(mx::zeros_dtype(&[b, h, n, dv], v.dtype()))?;
            match (self.keys.take(), self.values.take()) {
                (Some(mut keys), Some(mut values)) => {
                    if prev % KV_STEP != 0 {
                        keys = slice(&keys, &[0, 0, 0, 0], &[b, h, prev, d])?;
                        values = slice(&values, &[0, 0, 0, 0], &[b, h, prev, dv])?;
                    }
                    self.keys = Some(c(mx::concatenate(&[keys, new_k], 2))?);
                    self.values = Some(c(mx::concatenate(&[values, new_v], 2))?);
                }
                _ => {
                    self.keys = Some(new_k);
                    self.values = Some(new_v);
                }
            }
        }
        self.offset += l;
        let off = self.offset;
        let keys = slice_update(
            self.keys.as_ref().unwrap(),
            k,
            &[0, 0, prev, 0],
            &[b, h, off, d],
        )?;
        let values = slice_update(
            self.values.as_ref().unwrap(),
            v,
            &[0, 0, prev, 0],
            &[b, h, off, dv],
        )?;
        let fetched = if off < keys.shape()[2] {
            (
                slice(&keys, &[0, 0, 0, 0], &[b, h, off, d])?,
                slice(&values, &[0, 0, 0, 0], &[b, h, off, dv])?,
            )
        } else {
            (keys.clone(), values.clone())
        };
        self.keys = Some(keys);
        self.values = Some(values);
        Ok(fetched)
    }

    fn state(&self) -> impl Iterator<Item = &Array> {
        self.keys.iter().chain(self.values.iter())
    }
}

pub struct KvCache {
    pub layers: Vec<LayerCache>,
}

impl KvCache {
    pub fn new(n: usize) -> KvCache {
        KvCache {
            layers: (0..n).map(|_| LayerCache::default()).collect(),
        }
    }
    pub fn offset(&self) -> i32 {
        self.layers.first().map_or(0, |l| l.offset)
    }
    /// Keys and values of every layer.
    pub fn state(&self) -> Vec<&Array> {
        self.layers.iter().flat_map(LayerCache::state).collect()
    }
}

/// mlx-lm's swiglu is mx.compile(shapeless=True)'d; compiling ours the same way
/// keeps half-precision rounding identical. Applying it is one mlx_closure_apply
/// (counted as one call; mlx-rs also rebuilds the closure handles around it).
pub struct SwiGlu {
    compiled:
        Box<dyn for<'a> FnMut((&'a Array, &'a Array)) -> Result<Array, mlx_rs::error::Exception>>,
}

/// silu(gate) * x, as mlx-lm's swiglu (a fn item: generic over the borrows).
fn swiglu((g, x): (&Array, &Array)) -> Result<Array, mlx_rs::error::Exception> {
    g.multiply(mx::sigmoid(g)?)?.multiply(x)
}

impl SwiGlu {
    pub fn new() -> SwiGlu {
        SwiGlu {
            compiled: Box::new(mlx_rs::transforms::compile::compile(swiglu, true)),
        }
    }
    fn apply(&mut self, gate: &Array, x: &Array) -> Result<Array, Error> {
        counted(1, (self.compiled)((gate, x)))
    }
}

impl Default for SwiGlu {
    fn default() -> Self {
        SwiGlu::new()
    }
}

impl Model {
    /// ids: int32 [1, L]. Returns logits [1, L, vocab].
    pub fn forward(
        &self,
        ids: &Array,
        cache: &mut KvCache,
        swiglu: &mut SwiGlu,
    ) -> Result<Array, Error> {
        let eps = self.cfg.rms_norm_eps;
        let mut h = self.embed_tokens.embed(ids)?;
        for (l, lc) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let x = c(fast::rms_norm(&h, Some(&l.input_norm), eps))?;
            let r = self.attention(l, &x, lc)?;
            h = c(h.add(&r))?;
            let n = c(fast::rms_norm(&h, Some(&l.post_norm), eps))?;
            let act = swiglu.apply(&l.gate.forward(&n)?, &l.up.forward(&n)?)?;
            h = c(h.add(l.down.forward(&act)?))?;
        }
        let h = c(fast::rms_norm(&h, Some(&self.norm), eps))?;
        // Tied: embed_tokens.as_linear, i.e. the same (quantized) matmul.
        self.lm_head
            .as_ref()
            .unwrap_or(&self.embed_tokens)
            .forward(&h)
    }

    fn attention(&self, l: &Layer, x: &Array, cache: &mut LayerCache) -> Result<Array, Error> {
        let cfg = &self.cfg;
        let (b, len) = (x.shape()[0], x.shape()[1]);
        let heads = |t: Array, n: i32| -> Result<Array, Error> {
            c(c(t.reshape(&[b, len, n, -1]))?.transpose_axes(&[0, 2, 1, 3]))
        };
        let q = heads(l.q.forward(x)?, cfg.num_heads)?;
        let k = heads(l.k.forward(x)?, cfg.num_kv_heads)?;
        let v = heads(l.v.forward(x)?, cfg.num_kv_heads)?;
        let rope = |t: &Array| {
            c(fast::rope(
                t,
                cfg.head_dim,
                cfg.rope_traditional,
                cfg.rope_theta,
                1.0,
                cache.offset,
                None,
            ))
        };
        let (q, k) = (rope(&q)?, rope(&k)?);
        let (keys, values) = cache.update_and_fetch(&k, &v)?;
        // base.py: "causal" for multi-token chunks, no mask for a single token.
        let scale = (cfg.head_dim as f64).powf(-0.5) as f32;
        let mask = (len > 1).then_some(ScaledDotProductAttentionMask::Causal);
        let out = c(fast::scaled_dot_product_attention(
            &q, &keys, &values, scale, mask, None,
        ))?;
        let out = c(c(out.transpose_axes(&[0, 2, 1, 3]))?.reshape(&[b, len, -1]))?;
        l.o.forward(&out)
    }
}
