#!/usr/bin/env python3
"""Our engine vs llama.cpp's committed goldens (see make_goldens.py), through the C API (ctypes).

Checks, each reported as one test:
  tokens      identical token ids for every text of tokens.json
  logits_*    at every position: top-1 identical wherever llama.cpp's top-2 margin
              exceeds EPS and its own flash-vs-default spread there; |our logit - llama.cpp's| over its top-20 within TOL.
              With --pos0-exact (run under GMG_ISA=avx2): position 0 within 1e-4 of
              llama.cpp's plain path (plain_pos0_vals: no repacked weights, no tiled
              K-quant GEMM, i.e. its per-type dot products)
  greedy_*    greedy tokens identical until the first step where llama.cpp's own top-2
              margin is below EPS (a near tie, decided by noise); reported with the
              number of identical tokens and llama.cpp's own flash-path agreement
  perplexity  gmg-perplexity within 0.5% of llama.cpp's value, or within TOL_FACTOR x the
              spread of llama.cpp's own paths (flash attention, token by token) if wider:
              the same two-noises argument as for the logits (below). On the 270M Q6_K
              file (6 windows) llama.cpp's flash path is 0.54% off its default, our AVX2
              path, whose dot products are llama.cpp's bit for bit, 0.57%, so 1.5x
              (0.81%) would leave almost no room for a second, independent rounding.

Why these tolerances: Gemma3 attends to the BOS token with probabilities near 1,
and llama.cpp rounds q, K, V and those probabilities to f16. A change in the last
bit of a matmul output can flip one such rounding and move later logits by ~1:
llama.cpp run with flash attention instead of its default differs from itself by
the `llama_fa_spread` recorded in each golden (0.6 to 2.3 on the top-20 logits,
median ~0.4, 95% top-1 agreement). Our float rounding is independent of
llama.cpp's, so our distance to it is a difference of two such noises: up to
sqrt(2) times one, plus the fluctuation of a maximum over thousands of values.
TOL = TOL_FACTOR x llama.cpp's own max spread on the prompt, TOL_FACTOR = 2;
EPS = 1.0, above the median noise (0.3-0.5) with margin.

Position 0 attends only to itself, so there the noise comes only from how each
matmul sums its float terms (a last-bit difference can still flip a later int8
or f16 rounding). Our AVX2 row kernels sum in the order of llama.cpp's plain x86
dot products (tests/oracle/check_kernel_goldens.py), so under GMG_ISA=avx2 and
without repacked weights (--pos0-exact loads the model so) our position 0 equals
llama.cpp's plain path to the last bit (--pos0-exact checks 1e-4). Our repacked
GEMMs (AVX-512 and AVX2) sum in another order; so do llama.cpp's own
repacked GEMMs and its tiled K-quant GEMM (prompts of 8+ tokens), by which its
default path differs from its plain one at position 0 by up to 0.4 on the
requantized 270M files (llama_default_vs_plain_pos0 in meta.json).

usage: check_goldens.py BUILD_DIR MODEL.gguf GOLDEN_DIR [--threads N] [--report FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

TOL_FACTOR = 2.0   # times llama.cpp's own flash-vs-default spread on the same prompt
EPS_ABS = 1.0      # top-2 margin (logits) below which the top-1 choice is noise
POS0_TOL = 1e-4    # --pos0-exact: position 0 against llama.cpp's plain path (see above)
GREEDY_MIN = 32
PPL_REL = 0.005     # or TOL_FACTOR x llama.cpp's own spread between its paths, if that is larger


def cpu_has_avx2():
    try:
        return any(line.startswith("flags") and " avx2" in line for line in open("/proc/cpuinfo"))
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", type=Path)
    ap.add_argument("model", type=Path)
    ap.add_argument("golden", type=Path)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report", type=Path)
    ap.add_argument("--skip-ppl", action="store_true")
    ap.add_argument("--ngl", type=int, default=0, help="n_gpu_layers: -1 runs the whole model on the GPU")
    ap.add_argument("--pos0-tol", type=float,
                    help="also hold position 0 (over llama.cpp's top-20) within this of llama.cpp's default path")
    ap.add_argument("--pos0-exact", action="store_true",
                    help="hold position 0 to llama.cpp's plain path within 1e-4 (run with GMG_ISA=avx2; "
                         "loads the model without repacked weights, our plain path)")
    ap.add_argument("--logits-only", action="store_true", help="skip the greedy and perplexity checks")
    ap.add_argument("--prompts", help="comma-separated logits_* prompts to check (default: all)")
    args = ap.parse_args()
    os.environ["GMG_LIBRARY"] = str(args.build / "lib" / "libgemmagguf.so")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "python"))
    from gemmagguf import Model, gpu_device_count  # noqa: E402

    if (args.pos0_exact or os.environ.get("GMG_ISA") == "avx2") and not cpu_has_avx2():
        print("skipped: this check needs the AVX2 kernels, and this CPU has no AVX2")
        sys.exit(77)
    if args.ngl != 0:
        count, reason = gpu_device_count()
        if count == 0:
            print(f"skipped: --ngl {args.ngl} needs a GPU: {reason}")
            sys.exit(77)  # ctest SKIP_RETURN_CODE

    results = []  # (name, ok, detail)
    report = {"model": args.model.name, "checks": {}}
    model = Model(args.model, n_threads=args.threads, n_gpu_layers=args.ngl, prompt_repack=not args.pos0_exact)
    ctx = model.context(n_ctx=2048, n_batch=512, n_threads=args.threads)

    tok_file = args.golden / "tokens.json"
    if tok_file.exists():
        cases = json.loads(tok_file.read_text())
        bad = [c["name"] for c in cases if model.tokenize(c["text"], c["add_bos"], c["parse_special"]) != c["ids"]]
        results.append(("tokens", not bad, f"{len(cases) - len(bad)}/{len(cases)} texts identical" +
                        (f"; differ: {bad}" if bad else "")))

    for npz in sorted(args.golden.glob("logits_*.npz")):
        if args.prompts and npz.stem.removeprefix("logits_") not in args.prompts.split(","):
            continue
        g = np.load(npz)
        tokens = [int(t) for t in g["tokens"]]
        ctx.reset()
        ctx.decode(tokens, all_logits=True)
        ours = np.stack([ctx.logits_array(i) for i in range(len(tokens))])
        ours_top = np.take_along_axis(ours, g["top_ids"].astype(np.int64), axis=1)
        diff = np.abs(ours_top - g["top_vals"])
        tol = TOL_FACTOR * float(g["llama_fa_spread"].max())
        # Confident: llama.cpp's top-2 margin exceeds EPS and its own spread at that
        # position (where its flash path moves logits by more, the choice is noise).
        confident = g["margin"] > np.maximum(EPS_ABS, g["llama_fa_spread"])
        top1_ok = ours.argmax(axis=1) == g["top_ids"][:, 0]
        top1_all = float(top1_ok.mean())
        pos0 = float(diff[0].max())
        has_plain = "plain_pos0_vals" in g.files
        pos0_plain = float(np.abs(ours_top[0] - g["plain_pos0_vals"]).max()) if has_plain else float("nan")
        ok = bool(top1_ok[confident].all()) and float(diff.max()) <= tol
        if args.pos0_exact:
            ok = ok and has_plain and pos0_plain <= POS0_TOL
        if args.pos0_tol is not None:
            ok = ok and pos0 <= args.pos0_tol
        name = npz.stem
        pos0_text = (f"position 0 max|dlogit| {pos0:.2e}, against llama.cpp's plain path {pos0_plain:.2e}"
                     + (f" (tol {POS0_TOL})" if args.pos0_exact else "")
                     + (f" (tol {args.pos0_tol} against the default path)" if args.pos0_tol is not None else ""))
        detail = (f"{len(tokens)} positions: {pos0_text}; max|dlogit| {diff.max():.3f} (median {np.median(diff.max(axis=1)):.3f}, "
                  f"tol {tol:.3f}); top-1 {top1_ok[confident].sum()}/{confident.sum()} where margin>max({EPS_ABS}, llama.cpp's spread), "
                  f"{top1_all:.3f} overall; llama.cpp self-spread {g['llama_fa_spread'].max():.3f}")
        results.append((name, ok, detail))
        report["checks"][name] = {"positions": len(tokens), "pos0_max_abs_dlogit": pos0,
                                  "pos0_plain_max_abs_dlogit": pos0_plain, "max_abs_dlogit": float(diff.max()),
                                  "median_max_dlogit": float(np.median(diff.max(axis=1))), "tolerance": tol,
                                  "top1_confident": f"{int(top1_ok[confident].sum())}/{int(confident.sum())}",
                                  "top1_all": top1_all, "llama_self_spread": float(g["llama_fa_spread"].max())}

    greedy_file = args.golden / "greedy.json"
    if greedy_file.exists() and not args.logits_only:
        for case in json.loads(greedy_file.read_text()):
            ctx.reset()
            ctx.decode(case["prompt_ids"])
            ours = []
            for _ in range(len(case["ids"])):
                tok = int(np.argmax(ctx.logits_array()))
                ours.append(tok)
                if tok in (model.info.eos, model.info.eot):
                    break
                ctx.decode([tok])
            n_same = next((i for i, (a, b) in enumerate(zip(ours, case["ids"])) if a != b), min(len(ours), len(case["ids"])))
            # llama.cpp's flash path is the same engine with different rounding: where even it
            # leaves llama.cpp's default greedy text, the text past that point is noise.
            need = min(GREEDY_MIN, len(case["ids"]), case["llama_fa_identical"])
            # Parting at a near tie is noise; parting where llama.cpp was sure is a bug.
            parted_at_tie = n_same < len(case["ids"]) and case["margins"][n_same] < EPS_ABS
            margin_at_split = case["margins"][n_same] if n_same < len(case["margins"]) else None
            detail = (f"{n_same}/{len(case['ids'])} tokens identical (llama.cpp's flash path keeps "
                      f"{case['llama_fa_identical']}; {'at least ' + str(need) + ' reached' if n_same >= need else 'fewer than ' + str(need)})")
            if margin_at_split is not None:
                detail += f"; llama.cpp's top-2 margin where they part: {margin_at_split:.3f}"
            results.append((f"greedy_{case['name']}", n_same == len(case["ids"]) or parted_at_tie, detail))
            report["checks"][f"greedy_{case['name']}"] = {"identical": n_same, "of": len(case["ids"]),
                                                          "llama_self_identical": case["llama_fa_identical"],
                                                          "margin_at_split": margin_at_split}

    ppl_file = args.golden / "perplexity.json"
    if ppl_file.exists() and not args.skip_ppl and not args.logits_only:
        ref = json.loads(ppl_file.read_text())
        text = Path(__file__).with_name("ppl_text.txt")
        proc = subprocess.run([str(args.build / "bin" / "gmg-perplexity"), "-m", str(args.model), "-f", str(text),
                               "-c", str(ref["ctx"]), "--chunks", str(ref["windows"]),
                               "-t", str(args.threads), "-ngl", str(args.ngl)], capture_output=True, text=True)
        m = re.search(r"PPL = ([0-9.]+) \+/- ([0-9.]+)", proc.stdout)
        if proc.returncode != 0 or not m:
            results.append(("perplexity", False, f"gmg-perplexity failed: {proc.stderr.strip()[-300:]}"))
        else:
            ours = float(m.group(1))
            rel = abs(ours - ref["ppl"]) / ref["ppl"]
            self_rel = max((abs(v - ref["ppl"]) / ref["ppl"] for v in ref.get("llama_variants", {}).values()), default=0)
            limit = max(PPL_REL, TOL_FACTOR * self_rel)
            results.append(("perplexity", rel <= limit,
                             f"ours {ours:.4f} vs llama.cpp {ref['ppl']:.4f} ({100 * rel:.2f}%, limit {100 * limit:.2f}%; "
                             f"llama.cpp's own paths: {ref.get('llama_variants')})"))
            report["checks"]["perplexity"] = {"ours": ours, "llama": ref["ppl"], "rel": rel, "limit": limit,
                                              "llama_variants": ref.get("llama_variants")}

    ctx.close()
    model.close()
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    passed = sum(ok for _, ok, _ in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
