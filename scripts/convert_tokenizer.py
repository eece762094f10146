#!/usr/bin/env python3
"""Convert the Mistral v3 sentencepiece tokenizer shipped in mistral-common to tokenizer.json.

    python scripts/convert_tokenizer.py --out DIR
        writes DIR/tokenizer.json, DIR/tokenizer_config.json, DIR/special_tokens_map.json
        (byte-identical on every run).
    python scripts/convert_tokenizer.py --check DIR [--samples N] [--write-fixture FILE]
        encodes N varied strings with sentencepiece (the reference, bos added), with
        tokenizers.Tokenizer on DIR/tokenizer.json and with transformers.AutoTokenizer on DIR;
        exits 1 on any mismatch. --write-fixture FILE also writes the sentencepiece ids of the
        first 200 samples as [{"text":..., "ids":[...]}, ...] for the Rust tokenizers test.

Why not let transformers convert a folder holding tokenizer.model: in transformers 5 that path
disagrees with sentencepiece on leading and repeated spaces. build_tokenizer_from_spm_proto
follows the model's own normalizer spec instead and agrees.

Known, intended divergence: the text "[INST]", "<s>", "<unk>" (any of the 751 control/unknown
pieces) encodes to that single special id here, as in Mistral's published tokenizer.json,
while sentencepiece spells it out piece by piece. The check reports it apart, uncounted.
"""
import argparse
import json
import os
import random
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may touch the network
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # silence "PyTorch was not found"

import mistral_common
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2  # sentencepiece's own pb2 works with protobuf 7
from tokenizers import AddedToken, Tokenizer, processors
from transformers.convert_slow_tokenizer import SpmConverter

SPM_MODEL = os.path.join(
    os.path.dirname(mistral_common.__file__), "data", "mistral_instruct_tokenizer_240323.model.v3"
)
FIXTURE_SAMPLES = 200
# sentencepiece piece types (sentencepiece_model.proto): UNKNOWN=2, CONTROL=3
SPECIAL_TYPES = (2, 3)


def build(out_dir):
    proto = sentencepiece_model_pb2.ModelProto()
    with open(SPM_MODEL, "rb") as f:
        proto.ParseFromString(f.read())
    assert len(proto.pieces) == 32768, len(proto.pieces)
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    tok = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=True)

    # <unk>, <s>, </s> and the control pieces become special added tokens (ids unchanged, they
    # are already in the vocab) so decoders can skip them and AutoTokenizer knows them.
    specials = [p.piece for p in proto.pieces if p.type in SPECIAL_TYPES]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    # Same template transformers rebuilds from add_bos_token=true, so both paths agree.
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", 1)]
    )

    config = {
        # Not LlamaTokenizer: that class makes AutoTokenizer rebuild parts of tokenizer.json.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 32768,
    }
    special_map = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

    os.makedirs(out_dir, exist_ok=True)
    # tokenizers serialises the vocab by id and the merges in rank order: already stable.
    write(os.path.join(out_dir, "tokenizer.json"), tok.to_str(pretty=True))
    for name, obj in (("tokenizer_config.json", config), ("special_tokens_map.json", special_map)):
        write(os.path.join(out_dir, name), json.dumps(obj, indent=2, sort_keys=True))
    print(f"wrote tokenizer.json ({tok.get_vocab_size()} ids, {len(specials)} special) to {out_dir}")


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")


# ---- check -------------------------------------------------------------------------------

FIXED = [
    "", " ", "  ", "\n", "\t", "Hello", " Hello", "  Hello", "Hello ", "Hello  ", "a  b   c",
    "   leading three", "trailing three   ", "line one\nline two", "\n\nblank lines\n\n",
    "tab\tseparated\tvalues", "crlf\r\nline", "12345", "3.14159 and 2,718", "year 2024-03-23",
    "café naïve résumé", "Ünïcödé ß ø å", "日本語のテキスト", "中文测试文本", "한국어 텍스트",
    "Привет, мир!", "مرحبا بالعالم", "नमस्ते दुनिया", "שלום עולם", "Γειά σου Κόσμε",
    "emoji 😀🎉🚀", "family 👨‍👩‍👧‍👦 flag 🇫🇷", "skin 👍🏽", "\u00a0nbsp\u00a0", "ideographic\u3000space",
    "zero\u200bwidth", "math ∑∫√∞ ≠ ≤", "rare 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀", "control \x07 bell",
    "def f(x):\n    return x * 2\n", "fn main() {\n\tprintln!(\"hi\");\n}",
    "for (int i = 0; i < n; ++i) { a[i] += b[i]; }", "<html><body class=\"x\">hi</body></html>",
    '{"key": [1, 2, 3], "nested": {"a": null}}', "SELECT * FROM t WHERE id = 42;",
    "https://example.com/path?q=1&r=two#frag", "user@example.org", "C:\\Users\\name\\file.txt",
    "[REFERENCE_DOC_3] user-defined piece", "x[REFERENCE_DOC_12]y", "<s", "s>", "[INST", "INST]",
    "▁already▁escaped", "____under____", "!!!???...,,,;;;", "ALL CAPS SENTENCE",
    "The quick brown fox jumps over the lazy dog.",
]
WORDS = (
    "the of and to in is that for it with as was on be by this are from or an at not but "
    "model token Apple MLX generation benchmark latency throughput kernel tensor crossing "
    "Rust Python subprocess mistral llama attention cache prefill decode sample greedy"
).split()
PIECES = [
    " ", "  ", "   ", "\n", "\n\n", "\t", "0", "7", "42", "1999", "3.5", "-", "_", ".", ",", "!",
    "é", "ü", "ñ", "ç", "日本", "中", "한", "Ж", "ع", "अ", "😀", "🎉", "👍🏽", "🇯🇵", "→", "€", "£",
    "“", "”", "'", "\"", "(", ")", "{", "}", "[", "]", "<", ">", "=", "==", "->", "::", "//",
    "#", "@", "$", "%", "^", "&", "*", "+", "|", "\\", "~", "`", "\u00a0", "\u2028", "𝔘",
]


