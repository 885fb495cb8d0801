// ChatRequest → Anthropic Messages JSON: system merge, turns and their
// merging, tool_use / tool_result, images, tools and tool_choice, limits and
// pass-through fields, and what Anthropic cannot take.
#include "services/adapters/anthropic_request.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatRequest;
using sluice::v1::Message;

Message* Add(ChatRequest& request, const std::string& role,
             const std::string& text) {
  Message* message = request.add_messages();
  message->set_role(role);
  message->set_text(text);
  return message;
}

rapidjson::Document Write(const ChatRequest& request,
                          const std::string& model = "claude-sonnet-4-5") {
  absl::StatusOr<std::string> json = WriteAnthropicRequest(request, model);
  EXPECT_TRUE(json.ok()) << json.status();
  rapidjson::Document doc;
  doc.Parse(json.ok() ? json->c_str() : "{}");
  EXPECT_FALSE(doc.HasParseError());
  return doc;
}

std::string Str(const rapidjson::Value& value) {
  return value.IsString() ? value.GetString() : "<not a string>";
}

TEST(AnthropicRequestTest, SystemAndDeveloperMessagesBecomeTopLevelSystem) {
  ChatRequest request;
  Add(request, "system", "Be brief.");
  Add(request, "developer", "Answer in French.");
  Add(request, "user", "Hello");
  rapidjson::Document doc = Write(request);
  EXPECT_EQ(Str(doc["model"]), "claude-sonnet-4-5");
  EXPECT_EQ(Str(doc["system"]), "Be brief.\n\nAnswer in French.");
  ASSERT_EQ(doc["messages"].Size(), 1u);
  EXPECT_EQ(Str(doc["messages"][0]["role"]), "user");
  EXPECT_EQ(Str(doc["messages"][0]["content"]), "Hello");
  EXPECT_FALSE(doc.HasMember("stream"));
}

TEST(AnthropicRequestTest, MaxTokensDefaultsAndPrefersMaxCompletionTokens) {
  ChatRequest request;
  Add(request, "user", "Hi");
  EXPECT_EQ(Write(request)["max_tokens"].GetInt(), kDefaultMaxTokens);
  request.set_max_tokens(100);
  EXPECT_EQ(Write(request)["max_tokens"].GetInt(), 100);
  request.set_max_completion_tokens(50);
  EXPECT_EQ(Write(request)["max_tokens"].GetInt(), 50);
}

TEST(AnthropicRequestTest, SamplingStopsStreamAndUser) {
  ChatRequest request;
  Add(request, "user", "Hi");
  request.set_temperature(0.5);
  request.set_top_p(0.9);
  request.add_stops("END");
  request.add_stops("STOP");
  request.set_stream(true);
  request.set_user("u-1");
  request.set_seed(7);  // no Anthropic equivalent: dropped
  rapidjson::Document doc = Write(request);
  EXPECT_DOUBLE_EQ(doc["temperature"].GetDouble(), 0.5);
  EXPECT_DOUBLE_EQ(doc["top_p"].GetDouble(), 0.9);
  ASSERT_EQ(doc["stop_sequences"].Size(), 2u);
  EXPECT_EQ(Str(doc["stop_sequences"][1]), "STOP");
  EXPECT_TRUE(doc["stream"].GetBool());
  EXPECT_EQ(Str(doc["metadata"]["user_id"]), "u-1");
  EXPECT_FALSE(doc.HasMember("seed"));
  EXPECT_FALSE(doc.HasMember("stop"));
}

