#include "libs/tokenizer/chat_token_counter.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "llama.h"

namespace sluice::tokenizer {
namespace {

constexpr absl::string_view kDefaultTemplate = "chatml";

// Names of llama.cpp's built-in templates. llama_chat_apply_template also
// accepts Jinja text and guesses from it, which would let a typo through.
const absl::flat_hash_set<std::string>& BuiltinTemplates() {
  static const auto* names = [] {
    std::vector<const char*> raw(
        static_cast<size_t>(llama_chat_builtin_templates(nullptr, 0)));
    llama_chat_builtin_templates(raw.data(), raw.size());
    return new absl::flat_hash_set<std::string>(raw.begin(), raw.end());
  }();
  return *names;
}

bool IsVocabularyName(absl::string_view name) {
  // The name becomes part of a path: letters, digits, '-', '_' and '.' only,
  // and no "..".
  if (name.empty() || name.find("..") != absl::string_view::npos) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// What one message costs as text. Reasoning content is left out: DeepSeek
// drops earlier turns' reasoning from the prompt.
std::string MessageText(const sluice::v1::Message& message) {
  std::vector<absl::string_view> pieces;
  if (message.has_parts()) {
    for (const auto& part : message.parts().parts()) {
      // A non-text part (an image, audio) costs what the provider decides;
      // its JSON text is a rough stand-in that at least grows with it.
      pieces.push_back(part.type() == "text"
                           ? absl::string_view(part.text())
                           : absl::string_view(part.raw_json()));
    }
  } else if (!message.text().empty()) {
    pieces.push_back(message.text());
  }
  for (const auto& call : message.tool_calls()) {
    pieces.push_back(call.function_name());
    pieces.push_back(call.function_arguments());
  }
  return absl::StrJoin(pieces, "\n");
}

struct ChatTurn {
  std::string role;
  std::string content;
};

// The request as (role, content) turns; tools are described in the system
// turn (a new one leads when the request has none).
std::vector<ChatTurn> Turns(const sluice::v1::ChatRequest& request) {
  std::vector<ChatTurn> turns;
  turns.reserve(static_cast<size_t>(request.messages_size()) + 1);
  for (const auto& message : request.messages()) {
    // OpenAI's "developer" role is the system prompt under a newer name.
    std::string role =
        message.role() == "developer" ? "system" : message.role();
    turns.push_back({std::move(role), MessageText(message)});
  }
  if (!request.tools_json().empty()) {
    if (turns.empty() || turns.front().role != "system") {
      turns.insert(turns.begin(), ChatTurn{"system", ""});
    }
    std::string& system = turns.front().content;
    if (!system.empty()) system += "\n\n";
    system += request.tools_json();
  }
  return turns;
}

absl::StatusOr<std::string> Render(const std::vector<ChatTurn>& turns,
                                   const std::string& chat_template) {
  std::vector<llama_chat_message> chat;
  chat.reserve(turns.size());
  size_t size = 64;
  for (const ChatTurn& turn : turns) {
    chat.push_back({turn.role.c_str(), turn.content.c_str()});
    size += 2 * (turn.role.size() + turn.content.size());
  }
  std::string rendered(size, '\0');
  int32_t n = llama_chat_apply_template(
      chat_template.c_str(), chat.data(), chat.size(),
      /*add_ass=*/true, rendered.data(), static_cast<int32_t>(rendered.size()));
  if (n > static_cast<int32_t>(rendered.size())) {
    rendered.resize(static_cast<size_t>(n));
    n = llama_chat_apply_template(chat_template.c_str(), chat.data(),
                                  chat.size(), true, rendered.data(),
                                  static_cast<int32_t>(rendered.size()));
  }
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chat template \"", chat_template, "\" cannot render this chat"));
  }
  rendered.resize(static_cast<size_t>(n));
  return rendered;
}

absl::StatusOr<int64_t> CountTokens(const VocabTokenizer& vocabulary,
                                    absl::string_view text, bool add_special) {
  if (text.empty() && !add_special) return 0;
  auto tokens = vocabulary.Tokenize(text, add_special, /*parse_special=*/true);
  if (!tokens.ok()) return tokens.status();
  return static_cast<int64_t>(tokens->size());
}

// The rendered prompt's bytes, and the upper bound of its tokens: those
// bytes plus two, plus the bytes of turns the template leaves out.
struct RenderedSize {
  int64_t bytes = 0;
  int64_t upper = 0;
};

absl::StatusOr<RenderedSize> MeasureRendered(
    const sluice::v1::ChatRequest& request, absl::string_view chat_template) {
  const std::string template_name(chat_template.empty() ? kDefaultTemplate
                                                        : chat_template);
  if (!BuiltinTemplates().contains(template_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown chat template \"", template_name, "\""));
  }
  const std::vector<ChatTurn> turns = Turns(request);
  auto rendered = Render(turns, template_name);
  if (!rendered.ok()) return rendered.status();
  RenderedSize size;
  size.bytes = static_cast<int64_t>(rendered->size());
  size.upper = size.bytes + 2;
  size_t cursor = 0;
  for (const ChatTurn& turn : turns) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(turn.content);
    if (trimmed.empty()) continue;
    size_t at = rendered->find(trimmed.data(), cursor, trimmed.size());
    if (at == std::string::npos) {
      size.upper += static_cast<int64_t>(turn.content.size());
    } else {
      cursor = at + trimmed.size();
    }
  }
  return size;
}

}  // namespace

