#!/usr/bin/env python3
"""The activation quantizers (Q8_0, its x86 rounding variant, Q8_1, Q8_K) vs NumPy.

Q8_0 is checked against gguf-py's own Q8_0 quantizer (written to match llama.cpp's
reference bit for bit); the others against NumPy transcriptions of the rounding
rules below, written independently of the C++. Inputs: gaussian rows at many
scales, rows built so x*scale lands exactly on .5 ties, blocks whose largest
magnitude is negative or tied between signs, all-zero blocks and single spikes.

usage: check_quantize_activations.py GMG_TEST_QUANTIZE WORKDIR
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, np_roundf

sys.path.insert(0, str(Path(__file__).parent))
from oracle_common import summary  # noqa: E402

f32 = np.float32


def inputs(rng, block):
    rows = [rng.standard_normal(block * 1024) * np.exp2(rng.uniform(-12, 12, block * 1024))]
    # Exact ties: amax = 127 makes the scale 1 (or -1 for Q8_K), so k + 0.5 stays a tie.
    ties = rng.integers(-126, 126, (32, block)) + 0.5
    ties[:, 0] = 127.0
    rows.append(ties.ravel())
    neg = rng.standard_normal((32, block))
    neg[:, 3] = -50.0  # largest magnitude is negative
    rows.append(neg.ravel())
    # Equal largest magnitudes of opposite sign: the first one must set the sign of d (Q8_K).
    both = rng.standard_normal((32, block))
    both[:, 2], both[:, 7] = 9.0, -9.0
    both[16:, 2], both[16:, 7] = -9.0, 9.0
    rows.append(both.ravel())
    rows.append(np.zeros(block * 2))
    spike = np.zeros((4, block))
    spike[:, 5] = [1e-30, -3.0, 7e4, -1e-3]
    rows.append(spike.ravel())
    return np.concatenate(rows).astype(np.float32)


def x86_rule(x):
    """llama.cpp's x86 rounding of 32-element blocks: d = amax/127 (f32), q = rint(x * 127/amax)."""
    b = x.reshape(-1, 32)
    amax = np.abs(b).max(axis=1, keepdims=True)
    d = amax / f32(127)
    with np.errstate(divide="ignore"):
        iscale = np.where(amax != 0, f32(127) / amax, f32(0)).astype(np.float32)
    return d, np.rint(b * iscale).astype(np.int8)


def model_q8_0_x86(x):
    d, q = x86_rule(x)
    return np.concatenate([d.astype(np.float16).view(np.uint8), q.view(np.uint8)], axis=1)


def model_q8_1(x):
    b = x.reshape(-1, 32)
    d = np.abs(b).max(axis=1, keepdims=True) / f32(127)
    with np.errstate(divide="ignore"):
        iscale = np.where(d != 0, f32(1) / d, f32(0)).astype(np.float32)
    q = np_roundf(b * iscale).astype(np.int8)
    with np.errstate(over="ignore"):  # a 7e4 spike makes s overflow to inf in f16, as in C
        s = (q.astype(np.int32).sum(axis=1, keepdims=True).astype(np.float32) * d).astype(np.float16)
    return np.concatenate([d.astype(np.float16).view(np.uint8), s.view(np.uint8), q.view(np.uint8)], axis=1)


def model_q8_1_x86(x):
    """llama.cpp's x86 Q8_1: the q of its x86 Q8_0, s = f16(d * sum(q)) with d still f32."""
    d, q = x86_rule(x)
    with np.errstate(over="ignore"):
        s = (d * q.astype(np.int32).sum(axis=1, keepdims=True).astype(np.float32)).astype(np.float16)
    return np.concatenate([d.astype(np.float16).view(np.uint8), s.view(np.uint8), q.view(np.uint8)], axis=1)


def model_q8_K(x):
    out = []
    for b in x.reshape(-1, 256):
        a = np.abs(b)
        k = int(np.argmax(a))  # first index of the largest magnitude
        if a[k] == 0:
            out.append(np.zeros(292, dtype=np.uint8))
            continue
        iscale = f32(-127) / b[k]
        q = np.minimum(np.rint(iscale * b), 127).astype(np.int8)
        bsums = q.astype(np.int16).reshape(16, 16).sum(axis=1).astype(np.int16)
        d = np.array([f32(1) / iscale], dtype=np.float32)
        out.append(np.concatenate([d.view(np.uint8), q.view(np.uint8), bsums.view(np.uint8)]))
    return np.stack(out)


CASES = [  # (tool kind, block elems, bytes per block, oracle)
    ("q8_0", 32, 34, lambda x: quantize(x.reshape(-1, 32), T.Q8_0).reshape(-1, 34)),
    ("q8_0_x86", 32, 34, model_q8_0_x86),
    ("q8_1", 32, 36, model_q8_1),
    ("q8_1_x86", 32, 36, model_q8_1_x86),
    ("q8_K", 256, 292, model_q8_K),
]


def main():
    tool, workdir = sys.argv[1], Path(sys.argv[2])
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1130)
    passed = failed = 0
    for kind, block, nbytes, oracle in CASES:
        x = inputs(rng, block)
        src, dst = workdir / f"{kind}.in.f32", workdir / f"{kind}.out.bin"
        x.tofile(src)
        subprocess.run([tool, kind, str(src), str(dst)], check=True)
        ours = np.fromfile(dst, dtype=np.uint8).reshape(-1, nbytes)
        ref = np.ascontiguousarray(oracle(x), dtype=np.uint8).reshape(-1, nbytes)
        bad = np.flatnonzero((ours != ref).any(axis=1))
        if ours.shape == ref.shape and bad.size == 0:
            passed += 1
            print(f"ok   {kind:9} {ours.shape[0]} blocks byte-exact")
        else:
            failed += 1
            print(f"FAIL {kind}: {bad.size} of {ref.shape[0]} blocks differ, first {bad[:5].tolist()}", file=sys.stderr)
        src.unlink()
        dst.unlink()
    return summary(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
