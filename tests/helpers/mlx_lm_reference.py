#!/usr/bin/env python3
"""Reference token ids from mlx-lm for a model directory (no tokenizer needed).

Runs mlx_lm.generate.generate_step on the given prompt ids and prints a JSON
array of the generated ids. Greedy by default; with --temperature > 0 it uses
mlx-lm's make_sampler after mx.random.seed(seed), which draws the same keys as
the C++ sampler (one split of the global key per token).

    python tests/helpers/mlx_lm_reference.py --model DIR --prompt-ids 1,2,3 --max-new 64
"""
import argparse
import json
import sys
from pathlib import Path


def parse_ids(text: str) -> list[int]:
    try:
        ids = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --prompt-ids {text!r}")
    if not ids:
        raise argparse.ArgumentTypeError("--prompt-ids is empty")
    return ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--prompt-ids", required=True, type=parse_ids)
    ap.add_argument("--max-new", required=True, type=int)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    args = ap.parse_args()

    import mlx.core as mx
    from mlx_lm.generate import generate_step
    from mlx_lm.sample_utils import make_sampler
    from mlx_lm.utils import load_model

    mx.set_default_device(mx.cpu if args.device == "cpu" else mx.gpu)
    model, _config = load_model(args.model)
    mx.random.seed(args.seed)
    sampler = make_sampler(temp=args.temperature, top_p=args.top_p)
    prompt = mx.array(args.prompt_ids, dtype=mx.int32)
    ids = [
        int(tok)
        for tok, _ in generate_step(
            prompt, model, max_tokens=args.max_new, sampler=sampler
        )
    ]
    json.dump(ids, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
