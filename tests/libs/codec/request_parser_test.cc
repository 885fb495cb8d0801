// ParseChatRequest: the whole client schema, and every way to get it wrong.
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

struct BadCase {
  const char* json;
  const char* param;
};

class BadRequestTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, InvalidArgumentNamingParam) {
  absl::StatusOr<sluice::v1::ChatRequest> request =
      ParseChatRequest(GetParam().json);
  ASSERT_FALSE(request.ok()) << GetParam().json;
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  sluice::v1::Error error = status::ErrorFromStatus(request.status());
  EXPECT_EQ(error.type(), "invalid_request_error");
  EXPECT_EQ(error.http_status(), 400);
  EXPECT_EQ(error.param(), GetParam().param) << request.status();
  EXPECT_FALSE(error.message().empty());
}

#define MSGS R"("messages":[{"role":"user","content":"hi"}])"

INSTANTIATE_TEST_SUITE_P(
    Cases, BadRequestTest,
    testing::Values(
        BadCase{"", ""}, BadCase{"{", ""}, BadCase{"{\"model\":}", ""},
        BadCase{"[]", ""}, BadCase{"\"str\"", ""}, BadCase{"null", ""},
        BadCase{"{} trailing", ""},
        BadCase{"{\"model\":\"m\xff\"," MSGS "}", ""},
        BadCase{"{\"model\":\"m\"," MSGS ",\"user\":\"\xc3\x28\"}", ""},
        BadCase{"{" MSGS "}", "model"},
        BadCase{"{\"model\":\"\"," MSGS "}", "model"},
        BadCase{"{\"model\":7," MSGS "}", "model"},
        BadCase{R"({"model":"m"})", "messages"},
        BadCase{R"({"model":"m","messages":[]})", "messages"},
        BadCase{R"({"model":"m","messages":{}})", "messages"},
        BadCase{R"({"model":"m","messages":[1]})", "messages[0]"},
        BadCase{R"({"model":"m","messages":[{"content":"x"}]})",
                "messages[0].role"},
        BadCase{
            R"({"model":"m","messages":[{"role":"user","content":"x"},)"
            R"({"role":"user","content":"x"},{"role":"wizard","content":"x"}]})",
            "messages[2].role"},
        BadCase{R"({"model":"m","messages":[{"role":5,"content":"x"}]})",
                "messages[0].role"},
        BadCase{R"({"model":"m","messages":[{"role":"user"}]})",
                "messages[0].content"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":5}]})",
                "messages[0].content"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":[5]}]})",
                "messages[0].content[0]"},
        BadCase{
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
            "messages[0].content[0].text"},
        BadCase{
            R"({"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":1}]})",
            "messages[0].tool_call_id"},
        BadCase{
            R"({"model":"m","messages":[{"role":"assistant","tool_calls":{}}]})",
            "messages[0].tool_calls"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"stream\":\"yes\"}", "stream"},
        BadCase{"{\"model\":\"m\"," MSGS
                ",\"stream_options\":{\"include_usage\":1}}",
                "stream_options.include_usage"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"max_tokens\":-1}", "max_tokens"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"max_tokens\":10000001}",
                "max_tokens"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"max_tokens\":1.5}", "max_tokens"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"max_completion_tokens\":1e12}",
                "max_completion_tokens"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"temperature\":2.5}",
                "temperature"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"temperature\":\"hot\"}",
                "temperature"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"top_p\":1.01}", "top_p"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"presence_penalty\":-3}",
                "presence_penalty"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"frequency_penalty\":3}",
                "frequency_penalty"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"seed\":\"1\"}", "seed"},
        BadCase{"{\"model\":\"m\"," MSGS
                ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
                "stop"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"stop\":[1]}", "stop"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"n\":0}", "n"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"tools\":{}}", "tools"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"response_format\":\"json\"}",
                "response_format"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"user\":1}", "user"},
        BadCase{"{\"model\":\"m\"," MSGS ",\"metadata\":{\"k\":1}}",
                "metadata.k"}));

#undef MSGS

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
