// Stats and reset, API keys, and latency: delays wait on timers, not on the
// HTTP threads, so many slow streams run side by side.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/upstream-sim/sim_fixture.h"

namespace sluice::sim::testing {
namespace {

constexpr char kRequest[] = R"({"model":"deepseek-chat","messages":[
  {"role":"user","content":"count me"}]})";
constexpr char kStream[] = R"({"model":"gpt-4o-mini","stream":true,
  "messages":[{"role":"user","content":"count me"}]})";

TEST_F(SimTest, StatsCountRequestsTokensAndArrivals) {
  rapidjson::Document answer = Json(Chat(kRequest).body);
  ASSERT_EQ(Chat(kStream).status, 200);
  ASSERT_EQ(Chat(kRequest, {"x-sim-fault: 429"}).status, 429);
  ASSERT_EQ(Get("/v1/models").status, 200);  // not a chat request

  Stats stats = sim_->stats();
  EXPECT_EQ(stats.requests, 3);
  EXPECT_EQ(stats.by_status[200], 2);
  EXPECT_EQ(stats.by_status[429], 1);
  // "count me": 2 words + 4, for the two answered requests.
  EXPECT_EQ(stats.prompt_tokens, 12);
  int64_t completion = answer["usage"]["completion_tokens"].GetInt64();
  EXPECT_GT(stats.completion_tokens, completion);  // the stream's count too
  ASSERT_EQ(stats.arrivals.size(), 3u);
  EXPECT_EQ(stats.arrivals[0].model, "deepseek-chat");
  EXPECT_EQ(stats.arrivals[0].path, "/v1/chat/completions");
  EXPECT_FALSE(stats.arrivals[0].stream);
  EXPECT_EQ(stats.arrivals[1].model, "gpt-4o-mini");
  EXPECT_TRUE(stats.arrivals[1].stream);
  EXPECT_EQ(stats.arrivals[2].fault, "429");
  EXPECT_EQ(stats.arrivals[2].status, 429);
  EXPECT_LE(stats.arrivals[0].ms, stats.arrivals[2].ms);

  Reply json = Get("/sim/stats");
  ASSERT_EQ(json.status, 200);
  rapidjson::Document doc = Json(json.body);
  EXPECT_EQ(doc["requests"].GetInt64(), 3);
  EXPECT_EQ(doc["by_status"]["200"].GetInt64(), 2);
  EXPECT_EQ(doc["prompt_tokens"].GetInt64(), 12);
  EXPECT_EQ(doc["completion_tokens"].GetInt64(), stats.completion_tokens);
  ASSERT_EQ(doc["arrivals"].Size(), 3u);
  EXPECT_EQ(Str(doc["arrivals"][2]["fault"]), "429");
  EXPECT_EQ(doc["arrivals"][1]["stream"].GetBool(), true);

  ASSERT_EQ(Post("/sim/reset", "").status, 200);
  EXPECT_EQ(sim_->stats().requests, 0);
  EXPECT_TRUE(sim_->stats().arrivals.empty());
  ASSERT_EQ(Chat(kRequest).status, 200);
  sim_->Reset();
  EXPECT_EQ(sim_->stats().requests, 0);
}

TEST_F(SimTest, ApiKeyIsRequiredWhenSet) {
  SimulatorOptions options;
  options.required_api_key = "sk-sim";
  Restart(options);

  Reply missing = Chat(kRequest);
  EXPECT_EQ(missing.status, 401);
  rapidjson::Document error = Json(missing.body);
  EXPECT_EQ(Str(error["error"]["code"]), "invalid_api_key");
  EXPECT_EQ(Chat(kRequest, {"Authorization: Bearer sk-other"}).status, 401);
  EXPECT_EQ(Chat(kRequest, {"Authorization: Bearer sk-sim"}).status, 200);

  Reply anthropic = Messages(kRequest, {"Authorization: Bearer sk-sim"});
  EXPECT_EQ(anthropic.status, 401);
  EXPECT_EQ(Str(Json(anthropic.body)["error"]["type"]), "authentication_error");
  EXPECT_EQ(Messages(kRequest, {"x-api-key: sk-sim"}).status, 200);
  EXPECT_EQ(sim_->stats().by_status[401], 3);
}

TEST_F(SimTest, EchoKeyFaultQuotesTheWholeKeySent) {
  SimulatorOptions options;
  options.required_api_key = "prov-key-0123456789";
  Restart(options);
  Reply openai = Chat(kRequest, {"Authorization: Bearer prov-key-0123456789",
                                 "x-sim-fault: echo-key"});
  EXPECT_EQ(openai.status, 401);
  rapidjson::Document error = Json(openai.body);
  EXPECT_EQ(Str(error["error"]["code"]), "invalid_api_key");
  EXPECT_EQ(Str(error["error"]["message"]),
            "Incorrect API key provided: prov-key-0123456789.");
  Reply anthropic = Messages(
      kRequest, {"x-api-key: prov-key-0123456789", "x-sim-fault: echo-key"});
  EXPECT_EQ(anthropic.status, 401);
  EXPECT_EQ(Str(Json(anthropic.body)["error"]["message"]),
            "Incorrect API key provided: prov-key-0123456789.");
}

TEST_F(SimTest, TimeToFirstTokenIsHonoured) {
  absl::Time start = absl::Now();
  Reply reply = Chat(kStream, {"x-sim-ttft-ms: 150", "x-sim-token-ms: 10"});
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(ParseSse(reply.body).Data().back(), "[DONE]");
  EXPECT_GE(took, absl::Milliseconds(150));

  SimulatorOptions options;
  options.ttft = absl::Milliseconds(120);
  Restart(options);
  start = absl::Now();
  EXPECT_EQ(Chat(kRequest).status, 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(120));
  // A header overrides the option.
  start = absl::Now();
  EXPECT_EQ(Chat(kRequest, {"x-sim-ttft-ms: 0"}).status, 200);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(120));
}

TEST_F(SimTest, SlowStreamsDoNotBlockEachOther) {
  // 200 streams that each take >= 400 ms. On the simulator's two HTTP
  // threads, blocking delays would take 40 s; timers take a little over
  // 400 ms (generous bound for a loaded machine).
  constexpr int kStreams = 200;
  std::vector<Call> calls(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    calls[i].path = "/v1/chat/completions";
    calls[i].body =
        absl::StrCat(R"({"model":"gpt-4o-mini","stream":true,"messages":[)",
                     R"({"role":"user","content":"stream )", i, R"("}]})");
    calls[i].headers = {"x-sim-ttft-ms: 300", "x-sim-token-ms: 20"};
  }
  absl::Time start = absl::Now();
  std::vector<Reply> replies = SendAll(sim_->port(), calls);
  absl::Duration took = absl::Now() - start;
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_EQ(replies[i].status, 200) << i;
    std::vector<std::string> data = ParseSse(replies[i].body).Data();
    ASSERT_FALSE(data.empty()) << i;
    EXPECT_EQ(data.back(), "[DONE]") << i;
    EXPECT_THAT(replies[i].body,
                ::testing::HasSubstr(absl::StrCat(" ", i, "\"")));
  }
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(8));
  EXPECT_EQ(sim_->stats().requests, kStreams);
}

}  // namespace
}  // namespace sluice::sim::testing
