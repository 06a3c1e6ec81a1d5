#!/usr/bin/env python3
"""libgemmagguf from Python through ctypes.  usage: example.py MODEL.gguf [PROMPT]"""
import sys

from gemmagguf import Model, version

model_path = sys.argv[1]
prompt = sys.argv[2] if len(sys.argv) > 2 else "What is kindness?"
print(f"libgemmagguf {version()}", file=sys.stderr)
with Model(model_path) as model, model.context(n_ctx=1024) as ctx:
    print(f"tokens: {model.tokenize(prompt)}", file=sys.stderr)
    ctx.generate(prompt, n_predict=48, chat=True, temperature=0,
                 on_piece=lambda piece: print(piece, end="", flush=True))
    print()
