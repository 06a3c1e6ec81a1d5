// Chat template and UTF-8 streaming: checked against the format's definition.
#include <string>

#include <catch2/catch.hpp>

#include "lib/model/chat_template.h"
#include "lib/model/vocab.h"

using gmg::apply_gemma_chat_template;

TEST_CASE("gemma chat template: turns, trimming, system folded into the first user turn", "[chat]") {
    CHECK(apply_gemma_chat_template({{"user", "  Hi there \n"}}, true) ==
          "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n");
    CHECK(apply_gemma_chat_template({{"system", " Be brief. "}, {"user", "Why?"}, {"assistant", "Because."},
                                     {"user", "Ok"}},
                                    false) ==
          "<start_of_turn>user\nBe brief.\n\nWhy?<end_of_turn>\n<start_of_turn>model\nBecause.<end_of_turn>\n"
          "<start_of_turn>user\nOk<end_of_turn>\n");
    // A system message is not emitted before a model turn; it waits for the next user turn.
    CHECK(apply_gemma_chat_template({{"system", "S"}, {"assistant", "A"}, {"user", "U"}}, false) ==
          "<start_of_turn>model\nA<end_of_turn>\n<start_of_turn>user\nS\n\nU<end_of_turn>\n");
    CHECK(apply_gemma_chat_template({}, true) == "<start_of_turn>model\n");
}

TEST_CASE("Utf8Stream releases only whole characters", "[utf8]") {
    gmg::Utf8Stream s;
    const std::string euro = "\xe2\x82\xac";           // 3 bytes
    const std::string llama = "\xf0\x9f\xa6\x99";      // 4 bytes
    CHECK(s.push("a") == "a");
    CHECK(s.push(euro.substr(0, 1)).empty());
    CHECK(s.push(euro.substr(1, 1)).empty());
    CHECK(s.push(euro.substr(2) + "b" + llama.substr(0, 2)) == euro + "b");
    CHECK(s.push(llama.substr(2)) == llama);
    CHECK(s.push("\xc3").empty());
    CHECK(s.flush() == "\xc3");  // an unfinished character is still handed over at the end
    CHECK(s.flush().empty());
}
