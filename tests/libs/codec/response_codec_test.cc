// Responses and chunks: exact OpenAI shapes out, upstream answers in.
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"

namespace sluice::codec {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr char kDeepSeekReasonerResponse[] =
    R"(

{"id":"r","object":"chat.completion","created":2,"model":"deepseek-reasoner",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi",)"
    R"("reasoning_content":"think"},"logprobs":null,"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,)"
    R"("prompt_tokens_details":{"cached_tokens":4},)"
    R"("completion_tokens_details":{"reasoning_tokens":15},)"
    R"("prompt_cache_hit_tokens":4,"prompt_cache_miss_tokens":6},)"
    R"("system_fingerprint":"fp"})";

TEST(ResponseCodecTest, DeepSeekReasonerResponse) {
  absl::StatusOr<sluice::v1::ChatResponse> response =
      ParseChatResponse(kDeepSeekReasonerResponse);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id(), "r");
  EXPECT_EQ(response->created(), 2);
  EXPECT_EQ(response->model(), "deepseek-reasoner");
  ASSERT_EQ(response->choices_size(), 1);
  EXPECT_EQ(response->choices(0).message().text(), "hi");
  EXPECT_EQ(response->choices(0).message().reasoning_content(), "think");
  EXPECT_EQ(response->choices(0).finish_reason(), "stop");
  const sluice::v1::Usage& usage = response->usage();
  EXPECT_EQ(usage.prompt_tokens(), 10);
  EXPECT_EQ(usage.completion_tokens(), 20);
  EXPECT_EQ(usage.total_tokens(), 30);
  EXPECT_EQ(usage.cached_tokens(), 4);
  EXPECT_EQ(usage.reasoning_tokens(), 15);
  EXPECT_EQ(usage.prompt_cache_hit_tokens(), 4);
  EXPECT_EQ(usage.prompt_cache_miss_tokens(), 6);
  // Written back byte for byte (less the leading blank lines).
  EXPECT_EQ(WriteChatResponse(*response),
            absl::string_view(kDeepSeekReasonerResponse).substr(2));
}

TEST(ResponseCodecTest, WriteNullContentToolCallsAndFingerprint) {
  sluice::v1::ChatResponse response;
  response.set_id("x");
  response.set_created(1);
  response.set_model("m");
  sluice::v1::Choice* choice = response.add_choices();
  choice->mutable_message()->set_role("assistant");
  sluice::v1::ToolCall* call = choice->mutable_message()->add_tool_calls();
  call->set_id("c");
  call->set_type("function");
  call->set_function_name("f");
  call->set_function_arguments("{\"a\":1}");
  choice->set_finish_reason("tool_calls");
  std::string json = WriteChatResponse(response);
  EXPECT_EQ(json,
            R"({"id":"x","object":"chat.completion","created":1,"model":"m",)"
            R"("choices":[{"index":0,"message":{"role":"assistant",)"
            R"("content":null,"tool_calls":[{"id":"c","type":"function",)"
            R"("function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
            R"("logprobs":null,"finish_reason":"tool_calls"}],)"
            R"("system_fingerprint":null})");
  absl::StatusOr<sluice::v1::ChatResponse> back = ParseChatResponse(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(response, *back))
      << back->DebugString();
}

sluice::v1::ChatChunk Chunk() {
  sluice::v1::ChatChunk chunk;
  chunk.set_id("c");
  chunk.set_created(1);
  chunk.set_model("m");
  return chunk;
}

