// ParseChatRequest: the whole client schema, its limits and edge cases (bad
// input is request_errors_test.cc).
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"

namespace sluice::codec {
namespace {

TEST(ParseChatRequestTest, FullSchema) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "name": "ann", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
      {"role": "assistant", "content": null, "reasoning_content": "hmm",
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "look", "arguments": "{\"a\":1}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
      {"role": "developer", "content": "dev"},
      {"role": "assistant", "content": "no", "refusal": "I can't"}
    ],
    "stream": true, "stream_options": {"include_usage": true},
    "max_tokens": 100, "max_completion_tokens": 200,
    "temperature": 0.5, "top_p": 1, "seed": -7, "stop": ["a", "b"], "n": 2,
    "presence_penalty": -2, "frequency_penalty": 1.5,
    "response_format": {"type": "json_object"},
    "tools": [{"type": "function", "function": {"name": "look"}}],
    "tool_choice": "auto", "user": "u1", "metadata": {"k": "v"},
    "thinking": {"type": "enabled"}, "reasoning_effort": "high",
    "logprobs": false, "parallel_tool_calls": true
  })");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->model(), "gpt-4o");
  ASSERT_EQ(request->messages_size(), 6);
  EXPECT_EQ(request->messages(0).text(), "be brief");
  const sluice::v1::Message& user = request->messages(1);
  EXPECT_EQ(user.name(), "ann");
  ASSERT_EQ(user.parts().parts_size(), 2);
  EXPECT_EQ(user.parts().parts(0).text(), "what is this?");
  EXPECT_EQ(user.parts().parts(1).type(), "image_url");
  EXPECT_EQ(user.parts().parts(1).raw_json(),
            R"({"type":"image_url","image_url":{"url":"https://x/y.png"}})");
  const sluice::v1::Message& assistant = request->messages(2);
  EXPECT_EQ(assistant.content_case(), sluice::v1::Message::CONTENT_NOT_SET);
  EXPECT_EQ(assistant.reasoning_content(), "hmm");
  ASSERT_EQ(assistant.tool_calls_size(), 1);
  EXPECT_EQ(assistant.tool_calls(0).id(), "call_1");
  EXPECT_EQ(assistant.tool_calls(0).type(), "function");
  EXPECT_EQ(assistant.tool_calls(0).function_name(), "look");
  EXPECT_EQ(assistant.tool_calls(0).function_arguments(), "{\"a\":1}");
  EXPECT_EQ(request->messages(3).tool_call_id(), "call_1");
  EXPECT_EQ(request->messages(4).role(), "developer");
  EXPECT_EQ(request->messages(5).refusal(), "I can't");
  EXPECT_TRUE(request->stream());
  EXPECT_TRUE(request->include_usage());
  EXPECT_EQ(request->max_tokens(), 100);
  EXPECT_EQ(request->max_completion_tokens(), 200);
  EXPECT_DOUBLE_EQ(request->temperature(), 0.5);
  EXPECT_DOUBLE_EQ(request->top_p(), 1.0);
  EXPECT_EQ(request->seed(), -7);
  ASSERT_EQ(request->stops_size(), 2);
  EXPECT_EQ(request->stops(1), "b");
  EXPECT_EQ(request->n(), 2);
  EXPECT_DOUBLE_EQ(request->presence_penalty(), -2.0);
  EXPECT_DOUBLE_EQ(request->frequency_penalty(), 1.5);
  EXPECT_EQ(request->response_format_json(), R"({"type":"json_object"})");
  EXPECT_EQ(request->tools_json(),
            R"([{"type":"function","function":{"name":"look"}}])");
  EXPECT_EQ(request->tool_choice_json(), R"("auto")");
  EXPECT_EQ(request->user(), "u1");
  EXPECT_EQ(request->metadata().at("k"), "v");
  EXPECT_EQ(request->extra_json(),
            R"({"thinking":{"type":"enabled"},"reasoning_effort":"high",)"
            R"("logprobs":false,"parallel_tool_calls":true})");
}

TEST(ParseChatRequestTest, MinimalLeavesOptionalsUnset) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
      R"("stop":"x","temperature":null})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->stream());
  EXPECT_FALSE(request->has_max_tokens());
  EXPECT_FALSE(request->has_temperature());
  EXPECT_FALSE(request->has_seed());
  ASSERT_EQ(request->stops_size(), 1);
  EXPECT_EQ(request->stops(0), "x");
  EXPECT_TRUE(request->extra_json().empty());
}

TEST(ParseChatRequestTest, KeepsUnicodeAndEscapes) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"h\u00e9 \"q\"\n😀"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->messages(0).text(), "hé \"q\"\n😀");
}

TEST(ParseChatRequestTest, EscapedSurrogatePairIsOneCharacter) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"\ud83d\ude00"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->messages(0).text(), "😀");
}

