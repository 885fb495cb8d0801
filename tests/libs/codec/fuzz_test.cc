// Fuzz-ish: truncations, byte flips and odd values put anywhere in valid
// bodies never crash; a request either parses and writes back a body that
// parses, or is INVALID_ARGUMENT naming the field that was changed.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"
#include "rapidjson/pointer.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::codec {
namespace {

constexpr char kRequest[] =
    R"({"model":"m","messages":[{"role":"system","content":"s"},)"
    R"({"role":"user","content":[{"type":"text","text":"h\u00e9"},)"
    R"({"type":"image_url","image_url":{"url":"u"}}]},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"c",)"
    R"("type":"function","function":{"name":"f","arguments":"{}"}}]},)"
    R"({"role":"tool","tool_call_id":"c","content":"r"}],)"
    R"("stream":true,"stream_options":{"include_usage":true},)"
    R"("max_tokens":10,"temperature":1,"top_p":0.5,"seed":1,"stop":["x"],)"
    R"("tools":[{"type":"function","function":{"name":"f"}}],)"
    R"("tool_choice":"auto",)"
    R"("metadata":{"a":"b"},"thinking":{"type":"enabled"}})";

constexpr char kChunk[] =
    R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":)"
    R"({"role":"assistant","content":"x","reasoning_content":"y",)"
    R"("tool_calls":[{"index":0,"id":"i","function":{"arguments":"{"}}]},)"
    R"("finish_reason":null}],"usage":{"prompt_tokens":1,)"
    R"("prompt_tokens_details":{"cached_tokens":1}}})";

// Parses `json` every way; a request that parses must write valid JSON.
void Exercise(absl::string_view json) {
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(json);
  if (request.ok()) {
    std::string written = WriteChatRequest(*request, "");
    ASSERT_TRUE(ParseChatRequest(written).ok()) << json << "\n" << written;
  } else {
    ASSERT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
        << request.status();
    sluice::v1::Error error = status::ErrorFromStatus(request.status());
    ASSERT_EQ(error.http_status(), 400);
    ASSERT_FALSE(error.message().empty());
  }
  absl::StatusOr<sluice::v1::ChatChunk> chunk = ParseChatChunk(json);
  if (chunk.ok()) WriteChatChunk(*chunk, true);
  absl::StatusOr<sluice::v1::ChatResponse> response = ParseChatResponse(json);
  if (response.ok()) WriteChatResponse(*response);
}

TEST(FuzzTest, EveryTruncation) {
  for (absl::string_view body :
       {absl::string_view(kRequest), absl::string_view(kChunk)}) {
    for (size_t n = 0; n <= body.size(); ++n) {
      Exercise(body.substr(0, n));
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_TRUE(ParseChatRequest(kRequest).ok());
  EXPECT_TRUE(ParseChatChunk(kChunk).ok());
}

TEST(FuzzTest, RandomByteFlips) {
  std::mt19937 rng(12345);  // fixed seed: failures are repeatable
  int parsed = 0;
  for (absl::string_view body :
       {absl::string_view(kRequest), absl::string_view(kChunk)}) {
    std::uniform_int_distribution<size_t> pos(0, body.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 3000; ++round) {
      std::string mutated(body);
      int flips = 1 + round % 3;
      for (int f = 0; f < flips; ++f) {
        mutated[pos(rng)] = static_cast<char>(byte(rng));
      }
      Exercise(mutated);
      if (HasFatalFailure()) return;
      parsed += ParseChatRequest(mutated).ok();
    }
  }
  // Some single flips land in string values and still parse.
  EXPECT_GT(parsed, 0);
}

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Error text goes into protos and JSON: it must be valid UTF-8.
bool IsUtf8(absl::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>,
                    rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteValidateEncodingFlag>
      writer(buffer);
  return writer.String(text.data(),
                       static_cast<rapidjson::SizeType>(text.size()));
}

// Every JSON pointer into `value` ("/messages/1/content/0/type").
void CollectPointers(const rapidjson::Value& value, const std::string& at,
                     std::vector<std::string>& out) {
  if (!at.empty()) out.push_back(at);
  if (value.IsObject()) {
    for (const auto& m : value.GetObject()) {
      CollectPointers(m.value, absl::StrCat(at, "/", m.name.GetString()), out);
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      CollectPointers(value[i], absl::StrCat(at, "/", i), out);
    }
  }
}

// "/messages/1/content/0" → "messages[1].content[0]", as params are named.
std::string ParamOf(absl::string_view pointer, const rapidjson::Value& root) {
  std::string param;
  const rapidjson::Value* at = &root;
  for (absl::string_view rest = pointer.substr(1); !rest.empty();) {
    size_t slash = rest.find('/');
    absl::string_view token = rest.substr(0, slash);
    rest = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);
    if (at->IsArray()) {
      size_t i = std::stoul(std::string(token));
      absl::StrAppend(&param, "[", token, "]");
      at = &(*at)[static_cast<rapidjson::SizeType>(i)];
    } else {
      absl::StrAppend(&param, param.empty() ? "" : ".", token);
      at = &(*at)[rapidjson::Value(rapidjson::StringRef(
          token.data(), static_cast<rapidjson::SizeType>(token.size())))];
    }
  }
  return param;
}

// The top-level field a param belongs to: "messages[1].content" → "messages".
absl::string_view FieldOf(absl::string_view param) {
  return param.substr(0, param.find_first_of(".["));
}

// Puts `value` (JSON text; empty: removes the member) at `pointer` in
// `base`, and checks what ParseChatRequest makes of it; counts the bodies
// it refused in `rejected`.
void Substitute(const rapidjson::Document& base, const std::string& pointer,
                const std::string& value, int& rejected) {
  rapidjson::Document doc;
  doc.CopyFrom(base, doc.GetAllocator());
  std::string param = ParamOf(pointer, doc);
  if (value.empty()) {
    rapidjson::Pointer(pointer.c_str()).Erase(doc);
  } else {
    rapidjson::Document parsed;
    parsed.Parse(value.c_str());
    ASSERT_FALSE(parsed.HasParseError()) << value;
    rapidjson::Value copy(parsed, doc.GetAllocator());
    rapidjson::Pointer(pointer.c_str()).Set(doc, copy);
  }
  std::string body = ToJson(doc);
  Exercise(body);
  if (testing::Test::HasFatalFailure()) return;
  absl::StatusOr<sluice::v1::ChatRequest> request = ParseChatRequest(body);
  if (request.ok()) return;
  ++rejected;
  sluice::v1::Error error = status::ErrorFromStatus(request.status());
  std::string where =
      absl::StrCat(pointer, " = ", value.empty() ? "(removed)" : value);
  ASSERT_TRUE(IsUtf8(error.message())) << where;
  ASSERT_TRUE(IsUtf8(error.param())) << where;
  // The error names the field that was changed, or one inside it.
  ASSERT_EQ(FieldOf(error.param()), FieldOf(param))
      << where << ": " << error.message();
  if (value == R"("\udc00")") {
    ASSERT_EQ(error.param(), param) << where << ": " << error.message();
  }
}

// Values wrong somewhere or everywhere: every type, limits, a lone surrogate.
const char* const kOddValues[] = {"null",
                                  "true",
                                  "false",
                                  "0",
                                  "-1",
                                  "1",
                                  "2.5",
                                  "1e300",
                                  "-1e300",
                                  "2147483648",
                                  "18446744073709551615",
                                  "-9223372036854775809",
                                  R"("")",
                                  R"("s")",
                                  R"("\udc00")",
                                  R"("function")",
                                  R"("text")",
                                  R"("user")",
                                  R"("json_schema")",
                                  "[]",
                                  "[1]",
                                  R"(["a"])",
                                  "[{}]",
                                  "{}",
                                  R"({"type":"text"})",
                                  R"({"type":"function"})",
                                  R"({"name":"f","arguments":"{}"})",
                                  R"({"url":"u"})",
                                  "[[[[[[]]]]]]"};

TEST(FuzzTest, EveryFieldGetsEveryOddValue) {
  rapidjson::Document base;
  base.Parse(kRequest);
  ASSERT_FALSE(base.HasParseError());
  std::vector<std::string> pointers;
  CollectPointers(base, "", pointers);
  ASSERT_GT(pointers.size(), 40u);
  int rejected = 0, tried = 0;
  for (const std::string& pointer : pointers) {
    Substitute(base, pointer, "", rejected);
    if (HasFatalFailure()) return;
    for (const char* value : kOddValues) {
      Substitute(base, pointer, value, rejected);
      ++tried;
      if (HasFatalFailure()) return;
    }
  }
  // Most odd values are refused, and some are fine where they land.
  EXPECT_GT(rejected, tried / 2);
  EXPECT_LT(rejected, tried);
}

// A random JSON value of up to `depth` levels.
std::string RandomJson(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 0 ? 7 : 5);
  switch (kind(rng)) {
    case 0:
      return "null";
    case 1:
      return rng() % 2 ? "true" : "false";
    case 2:
      return absl::StrCat(static_cast<int64_t>(rng()) - (1ll << 31));
    case 3:
      return absl::StrCat(std::uniform_real_distribution<double>(-3, 3)(rng));
    case 4: {
      const char* const strings[] = {
          "\"\"",        "\"auto\"",           "\"function\"",
          "\"\\u00e9\"", "\"\\ud800\\udc00\"", "\"text\""};
      return strings[rng() % 6];
    }
    case 5:
      return "\"x\"";
    case 6: {
      std::string out = "[";
      for (int i = 0, n = rng() % 4; i < n; ++i) {
        absl::StrAppend(&out, i ? "," : "", RandomJson(rng, depth - 1));
      }
      return out + "]";
    }
    default: {
      const char* const keys[] = {"type", "name",      "text", "function",
                                  "url",  "arguments", "id",   "json_schema"};
      std::string out = "{";
      for (int i = 0, n = rng() % 4; i < n; ++i) {
        absl::StrAppend(&out, i ? "," : "", "\"", keys[rng() % 8],
                        "\":", RandomJson(rng, depth - 1));
      }
      return out + "}";
    }
  }
}

TEST(FuzzTest, RandomValuesAtRandomFields) {
  std::mt19937 rng(777);  // fixed seed: failures are repeatable
  rapidjson::Document base;
  base.Parse(kRequest);
  std::vector<std::string> pointers;
  CollectPointers(base, "", pointers);
  int rejected = 0;
  for (int round = 0; round < 5000; ++round) {
    Substitute(base, pointers[rng() % pointers.size()], RandomJson(rng, 3),
               rejected);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_LT(rejected, 5000);
}

}  // namespace
}  // namespace sluice::codec
