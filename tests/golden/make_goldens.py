#!/usr/bin/env python3
"""Generates llama.cpp reference data ("goldens") for one GGUF with llama-cpp-python.

Run it through make_goldens.sh, which installs llama-cpp-python into .venv-golden.
Writes into OUTDIR:
  meta.json       versions, settings, and llama.cpp's own spread between its
                  attention paths (flash attention on vs off): the noise floor
                  that justifies our tolerances
  tokens.json     token ids of a varied text set (only with --tokens)
  logits_*.npz    top-20 logits (ids, values) at every position of each prompt,
                  plus the top-2 margin
  greedy.json     64-token greedy continuations with llama.cpp's margin at each step
  perplexity.json llama.cpp's method on ppl_text.txt

usage: make_goldens.py MODEL.gguf OUTDIR [--tokens] [--ppl-ctx 512] [--threads N]
"""
import argparse
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import llama_cpp.llama_cpp
import numpy as np
from llama_cpp import Llama

HERE = Path(__file__).parent
TOP = 20

# Tokenizer cases: (name, text, add_bos, parse_special)
TOKEN_CASES = [
    ("english", "The quick brown fox jumps over the lazy dog. What is kindness?", True, False),
    ("no_bos", "Hello world", False, False),
    ("leading_space", " leading space and trailing space ", True, False),
    ("whitespace_runs", "a  b   c    d\t\te\n\nf\n\n\n\ng     h", True, False),
    ("newlines_only", "\n\n\n", True, False),
    ("chinese", "我们的模型可以理解多种语言。", True, False),
    ("japanese", "こんにちは、世界！今日はいい天気ですね。", True, False),
    ("arabic", "مرحبا بالعالم، كيف حالك اليوم؟", True, False),
    ("hindi", "नमस्ते दुनिया, आप कैसे हैं?", True, False),
    ("russian", "Привет, мир! Как дела?", True, False),
    ("greek_math", "∀x ∈ ℝ: x² ≥ 0 — Σ αβγ ≠ ∞", True, False),
    ("emoji", "I love 🦙 and 🚀! 👩‍👩‍👧‍👦 🇫🇷 ✨", True, False),
    ("rare_chars", "\u0001\u007f \U0001d54f \U000e0041 \ufffd", True, False),
    ("code", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])", True, False),
    ("json", '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}', True, False),
    ("numbers", "3.14159 2718281828 1,000,000 0x1F -42 1e-6", True, False),
    ("special_text_unparsed", "<start_of_turn>user\nhi<end_of_turn>", True, False),
    ("special_text_parsed", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n", True, True),
    ("bos_text_parsed", "<bos>already has bos", True, True),
    ("html", "<div class=\"a\">x</div><br/>", True, False),
    ("empty", "", True, False),
    ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism", True, False),
]

CHAT = ("<start_of_turn>user\nWrite a Python function that returns the square of a number."
        "<end_of_turn>\n<start_of_turn>model\n")
GREEDY_PROMPTS = [
    ("capital", "The capital of France is", False),
    ("story", "Once upon a time, in a small village by the sea,", False),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n", False),
    ("chat", CHAT, True),
    ("list", "Here is a list of the planets of the solar system: Mercury,", False),
    ("howto", "To make a cup of tea, first", False),
    ("license", "Permission is hereby granted, free of charge, to any person obtaining a copy", False),
    ("counting", "1, 2, 3, 4, 5, 6, 7,", False),
]


def load(model, n_ctx, threads, flash_attn=False, n_ubatch=512, repack=True):
    """repack=False: llama.cpp without its extra buffer types (no weights repacked at load
    time for its interleaved GEMMs), i.e. its plain per-type dot products."""
    defaults = llama_cpp.llama_model_default_params

    def model_params():
        params = defaults()
        params.use_extra_bufts = repack
        return params

    # Llama() has no argument for use_extra_bufts; it reads the defaults through this name.
    llama_cpp.llama_cpp.llama_model_default_params = model_params
    try:
        return Llama(model_path=str(model), n_ctx=n_ctx, n_batch=512, n_ubatch=n_ubatch, logits_all=True,
                     flash_attn=flash_attn, n_threads=threads, n_threads_batch=threads, verbose=False, seed=0)
    finally:
        llama_cpp.llama_cpp.llama_model_default_params = defaults


