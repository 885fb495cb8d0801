// TokenCounter against llama.cpp's vocabularies: rendered prompts count the
// same as tokenizing the rendered text directly, template special tokens count
// once each, errors are typed, and concurrent use agrees with serial use.
#include "libs/tokenizer/chat_token_counter.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/vocab_tokenizer.h"
#include "llama.h"

namespace sluice::tokenizer {
namespace {

using ::testing::HasSubstr;

const std::string kModels = SLUICE_LLAMA_MODELS;

std::unique_ptr<VocabTokenizer> LoadVocab(const std::string& name) {
  auto vocab = VocabTokenizer::Load(kModels + "/ggml-vocab-" + name + ".gguf");
  EXPECT_TRUE(vocab.ok()) << vocab.status();
  return vocab.ok() ? *std::move(vocab) : nullptr;
}

void AddMessage(sluice::v1::ChatRequest& request, const std::string& role,
                const std::string& text) {
  auto* message = request.add_messages();
  message->set_role(role);
  message->set_text(text);
}

sluice::v1::ChatRequest Conversation() {
  sluice::v1::ChatRequest request;
  AddMessage(request, "system", "You are a terse assistant.");
  AddMessage(request, "user", "What is the capital of Norway?");
  AddMessage(request, "assistant", "Oslo.");
  AddMessage(request, "user", "And its population, roughly?");
  return request;
}

// ChatML written out by hand, independently of llama.cpp's renderer.
std::string ChatMl(
    const std::vector<std::pair<std::string, std::string>>& turns) {
  std::string text;
  for (const auto& [role, content] : turns) {
    text += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
  }
  return text + "<|im_start|>assistant\n";
}

const std::vector<std::pair<std::string, std::string>> kTurns = {
    {"system", "You are a terse assistant."},
    {"user", "What is the capital of Norway?"},
    {"assistant", "Oslo."},
    {"user", "And its population, roughly?"}};

int64_t Tokens(const VocabTokenizer& vocab, const std::string& text,
               bool add_special) {
  auto tokens = vocab.Tokenize(text, add_special, /*parse_special=*/true);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  return tokens.ok() ? static_cast<int64_t>(tokens->size()) : -1;
}

TEST(TokenCounterTest, PromptCountEqualsTokenizingTheRenderedChat) {
  TokenCounter counter(kModels);
  for (const std::string name : {"qwen2", "llama-bpe", "deepseek-llm"}) {
    auto count = counter.CountPrompt(Conversation(), name, "chatml");
    ASSERT_TRUE(count.ok()) << count.status();
    auto vocab = LoadVocab(name);
    ASSERT_NE(vocab, nullptr);
    EXPECT_EQ(count->prompt_tokens,
              Tokens(*vocab, ChatMl(kTurns), /*add_special=*/true))
        << name;
    int64_t bare = 0;
    for (const auto& turn : kTurns) bare += Tokens(*vocab, turn.second, false);
    EXPECT_EQ(count->template_tokens, count->prompt_tokens - bare) << name;
    EXPECT_GT(count->template_tokens, 0) << name;
    EXPECT_EQ(count->tokenizer, name);
  }
}

TEST(TokenCounterTest, ChatMlSpecialTokensCountOncePerMessage) {
  auto vocab = LoadVocab("qwen2");
  ASSERT_NE(vocab, nullptr);
  auto start = vocab->Tokenize("<|im_start|>", false, /*parse_special=*/true);
  auto end = vocab->Tokenize("<|im_end|>", false, true);
  ASSERT_TRUE(start.ok() && end.ok());
  ASSERT_EQ(start->size(), 1u) << "<|im_start|> is one special token";
  ASSERT_EQ(end->size(), 1u);

  auto rendered = vocab->Tokenize(ChatMl(kTurns), true, true);
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(std::count(rendered->begin(), rendered->end(), (*start)[0]), 5)
      << "four messages and the assistant prefix";
  EXPECT_EQ(std::count(rendered->begin(), rendered->end(), (*end)[0]), 4);

  // Read as plain text, the markers would cost several tokens each.
  auto plain = vocab->Tokenize("<|im_start|>");
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(plain->size(), 1u);

  TokenCounter counter(kModels);
  auto count = counter.CountPrompt(Conversation(), "qwen2", "");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->prompt_tokens, static_cast<int64_t>(rendered->size()))
      << "an empty template name is chatml";
}

TEST(TokenCounterTest, DefaultTokenizerIsUsedWhenNoneIsNamed) {
  TokenCounter counter(kModels, "qwen2");
  auto unnamed = counter.CountPrompt(Conversation(), "", "chatml");
  auto named = counter.CountPrompt(Conversation(), "qwen2", "chatml");
  ASSERT_TRUE(unnamed.ok() && named.ok());
  EXPECT_EQ(unnamed->prompt_tokens, named->prompt_tokens);
  EXPECT_EQ(unnamed->tokenizer, "qwen2");
}

TEST(TokenCounterTest, OtherTemplatesRenderDifferently) {
  TokenCounter counter(kModels);
  auto chatml = counter.CountPrompt(Conversation(), "llama-bpe", "chatml");
  auto llama3 = counter.CountPrompt(Conversation(), "llama-bpe", "llama3");
  auto deepseek3 =
      counter.CountPrompt(Conversation(), "deepseek-llm", "deepseek3");
  ASSERT_TRUE(chatml.ok() && llama3.ok() && deepseek3.ok());
  EXPECT_NE(chatml->prompt_tokens, llama3->prompt_tokens);
  EXPECT_GT(deepseek3->template_tokens, 0);
  // llama3's header markers are special tokens of the llama-bpe vocabulary:
  // <|start_header_id|> role <|end_header_id|> "\n\n" ... <|eot_id|>.
  EXPECT_LT(llama3->template_tokens, 4 * 6 + 6);
}

TEST(TokenCounterTest, TurnsTheTemplateDropsStillCount) {
  // deepseek3 renders no "tool" turns; their text still goes upstream.
  TokenCounter counter(kModels);
  sluice::v1::ChatRequest request = Conversation();
  auto before = counter.CountPrompt(request, "deepseek-llm", "deepseek3");
  AddMessage(request, "tool", "{\"population\": 717710}");
  auto after = counter.CountPrompt(request, "deepseek-llm", "deepseek3");
  ASSERT_TRUE(before.ok() && after.ok());
  auto tool_text =
      counter.CountText("{\"population\": 717710}", "deepseek-llm");
  ASSERT_TRUE(tool_text.ok());
  EXPECT_EQ(after->prompt_tokens, before->prompt_tokens + *tool_text);
}

TEST(TokenCounterTest, ToolsPartsAndToolCallsCountReasoningDoesNot) {
  TokenCounter counter(kModels);
  const sluice::v1::ChatRequest base = Conversation();
  auto base_count = counter.CountPrompt(base, "qwen2", "chatml");
  ASSERT_TRUE(base_count.ok());

  sluice::v1::ChatRequest with_tools = base;
  with_tools.set_tools_json(
      R"([{"type":"function","function":{"name":"population"}}])");
  auto tools_count = counter.CountPrompt(with_tools, "qwen2", "chatml");
  ASSERT_TRUE(tools_count.ok());
  EXPECT_GT(tools_count->prompt_tokens, base_count->prompt_tokens + 5);

  sluice::v1::ChatRequest with_reasoning = base;
  with_reasoning.mutable_messages(2)->set_reasoning_content(
      "The user asks about Norway, whose capital is Oslo, so I answer Oslo.");
  auto reasoning_count = counter.CountPrompt(with_reasoning, "qwen2", "chatml");
  ASSERT_TRUE(reasoning_count.ok());
  EXPECT_EQ(reasoning_count->prompt_tokens, base_count->prompt_tokens);

  sluice::v1::ChatRequest with_call = base;
  auto* call = with_call.mutable_messages(2)->add_tool_calls();
  call->set_function_name("population");
  call->set_function_arguments(R"({"city":"Oslo"})");
  auto call_count = counter.CountPrompt(with_call, "qwen2", "chatml");
  ASSERT_TRUE(call_count.ok());
  EXPECT_GT(call_count->prompt_tokens, base_count->prompt_tokens + 3);

  // Text parts count like the same text given as a string.
  sluice::v1::ChatRequest with_parts = base;
  auto* parts = with_parts.mutable_messages(3)->mutable_parts();
  auto* part = parts->add_parts();
  part->set_type("text");
  part->set_text("And its population, roughly?");
  auto parts_count = counter.CountPrompt(with_parts, "qwen2", "chatml");
  ASSERT_TRUE(parts_count.ok());
  EXPECT_EQ(parts_count->prompt_tokens, base_count->prompt_tokens);
}

TEST(TokenCounterTest, VocabulariesDiffer) {
  TokenCounter counter(kModels);
  const std::string text =
      "Die Donaudampfschifffahrtsgesellschaft 北京欢迎你 def f(x): return x**2 "
      "🚀";
  auto gpt2 = counter.CountText(text, "gpt-2");
  auto qwen2 = counter.CountText(text, "qwen2");
  auto llama = counter.CountText(text, "llama-bpe");
  ASSERT_TRUE(gpt2.ok() && qwen2.ok() && llama.ok());
  EXPECT_NE(*gpt2, *qwen2);
  EXPECT_NE(*gpt2, *llama);
  auto vocab = LoadVocab("gpt-2");
  ASSERT_NE(vocab, nullptr);
  auto tokens = vocab->Tokenize(text);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(*gpt2, static_cast<int64_t>(tokens->size()));
}

TEST(TokenCounterTest, UnknownVocabularyIsNotFound) {
  TokenCounter counter(kModels);
  auto count = counter.CountText("hello", "no-such-vocab");
  EXPECT_EQ(count.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(count.status().message(), HasSubstr("no-such-vocab"));
  auto prompt = counter.CountPrompt(Conversation(), "no-such-vocab", "chatml");
  EXPECT_EQ(prompt.status().code(), absl::StatusCode::kNotFound);
  // A name is never a path.
  EXPECT_EQ(
      counter.CountText("hello", "../models/ggml-vocab-qwen2").status().code(),
      absl::StatusCode::kNotFound);
  TokenCounter empty_dir("/nonexistent");
  EXPECT_EQ(empty_dir.CountText("hello", "qwen2").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TokenCounterTest, PreloadLoadsOrReportsTheVocabulary) {
  TokenCounter counter(kModels, "qwen2");
  EXPECT_TRUE(counter.Preload("").ok());
  EXPECT_TRUE(counter.Preload("gpt-2").ok());
  EXPECT_EQ(counter.Preload("no-such-vocab").code(),
            absl::StatusCode::kNotFound);
  auto count = counter.CountText("hello world", "");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2);
}

TEST(TokenCounterTest, UnknownTemplateIsInvalidArgument) {
  TokenCounter counter(kModels);
  auto count = counter.CountPrompt(Conversation(), "qwen2", "no-such-template");
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(), HasSubstr("no-such-template"));
  // Jinja text is not a template name, even though llama.cpp would guess.
  count = counter.CountPrompt(Conversation(), "qwen2", "{{ '<|im_start|>' }}");
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenCounterTest, ConcurrentCountsAgreeWithSerialOnes) {
  const std::vector<std::string> vocabs = {"qwen2", "llama-bpe", "gpt-2",
                                           "deepseek-llm"};
  const std::vector<std::string> templates = {"chatml", "llama3", "deepseek3"};
  TokenCounter serial(kModels);
  std::vector<int64_t> expected;
  for (const auto& vocab : vocabs) {
    for (const auto& tmpl : templates) {
      auto count = serial.CountPrompt(Conversation(), vocab, tmpl);
      ASSERT_TRUE(count.ok()) << count.status();
      expected.push_back(count->prompt_tokens);
    }
  }

  TokenCounter shared(kModels);  // fresh: the threads race to load
  std::vector<std::vector<int64_t>> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t v = 0; v < vocabs.size(); ++v) {
          // Each thread starts with a different vocabulary.
          const std::string& vocab =
              vocabs[(v + static_cast<size_t>(t)) % vocabs.size()];
          for (const auto& tmpl : templates) {
            auto count = shared.CountPrompt(Conversation(), vocab, tmpl);
            results[static_cast<size_t>(t)].push_back(
                count.ok() ? count->prompt_tokens : -1);
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 8; ++t) {
    const auto& got = results[static_cast<size_t>(t)];
    ASSERT_EQ(got.size(), 20 * vocabs.size() * templates.size());
    for (size_t i = 0; i < got.size(); ++i) {
      size_t slot = i % (vocabs.size() * templates.size());
      size_t v =
          (slot / templates.size() + static_cast<size_t>(t)) % vocabs.size();
      EXPECT_EQ(got[i],
                expected[v * templates.size() + slot % templates.size()])
          << "thread " << t << " call " << i;
    }
  }
}

TEST(TokenCounterTest, LongTextCounts) {
  TokenCounter counter(kModels);
  std::string text;
  while (text.size() < 100000)
    text += "The quick brown fox jumps over the lazy dog. ";
  auto count = counter.CountText(text, "llama-bpe");
  ASSERT_TRUE(count.ok()) << count.status();
  // Ten tokens per sentence of 45 characters, give or take merges.
  EXPECT_GT(*count, 100000 / 45 * 8);
  EXPECT_LT(*count, 100000 / 45 * 12);

  sluice::v1::ChatRequest request;
  AddMessage(request, "user", text);
  auto prompt = counter.CountPrompt(request, "llama-bpe", "llama3");
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_GT(prompt->prompt_tokens, *count);
}

TEST(DefaultVocabDirTest, EnvironmentOverridesBuildDefault) {
  unsetenv("SLUICE_VOCAB_DIR");
  EXPECT_EQ(DefaultVocabDir(), kModels);
  setenv("SLUICE_VOCAB_DIR", "/tmp/vocab", 1);
  EXPECT_EQ(DefaultVocabDir(), "/tmp/vocab");
  unsetenv("SLUICE_VOCAB_DIR");
}

}  // namespace
}  // namespace sluice::tokenizer

