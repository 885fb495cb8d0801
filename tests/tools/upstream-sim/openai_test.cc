// The OpenAI / DeepSeek chat completions endpoint: shapes, determinism,
// usage arithmetic, stream framing, reasoning_content.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/upstream-sim/sim_fixture.h"

namespace sluice::sim::testing {
namespace {

using ::testing::StartsWith;

constexpr char kRequest[] = R"({"model":"deepseek-chat","messages":[
  {"role":"system","content":"You are terse."},
  {"role":"user","content":"hello there sluice"}]})";

constexpr char kStreamRequest[] = R"({"model":"deepseek-chat","stream":true,
  "stream_options":{"include_usage":true},"messages":[
  {"role":"system","content":"You are terse."},
  {"role":"user","content":"hello there sluice"}]})";

int64_t Words(const std::string& text) {
  return static_cast<int64_t>(
      std::vector<std::string>(absl::StrSplit(text, ' ', absl::SkipEmpty()))
          .size());
}

TEST_F(SimTest, CompletionHasOpenAIShapeAndUsageArithmetic) {
  Reply reply = Chat(kRequest);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  rapidjson::Document doc = Json(reply.body);
  EXPECT_THAT(Str(doc["id"]), StartsWith("chatcmpl-"));
  EXPECT_EQ(Str(doc["object"]), "chat.completion");
  EXPECT_EQ(doc["created"].GetInt64(), 1700000000);
  EXPECT_EQ(Str(doc["model"]), "deepseek-chat");
  EXPECT_EQ(Str(doc["system_fingerprint"]), "fp_sim");
  ASSERT_EQ(doc["choices"].Size(), 1u);
  const auto& choice = doc["choices"][0];
  EXPECT_EQ(choice["index"].GetInt(), 0);
  EXPECT_TRUE(choice["logprobs"].IsNull());
  EXPECT_EQ(Str(choice["finish_reason"]), "stop");
  EXPECT_EQ(Str(choice["message"]["role"]), "assistant");
  std::string content = Str(choice["message"]["content"]);
  EXPECT_THAT(content, StartsWith("Echo: hello there sluice "));
  EXPECT_FALSE(choice["message"].HasMember("reasoning_content"));

  const auto& usage = doc["usage"];
  // 3 words + 4 per message, twice.
  EXPECT_EQ(usage["prompt_tokens"].GetInt64(), 14);
  EXPECT_EQ(usage["completion_tokens"].GetInt64(), Words(content));
  EXPECT_GE(Words(content), 4 + 2);
  EXPECT_LE(Words(content), 4 + 9);
  EXPECT_EQ(usage["total_tokens"].GetInt64(), 14 + Words(content));
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"].GetInt64(), 0);
  EXPECT_EQ(usage["completion_tokens_details"]["reasoning_tokens"].GetInt64(),
            0);
  EXPECT_EQ(usage["prompt_cache_hit_tokens"].GetInt64(), 0);
  EXPECT_EQ(usage["prompt_cache_miss_tokens"].GetInt64(), 14);
}

