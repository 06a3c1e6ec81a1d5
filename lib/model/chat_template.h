// The Gemma chat format, as llama.cpp's built-in "gemma" template writes it:
//   <start_of_turn>user\n{system}\n\n{content}<end_of_turn>\n<start_of_turn>model\n
// System text is folded into the next user turn; contents are trimmed; the BOS
// is not part of the text (the tokenizer adds exactly one).
#pragma once
#include <string>
#include <vector>

namespace gmg {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant" (or "model")
    std::string content;
};

std::string apply_gemma_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

}  // namespace gmg
