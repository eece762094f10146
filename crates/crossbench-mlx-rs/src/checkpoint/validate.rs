//! Every tensor the model uses, checked against config.json before MLX loads
//! anything: the shim's Checker (shims/src/loader.cpp), message for message.

use super::safetensors::{shape_str, TensorInfo};
use crate::config::Config;
use crate::Error;
use std::collections::BTreeMap;

struct Checker<'a> {
    idx: &'a BTreeMap<String, TensorInfo>,
    cfg: &'a Config,
    dir: String,
}

impl Checker<'_> {
    fn need(&self, name: &str) -> Result<&TensorInfo, Error> {
        self.idx.get(name).ok_or_else(|| {
            Error::Shape(format!(
                "tensor '{name}' is missing from the safetensors files in {}",
                self.dir
            ))
        })
    }

    fn shape(&self, t: &TensorInfo, name: &str, want: &[i64], keys: &str) -> Result<(), Error> {
        if t.shape == want {
            return Ok(());
        }
        Err(Error::Shape(format!(
            "{}: tensor '{name}' has shape {} but config.json implies {} ({keys})",
            t.file.display(),
            shape_str(&t.shape),
            shape_str(want)
        )))
    }

    fn float_dtype(&self, t: &TensorInfo, name: &str) -> Result<(), Error> {
        if matches!(t.dtype.as_str(), "F32" | "F16" | "BF16") {
            return Ok(());
        }
        Err(Error::Unsupported(format!(
            "{}: tensor '{name}' has dtype {} (supported: F32, F16, BF16)",
            t.file.display(),
            t.dtype
        )))
    }

    fn plain(&self, name: &str, want: &[i64], keys: &str) -> Result<(), Error> {
        let t = self.need(name)?;
        self.float_dtype(t, name)?;
        self.shape(t, name, want, keys)
    }

    fn linear(&self, p: &str, out: i64, inp: i64, keys: &str) -> Result<(), Error> {
        let has_scales = self.idx.contains_key(&format!("{p}.scales"));
        if !has_scales
            && self.cfg.quant_for(p).is_some()
            && self.need(&format!("{p}.weight"))?.dtype == "U32"
        {
            return Err(Error::Shape(format!(
                "tensor '{p}.scales' is missing (packed {p}.weight needs it) in {}",
                self.dir
            )));
        }
        if has_scales {
            self.quantized(p, out, inp, keys)
        } else {
            self.plain(&format!("{p}.weight"), &[out, inp], keys)
        }
    }

    fn quantized(&self, p: &str, out: i64, inp: i64, keys: &str) -> Result<(), Error> {
        let Some((bits, g)) = self.cfg.quant_for(p) else {
            return Err(Error::Format(format!(
                "{}: '{p}.scales' exists but config.json quantizes no '{p}' (no 'quantization' \
                 {{group_size, bits}}, or it sets '{p}' to false)",
                self.dir
            )));
        };
        let (bits, g) = (i64::from(bits), i64::from(g));
        let src = if self.cfg.quant_overrides.contains_key(p) {
            format!("quantization.{p}.")
        } else {
            "quantization.".to_string()
        };
        let qkeys = format!("{keys}, {src}bits={bits}, {src}group_size={g}");
        if (inp * bits) % 32 != 0 || inp % g != 0 {
            return Err(Error::Shape(format!(
                "{}: '{p}' input dim {inp} is not divisible by the quantization group ({qkeys})",
                self.dir
            )));
        }
        let name = format!("{p}.weight");
        let w = self.need(&name)?;
        if w.dtype != "U32" {
            return Err(Error::Unsupported(format!(
                "{}: tensor '{name}' has dtype {} but quantized weights must be U32",
                w.file.display(),
                w.dtype
            )));
        }
        self.shape(w, &name, &[out, inp * bits / 32], &qkeys)?;
        for part in [".scales", ".biases"] {
            let name = format!("{p}{part}");
            if part == ".biases" && !self.idx.contains_key(&name) {
                continue;
            }
            let t = self.need(&name)?;
            self.float_dtype(t, &name)?;
            self.shape(t, &name, &[out, inp / g], &qkeys)?;
        }
        Ok(())
    }
}

/// Checks every tensor the model will use, as the shim's validate().
pub fn validate(cfg: &Config, idx: &BTreeMap<String, TensorInfo>, dir: &str) -> Result<(), Error> {
    let ck = Checker {
        idx,
        cfg,
        dir: dir.to_string(),
    };
    let (h, i, v) = (
        i64::from(cfg.hidden_size),
        i64::from(cfg.intermediate_size),
        i64::from(cfg.vocab_size),
    );
    let q = i64::from(cfg.num_heads) * i64::from(cfg.head_dim);
    let kv = i64::from(cfg.num_kv_heads) * i64::from(cfg.head_dim);
    let hk = format!("hidden_size={h}");
    let qk = format!("num_attention_heads*head_dim={q}, {hk}");
    let kvk = format!("num_key_value_heads*head_dim={kv}, {hk}");
    let ik = format!("intermediate_size={i}, {hk}");
    let vk = format!("vocab_size={v}, {hk}");
    ck.linear("model.embed_tokens", v, h, &vk)?;
    for layer in 0..cfg.num_layers {
        let p = format!("model.layers.{layer}.");
        ck.linear(&format!("{p}self_attn.q_proj"), q, h, &qk)?;
        ck.linear(&format!("{p}self_attn.k_proj"), kv, h, &kvk)?;
        ck.linear(&format!("{p}self_attn.v_proj"), kv, h, &kvk)?;
        ck.linear(&format!("{p}self_attn.o_proj"), h, q, &qk)?;
        ck.linear(&format!("{p}mlp.gate_proj"), i, h, &ik)?;
        ck.linear(&format!("{p}mlp.up_proj"), i, h, &ik)?;
        ck.linear(&format!("{p}mlp.down_proj"), h, i, &ik)?;
        ck.plain(&format!("{p}input_layernorm.weight"), &[h], &hk)?;
        ck.plain(&format!("{p}post_attention_layernorm.weight"), &[h], &hk)?;
    }
    ck.plain("model.norm.weight", &[h], &hk)?;
    if !cfg.tie_word_embeddings {
        ck.linear("lm_head", v, h, &format!("{vk}, tie_word_embeddings=false"))?;
    }
    Ok(())
}
