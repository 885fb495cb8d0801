// ParseChatRequest on bad input: every case is INVALID_ARGUMENT (HTTP 400,
// invalid_request_error) naming the parameter the OpenAI way, in words that
// say what is wrong.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"

namespace sluice::codec {
namespace {

struct BadCase {
  std::string json;
  std::string param;
  // A part of the message that must appear in it.
  std::string says;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) {
  return os << c.json;
}

// A valid body plus `fields` (",\"x\":1").
std::string With(absl::string_view fields) {
  return absl::StrCat(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}])", fields,
      "}");
}

// A body whose messages are `messages` (the array's inside).
std::string Messages(absl::string_view messages) {
  return absl::StrCat(R"({"model":"m","messages":[)", messages, "]}");
}

// A body whose only message is a user turn with content `content`.
std::string Content(absl::string_view content) {
  return Messages(absl::StrCat(R"({"role":"user","content":)", content, "}"));
}

class BadRequestTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, InvalidArgumentNamingParam) {
  const BadCase& c = GetParam();
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(c.json);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  sluice::v1::Error error = status::ErrorFromStatus(request.status());
  EXPECT_EQ(error.type(), "invalid_request_error");
  EXPECT_EQ(error.http_status(), 400);
  EXPECT_EQ(error.param(), c.param) << error.message();
  EXPECT_NE(error.message().find(c.says), std::string::npos) << error.message();
}

INSTANTIATE_TEST_SUITE_P(
    Body, BadRequestTest,
    testing::Values(
        BadCase{"", "", "We could not parse the JSON body"},
        BadCase{"{", "", "We could not parse the JSON body"},
        BadCase{R"({"model": "m", oops})", "", "at offset 15"},
        BadCase{"{} trailing", "", "at offset 3"},
        BadCase{"[]", "", "expected a JSON object, but got an array instead"},
        BadCase{"null", "", "but got null instead"},
        BadCase{R"("str")", "", "but got a string instead"},
        BadCase{"42", "", "but got an integer instead"},
        BadCase{"{\"model\":\"m\"" + std::string(100, '[') + "}", "",
                "We could not parse"},
        BadCase{With(",\"x\":" + std::string(100, '[') + std::string(100, ']')),
                "", "nesting deeper than 64"}));

// Raw invalid bytes, overlong forms, encoded surrogates and escaped lone
// surrogates (which the JSON parser would turn into invalid UTF-8).
INSTANTIATE_TEST_SUITE_P(
    Utf8, BadRequestTest,
    testing::Values(
        BadCase{"{\"model\":\"m\xff\",\"messages\":[]}", "model",
                "Invalid 'model': string is not valid UTF-8."},
        BadCase{With(",\"user\":\"\xc3\x28\""), "user", "not valid UTF-8"},
        BadCase{With(",\"user\":\"\xc0\xaf\""), "user", "not valid UTF-8"},
        BadCase{With(",\"user\":\"\xed\xa0\x80\""), "user", "not valid UTF-8"},
        BadCase{With(",\"user\":\"\xf4\x90\x80\x80\""), "user",
                "not valid UTF-8"},
        BadCase{With(",\"user\":\"abc\xe2\x82\""), "user", "not valid UTF-8"},
        BadCase{Content(R"("a\udc00b")"), "messages[0].content",
                "not valid UTF-8"},
        BadCase{Content(R"("a\ud800b")"), "", "surrogate"},
        BadCase{Content("[{\"type\":\"text\",\"text\":\"\x80\"}]"),
                "messages[0].content[0].text", "not valid UTF-8"},
        BadCase{With(",\"thinking\":{\"type\":[\"ok\",\"\xfe\"]}"),
                "thinking.type[1]", "not valid UTF-8"},
        BadCase{With(",\"metadata\":{\"k\xff\":\"v\"}"), "metadata",
                "not valid UTF-8"},
        BadCase{With(",\"k\xff\":1"), "", "a key is not valid UTF-8"}));

