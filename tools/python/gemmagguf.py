"""A small ctypes binding of libgemmagguf's C API (include/gemmagguf/gemmagguf.h).

    from gemmagguf import Model
    with Model("model.gguf") as m, m.context(n_ctx=2048) as ctx:
        print(ctx.generate("What is kindness?", chat=True, n_predict=64, temperature=0))

Set GMG_LIBRARY to the path of libgemmagguf.so, or keep it in build/lib.
"""
import ctypes
import os
from pathlib import Path

_token = ctypes.c_int32
_status = ctypes.c_int


def _find_library():
    env = os.environ.get("GMG_LIBRARY")
    if env:
        return env
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "build" / "lib" / "libgemmagguf.so", Path("libgemmagguf.so")):
        if cand.exists():
            return str(cand)
    return "libgemmagguf.so"


_lib = ctypes.CDLL(_find_library())


class _ModelParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_threads", ctypes.c_int32), ("vocab_only", ctypes.c_int),
                ("prompt_repack", ctypes.c_int), ("n_gpu_layers", ctypes.c_int32), ("gpu_device", ctypes.c_int32)]


class _ModelInfo(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("n_vocab", "n_ctx_train", "n_embd", "n_layer", "n_head", "n_head_kv",
                                              "head_dim", "sliding_window", "bos", "eos", "eot")] + \
               [("weight_bytes", ctypes.c_uint64)]


class _ContextParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_ctx", ctypes.c_int32), ("n_batch", ctypes.c_int32),
                ("n_threads", ctypes.c_int32)]


class _SamplerParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("temperature", ctypes.c_float), ("top_k", ctypes.c_int32),
                ("top_p", ctypes.c_float), ("min_p", ctypes.c_float), ("repeat_penalty", ctypes.c_float),
                ("repeat_last_n", ctypes.c_int32), ("presence_penalty", ctypes.c_float),
                ("frequency_penalty", ctypes.c_float), ("seed", ctypes.c_uint64)]


class _GenerateParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_predict", ctypes.c_int32), ("chat", ctypes.c_int),
                ("add_special", ctypes.c_int), ("parse_special", ctypes.c_int), ("sampler", _SamplerParams)]


_PIECE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p)

_sigs = {
    "gmg_version": (ctypes.c_char_p, []),
    "gmg_last_error": (ctypes.c_char_p, []),
    "gmg_gpu_backend": (ctypes.c_char_p, []),
    "gmg_gpu_device_count": (_status, [ctypes.POINTER(ctypes.c_int32)]),
    "gmg_model_params_init": (None, [ctypes.POINTER(_ModelParams)]),
    "gmg_model_load": (_status, [ctypes.c_char_p, ctypes.POINTER(_ModelParams), ctypes.POINTER(ctypes.c_void_p)]),
    "gmg_model_free": (None, [ctypes.c_void_p]),
    "gmg_model_get_info": (_status, [ctypes.c_void_p, ctypes.POINTER(_ModelInfo)]),
    "gmg_tokenize": (_status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(_token), ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "gmg_detokenize": (_status, [ctypes.c_void_p, ctypes.POINTER(_token), ctypes.c_size_t, ctypes.c_int,
                                 ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "gmg_context_params_init": (None, [ctypes.POINTER(_ContextParams)]),
    "gmg_context_create": (_status, [ctypes.c_void_p, ctypes.POINTER(_ContextParams), ctypes.POINTER(ctypes.c_void_p)]),
    "gmg_context_free": (None, [ctypes.c_void_p]),
    "gmg_context_reset": (_status, [ctypes.c_void_p]),
    "gmg_decode": (_status, [ctypes.c_void_p, ctypes.POINTER(_token), ctypes.c_size_t, ctypes.c_int]),
    "gmg_get_logits": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.POINTER(ctypes.c_float))]),
    "gmg_sampler_params_init": (None, [ctypes.POINTER(_SamplerParams)]),
    "gmg_sample": (_status, [ctypes.c_void_p, ctypes.POINTER(_SamplerParams), ctypes.POINTER(_token)]),
    "gmg_generate_params_init": (None, [ctypes.POINTER(_GenerateParams)]),
    "gmg_generate": (_status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_GenerateParams), _PIECE_CB,
                               ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32)]),
}
for _name, (_res, _args) in _sigs.items():
    _fn = getattr(_lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


class GmgError(RuntimeError):
    def __init__(self, status):
        super().__init__(f"{_lib.gmg_last_error().decode(errors='replace')} (status {status})")
        self.status = status


def _check(status):
    if status != 0:
        raise GmgError(status)


def version():
    return _lib.gmg_version().decode()


def gpu_backend():
    """'CUDA', 'HIP', or 'none' (a build without GPU support)."""
    return _lib.gmg_gpu_backend().decode()


def gpu_device_count():
    """(count, reason): the usable GPUs, and why there are none when count is 0."""
    n = ctypes.c_int32()
    status = _lib.gmg_gpu_device_count(ctypes.byref(n))
    return n.value, ("" if status == 0 else _lib.gmg_last_error().decode(errors="replace"))


class _Handle:
    """An owned C handle: freed by close() or at the end of a with-block."""
    _free = None  # the gmg_*_free function, named by the subclass

    def close(self):
        if self._h:
            getattr(_lib, self._free)(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Handle):
    _free = "gmg_model_free"

    def __init__(self, path, n_threads=0, vocab_only=False, n_gpu_layers=0, prompt_repack=True):
        params = _ModelParams()
        _lib.gmg_model_params_init(ctypes.byref(params))
        params.n_threads = n_threads
        params.vocab_only = int(vocab_only)
        params.n_gpu_layers = n_gpu_layers
        params.prompt_repack = int(prompt_repack)
        self._h = ctypes.c_void_p()
        _check(_lib.gmg_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(self._h)))
        self.info = _ModelInfo()
        _check(_lib.gmg_model_get_info(self._h, ctypes.byref(self.info)))


    def tokenize(self, text, add_special=True, parse_special=False):
        data = text.encode("utf-8")
        n = ctypes.c_size_t()
        buf = (_token * (len(data) + 2))()
        status = _lib.gmg_tokenize(self._h, data, len(data), int(add_special), int(parse_special), buf, len(buf),
                                   ctypes.byref(n))
        if status == 7:  # GMG_ERR_BUFFER_TOO_SMALL: n holds the count needed
            buf = (_token * n.value)()
            status = _lib.gmg_tokenize(self._h, data, len(data), int(add_special), int(parse_special), buf, len(buf),
                                       ctypes.byref(n))
        _check(status)
        return list(buf[: n.value])

    def detokenize(self, tokens, special=False):
        arr = (_token * len(tokens))(*tokens)
        n = ctypes.c_size_t()
        status = _lib.gmg_detokenize(self._h, arr, len(tokens), int(special), None, 0, ctypes.byref(n))
        if status not in (0, 7):
            _check(status)
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(_lib.gmg_detokenize(self._h, arr, len(tokens), int(special), buf, len(buf), ctypes.byref(n)))
        return buf.raw[: n.value].decode("utf-8", errors="replace")

    def context(self, n_ctx=4096, n_batch=512, n_threads=0):
        return Context(self, n_ctx, n_batch, n_threads)


