// CheckChatRequest: a request that came as a proto (the gRPC Gateway) gets
// exactly the error the same request gets as a JSON body (the same code,
// message, param and OpenAI code), and the raw JSON fields only a proto
// can carry are checked on their own, naming the field.
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"

namespace sluice::codec {
namespace {

using sluice::v1::ChatRequest;

ChatRequest Valid() {
  ChatRequest request;
  request.set_model("m");
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text("hi");
  return request;
}

struct MirrorCase {
  std::string name;
  std::function<void(ChatRequest&)> mutate;
  // The same request as a JSON body.
  std::string json;
};

std::ostream& operator<<(std::ostream& os, const MirrorCase& c) {
  return os << c.name;
}

std::string With(absl::string_view fields) {
  return absl::StrCat(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}])", fields,
      "}");
}

std::string Messages(absl::string_view messages) {
  return absl::StrCat(R"({"model":"m","messages":[)", messages, "]}");
}

class MirrorTest : public testing::TestWithParam<MirrorCase> {};

TEST_P(MirrorTest, TheProtoGetsTheJsonBodysError) {
  ChatRequest request = Valid();
  GetParam().mutate(request);
  absl::StatusOr<ChatRequest> checked = CheckChatRequest(request);
  absl::StatusOr<ChatRequest> parsed = ParseChatRequest(GetParam().json);
  ASSERT_FALSE(parsed.ok()) << "the JSON case must be bad";
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status(), parsed.status());
  sluice::v1::Error error = status::ErrorFromStatus(checked.status());
  EXPECT_EQ(error.http_status(), 400);
  EXPECT_FALSE(error.param().empty()) << error.message();
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MirrorTest,
    testing::Values(
        MirrorCase{"EmptyModel", [](ChatRequest& r) { r.set_model(""); },
                   R"({"model":"","messages":[{"role":"user","content":"hi"}]})"},
        MirrorCase{"NoMessages", [](ChatRequest& r) { r.clear_messages(); },
                   R"({"model":"m","messages":[]})"},
        MirrorCase{"UnknownRole",
                   [](ChatRequest& r) { r.mutable_messages(0)->set_role("wizard"); },
                   Messages(R"({"role":"wizard","content":"hi"})")},
        MirrorCase{"NoRole",
                   [](ChatRequest& r) { r.mutable_messages(0)->clear_role(); },
                   Messages(R"({"content":"hi"})")},
        MirrorCase{"UserWithoutContent",
                   [](ChatRequest& r) { r.mutable_messages(0)->clear_text(); },
                   Messages(R"({"role":"user"})")},
        MirrorCase{"ToolWithoutCallId",
                   [](ChatRequest& r) { r.mutable_messages(0)->set_role("tool"); },
                   Messages(R"({"role":"tool","content":"hi"})")},
        MirrorCase{"ToolCallOfUnknownType",
                   [](ChatRequest& r) {
                     sluice::v1::Message* m = r.mutable_messages(0);
                     m->set_role("assistant");
                     m->clear_text();
                     sluice::v1::ToolCall* call = m->add_tool_calls();
                     call->set_id("c");
                     call->set_type("custom");
                     call->set_function_name("f");
                     call->set_function_arguments("{}");
                   },
                   Messages(R"({"role":"assistant","content":null,"tool_calls":)"
                            R"([{"id":"c","type":"custom","function":)"
                            R"({"name":"f","arguments":"{}"}}]})")},
        MirrorCase{"UnknownContentPart",
                   [](ChatRequest& r) {
                     sluice::v1::Message* m = r.mutable_messages(0);
                     m->mutable_parts()->add_parts()->set_raw_json(
                         R"({"type":"video"})");
                   },
                   Messages(R"({"role":"user","content":[{"type":"video"}]})")},
        MirrorCase{"TemperatureTooHigh",
                   [](ChatRequest& r) { r.set_temperature(2.5); },
                   With(R"(,"temperature":2.5)")},
        MirrorCase{"TopPOutOfRange", [](ChatRequest& r) { r.set_top_p(1.01); },
                   With(R"(,"top_p":1.01)")},
        MirrorCase{"PresencePenalty",
                   [](ChatRequest& r) { r.set_presence_penalty(-3); },
                   With(R"(,"presence_penalty":-3.0)")},  // a double, as sent
        MirrorCase{"FrequencyPenalty",
                   [](ChatRequest& r) { r.set_frequency_penalty(2.01); },
                   With(R"(,"frequency_penalty":2.01)")},
        MirrorCase{"ZeroMaxTokens", [](ChatRequest& r) { r.set_max_tokens(0); },
                   With(R"(,"max_tokens":0)")},
        MirrorCase{"HugeMaxTokens",
                   [](ChatRequest& r) { r.set_max_tokens(1000001); },
                   With(R"(,"max_tokens":1000001)")},
        MirrorCase{"ZeroMaxCompletionTokens",
                   [](ChatRequest& r) { r.set_max_completion_tokens(0); },
                   With(R"(,"max_completion_tokens":0)")},
        MirrorCase{"ZeroChoices", [](ChatRequest& r) { r.set_n(0); },
                   With(R"(,"n":0)")},
        MirrorCase{"TooManyChoices", [](ChatRequest& r) { r.set_n(129); },
                   With(R"(,"n":129)")},
        MirrorCase{"FiveStops",
                   [](ChatRequest& r) {
                     for (const char* s : {"a", "b", "c", "d", "e"}) r.add_stops(s);
                   },
                   With(R"(,"stop":["a","b","c","d","e"])")},
        MirrorCase{"MetadataValueTooLong",
                   [](ChatRequest& r) {
                     (*r.mutable_metadata())["k"] = std::string(513, 'v');
                   },
                   With(R"(,"metadata":{"k":")" + std::string(513, 'v') + R"("})")},
        MirrorCase{"MetadataKeyTooLong",
                   [](ChatRequest& r) {
                     (*r.mutable_metadata())[std::string(65, 'k')] = "v";
                   },
                   With(R"(,"metadata":{")" + std::string(65, 'k') + R"(":"v"})")},
        MirrorCase{"ResponseFormatNotAnObject",
                   [](ChatRequest& r) { r.set_response_format_json(R"("json")"); },
                   With(R"(,"response_format":"json")")},
        MirrorCase{"ResponseFormatType",
                   [](ChatRequest& r) {
                     r.set_response_format_json(R"({"type":"xml"})");
                   },
                   With(R"(,"response_format":{"type":"xml"})")},
        MirrorCase{"JsonSchemaWithoutName",
                   [](ChatRequest& r) {
                     r.set_response_format_json(
                         R"({"type":"json_schema","json_schema":{"schema":{}}})");
                   },
                   With(R"(,"response_format":{"type":"json_schema",)"
                        R"("json_schema":{"schema":{}}})")},
        MirrorCase{"ToolsNotAnArray",
                   [](ChatRequest& r) { r.set_tools_json("{}"); },
                   With(R"(,"tools":{})")},
        MirrorCase{"ToolOfUnknownType",
                   [](ChatRequest& r) {
                     r.set_tools_json(R"([{"type":"retrieval"}])");
                   },
                   With(R"(,"tools":[{"type":"retrieval"}])")},
        MirrorCase{"ToolWithoutName",
                   [](ChatRequest& r) {
                     r.set_tools_json(R"([{"type":"function","function":{}}])");
                   },
                   With(R"(,"tools":[{"type":"function","function":{}}])")},
        MirrorCase{"ToolChoiceWord",
                   [](ChatRequest& r) { r.set_tool_choice_json(R"("sometimes")"); },
                   With(R"(,"tool_choice":"sometimes")")},
        MirrorCase{"ToolChoiceWithoutFunction",
                   [](ChatRequest& r) {
                     r.set_tool_choice_json(R"({"type":"function"})");
                   },
                   With(R"(,"tool_choice":{"type":"function"})")},
        MirrorCase{"ExtraFieldOpenAIChecks",
                   [](ChatRequest& r) { r.set_extra_json(R"({"top_logprobs":21})"); },
                   With(R"(,"top_logprobs":21)")}),
    [](const testing::TestParamInfo<MirrorCase>& info) { return info.param.name; });