TEST_F(SimTest, SameRequestGetsTheSameAnswer) {
  std::string first = Chat(kRequest).body;
  Reply again = Chat(kRequest);
  sim_->Reset();
  EXPECT_EQ(Chat(kRequest).body, first);

  // The second time the prompt is a cache hit; nothing else changes.
  rapidjson::Document a = Json(first), b = Json(again.body);
  EXPECT_EQ(b["usage"]["prompt_cache_hit_tokens"].GetInt64(), 14);
  EXPECT_EQ(b["usage"]["prompt_cache_miss_tokens"].GetInt64(), 0);
  EXPECT_EQ(b["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt64(),
            14);
  b.RemoveMember("usage");
  a.RemoveMember("usage");
  EXPECT_EQ(a, b);

  // Another question, another answer.
  std::string other = kRequest;
  other.replace(other.find("sluice"), 6, "world");
  rapidjson::Document c = Json(Chat(other).body);
  EXPECT_NE(Str(c["id"]), Str(a["id"]));
  EXPECT_THAT(Str(c["choices"][0]["message"]["content"]),
              StartsWith("Echo: hello there world"));
}

TEST_F(SimTest, MaxTokensCutsTheAnswerWithFinishReasonLength) {
  rapidjson::Document full = Json(Chat(kRequest).body);
  rapidjson::Document capped =
      Json(Chat(
               R"({"model":"deepseek-chat","max_tokens":3,"messages":[
      {"role":"system","content":"You are terse."},
      {"role":"user","content":"hello there sluice"}]})")
               .body);
  EXPECT_EQ(Str(capped["choices"][0]["finish_reason"]), "length");
  EXPECT_EQ(Str(capped["choices"][0]["message"]["content"]),
            "Echo: hello there");
  EXPECT_EQ(capped["usage"]["completion_tokens"].GetInt64(), 3);
  EXPECT_EQ(Str(capped["id"]), Str(full["id"]));

  // max_completion_tokens wins over max_tokens; a cap above the answer's
  // length changes nothing.
  rapidjson::Document roomy = Json(
      Chat(
          R"({"model":"deepseek-chat","max_completion_tokens":100,"max_tokens":1,
      "messages":[{"role":"system","content":"You are terse."},
      {"role":"user","content":"hello there sluice"}]})")
          .body);
  EXPECT_EQ(Str(roomy["choices"][0]["finish_reason"]), "stop");
  EXPECT_EQ(Str(roomy["choices"][0]["message"]["content"]),
            Str(full["choices"][0]["message"]["content"]));
}

TEST_F(SimTest, StreamHasOpenAIFramingAndUsageChunk) {
  rapidjson::Document whole = Json(Chat(kRequest).body);
  sim_->Reset();
  Reply reply = Chat(kStreamRequest);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.result, CURLE_OK);
  EXPECT_EQ(reply.Header("content-type"), "text/event-stream");
  EXPECT_EQ(reply.Header("transfer-encoding"), "chunked");
  std::vector<std::string> data = ParseSse(reply.body).Data();
  ASSERT_GE(data.size(), 5u);
  EXPECT_EQ(data.back(), "[DONE]");

  std::string id = Str(whole["id"]), text;
  size_t n = data.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    rapidjson::Document chunk = Json(data[i]);
    SCOPED_TRACE(data[i]);
    EXPECT_EQ(Str(chunk["id"]), id);
    EXPECT_EQ(Str(chunk["object"]), "chat.completion.chunk");
    EXPECT_EQ(chunk["created"].GetInt64(), 1700000000);
    EXPECT_EQ(Str(chunk["model"]), "deepseek-chat");
    if (i == n - 2) break;  // the usage chunk, below
    EXPECT_TRUE(chunk["usage"].IsNull());
    ASSERT_EQ(chunk["choices"].Size(), 1u);
    const auto& choice = chunk["choices"][0];
    const auto& delta = choice["delta"];
    if (i == 0) {
      EXPECT_EQ(Str(delta["role"]), "assistant");
      EXPECT_EQ(Str(delta["content"]), "");
    } else if (i == n - 3) {
      EXPECT_TRUE(delta.ObjectEmpty());
      EXPECT_EQ(Str(choice["finish_reason"]), "stop");
    } else {
      EXPECT_TRUE(choice["finish_reason"].IsNull());
      std::string piece = Str(delta["content"]);
      // One word per chunk, with its leading space.
      EXPECT_EQ(Words(piece), 1);
      EXPECT_EQ(piece.front() == ' ', i > 1);
      text += piece;
    }
  }
  EXPECT_EQ(text, Str(whole["choices"][0]["message"]["content"]));
  rapidjson::Document usage_chunk = Json(data[n - 2]);
  EXPECT_TRUE(usage_chunk["choices"].IsArray());
  EXPECT_EQ(usage_chunk["choices"].Size(), 0u);
  EXPECT_EQ(usage_chunk["usage"], whole["usage"]);
  // One chunk per completion token, plus role, finish, usage and [DONE].
  EXPECT_EQ(static_cast<int64_t>(n),
            whole["usage"]["completion_tokens"].GetInt64() + 4);
}

