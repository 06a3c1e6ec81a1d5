/* libgemmagguf: a GGUF inference engine for Gemma3 models. C99 public API.
 *
 * Conventions: every call returns a gmg_status; GMG_OK is 0. On failure,
 * gmg_last_error() gives a message for the calling thread, valid until that
 * thread's next gmg_ call. Handles are opaque; NULL and out-of-range arguments
 * are reported as GMG_ERR_INVALID_ARGUMENT, never a crash. No C++ exception
 * crosses this boundary.
 */
#ifndef GEMMAGGUF_H
#define GEMMAGGUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define GMG_API __declspec(dllimport)
#elif defined(__GNUC__)
#define GMG_API __attribute__((visibility("default")))
#else
#define GMG_API
#endif

typedef enum gmg_status {
    GMG_OK = 0,
    GMG_ERR_INVALID_ARGUMENT = 1,
    GMG_ERR_IO = 2,
    GMG_ERR_INVALID_FILE = 3,
    GMG_ERR_UNSUPPORTED = 4,
    GMG_ERR_OUT_OF_MEMORY = 5,
    GMG_ERR_INTERNAL = 6,
    GMG_ERR_BUFFER_TOO_SMALL = 7, /* the needed size was stored; call again with more room */
    GMG_ERR_CONTEXT_FULL = 8      /* the tokens do not fit in the context's remaining positions */
} gmg_status;

/* "major.minor.patch" of the library actually linked. */
GMG_API const char* gmg_version(void);
/* A fixed name for a status code, e.g. "GMG_ERR_INVALID_FILE". */
GMG_API const char* gmg_status_name(gmg_status status);
/* The message of the calling thread's last failed call ("" if none). */
GMG_API const char* gmg_last_error(void);

/* ---- GGUF files: read-only inspection ------------------------------------ */

typedef struct gmg_gguf gmg_gguf;

typedef struct gmg_tensor_info {
    const char* name;      /* NUL-terminated copy, owned by the gmg_gguf */
    uint32_t type;         /* ggml type id */
    const char* type_name; /* e.g. "Q4_K" */
    uint32_t n_dims;
    int64_t ne[4];         /* ne[0] is the contiguous dimension; unused dims are 1 */
    uint64_t n_elements;
    uint64_t n_bytes;
    uint64_t file_offset;  /* absolute byte offset of the data in the file */
} gmg_tensor_info;

/* Opens and validates a GGUF file (memory-mapped). */
GMG_API gmg_status gmg_gguf_open(const char* path, gmg_gguf** out);
/* Accepts NULL. */
GMG_API void gmg_gguf_close(gmg_gguf* file);

GMG_API gmg_status gmg_gguf_tensor_count(const gmg_gguf* file, int64_t* out);
GMG_API gmg_status gmg_gguf_tensor_info(const gmg_gguf* file, int64_t index, gmg_tensor_info* out);
/* Index of the tensor called `name`; GMG_ERR_INVALID_ARGUMENT if there is none. */
GMG_API gmg_status gmg_gguf_find_tensor(const gmg_gguf* file, const char* name, int64_t* index);
/* Copies a string-valued metadata key into buf (always NUL-terminated when
 * buf_size > 0); *length receives the full length. Missing key or other type:
 * GMG_ERR_INVALID_ARGUMENT. */
GMG_API gmg_status gmg_gguf_get_string(const gmg_gguf* file, const char* key, char* buf, size_t buf_size,
                                       size_t* length);
/* Decodes a whole tensor to float32, row-major with ne[0] fastest. dst must hold
 * n_elements floats (dst_count is checked). */
GMG_API gmg_status gmg_gguf_dequantize(const gmg_gguf* file, int64_t index, float* dst, uint64_t dst_count);

/* ---- GPU ------------------------------------------------------------------ */

/* "CUDA", "HIP", or "none" when this library was built without a GPU backend. */
GMG_API const char* gmg_gpu_backend(void);
/* The number of usable GPUs; GMG_ERR_UNSUPPORTED, with the reason in
 * gmg_last_error(), when there is none (no backend built, no driver, no device). */
GMG_API gmg_status gmg_gpu_device_count(int32_t* out);

/* ---- models and contexts ----------------------------------------------------
 * A model is immutable once loaded and may be shared by any number of threads.
 * A context (KV cache + scratch) belongs to one thread at a time.
 * Every params struct starts with struct_size: set it by calling its _init. */

