#!/usr/bin/env python3
"""Writes a small checkpoint in the Hugging Face layout (as published on the Hub, before
mlx_lm.convert), for tests/checkpoints.rs: the config of a published Mistral-7B release with
its field values, widths shrunk so it runs in seconds, and seeded random weights.

    .venv/bin/python tests/helpers/make_hf_checkpoint.py --variant v0.1 --out DIR --tokenizer TOKDIR

Variants (field values from the releases' config.json on the Hub):
  v0.1        mistralai/Mistral-7B-v0.1: sliding_window 4096, rope_theta 1e4, vocab 32000
  v0.2        mistralai/Mistral-7B-Instruct-v0.2: sliding_window null, rope_theta 1e6, vocab 32000
  v0.3        mistralai/Mistral-7B-v0.3: as v0.2 with vocab 32768
  llama-tied  a llama config with tie_word_embeddings true (no lm_head tensor)
  v0.1-swa    v0.1 with layer_types marking sliding_attention layers (mlx-lm applies the window)
--shards N splits the weights into N files with model.safetensors.index.json, as the Hub does.
The tokenizer files (tokenizer.json, tokenizer_config.json, ...) are copied from TOKDIR:
mlx_lm.convert loads a tokenizer, and crossbench never reads it (requests carry ids).
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

# Shrunk widths, the published ratios kept: 4 query heads per KV head, head_dim 16.
WIDTHS = dict(hidden_size=128, intermediate_size=256, num_attention_heads=8,
              num_key_value_heads=2, num_hidden_layers=2, head_dim=16)

BASE = dict(architectures=["MistralForCausalLM"], model_type="mistral", hidden_act="silu",
            bos_token_id=1, eos_token_id=2, initializer_range=0.02, max_position_embeddings=32768,
            rms_norm_eps=1e-05, tie_word_embeddings=False, torch_dtype="bfloat16",
            use_cache=True, attention_dropout=0.0, transformers_version="4.42.0")

VARIANTS = {
    "v0.1": dict(sliding_window=4096, rope_theta=10000.0, vocab_size=32000),
    "v0.2": dict(sliding_window=None, rope_theta=1000000.0, vocab_size=32000),
    "v0.3": dict(sliding_window=None, rope_theta=1000000.0, vocab_size=32768),
    "llama-tied": dict(architectures=["LlamaForCausalLM"], model_type="llama",
                       rope_theta=500000.0, vocab_size=32768, tie_word_embeddings=True),
    "v0.1-swa": dict(sliding_window=4096, rope_theta=10000.0, vocab_size=32000,
                     layer_types=["sliding_attention", "full_attention"]),
}


def tensors(cfg, rng):
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    q = cfg["num_attention_heads"] * cfg["head_dim"]
    kv = cfg["num_key_value_heads"] * cfg["head_dim"]
    w = lambda *shape: (rng.standard_normal(shape) * 0.05).astype(np.float32)
    out = {"model.embed_tokens.weight": w(v, h), "model.norm.weight": np.ones(h, np.float32)}
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out.update({p + "self_attn.q_proj.weight": w(q, h), p + "self_attn.k_proj.weight": w(kv, h),
                    p + "self_attn.v_proj.weight": w(kv, h), p + "self_attn.o_proj.weight": w(h, q),
                    p + "mlp.gate_proj.weight": w(i, h), p + "mlp.up_proj.weight": w(i, h),
                    p + "mlp.down_proj.weight": w(h, i),
                    p + "input_layernorm.weight": 1 + w(h),
                    p + "post_attention_layernorm.weight": 1 + w(h)})
    if not cfg["tie_word_embeddings"]:
        out["lm_head.weight"] = w(v, h)
    return out


def save(out_dir, weights, shards):
    names = sorted(weights)
    if shards <= 1:
        save_file(weights, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
        return
    chunks = [names[k::shards] for k in range(shards)]
    weight_map = {}
    for k, chunk in enumerate(chunks):
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        save_file({n: weights[n] for n in chunk}, str(out_dir / file), metadata={"format": "pt"})
        weight_map.update({n: file for n in chunk})
    total = sum(a.nbytes for a in weights.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--tokenizer", required=True, type=Path, help="directory with tokenizer.json")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = {**BASE, **WIDTHS, **VARIANTS[args.variant]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(json.dumps(cfg, indent=2))
    save(args.out, tensors(cfg, np.random.default_rng(args.seed)), args.shards)
    for f in args.tokenizer.iterdir():
        if f.is_file():
            shutil.copy(f, args.out / f.name)


if __name__ == "__main__":
    main()
