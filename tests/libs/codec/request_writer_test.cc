// WriteChatRequest: exact upstream bodies, and parse → write → parse.
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"

// GCC 12 reports a false -Wrestrict inside std::string::assign when protobuf
// setters are inlined with string literals (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace sluice::codec {
namespace {

using google::protobuf::util::MessageDifferencer;

TEST(WriteChatRequestTest, ExactUpstreamBody) {
  sluice::v1::ChatRequest request;
  request.set_model("client-model");
  sluice::v1::Message* system = request.add_messages();
  system->set_role("system");
  system->set_text("s \"q\"\n\x01 é");
  sluice::v1::Message* assistant = request.add_messages();
  assistant->set_role("assistant");
  assistant->set_reasoning_content("r");
  sluice::v1::ToolCall* call = assistant->add_tool_calls();
  call->set_id("c1");
  call->set_type("function");
  call->set_function_name("f");
  call->set_function_arguments("{}");
  sluice::v1::Message* tool = request.add_messages();
  tool->set_role("tool");
  tool->set_tool_call_id("c1");
  tool->set_text("ok");
  request.set_stream(true);  // include_usage left false: we ask anyway.
  request.set_max_tokens(5);
  request.set_temperature(0.7);
  request.add_stops("x");
  request.set_tool_choice_json(R"("auto")");
  (*request.mutable_metadata())["k"] = "v";
  request.set_extra_json(R"({"thinking":{"type":"enabled"},"logprobs":false})");

  EXPECT_EQ(WriteChatRequest(request, "up-model"),
            R"({"model":"up-model","messages":[)"
            R"({"role":"system","content":"s \"q\"\n\u0001 é"},)"
            R"({"role":"assistant","content":null,"reasoning_content":"r",)"
            R"("tool_calls":[{"id":"c1","type":"function",)"
            R"("function":{"name":"f","arguments":"{}"}}]},)"
            R"({"role":"tool","content":"ok","tool_call_id":"c1"}],)"
            R"("stream":true,"stream_options":{"include_usage":true},)"
            R"("max_tokens":5,"temperature":0.7,"stop":["x"],)"
            R"("tool_choice":"auto","metadata":{"k":"v"},)"
            R"("thinking":{"type":"enabled"},"logprobs":false})");
}

TEST(WriteChatRequestTest, OmitsUnsetOptionalsAndKeepsModel) {
  sluice::v1::ChatRequest request;
  request.set_model("m");
  sluice::v1::Message* user = request.add_messages();
  user->set_role("user");
  user->set_text("hi");
  EXPECT_EQ(WriteChatRequest(request, ""),
            R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
}

TEST(WriteChatRequestTest, RoundTrip) {
  const char* json = R"({
    "model": "deepseek-reasoner",
    "messages": [
      {"role": "user", "name": "ann", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}}]},
      {"role": "assistant", "content": "a", "reasoning_content": "thought"},
      {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
        "function": {"name": "f", "arguments": "{\"x\":[1,2]}"}}]},
      {"role": "tool", "tool_call_id": "c", "content": "r"}
    ],
    "stream": true, "stream_options": {"include_usage": true},
    "max_completion_tokens": 9, "top_p": 0.25, "seed": 42,
    "stop": ["s1", "s2"], "n": 1, "presence_penalty": 0.5,
    "frequency_penalty": -0.5, "response_format": {"type": "json_schema",
      "json_schema": {"name": "answer", "schema": {"type": "object"}}},
    "tools": [{"type": "function", "function": {"name": "f"}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "user": "u", "metadata": {"a": "1", "b": "2"},
    "thinking": {"type": "disabled"}, "parallel_tool_calls": false
  })";
  absl::StatusOr<sluice::v1::ChatRequest> first = ParseChatRequest(json);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string written = WriteChatRequest(*first, "");
  absl::StatusOr<sluice::v1::ChatRequest> second = ParseChatRequest(written);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << written;
  EXPECT_TRUE(MessageDifferencer::Equals(*first, *second))
      << first->DebugString() << "\n"
      << second->DebugString();
  EXPECT_EQ(WriteChatRequest(*second, ""), written);
}

}  // namespace
}  // namespace sluice::codec