typedef int32_t gmg_token;
typedef struct gmg_model gmg_model;
typedef struct gmg_context gmg_context;

typedef struct gmg_model_params {
    size_t struct_size;
    int32_t n_threads; /* threads used while loading; 0 = all cores */
    int vocab_only;    /* load metadata and vocabulary only (tokenize, no contexts) */
    int prompt_repack; /* default 1: on first use, rewrite each weight matrix into the CPU kernels'
                          interleaved layout (x86 with AVX2 or AVX-512), which prompts and decode then read
                          in place of the file's released pages: 2-4x the prompt speed and faster
                          decode, about the file's size (Q2_K, IQ3_S, IQ3_XXS: 20-40% more);
                          0: read the file's blocks directly */
    int32_t n_gpu_layers; /* default 0: run on the CPU. -1 (or >= n_layer, e.g. 99): the whole model on
                             a GPU (weights and KV cache in device memory). 1..n_layer-1: the last
                             n_gpu_layers layers, the final norm and the LM head on the GPU, the
                             embedding and the first layers on the CPU (their hidden rows are copied
                             across once per step). Fails with GMG_ERR_UNSUPPORTED when there is no
                             GPU or no GPU build. */
    int32_t gpu_device;   /* which GPU (default 0) */
} gmg_model_params;
GMG_API void gmg_model_params_init(gmg_model_params* params);

GMG_API gmg_status gmg_model_load(const char* path, const gmg_model_params* params, gmg_model** out);
GMG_API void gmg_model_free(gmg_model* model); /* accepts NULL; free its contexts first */

typedef struct gmg_model_info {
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t sliding_window;
    gmg_token bos;
    gmg_token eos;
    gmg_token eot;           /* <end_of_turn>, or -1 */
    uint64_t weight_bytes;   /* bytes of all tensors in the file */
} gmg_model_info;
GMG_API gmg_status gmg_model_get_info(const gmg_model* model, gmg_model_info* out);
/* *out = 1 when token ends generation (<eos>, <end_of_turn>, ...). */
GMG_API gmg_status gmg_model_is_eog(const gmg_model* model, gmg_token token, int* out);

/* Text -> tokens. add_special: prepend BOS. parse_special: read control-token
 * text such as "<start_of_turn>" as those tokens. If capacity is too small,
 * *n_tokens receives the needed count and GMG_ERR_BUFFER_TOO_SMALL is returned. */
GMG_API gmg_status gmg_tokenize(const gmg_model* model, const char* text, size_t text_len, int add_special,
                                int parse_special, gmg_token* tokens, size_t capacity, size_t* n_tokens);
/* Tokens -> UTF-8 text (special: include control tokens). Same buffer protocol,
 * *length excluding the terminating NUL (written when there is room). */
GMG_API gmg_status gmg_detokenize(const gmg_model* model, const gmg_token* tokens, size_t n_tokens, int special,
                                  char* buf, size_t buf_size, size_t* length);

/* Formats a conversation with the Gemma chat template (user/model turns; a
 * system message is folded into the first user turn). roles[i] is "system",
 * "user" or "assistant". The result does not include BOS: tokenize it with
 * add_special=1, parse_special=1. Same buffer protocol as gmg_detokenize. */
GMG_API gmg_status gmg_chat_format(const char* const* roles, const char* const* contents, size_t n_messages,
                                   int add_generation_prompt, char* buf, size_t buf_size, size_t* length);

typedef struct gmg_context_params {
    size_t struct_size;
    int32_t n_ctx;     /* positions; 0 = the model's maximum. Default 4096 */
    int32_t n_batch;   /* tokens per forward step. Default 512 */
    int32_t n_threads; /* 0 = all cores */
} gmg_context_params;
GMG_API void gmg_context_params_init(gmg_context_params* params);

GMG_API gmg_status gmg_context_create(const gmg_model* model, const gmg_context_params* params, gmg_context** out);
GMG_API void gmg_context_free(gmg_context* ctx); /* accepts NULL */
GMG_API gmg_status gmg_context_n_past(const gmg_context* ctx, int32_t* out);
GMG_API gmg_status gmg_context_cache_bytes(const gmg_context* ctx, uint64_t* out);
GMG_API gmg_status gmg_context_reset(gmg_context* ctx);
/* Keeps the first n positions. Sliding-window layers can be rewound only by up
 * to n_batch positions; beyond that, reset and decode again. */
