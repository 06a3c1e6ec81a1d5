#!/usr/bin/env python3
"""Our activation quantizers and dot products against llama.cpp's own x86 functions.

The goldens (tests/golden/kernels/*.npz, made by tests/golden/make_kernel_goldens.py)
hold, per integer weight type: weight rows, float activation rows, the bytes llama.cpp's
quantize_row_q8_0/q8_1/q8_K made of them, and what its ggml_vec_dot_<type> returned.

Checked here:
  - our x86-rule quantizers reproduce llama.cpp's activation bytes exactly;
  - on every ISA this CPU runs, our products agree with llama.cpp's to float rounding:
    the integer parts are exact on both sides, so only the float order of the per-block
    scaling may differ: |ours - llama.cpp's| <= REL_BOUND * max |llama.cpp's| per row;
  - on AVX2 and AVX-512, whose mat-vec kernels sum in llama.cpp's order for the types
    in BIT_EXACT (the same eight-lane partial sums, the same fused multiply-adds, the
    same horizontal reduction), the products are identical bit for bit. The other
    types (IQ4_NL: see BIT_EXACT; IQ1/IQ2, TQ, MXFP4) and the scalar and NEON paths
    only meet the rounding bound.

usage: check_kernel_goldens.py GMG_TEST_MATMUL GMG_TEST_QUANTIZE GOLDEN_DIR WORKDIR
"""
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from oracle_common import summary  # noqa: E402

ISAS = ["scalar", "avx2", "avx512", "neon", "neon_dotprod"]
# IQ4_NL is left out on purpose: llama.cpp's single-token dot product (recorded here)
# sums even and odd blocks apart, its prompt GEMM in one chain; ours keep the prompt
# GEMM's order for every batch size (docs/architecture.md).
BIT_EXACT = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
             "IQ3_XXS", "IQ3_S", "IQ4_XS"}
REL_BOUND = 2e-6


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    matmul, quantize, golden, work = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    work.mkdir(parents=True, exist_ok=True)
    passed = failed = 0
    files = sorted(golden.glob("*.npz"))
    if not files:
        print(f"FAIL no goldens in {golden}", file=sys.stderr)
        return summary(0, 1)
    for path in files:
        g = np.load(path)
        tname, act = str(g["weight_type"]), str(g["act_type"])
        x, w, want_act, want = g["x"], g["weights"], g["act"], g["dot"]
        k = x.shape[1]
        (work / "x.f32").write_bytes(x.astype(np.float32).tobytes())
        (work / "w.bin").write_bytes(w.tobytes())
        r = run([quantize, f"{act}_x86" if act != "q8_K" else act, str(work / "x.f32"), str(work / "a.bin")])
        got_act = np.fromfile(work / "a.bin", dtype=np.uint8).reshape(want_act.shape) if r.returncode == 0 else None
        if got_act is not None and np.array_equal(got_act, want_act):
            passed += 1
        else:
            failed += 1
            print(f"FAIL {path.stem}: our {act} bytes differ from llama.cpp's {r.stderr.strip()}", file=sys.stderr)
        line = []
        for isa in ISAS:
            r = run([matmul, "--raw", tname, str(k), str(work / "w.bin"), str(work / "x.f32"), str(work / "y.f32"), isa])
            if r.returncode != 0:
                if "not available" in r.stderr:
                    continue
                failed += 1
                print(f"FAIL {path.stem} {isa}: {r.stderr.strip()}", file=sys.stderr)
                continue
            got = np.fromfile(work / "y.f32", dtype=np.float32).reshape(want.shape)
            scale = np.abs(want).max(axis=1, keepdims=True)
            rel = float((np.abs(got - want) / np.maximum(scale, 1e-30)).max())
            same = float(np.mean(got == want))
            ok = rel <= REL_BOUND and (isa not in ("avx2", "avx512") or tname not in BIT_EXACT or same == 1.0)
            passed += ok
            failed += not ok
            line.append(f"{isa} {same * 100:5.1f}% bit-equal (max rel {rel:.1e}){'' if ok else ' FAIL'}")
        print(f"{'ok  ' if all('FAIL' not in s for s in line) else 'FAIL'} {path.stem:12s} " + "; ".join(line))
    return summary(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
