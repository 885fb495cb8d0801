// Token counts match llama.cpp's own test vectors (models/ggml-vocab-*.gguf
// with their .inp/.out files) for the vocabularies we map models to.
#include "libs/tokenizer/vocab_tokenizer.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace sluice::tokenizer {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class VocabVectorsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectorsTest, MatchesLlamaCppVectors) {
  std::string base = std::string(SLUICE_LLAMA_MODELS) + "/ggml-vocab-" + GetParam() + ".gguf";
  auto tokenizer = VocabTokenizer::Load(base);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::vector<std::string> inputs =
      absl::StrSplit(ReadFile(base + ".inp"), "\n__ggml_vocab_test__\n");
  std::vector<std::string> outputs = absl::StrSplit(ReadFile(base + ".out"), '\n');
  // The input file ends with a separator line too.
  if (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  ASSERT_GE(outputs.size(), inputs.size());
  ASSERT_GT(inputs.size(), 20u);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> expected;
    for (absl::string_view t : absl::StrSplit(outputs[i], ' ', absl::SkipEmpty())) {
      int32_t id = 0;
      ASSERT_TRUE(absl::SimpleAtoi(t, &id)) << t;
      expected.push_back(id);
    }
    auto tokens = (*tokenizer)->Tokenize(inputs[i]);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    EXPECT_EQ(*tokens, expected) << "vector " << i << ": \"" << inputs[i] << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, VocabVectorsTest,
                         ::testing::Values("llama-bpe", "deepseek-llm", "qwen2",
                                           "gpt-2"));

TEST(VocabTokenizerTest, MissingFileIsNotFound) {
  auto tokenizer = VocabTokenizer::Load("/nonexistent/vocab.gguf");
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::tokenizer
