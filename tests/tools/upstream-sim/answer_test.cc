// The answer function and the token rule, without HTTP.
#include "tools/upstream-sim/answer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/upstream-sim/request.h"

namespace sluice::sim {
namespace {

using ::testing::ElementsAre;

ChatRequest Parse(const char* body, Api api = Api::kOpenAI) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(body, api);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : ChatRequest();
}

TEST(AnswerTest, TokensAreWordsWithLeadingSpaces) {
  EXPECT_THAT(SplitTokens("  a  bb\tc\n"), ElementsAre("a", " bb", " c"));
  EXPECT_TRUE(SplitTokens(" ").empty());
}

TEST(AnswerTest, PromptTokensAreWordsPlusFourPerMessage) {
  Answer answer = MakeAnswer(Parse(R"({"model":"m","messages":[
      {"role":"system","content":"a b"},
      {"role":"user","content":[{"type":"text","text":"c d"},
                                {"type":"image_url"},{"type":"text","text":"e"}]},
      {"role":"assistant","content":""}]})"));
  EXPECT_EQ(answer.prompt_tokens, (2 + 4) + (3 + 4) + (0 + 4));
  EXPECT_EQ(answer.ContentText().substr(0, 12), "Echo: c d e ");

  Answer anthropic = MakeAnswer(Parse(
      R"({"model":"m","system":"x y z","messages":[{"role":"user","content":"q"}]})",
      Api::kAnthropic));
  EXPECT_EQ(anthropic.prompt_tokens, (3 + 4) + (1 + 4));
}

TEST(AnswerTest, SameRequestSameAnswerAndCapsCutReasoningFirst) {
  const char* body = R"({"model":"deepseek-reasoner","messages":[
      {"role":"user","content":"why"}]})";
  Answer a = MakeAnswer(Parse(body)), b = MakeAnswer(Parse(body));
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.ContentText(), b.ContentText());
  ASSERT_GT(a.reasoning_tokens(), 2);
  EXPECT_EQ(a.completion_tokens(),
            a.reasoning_tokens() + static_cast<int64_t>(a.content.size()));

  Answer capped = a;
  CapAnswer(2, capped);
  EXPECT_EQ(capped.finish_reason, "length");
  EXPECT_EQ(capped.ReasoningText(), "Thinking about:");
  EXPECT_TRUE(capped.content.empty());

  Answer roomy = a;
  CapAnswer(1000, roomy);
  EXPECT_EQ(roomy.finish_reason, "stop");
  EXPECT_EQ(roomy.completion_tokens(), a.completion_tokens());
}

TEST(AnswerTest, ParserRejectsWhatProvidersReject) {
  EXPECT_FALSE(ParseChatRequest("[]", Api::kOpenAI).ok());
  EXPECT_FALSE(ParseChatRequest(R"({"model":"m"})", Api::kOpenAI).ok());
  EXPECT_FALSE(
      ParseChatRequest(R"({"model":"","messages":[]})", Api::kOpenAI).ok());
  EXPECT_FALSE(
      ParseChatRequest(R"({"model":"m","messages":[],"max_tokens":-1})",
                       Api::kOpenAI)
          .ok());
  ChatRequest request = Parse(
      R"({"model":"m","messages":[],"stream":true,
      "stream_options":{"include_usage":true},"max_tokens":9})");
  EXPECT_TRUE(request.stream);
  EXPECT_TRUE(request.include_usage);
  EXPECT_EQ(request.max_tokens, 9);
  EXPECT_FALSE(request.thinking);
}

}  // namespace
}  // namespace sluice::sim