TEST(AnthropicRequestTest, ConsecutiveTurnsOfOneRoleAreMerged) {
  ChatRequest request;
  Add(request, "user", "one");
  Add(request, "user", "two");
  Add(request, "assistant", "three");
  Add(request, "user", "four");
  rapidjson::Document doc = Write(request);
  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 3u);
  ASSERT_TRUE(messages[0]["content"].IsArray());
  ASSERT_EQ(messages[0]["content"].Size(), 2u);
  EXPECT_EQ(Str(messages[0]["content"][0]["text"]), "one");
  EXPECT_EQ(Str(messages[0]["content"][1]["text"]), "two");
  EXPECT_EQ(Str(messages[1]["role"]), "assistant");
  EXPECT_EQ(Str(messages[1]["content"]), "three");
  EXPECT_EQ(Str(messages[2]["content"]), "four");
}

TEST(AnthropicRequestTest, ToolCallsBecomeToolUseAndToolMessagesToolResult) {
  ChatRequest request;
  Add(request, "user", "Weather in Paris and Rome?");
  Message* assistant = Add(request, "assistant", "");
  assistant->clear_text();
  for (auto [id, city] :
       {std::pair<std::string, std::string>{"call_1", "Paris"},
        {"call_2", "Rome"}}) {
    auto* call = assistant->add_tool_calls();
    call->set_id(id);
    call->set_type("function");
    call->set_function_name("get_weather");
    call->set_function_arguments("{\"city\":\"" + city + "\"}");
  }
  Add(request, "tool", "18C")->set_tool_call_id("call_1");
  Add(request, "tool", "21C")->set_tool_call_id("call_2");
  Add(request, "user", "Thanks");
  rapidjson::Document doc = Write(request);
  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 3u);
  const auto& uses = messages[1]["content"];
  EXPECT_EQ(Str(messages[1]["role"]), "assistant");
  ASSERT_EQ(uses.Size(), 2u);  // no empty text block
  EXPECT_EQ(Str(uses[0]["type"]), "tool_use");
  EXPECT_EQ(Str(uses[0]["id"]), "call_1");
  EXPECT_EQ(Str(uses[0]["name"]), "get_weather");
  EXPECT_EQ(Str(uses[0]["input"]["city"]), "Paris");
  EXPECT_EQ(Str(uses[1]["input"]["city"]), "Rome");
  // Both results and the next user text share one user turn, results first.
  const auto& results = messages[2]["content"];
  EXPECT_EQ(Str(messages[2]["role"]), "user");
  ASSERT_EQ(results.Size(), 3u);
  EXPECT_EQ(Str(results[0]["type"]), "tool_result");
  EXPECT_EQ(Str(results[0]["tool_use_id"]), "call_1");
  EXPECT_EQ(Str(results[0]["content"]), "18C");
  EXPECT_EQ(Str(results[1]["tool_use_id"]), "call_2");
  EXPECT_EQ(Str(results[2]["type"]), "text");
  EXPECT_EQ(Str(results[2]["text"]), "Thanks");
}

TEST(AnthropicRequestTest, ImagePartsBecomeImageBlocks) {
  ChatRequest request;
  Message* user = request.add_messages();
  user->set_role("user");
  auto* text = user->mutable_parts()->add_parts();
  text->set_type("text");
  text->set_text("What is this?");
  auto* data = user->mutable_parts()->add_parts();
  data->set_type("image_url");
  data->set_raw_json(
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}})");
  auto* url = user->mutable_parts()->add_parts();
  url->set_type("image_url");
  url->set_raw_json(
      R"({"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}})");
  rapidjson::Document doc = Write(request);
  const auto& content = doc["messages"][0]["content"];
  ASSERT_EQ(content.Size(), 3u);
  EXPECT_EQ(Str(content[0]["text"]), "What is this?");
  EXPECT_EQ(Str(content[1]["type"]), "image");
  EXPECT_EQ(Str(content[1]["source"]["type"]), "base64");
  EXPECT_EQ(Str(content[1]["source"]["media_type"]), "image/png");
  EXPECT_EQ(Str(content[1]["source"]["data"]), "iVBORw0KGgo=");
  EXPECT_EQ(Str(content[2]["source"]["type"]), "url");
  EXPECT_EQ(Str(content[2]["source"]["url"]), "https://example.com/a.jpg");
}