def plain_position0(model, prompts, threads):
    """Position 0 of each prompt through llama.cpp's plain path: no repacked weights and
    no tiled K-quant GEMM (GGML_CPU_TILED_MM=0, read once per process, hence the child
    process), i.e. its per-type dot products, which our AVX2 kernels reproduce."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "prompts.json", Path(tmp) / "pos0.npz"
        src.write_text(json.dumps(prompts))
        subprocess.run([sys.executable, __file__, str(model), tmp, "--plain-pos0", str(src), "--threads", str(threads)],
                       check=True, env={**os.environ, "GGML_CPU_TILED_MM": "0"})
        with np.load(dst) as f:
            return {name: f[name] for name in f.files}


def perplexity(llm, ids, n_ctx, windows):
    """llama.cpp's perplexity method: BOS-led windows, score the second half of each."""
    nll = nll2 = 0.0
    count = 0
    for w in range(windows):
        window = ids[w * n_ctx:(w + 1) * n_ctx]
        window[0] = llm.token_bos()
        logits = prompt_logits(llm, window).astype(np.float64)
        for i in range(n_ctx // 2, n_ctx - 1):
            row = logits[i]
            m = row.max()
            lp = row[window[i + 1]] - m - math.log(np.exp(row - m).sum())
            nll -= lp
            nll2 += lp * lp
            count += 1
    mean = nll / count
    ppl = math.exp(mean)
    return ppl, math.sqrt(max(nll2 / count - mean * mean, 0) / (count - 1)) * ppl


def prompt_logits(llm, tokens):
    llm.reset()
    llm.eval(tokens)
    return np.asarray(llm.scores[: len(tokens)], dtype=np.float32)


def top_entries(logits):
    ids = np.argsort(-logits, axis=1, kind="stable")[:, :TOP].astype(np.int32)
    vals = np.take_along_axis(logits, ids, axis=1)
    margin = vals[:, 0] - vals[:, 1]
    return ids, vals, margin


def greedy_run(llm, ids, n):
    """Greedy tokens after `ids` and llama.cpp's top-2 margin at each step."""
    llm.reset()
    llm.eval(ids)
    out, margins = [], []
    for _ in range(n):
        logits = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        order = np.argsort(-logits, kind="stable")[:2]
        tok = int(order[0])
        margins.append(float(logits[order[0]] - logits[order[1]]))
        out.append(tok)
        if tok in (1, 106):  # <eos>, <end_of_turn>
            break
        llm.eval([tok])
    return out, margins


def long_prompt_text():
    return (HERE / "ppl_text.txt").read_text()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--tokens", action="store_true", help="also write tokens.json (vocabulary-only cases)")
    ap.add_argument("--ppl-ctx", type=int, default=512)
    ap.add_argument("--ppl-windows", type=int, default=0, help="0: every whole window of the text")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-greedy", type=int, default=64)
    ap.add_argument("--greedy-prompts", type=int, default=len(GREEDY_PROMPTS), help="use the first N greedy prompts")
    ap.add_argument("--long-tokens", type=int, default=1100, help="length of the long prompt (> 512 wraps the window)")
    ap.add_argument("--quick", action="store_true", help="prompt logits only (for the 1B-shaped random models)")
    ap.add_argument("--plain-pos0", type=Path, help=argparse.SUPPRESS)  # child of plain_position0()
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    if args.plain_pos0:
        llm_plain = load(args.model, 2048, args.threads, repack=False)
        prompts = json.loads(args.plain_pos0.read_text())
        np.savez(args.outdir / "pos0.npz", **{name: prompt_logits(llm_plain, ids)[0] for name, ids in prompts.items()})
        return

    llm = load(args.model, 2048, args.threads)
    llm_fa = load(args.model, 2048, args.threads, flash_attn=True)
    meta = {
        "llama_cpp_python": importlib.metadata.version("llama-cpp-python"),
        "model": args.model.name,
        "settings": {"flash_attn": False, "n_batch": 512, "n_ctx": 2048, "threads": args.threads},
        "top": TOP,
        "prompts": {},
    }

    if args.tokens:
        cases = []
        for name, text, add_bos, special in TOKEN_CASES:
            ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)
            cases.append({"name": name, "text": text, "add_bos": add_bos, "parse_special": special, "ids": ids})
        (args.outdir / "tokens.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")

    long_ids = llm.tokenize(long_prompt_text().encode(), add_bos=True, special=False)[:args.long_tokens]
    prompts = {
        "short": llm.tokenize(b"The capital of France is", add_bos=True, special=False),
        "chat": llm.tokenize(CHAT.encode(), add_bos=True, special=True),
        "long": long_ids,  # > 1000 tokens: the 512-token sliding window wraps
    }
    if args.quick:
        prompts = {"short": prompts["short"], "chat": prompts["chat"]}
    plain = plain_position0(args.model, prompts, args.threads)
    for name, ids in prompts.items():
        ref = prompt_logits(llm, ids)
        alt = prompt_logits(llm_fa, ids)
        top_ids, top_vals, margin = top_entries(ref)
        # llama.cpp against itself: the same top-20 entries under flash attention.
        spread = np.abs(np.take_along_axis(alt, top_ids.astype(np.int64), axis=1) - top_vals).max(axis=1)
        # Position 0 through llama.cpp's plain path at the same 20 ids: the per-type
        # dot products our AVX2 kernels reproduce bit for bit.
        plain_pos0 = plain[name][top_ids[0].astype(np.int64)]
        np.savez_compressed(args.outdir / f"logits_{name}.npz", tokens=np.asarray(ids, dtype=np.int32), top_ids=top_ids,
                            top_vals=top_vals, margin=margin, llama_fa_spread=spread, plain_pos0_vals=plain_pos0)
        same_top1 = float((alt.argmax(axis=1) == ref.argmax(axis=1)).mean())
        meta["prompts"][name] = {"n_tokens": len(ids), "llama_fa_spread_max": float(spread.max()),
                                 "llama_default_vs_plain_pos0": float(np.abs(plain_pos0 - top_vals[0]).max()),
                                 "llama_fa_spread_median": float(np.median(spread)), "llama_fa_top1_agreement": same_top1}
        print(f"{name}: {len(ids)} tokens, llama.cpp FA-vs-not spread max {spread.max():.3f} "
              f"median {np.median(spread):.3f}, top-1 agreement {same_top1:.3f}", file=sys.stderr)

    if not args.quick:
        greedy = []
        for name, text, special in GREEDY_PROMPTS[:args.greedy_prompts]:
            ids = llm.tokenize(text.encode(), add_bos=True, special=special)
            out, margins = greedy_run(llm, ids, args.n_greedy)
            alt, _ = greedy_run(llm_fa, ids, args.n_greedy)
            # How far llama.cpp's own flash-attention path follows the same greedy text.
            self_same = next((i for i, (a, b) in enumerate(zip(out, alt)) if a != b), min(len(out), len(alt)))
            greedy.append({"name": name, "prompt": text, "parse_special": special, "prompt_ids": ids, "ids": out,
                           "margins": margins, "llama_fa_identical": self_same,
                           "text": llm.detokenize(out).decode("utf-8", errors="replace")})
            print(f"greedy {name}: llama.cpp default and flash paths agree on {self_same}/{len(out)} tokens",
                  file=sys.stderr)
    del llm_fa
    if not args.quick:
        (args.outdir / "greedy.json").write_text(json.dumps(greedy, ensure_ascii=False, indent=1) + "\n")

        ids = llm.tokenize(long_prompt_text().encode(), add_bos=True, special=False)
        n_ctx = args.ppl_ctx
        windows = len(ids) // n_ctx
        if args.ppl_windows:
            windows = min(windows, args.ppl_windows)
        ppl, err = perplexity(load(args.model, n_ctx, args.threads), ids, n_ctx, windows)
        # llama.cpp's own spread: the same text through its flash-attention path and
        # token by token (n_ubatch 1: other matmul kernels). Our tolerance builds on it.
        variants = {
            "flash_attn": perplexity(load(args.model, n_ctx, args.threads, flash_attn=True), ids, n_ctx, windows)[0],
            "ubatch_1": perplexity(load(args.model, n_ctx, args.threads, n_ubatch=1), ids, n_ctx, windows)[0],
        }
        (args.outdir / "perplexity.json").write_text(json.dumps(
            {"ctx": n_ctx, "windows": windows, "ppl": ppl, "err": err, "llama_variants": variants}, indent=1) + "\n")
        print(f"perplexity {ppl:.4f} +/- {err:.4f} over {windows} windows of {n_ctx}; llama.cpp variants {variants}",
              file=sys.stderr)

    (args.outdir / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
