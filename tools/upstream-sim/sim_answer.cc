#include "tools/upstream-sim/sim_answer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sluice::sim {
namespace {

constexpr const char* kFiller[] = {"sluices", "channel", "water", "gates",
                                   "flow",    "gently",  "through", "locks"};

uint64_t Fnv1a(uint64_t hash, const std::string& text) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash ^ 0xff;
}

// Text of a message's content: a string, or the text parts of an array.
std::string ContentText(const rapidjson::Value& message) {
  auto it = message.FindMember("content");
  if (it == message.MemberEnd()) return "";
  if (it->value.IsString()) return it->value.GetString();
  std::string text;
  if (it->value.IsArray()) {
    for (const auto& part : it->value.GetArray()) {
      if (part.IsObject() && part.HasMember("text") && part["text"].IsString()) {
        absl::StrAppend(&text, text.empty() ? "" : " ", part["text"].GetString());
      }
    }
  }
  return text;
}

int64_t CountWords(const std::string& text) {
  return static_cast<int64_t>(
      std::vector<absl::string_view>(
          absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty()))
          .size());
}

}  // namespace

std::vector<std::string> Tokens(const std::string& text) {
  std::vector<std::string> tokens;
  for (absl::string_view word :
       absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    tokens.push_back(absl::StrCat(tokens.empty() ? "" : " ", word));
  }
  return tokens;
}

std::string SimAnswer::Content() const { return absl::StrJoin(pieces, ""); }
std::string SimAnswer::Reasoning() const { return absl::StrJoin(reasoning, ""); }

SimAnswer MakeAnswer(const rapidjson::Document& body, bool anthropic) {
  SimAnswer answer;
  std::string model = body.HasMember("model") && body["model"].IsString()
                          ? body["model"].GetString()
                          : "";
  uint64_t hash = Fnv1a(1469598103934665603ULL, model);
  std::string last_user;
  int64_t prompt = 0;
  if (anthropic && body.HasMember("system")) {
    const auto& system = body["system"];
    std::string text = system.IsString() ? system.GetString() : "";
    prompt += CountWords(text) + 4;
    hash = Fnv1a(hash, text);
  }
  if (body.HasMember("messages") && body["messages"].IsArray()) {
    for (const auto& message : body["messages"].GetArray()) {
      if (!message.IsObject()) continue;
      std::string role = message.HasMember("role") && message["role"].IsString()
                             ? message["role"].GetString()
                             : "";
      std::string text = ContentText(message);
      hash = Fnv1a(Fnv1a(hash, role), text);
      prompt += CountWords(text) + 4;
      if (role == "user") last_user = text;
    }
  }
  answer.prompt_tokens = prompt;
  answer.prompt_key = absl::StrFormat("%016x", hash);
  answer.id_hex = absl::StrFormat("%016x", hash * 31 + 7);

  std::string content = absl::StrCat("Echo: ", last_user);
  for (uint64_t i = 0, n = hash % 8 + 2; i < n; ++i) {
    absl::StrAppend(&content, " ", kFiller[(hash >> (i * 3)) % 8]);
  }
  answer.pieces = Tokens(content);
  if (model.find("reasoner") != std::string::npos) {
    answer.reasoning = Tokens(absl::StrCat("Thinking about: ", last_user));
  }
  int64_t cap = -1;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (body.HasMember(key) && body[key].IsInt64()) {
      cap = body[key].GetInt64();
      break;
    }
  }
  answer.finish_reason = "stop";
  if (cap >= 0 && answer.completion_tokens() > cap) {
    size_t keep = static_cast<size_t>(
        std::max<int64_t>(0, cap - static_cast<int64_t>(answer.reasoning.size())));
    if (keep < answer.pieces.size()) answer.pieces.resize(keep);
    answer.finish_reason = "length";
  }
  return answer;
}

}  // namespace sluice::sim
