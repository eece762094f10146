//! config.json of an mlx-community Mistral/llama directory: the same keys,
//! defaults and refusals as the C++ shim (shims/src/config.cpp).

use crate::Error;
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hidden_size: i32,
    pub num_layers: i32,
    pub num_heads: i32,
    pub num_kv_heads: i32,
    pub head_dim: i32,
    pub intermediate_size: i32,
    pub vocab_size: i32,
    pub rms_norm_eps: f32,
    pub rope_theta: f32,
    pub rope_traditional: bool,
    pub tie_word_embeddings: bool,
    /// (bits, group_size) when the weights are affine-quantized.
    pub quantization: Option<(i32, i32)>,
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl Reader<'_> {
    fn bad(&self, key: &str, why: &str) -> Error {
        Error::Format(format!("{}: key '{key}' {why}", self.path))
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    fn int(&self, key: &str, dflt: Option<i32>) -> Result<i32, Error> {
        match self.get(key) {
            None => dflt.ok_or_else(|| self.bad(key, "is missing")),
            Some(v) => match v.as_f64() {
                Some(x) if x.fract() == 0.0 && x > 0.0 && x <= 1e9 => Ok(x as i32),
                _ => Err(self.bad(key, "must be a positive integer")),
            },
        }
    }
    fn float(&self, key: &str, dflt: f32) -> Result<f32, Error> {
        self.get(key).map_or(Ok(dflt), |v| {
            v.as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| self.bad(key, "must be a number"))
        })
    }
    fn boolean(&self, key: &str, dflt: bool) -> Result<bool, Error> {
        self.get(key).map_or(Ok(dflt), |v| {
            v.as_bool()
                .ok_or_else(|| self.bad(key, "must be true or false"))
        })
    }
}

pub fn load(dir: &Path) -> Result<Config, Error> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let root: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
    let obj = root
        .as_object()
        .ok_or_else(|| Error::Format(format!("{}: top level must be an object", path.display())))?;
    let r = Reader {
        obj,
        path: path.display().to_string(),
    };
    reject_unsupported(&r)?;
    let hidden_size = r.int("hidden_size", None)?;
    let num_heads = r.int("num_attention_heads", None)?;
    let quantization = match r.get("quantization") {
        None => None,
        Some(Value::Object(q)) => {
            let qr = Reader {
                obj: q,
                path: r.path.clone(),
            };
            Some((qr.int("bits", None)?, qr.int("group_size", None)?))
        }
        Some(_) => return Err(r.bad("quantization", "must be an object")),
    };
    Ok(Config {
        hidden_size,
        num_layers: r.int("num_hidden_layers", None)?,
        num_heads,
        num_kv_heads: r.int("num_key_value_heads", Some(num_heads))?,
        head_dim: r.int("head_dim", Some(hidden_size / num_heads))?,
        intermediate_size: r.int("intermediate_size", None)?,
        vocab_size: r.int("vocab_size", None)?,
        rms_norm_eps: r.float("rms_norm_eps", 1e-5)?,
        rope_theta: r.float("rope_theta", 10000.0)?,
        rope_traditional: r.boolean("rope_traditional", false)?,
        tie_word_embeddings: r.boolean("tie_word_embeddings", true)?,
        quantization,
    })
}

fn reject_unsupported(r: &Reader) -> Result<(), Error> {
    let unsupported = |m: String| Err(Error::Unsupported(format!("{}: {m}", r.path)));
    match r.get("model_type").and_then(Value::as_str) {
        Some("mistral" | "llama") => {}
        Some(other) => {
            return unsupported(format!(
                "model_type '{other}' is not supported (expected mistral or llama)"
            ))
        }
        None => return Err(r.bad("model_type", "is missing or not a string")),
    }
    if r.get("rope_scaling").is_some() {
        return unsupported("rope_scaling must be null (not implemented)".into());
    }
    // As the C++ shim: mlx-lm ignores sliding_window unless layer_types marks
    // "sliding_attention" layers (Mistral-7B v0.1 sets the window, not the types).
    let sliding = r
        .get("layer_types")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() != Some("full_attention")));
    if sliding {
        return unsupported(
            "layer_types may only contain \"full_attention\" (sliding-window attention is not implemented)".into(),
        );
    }
    if r.boolean("attention_bias", false)? || r.boolean("mlp_bias", false)? {
        return unsupported("attention_bias / mlp_bias are not supported".into());
    }
    Ok(())
}
