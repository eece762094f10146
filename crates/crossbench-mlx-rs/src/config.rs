//! config.json of an mlx-community Mistral/llama directory: the same keys,
//! defaults and refusals as the C++ shim (shims/src/config.cpp).

use crate::Error;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// (bits, group_size) of an affine quantization.
pub type Quant = (i32, i32);
/// Module path -> its own quantization, or None where left unquantized.
pub type QuantOverrides = BTreeMap<String, Option<Quant>>;

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
    pub quantization: Option<Quant>,
    /// mlx-lm's per-layer overrides inside "quantization": module path ->
    /// its own (bits, group_size), or None where the config says `false`.
    pub quant_overrides: QuantOverrides,
}

impl Config {
    /// The quantization of the linear layer at `path`, as mlx-lm resolves it:
    /// its override, else the model's, else none (config.hpp's quant_for).
    pub fn quant_for(&self, path: &str) -> Option<Quant> {
        match self.quant_overrides.get(path) {
            Some(q) => *q,
            None => self.quantization,
        }
    }
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
        self.get(key).map_or(Ok(dflt), |v| match v.as_f64() {
            // `as f32` would turn 1e300 into infinity; refuse it as the shim does.
            Some(x) if x.is_finite() && x.abs() <= f32::MAX as f64 => Ok(x as f32),
            _ => Err(self.bad(key, "must be a finite number within float range")),
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
    let (quantization, quant_overrides) = read_quantization(&r)?;
    let cfg = Config {
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
        quant_overrides,
    };
    check_products(&r, &cfg)?;
    Ok(cfg)
}

/// As the shim's check_products: q_proj's width must fit a tensor dimension
/// (MLX keeps dimensions in an i32); the KV heads divide the heads, so
/// k/v_proj's is no larger. Each factor is at most 1e9, so i64 cannot overflow.
fn check_products(r: &Reader, c: &Config) -> Result<(), Error> {
    if c.num_heads % c.num_kv_heads != 0 {
        return Err(r.bad("num_key_value_heads", "must divide num_attention_heads"));
    }
    if c.head_dim <= 0 {
        return Err(r.bad(
            "head_dim",
            "is missing and hidden_size / num_attention_heads is 0",
        ));
    }
    let q = i64::from(c.num_heads) * i64::from(c.head_dim);
    if q > i64::from(i32::MAX) {
        return Err(r.bad(
            "num_attention_heads",
            &format!("x head_dim = {q} exceeds a tensor dimension's limit (2147483647)"),
        ));
    }
    Ok(())
}

/// The model's (bits, group_size) and the per-layer overrides, checked as the
/// shim's read_quantization: affine only, bits 2/3/4/5/6/8, groups 32/64/128;
/// an override may leave bits or group_size out (MLX's defaults, 4 and 64).
fn read_quantization(r: &Reader) -> Result<(Option<Quant>, QuantOverrides), Error> {
    let mut overrides = BTreeMap::new();
    let q = match r.get("quantization") {
        None => return Ok((None, overrides)),
        Some(Value::Object(q)) => q,
        Some(_) => return Err(r.bad("quantization", "must be an object")),
    };
    let base = quant_spec(r, q, "quantization", None)?;
    for (key, v) in q {
        if matches!(key.as_str(), "bits" | "group_size" | "mode") {
            continue;
        }
        let spec = match v {
            Value::Bool(true) => Some(base),
            Value::Bool(false) => None,
            Value::Object(o) => Some(quant_spec(
                r,
                o,
                &format!("quantization.{key}"),
                Some((4, 64)),
            )?),
            _ => return Err(r.bad(&format!("quantization.{key}"), "must be an object")),
        };
        overrides.insert(key.clone(), spec);
    }
    Ok((Some(base), overrides))
}

fn quant_spec(
    r: &Reader,
    q: &Map<String, Value>,
    at: &str,
    defaults: Option<Quant>,
) -> Result<Quant, Error> {
    let qr = Reader {
        obj: q,
        path: r.path.clone(),
    };
    let unsupported = |m: String| Error::Unsupported(format!("{}: {at}.{m}", r.path));
    if qr.get("mode").is_some_and(|m| m.as_str() != Some("affine")) {
        return Err(unsupported(
            "mode must be \"affine\" (the only mode supported)".into(),
        ));
    }
    let bits = qr.int("bits", defaults.map(|d| d.0))?;
    let group_size = qr.int("group_size", defaults.map(|d| d.1))?;
    if ![2, 3, 4, 5, 6, 8].contains(&bits) {
        return Err(unsupported(format!(
            "bits = {bits} is not supported (expected 2, 3, 4, 5, 6 or 8)"
        )));
    }
    if ![32, 64, 128].contains(&group_size) {
        return Err(unsupported(format!(
            "group_size = {group_size} is not supported (32, 64, 128)"
        )));
    }
    Ok((bits, group_size))
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
