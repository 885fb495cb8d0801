// The self-hosted path end to end: an OpenAI-shaped request for model
// "local" goes ingress → router → adapters → the llama.cpp worker (in the
// same process, or its own over gRPC) and streams back; its usage is
// metered like any provider's.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "services/worker/test_model.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

// A small random-weight model, written once into the test-model cache.
const std::string& ModelPath() {
  static const std::string* path = [] {
    worker::TestModelOptions options;
    options.params = 3'000'000;
    options.seed = 3;
    absl::StatusOr<std::string> cached = worker::CachedTestModel(options);
    if (!cached.ok()) {
      ADD_FAILURE() << cached.status();
      std::abort();
    }
    return new std::string(*cached);
  }();
  return *path;
}

class WorkerEndToEndTest : public ::testing::TestWithParam<Gateway::Layout> {
 protected:
  void SetUp() override {
    GatewayOptions options;
    options.worker_model = ModelPath();
    auto gateway = Gateway::Start(GetParam(), options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }

  HttpAnswer Chat(const std::string& body) {
    return HttpCall("POST", gateway_->http_base() + "/v1/chat/completions",
                    {absl::StrCat("Authorization: Bearer ", kDemoKey),
                     "Content-Type: application/json"},
                    body);
  }

  rapidjson::Document WaitForUsage(int requests) {
    return testing::WaitForUsage(*gateway_, requests);
  }

  std::unique_ptr<Gateway> gateway_;
};

TEST_P(WorkerEndToEndTest, AStreamedAnswerComesFromTheWorkerAndIsMetered) {
  HttpAnswer streamed = Chat(
      R"({"model":"local","stream":true,"stream_options":{"include_usage":true},)"
      R"("max_tokens":8,"temperature":0,)"
      R"("messages":[{"role":"system","content":"You are terse."},)"
      R"({"role":"user","content":"Name a river."}]})");
  ASSERT_EQ(streamed.status, 200) << streamed.body << streamed.error;
  EXPECT_EQ(streamed.Header("content-type"), "text/event-stream");
  EXPECT_EQ(streamed.Header("x-sluice-route"), "local/local");
  std::vector<std::string> data = SseData(streamed.body);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text, finish;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (const std::string& payload : data) {
    if (payload == "[DONE]") continue;
    rapidjson::Document chunk = Json(payload);
    ASSERT_FALSE(chunk.HasParseError()) << payload;
    for (const auto& choice : chunk["choices"].GetArray()) {
      const auto& delta = choice["delta"];
      if (delta.HasMember("content") && delta["content"].IsString()) {
        text += delta["content"].GetString();
      }
      if (choice.HasMember("finish_reason") && choice["finish_reason"].IsString()) {
        finish = choice["finish_reason"].GetString();
      }
    }
    if (chunk.HasMember("usage") && chunk["usage"].IsObject()) {
      prompt_tokens = chunk["usage"]["prompt_tokens"].GetInt64();
      completion_tokens = chunk["usage"]["completion_tokens"].GetInt64();
    }
  }
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(completion_tokens, 8);
  EXPECT_GT(prompt_tokens, 10);

  // The same request unstreamed gives the same greedy text.
  HttpAnswer whole = Chat(
      R"({"model":"local","max_tokens":8,"temperature":0,)"
      R"("messages":[{"role":"system","content":"You are terse."},)"
      R"({"role":"user","content":"Name a river."}]})");
  ASSERT_EQ(whole.status, 200) << whole.body;
  rapidjson::Document answer = Json(whole.body);
  EXPECT_EQ(std::string(answer["choices"][0]["message"]["content"].GetString()), text);
  EXPECT_EQ(answer["usage"]["prompt_tokens"].GetInt64(), prompt_tokens);
  // The second request found the first one's prompt in a slot's cache.
  ASSERT_TRUE(answer["usage"].HasMember("prompt_tokens_details"));
  EXPECT_GT(answer["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64(), 0);

  rapidjson::Document usage = WaitForUsage(2);
  int64_t metered_prompt = 0, metered_completion = 0;
  for (const auto& row : usage["data"].GetArray()) {
    EXPECT_STREQ(row["model"].GetString(), "local");
    metered_prompt += row["prompt_tokens"].GetInt64();
    metered_completion += row["completion_tokens"].GetInt64();
  }
  EXPECT_EQ(metered_prompt, 2 * prompt_tokens);
  EXPECT_EQ(metered_completion, 16);
}

TEST_P(WorkerEndToEndTest, BadSamplingParametersAreA400) {
  HttpAnswer answer = Chat(
      R"({"model":"local","max_tokens":4,"logit_bias":{"999999999":3},)"
      R"("messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(answer.status, 400) << answer.body;
  rapidjson::Document error = Json(answer.body);
  ASSERT_TRUE(error.HasMember("error")) << answer.body;
  EXPECT_NE(std::string(error["error"]["message"].GetString()).find("logit_bias"),
            std::string::npos)
      << answer.body;
}

// Two worker processes, requests sharing four long system prompts in a
// mixed order: prefix-aware routing keeps each prompt on the worker whose
// slots hold it; round robin scatters them and the slots' caches thrash.
struct RoutingOutcome {
  double hit_rate = 0;  // cached prompt tokens / prompt tokens
  std::vector<std::string> reasons;
  std::string log;  // per request: where it went, what it found
};

RoutingOutcome RunSharedPrompts(const std::string& routing) {
  RoutingOutcome outcome;
  GatewayOptions options;
  options.worker_model = ModelPath();
  options.worker_processes = 2;
  options.worker_routing = routing;
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  EXPECT_TRUE(gateway.ok()) << gateway.status();
  if (!gateway.ok()) return outcome;
  std::vector<std::string> systems;
  for (const char* topic : {"rivers", "locks", "weirs", "canals"}) {
    std::string text = absl::StrCat("You answer questions about ", topic, ". ");
    while (text.size() < 1200) {
      absl::StrAppend(&text, "Rule ", text.size(), ": be precise about ", topic,
                      " and cite the page. ");
    }
    systems.push_back(text);
  }
  // A fixed order in which round robin does not line up with the prompts.
  const int order[] = {0, 1, 2, 3, 1, 0, 3, 2, 2, 3, 0, 1, 3, 1, 2, 0,
                       0, 2, 1, 3, 1, 3, 0, 2};
  int64_t prompt = 0, cached = 0;
  for (size_t i = 0; i < std::size(order); ++i) {
    std::string body = absl::StrCat(
        R"({"model":"local","max_tokens":2,"temperature":0,"messages":[)",
        R"({"role":"system","content":")", systems[order[i]], R"("},)",
        R"({"role":"user","content":"Question number )", i, R"("}]})");
    HttpAnswer answer =
        HttpCall("POST", (*gateway)->http_base() + "/v1/chat/completions",
                 {absl::StrCat("Authorization: Bearer ", kDemoKey),
                  "Content-Type: application/json"},
                 body);
    EXPECT_EQ(answer.status, 200) << answer.body << " curl: " << answer.error;
    if (answer.status != 200) continue;
    outcome.reasons.push_back(answer.Header("x-sluice-route-reason"));
    rapidjson::Document doc = Json(answer.body);
    int64_t hit = doc["usage"].HasMember("prompt_tokens_details")
                      ? doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64()
                      : 0;
    absl::StrAppend(&outcome.log, "\n", i, " prompt ", order[i], " ",
                    outcome.reasons.back(), " cached=", hit);
    if (i < 4) continue;  // each prompt's first visit is cold anywhere
    prompt += doc["usage"]["prompt_tokens"].GetInt64();
    if (doc["usage"].HasMember("prompt_tokens_details")) {
      cached += doc["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64();
    }
  }
  outcome.hit_rate = prompt > 0 ? static_cast<double>(cached) / prompt : 0;
  return outcome;
}

TEST(WorkerPoolTest, PrefixAwareRoutingFindsTheSharedPromptsInCache) {
  RoutingOutcome prefix = RunSharedPrompts("prefix");
  RoutingOutcome round_robin = RunSharedPrompts("round_robin");
  // Every request after the first visits finds its system prompt cached.
  EXPECT_GT(prefix.hit_rate, 0.85) << prefix.log;
  EXPECT_GT(prefix.hit_rate, round_robin.hit_rate + 0.2)
      << "round robin: " << round_robin.hit_rate;
  ASSERT_FALSE(prefix.reasons.empty());
  EXPECT_NE(prefix.reasons.back().find("worker=127.0.0.1:"), std::string::npos)
      << prefix.reasons.back();
  EXPECT_NE(prefix.reasons.back().find(" prefix="), std::string::npos)
      << prefix.reasons.back();
  EXPECT_NE(round_robin.reasons.back().find("round_robin"), std::string::npos)
      << round_robin.reasons.back();
}

INSTANTIATE_TEST_SUITE_P(Layouts, WorkerEndToEndTest,
                         ::testing::Values(Gateway::Layout::kOneProcess,
                                           Gateway::Layout::kSplit),
                         [](const auto& info) {
                           return info.param == Gateway::Layout::kOneProcess
                                      ? std::string("OneProcess")
                                      : std::string("Split");
                         });

}  // namespace
}  // namespace sluice::testing
