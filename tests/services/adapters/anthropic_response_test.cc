// Anthropic answers → our protos: message objects, stop reasons, usage with
// cache tokens, error bodies, and the stream decoder fed real SSE text
// (tool use, error events, malformed and unfinished streams).
#include "services/adapters/anthropic_response.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/sse_parser.h"
#include "libs/status/errors.h"
#include "services/adapters/anthropic_error.h"
#include "services/adapters/anthropic_stream.h"

namespace sluice::adapters {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(AnthropicResponseTest, MessageBlocksBecomeContentReasoningAndToolCalls) {
  absl::StatusOr<sluice::v1::ChatResponse> response = ParseAnthropicMessage(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude",)"
      R"("content":[{"type":"thinking","thinking":"Let me see.","signature":"s"},)"
      R"({"type":"text","text":"Checking "},{"type":"text","text":"now."},)"
      R"({"type":"tool_use","id":"toolu_1","name":"get_weather",)"
      R"("input":{"city":"Paris"}}],"stop_reason":"tool_use",)"
      R"("usage":{"input_tokens":10,"output_tokens":7,)"
      R"("cache_creation_input_tokens":3,"cache_read_input_tokens":20}})",
      kNow);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), "msg_1");
  EXPECT_EQ(response->model(), "claude");
  EXPECT_EQ(response->created(), 1700000000);
  ASSERT_EQ(response->choices_size(), 1);
  const auto& choice = response->choices(0);
  EXPECT_EQ(choice.finish_reason(), "tool_calls");
  EXPECT_EQ(choice.message().role(), "assistant");
  EXPECT_EQ(choice.message().text(), "Checking now.");
  EXPECT_EQ(choice.message().reasoning_content(), "Let me see.");
  ASSERT_EQ(choice.message().tool_calls_size(), 1);
  const auto& call = choice.message().tool_calls(0);
  EXPECT_EQ(call.id(), "toolu_1");
  EXPECT_EQ(call.type(), "function");
  EXPECT_EQ(call.function_name(), "get_weather");
  EXPECT_EQ(call.function_arguments(), R"({"city":"Paris"})");
  const auto& usage = response->usage();
  EXPECT_EQ(usage.prompt_tokens(), 33);  // input + cache read + cache write
  EXPECT_EQ(usage.cached_tokens(), 20);
  EXPECT_EQ(usage.cache_creation_tokens(), 3);
  EXPECT_EQ(usage.completion_tokens(), 7);
  EXPECT_EQ(usage.total_tokens(), 40);
}

TEST(AnthropicResponseTest, ToolOnlyAnswerHasNullContent) {
  absl::StatusOr<sluice::v1::ChatResponse> response = ParseAnthropicMessage(
      R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"f",)"
      R"("input":{}}],"stop_reason":"tool_use"})",
      kNow);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->choices(0).message().has_text());
}

TEST(AnthropicResponseTest, StopReasonsMapToFinishReasons) {
  EXPECT_EQ(FinishReasonOf("end_turn"), "stop");
  EXPECT_EQ(FinishReasonOf("stop_sequence"), "stop");
  EXPECT_EQ(FinishReasonOf("pause_turn"), "stop");
  EXPECT_EQ(FinishReasonOf("max_tokens"), "length");
  EXPECT_EQ(FinishReasonOf("model_context_window_exceeded"), "length");
  EXPECT_EQ(FinishReasonOf("tool_use"), "tool_calls");
  EXPECT_EQ(FinishReasonOf("refusal"), "content_filter");
}

TEST(AnthropicResponseTest, NonMessagesAreBadUpstreamAnswers) {
  for (const char* body :
       {"{", R"({"type":"error"})", R"({"type":"message"})"}) {
    absl::StatusOr<sluice::v1::ChatResponse> response =
        ParseAnthropicMessage(body, kNow);
    ASSERT_FALSE(response.ok()) << body;
    EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  }
}

TEST(AnthropicErrorTest, OverloadedIsRetryableAndKeepsItsType) {
  upstream::HttpResponseHead head;
  head.status = 529;
  absl::Status status = AnthropicHttpError(
      "anthropic", head,
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
      kNow);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  sluice::v1::Error error = status::ErrorFromStatus(status);
  EXPECT_EQ(error.type(), "overloaded_error");
  EXPECT_EQ(error.http_status(), 503);
  EXPECT_NE(error.message().find("529"), std::string::npos);
  EXPECT_NE(error.message().find("Overloaded"), std::string::npos);
}

TEST(AnthropicErrorTest, RateLimitKeepsRetryAfterAndBadRequestsStay400) {
  upstream::HttpResponseHead head;
  head.status = 429;
  head.headers = {{"retry-after", "3"}};
  absl::Status limited = AnthropicHttpError(
      "anthropic", head,
      R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})",
      kNow);
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::RetryAfterOf(limited), absl::Seconds(3));
  head.status = 400;
  head.headers.clear();
  absl::Status bad = AnthropicHttpError(
      "anthropic", head,
      R"({"type":"error","error":{"type":"invalid_request_error","message":"no"}})",
      kNow);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ErrorFromStatus(bad).type(), "invalid_request_error");
}

// Feeds SSE text through our SseParser into a decoder.
struct Decoded {
  std::vector<sluice::v1::ChatChunk> chunks;
  absl::Status status;
};

Decoded Decode(const std::string& sse) {
  Decoded out;
  AnthropicStreamDecoder decoder("anthropic", "anthropic/claude", kNow,
                                 [&out](sluice::v1::ChatChunk chunk) {
                                   out.chunks.push_back(std::move(chunk));
                                 });
  http::SseParser parser(
      [&decoder](const http::SseParser::Event& e) { decoder.OnEvent(e); });
  parser.Feed(sse);
  out.status = decoder.EndStatus();
  return out;
}

