"""Whole-model GPU offload through the Python binding of the C API.

Without a usable GPU: loading with n_gpu_layers=-1 fails with GMG_ERR_UNSUPPORTED
and a message naming the reason, partial offload is refused, and the CPU path
still works in the same process. With one: the offloaded model's prompt logits
agree with the CPU path's (top-1 identical where the CPU's top-2 margin is clear,
max |dlogit| within the golden tolerance), and greedy decoding gives the same tokens.
Usage: check_gpu_model.py MODEL
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "python"))
import gemmagguf as g  # noqa: E402

UNSUPPORTED = 4


def expect_refused(model_path, ngl, words):
    try:
        g.Model(model_path, n_gpu_layers=ngl)
    except g.GmgError as e:
        msg = str(e)
        assert e.status == UNSUPPORTED, f"n_gpu_layers={ngl}: status {e.status}, wanted {UNSUPPORTED}: {msg}"
        assert any(w in msg for w in words), f"n_gpu_layers={ngl}: unclear message: {msg}"
        print(f"refused as expected (n_gpu_layers={ngl}): {msg}")
        return
    raise AssertionError(f"n_gpu_layers={ngl} loaded without a GPU")


def greedy(ctx, n):
    """n greedy tokens continuing from the context's last logits."""
    out = []
    for _ in range(n):
        out.append(int(np.argmax(ctx.logits_array())))
        ctx.decode([out[-1]])
    return out


def main():
    model_path = sys.argv[1]
    count, reason = g.gpu_device_count()
    print(f"backend {g.gpu_backend()}, {count} device(s){'; ' + reason if reason else ''}")
    cpu = g.Model(model_path)
    prompt = cpu.tokenize("The quick brown fox jumps over the lazy dog. In 1905, Einstein", True, False)
    with cpu.context(n_ctx=256, n_batch=64) as ctx:
        ctx.decode(prompt, all_logits=True)
        ref = np.stack([ctx.logits_array(i) for i in range(len(prompt))])
    if count == 0:
        expect_refused(model_path, -1, ["GPU", "CUDA", "HIP"])
        expect_refused(model_path, 99, ["GPU", "CUDA", "HIP"])
        if cpu.info.n_layer > 1:
            try:
                g.Model(model_path, n_gpu_layers=1)
                raise AssertionError("partial offload loaded")
            except g.GmgError as e:
                assert "partial offload" in str(e) or "GPU" in str(e), str(e)
        print("CPU path still works after the refusals:", ref.shape)
        return 0

    gpu = g.Model(model_path, n_gpu_layers=-1)
    with gpu.context(n_ctx=256, n_batch=64) as ctx:
        ctx.decode(prompt, all_logits=True)
        ours = np.stack([ctx.logits_array(i) for i in range(len(prompt))])
        top2 = np.sort(ref, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 0.5
        same = ours.argmax(axis=1) == ref.argmax(axis=1)
        diff = float(np.abs(ours - ref).max())
        print(f"prompt logits: max|dlogit| {diff:.4f}, top-1 {int(same[clear].sum())}/{int(clear.sum())} where clear")
        assert same[clear].all(), "top-1 differs from the CPU path where its margin is clear"
        assert diff < 1.0, f"max |dlogit| {diff} vs the CPU path"
        steps_gpu = greedy(ctx, 16)  # single-token steps run the captured graph
    with cpu.context(n_ctx=256, n_batch=64) as cctx:
        cctx.decode(prompt)
        steps_cpu = greedy(cctx, 16)
    n_same = next((i for i, (a, b) in enumerate(zip(steps_gpu, steps_cpu)) if a != b), 16)
    print(f"greedy: {n_same}/16 tokens identical")
    assert n_same >= 8, f"greedy text parts from the CPU path after {n_same} tokens"
    return 0


if __name__ == "__main__":
    sys.exit(main())
