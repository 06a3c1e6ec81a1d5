// gmg-server's text handling and request reading, without a model or a socket:
// streaming must never cut a UTF-8 character or let out the start of a stop
// string, and malformed requests must be refused with a reason.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/engine.h"
#include "server/request.h"

using nlohmann::json;

TEST_CASE("whole UTF-8 characters only", "[server]") {
    CHECK(server::complete_utf8_prefix("") == 0);
    CHECK(server::complete_utf8_prefix("abc") == 3);
    // "a" then the first 1..3 bytes of the 3-byte euro sign
    CHECK(server::complete_utf8_prefix("a\xE2\x82\xAC") == 4);
    CHECK(server::complete_utf8_prefix("a\xE2\x82") == 1);
    CHECK(server::complete_utf8_prefix("a\xE2") == 1);
    const std::string smile = "\xF0\x9F\x98\x80";  // 4 bytes
    CHECK(server::complete_utf8_prefix(smile) == 4);
    CHECK(server::complete_utf8_prefix(smile.substr(0, 3)) == 0);
    CHECK(server::complete_utf8_prefix("x\xC3") == 1);
    CHECK(server::complete_utf8_prefix("x\xC3\xA9") == 3);
}

TEST_CASE("stop strings: found, and their beginnings held back", "[server]") {
    const std::vector<std::string> stop = {"\n\n", "END"};
    CHECK(server::find_stop("abc\n\ndef", stop, 0) == 3);
    CHECK(server::find_stop("abEND\n\n", stop, 0) == 2);
    CHECK(server::find_stop("abc", stop, 0) == std::string::npos);
    CHECK(server::find_stop("abc\n\nx", stop, 4) == std::string::npos);
    CHECK(server::partial_stop_suffix("text E", stop) == 1);
    CHECK(server::partial_stop_suffix("text EN", stop) == 2);
    CHECK(server::partial_stop_suffix("text\n", stop) == 1);
    CHECK(server::partial_stop_suffix("text", stop) == 0);
    CHECK(server::partial_stop_suffix("text", {}) == 0);
}

TEST_CASE("requests are read as OpenAI clients write them", "[server]") {
    std::string err;
    auto r = server::parse_request(json::parse(R"({"messages":[{"role":"system","content":"Be brief."},
        {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
        "max_tokens":7,"temperature":0.2,"top_p":0.9,"seed":42,"stop":"\n","stream":true})"), true, &err);
    REQUIRE(r);
    CHECK(r->messages.size() == 2);
    CHECK(r->messages[1].content == "Hi there");
    CHECK(r->max_tokens == 7);
    CHECK(r->sampler.temperature == Approx(0.2f));
    CHECK(r->sampler.top_p == Approx(0.9f));
    CHECK(r->seeded);
    CHECK(r->sampler.seed == 42);
    CHECK(r->stream);
    CHECK(r->stop == std::vector<std::string>{"\n"});
    r = server::parse_request(json::parse(R"({"prompt":"Once","max_completion_tokens":3})"), false, &err);
    REQUIRE(r);
    CHECK(r->prompt == "Once");
    CHECK(r->max_tokens == 3);
    CHECK_FALSE(r->seeded);
    r = server::parse_request(json::parse(R"({"messages":[{"role":"developer","content":"x"}]})"), true, &err);
    REQUIRE(r);
    CHECK(r->messages[0].role == "system");
}

TEST_CASE("malformed requests are refused with a reason", "[server]") {
    const char* bad[][2] = {
        {R"([])", "JSON object"},
        {R"({"messages":"hi"})", "messages"},
        {R"({"messages":[{"role":"user"}]})", "content"},
        {R"({"messages":[{"role":"tool","content":"x"}]})", "role"},
        {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "text"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"many"})", "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-5})", "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":3})", "n = 1"},
        {R"({"messages":[{"role":"user","content":"x"}],"seed":1.5})", "seed"},
        {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
        {R"({"messages":[{"role":"user","content":[{"type":1,"text":"x"}]}]})", "text"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1e300})", "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"top_k":1.5})", "top_k"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":1e300})", "temperature"},
    };
    for (const auto& [text, words] : bad) {
        INFO(text);
        std::string err;
        CHECK_FALSE(server::parse_request(json::parse(text), true, &err));
        CHECK(err.find(words) != std::string::npos);
    }
    std::string err;
    CHECK_FALSE(server::parse_request(json::parse(R"({"prompt":5})"), false, &err));
    CHECK(err.find("prompt") != std::string::npos);
}