TEST(ChunkCodecTest, WriteRoleChunkWithAndWithoutUsageField) {
  sluice::v1::ChatChunk chunk = Chunk();
  sluice::v1::ChunkChoice* choice = chunk.add_choices();
  choice->mutable_delta()->set_role("assistant");
  choice->mutable_delta()->set_text("");
  const std::string head =
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("system_fingerprint":null,"choices":[{"index":0,"delta":)"
      R"({"role":"assistant","content":""},"logprobs":null,)"
      R"("finish_reason":null}])";
  EXPECT_EQ(WriteChatChunk(chunk, true), head + R"(,"usage":null})");
  EXPECT_EQ(WriteChatChunk(chunk, false), head + "}");
}

TEST(ChunkCodecTest, WriteReasoningToolCallAndFinishDeltas) {
  sluice::v1::ChatChunk chunk = Chunk();
  sluice::v1::ChunkChoice* choice = chunk.add_choices();
  choice->mutable_delta()->set_reasoning_content("hm");
  EXPECT_EQ(WriteChatChunk(chunk, false),
            R"({"id":"c","object":"chat.completion.chunk","created":1,)"
            R"("model":"m","system_fingerprint":null,"choices":[{"index":0,)"
            R"("delta":{"reasoning_content":"hm"},"logprobs":null,)"
            R"("finish_reason":null}]})");

  choice->mutable_delta()->Clear();
  sluice::v1::ToolCall* call = choice->mutable_delta()->add_tool_calls();
  call->set_index(1);
  call->set_function_arguments("{\"a\"");
  choice->set_finish_reason("tool_calls");
  EXPECT_EQ(WriteChatChunk(chunk, false),
            R"({"id":"c","object":"chat.completion.chunk","created":1,)"
            R"("model":"m","system_fingerprint":null,"choices":[{"index":0,)"
            R"("delta":{"tool_calls":[{"index":1,"function":)"
            R"({"arguments":"{\"a\""}}]},"logprobs":null,)"
            R"("finish_reason":"tool_calls"}]})");
}

// The last content chunk: an empty delta, the finish reason, and (with
// include_usage) "usage":null; the fingerprint when the upstream gave one.
TEST(ChunkCodecTest, WriteFinalChunk) {
  sluice::v1::ChatChunk chunk = Chunk();
  chunk.set_system_fingerprint("fp_1");
  sluice::v1::ChunkChoice* choice = chunk.add_choices();
  choice->mutable_delta();
  choice->set_finish_reason("stop");
  EXPECT_EQ(WriteChatChunk(chunk, true),
            R"({"id":"c","object":"chat.completion.chunk","created":1,)"
            R"("model":"m","system_fingerprint":"fp_1","choices":[{"index":0,)"
            R"("delta":{},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":null})");
}

// The first delta of a tool call carries its index, id, type and name.
TEST(ChunkCodecTest, WriteToolCallStartDelta) {
  sluice::v1::ChatChunk chunk = Chunk();
  sluice::v1::ToolCall* call =
      chunk.add_choices()->mutable_delta()->add_tool_calls();
  call->set_index(0);
  call->set_id("call_1");
  call->set_type("function");
  call->set_function_name("get");
  EXPECT_EQ(WriteChatChunk(chunk, false),
            R"({"id":"c","object":"chat.completion.chunk","created":1,)"
            R"("model":"m","system_fingerprint":null,"choices":[{"index":0,)"
            R"("delta":{"tool_calls":[{"index":0,"id":"call_1",)"
            R"("type":"function","function":{"name":"get","arguments":""}}]},)"
            R"("logprobs":null,"finish_reason":null}]})");
}

TEST(ChunkCodecTest, WriteUsageChunk) {
  sluice::v1::ChatChunk chunk = Chunk();
  chunk.mutable_usage()->set_prompt_tokens(3);
  chunk.mutable_usage()->set_completion_tokens(2);
  chunk.mutable_usage()->set_total_tokens(5);
  chunk.mutable_usage()->set_cached_tokens(1);
  EXPECT_EQ(WriteChatChunk(chunk, true),
            R"({"id":"c","object":"chat.completion.chunk","created":1,)"
            R"("model":"m","system_fingerprint":null,"choices":[],)"
            R"("usage":{"prompt_tokens":3,"completion_tokens":2,)"
            R"("total_tokens":5,"prompt_tokens_details":{"cached_tokens":1},)"
            R"("completion_tokens_details":{"reasoning_tokens":0}}})");
}

TEST(ChunkCodecTest, WriteErrorChunk) {
  sluice::v1::ChatChunk chunk = Chunk();
  chunk.mutable_error()->set_message("upstream died");
  chunk.mutable_error()->set_type("server_error");
  EXPECT_EQ(WriteChatChunk(chunk, true),
            R"({"error":{"message":"upstream died","type":"server_error",)"
            R"("param":null,"code":null}})");
}