std::string DefaultVocabDir() {
  const char* dir = std::getenv("SLUICE_VOCAB_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return SLUICE_LLAMA_MODELS_DIR;
}

TokenCounter::TokenCounter(std::string vocab_dir, std::string default_tokenizer)
    : vocab_dir_(std::move(vocab_dir)),
      default_tokenizer_(std::move(default_tokenizer)) {}

absl::StatusOr<const VocabTokenizer*> TokenCounter::Vocabulary(
    absl::string_view name) {
  if (name.empty()) name = default_tokenizer_;
  const std::string path =
      absl::StrCat(vocab_dir_, "/ggml-vocab-", name, ".gguf");
  // Vocabularies are shared by every counter of the process (the router's
  // and the ingress's in one process): loaded once, kept for good.
  struct Registry {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::unique_ptr<Slot>> slots
        ABSL_GUARDED_BY(mu);
  };
  static Registry* registry = new Registry();
  Slot* slot = nullptr;
  {
    absl::MutexLock lock(&registry->mu);
    auto it = registry->slots.find(path);
    if (it != registry->slots.end()) {
      slot = it->second.get();
    } else {
      struct stat info;
      if (!IsVocabularyName(name) || stat(path.c_str(), &info) != 0) {
        return absl::NotFoundError(absl::StrCat("no vocabulary \"", name,
                                                "\" (looked for ", path, ")"));
      }
      slot = registry->slots.emplace(path, std::make_unique<Slot>())
                 .first->second.get();
    }
  }
  // Slots are never removed, so `slot` outlives the lock.
  absl::call_once(slot->once, [&] {
    auto loaded = VocabTokenizer::Load(path);
    if (loaded.ok()) {
      slot->vocabulary = *std::move(loaded);
    } else {
      slot->status = loaded.status();
    }
  });
  if (!slot->status.ok()) return slot->status;
  return slot->vocabulary.get();
}

absl::Status TokenCounter::Preload(absl::string_view tokenizer) {
  return Vocabulary(tokenizer).status();
}

absl::StatusOr<int64_t> TokenCounter::CountText(absl::string_view text,
                                                absl::string_view tokenizer) {
  auto vocabulary = Vocabulary(tokenizer);
  if (!vocabulary.ok()) return vocabulary.status();
  auto tokens = (*vocabulary)->Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  return static_cast<int64_t>(tokens->size());
}

absl::StatusOr<PromptCount> TokenCounter::CountPrompt(
    const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
    absl::string_view chat_template) {
  return Count(request, tokenizer, chat_template, /*split_template=*/true);
}

absl::StatusOr<PromptCount> TokenCounter::CountPromptOnly(
    const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
    absl::string_view chat_template) {
  return Count(request, tokenizer, chat_template, /*split_template=*/false);
}

absl::StatusOr<int64_t> TokenCounter::PromptTokenBound(
    const sluice::v1::ChatRequest& request, absl::string_view chat_template) {
  absl::StatusOr<RenderedSize> size = MeasureRendered(request, chat_template);
  if (!size.ok()) return size.status();
  return size->upper;
}

absl::StatusOr<PromptBounds> TokenCounter::PromptTokenBounds(
    const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
    absl::string_view chat_template) {
  auto vocabulary = Vocabulary(tokenizer);
  if (!vocabulary.ok()) return vocabulary.status();
  absl::StatusOr<RenderedSize> size = MeasureRendered(request, chat_template);
  if (!size.ok()) return size.status();
  const auto longest =
      static_cast<int64_t>((*vocabulary)->longest_token_bytes());
  PromptBounds bounds;
  bounds.lower = (size->bytes + longest - 1) / longest;
  bounds.upper = size->upper;
  return bounds;
}

absl::StatusOr<PromptCount> TokenCounter::Count(
    const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
    absl::string_view chat_template, bool split_template) {
  const std::string template_name(chat_template.empty() ? kDefaultTemplate
                                                        : chat_template);
  if (!BuiltinTemplates().contains(template_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown chat template \"", template_name, "\"; llama.cpp has ",
        absl::StrJoin(BuiltinTemplates(), ", ")));
  }
  auto vocabulary = Vocabulary(tokenizer);
  if (!vocabulary.ok()) return vocabulary.status();

  const std::vector<ChatTurn> turns = Turns(request);
  auto rendered = Render(turns, template_name);
  if (!rendered.ok()) return rendered.status();
  // Tokenized as a model server would: with the vocabulary's BOS, and the
  // template's special-token text read as special tokens.
  auto prompt_tokens =
      CountTokens(**vocabulary, *rendered, /*add_special=*/true);
  if (!prompt_tokens.ok()) return prompt_tokens.status();

  PromptCount count;
  count.tokenizer =
      std::string(tokenizer.empty() ? default_tokenizer_ : tokenizer);
  count.prompt_tokens = *prompt_tokens;
  int64_t bare_tokens = 0;
  // Some templates leave out roles they do not know (deepseek3 drops "tool"
  // turns); such turns still reach the provider, so their text counts too.
  // Turns render in order, so each is looked for after the previous one.
  size_t cursor = 0;
  for (const ChatTurn& turn : turns) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(turn.content);
    size_t at = trimmed.empty()
                    ? cursor
                    : rendered->find(trimmed.data(), cursor, trimmed.size());
    bool dropped = at == std::string::npos;
    if (!dropped) cursor = at + trimmed.size();
    // A turn's own tokens are counted only when needed: for the template's
    // share, or because the template left the turn out.
    if (!split_template && !dropped) continue;
    auto tokens =
        CountTokens(**vocabulary, turn.content, /*add_special=*/false);
    if (!tokens.ok()) return tokens.status();
    bare_tokens += *tokens;
    if (dropped) count.prompt_tokens += *tokens;
  }
  if (split_template) {
    count.template_tokens =
        std::max<int64_t>(0, count.prompt_tokens - bare_tokens);
  }
  return count;
}

}  // namespace sluice::tokenizer