INSTANTIATE_TEST_SUITE_P(
    ModelAndMessages, BadRequestTest,
    testing::Values(
        BadCase{R"({"messages":[{"role":"user","content":"hi"}]})", "model",
                "Missing required parameter: 'model'."},
        BadCase{R"({"model":"","messages":[]})", "model",
                "You must provide a model parameter."},
        BadCase{R"({"model":7})", "model",
                "Invalid type for 'model': expected a string, but got an "
                "integer instead."},
        BadCase{R"({"model":null})", "model", "but got null instead"},
        BadCase{R"({"model":"m"})", "messages",
                "Missing required parameter: 'messages'."},
        BadCase{R"({"model":"m","messages":null})", "messages",
                "expected an array, but got null"},
        BadCase{R"({"model":"m","messages":[]})", "messages",
                "Invalid 'messages': empty array. Expected an array with "
                "minimum length 1, but got an empty array instead."},
        BadCase{R"({"model":"m","messages":{}})", "messages",
                "Invalid type for 'messages': expected an array, but got an "
                "object instead."},
        BadCase{Messages("1"), "messages[0]",
                "Invalid type for 'messages[0]': expected an object"},
        BadCase{Messages(R"({"content":"x"})"), "messages[0].role",
                "Missing required parameter: 'messages[0].role'."},
        BadCase{Messages(R"({"role":"user","content":"x"},)"
                         R"({"role":"user","content":"x"},)"
                         R"({"role":"wizard","content":"x"})"),
                "messages[2].role",
                "Invalid value: 'wizard'. Supported values are: 'system', "
                "'developer', 'user', 'assistant', and 'tool'."},
        BadCase{Messages(R"({"role":"function","content":"x"})"),
                "messages[0].role", "Invalid value: 'function'"},
        BadCase{Messages(R"({"role":5,"content":"x"})"), "messages[0].role",
                "expected a string, but got an integer"},
        BadCase{Messages(R"({"role":"user"})"), "messages[0].content",
                "Missing required parameter: 'messages[0].content'."},
        BadCase{Content("null"), "messages[0].content", "Missing required"},
        BadCase{Messages(R"({"role":"system","content":null})"),
                "messages[0].content", "Missing required"},
        BadCase{Content("5"), "messages[0].content",
                "Invalid type for 'messages[0].content': expected one of a "
                "string or array of objects, but got an integer instead."},
        BadCase{Content("{}"), "messages[0].content", "got an object"},
        BadCase{Content("[]"), "messages[0].content",
                "Invalid 'messages[0].content': empty array."},
        BadCase{Content("[5]"), "messages[0].content[0]",
                "expected an object, but got an integer"},
        BadCase{Content(R"([{"text":"x"}])"), "messages[0].content[0].type",
                "Missing required parameter: 'messages[0].content[0].type'."},
        BadCase{Content(R"([{"type":5}])"), "messages[0].content[0].type",
                "expected a string"},
        BadCase{Content(R"([{"type":"text","text":"a"},{"type":"video"}])"),
                "messages[0].content[1].type",
                "Invalid value: 'video'. Supported values are: 'text', "
                "'image_url', 'input_audio', 'file', and 'refusal'."},
        BadCase{Content(R"([{"type":"text"}])"), "messages[0].content[0].text",
                "Missing required parameter"},
        BadCase{Content(R"([{"type":"text","text":1}])"),
                "messages[0].content[0].text", "expected a string"},
        BadCase{Content(R"([{"type":"image_url"}])"),
                "messages[0].content[0].image_url", "Missing required"},
        BadCase{Content(R"([{"type":"image_url","image_url":"http://x"}])"),
                "messages[0].content[0].image_url",
                "expected an object, but got a string"},
        BadCase{Content(R"([{"type":"image_url","image_url":{}}])"),
                "messages[0].content[0].image_url.url", "Missing required"},
        BadCase{Content(R"([{"type":"input_audio","input_audio":)"
                        R"({"data":"AAA"}}])"),
                "messages[0].content[0].input_audio.format",
                "Missing required"},
        BadCase{Content(R"([{"type":"file","file":"f"}])"),
                "messages[0].content[0].file", "expected an object"},
        BadCase{Content(R"([{"type":"refusal"}])"),
                "messages[0].content[0].refusal", "Missing required"},
        BadCase{Messages(R"({"role":"tool","content":"x"})"),
                "messages[0].tool_call_id",
                "Missing required parameter: 'messages[0].tool_call_id'."},
        BadCase{Messages(R"({"role":"tool","content":"x","tool_call_id":1})"),
                "messages[0].tool_call_id", "expected a string"},
        BadCase{Messages(R"({"role":"tool","tool_call_id":"c"})"),
                "messages[0].content", "Missing required"},
        BadCase{Messages(R"({"role":"assistant"})"), "messages[0].content",
                "needs 'content' or 'tool_calls'"},
        BadCase{Messages(R"({"role":"assistant","content":null,)"
                         R"("tool_calls":[]})"),
                "messages[0].content", "needs 'content' or 'tool_calls'"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":{}})"),
                "messages[0].tool_calls", "expected an array"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[1]})"),
                "messages[0].tool_calls[0]", "expected an object"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[{"type":)"
                         R"("function","function":{"name":"f",)"
                         R"("arguments":"{}"}}]})"),
                "messages[0].tool_calls[0].id", "Missing required"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[{"id":"c",)"
                         R"("type":"custom","function":{"name":"f",)"
                         R"("arguments":"{}"}}]})"),
                "messages[0].tool_calls[0].type",
                "Invalid value: 'custom'. Supported values are: 'function'."},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[{"id":"c",)"
                         R"("type":"function"}]})"),
                "messages[0].tool_calls[0].function", "Missing required"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[{"id":"c",)"
                         R"("type":"function","function":{"name":"f"}}]})"),
                "messages[0].tool_calls[0].function.arguments",
                "Missing required"},
        BadCase{Messages(R"({"role":"assistant","tool_calls":[{"id":"c",)"
                         R"("type":"function","function":{"name":1,)"
                         R"("arguments":"{}"}}]})"),
                "messages[0].tool_calls[0].function.name", "expected a string"},
        BadCase{Messages(R"({"role":"user","content":"x","name":1})"),
                "messages[0].name", "expected a string"},
        BadCase{Messages(R"({"role":"assistant","content":"x",)"
                         R"("reasoning_content":{}})"),
                "messages[0].reasoning_content", "expected a string"}));

