// AnthropicProvider against the in-process upstream simulator over a real
// HttpClient: plain and streamed answers equal the simulator's deterministic
// answer, thinking, limits, usage, 529s, 429s and broken streams.
#include "services/adapters/anthropic_provider.h"

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "services/adapters/anthropic_request.h"
#include "tests/services/adapters/provider_fixture.h"
#include "tools/upstream-sim/answer.h"
#include "tools/upstream-sim/request.h"

namespace sluice::adapters::testing {
namespace {

constexpr char kKeyEnv[] = "SLUICE_TEST_ANTHROPIC_KEY";
constexpr char kKey[] = "sk-ant-test-0123456789";

class AnthropicProviderTest : public ProviderTest {
 protected:
  void SetUp() override {
    ProviderTest::SetUp();
    setenv(kKeyEnv, kKey, 1);
    sim::SimulatorOptions options;
    options.required_api_key = kKey;  // checks x-api-key is sent
    StartSimulator(options);
    sluice::v1::ProviderConfig config =
        Config(sluice::v1::PROVIDER_KIND_ANTHROPIC);
    config.set_api_key_env(kKeyEnv);
    provider_ = std::make_unique<AnthropicProvider>(config, client_.get());
  }

  static sluice::v1::AdapterRequest Request(bool thinking = false) {
    sluice::v1::AdapterRequest request;
    request.set_provider("anthropic");
    request.set_upstream_model("claude-sonnet-4-5");
    auto* chat = request.mutable_request();
    chat->set_model("smart");
    auto* system = chat->add_messages();
    system->set_role("system");
    system->set_text("You are terse.");
    auto* user = chat->add_messages();
    user->set_role("user");
    user->set_text("Tell me about rivers and lakes");
    if (thinking) {
      chat->set_extra_json(
          R"({"thinking":{"type":"enabled","budget_tokens":1024}})");
    }
    return request;
  }

  // What the simulator answers `request` (answer.h is deterministic).
  static sim::Answer Expected(const sluice::v1::AdapterRequest& request) {
    absl::StatusOr<std::string> body =
        WriteAnthropicRequest(request.request(), request.upstream_model());
    EXPECT_TRUE(body.ok()) << body.status();
    absl::StatusOr<sim::ChatRequest> parsed =
        sim::ParseChatRequest(*body, sim::Api::kAnthropic);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return sim::MakeAnswer(*parsed);
  }

  std::unique_ptr<AnthropicProvider> provider_;
};

TEST_F(AnthropicProviderTest, CompleteReturnsTheSimulatorsAnswer) {
  sluice::v1::AdapterRequest request = Request();
  sim::Answer expected = Expected(request);
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->route(), "anthropic/claude-sonnet-4-5");
  EXPECT_EQ(response->model(), "claude-sonnet-4-5");
  ASSERT_EQ(response->choices_size(), 1);
  EXPECT_EQ(response->choices(0).message().text(), expected.ContentText());
  EXPECT_TRUE(absl::StartsWith(response->choices(0).message().text(),
                               "Echo: Tell me about rivers"));
  EXPECT_EQ(response->choices(0).finish_reason(), "stop");
  EXPECT_EQ(response->usage().prompt_tokens(), expected.prompt_tokens);
  EXPECT_EQ(response->usage().completion_tokens(),
            expected.completion_tokens());
  EXPECT_EQ(response->usage().total_tokens(),
            expected.prompt_tokens + expected.completion_tokens());
  sim::Stats stats = sim_->stats();
  ASSERT_EQ(stats.arrivals.size(), 1u);
  EXPECT_EQ(stats.arrivals[0].path, "/v1/messages");
  EXPECT_EQ(stats.arrivals[0].status, 200);
}

TEST_F(AnthropicProviderTest, ThinkingBecomesReasoningContent) {
  sluice::v1::AdapterRequest request = Request(/*thinking=*/true);
  sim::Answer expected = Expected(request);
  ASSERT_FALSE(expected.reasoning.empty());
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->choices(0).message().reasoning_content(),
            expected.ReasoningText());
  EXPECT_EQ(response->choices(0).message().text(), expected.ContentText());
}

