// The SentencePiece-style (SPM) vocabulary of a Gemma GGUF and its tokenizer,
// following llama.cpp's "llama" tokenizer model so that token ids agree:
// special/user-defined tokens are split out first (longest text first), then each
// raw fragment has ' ' escaped to U+2581 and is merged pair by pair, highest
// score first, with byte fallback (<0xXX>) for anything not in the vocabulary.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/gguf/gguf_file.h"
#include "lib/util/status.h"

namespace gmg {

using TokenId = int32_t;

enum class TokenType : int32_t {
    undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

class Vocab {
public:
    // Reads tokenizer.ggml.* from a file that outlives this object (texts are views into it).
    static Status from_gguf(const gguf::GgufFile& file, Vocab* out);

    int32_t size() const { return static_cast<int32_t>(texts_.size()); }
    std::string_view text(TokenId id) const { return texts_[static_cast<size_t>(id)]; }
    TokenType type(TokenId id) const { return types_[static_cast<size_t>(id)]; }
    float score(TokenId id) const { return scores_[static_cast<size_t>(id)]; }
    bool valid(TokenId id) const { return id >= 0 && id < size(); }
    TokenId find(std::string_view text) const;  // -1 if absent

    TokenId bos() const { return bos_; }
    TokenId eos() const { return eos_; }
    TokenId eot() const { return eot_; }  // <end_of_turn>, or -1
    bool add_bos() const { return add_bos_; }
    bool is_eog(TokenId id) const;  // end of generation: eos, eot and other end markers

    // Text -> ids. add_special: BOS (and EOS if the file asks for it).
    // parse_special: recognise control tokens such as <start_of_turn> in the text;
    // user-defined tokens (runs of spaces or newlines) are always recognised.
    std::vector<TokenId> tokenize(std::string_view text, bool add_special, bool parse_special) const;

    // The bytes a token stands for. Control and unknown tokens are empty unless
    // `special`; a byte token is its single byte (possibly part of a UTF-8 character).
    std::string token_to_piece(TokenId id, bool special) const;

private:
    void tokenize_raw(std::string_view text, std::vector<TokenId>* out) const;
    TokenId byte_token(uint8_t byte) const;

    std::vector<std::string_view> texts_;
    std::vector<float> scores_;
    std::vector<TokenType> types_;
    std::unordered_map<std::string_view, TokenId> index_;
    std::vector<TokenId> special_by_length_;  // control, user-defined, unknown; longest text first
    std::vector<TokenId> eog_;
    TokenId byte_tokens_[256];
    TokenId bos_ = -1, eos_ = -1, eot_ = -1, unk_ = -1;
    bool add_bos_ = true, add_eos_ = false, add_space_prefix_ = false;
};

// Joins detokenized bytes and releases only whole UTF-8 characters, so a
// streamed character split across byte tokens is never printed half-way.
class Utf8Stream {
public:
    std::string push(std::string_view bytes);  // the complete characters now available
    std::string flush();                        // whatever is left (may be invalid UTF-8)

private:
    std::string pending_;
};

}  // namespace gmg