TEST(ChunkCodecTest, ParseDeepSeekChunks) {
  absl::StatusOr<sluice::v1::ChatChunk> chunk = ParseChatChunk(
      "\n\n"
      R"({"id":"d","object":"chat.completion.chunk","created":5,)"
      R"("model":"deepseek-reasoner","system_fingerprint":"fp",)"
      R"("choices":[{"index":0,"delta":{"content":null,)"
      R"("reasoning_content":"Let"},"logprobs":null,"finish_reason":null}]})");
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(chunk->id(), "d");
  EXPECT_EQ(chunk->created(), 5);
  ASSERT_EQ(chunk->choices_size(), 1);
  EXPECT_EQ(chunk->choices(0).delta().reasoning_content(), "Let");
  EXPECT_EQ(chunk->choices(0).delta().content_case(),
            sluice::v1::Message::CONTENT_NOT_SET);
  EXPECT_TRUE(chunk->choices(0).finish_reason().empty());
  EXPECT_FALSE(chunk->has_usage());

  chunk = ParseChatChunk(
      R"({"id":"d","choices":[],"usage":{"prompt_tokens":7,)"
      R"("completion_tokens":3,"total_tokens":10,)"
      R"("completion_tokens_details":{"reasoning_tokens":2},)"
      R"("prompt_cache_hit_tokens":5,"prompt_cache_miss_tokens":2}})");
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(chunk->choices_size(), 0);
  EXPECT_EQ(chunk->usage().prompt_tokens(), 7);
  EXPECT_EQ(chunk->usage().reasoning_tokens(), 2);
  EXPECT_EQ(chunk->usage().prompt_cache_hit_tokens(), 5);
  EXPECT_EQ(chunk->usage().prompt_cache_miss_tokens(), 2);
  EXPECT_EQ(chunk->usage().cached_tokens(), 5);
}

TEST(ChunkCodecTest, ParseToolCallDeltas) {
  absl::StatusOr<sluice::v1::ChatChunk> chunk = ParseChatChunk(
      R"({"id":"t","choices":[{"index":0,"delta":{"tool_calls":[)"
      R"({"index":1,"id":"call_9","type":"function",)"
      R"("function":{"name":"get","arguments":"{\"ci"}}]}}]})");
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  ASSERT_EQ(chunk->choices(0).delta().tool_calls_size(), 1);
  const sluice::v1::ToolCall& call = chunk->choices(0).delta().tool_calls(0);
  EXPECT_EQ(call.index(), 1);
  EXPECT_EQ(call.id(), "call_9");
  EXPECT_EQ(call.function_name(), "get");
  EXPECT_EQ(call.function_arguments(), "{\"ci");
}

TEST(ChunkCodecTest, WrittenChunkParsesBack) {
  sluice::v1::ChatChunk chunk = Chunk();
  chunk.set_system_fingerprint("fp");
  sluice::v1::ChunkChoice* choice = chunk.add_choices();
  choice->mutable_delta()->set_role("assistant");
  choice->mutable_delta()->set_text("héllo\t\"");
  absl::StatusOr<sluice::v1::ChatChunk> back =
      ParseChatChunk(WriteChatChunk(chunk, true));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(chunk, *back)) << back->DebugString();
}

TEST(UpstreamErrorTest, ErrorBodyBecomesStatusWithPayload) {
  absl::StatusOr<sluice::v1::ChatChunk> chunk = ParseChatChunk(
      R"({"error":{"message":"Insufficient Balance for sk-abcdef",)"
      R"("type":"unknown_error","param":null,"code":"insufficient_balance"}})");
  ASSERT_FALSE(chunk.ok());
  sluice::v1::Error error = status::ErrorFromStatus(chunk.status());
  EXPECT_EQ(error.http_status(), 502);
  EXPECT_EQ(error.code(), "insufficient_balance");
  EXPECT_NE(error.message().find("Insufficient Balance"), std::string::npos);
  EXPECT_EQ(error.message().find("abcdef"), std::string::npos);

  absl::StatusOr<sluice::v1::ChatResponse> response =
      ParseChatResponse(R"({"error":{"message":"overloaded"}})");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(status::ErrorFromStatus(response.status()).http_status(), 502);
}

TEST(UpstreamErrorTest, MalformedUpstreamJson) {
  EXPECT_FALSE(ParseChatChunk("{\"id\":").ok());
  EXPECT_FALSE(ParseChatChunk("").ok());
  EXPECT_FALSE(ParseChatResponse("[1,2]").ok());
  EXPECT_FALSE(ParseChatResponse(std::string(200000, '[')).ok());
}

}  // namespace
}  // namespace sluice::codec