TEST(AnthropicRequestTest, UnsupportedPartsAreInvalidRequests) {
  ChatRequest request;
  Message* user = request.add_messages();
  user->set_role("user");
  auto* audio = user->mutable_parts()->add_parts();
  audio->set_type("input_audio");
  audio->set_raw_json(R"({"type":"input_audio","input_audio":{"data":"x"}})");
  absl::StatusOr<std::string> json = WriteAnthropicRequest(request, "m");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ErrorFromStatus(json.status()).param(),
            "messages[0].content[0]");
}

TEST(AnthropicRequestTest, FunctionToolsAndToolChoiceAreMapped) {
  ChatRequest request;
  Add(request, "user", "Weather?");
  request.set_tools_json(
      R"([{"type":"function","function":{"name":"get_weather",)"
      R"("description":"Current weather","parameters":{"type":"object",)"
      R"("properties":{"city":{"type":"string"}},"required":["city"]}}},)"
      R"({"type":"function","function":{"name":"now"}}])");
  rapidjson::Document doc = Write(request);
  const auto& tools = doc["tools"];
  ASSERT_EQ(tools.Size(), 2u);
  EXPECT_EQ(Str(tools[0]["name"]), "get_weather");
  EXPECT_EQ(Str(tools[0]["description"]), "Current weather");
  EXPECT_EQ(Str(tools[0]["input_schema"]["properties"]["city"]["type"]),
            "string");
  EXPECT_FALSE(tools[0].HasMember("function"));
  EXPECT_EQ(Str(tools[1]["input_schema"]["type"]), "object");
  EXPECT_EQ(Str(doc["tool_choice"]["type"]), "auto");

  const std::pair<std::string, std::string> cases[] = {
      {R"("auto")", "auto"},
      {R"("none")", "none"},
      {R"("required")", "any"},
      {R"({"type":"function","function":{"name":"now"}})", "tool"}};
  for (const auto& [choice, type] : cases) {
    request.set_tool_choice_json(choice);
    rapidjson::Document mapped = Write(request);
    EXPECT_EQ(Str(mapped["tool_choice"]["type"]), type) << choice;
    if (type == "tool") {
      EXPECT_EQ(Str(mapped["tool_choice"]["name"]), "now");
    }
  }

  request.set_tool_choice_json(R"("required")");
  request.set_extra_json(R"({"parallel_tool_calls":false})");
  rapidjson::Document serial = Write(request);
  EXPECT_TRUE(serial["tool_choice"]["disable_parallel_tool_use"].GetBool());
  EXPECT_FALSE(serial.HasMember("parallel_tool_calls"));
}

TEST(AnthropicRequestTest, NonFunctionToolsAndUnknownChoicesAreRejected) {
  ChatRequest request;
  Add(request, "user", "Hi");
  request.set_tools_json(R"([{"type":"code_interpreter"}])");
  EXPECT_EQ(WriteAnthropicRequest(request, "m").status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_tools_json(R"([{"type":"function","function":{"name":"f"}}])");
  request.set_tool_choice_json(R"("sometimes")");
  EXPECT_EQ(WriteAnthropicRequest(request, "m").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AnthropicRequestTest, ExtraFieldsPassThroughWithoutOverriding) {
  ChatRequest request;
  Add(request, "user", "Hi");
  request.set_max_tokens(64);
  request.set_extra_json(
      R"({"thinking":{"type":"enabled","budget_tokens":1024},"top_k":5,)"
      R"("max_tokens":9})");
  rapidjson::Document doc = Write(request);
  EXPECT_EQ(Str(doc["thinking"]["type"]), "enabled");
  EXPECT_EQ(doc["thinking"]["budget_tokens"].GetInt(), 1024);
  EXPECT_EQ(doc["top_k"].GetInt(), 5);
  EXPECT_EQ(doc["max_tokens"].GetInt(), 64);
}

}  // namespace
}  // namespace sluice::adapters