INSTANTIATE_TEST_SUITE_P(
    Sampling, BadRequestTest,
    testing::Values(
        BadCase{With(R"(,"stream":"yes")"), "stream",
                "Invalid type for 'stream': expected a boolean, but got a "
                "string instead."},
        BadCase{With(R"(,"stream":1)"), "stream", "expected a boolean"},
        BadCase{With(R"(,"stream_options":true)"), "stream_options",
                "expected an object, but got a boolean"},
        BadCase{With(R"(,"stream_options":{"include_usage":1})"),
                "stream_options.include_usage", "expected a boolean"},
        BadCase{With(R"(,"max_tokens":0)"), "max_tokens",
                "Invalid 'max_tokens': integer below minimum value. Expected "
                "a value >= 1, but got 0 instead."},
        BadCase{With(R"(,"max_tokens":-1)"), "max_tokens", "below minimum"},
        BadCase{With(R"(,"max_tokens":1000001)"), "max_tokens",
                "Invalid 'max_tokens': integer above maximum value. Expected "
                "a value <= 1000000, but got 1000001 instead."},
        BadCase{With(R"(,"max_tokens":4294967296)"), "max_tokens",
                "above maximum"},
        BadCase{With(R"(,"max_tokens":18446744073709551615)"), "max_tokens",
                "but got 18446744073709551615 instead"},
        BadCase{With(R"(,"max_tokens":1.5)"), "max_tokens",
                "Invalid type for 'max_tokens': expected an integer, but got "
                "a decimal instead."},
        BadCase{With(R"(,"max_tokens":"100")"), "max_tokens",
                "expected an integer, but got a string"},
        BadCase{With(R"(,"max_completion_tokens":1e12)"),
                "max_completion_tokens", "expected an integer"},
        BadCase{With(R"(,"max_completion_tokens":2147483648)"),
                "max_completion_tokens", "above maximum"},
        BadCase{With(R"(,"max_completion_tokens":0)"), "max_completion_tokens",
                "below minimum"},
        BadCase{With(R"(,"temperature":2.5)"), "temperature",
                "Invalid 'temperature': decimal above maximum value. "
                "Expected a value <= 2, but got 2.5 instead."},
        BadCase{With(R"(,"temperature":3)"), "temperature",
                "decimal above maximum value"},
        BadCase{With(R"(,"temperature":-0.1)"), "temperature",
                "Expected a value >= 0, but got -0.1 instead."},
        BadCase{With(R"(,"temperature":"hot")"), "temperature",
                "Invalid type for 'temperature': expected a decimal, but got "
                "a string instead."},
        BadCase{With(R"(,"temperature":true)"), "temperature",
                "but got a boolean instead"},
        BadCase{With(R"(,"top_p":1.01)"), "top_p", "Expected a value <= 1"},
        BadCase{With(R"(,"top_p":-1)"), "top_p", "Expected a value >= 0"},
        BadCase{With(R"(,"top_p":[])"), "top_p", "expected a decimal"},
        BadCase{With(R"(,"presence_penalty":-3)"), "presence_penalty",
                "Expected a value >= -2"},
        BadCase{With(R"(,"frequency_penalty":2.01)"), "frequency_penalty",
                "Expected a value <= 2"},
        BadCase{With(R"(,"frequency_penalty":"0")"), "frequency_penalty",
                "expected a decimal"},
        BadCase{With(R"(,"seed":"1")"), "seed", "expected an integer"},
        BadCase{With(R"(,"seed":1.5)"), "seed", "but got a decimal"},
        BadCase{With(R"(,"seed":9223372036854775808)"), "seed",
                "above maximum"},
        BadCase{With(R"(,"stop":5)"), "stop",
                "Invalid type for 'stop': expected one of a string or array "
                "of strings, but got an integer instead."},
        BadCase{With(R"(,"stop":{})"), "stop", "but got an object"},
        BadCase{With(R"(,"stop":["a","b","c","d","e"])"), "stop",
                "Invalid 'stop': array too long. Expected an array with "
                "maximum length 4, but got an array with length 5 instead."},
        BadCase{With(R"(,"stop":["a",1])"), "stop[1]", "expected a string"},
        BadCase{With(R"(,"n":0)"), "n", "below minimum"},
        BadCase{With(R"(,"n":129)"), "n", "Expected a value <= 128"},
        BadCase{With(R"(,"n":1.5)"), "n", "expected an integer"},
        BadCase{With(R"(,"n":"1")"), "n", "expected an integer"},
        BadCase{With(R"(,"logprobs":"yes")"), "logprobs", "expected a boolean"},
        BadCase{With(R"(,"top_logprobs":21)"), "top_logprobs",
                "Expected a value <= 20"},
        BadCase{With(R"(,"top_logprobs":-1)"), "top_logprobs",
                "Expected a value >= 0"},
        BadCase{With(R"(,"top_logprobs":true)"), "top_logprobs",
                "expected an integer"},
        BadCase{With(R"(,"parallel_tool_calls":"no")"), "parallel_tool_calls",
                "expected a boolean"},
        BadCase{With(R"(,"user":1)"), "user", "expected a string"}));

