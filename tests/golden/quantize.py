#!/usr/bin/env python3
"""llama.cpp's quantizer through llama-cpp-python.  usage: quantize.py IN.gguf OUT.gguf TYPE"""
import sys

import llama_cpp

FTYPES = {name: getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}") for name in (
    "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "IQ4_XS", "Q3_K_M", "Q3_K_S", "IQ3_XS", "IQ3_XXS", "BF16")}

src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = FTYPES[kind]
params.allow_requantize = True
params.nthread = 2
rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
sys.exit(0 if rc == 0 else 1)
