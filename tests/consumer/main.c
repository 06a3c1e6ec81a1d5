/* Links against an installed libgemmagguf and reads a GGUF through the C API. */
#include <stdio.h>

#include <gemmagguf/gemmagguf.h>

int main(int argc, char** argv) {
    gmg_gguf* f = NULL;
    int64_t n = 0;
    if (argc != 2) return 2;
    if (gmg_gguf_open(argv[1], &f) != GMG_OK || gmg_gguf_tensor_count(f, &n) != GMG_OK) {
        fprintf(stderr, "consumer: %s\n", gmg_last_error());
        return 1;
    }
    printf("libgemmagguf %s: %lld tensors\n", gmg_version(), (long long)n);
    gmg_gguf_close(f);
    return n > 0 ? 0 : 1;
}
