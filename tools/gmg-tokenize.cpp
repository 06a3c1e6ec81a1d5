// gmg-tokenize -m FILE -p TEXT [--no-bos] [--parse-special]: token ids on one line.
#include <cstring>
#include <string>
#include <vector>

#include "cli_common.h"

int main(int argc, char** argv) {
    const char* tool = "gmg-tokenize";
    std::string model_path, text;
    bool have_text = false, bos = true, parse_special = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&] { return cli::option_value(tool, argc, argv, i); };
        if (a == "-m" || a == "--model") model_path = value();
        else if (a == "-p" || a == "--prompt") text = value(), have_text = true;
        else if (a == "-f" || a == "--file") text = cli::read_file(tool, value()), have_text = true;
        else if (a == "--no-bos") bos = false;
        else if (a == "--parse-special") parse_special = true;
        else if (a == "-h" || a == "--help") {
            std::puts("usage: gmg-tokenize -m FILE (-p TEXT | -f FILE) [--no-bos] [--parse-special]");
            return 0;
        } else cli::die(tool, "unknown argument " + a, 2);
    }
    if (model_path.empty() || !have_text) cli::die(tool, "usage: gmg-tokenize -m FILE -p TEXT [--no-bos] [--parse-special]", 2);
    gmg_model_params mp;
    gmg_model_params_init(&mp);
    mp.vocab_only = 1;
    gmg_model* model = nullptr;
    cli::check(tool, gmg_model_load(model_path.c_str(), &mp, &model));
    const std::vector<gmg_token> ids = cli::tokenize(tool, model, text, bos, parse_special);
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    gmg_model_free(model);
    return 0;
}