struct RawCase {
  std::function<void(ChatRequest&)> mutate;
  std::string param;
  std::string says;
};

class RawFieldTest : public testing::TestWithParam<RawCase> {};

TEST_P(RawFieldTest, NamesTheField) {
  ChatRequest request = Valid();
  GetParam().mutate(request);
  absl::StatusOr<ChatRequest> checked = CheckChatRequest(request);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kInvalidArgument);
  sluice::v1::Error error = status::ErrorFromStatus(checked.status());
  EXPECT_EQ(error.param(), GetParam().param) << error.message();
  EXPECT_NE(error.message().find(GetParam().says), std::string::npos)
      << error.message();
}

INSTANTIATE_TEST_SUITE_P(
    GrpcOnly, RawFieldTest,
    testing::Values(
        RawCase{[](ChatRequest& r) { r.set_tools_json("[{"); }, "tools",
                "not valid JSON"},
        RawCase{[](ChatRequest& r) {
                  r.set_tools_json(std::string(5000, '[') + std::string(5000, ']'));
                },
                "tools", "nested deeper than 63"},
        RawCase{[](ChatRequest& r) { r.set_tool_choice_json("auto"); },
                "tool_choice", "not valid JSON"},
        RawCase{[](ChatRequest& r) { r.set_response_format_json("{\"type\""); },
                "response_format", "not valid JSON"},
        RawCase{[](ChatRequest& r) {
                  r.mutable_messages(0)->mutable_parts()->add_parts()->set_raw_json(
                      std::string(61, '[') + std::string(61, ']'));
                },
                "messages[0].content[0]", "nested deeper than 60"},
        RawCase{[](ChatRequest& r) { r.set_extra_json(R"({"model":"other"})"); },
                "extra_json.model", "is a field of the request"},
        RawCase{[](ChatRequest& r) { r.set_extra_json(R"({"messages":[]})"); },
                "extra_json.messages", "is a field of the request"},
        RawCase{[](ChatRequest& r) { r.set_extra_json("[1]"); }, "extra_json",
                "expected a JSON object"},
        RawCase{[](ChatRequest& r) {
                  r.set_extra_json("{\"x\":" + std::string(100, '[') +
                                   std::string(100, ']') + "}");
                },
                "extra_json", "nested deeper than 64"}));

