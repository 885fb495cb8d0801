// The Anthropic Messages endpoint: message shape, token counts, stream event
// order, thinking blocks.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/upstream-sim/sim_fixture.h"
#include "tools/upstream-sim/answer.h"

namespace sluice::sim::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::StartsWith;

constexpr char kRequest[] = R"({"model":"claude-sonnet-4-5","max_tokens":64,
  "system":"Be brief.","messages":[{"role":"user","content":"hello claude"}]})";

TEST_F(SimTest, AnthropicMessageShape) {
  Reply reply = Messages(kRequest);
  ASSERT_EQ(reply.status, 200) << reply.body;
  rapidjson::Document doc = Json(reply.body);
  EXPECT_THAT(Str(doc["id"]), StartsWith("msg_"));
  EXPECT_EQ(Str(doc["type"]), "message");
  EXPECT_EQ(Str(doc["role"]), "assistant");
  EXPECT_EQ(Str(doc["model"]), "claude-sonnet-4-5");
  ASSERT_EQ(doc["content"].Size(), 1u);
  EXPECT_EQ(Str(doc["content"][0]["type"]), "text");
  std::string text = Str(doc["content"][0]["text"]);
  EXPECT_THAT(text, StartsWith("Echo: hello claude "));
  EXPECT_EQ(Str(doc["stop_reason"]), "end_turn");
  EXPECT_TRUE(doc["stop_sequence"].IsNull());
  // "Be brief." and "hello claude": 2 words + 4, twice.
  EXPECT_EQ(doc["usage"]["input_tokens"].GetInt64(), 12);
  EXPECT_EQ(doc["usage"]["output_tokens"].GetInt64(),
            static_cast<int64_t>(SplitTokens(text).size()));
  EXPECT_EQ(doc["usage"]["cache_creation_input_tokens"].GetInt64(), 0);
  EXPECT_EQ(doc["usage"]["cache_read_input_tokens"].GetInt64(), 0);

  // `system` as blocks reads the same as the string.
  rapidjson::Document blocks =
      Json(Messages(
               R"({"model":"claude-sonnet-4-5","max_tokens":64,
      "system":[{"type":"text","text":"Be brief."}],
      "messages":[{"role":"user","content":[{"type":"text","text":"hello claude"}]}]})")
               .body);
  EXPECT_EQ(blocks["usage"]["input_tokens"].GetInt64(), 12);
  EXPECT_EQ(Str(blocks["content"][0]["text"]), text);

  rapidjson::Document capped = Json(
      Messages(
          R"({"model":"claude-sonnet-4-5","max_tokens":2,"system":"Be brief.",
      "messages":[{"role":"user","content":"hello claude"}]})")
          .body);
  EXPECT_EQ(Str(capped["stop_reason"]), "max_tokens");
  EXPECT_EQ(Str(capped["content"][0]["text"]), "Echo: hello");
  EXPECT_EQ(capped["usage"]["output_tokens"].GetInt64(), 2);
}

TEST_F(SimTest, AnthropicStreamEventOrder) {
  rapidjson::Document whole = Json(Messages(kRequest).body);
  std::string request = kRequest;
  request.insert(1, R"("stream":true,)");
  Reply reply = Messages(request);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-type"), "text/event-stream");
  SseBody sse = ParseSse(reply.body);

  std::string text = Str(whole["content"][0]["text"]);
  size_t tokens = SplitTokens(text).size();
  std::vector<std::string> expected = {"message_start", "content_block_start",
                                       "ping"};
  expected.insert(expected.end(), tokens, "content_block_delta");
  expected.insert(expected.end(),
                  {"content_block_stop", "message_delta", "message_stop"});
  std::vector<std::string> names;
  for (const auto& event : sse.events) names.push_back(event.event);
  ASSERT_THAT(names, ElementsAreArray(expected));

  std::string streamed;
  for (const auto& event : sse.events) {
    rapidjson::Document data = Json(event.data);
    EXPECT_EQ(Str(data["type"]), event.event);  // data.type repeats the name
    if (event.event == "message_start") {
      EXPECT_EQ(Str(data["message"]["id"]), Str(whole["id"]));
      EXPECT_EQ(data["message"]["content"].Size(), 0u);
      EXPECT_EQ(data["message"]["usage"]["input_tokens"].GetInt64(), 12);
    } else if (event.event == "content_block_delta") {
      EXPECT_EQ(Str(data["delta"]["type"]), "text_delta");
      streamed += Str(data["delta"]["text"]);
    } else if (event.event == "message_delta") {
      EXPECT_EQ(Str(data["delta"]["stop_reason"]), "end_turn");
      EXPECT_EQ(data["usage"]["output_tokens"].GetInt64(),
                static_cast<int64_t>(tokens));
    }
  }
  EXPECT_EQ(streamed, text);
}

TEST_F(SimTest, AnthropicThinkingComesFirstInItsOwnBlock) {
  constexpr char kThinking[] = R"({"model":"claude-sonnet-4-5","max_tokens":99,
    "thinking":{"type":"enabled","budget_tokens":50},"stream":true,
    "messages":[{"role":"user","content":"think"}]})";
  SseBody sse = ParseSse(Messages(kThinking).body);
  std::vector<std::string> kinds;
  for (const auto& event : sse.events) {
    rapidjson::Document data = Json(event.data);
    if (event.event == "content_block_start") {
      kinds.push_back(Str(data["content_block"]["type"]));
    } else if (event.event == "content_block_delta") {
      kinds.push_back(Str(data["delta"]["type"]));
    }
  }
  ASSERT_GE(kinds.size(), 5u);
  EXPECT_EQ(kinds.front(), "thinking");
  EXPECT_EQ(kinds[1], "thinking_delta");
  auto text = std::find(kinds.begin(), kinds.end(), "text");
  ASSERT_NE(text, kinds.end());
  EXPECT_EQ(*(text - 1), "signature_delta");
  EXPECT_EQ(kinds.back(), "text_delta");
}

TEST_F(SimTest, AnthropicErrorsHaveAnthropicShape) {
  Reply bad = Messages(R"({"max_tokens":5})");
  EXPECT_EQ(bad.status, 400);
  rapidjson::Document doc = Json(bad.body);
  EXPECT_EQ(Str(doc["type"]), "error");
  EXPECT_EQ(Str(doc["error"]["type"]), "invalid_request_error");
  EXPECT_TRUE(doc["error"]["message"].IsString());
}

}  // namespace
}  // namespace sluice::sim::testing