INSTANTIATE_TEST_SUITE_P(
    FormatToolsMetadata, BadRequestTest,
    testing::Values(
        BadCase{With(R"(,"response_format":"json")"), "response_format",
                "Invalid type for 'response_format': expected an object, but "
                "got a string instead."},
        BadCase{With(R"(,"response_format":{})"), "response_format.type",
                "Missing required parameter: 'response_format.type'."},
        BadCase{With(R"(,"response_format":{"type":"xml"})"),
                "response_format.type",
                "Invalid value: 'xml'. Supported values are: 'text', "
                "'json_object', and 'json_schema'."},
        BadCase{With(R"(,"response_format":{"type":"json_schema"})"),
                "response_format.json_schema",
                "Missing required parameter: 'response_format.json_schema'."},
        BadCase{With(R"(,"response_format":{"type":"json_schema",)"
                     R"("json_schema":{"schema":{}}})"),
                "response_format.json_schema.name",
                "Missing required parameter: "
                "'response_format.json_schema.name'."},
        BadCase{With(R"(,"response_format":{"type":"json_schema",)"
                     R"("json_schema":{"name":"a b"}})"),
                "response_format.json_schema.name",
                "string does not match pattern"},
        BadCase{With(R"(,"response_format":{"type":"json_schema",)"
                     R"("json_schema":{"name":"a","schema":5}})"),
                "response_format.json_schema.schema", "expected an object"},
        BadCase{With(R"(,"response_format":{"type":"json_schema",)"
                     R"("json_schema":{"name":"a","strict":"yes"}})"),
                "response_format.json_schema.strict", "expected a boolean"},
        BadCase{With(R"(,"tools":{})"), "tools",
                "Invalid type for 'tools': expected an array, but got an "
                "object instead."},
        BadCase{With(R"(,"tools":[1])"), "tools[0]", "expected an object"},
        BadCase{With(R"(,"tools":[{"function":{"name":"f"}}])"),
                "tools[0].type", "Missing required parameter"},
        BadCase{With(R"(,"tools":[{"type":"retrieval"}])"), "tools[0].type",
                "Invalid value: 'retrieval'. Supported values are: "
                "'function'."},
        BadCase{With(R"(,"tools":[{"type":"function"}])"), "tools[0].function",
                "Missing required parameter: 'tools[0].function'."},
        BadCase{With(R"(,"tools":[{"type":"function","function":{}}])"),
                "tools[0].function.name", "Missing required"},
        BadCase{With(R"(,"tools":[{"type":"function","function":)"
                     R"({"name":"a.b"}}])"),
                "tools[0].function.name",
                "Expected a string that matches the pattern "
                "'^[a-zA-Z0-9_-]{1,64}$'."},
        BadCase{With(R"(,"tools":[{"type":"function","function":{"name":")" +
                     std::string(65, 'a') + R"("}}])"),
                "tools[0].function.name", "does not match pattern"},
        BadCase{With(R"(,"tools":[{"type":"function","function":)"
                     R"({"name":"f","parameters":[]}}])"),
                "tools[0].function.parameters", "expected an object"},
        BadCase{With(R"(,"tools":[{"type":"function","function":)"
                     R"({"name":"f","description":5}}])"),
                "tools[0].function.description", "expected a string"},
        BadCase{With(R"(,"tool_choice":"sometimes")"), "tool_choice",
                "Invalid value: 'sometimes'. Supported values are: 'none', "
                "'auto', and 'required'."},
        BadCase{With(R"(,"tool_choice":5)"), "tool_choice",
                "expected one of a string or an object"},
        BadCase{With(R"(,"tool_choice":{"function":{"name":"f"}})"),
                "tool_choice.type", "Missing required"},
        BadCase{With(R"(,"tool_choice":{"type":"tool"})"), "tool_choice.type",
                "Invalid value: 'tool'"},
        BadCase{With(R"(,"tool_choice":{"type":"function"})"),
                "tool_choice.function", "Missing required"},
        BadCase{With(R"(,"tool_choice":{"type":"function","function":{}})"),
                "tool_choice.function.name", "Missing required"},
        BadCase{With(R"(,"metadata":[])"), "metadata", "expected an object"},
        BadCase{With(R"(,"metadata":{"k":1})"), "metadata.k",
                "Invalid type for 'metadata.k': expected a string"},
        BadCase{With(R"(,"metadata":{"k":")" + std::string(513, 'v') + R"("})"),
                "metadata.k",
                "Invalid 'metadata.k': string too long. Expected a string "
                "with maximum length 512, but got a string with length 513 "
                "instead."},
        BadCase{With(R"(,"metadata":{")" + std::string(65, 'k') + R"(":"v"})"),
                "metadata", "Expected a key with maximum length 64"}));