class Context(_Handle):
    _free = "gmg_context_free"

    def __init__(self, model, n_ctx, n_batch, n_threads):
        self.model = model
        params = _ContextParams()
        _lib.gmg_context_params_init(ctypes.byref(params))
        params.n_ctx, params.n_batch, params.n_threads = n_ctx, n_batch, n_threads
        self._h = ctypes.c_void_p()
        _check(_lib.gmg_context_create(model._h, ctypes.byref(params), ctypes.byref(self._h)))


    def reset(self):
        _check(_lib.gmg_context_reset(self._h))

    def decode(self, tokens, all_logits=False):
        arr = (_token * len(tokens))(*tokens)
        _check(_lib.gmg_decode(self._h, arr, len(tokens), int(all_logits)))

    def logits(self, i=-1):
        """Row i of the last decode's logits, as a list (or a NumPy view with numpy=True)."""
        ptr = ctypes.POINTER(ctypes.c_float)()
        _check(_lib.gmg_get_logits(self._h, i, ctypes.byref(ptr)))
        return ptr[: self.model.info.n_vocab]

    def logits_array(self, i=-1):
        import numpy as np
        ptr = ctypes.POINTER(ctypes.c_float)()
        _check(_lib.gmg_get_logits(self._h, i, ctypes.byref(ptr)))
        return np.ctypeslib.as_array(ptr, shape=(self.model.info.n_vocab,)).copy()

    def sample(self, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, seed=0):
        """A token drawn from the last decode's last logits (the context keeps the random stream)."""
        params = _SamplerParams()
        _lib.gmg_sampler_params_init(ctypes.byref(params))
        params.temperature, params.top_k, params.top_p, params.min_p, params.seed = temperature, top_k, top_p, min_p, seed
        tok = _token()
        _check(_lib.gmg_sample(self._h, ctypes.byref(params), ctypes.byref(tok)))
        return tok.value

    def generate(self, prompt, n_predict=128, chat=False, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05,
                 seed=0, on_piece=None):
        params = _GenerateParams()
        _lib.gmg_generate_params_init(ctypes.byref(params))
        params.n_predict, params.chat = n_predict, int(chat)
        s = params.sampler
        s.temperature, s.top_k, s.top_p, s.min_p, s.seed = temperature, top_k, top_p, min_p, seed
        pieces = []

        def cb(piece, length, _user):
            text = ctypes.string_at(piece, length).decode("utf-8", errors="replace")
            pieces.append(text)
            return 1 if on_piece and on_piece(text) is False else 0

        n = ctypes.c_int32()
        _check(_lib.gmg_generate(self._h, prompt.encode("utf-8"), ctypes.byref(params), _PIECE_CB(cb), None,
                                 ctypes.byref(n)))
        return "".join(pieces)
