#!/usr/bin/env python3
"""Every reference decoder vs gguf-py's NumPy dequantizer, bit for bit, on random blocks.

For each type we draw thousands of blocks of random bytes, overwrite their f16
scale fields with sane random values (normal and a few subnormal, never NaN/inf,
never all-zero), store them as a GGUF tensor with gguf-py's writer, decode that
tensor with `gmg-inspect --dequant` and compare every float32 bit pattern with
gguf.quants.dequantize on the same bytes.

usage: check_dequant_random.py GMG_INSPECT WORKDIR [--seed S]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

sys.path.insert(0, str(Path(__file__).parent))
from oracle_common import compare_bits, dequant_with_gmg, summary  # noqa: E402

# Byte offsets of the f16 scale fields inside one block, per type (block_formats.h).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0], T.IQ3_S: [0],
    T.IQ1_S: [0], T.IQ4_NL: [0], T.IQ4_XS: [0], T.TQ1_0: [52], T.TQ2_0: [64],
    T.IQ1_M: [], T.MXFP4: [], T.NVFP4: [],
}
PLAIN = [T.F32, T.F16, T.BF16]


def sane_f16(rng, n):
    """Random f16 values of either sign, mostly normal (2^-14..2^3), some subnormal."""
    mag = np.exp2(rng.uniform(-14, 3, n)) * rng.choice([-1.0, 1.0], n)
    sub = rng.random(n) < 0.02
    mag[sub] = rng.uniform(-6e-5, 6e-5, sub.sum())
    return mag.astype(np.float16)


def random_blocks(rng, qtype, n_blocks):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        raw[:, off:off + 2] = sane_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.IQ1_M:
        # d is spread over the top nibbles of the four u16 scale words at bytes 48..55.
        d = sane_f16(rng, n_blocks).view(np.uint16)
        words = raw[:, 48:56].copy().view(np.uint16)
        for k in range(4):
            words[:, k] = (words[:, k] & 0x0FFF) | (((d >> (4 * k)) & 0xF) << 12)
        raw[:, 48:56] = words.view(np.uint8)
    if qtype == T.MXFP4:
        raw[:, 0] = rng.integers(100, 150, n_blocks)  # exponent byte: 2^-27 .. 2^22
    return raw


def random_plain(rng, qtype, n):
    if qtype == T.F32:
        return (rng.standard_normal(n) * np.exp2(rng.uniform(-20, 20, n))).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        return sane_f16(rng, n).view(np.uint8)
    return rng.integers(0, 1 << 16, n, dtype=np.uint16).view(np.uint8)  # BF16: every bit pattern, NaNs included


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inspect")
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    cases = {}
    for qtype in F16_FIELDS:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        blocks_per_row = 3  # odd row lengths: 96 or 768 elements
        n_blocks = 4095 if block_elems <= 64 else 2049
        raw = random_blocks(rng, qtype, n_blocks).reshape(n_blocks // blocks_per_row, blocks_per_row * block_bytes)
        cases[qtype] = raw
    for qtype in PLAIN:
        elem_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
        raw = random_plain(rng, qtype, 97 * 33).reshape(97, 33 * elem_bytes)
        cases[qtype] = raw

    path = args.workdir / "random_blocks.gguf"
    writer = gguf.GGUFWriter(str(path), arch="oracle")
    for qtype, raw in cases.items():
        writer.add_tensor(qtype.name, raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    passed = failed = 0
    for qtype, raw in cases.items():
        ref = dequantize(raw, qtype)
        ours = dequant_with_gmg(args.inspect, path, qtype.name, args.workdir / f"{qtype.name}.f32")
        blocks = raw.size // gguf.GGML_QUANT_SIZES[qtype][1]
        if compare_bits(f"{qtype.name} ({blocks} blocks)", ours, ref):
            passed += 1
            print(f"ok   {qtype.name:8} {blocks:6} blocks, {ours.size} values bit-exact")
        else:
            failed += 1
    path.unlink()
    return summary(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
