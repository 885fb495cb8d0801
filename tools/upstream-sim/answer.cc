// Deterministic answers and the token rule; see answer.h.
#include "tools/upstream-sim/answer.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sluice::sim {
namespace {

constexpr absl::string_view kFiller[] = {"sluices", "channel", "water",
                                         "gates",   "flow",    "gently",
                                         "through", "locks"};
constexpr size_t kEchoWords = 16;
constexpr int64_t kTokensPerMessage = 4;

// FNV-1a, with a separator after each field so that ("ab","c") != ("a","bc").
class Hash {
 public:
  void Add(absl::string_view field) {
    for (unsigned char c : field) Byte(c);
    Byte(0xff);
  }
  uint64_t value() const { return value_; }

 private:
  void Byte(unsigned char c) {
    value_ ^= c;
    value_ *= 1099511628211ULL;
  }
  uint64_t value_ = 1469598103934665603ULL;
};

std::vector<absl::string_view> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
}

}  // namespace

std::vector<std::string> SplitTokens(absl::string_view text) {
  std::vector<std::string> tokens;
  for (absl::string_view word : Words(text)) {
    tokens.push_back(absl::StrCat(tokens.empty() ? "" : " ", word));
  }
  return tokens;
}

std::string Answer::ReasoningText() const {
  return absl::StrJoin(reasoning, "");
}
std::string Answer::ContentText() const { return absl::StrJoin(content, ""); }

Answer MakeAnswer(const ChatRequest& request) {
  Hash prompt;
  prompt.Add(request.model);
  prompt.Add(request.system);
  int64_t prompt_tokens = 0;
  if (!request.system.empty()) {
    prompt_tokens +=
        static_cast<int64_t>(Words(request.system).size()) + kTokensPerMessage;
  }
  absl::string_view last_user;
  for (const Message& message : request.messages) {
    prompt.Add(message.role);
    prompt.Add(message.text);
    prompt_tokens +=
        static_cast<int64_t>(Words(message.text).size()) + kTokensPerMessage;
    if (message.role == "user") last_user = message.text;
  }
  Hash full = prompt;
  full.Add(request.thinking ? "thinking" : "");
  uint64_t hash = full.value();

  Answer answer;
  answer.prompt_tokens = prompt_tokens;
  answer.prompt_key = absl::StrFormat("%016x", prompt.value());
  answer.id = absl::StrFormat("%016x", hash);

  std::vector<absl::string_view> echo = Words(last_user);
  echo.resize(std::min(echo.size(), kEchoWords));
  std::string echoed = absl::StrJoin(echo, " ");
  std::string content = absl::StrCat("Echo: ", echoed);
  for (uint64_t i = 0, n = hash % 8 + 2; i < n; ++i) {
    absl::StrAppend(&content, " ", kFiller[(hash >> (i * 3 + 8)) % 8]);
  }
  answer.content = SplitTokens(content);
  if (request.thinking) {
    answer.reasoning = SplitTokens(absl::StrCat(
        "Thinking about: ", echoed, " ... the user wants an echo."));
  }
  answer.finish_reason = "stop";
  if (request.max_tokens.has_value()) CapAnswer(*request.max_tokens, answer);
  return answer;
}

void FillAnswer(int64_t tokens, Answer& answer) {
  for (size_t i = 0; answer.completion_tokens() < tokens; ++i) {
    answer.content.push_back(absl::StrCat(" ", kFiller[i % 8]));
  }
}

void CapAnswer(int64_t tokens, Answer& answer) {
  if (answer.completion_tokens() <= tokens) return;
  size_t keep = static_cast<size_t>(std::max<int64_t>(tokens, 0));
  if (answer.reasoning.size() >= keep) {
    answer.reasoning.resize(keep);
    answer.content.clear();
  } else {
    answer.content.resize(keep - answer.reasoning.size());
  }
  answer.finish_reason = "length";
}

}  // namespace sluice::sim
