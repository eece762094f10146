//! Model presets: the Mistral-7B-v0.3 architecture at full size and narrowed for a CPU.
//! Shapes follow mlx-community's config.json (`model_type: mistral`).

use anyhow::{bail, Result};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub hidden: u32,
    pub layers: u32,
    pub heads: u32,
    pub kv_heads: u32,
    pub intermediate: u32,
    pub vocab: u32,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        name: "tiny",
        summary: "tests: hidden 256, 4 layers (~19 M params)",
        hidden: 256,
        layers: 4,
        heads: 8,
        kv_heads: 2,
        intermediate: 768,
        vocab: 32768,
    },
    Preset {
        name: "small",
        summary: "default of gen100 here: hidden 1024, 8 layers (~176 M params)",
        hidden: 1024,
        layers: 8,
        heads: 16,
        kv_heads: 4,
        intermediate: 3584,
        vocab: 32768,
    },
    Preset {
        name: "medium",
        summary: "hidden 2048, 16 layers (~1 B params)",
        hidden: 2048,
        layers: 16,
        heads: 16,
        kv_heads: 4,
        intermediate: 7168,
        vocab: 32768,
    },
    Preset {
        name: "mistral-7b",
        summary: "the real Mistral-7B-v0.3 shape (7.2 B params)",
        hidden: 4096,
        layers: 32,
        heads: 32,
        kv_heads: 8,
        intermediate: 14336,
        vocab: 32768,
    },
];

pub fn find(name: &str) -> Result<Preset> {
    match PRESETS.iter().find(|p| p.name == name) {
        Some(p) => Ok(*p),
        None => {
            let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            bail!("unknown preset '{name}' (known: {})", known.join(", "))
        }
    }
}

/// Weight formats `model make` can write.
pub const DTYPES: &[&str] = &["float32", "float16", "bfloat16", "q4", "q8"];

/// Accepts the short spellings too (fp32, bf16, ...).
pub fn normalize_dtype(dtype: &str) -> Result<&'static str> {
    let canonical = match dtype {
        "fp32" | "f32" | "float32" => "float32",
        "fp16" | "f16" | "float16" => "float16",
        "bf16" | "bfloat16" => "bfloat16",
        "q4" | "int4" => "q4",
        "q8" | "int8" => "q8",
        other => bail!(
            "unsupported dtype '{other}' (allowed: {})",
            DTYPES.join(", ")
        ),
    };
    Ok(canonical)
}

impl Preset {
    pub fn with_layers(mut self, layers: Option<u32>) -> Result<Preset> {
        if let Some(n) = layers {
            if n == 0 {
                bail!("--layers must be at least 1");
            }
            self.layers = n;
        }
        Ok(self)
    }

    pub fn parameters(&self) -> u64 {
        let (h, i, v) = (
            self.hidden as u64,
            self.intermediate as u64,
            self.vocab as u64,
        );
        let head_dim = h / self.heads as u64;
        let kv = self.kv_heads as u64 * head_dim;
        let per_layer = h * h * 2 + h * kv * 2 + 3 * h * i + 2 * h;
        per_layer * self.layers as u64 + 2 * v * h + h
    }

    /// config.json in the mlx-community layout, plus a `crossbench` block saying how it was made.
    pub fn config_json(&self, dtype: &str, seed: u64) -> Value {
        let head_dim = self.hidden / self.heads;
        let mut config = json!({
            "architectures": ["MistralForCausalLM"],
            "model_type": "mistral",
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": head_dim,
            "intermediate_size": self.intermediate,
            "vocab_size": self.vocab,
            "rms_norm_eps": 1e-5,
            "rope_theta": 1000000.0,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": false,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "torch_dtype": if dtype.starts_with('q') { "float32" } else { dtype },
            "crossbench": { "preset": self.name, "dtype": dtype, "seed": seed,
                             "generator": "crossbench model make" },
        });
        if let Some(bits) = quant_bits(dtype) {
            let q = json!({ "group_size": 64, "bits": bits });
            config["quantization"] = q.clone();
            config["quantization_config"] = q;
        }
        config
    }
}

pub fn quant_bits(dtype: &str) -> Option<u32> {
    match dtype {
        "q4" => Some(4),
        "q8" => Some(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_preset_has_the_documented_size() {
        let p = find("small").unwrap();
        let params = p.parameters();
        assert!((170_000_000..185_000_000).contains(&params), "{params}");
    }

    #[test]
    fn mistral_7b_shape_matches_v0_3() {
        let p = find("mistral-7b").unwrap();
        let c = p.config_json("bfloat16", 0);
        assert_eq!(c["hidden_size"], 4096);
        assert_eq!(c["num_key_value_heads"], 8);
        assert_eq!(c["intermediate_size"], 14336);
        assert_eq!(c["rope_theta"], 1e6);
        let params = p.parameters();
        assert!((7_200_000_000..7_300_000_000).contains(&params), "{params}");
    }

    #[test]
    fn quantized_config_names_bits_and_group() {
        let c = find("tiny").unwrap().config_json("q4", 1);
        assert_eq!(c["quantization"]["bits"], 4);
        assert_eq!(c["quantization"]["group_size"], 64);
        assert!(normalize_dtype("q3").is_err());
    }
}