TEST_F(AnthropicProviderTest, StreamYieldsTheSameAnswerThenFinishThenUsage) {
  sluice::v1::AdapterRequest request = Request(/*thinking=*/true);
  absl::StatusOr<sluice::v1::ChatResponse> plain =
      CompleteNow(*provider_, request);
  ASSERT_TRUE(plain.ok()) << plain.status();

  ChunkCollector sink;
  provider_->Stream(TestContext(), request, &sink);
  ASSERT_TRUE(sink.WaitEnd().ok()) << sink.WaitEnd();
  std::vector<sluice::v1::ChatChunk> chunks = sink.chunks();
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(chunks.front().choices(0).delta().role(), "assistant");
  StreamText text = JoinDeltas(chunks);
  EXPECT_FALSE(text.reasoning.empty());
  EXPECT_EQ(text.content, plain->choices(0).message().text());
  EXPECT_EQ(text.reasoning, plain->choices(0).message().reasoning_content());
  const auto& finish = chunks[chunks.size() - 2];
  ASSERT_EQ(finish.choices_size(), 1);
  EXPECT_EQ(finish.choices(0).finish_reason(), "stop");
  const auto& usage = chunks.back();
  EXPECT_EQ(usage.choices_size(), 0);
  ASSERT_TRUE(usage.has_usage());
  EXPECT_EQ(usage.usage().prompt_tokens(), plain->usage().prompt_tokens());
  EXPECT_EQ(usage.usage().completion_tokens(),
            plain->usage().completion_tokens());
  for (const auto& chunk : chunks) {
    EXPECT_EQ(chunk.route(), "anthropic/claude-sonnet-4-5");
    if (&chunk != &usage) {
      EXPECT_FALSE(chunk.has_usage());
    }
  }
  EXPECT_EQ(sink.ends(), 1);
  EXPECT_TRUE(sim_->stats().arrivals.back().stream);
}

TEST_F(AnthropicProviderTest, MaxTokensCapFinishesWithLength) {
  sluice::v1::AdapterRequest request = Request();
  request.mutable_request()->set_max_tokens(2);
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->choices(0).finish_reason(), "length");
  EXPECT_EQ(response->usage().completion_tokens(), 2);

  ChunkCollector sink;
  provider_->Stream(TestContext(), request, &sink);
  ASSERT_TRUE(sink.WaitEnd().ok());
  std::vector<sluice::v1::ChatChunk> chunks = sink.chunks();
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[chunks.size() - 2].choices(0).finish_reason(), "length");
}

TEST_F(AnthropicProviderTest, OverloadedIsARetryableErrorThatKeepsItsType) {
  QueueFault("529", 2);
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, Request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  sluice::v1::Error error = status::ErrorFromStatus(response.status());
  EXPECT_EQ(error.type(), "overloaded_error");
  EXPECT_EQ(error.http_status(), 503);
  EXPECT_NE(error.message().find("529"), std::string::npos);

  ChunkCollector sink;
  provider_->Stream(TestContext(), Request(), &sink);
  absl::Status end = sink.WaitEnd();
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ErrorFromStatus(end).type(), "overloaded_error");
  EXPECT_TRUE(sink.chunks().empty());
}

TEST_F(AnthropicProviderTest, RateLimitCarriesRetryAfterAndNoKey) {
  QueueFault("429");
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, Request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::RetryAfterOf(response.status()), absl::Seconds(1));
  EXPECT_EQ(response.status().ToString().find("0123456789"), std::string::npos);
}

TEST_F(AnthropicProviderTest, CutStreamEndsWithAnError) {
  QueueFault("cut");
  ChunkCollector sink;
  provider_->Stream(TestContext(), Request(), &sink);
  absl::Status end = sink.WaitEnd();
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(JoinDeltas(sink.chunks()).content.empty());  // some came
  for (const auto& chunk : sink.chunks()) EXPECT_FALSE(chunk.has_usage());
}

TEST_F(AnthropicProviderTest, MalformedEventEndsWithAnError) {
  QueueFault("malformed");
  ChunkCollector sink;
  provider_->Stream(TestContext(), Request(), &sink);
  absl::Status end = sink.WaitEnd();
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(end.message().find("malformed"), std::string::npos);
}

TEST_F(AnthropicProviderTest, WrongKeyIsAProviderCredentialError) {
  setenv("SLUICE_TEST_ANTHROPIC_BAD_KEY", "sk-ant-wrong-key", 1);
  sluice::v1::ProviderConfig config =
      Config(sluice::v1::PROVIDER_KIND_ANTHROPIC);
  config.set_api_key_env("SLUICE_TEST_ANTHROPIC_BAD_KEY");
  AnthropicProvider wrong(config, client_.get());
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(wrong, Request());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ErrorFromStatus(response.status()).type(),
            "authentication_error");
  EXPECT_EQ(response.status().ToString().find("wrong-key"), std::string::npos);
}

TEST_F(AnthropicProviderTest, UntranslatableRequestFailsWithoutACall) {
  sluice::v1::AdapterRequest request = Request();
  request.mutable_request()->set_tools_json(R"([{"type":"retrieval"}])");
  absl::StatusOr<sluice::v1::ChatResponse> response =
      CompleteNow(*provider_, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  ChunkCollector sink;
  provider_->Stream(TestContext(), request, &sink);
  EXPECT_EQ(sink.WaitEnd().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sim_->stats().arrivals.empty());
}

}  // namespace
}  // namespace sluice::adapters::testing
