/* The C API exercised from C99: success paths on a valid file, and every
 * misuse (NULL, bad index, short buffer, missing file) reported as a status
 * with a message instead of a crash. usage: test_capi VALID.gguf HOSTILE.gguf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int has_message(void) { return gmg_last_error() != NULL && strlen(gmg_last_error()) > 0; }

int main(int argc, char** argv) {
    gmg_gguf* f = NULL;
    gmg_tensor_info info;
    int64_t n = -1, idx = -1;
    char arch[16];
    size_t len = 0;
    float* out;

    if (argc != 3) {
        fprintf(stderr, "usage: test_capi VALID.gguf HOSTILE.gguf\n");
        return 2;
    }
    CHECK(strlen(gmg_version()) >= 5);
    CHECK(strcmp(gmg_status_name(GMG_ERR_INVALID_FILE), "GMG_ERR_INVALID_FILE") == 0);
    CHECK(strcmp(gmg_status_name((gmg_status)99), "GMG_ERR_UNKNOWN_STATUS") == 0);

    /* a well-formed GGUF that is not a complete Gemma3 model */
    {
        gmg_model* m = NULL;
        CHECK(gmg_model_load(argv[1], NULL, &m) == GMG_ERR_INVALID_FILE && m == NULL);
        CHECK(strstr(gmg_last_error(), "token_embd.weight") != NULL); /* names what is missing */
        CHECK(gmg_model_load(argv[2], NULL, &m) == GMG_ERR_INVALID_FILE && m == NULL);
    }

    /* misuse */
    CHECK(gmg_gguf_open(NULL, &f) == GMG_ERR_INVALID_ARGUMENT && has_message());
    CHECK(gmg_gguf_open(argv[1], NULL) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_open("/nonexistent.gguf", &f) == GMG_ERR_IO && f == NULL && has_message());
    CHECK(gmg_gguf_open(argv[2], &f) == GMG_ERR_INVALID_FILE && f == NULL && has_message());
    CHECK(gmg_gguf_tensor_count(NULL, &n) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_tensor_info(NULL, 0, &info) == GMG_ERR_INVALID_ARGUMENT);
    gmg_gguf_close(NULL);

    /* a valid file */
    CHECK(gmg_gguf_open(argv[1], &f) == GMG_OK && f != NULL);
    if (!f) return 1;
    CHECK(gmg_gguf_tensor_count(f, &n) == GMG_OK && n == 2);
    CHECK(gmg_gguf_tensor_count(f, NULL) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_tensor_info(f, -1, &info) == GMG_ERR_INVALID_ARGUMENT && has_message());
    CHECK(gmg_gguf_tensor_info(f, n, &info) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_tensor_info(f, 0, NULL) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_find_tensor(f, "norm", &idx) == GMG_OK && idx == 1);
    CHECK(gmg_gguf_find_tensor(f, "nope", &idx) == GMG_ERR_INVALID_ARGUMENT && has_message());
    CHECK(gmg_gguf_find_tensor(f, NULL, &idx) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_tensor_info(f, 1, &info) == GMG_OK);
    CHECK(strcmp(info.name, "norm") == 0 && strcmp(info.type_name, "F32") == 0 && info.type == 0);
    CHECK(info.n_dims == 1 && info.ne[0] == 12 && info.ne[1] == 1 && info.n_elements == 12 && info.n_bytes == 48);

    CHECK(gmg_gguf_get_string(f, "general.architecture", arch, sizeof arch, &len) == GMG_OK);
    CHECK(strcmp(arch, "gemma3") == 0 && len == 6);
    CHECK(gmg_gguf_get_string(f, "general.architecture", arch, 4, &len) == GMG_OK);
    CHECK(strcmp(arch, "gem") == 0 && len == 6); /* truncated, still terminated */
    CHECK(gmg_gguf_get_string(f, "gemma3.block_count", arch, sizeof arch, &len) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_get_string(f, "general.architecture", NULL, 8, &len) == GMG_ERR_INVALID_ARGUMENT);

    out = (float*)malloc(12 * sizeof(float));
    CHECK(gmg_gguf_dequantize(f, 1, out, 11) == GMG_ERR_INVALID_ARGUMENT && has_message());
    CHECK(gmg_gguf_dequantize(f, 1, NULL, 12) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_gguf_dequantize(f, 1, out, 12) == GMG_OK);
    CHECK(out[0] == 0.0f && out[11] == 11.0f / 8.0f); /* the generator stores i/8 */
    free(out);
    gmg_gguf_close(f);

    return report_checks();
}
