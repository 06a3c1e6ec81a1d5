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
    GMG_ERR_INTERNAL = 6
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

#ifdef __cplusplus
}
#endif

#endif /* GEMMAGGUF_H */