TEST(BadRequestTest, SeventeenMetadataKeysAreTooMany) {
  std::string metadata;
  for (int i = 0; i < 17; ++i) {
    absl::StrAppend(&metadata, i == 0 ? "" : ",", "\"k", i, "\":\"v\"");
  }
  absl::StatusOr<sluice::v1::ChatRequest> request =
      ParseChatRequest(With(absl::StrCat(",\"metadata\":{", metadata, "}")));
  ASSERT_FALSE(request.ok());
  sluice::v1::Error error = status::ErrorFromStatus(request.status());
  EXPECT_EQ(error.param(), "metadata");
  EXPECT_EQ(error.message(),
            "Invalid 'metadata': too many properties. Expected an object "
            "with at most 16 properties, but got an object with 17 "
            "properties instead.");
}

// A client's value quoted back is cut short, on a character boundary.
TEST(BadRequestTest, LongValuesAreNotEchoedWhole) {
  std::string role;
  for (int i = 0; i < 1000; ++i) role += "é";
  absl::StatusOr<sluice::v1::ChatRequest> request =
      ParseChatRequest(Messages(R"({"content":"x","role":")" + role + "\"}"));
  ASSERT_FALSE(request.ok());
  absl::string_view message = request.status().message();
  EXPECT_LT(message.size(), 300u);
  EXPECT_NE(message.find("éé...'"), absl::string_view::npos) << message;
  // The whole message is still valid UTF-8: it parses as a JSON string.
  absl::StatusOr<sluice::v1::ChatRequest> echo =
      ParseChatRequest(With(absl::StrCat(",\"user\":\"", message, "\"")));
  EXPECT_TRUE(echo.ok()) << echo.status();
}

}  // namespace
}  // namespace sluice::codec