std::string Event(const std::string& name, const std::string& data) {
  return absl::StrCat("event: ", name, "\ndata: ", data, "\n\n");
}

const std::string kStart = Event(
    "message_start",
    R"({"type":"message_start","message":{"id":"msg_9","type":"message",)"
    R"("role":"assistant","model":"claude","content":[],"stop_reason":null,)"
    R"("usage":{"input_tokens":12,"output_tokens":1,)"
    R"("cache_read_input_tokens":8,"cache_creation_input_tokens":0}}})");

TEST(AnthropicStreamTest, ToolUseStreamsAsToolCallDeltas) {
  Decoded decoded = Decode(
      kStart + Event("ping", R"({"type":"ping"})") +
      Event("content_block_start",
            R"({"type":"content_block_start","index":0,"content_block":)"
            R"({"type":"text","text":""}})") +
      Event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":)"
            R"({"type":"text_delta","text":"Let me check."}})") +
      Event("content_block_stop",
            R"({"type":"content_block_stop","index":0})") +
      Event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":)"
          R"({"type":"tool_use","id":"toolu_7","name":"get_weather","input":{}}})") +
      Event("content_block_delta",
            R"({"type":"content_block_delta","index":1,"delta":)"
            R"({"type":"input_json_delta","partial_json":"{\"city\": "}})") +
      Event("content_block_delta",
            R"({"type":"content_block_delta","index":1,"delta":)"
            R"({"type":"input_json_delta","partial_json":"\"Paris\"}"}})") +
      Event("content_block_stop",
            R"({"type":"content_block_stop","index":1})") +
      Event("message_delta",
            R"({"type":"message_delta","delta":{"stop_reason":"tool_use",)"
            R"("stop_sequence":null},"usage":{"output_tokens":25}})") +
      Event("message_stop", R"({"type":"message_stop"})"));
  ASSERT_TRUE(decoded.status.ok()) << decoded.status;
  const auto& chunks = decoded.chunks;
  // role, text, tool start, 2 argument deltas, finish, usage
  ASSERT_EQ(chunks.size(), 7u);
  EXPECT_EQ(chunks[0].choices(0).delta().role(), "assistant");
  EXPECT_EQ(chunks[0].id(), "msg_9");
  EXPECT_EQ(chunks[0].route(), "anthropic/claude");
  EXPECT_EQ(chunks[1].choices(0).delta().text(), "Let me check.");
  const auto& start = chunks[2].choices(0).delta().tool_calls(0);
  EXPECT_EQ(start.index(), 0);
  EXPECT_EQ(start.id(), "toolu_7");
  EXPECT_EQ(start.function_name(), "get_weather");
  std::string arguments;
  for (int i = 3; i <= 4; ++i) {
    const auto& call = chunks[i].choices(0).delta().tool_calls(0);
    EXPECT_EQ(call.index(), 0);
    arguments += call.function_arguments();
  }
  EXPECT_EQ(arguments, R"({"city": "Paris"})");
  EXPECT_EQ(chunks[5].choices(0).finish_reason(), "tool_calls");
  EXPECT_EQ(chunks[6].choices_size(), 0);
  ASSERT_TRUE(chunks[6].has_usage());
  EXPECT_EQ(chunks[6].usage().prompt_tokens(), 20);
  EXPECT_EQ(chunks[6].usage().cached_tokens(), 8);
  EXPECT_EQ(chunks[6].usage().completion_tokens(), 25);
  EXPECT_EQ(chunks[6].usage().total_tokens(), 45);
  for (const auto& chunk : chunks) EXPECT_EQ(chunk.id(), "msg_9");
}

TEST(AnthropicStreamTest, ErrorEventEndsTheStreamWithItsError) {
  Decoded decoded = Decode(
      kStart +
      Event("content_block_start",
            R"({"type":"content_block_start","index":0,"content_block":)"
            R"({"type":"text","text":""}})") +
      Event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":)"
            R"({"type":"text_delta","text":"Hel"}})") +
      Event("error", R"({"type":"error","error":{"type":"overloaded_error",)"
                     R"("message":"Overloaded"}})") +
      Event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":)"
            R"({"type":"text_delta","text":"lo"}})"));
  EXPECT_EQ(decoded.status.code(), absl::StatusCode::kUnavailable);
  sluice::v1::Error error = status::ErrorFromStatus(decoded.status);
  EXPECT_EQ(error.type(), "overloaded_error");
  EXPECT_EQ(error.http_status(), 503);
  ASSERT_EQ(decoded.chunks.size(), 2u);  // nothing after the error
  EXPECT_EQ(decoded.chunks[1].choices(0).delta().text(), "Hel");
}

TEST(AnthropicStreamTest, ApiErrorEventIsAnUpstreamError) {
  Decoded decoded = Decode(
      kStart + Event("error", R"({"type":"error","error":{"type":"api_error",)"
                              R"("message":"Internal"}})"));
  EXPECT_EQ(decoded.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(decoded.status.message().find("api_error"), std::string::npos);
}

TEST(AnthropicStreamTest, MalformedAndUnfinishedStreamsFail) {
  Decoded malformed = Decode(
      kStart + "event: content_block_delta\ndata: {\"type\":\"content_\n\n");
  EXPECT_EQ(malformed.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(malformed.status.message().find("malformed"), std::string::npos);

  Decoded unfinished = Decode(kStart);
  EXPECT_EQ(unfinished.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(unfinished.status.message().find("message_stop"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::adapters
