#!/usr/bin/env python3
"""Turns BUILD/variants/*/ours.json (written by check_variants.sh) into a markdown table.
usage: summarize_variants.py BUILD/variants"""
import json
import sys
from pathlib import Path

rows = ["| model | type | prompt logits: max \\|Δ\\| (tol) | median | position 0 (plain path) | position 0, AVX2 (plain path) | "
        "top-1 confident / all | llama.cpp self-spread | PPL ours / llama.cpp | greedy identical (llama.cpp flash keeps) |",
        "|---|---|---|---|---|---|---|---|---|---|"]
for d in sorted(Path(sys.argv[1]).iterdir()):
    f = d / "ours.json"
    if not f.exists():
        continue
    model, kind = ("270M", d.name.split("-")[-1]) if "270m" in d.name else ("1B-shape random", d.name.split("-")[-1])
    checks = json.loads(f.read_text())["checks"]
    logit = [v for k, v in checks.items() if k.startswith("logits_")]
    worst = max(logit, key=lambda v: v["max_abs_dlogit"] / v["tolerance"])
    pos0 = max(v["pos0_max_abs_dlogit"] for v in logit)
    pos0_plain = max(v.get("pos0_plain_max_abs_dlogit", float("nan")) for v in logit)
    avx2 = d / "ours-avx2.json"
    pos0_avx2 = "—"
    if avx2.exists():
        a = [v for k, v in json.loads(avx2.read_text())["checks"].items() if k.startswith("logits_")]
        pos0_avx2 = f"{max(v['pos0_max_abs_dlogit'] for v in a):.1e} ({max(v['pos0_plain_max_abs_dlogit'] for v in a):.1e})"
    med = max(v["median_max_dlogit"] for v in logit)
    top1c = sum(int(v["top1_confident"].split("/")[0]) for v in logit), sum(int(v["top1_confident"].split("/")[1]) for v in logit)
    top1a = min(v["top1_all"] for v in logit)
    spread = max(v["llama_self_spread"] for v in logit)
    ppl = checks.get("perplexity")
    ppl_s = f"{ppl['ours']:.3f} / {ppl['llama']:.3f} ({100 * ppl['rel']:.2f}%)" if ppl else "—"
    greedy = [v for k, v in checks.items() if k.startswith("greedy_")]
    g_s = ", ".join(f"{v['identical']}/{v['of']} ({v['llama_self_identical']})" for v in greedy) or "—"
    rows.append(f"| {model} | {kind} | {worst['max_abs_dlogit']:.3f} ({worst['tolerance']:.3f}) | {med:.3f} | {pos0:.1e} ({pos0_plain:.1e}) | {pos0_avx2} | "
                f"{top1c[0]}/{top1c[1]}, ≥{100 * top1a:.1f}% | {spread:.3f} | {ppl_s} | {g_s} |")
print("\n".join(rows))
