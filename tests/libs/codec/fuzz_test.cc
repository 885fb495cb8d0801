// Fuzz-ish: truncations and byte flips of valid bodies never crash, and any
// request that parses writes back a body that parses.
#include <random>

#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"

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
    R"("tools":[{"type":"function"}],"tool_choice":"auto",)"
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
    ASSERT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
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

}  // namespace
}  // namespace sluice::codec