GMG_API gmg_status gmg_context_truncate(gmg_context* ctx, int32_t n);

/* Evaluates tokens at the next positions. all_logits: keep logits for every
 * token (else only the last). GMG_ERR_CONTEXT_FULL if they do not fit. */
GMG_API gmg_status gmg_decode(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens, int all_logits);
/* gmg_decode, then *best = the last token's greedy pick (its largest logit, the
 * first of equal ones: what gmg_sample picks at temperature <= 0 without
 * penalties). A GPU context picks it on the device and copies back no logits:
 * gmg_get_logits then has none until the next gmg_decode. */
GMG_API gmg_status gmg_decode_greedy(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens, gmg_token* best);
/* Logits (n_vocab floats, valid until the next decode) of token i of the last
 * decode; i = -1 means its last token. */
GMG_API gmg_status gmg_get_logits(const gmg_context* ctx, int32_t i, const float** logits);

/* ---- sampling and generation --------------------------------------------- */

typedef struct gmg_sampler_params {
    size_t struct_size;
    float temperature;      /* <= 0: greedy. Default 0.8 */
    int32_t top_k;          /* <= 0: off. Default 40 */
    float top_p;            /* >= 1: off. Default 0.95 */
    float min_p;            /* <= 0: off. Default 0.05 */
    float repeat_penalty;   /* 1: off (default) */
    int32_t repeat_last_n;  /* default 64; -1 = whole history */
    float presence_penalty; /* default 0 */
    float frequency_penalty;/* default 0 */
    uint64_t seed;          /* same seed, same text */
} gmg_sampler_params;
GMG_API void gmg_sampler_params_init(gmg_sampler_params* params);

/* Samples from the last token's logits of the last decode, penalising the
 * context's own token history. The context keeps the random stream between
 * calls (successive draws are independent); a new seed or a reset restarts it. */
GMG_API gmg_status gmg_sample(gmg_context* ctx, const gmg_sampler_params* params, gmg_token* out);
/* Restarts that random stream without touching the cache: the next gmg_sample
 * draws as the first one after its params' seed (independent requests served by
 * one context: the same seed, the same text). */
GMG_API gmg_status gmg_sampler_reset(gmg_context* ctx);
/* gmg_decode, then *out = the token gmg_sample would draw from the last token's
 * logits (the same random stream). A GPU context picks plain greedy tokens and
 * ranks the 64 best candidates for 1 <= top_k <= 64 without penalties on the
 * device, copying back no logits: gmg_get_logits then has none until the next
 * gmg_decode. The loop of a generation: out is the next token to decode. */
GMG_API gmg_status gmg_decode_sample(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens,
                                     const gmg_sampler_params* params, gmg_token* out);

/* Receives each piece of generated text, always whole UTF-8 characters.
 * Return nonzero to stop generating. */
typedef int (*gmg_piece_callback)(const char* piece, size_t length, void* user_data);

typedef struct gmg_generate_params {
    size_t struct_size;
    int32_t n_predict;         /* most tokens to generate. Default 128; -1 = until the context is full */
    int chat;                  /* wrap the prompt as one user turn of the chat template. Default 0 */
    int add_special;           /* prepend BOS. Default 1 */
    int parse_special;         /* read control-token text in the prompt. Default = chat */
    gmg_sampler_params sampler;
} gmg_generate_params;
GMG_API void gmg_generate_params_init(gmg_generate_params* params);

/* Appends the prompt to the context, then samples up to n_predict tokens,
 * stopping at an end-of-generation token (which is not decoded into the
 * context). An empty prompt continues from the last decode. BOS is added only
 * to an empty context. *n_generated (may be NULL) gets the tokens produced.
 * Plain greedy sampling (temperature <= 0, no penalty) on a GPU context picks
 * each token on the device, and sampling with 1 <= top_k <= 64 and no penalty
 * ranks the 64 best candidates there (the same token as from the whole row),
 * without copying logits back: gmg_get_logits then has none until the next
 * gmg_decode (and an empty prompt cannot continue). */
GMG_API gmg_status gmg_generate(gmg_context* ctx, const char* prompt, const gmg_generate_params* params,
                                gmg_piece_callback on_piece, void* user_data, int32_t* n_generated);

#ifdef __cplusplus
}
#endif

#endif /* GEMMAGGUF_H */
