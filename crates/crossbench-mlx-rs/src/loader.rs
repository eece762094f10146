//! Loads a model directory (float or affine-quantized safetensors) into `Model`,
//! like shims/src/loader.cpp: the same files, names and tied-embedding rule.
//! Loading is not part of the per-token measurement, so it is not counted.

use crate::checkpoint;
use crate::config::Config;
use crate::model::{Layer, Linear, Model};
use crate::Error;
use mlx_rs::Array;
use std::collections::HashMap;
use std::path::Path;

struct Builder<'a> {
    arrays: HashMap<String, Array>,
    cfg: &'a Config,
    used: Vec<Array>,
}

impl Builder<'_> {
    fn maybe(&mut self, name: &str) -> Option<Array> {
        let a = self.arrays.remove(name)?;
        self.used.push(a.clone());
        Some(a)
    }
    fn get(&mut self, name: &str) -> Result<Array, Error> {
        self.maybe(name).ok_or_else(|| {
            Error::Shape(format!(
                "tensor '{name}' is missing from the safetensors files"
            ))
        })
    }
    fn linear(&mut self, p: &str) -> Result<Linear, Error> {
        let w = self.get(&format!("{p}.weight"))?;
        let scales = self.maybe(&format!("{p}.scales"));
        let biases = self.maybe(&format!("{p}.biases"));
        let (bits, group_size) = match (&scales, self.cfg.quant_for(p)) {
            (None, _) => (0, 0),
            (Some(_), Some(q)) => q,
            (Some(_), None) => {
                return Err(Error::Format(format!(
                    "'{p}.scales' exists but config.json quantizes no '{p}'"
                )))
            }
        };
        Ok(Linear {
            w,
            scales,
            biases,
            bits,
            group_size,
        })
    }
    fn layer(&mut self, i: i32) -> Result<Layer, Error> {
        let p = format!("model.layers.{i}.");
        Ok(Layer {
            input_norm: self.get(&format!("{p}input_layernorm.weight"))?,
            post_norm: self.get(&format!("{p}post_attention_layernorm.weight"))?,
            q: self.linear(&format!("{p}self_attn.q_proj"))?,
            k: self.linear(&format!("{p}self_attn.k_proj"))?,
            v: self.linear(&format!("{p}self_attn.v_proj"))?,
            o: self.linear(&format!("{p}self_attn.o_proj"))?,
            gate: self.linear(&format!("{p}mlp.gate_proj"))?,
            up: self.linear(&format!("{p}mlp.up_proj"))?,
            down: self.linear(&format!("{p}mlp.down_proj"))?,
        })
    }
}

pub fn load(dir: &Path) -> Result<Model, Error> {
    // Files, headers, dtypes and shapes are all checked before MLX opens a file.
    let checkpoint::Checkpoint { cfg, files, .. } = checkpoint::open(dir)?;
    let mut arrays = HashMap::new();
    for f in &files {
        let loaded =
            Array::load_safetensors(f).map_err(|e| Error::Io(format!("{}: {e}", f.display())))?;
        arrays.extend(loaded);
    }
    let mut b = Builder {
        arrays,
        cfg: &cfg,
        used: Vec::new(),
    };
    let embed_tokens = b.linear("model.embed_tokens")?;
    let layers = (0..cfg.num_layers)
        .map(|i| b.layer(i))
        .collect::<Result<Vec<_>, _>>()?;
    let norm = b.get("model.norm.weight")?;
    let lm_head = if cfg.tie_word_embeddings {
        None
    } else {
        Some(b.linear("lm_head")?)
    };
    // Evaluate now so load time is real and bad data surfaces at load.
    mlx_rs::transforms::eval(&b.used).map_err(|e| Error::Mlx(e.to_string()))?;
    let parameter_bytes = b.used.iter().map(|a| a.nbytes() as u64).sum();
    Ok(Model {
        cfg,
        embed_tokens,
        layers,
        norm,
        lm_head,
        parameter_bytes,
    })
}
