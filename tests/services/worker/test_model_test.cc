// The test model is byte-for-byte repeatable, loads in the pinned llama.cpp
// with the vocabulary and chat template it was given, and runs.
#include "services/worker/test_model.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llama.h"

namespace sluice::worker {
namespace {

constexpr int64_t kParams = 2'000'000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void QuietLog(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

class TestModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llama_log_set(QuietLog, nullptr);
    llama_backend_init();
  }

  void SetUp() override {
    char pattern[] = "/tmp/sluice-test-model.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TestModelOptions Options(const std::string& name, uint64_t seed) const {
    TestModelOptions options;
    options.out_path = dir_ + "/" + name;
    options.params = kParams;
    options.seed = seed;
    return options;
  }

  std::string dir_;
};

// The logits after the prompt, from a fresh context.
std::vector<float> PromptLogits(llama_model* model,
                                const std::vector<llama_token>& prompt) {
  llama_context_params params = llama_context_default_params();
  params.n_ctx = 256;
  params.n_batch = 64;
  params.n_ubatch = 64;
  params.n_threads = 2;
  params.n_threads_batch = 2;
  llama_context* ctx = llama_init_from_model(model, params);
  if (ctx == nullptr) return {};
  std::vector<llama_token> tokens = prompt;
  llama_batch batch = llama_batch_get_one(tokens.data(), tokens.size());
  std::vector<float> logits;
  if (llama_decode(ctx, batch) == 0) {
    const float* row = llama_get_logits_ith(ctx, -1);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    logits.assign(row, row + n_vocab);
  }
  llama_free(ctx);
  return logits;
}

TEST_F(TestModelTest, SameSeedSameBytesOtherSeedOtherBytes) {
  ASSERT_TRUE(WriteTestModel(Options("a.gguf", 7)).ok());
  ASSERT_TRUE(WriteTestModel(Options("b.gguf", 7)).ok());
  ASSERT_TRUE(WriteTestModel(Options("c.gguf", 8)).ok());
  std::string a = ReadFile(dir_ + "/a.gguf");
  std::string b = ReadFile(dir_ + "/b.gguf");
  std::string c = ReadFile(dir_ + "/c.gguf");
  ASSERT_GT(a.size(), 4u * kParams);  // F32 weights, then the tokenizer
  EXPECT_TRUE(a == b);
  ASSERT_EQ(a.size(), c.size());  // same shape, other values
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a.gguf.tmp"));
}

TEST_F(TestModelTest, F16HalvesTheWeights) {
  TestModelOptions options = Options("f16.gguf", 1);
  options.f16 = true;
  ASSERT_TRUE(WriteTestModel(options).ok());
  ASSERT_TRUE(WriteTestModel(Options("f32.gguf", 1)).ok());
  // Same metadata (the tokenizer alone is about 8 MB), 2 bytes less a weight.
  const double saved =
      static_cast<double>(std::filesystem::file_size(dir_ + "/f32.gguf")) -
      static_cast<double>(std::filesystem::file_size(dir_ + "/f16.gguf"));
  EXPECT_GT(saved, 2 * 0.95 * kParams);
  EXPECT_LT(saved, 2 * 1.1 * kParams);
}

TEST_F(TestModelTest, LoadsTokenizesAndRunsDeterministically) {
  TestModelOptions options = Options("model.gguf", 1);
  ASSERT_TRUE(WriteTestModel(options).ok());

  llama_model_params vocab_params = llama_model_default_params();
  vocab_params.vocab_only = true;
  llama_model* vocab = llama_model_load_from_file(
      SLUICE_LLAMA_MODELS_DIR "/ggml-vocab-llama-bpe.gguf", vocab_params);
  ASSERT_NE(vocab, nullptr);
  const int32_t vocab_tokens =
      llama_vocab_n_tokens(llama_model_get_vocab(vocab));
  llama_model_free(vocab);

  llama_model_params params = llama_model_default_params();
  llama_model* model =
      llama_model_load_from_file(options.out_path.c_str(), params);
  ASSERT_NE(model, nullptr);
  const double n_params = static_cast<double>(llama_model_n_params(model));
  EXPECT_GT(n_params, 0.8 * kParams);
  EXPECT_LT(n_params, 1.2 * kParams);
  const llama_vocab* model_vocab = llama_model_get_vocab(model);
  EXPECT_EQ(llama_vocab_n_tokens(model_vocab), vocab_tokens);

  const char* chat_template = llama_model_chat_template(model, nullptr);
  ASSERT_NE(chat_template, nullptr);
  EXPECT_THAT(chat_template, ::testing::HasSubstr("start_header_id"));
  llama_chat_message message = {"user", "Hello"};
  std::vector<char> rendered(1024);
  int32_t length = llama_chat_apply_template(chat_template, &message, 1, true,
                                             rendered.data(), rendered.size());
  ASSERT_GT(length, 0);
  ASSERT_LT(length, static_cast<int32_t>(rendered.size()));
  EXPECT_THAT(std::string(rendered.data(), length),
              ::testing::HasSubstr("<|start_header_id|>user<|end_header_id|>"));

  const std::string text = "Hello world";
  std::vector<llama_token> tokens(32);
  int32_t n = llama_tokenize(model_vocab, text.data(), text.size(),
                             tokens.data(), tokens.size(), /*add_special=*/true,
                             /*parse_special=*/false);
  ASSERT_GE(n, 3);  // <|begin_of_text|> Hello ␣world
  tokens.resize(n);

  std::vector<float> first = PromptLogits(model, tokens);
  ASSERT_EQ(first.size(), static_cast<size_t>(vocab_tokens));
  for (float logit : first) ASSERT_TRUE(std::isfinite(logit));
  std::vector<float> second = PromptLogits(model, tokens);
  EXPECT_EQ(first, second);
  llama_model_free(model);
}

TEST_F(TestModelTest, NoTemplateMeansNone) {
  // The qwen2 vocabulary file carries a chat template of its own.
  TestModelOptions options = Options("plain.gguf", 1);
  options.vocab = "qwen2";
  options.chat_template = "";
  ASSERT_TRUE(WriteTestModel(options).ok());
  gguf_init_params params = {/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* gguf = gguf_init_from_file(options.out_path.c_str(), params);
  ASSERT_NE(gguf, nullptr);
  EXPECT_EQ(gguf_find_key(gguf, "tokenizer.chat_template"), -1);
  EXPECT_GE(gguf_find_key(gguf, "tokenizer.ggml.merges"), 0);
  gguf_free(gguf);
}

TEST_F(TestModelTest, BadOptionsAreErrors) {
  TestModelOptions options = Options("x.gguf", 1);
  options.vocab = "no-such-vocab";
  EXPECT_EQ(WriteTestModel(options).code(), absl::StatusCode::kNotFound);
  options = Options("x.gguf", 1);
  options.chat_template = "no-such-template";
  EXPECT_EQ(WriteTestModel(options).code(), absl::StatusCode::kNotFound);
  options = Options("x.gguf", 1);
  options.params = 0;
  EXPECT_EQ(WriteTestModel(options).code(), absl::StatusCode::kInvalidArgument);
  options = Options("x.gguf", 1);
  options.out_path = dir_ + "/missing-dir/x.gguf";
  EXPECT_FALSE(WriteTestModel(options).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x.gguf"));
}

TEST(ChooseTestModelDimsTest, LandsNearTheTarget) {
  for (int64_t n_vocab : {32'000, 128'256, 151'936}) {
    for (int64_t params :
         {10'000'000, 20'000'000, 100'000'000, 1'000'000'000}) {
      TestModelDims dims = ChooseTestModelDims(params, n_vocab);
      EXPECT_NEAR(static_cast<double>(dims.params), params, 0.15 * params)
          << n_vocab << " tokens, " << params << " params";
      EXPECT_EQ(dims.n_embd, dims.n_head * dims.head_dim);
      EXPECT_EQ(dims.n_head % dims.n_head_kv, 0);
      EXPECT_GE(dims.n_layer, 2);
      EXPECT_EQ(dims.n_ff % 32, 0);
    }
  }
  // All embedding: the narrowest model there is.
  TestModelDims tiny = ChooseTestModelDims(2'000'000, 128'256);
  EXPECT_EQ(tiny.n_embd, 16);
  EXPECT_EQ(tiny.n_layer, 2);
}

}  // namespace
}  // namespace sluice::worker