TEST(CheckChatRequestTest, AGoodRequestComesBackTheSame) {
  ChatRequest request = Valid();
  request.set_stream(true);
  request.set_include_usage(false);
  request.set_temperature(0.5);
  request.set_max_tokens(100);
  request.add_stops("END");
  request.set_tools_json(
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])");
  request.set_tool_choice_json(R"("auto")");
  request.set_extra_json(R"({"thinking":{"type":"enabled"}})");
  (*request.mutable_metadata())["team"] = "search";
  absl::StatusOr<ChatRequest> checked = CheckChatRequest(request);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->model(), "m");
  EXPECT_TRUE(checked->stream());
  EXPECT_FALSE(checked->include_usage());  // the client's, not the body's
  EXPECT_EQ(checked->temperature(), 0.5);
  EXPECT_EQ(checked->max_tokens(), 100);
  EXPECT_EQ(checked->stops(0), "END");
  EXPECT_EQ(checked->messages(0).text(), "hi");
  EXPECT_EQ(checked->metadata().at("team"), "search");
  EXPECT_EQ(checked->extra_json(), R"({"thinking":{"type":"enabled"}})");
  // What goes upstream is what would have gone for the JSON body.
  EXPECT_EQ(WriteChatRequest(*checked, "up"), WriteChatRequest(request, "up"));
}

}  // namespace
}  // namespace sluice::codec
