// Injected faults: error statuses, resets, stalls, truncation, malformed and
// cut streams; the fault queue and the simulator-wide default; keep-alives.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/upstream-sim/sim_fixture.h"

namespace sluice::sim::testing {
namespace {

using ::testing::StartsWith;

constexpr char kRequest[] = R"({"model":"deepseek-chat","messages":[
  {"role":"user","content":"one two three four five"}]})";
constexpr char kStream[] = R"({"model":"deepseek-chat","stream":true,
  "stream_options":{"include_usage":true},
  "messages":[{"role":"user","content":"one two three four five"}]})";
constexpr char kAnthropic[] = R"({"model":"claude-sonnet-4-5","max_tokens":50,
  "messages":[{"role":"user","content":"one two three"}]})";

// The content pieces of a chunk stream (events that parse and carry one).
std::vector<std::string> ContentPieces(const std::vector<std::string>& data) {
  std::vector<std::string> pieces;
  for (const std::string& event : data) {
    rapidjson::Document chunk;
    chunk.Parse(event.c_str());
    if (chunk.HasParseError() || !chunk.IsObject() ||
        chunk["choices"].Empty()) {
      continue;
    }
    const auto& delta = chunk["choices"][0]["delta"];
    if (delta.HasMember("content") && delta["content"].IsString() &&
        delta["content"].GetStringLength() > 0) {
      pieces.push_back(delta["content"].GetString());
    }
  }
  return pieces;
}

TEST_F(SimTest, RateLimitAndServerErrors) {
  Reply limited = Chat(kRequest, {"x-sim-fault: 429", "x-sim-retry-after: 7"});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "7");
  rapidjson::Document body = Json(limited.body);
  EXPECT_EQ(Str(body["error"]["type"]), "rate_limit_error");
  EXPECT_EQ(Str(body["error"]["code"]), "rate_limit_exceeded");
  EXPECT_EQ(Chat(kRequest, {"x-sim-fault: 429"}).Header("retry-after"), "1");

  Reply failed = Chat(kRequest, {"x-sim-fault: 500"});
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(Str(Json(failed.body)["error"]["type"]), "server_error");
  EXPECT_EQ(Chat(kStream, {"x-sim-fault: 503"}).status, 503);

  Reply overloaded = Messages(kAnthropic, {"x-sim-fault: 529"});
  EXPECT_EQ(overloaded.status, 529);
  EXPECT_EQ(Str(Json(overloaded.body)["error"]["type"]), "overloaded_error");
  Reply anthropic_limited = Messages(kAnthropic, {"x-sim-fault: 429"});
  EXPECT_EQ(anthropic_limited.status, 429);
  EXPECT_EQ(anthropic_limited.Header("retry-after"), "1");
  EXPECT_EQ(Str(Json(anthropic_limited.body)["type"]), "error");
}

TEST_F(SimTest, ResetClosesWithoutAnswer) {
  for (const char* body : {kRequest, kStream}) {
    Reply reply = Chat(body, {"x-sim-fault: reset"});
    // A close (FIN) or, had unread bytes been left, a reset (RST).
    EXPECT_THAT(reply.result,
                ::testing::AnyOf(CURLE_GOT_NOTHING, CURLE_RECV_ERROR))
        << curl_easy_strerror(reply.result);
    EXPECT_EQ(reply.status, 0);
  }
  // A plain (non-stream) cut is a reset too.
  Reply cut = Chat(kRequest, {"x-sim-fault: cut"});
  EXPECT_EQ(cut.status, 0);
  EXPECT_TRUE(cut.body.empty());
  // The server is fine afterwards.
  EXPECT_EQ(Chat(kRequest).status, 200);
}