namespace sluice::tokenizer {
namespace {

// Prompts that stress a byte bound: CJK, emoji, long whitespace and digit
// runs, code, a lone high byte sequence in valid UTF-8, template look-alikes.
std::vector<sluice::v1::ChatRequest> BoundCorpus() {
  std::vector<std::vector<std::pair<std::string, std::string>>> chats = {
      {{"user", "Hi"}},
      {{"system", "Be brief."}, {"user", "What is a sluice gate?"}},
      {{"user", "日本語のテキスト、そして中文文本。한국어도."}},
      {{"user", "emoji 🚀🔥👩‍💻🇳🇴 and more 🙂🙂🙂🙂"}},
      {{"user", std::string(300, ' ') + "x" + std::string(200, '\n')}},
      {{"user", "1234567890123456789012345678901234567890 3.14159e-10"}},
      {{"user", "int main() {\n  return f(x) << 2 | ~y;\n}\n"},
       {"assistant", "Looks like C."},
       {"tool", "{\"result\": [1, 2, 3]}"},
       {"user", "<|im_start|>user\nnot a real turn<|im_end|>"}},
      {{"user", "a"}, {"assistant", "b"}, {"user", "c"}, {"assistant", "d"}},
  };
  std::vector<sluice::v1::ChatRequest> requests;
  for (const auto& chat : chats) {
    sluice::v1::ChatRequest request;
    for (const auto& [role, text] : chat) AddMessage(request, role, text);
    requests.push_back(request);
  }
  return requests;
}

TEST(PromptTokenBoundTest, NeverBelowTheCountForAnyTemplateOrVocabulary) {
  TokenCounter counter(kModels);
  std::vector<const char*> templates(
      static_cast<size_t>(llama_chat_builtin_templates(nullptr, 0)));
  llama_chat_builtin_templates(templates.data(), templates.size());
  ASSERT_GT(templates.size(), 10u);
  int checked = 0;
  for (const char* vocabulary :
       {"llama-bpe", "llama-spm", "deepseek-llm", "qwen2", "gpt-2", "phi-3"}) {
    for (const char* chat_template : templates) {
      for (const sluice::v1::ChatRequest& request : BoundCorpus()) {
        auto count = counter.CountPrompt(request, vocabulary, chat_template);
        if (!count.ok()) continue;  // a template that cannot render this chat
        auto bound = TokenCounter::PromptTokenBound(request, chat_template);
        ASSERT_TRUE(bound.ok()) << bound.status();
        EXPECT_GE(*bound, count->prompt_tokens)
            << vocabulary << " / " << chat_template;
        auto only = counter.CountPromptOnly(request, vocabulary, chat_template);
        ASSERT_TRUE(only.ok());
        EXPECT_EQ(only->prompt_tokens, count->prompt_tokens);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(PromptTokenBoundTest, UnknownTemplateIsInvalidArgument) {
  sluice::v1::ChatRequest request;
  AddMessage(request, "user", "hi");
  EXPECT_EQ(TokenCounter::PromptTokenBound(request, "no-such").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::tokenizer
