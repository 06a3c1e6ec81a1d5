#!/usr/bin/env python3
"""Every tensor of a real GGUF model decoded by gmg-inspect vs gguf-py, bit for bit.

usage: check_dequant_model.py GMG_INSPECT MODEL.gguf WORKDIR
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

sys.path.insert(0, str(Path(__file__).parent))
from oracle_common import compare_bits, dequant_with_gmg, summary  # noqa: E402


def main():
    inspect, model, workdir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    workdir.mkdir(parents=True, exist_ok=True)
    reader = GGUFReader(model)
    passed = failed = 0
    by_type = {}
    for t in reader.tensors:
        ours = dequant_with_gmg(inspect, model, t.name, workdir / "tensor.f32")
        ref = dequantize(t.data, t.tensor_type)
        if compare_bits(f"{t.name} ({t.tensor_type.name})", ours, ref):
            passed += 1
            by_type[t.tensor_type.name] = by_type.get(t.tensor_type.name, 0) + 1
        else:
            failed += 1
    print("bit-exact tensors by type: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_type.items())))
    return summary(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
