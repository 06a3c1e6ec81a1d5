/* The model, context, tokenizer, sampling and generation calls of the C API,
 * from C99, on a real model: success paths and misuse. usage: test_capi_model MODEL.gguf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

typedef struct {
    char text[4096];
    size_t len;
    int stop_after;
    int calls;
} sink;

static int collect(const char* piece, size_t len, void* user) {
    sink* s = (sink*)user;
    if (s->len + len < sizeof s->text) {
        memcpy(s->text + s->len, piece, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
    return ++s->calls >= s->stop_after;
}

int main(int argc, char** argv) {
    gmg_model* model = NULL;
    gmg_model* vocab = NULL;
    gmg_context* ctx = NULL;
    gmg_model_params mp;
    gmg_context_params cp;
    gmg_generate_params gp;
    gmg_model_info info;
    gmg_token toks[64];
    gmg_token one = 0;
    gmg_token many[600];
    size_t n = 0, len = 0;
    char buf[256];
    const float* logits = NULL;
    int32_t produced = 0, n_past = -1;
    int eog = -1, i;
    sink a, b;
    const char* roles[2] = {"system", "user"};
    const char* contents[2] = {"Be brief.", "Hi"};

    if (argc != 2) return 2;
    gmg_model_params_init(&mp);
    CHECK(mp.prompt_repack == 1 && mp.vocab_only == 0 && mp.n_threads == 0);
    mp.vocab_only = 1;
    CHECK(gmg_model_load(argv[1], &mp, &vocab) == GMG_OK);
    gmg_context_params_init(&cp);
    CHECK(gmg_context_create(vocab, &cp, &ctx) == GMG_ERR_INVALID_ARGUMENT && ctx == NULL); /* vocab only */

    mp.struct_size = 12345;
    CHECK(gmg_model_load(argv[1], &mp, &model) == GMG_ERR_INVALID_ARGUMENT && model == NULL);
    CHECK(gmg_model_load("/nonexistent.gguf", NULL, &model) == GMG_ERR_IO);
    CHECK(gmg_model_load(argv[1], NULL, &model) == GMG_OK && model != NULL);
    if (!model) return 1;
    CHECK(gmg_model_get_info(model, &info) == GMG_OK);
    CHECK(info.n_vocab == 262144 && info.bos == 2 && info.eos == 1 && info.eot == 106 && info.head_dim == 256);
    CHECK(gmg_model_is_eog(model, info.eot, &eog) == GMG_OK && eog == 1);
    CHECK(gmg_model_is_eog(model, 818, &eog) == GMG_OK && eog == 0);

    /* tokenizer buffer protocol */
    CHECK(gmg_tokenize(model, "Hello world", 11, 1, 0, toks, 1, &n) == GMG_ERR_BUFFER_TOO_SMALL && n == 3);
    CHECK(gmg_tokenize(model, "Hello world", 11, 1, 0, toks, 64, &n) == GMG_OK && n == 3 && toks[0] == 2);
    CHECK(gmg_tokenize(model, NULL, 5, 1, 0, toks, 64, &n) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_detokenize(model, toks + 1, 2, 0, buf, sizeof buf, &len) == GMG_OK && strcmp(buf, "Hello world") == 0);
    CHECK(gmg_detokenize(model, toks + 1, 2, 0, buf, 4, &len) == GMG_ERR_BUFFER_TOO_SMALL && len == 11);
    one = 999999;
    CHECK(gmg_detokenize(model, &one, 1, 0, buf, sizeof buf, &len) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_chat_format(roles, contents, 2, 1, buf, sizeof buf, &len) == GMG_OK);
    CHECK(strcmp(buf, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n") == 0);
    roles[0] = "wizard";
    CHECK(gmg_chat_format(roles, contents, 2, 1, buf, sizeof buf, &len) == GMG_ERR_INVALID_ARGUMENT);

    /* contexts */
    cp.n_ctx = info.n_ctx_train + 1;
    CHECK(gmg_context_create(model, &cp, &ctx) == GMG_ERR_INVALID_ARGUMENT && ctx == NULL);
    gmg_context_params_init(&cp);
    cp.n_ctx = 512;
    cp.n_batch = 64;
    CHECK(gmg_context_create(model, &cp, &ctx) == GMG_OK && ctx != NULL);
    if (!ctx) return 1;
    CHECK(gmg_get_logits(ctx, -1, &logits) == GMG_ERR_INVALID_ARGUMENT); /* nothing decoded yet */
    one = -5;
    CHECK(gmg_decode(ctx, &one, 1, 0) == GMG_ERR_INVALID_ARGUMENT);
    for (i = 0; i < 600; ++i) many[i] = 818;
    CHECK(gmg_decode(ctx, many, 600, 0) == GMG_ERR_CONTEXT_FULL);
    CHECK(gmg_context_n_past(ctx, &n_past) == GMG_OK && n_past == 0);
    CHECK(gmg_decode(ctx, toks, 3, 1) == GMG_OK);
    CHECK(gmg_get_logits(ctx, 2, &logits) == GMG_OK && logits != NULL);
    CHECK(gmg_get_logits(ctx, 3, &logits) == GMG_ERR_INVALID_ARGUMENT);
    /* gmg_decode_greedy: the last token's largest logit (found here by a plain scan), no logits kept */
    {
        gmg_token best = -1;
        int32_t argmax = 0, v;
        CHECK(gmg_get_logits(ctx, 2, &logits) == GMG_OK && logits != NULL);
        if (!logits) return 1;
        for (v = 1; v < info.n_vocab; ++v)
            if (logits[v] > logits[argmax]) argmax = v;
        CHECK(gmg_context_truncate(ctx, 2) == GMG_OK);
        CHECK(gmg_decode_greedy(ctx, toks + 2, 1, &best) == GMG_OK && best == argmax);
        CHECK(gmg_get_logits(ctx, -1, &logits) == GMG_ERR_INVALID_ARGUMENT);
        CHECK(gmg_decode_greedy(ctx, toks, 1, NULL) == GMG_ERR_INVALID_ARGUMENT);
        CHECK(gmg_context_truncate(ctx, 2) == GMG_OK && gmg_decode(ctx, toks + 2, 1, 1) == GMG_OK);
    }
    CHECK(gmg_context_truncate(ctx, 5) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_context_truncate(ctx, 1) == GMG_OK);
    CHECK(gmg_context_n_past(ctx, &n_past) == GMG_OK && n_past == 1);

    /* gmg_sample keeps its random stream: repeated draws from the same logits vary,
     * and a reset with the same seed replays them */
    {
        gmg_sampler_params sp;
        gmg_token first[16], again[16];
        int distinct = 0, same = 1, k;
        gmg_sampler_params_init(&sp);
        sp.temperature = 5.0f;
        sp.top_k = 0;
        sp.top_p = 1.0f;
        sp.min_p = 0.0f;
        sp.seed = 9;
        CHECK(gmg_context_reset(ctx) == GMG_OK && gmg_decode(ctx, toks, 3, 0) == GMG_OK);
        for (k = 0; k < 16; ++k) CHECK(gmg_sample(ctx, &sp, &first[k]) == GMG_OK);
        for (k = 1; k < 16; ++k) distinct += first[k] != first[0];
        CHECK(distinct > 0);
        CHECK(gmg_context_reset(ctx) == GMG_OK && gmg_decode(ctx, toks, 3, 0) == GMG_OK);
        for (k = 0; k < 16; ++k) CHECK(gmg_sample(ctx, &sp, &again[k]) == GMG_OK);
        for (k = 0; k < 16; ++k) same = same && first[k] == again[k];
        CHECK(same);
        /* gmg_sampler_reset replays them too, with the cache kept */
        CHECK(gmg_context_truncate(ctx, 2) == GMG_OK && gmg_decode(ctx, toks + 2, 1, 0) == GMG_OK);
        CHECK(gmg_sampler_reset(ctx) == GMG_OK);
        for (k = 0; k < 16; ++k) CHECK(gmg_sample(ctx, &sp, &again[k]) == GMG_OK);
        for (k = 0; k < 16; ++k) same = same && first[k] == again[k];
        CHECK(same);
        CHECK(gmg_sampler_reset(NULL) == GMG_ERR_INVALID_ARGUMENT);
        /* gmg_decode_sample: gmg_decode then gmg_sample, on the same random stream;
         * at temperature 0 the greedy pick */
        {
            gmg_token step[8], sampled[8], tok = toks[2];
            CHECK(gmg_context_truncate(ctx, 2) == GMG_OK && gmg_sampler_reset(ctx) == GMG_OK);
            for (k = 0; k < 8; ++k) {
                CHECK(gmg_decode_sample(ctx, &tok, 1, &sp, &step[k]) == GMG_OK);
                tok = step[k];
            }
            tok = toks[2];
            CHECK(gmg_context_truncate(ctx, 2) == GMG_OK && gmg_sampler_reset(ctx) == GMG_OK);
            for (k = 0; k < 8; ++k) {
                CHECK(gmg_decode(ctx, &tok, 1, 0) == GMG_OK && gmg_sample(ctx, &sp, &sampled[k]) == GMG_OK);
                tok = sampled[k];
            }
            for (k = 0; k < 8; ++k) same = same && step[k] == sampled[k];
            CHECK(same);
            sp.temperature = 0.0f;
            CHECK(gmg_context_truncate(ctx, 2) == GMG_OK && gmg_decode(ctx, toks + 2, 1, 0) == GMG_OK);
            CHECK(gmg_sample(ctx, &sp, &sampled[0]) == GMG_OK);
            CHECK(gmg_context_truncate(ctx, 2) == GMG_OK);
            CHECK(gmg_decode_sample(ctx, toks + 2, 1, &sp, &step[0]) == GMG_OK && step[0] == sampled[0]);
            CHECK(gmg_decode_sample(ctx, toks, 1, NULL, &step[0]) == GMG_ERR_INVALID_ARGUMENT);
        }
    }

    /* generation: the same seed gives the same text; the callback can stop it */
    gmg_generate_params_init(&gp);
    gp.n_predict = 12;
    gp.sampler.temperature = 0.9f;
    gp.sampler.seed = 42;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.stop_after = b.stop_after = 1000;
    CHECK(gmg_context_reset(ctx) == GMG_OK);
    CHECK(gmg_generate(ctx, "The weather today", &gp, collect, &a, &produced) == GMG_OK && produced > 0);
    CHECK(gmg_context_reset(ctx) == GMG_OK);
    CHECK(gmg_generate(ctx, "The weather today", &gp, collect, &b, &produced) == GMG_OK);
    CHECK(a.len > 0 && strcmp(a.text, b.text) == 0);
    memset(&a, 0, sizeof a);
    a.stop_after = 2;
    CHECK(gmg_context_reset(ctx) == GMG_OK);
    CHECK(gmg_generate(ctx, "The weather today", &gp, collect, &a, &produced) == GMG_OK && a.calls == 2);
    gp.struct_size = 3;
    CHECK(gmg_generate(ctx, "x", &gp, collect, &a, &produced) == GMG_ERR_INVALID_ARGUMENT);
    CHECK(gmg_generate(ctx, "x", NULL, NULL, &a, &produced) == GMG_ERR_INVALID_ARGUMENT);

    gmg_context_free(ctx);
    gmg_model_free(model);
    gmg_model_free(vocab);
    return report_checks();
}