TEST_F(SimTest, StallSendsTwoTokensThenNothing) {
  Call call;
  call.path = "/v1/chat/completions";
  call.body = kStream;
  call.headers = {"x-sim-fault: stall"};
  call.timeout = absl::Milliseconds(700);
  Reply reply = Send(sim_->port(), call);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.result, CURLE_OPERATION_TIMEDOUT);
  std::vector<std::string> data = ParseSse(reply.body).Data();
  EXPECT_THAT(ContentPieces(data), ::testing::ElementsAre("Echo:", " one"));
  EXPECT_EQ(data.size(), 3u);  // role chunk and two tokens
}

TEST_F(SimTest, CutEndsTheStreamWithoutDone) {
  Reply reply = Chat(kStream, {"x-sim-fault: cut"});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.result, CURLE_OK);  // a clean chunked end
  std::vector<std::string> data = ParseSse(reply.body).Data();
  EXPECT_THAT(ContentPieces(data), ::testing::ElementsAre("Echo:", " one"));
  EXPECT_FALSE(absl::StrContains(reply.body, "[DONE]"));
  EXPECT_FALSE(absl::StrContains(reply.body, "finish_reason\":\"stop"));

  Reply early = Chat(kStream, {"x-sim-fault: cut", "x-sim-fault-after: 0"});
  EXPECT_EQ(ParseSse(early.body).Data().size(), 1u);  // the role chunk only

  Reply anthropic = Messages(
      R"({"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,
      "messages":[{"role":"user","content":"one two three"}]})",
      {"x-sim-fault: cut"});
  EXPECT_EQ(anthropic.result, CURLE_OK);
  EXPECT_TRUE(absl::StrContains(anthropic.body, "event: content_block_delta"));
  EXPECT_FALSE(absl::StrContains(anthropic.body, "message_stop"));
}

TEST_F(SimTest, TruncateStopsEarlyWithLength) {
  rapidjson::Document plain =
      Json(Chat(kRequest, {"x-sim-fault: truncate"}).body);
  EXPECT_EQ(Str(plain["choices"][0]["finish_reason"]), "length");
  EXPECT_EQ(Str(plain["choices"][0]["message"]["content"]), "Echo: one");
  EXPECT_EQ(plain["usage"]["completion_tokens"].GetInt64(), 2);

  Reply stream = Chat(kStream, {"x-sim-fault: truncate"});
  std::vector<std::string> data = ParseSse(stream.body).Data();
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back(), "[DONE]");
  EXPECT_THAT(ContentPieces(data), ::testing::ElementsAre("Echo:", " one"));
  rapidjson::Document finish = Json(data[data.size() - 3]);
  EXPECT_EQ(Str(finish["choices"][0]["finish_reason"]), "length");
  EXPECT_EQ(
      Json(data[data.size() - 2])["usage"]["completion_tokens"].GetInt64(), 2);
}

TEST_F(SimTest, MalformedSendsOneInvalidEvent) {
  Reply reply = Chat(kStream, {"x-sim-fault: malformed"});
  std::vector<std::string> data = ParseSse(reply.body).Data();
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
  int invalid = 0;
  size_t invalid_at = 0;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    rapidjson::Document chunk;
    chunk.Parse(data[i].c_str());
    if (chunk.HasParseError()) {
      ++invalid;
      invalid_at = i;
    }
  }
  EXPECT_EQ(invalid, 1);
  EXPECT_EQ(invalid_at, 3u);  // after the role chunk and two tokens

  Reply plain = Chat(kRequest, {"x-sim-fault: malformed"});
  EXPECT_EQ(plain.status, 200);
  rapidjson::Document doc;
  doc.Parse(plain.body.c_str());
  EXPECT_TRUE(doc.HasParseError()) << plain.body;
}

TEST_F(SimTest, QueuedFaultsHitTheNextRequests) {
  Reply queued = Post("/sim/faults", R"({"fault":"500","count":2})");
  ASSERT_EQ(queued.status, 200) << queued.body;
  // A request naming its own fault leaves the queue alone.
  EXPECT_EQ(Chat(kRequest, {"x-sim-fault: none"}).status, 200);
  EXPECT_EQ(Chat(kRequest).status, 500);
  EXPECT_EQ(Messages(kAnthropic).status, 500);
  EXPECT_EQ(Chat(kRequest).status, 200);

  EXPECT_EQ(Post("/sim/faults", R"({"fault":"bogus"})").status, 400);
  ASSERT_EQ(Post("/sim/faults", R"({"fault":"429"})").status, 200);
  EXPECT_EQ(Post("/sim/reset", "").status, 200);  // clears the queue
  EXPECT_EQ(Chat(kRequest).status, 200);
}

