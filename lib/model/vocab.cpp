#include "lib/model/vocab.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include <fmt/format.h>

namespace gmg {
namespace {

constexpr std::string_view kSpaceMark = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

// Bytes in the UTF-8 sequence a lead byte starts (1 for continuation or invalid bytes).
size_t utf8_len(uint8_t lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xe0) == 0xc0) return 2;
    if ((lead & 0xf0) == 0xe0) return 3;
    if ((lead & 0xf8) == 0xf0) return 4;
    return 1;
}

// The byte a "<0xXX>" token names, or -1 for any other text.
int hex_byte(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    auto nibble = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = nibble(t[3]), lo = nibble(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    size_t start = 0, pos;
    while ((pos = s.find(from, start)) != std::string_view::npos) {
        out.append(s.substr(start, pos - start));
        out.append(to);
        start = pos + from.size();
    }
    out.append(s.substr(start));
    return out;
}

}  // namespace

Status Vocab::from_gguf(const gguf::GgufFile& f, Vocab* out) {
    auto bad = [](std::string msg) { return Status(StatusCode::invalid_file, std::move(msg)); };
    const auto model = f.get_string("tokenizer.ggml.model");
    if (!model) return bad("missing string key 'tokenizer.ggml.model'");
    if (*model != "llama")
        return {StatusCode::unsupported,
                fmt::format("tokenizer model '{}' is not supported (Gemma files use 'llama', SentencePiece)", *model)};
    const gguf::KeyValue* tokens = f.find("tokenizer.ggml.tokens");
    if (!tokens || !tokens->value.is_array() || tokens->value.elem_type != gguf::ValueType::string)
        return bad("missing string array 'tokenizer.ggml.tokens'");
    const size_t n = tokens->value.strings.size();
    if (n == 0 || n > (1u << 30)) return bad("'tokenizer.ggml.tokens' is empty");
    Vocab v;
    v.texts_ = tokens->value.strings;
    v.scores_.assign(n, 0.0f);
    v.types_.assign(n, TokenType::normal);
    if (const gguf::KeyValue* s = f.find("tokenizer.ggml.scores")) {
        if (!s->value.is_array() || s->value.elem_type != gguf::ValueType::f32 || s->value.count < n)
            return bad(fmt::format("'tokenizer.ggml.scores' must be an f32 array of at least {} entries", n));
        for (size_t i = 0; i < n; ++i) v.scores_[i] = static_cast<float>(s->value.array_f64(i));
    }
    if (const gguf::KeyValue* t = f.find("tokenizer.ggml.token_type")) {
        if (!t->value.is_array() || t->value.elem_type != gguf::ValueType::i32 || t->value.count < n)
            return bad(fmt::format("'tokenizer.ggml.token_type' must be an i32 array of at least {} entries", n));
        for (size_t i = 0; i < n; ++i) {
            const int64_t ty = t->value.array_i64(i);
            v.types_[i] = ty >= 1 && ty <= 6 ? static_cast<TokenType>(ty) : TokenType::undefined;
        }
    }
    auto token_key = [&](const char* key, TokenId fallback, TokenId* dst) -> Status {
        const auto id = f.get_uint(key);
        *dst = id ? static_cast<TokenId>(*id) : fallback;
        if (id && *id >= n) return bad(fmt::format("'{}' = {} is not a token id (vocabulary has {})", key, *id, n));
        return Status::success();
    };
    // SPM defaults as in llama.cpp, overridden by the file.
    if (Status s = token_key("tokenizer.ggml.bos_token_id", 1, &v.bos_); !s.ok()) return s;
    if (Status s = token_key("tokenizer.ggml.eos_token_id", 2, &v.eos_); !s.ok()) return s;
    if (Status s = token_key("tokenizer.ggml.unknown_token_id", 0, &v.unk_); !s.ok()) return s;
    v.add_bos_ = f.get_bool("tokenizer.ggml.add_bos_token").value_or(true);
    v.add_eos_ = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
    v.add_space_prefix_ = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);

    v.index_.reserve(n);
    for (size_t i = 0; i < n; ++i) v.index_.emplace(v.texts_[i], static_cast<TokenId>(i));  // first wins

    for (TokenId i = 0; i < static_cast<TokenId>(n); ++i) {
        const TokenType ty = v.types_[static_cast<size_t>(i)];
        if (ty == TokenType::control || ty == TokenType::user_defined || ty == TokenType::unknown)
            v.special_by_length_.push_back(i);
    }
    std::stable_sort(v.special_by_length_.begin(), v.special_by_length_.end(),
                     [&](TokenId a, TokenId b) { return v.text(a).size() > v.text(b).size(); });
    for (int b = 0; b < 256; ++b) {
        TokenId id = v.find(fmt::format("<0x{:02X}>", b));
        if (id < 0) id = v.find(std::string(1, static_cast<char>(b)));
        v.byte_tokens_[b] = id;
    }
    // End-of-generation tokens: eos, and end-of-turn markers found by their text (as llama.cpp does).
    v.eog_.push_back(v.eos_);
    for (const char* marker : {"<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|end|>", "<EOT>", "<|endoftext|>"}) {
        const TokenId id = v.find(marker);
        if (id < 0) continue;
        if (v.eot_ < 0) v.eot_ = id;
        if (std::find(v.eog_.begin(), v.eog_.end(), id) == v.eog_.end()) v.eog_.push_back(id);
    }
    *out = std::move(v);
    return Status::success();
}

TokenId Vocab::find(std::string_view text) const {
    auto it = index_.find(text);
    return it == index_.end() ? -1 : it->second;
}

bool Vocab::is_eog(TokenId id) const { return std::find(eog_.begin(), eog_.end(), id) != eog_.end(); }