TEST_F(SimTest, StreamWithoutIncludeUsageHasNoUsage) {
  Reply reply = Chat(
      R"({"model":"gpt-4o-mini","stream":true,"messages":[
      {"role":"user","content":"hi"}]})");
  ASSERT_EQ(reply.status, 200);
  std::vector<std::string> data = ParseSse(reply.body).Data();
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back(), "[DONE]");
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    rapidjson::Document chunk = Json(data[i]);
    EXPECT_FALSE(chunk.HasMember("usage")) << data[i];
    EXPECT_EQ(chunk["choices"].Size(), 1u) << data[i];
  }
  EXPECT_EQ(Str(Json(data[data.size() - 2])["choices"][0]["finish_reason"]),
            "stop");
}

TEST_F(SimTest, ReasonerSendsReasoningContentBeforeContent) {
  constexpr char kReasoner[] = R"({"model":"deepseek-reasoner","messages":[
      {"role":"user","content":"why is the sky blue"}]})";
  rapidjson::Document doc = Json(Chat(kReasoner).body);
  const auto& message = doc["choices"][0]["message"];
  std::string reasoning = Str(message["reasoning_content"]);
  std::string content = Str(message["content"]);
  EXPECT_THAT(reasoning, StartsWith("Thinking about: why is the sky blue"));
  EXPECT_THAT(content, StartsWith("Echo: why is the sky blue"));
  const auto& usage = doc["usage"];
  EXPECT_EQ(usage["completion_tokens_details"]["reasoning_tokens"].GetInt64(),
            Words(reasoning));
  EXPECT_EQ(usage["completion_tokens"].GetInt64(),
            Words(reasoning) + Words(content));

  std::string stream = kReasoner;
  stream.insert(1, R"("stream":true,)");
  std::vector<std::string> data = ParseSse(Chat(stream).body).Data();
  std::string streamed_reasoning, streamed_content;
  for (size_t i = 1; i + 2 < data.size(); ++i) {
    rapidjson::Document chunk = Json(data[i]);
    const auto& delta = chunk["choices"][0]["delta"];
    if (delta["reasoning_content"].IsString()) {
      EXPECT_TRUE(streamed_content.empty()) << "reasoning after content";
      EXPECT_TRUE(delta["content"].IsNull()) << data[i];
      streamed_reasoning += Str(delta["reasoning_content"]);
    } else {
      streamed_content += Str(delta["content"]);
    }
  }
  EXPECT_EQ(streamed_reasoning, reasoning);
  EXPECT_EQ(streamed_content, content);

  // Thinking mode can also be switched on by the request.
  rapidjson::Document thinking = Json(
      Chat(
          R"({"model":"deepseek-chat","thinking":{"type":"enabled"},"messages":[
      {"role":"user","content":"why"}]})")
          .body);
  EXPECT_TRUE(thinking["choices"][0]["message"].HasMember("reasoning_content"));
}

TEST_F(SimTest, ModelsAndBadRequests) {
  Reply models = Get("/v1/models");
  ASSERT_EQ(models.status, 200);
  rapidjson::Document list = Json(models.body);
  EXPECT_EQ(Str(list["object"]), "list");
  std::vector<std::string> ids;
  for (const auto& model : list["data"].GetArray())
    ids.push_back(Str(model["id"]));
  EXPECT_THAT(ids, ::testing::Contains("deepseek-reasoner"));

  Reply bad = Chat("{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Str(Json(bad.body)["error"]["type"]), "invalid_request_error");
  EXPECT_EQ(Chat(R"({"messages":[]})").status, 400);
  Reply fault = Chat(kRequest, {"x-sim-fault: explode"});
  EXPECT_EQ(fault.status, 400);
  EXPECT_THAT(Str(Json(fault.body)["error"]["message"]),
              ::testing::HasSubstr("explode"));
  EXPECT_EQ(Chat(kRequest, {"x-sim-ttft-ms: soon"}).status, 400);
  EXPECT_EQ(Get("/v1/nothing").status, 404);
}

}  // namespace
}  // namespace sluice::sim::testing