def samples(n):
    """FIXED first, then seeded random mixes of words, spacing, digits, scripts and symbols."""
    rng = random.Random(20240323)
    out = list(FIXED)
    while len(out) < n:
        parts = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.5:
                w = rng.choice(WORDS)
                parts.append(w.capitalize() if rng.random() < 0.2 else w)
            elif r < 0.7:
                parts.append(" " * rng.randint(1, 4))
            elif r < 0.95:
                parts.append(rng.choice(PIECES))
            else:  # any code point, mostly outside the vocab: exercises byte fallback
                c = rng.randint(0x20, 0x2FFFF)
                parts.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "?")
        out.append("".join(parts))
    return out[:n]


def check(model_dir, n, fixture):
    from transformers import AutoTokenizer

    sp = spm.SentencePieceProcessor(model_file=SPM_MODEL)
    rust_json = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(model_dir)
    texts = samples(max(n, FIXTURE_SAMPLES if fixture else 0))
    ref = [sp.encode(t, add_bos=True) for t in texts]

    failed = False
    for name, encode in (
        ("tokenizers.Tokenizer", lambda t: rust_json.encode(t).ids),
        ("AutoTokenizer", lambda t: auto.encode(t)),
    ):
        bad = [(t, r, encode(t)) for t, r in zip(texts[:n], ref) if encode(t) != r]
        print(f"{name}: {n - len(bad)}/{n} agree with sentencepiece")
        for t, r, got in bad[:5]:
            print(f"  MISMATCH {t!r}\n    sentencepiece {r}\n    {name} {got}")
        failed |= bool(bad)

    # Decoding matters too: mlx-lm detokenizes through tokenizer.json.
    bad = [(t, r) for t, r in zip(texts[:n], ref)
           if rust_json.decode(r, skip_special_tokens=True) != sp.decode(r)]
    print(f"decode: {n - len(bad)}/{n} agree with sentencepiece")
    for t, r in bad[:5]:
        print(f"  MISMATCH decoding {r}: sentencepiece {sp.decode(r)!r}, "
              f"tokenizer.json {rust_json.decode(r, skip_special_tokens=True)!r}")
    failed |= bool(bad)

    # Intended divergence (see module docstring): reported, not counted.
    for t in ("[INST] hi [/INST]", "<s> x </s>", "<unk>"):
        print(f"special text {t!r}: sentencepiece {sp.encode(t, add_bos=True)}, "
              f"tokenizer.json {rust_json.encode(t).ids} (expected to differ)")

    if fixture:
        os.makedirs(os.path.dirname(fixture) or ".", exist_ok=True)
        rows = [json.dumps({"text": t, "ids": r}, ensure_ascii=False)
                for t, r in zip(texts[:FIXTURE_SAMPLES], ref)]
        write(fixture, "[\n" + ",\n".join(rows) + "\n]")
        print(f"wrote {len(rows)} samples to {fixture}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", help="write the converted tokenizer to DIR")
    mode.add_argument("--check", metavar="DIR", help="compare DIR's tokenizer with sentencepiece")
    ap.add_argument("--samples", type=int, default=2000, help="strings to compare (--check)")
    ap.add_argument("--write-fixture", metavar="FILE", help="also write sentencepiece ids (--check)")
    args = ap.parse_args()
    if args.out:
        build(args.out)
        return 0
    return check(args.check, args.samples, args.write_fixture)


if __name__ == "__main__":
    sys.exit(main())