TokenId Vocab::byte_token(uint8_t byte) const { return byte_tokens_[byte] >= 0 ? byte_tokens_[byte] : unk_; }

std::vector<TokenId> Vocab::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    // 1. Split out special tokens, longest first; what remains stays raw text.
    struct Fragment {
        TokenId token;  // -1: raw text
        size_t offset, length;
    };
    std::vector<Fragment> frags = {{-1, 0, text.size()}};
    for (TokenId id : special_by_length_) {
        const TokenType ty = type(id);
        if (!parse_special && (ty == TokenType::control || ty == TokenType::unknown)) continue;
        const std::string_view needle = this->text(id);
        if (needle.empty()) continue;
        std::vector<Fragment> next;
        next.reserve(frags.size());
        for (const Fragment& fr : frags) {
            if (fr.token >= 0 || fr.length < needle.size()) {
                next.push_back(fr);
                continue;
            }
            const std::string_view raw = text.substr(fr.offset, fr.length);
            size_t start = 0, pos;
            while ((pos = raw.find(needle, start)) != std::string_view::npos) {
                if (pos > start) next.push_back({-1, fr.offset + start, pos - start});
                next.push_back({id, fr.offset + pos, needle.size()});
                start = pos + needle.size();
            }
            if (start < raw.size()) next.push_back({-1, fr.offset + start, raw.size() - start});
        }
        frags.swap(next);
    }
    // 2. BOS, then each fragment.
    std::vector<TokenId> out;
    if (add_special && add_bos_) out.push_back(bos_);
    bool prev_special = true;
    for (const Fragment& fr : frags) {
        if (fr.token >= 0) {
            out.push_back(fr.token);
            prev_special = true;
            continue;
        }
        std::string raw;
        if (add_space_prefix_ && prev_special) raw = " ";
        raw.append(text.substr(fr.offset, fr.length));
        tokenize_raw(replace_all(raw, " ", kSpaceMark), &out);
        prev_special = false;
    }
    if (add_special && add_eos_) out.push_back(eos_);
    return out;
}

// SentencePiece BPE over one escaped fragment: start from UTF-8 characters and
// repeatedly merge the adjacent pair whose concatenation is the best-scoring
// vocabulary entry (ties: leftmost), then emit each symbol as a token, splitting
// unknown symbols back along their merges and finally into byte tokens.
void Vocab::tokenize_raw(std::string_view text, std::vector<TokenId>* out) const {
    struct Symbol {
        int prev, next;
        size_t offset, n;
    };
    std::vector<Symbol> sym;
    for (size_t offs = 0; offs < text.size();) {
        const size_t len = std::min(utf8_len(static_cast<uint8_t>(text[offs])), text.size() - offs);
        sym.push_back({static_cast<int>(sym.size()) - 1, static_cast<int>(sym.size()) + 1, offs, len});
        offs += len;
    }
    if (sym.empty()) return;
    sym.back().next = -1;

    struct Bigram {
        int left, right;
        float score;
        size_t size;
    };
    auto worse = [](const Bigram& a, const Bigram& b) {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    };
    std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
    std::unordered_map<std::string_view, std::pair<int, int>> merged_from;

    auto try_add = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const std::string_view pair = text.substr(sym[left].offset, sym[left].n + sym[right].n);
        const TokenId id = find(pair);
        if (id < 0) return;
        queue.push({left, right, score(id), pair.size()});
        merged_from[pair] = {left, right};
    };
    for (size_t i = 1; i < sym.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& l = sym[b.left];
        Symbol& r = sym[b.right];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale: a side was merged since
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }

    // Emit, resegmenting symbols that are not themselves tokens.
    auto emit = [&](auto&& self, size_t offset, size_t n) -> void {
        const std::string_view piece = text.substr(offset, n);
        const TokenId id = find(piece);
        if (id >= 0) {
            out->push_back(id);
            return;
        }
        auto it = merged_from.find(piece);
        if (it != merged_from.end()) {
            const Symbol& a = sym[it->second.first];
            const Symbol& b = sym[it->second.second];
            self(self, a.offset, b.offset - a.offset);
            self(self, b.offset, offset + n - b.offset);
            return;
        }
        for (size_t j = 0; j < n; ++j) out->push_back(byte_token(static_cast<uint8_t>(piece[j])));
    };
    for (int i = 0; i >= 0; i = sym[i].next) emit(emit, sym[i].offset, sym[i].n);
}

std::string Vocab::token_to_piece(TokenId id, bool special) const {
    if (!valid(id)) return {};
    const std::string_view t = text(id);
    switch (type(id)) {
        case TokenType::normal: return replace_all(t, kSpaceMark, " ");
        case TokenType::user_defined: return std::string(t);
        case TokenType::byte: {
            const int byte = hex_byte(t);  // "<0xXX>"
            return byte >= 0 ? std::string(1, static_cast<char>(byte)) : std::string(t);
        }
        default: return special ? std::string(t) : std::string();
    }
}

std::string Utf8Stream::push(std::string_view bytes) {
    pending_.append(bytes);
    // Find the end of the last complete character.
    size_t complete = pending_.size();
    for (size_t back = 1; back <= 4 && back <= pending_.size(); ++back) {
        const auto c = static_cast<uint8_t>(pending_[pending_.size() - back]);
        if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead
        if (utf8_len(c) > back) complete = pending_.size() - back;  // lead of an unfinished character
        break;
    }
    std::string ready = pending_.substr(0, complete);
    pending_.erase(0, complete);
    return ready;
}

std::string Utf8Stream::flush() {
    std::string rest;
    rest.swap(pending_);
    return rest;
}

}  // namespace gmg