TEST_F(SimTest, DefaultFaultAppliesToEveryRequest) {
  SimulatorOptions options;
  options.fault = Fault::k503;
  Restart(options);
  EXPECT_EQ(Chat(kRequest).status, 503);
  EXPECT_EQ(Chat(kRequest).status, 503);
  EXPECT_EQ(Chat(kRequest, {"x-sim-fault: none"}).status, 200);
}

TEST_F(SimTest, KeepAlivesComeBeforeTheFirstToken) {
  Reply stream = Chat(kStream, {"x-sim-keepalive: 3"});
  EXPECT_THAT(stream.body,
              StartsWith(": keep-alive\n\n: keep-alive\n\n: keep-alive\n\n"
                         "data: {"));
  SseBody sse = ParseSse(stream.body);
  EXPECT_EQ(sse.comments, 3);
  EXPECT_EQ(sse.Data().back(), "[DONE]");

  // A plain answer gets leading blank lines, as DeepSeek sends while queued.
  Reply plain = Chat(kRequest, {"x-sim-keepalive: 2"});
  EXPECT_THAT(plain.body, StartsWith("\n\n{"));
  EXPECT_TRUE(Json(plain.body.substr(2)).IsObject());
}

// A gateway forwards no x-sim-* header: the same controls ride in the
// prompt, and x-sim-fault-times lets a retry of the same prompt through.
TEST_F(SimTest, ControlsInThePromptAndWhatWasSent) {
  constexpr char kTwice[] =
      R"({"model":"deepseek-chat","stream":true,"messages":[{"role":"user",)"
      R"("content":"one two x-sim-fault=cut x-sim-fault-after=3 )"
      R"(x-sim-fault-times=1"}]})";
  Reply cut = Chat(kTwice);
  EXPECT_EQ(ContentPieces(ParseSse(cut.body).Data()).size(), 3u);
  EXPECT_FALSE(absl::StrContains(cut.body, "[DONE]"));
  Reply whole = Chat(kTwice);
  EXPECT_TRUE(absl::StrContains(whole.body, "[DONE]"));
  EXPECT_EQ(Chat(R"({"model":"deepseek-chat","messages":[{"role":"user",)"
                 R"("content":"hi x-sim-fault=bogus"}]})")
                .status,
            400);

  Stats stats = sim_->stats();
  ASSERT_EQ(stats.arrivals.size(), 3u);
  const Arrival& first = stats.arrivals[0];
  const Arrival& second = stats.arrivals[1];
  EXPECT_EQ(first.fault, "cut");
  EXPECT_EQ(first.sent_completion_tokens, 3);
  EXPECT_FALSE(first.sent_usage);
  EXPECT_EQ(second.fault, "none");
  EXPECT_EQ(second.prompt_key, first.prompt_key);
  EXPECT_EQ(second.sent_completion_tokens, second.completion_tokens);
  EXPECT_TRUE(second.sent_usage);
  // The second time, the prompt is in the simulated prompt cache.
  EXPECT_EQ(second.cache_hit_tokens, second.prompt_tokens);

  // Nothing after a malformed event counts as sent.
  Reply malformed =
      Chat(kStream, {"x-sim-fault: malformed", "x-sim-fault-after: 2"});
  EXPECT_EQ(malformed.status, 200);
  const Arrival broken = sim_->stats().arrivals.back();
  EXPECT_TRUE(broken.malformed);
  EXPECT_EQ(broken.sent_completion_tokens, 2);
  EXPECT_FALSE(broken.sent_usage);
}

}  // namespace
}  // namespace sluice::sim::testing
