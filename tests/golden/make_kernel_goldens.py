#!/usr/bin/env python3
"""Kernel goldens: llama.cpp's own x86 activation quantizers and block dot products.

llama-cpp-python's libggml-cpu exports the functions its CPU backend calls for every
integer weight type (quantize_row_q8_0/q8_1/q8_K, ggml_vec_dot_<type>_<q8 type>), built
for this machine's ISA. This script feeds them weight rows (random blocks from
gmg-make-random-model, uniform:TYPE) and activation rows (gaussian, wide per-block
scales, exact .5 ties), and writes what they return: tests/golden/kernels/<TYPE>.npz.
tests/oracle/check_kernel_goldens.py then holds our quantizers and dot products to them.

What is recorded includes choices of llama.cpp's compiler (which multiply-adds it
fuses: Q5_K's min term yes, the Q4_1/Q5_1 sums and IQ4_NL's odd tail no), which our
kernels follow; goldens remade from a llama.cpp built by another compiler or for
another -march may need the kernels re-checked.

The float types (F16, BF16) are left out on purpose: llama.cpp multiplies those with
its llamafile sgemm, not with ggml_vec_dot, so a vec_dot golden would not be its path.

usage (with tests/golden/ensure_llama_cpp.sh's venv):
  .venv-golden/bin/python tests/golden/make_kernel_goldens.py BUILD_DIR OUT_DIR
"""
import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import llama_cpp
import numpy as np


LIB = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-cpu.so"))
LIB.ggml_cpu_init()  # fills the f16 -> f32 table its dot products read the block scales through
ROWS = 6
BLOCK32 = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL", "MXFP4"}
# weight type -> (its vec_dot_type, bytes per activation block, elements per block)
TYPES = {
    "Q4_0": "q8_0", "Q4_1": "q8_1", "Q5_0": "q8_0", "Q5_1": "q8_1", "Q8_0": "q8_0", "IQ4_NL": "q8_0",
    "MXFP4": "q8_0", "Q2_K": "q8_K", "Q3_K": "q8_K", "Q4_K": "q8_K", "Q5_K": "q8_K", "Q6_K": "q8_K",
    "IQ2_XXS": "q8_K", "IQ2_XS": "q8_K", "IQ2_S": "q8_K", "IQ3_XXS": "q8_K", "IQ3_S": "q8_K",
    "IQ4_XS": "q8_K", "IQ1_S": "q8_K", "IQ1_M": "q8_K", "TQ1_0": "q8_K", "TQ2_0": "q8_K",
}
ACT_BYTES = {"q8_0": 34 / 32, "q8_1": 36 / 32, "q8_K": 292 / 256}  # per element


def activations(rng, K):
    plain = rng.standard_normal(K)
    scaled = rng.standard_normal(K) * np.repeat(np.exp2(rng.uniform(-10, 10, K // 32)), 32)
    ties = rng.integers(-126, 126, K) + 0.5  # amax 127 below makes each block's scale 1: exact ties
    ties[::32] = 127.0
    return np.stack([plain, scaled, ties]).astype(np.float32)




def read_tensor_rows(path, name, rows):
    from gguf import GGUFReader
    t = next(t for t in GGUFReader(path).tensors if t.name == name)
    return np.ascontiguousarray(t.data.reshape(int(t.shape[1]), -1)[:rows]).view(np.uint8)


def main():
    build, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261130)
    version = getattr(llama_cpp, "__version__", "?")
    # K = 1024 for every type; 1056 (33 blocks: an odd count) for the 32-element ones.
    cases = [(t, 1024) for t in TYPES] + [(t, 1056) for t in TYPES if t in BLOCK32]
    with tempfile.TemporaryDirectory() as tmp:
        for type_name, K in cases:
            act = TYPES[type_name]
            model = Path(tmp) / f"{type_name}.gguf"
            subprocess.run([str(build / "bin" / "gmg-make-random-model"), str(model), "--mix", f"uniform:{type_name}",
                            "--layers", "1", "--embd", str(K), "--ff", str(K), "--vocab", "512",
                            "--seed", str(rng.integers(1, 1 << 30))], check=True, capture_output=True)
            w = read_tensor_rows(str(model), "blk.0.ffn_up.weight", ROWS)
            x = activations(rng, K)
            quantize = getattr(LIB, f"quantize_row_{act}")
            fn = type_name.lower()
            fn = fn[:-2] + "_K" if fn.endswith("_k") else fn  # ggml spells the K types q4_K
            dot = getattr(LIB, f"ggml_vec_dot_{fn}_{act}")
            a = np.zeros((len(x), int(ACT_BYTES[act] * K)), np.uint8)
            y = np.zeros((len(x), ROWS), np.float32)
            for c in range(len(x)):
                quantize(x[c].ctypes.data_as(ctypes.c_void_p), a[c].ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(K))
                for r in range(ROWS):
                    s = ctypes.c_float()
                    dot(ctypes.c_int(K), ctypes.byref(s), ctypes.c_size_t(0), w[r].ctypes.data_as(ctypes.c_void_p),
                        ctypes.c_size_t(0), a[c].ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(0), ctypes.c_int(1))
                    y[c, r] = s.value
            name = type_name if K == 1024 else f"{type_name}-k{K}"
            np.savez_compressed(out / f"{name}.npz", weight_type=type_name, weights=w, x=x, act=a, dot=y, act_type=act,
                                source=f"llama-cpp-python {version} libggml-cpu (quantize_row_{act}, "
                                       f"ggml_vec_dot_{fn}_{act})")
            print(f"{name:12s} {act}: {ROWS} rows of {K} x {len(x)} activation rows")


if __name__ == "__main__":
    main()