// OpenAI SDKs send null for optional fields they do not set.
TEST(ParseChatRequestTest, NullMeansAbsent) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"hi","name":null,)"
      R"("tool_calls":null}],"stream":null,"stream_options":null,)"
      R"("max_tokens":null,"max_completion_tokens":null,"n":null,)"
      R"("temperature":null,"top_p":null,"presence_penalty":null,)"
      R"("frequency_penalty":null,"seed":null,"stop":null,)"
      R"("response_format":null,"tools":null,"tool_choice":null,)"
      R"("user":null,"metadata":null,"logprobs":null,"top_logprobs":null})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->stream());
  EXPECT_FALSE(request->has_max_tokens());
  EXPECT_FALSE(request->has_max_completion_tokens());
  EXPECT_FALSE(request->has_n());
  EXPECT_FALSE(request->has_temperature());
  EXPECT_FALSE(request->has_top_p());
  EXPECT_FALSE(request->has_seed());
  EXPECT_EQ(request->stops_size(), 0);
  EXPECT_TRUE(request->response_format_json().empty());
  EXPECT_TRUE(request->tools_json().empty());
  EXPECT_TRUE(request->tool_choice_json().empty());
  EXPECT_TRUE(request->metadata().empty());
  EXPECT_EQ(request->messages(0).tool_calls_size(), 0);
}

TEST(ParseChatRequestTest, LimitsAreInclusive) {
  std::string metadata;
  for (int i = 0; i < 16; ++i) {
    absl::StrAppend(&metadata, i == 0 ? "" : ",", "\"", i, std::string(62, 'k'),
                    "\":\"", std::string(512, 'v'), "\"");
  }
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      absl::StrCat(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                   R"("max_tokens":1000000,"max_completion_tokens":1,"n":1,)"
                   R"("temperature":2,"top_p":0,"presence_penalty":-2,)"
                   R"("frequency_penalty":2,"seed":-9223372036854775808,)"
                   R"("stop":["a","b","c","d"],"top_logprobs":20,"metadata":{)",
                   metadata, "}}"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->max_tokens(), 1000000);
  EXPECT_EQ(request->max_completion_tokens(), 1);
  EXPECT_DOUBLE_EQ(request->temperature(), 2.0);
  EXPECT_DOUBLE_EQ(request->top_p(), 0.0);
  EXPECT_EQ(request->seed(), INT64_MIN);
  EXPECT_EQ(request->stops_size(), 4);
  EXPECT_EQ(request->metadata_size(), 16);
  request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
      R"("seed":9223372036854775807,"stop":[]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->seed(), INT64_MAX);
  EXPECT_EQ(request->stops_size(), 0);
}

TEST(ParseChatRequestTest, EveryContentPartType) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(R"({
    "model": "m",
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "t"},
        {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "f"}}]},
      {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
      {"role": "assistant", "refusal": "no"}
    ]})");
  ASSERT_TRUE(request.ok()) << request.status();
  const sluice::v1::ContentParts& parts = request->messages(0).parts();
  ASSERT_EQ(parts.parts_size(), 4);
  EXPECT_EQ(parts.parts(2).type(), "input_audio");
  EXPECT_EQ(
      parts.parts(2).raw_json(),
      R"({"type":"input_audio","input_audio":{"data":"AA","format":"wav"}})");
  EXPECT_EQ(parts.parts(3).type(), "file");
  EXPECT_EQ(request->messages(1).parts().parts(0).type(), "refusal");
  EXPECT_EQ(request->messages(2).refusal(), "no");
}

TEST(ParseChatRequestTest, StructuredFieldsPassThrough) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"a-1",)"
      R"("schema":{"type":"object"},"strict":true}},)"
      R"("tools":[{"type":"function","function":{"name":"get_w","strict":null,)"
      R"("description":"d","parameters":{"type":"object"}}}],)"
      R"("tool_choice":{"type":"function","function":{"name":"get_w"}}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->response_format_json(),
            R"({"type":"json_schema","json_schema":{"name":"a-1",)"
            R"("schema":{"type":"object"},"strict":true}})");
  EXPECT_NE(request->tools_json().find("get_w"), std::string::npos);
  EXPECT_EQ(request->tool_choice_json(),
            R"({"type":"function","function":{"name":"get_w"}})");
}

// OpenAI refuses "tools": [], which some clients send; we drop it instead.
TEST(ParseChatRequestTest, EmptyToolsAreAbsent) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->tools_json().empty());
}

// A repeated key keeps its last value, as OpenAI's (Python) parser does;
// never both.
TEST(ParseChatRequestTest, RepeatedKeyLastWins) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(
      R"({"model":"a","model":"b",)"
      R"("messages":[{"role":"user","content":"one"}],)"
      R"("messages":[{"role":"user","content":[{"type":"text","text":"x"}],)"
      R"("content":[{"type":"text","text":"two"}]}],)"
      R"("stop":["s","t"],"stop":"u","metadata":{"k":"1"},"metadata":{"j":"2"},)"
      R"("thinking":1,"thinking":2})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->model(), "b");
  ASSERT_EQ(request->messages_size(), 1);
  ASSERT_EQ(request->messages(0).parts().parts_size(), 1);
  EXPECT_EQ(request->messages(0).parts().parts(0).text(), "two");
  ASSERT_EQ(request->stops_size(), 1);
  EXPECT_EQ(request->stops(0), "u");
  EXPECT_EQ(request->metadata_size(), 1);
  EXPECT_EQ(request->extra_json(), R"({"thinking":2})");
}

TEST(ParseChatRequestTest, MalformedJsonSaysWhere) {
  absl::StatusOr<sluice::v1::ChatRequest> request =
      ParseChatRequest(R"({"model": "m", oops})");
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.status().message().find("offset 15"),
            absl::string_view::npos)
      << request.status();
}

TEST(ParseChatRequestTest, DeepNestingIsAnErrorNotACrash) {
  std::string json =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"x":)";
  json += std::string(100000, '[') + std::string(100000, ']') + "}";
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(json);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::codec
