"""Shared helpers for the oracle tests: run our gmg-inspect, compare bit patterns."""
import subprocess
import sys
from pathlib import Path

import numpy as np


def dequant_with_gmg(inspect: str, gguf_path: Path, tensor: str, out: Path) -> np.ndarray:
    """Our decoder's output for one tensor, as raw uint32 bit patterns."""
    proc = subprocess.run([inspect, str(gguf_path), "--dequant", tensor, "-o", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gmg-inspect --dequant {tensor} failed ({proc.returncode}): {proc.stderr.strip()}")
    bits = np.fromfile(out, dtype="<u4")
    out.unlink()
    return bits


def compare_bits(label: str, ours: np.ndarray, ref: np.ndarray) -> bool:
    """True when both arrays hold identical float32 bit patterns; prints the first differences otherwise."""
    ref = np.ascontiguousarray(ref, dtype=np.float32).ravel().view(np.uint32)
    if ours.shape != ref.shape:
        print(f"FAIL {label}: {ours.size} values from gmg, {ref.size} from gguf", file=sys.stderr)
        return False
    bad = np.flatnonzero(ours != ref)
    if bad.size:
        i = bad[:5]
        print(f"FAIL {label}: {bad.size} of {ref.size} values differ; first at {i.tolist()}: "
              f"gmg {ours[i].view(np.float32).tolist()} vs gguf {ref[i].view(np.float32).tolist()}", file=sys.stderr)
        return False
    return True


def summary(passed: int, failed: int) -> int:
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0
