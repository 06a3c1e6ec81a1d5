#!/usr/bin/env python3
"""Writes a Gemma3-1B-shaped GGUF with random BF16 weights (1152 hidden, 26 layers,
6912 FFN, 4 heads of 256, 1 KV head, 262144 vocabulary), reusing the real
tokenizer metadata of a donor Gemma3 GGUF. Speed and loading do not depend on
the weight values; this stands in for LEM-Gemma3-1B, which cannot be fetched here.

usage: make_random_gemma3.py DONOR.gguf OUT.gguf [--layers 26] [--seed 0]
"""
import argparse

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType as V

ap = argparse.ArgumentParser()
ap.add_argument("donor")
ap.add_argument("out")
ap.add_argument("--layers", type=int, default=26)
ap.add_argument("--embd", type=int, default=1152)
ap.add_argument("--ff", type=int, default=6912)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
rng = np.random.default_rng(args.seed)
E, F, L, HD, NH, NKV = args.embd, args.ff, args.layers, 256, 4, 1

donor = GGUFReader(args.donor)
w = gguf.GGUFWriter(args.out, arch="gemma3")
w.add_name("random-gemma3-1b-shape")
w.add_context_length(32768)
w.add_embedding_length(E)
w.add_block_count(L)
w.add_feed_forward_length(F)
w.add_head_count(NH)
w.add_head_count_kv(NKV)
w.add_key_length(HD)
w.add_value_length(HD)
w.add_layer_norm_rms_eps(1e-6)
w.add_rope_freq_base(1e6)
w.add_sliding_window(512)
w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
for f in donor.fields.values():
    if not f.name.startswith("tokenizer."):
        continue
    if f.types[0] == V.ARRAY:
        w.add_key_value(f.name, f.contents(), V.ARRAY, sub_type=f.types[-1])
    else:
        w.add_key_value(f.name, f.contents(), f.types[0])
vocab = len(donor.fields["tokenizer.ggml.tokens"].contents())


def bf16(shape, scale):
    x = (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)).view(np.uint32)
    return ((x + 0x7FFF + ((x >> 16) & 1)) >> 16).astype(np.uint16)


def add_matrix(name, rows, cols, scale):
    w.add_tensor(name, bf16((rows, cols), scale), raw_shape=(rows, cols), raw_dtype=gguf.GGMLQuantizationType.BF16)


def add_norm(name, n):
    w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))


add_matrix("token_embd.weight", vocab, E, 0.02)
add_norm("output_norm.weight", E)
for i in range(L):
    p = f"blk.{i}."
    add_norm(p + "attn_norm.weight", E)
    add_matrix(p + "attn_q.weight", NH * HD, E, 0.03)
    add_matrix(p + "attn_k.weight", NKV * HD, E, 0.03)
    add_matrix(p + "attn_v.weight", NKV * HD, E, 0.03)
    add_norm(p + "attn_q_norm.weight", HD)
    add_norm(p + "attn_k_norm.weight", HD)
    add_matrix(p + "attn_output.weight", E, NH * HD, 0.03)
    add_norm(p + "post_attention_norm.weight", E)
    add_norm(p + "ffn_norm.weight", E)
    add_matrix(p + "ffn_gate.weight", F, E, 0.03)
    add_matrix(p + "ffn_up.weight", F, E, 0.03)
    add_matrix(p + "ffn_down.weight", E, F, 0.02)
    add_norm(p + "post_ffw_norm.weight", E)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
