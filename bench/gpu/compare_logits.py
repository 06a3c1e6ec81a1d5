"""Compares two float32 logit dumps of gmg-run --dump-logits ([positions][n_vocab]).
Prints one line: max |dlogit| relative to the largest reference logit, and top-1
agreement at positions where the reference's top-2 margin is clear. Exit 1 when
top-1 differs at a clear position or the relative difference exceeds --tol.
usage: compare_logits.py REF OURS N_VOCAB [--tol 0.01]
"""
import argparse
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("ref")
ap.add_argument("ours")
ap.add_argument("n_vocab", type=int)
ap.add_argument("--tol", type=float, default=0.01)
a = ap.parse_args()
ref = np.fromfile(a.ref, dtype=np.float32).reshape(-1, a.n_vocab)
ours = np.fromfile(a.ours, dtype=np.float32).reshape(-1, a.n_vocab)
if ref.shape != ours.shape:
    print(f"shapes differ: {ref.shape} vs {ours.shape}")
    sys.exit(1)
scale = float(np.abs(ref).max())
diff = float(np.abs(ours - ref).max())
rel = diff / scale if scale > 0 else diff
top2 = np.sort(ref, axis=1)[:, -2:]
clear = (top2[:, 1] - top2[:, 0]) > 1e-3 * scale
same = ours.argmax(axis=1) == ref.argmax(axis=1)
finite = bool(np.isfinite(ours).all())
ok = finite and bool(same[clear].all()) and rel <= a.tol
print(f"{'ok' if ok else 'FAIL'}: max|dlogit| {diff:.4g} ({rel:.2e} of max|logit| {scale:.4g}); "
      f"top-1 {int(same[clear].sum())}/{int(clear.sum())} where clear, {int(same.sum())}/{len(same)} overall"
      f"{'' if finite else '; NON-FINITE VALUES'}")
sys.exit(0 if ok else 1)
