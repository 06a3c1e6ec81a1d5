#!/usr/bin/env python3
"""Side-by-side: our gmg-bench and llama.cpp's llama-bench on the same GGUF files,
same threads, alternating engine by engine within one run (these shared machines
drift; alternating spreads the drift over both). Prints a markdown table with the
ratio and, for decode, the share of the bandwidth floor (tensor bytes per token
over the machine's measured read bandwidth).

usage: compare.py MODEL.gguf... [--threads 2] [--reps 3] [--rounds 2] [-p 512] [-n 128] [-d 0]
                  [--build build] [--llama-bench build-llama/bin/llama-bench] [--json OUT]
-d DEPTH: both engines first fill the cache with DEPTH positions (llama-bench's -d);
the floor then counts the weights only, so that column is left out.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("models", nargs="+")
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--rounds", type=int, default=2, help="alternations per engine and test")
ap.add_argument("-p", type=int, default=512)
ap.add_argument("-n", type=int, default=128)
ap.add_argument("-d", type=int, default=0, help="positions already in the cache (llama-bench -d)")
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--llama-bench", default=os.path.join(root, "build-llama", "bin", "llama-bench"))
ap.add_argument("--json", help="write every measurement here")
args = ap.parse_args()


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out[out.index("["):])


def spread(xs):  # sample standard deviation; 0 for a single sample
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def read_bandwidth():
    res = subprocess.run([os.path.join(args.build, "bin", "gmg-bench-matvec"), "--benchmark_filter=ReadBandwidth",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    ctx = json.loads(res)["context"]
    return float(ctx["read_bandwidth_GBps"]) * 1e9


def engines(model, p, n):
    ours = [os.path.join(args.build, "bin", "gmg-bench"), "-m", model, "-p", str(p), "-n", str(n),
            "-t", str(args.threads), "-r", str(args.reps), "-d", str(args.d), "--json"]
    theirs = [args.llama_bench, "-m", model, "-p", str(p), "-n", str(n), "-t", str(args.threads),
              "-r", str(args.reps), "-d", str(args.d), "-o", "json"]
    return {"gemmagguf": ours, "llama.cpp": theirs}


bw = read_bandwidth()
print(f"read bandwidth (best of 5, {args.threads} threads): {bw / 1e9:.1f} GB/s", file=sys.stderr)
rows, record = [], {"read_bandwidth_Bps": bw, "threads": args.threads, "results": []}
for model in args.models:
    name = os.path.basename(model)
    for test, p, n in (("pp", args.p, 0), ("tg", 0, args.n)):
        if (p or n) == 0:
            continue
        label = f"{test}{p or n}" + (f" @ d{args.d}" if args.d else "")
        samples = {"gemmagguf": [], "llama.cpp": []}
        extra = {}
        for r in range(args.rounds):
            order = list(engines(model, p, n).items())
            if r % 2:
                order.reverse()
            for engine, cmd in order:
                res = run_json(cmd)[0]
                samples[engine] += res["samples_ts"]
                if engine == "gemmagguf":
                    extra = res
                print(f"{name} {label} {engine}: {res['avg_ts']:.2f} t/s", file=sys.stderr)
        ours, theirs = statistics.mean(samples["gemmagguf"]), statistics.mean(samples["llama.cpp"])
        floor = bw / extra["model_size"] if test == "tg" and not args.d else None
        rows.append((name, label, ours, spread(samples["gemmagguf"]), theirs,
                     spread(samples["llama.cpp"]), ours / theirs, floor, extra["peak_rss_bytes"]))
        record["results"].append({"model": name, "test": label, "depth": args.d, "samples": samples,
                                  "model_size": extra["model_size"], "floor_ts": floor,
                                  "peak_rss_bytes": extra["peak_rss_bytes"]})

print(f"| model | test | gemmagguf t/s | llama.cpp t/s | ratio | % of floor | peak RSS (ours) |")
print(f"|---|---|---:|---:|---:|---:|---:|")
for name, test, o, os_, t, ts, ratio, floor, rss in rows:
    pct = f"{100 * o / floor:.0f}% of {floor:.1f}" if floor else "-"
    print(f"| {name} | {test} | {o:.2f} ± {os_:.2f} | {t:.2f} ± {ts:.2f} | {ratio:.2f}x | {pct} | {rss / 2**20:.0f} MiB |")
print(f"\nread bandwidth {bw / 1e9:.1f} GB/s; {args.threads} threads; {args.rounds} alternations x {args.reps} repetitions per engine")
if args.json:
    with open(args.json, "w") as f:
        json.dump(record, f, indent=1)
